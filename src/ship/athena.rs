//! The Athena table over what `--to s3://...` writes: JSON SerDe, gzip read by
//! extension, and partition projection over the `YYYY/MM/DD/HH` key layout, so
//! that no `MSCK REPAIR TABLE` or crawler is ever needed.
//!
//! Honest about every record: the Hive JSON SerDe, without any option to skip
//! malformed rows, so a bad row fails the query (HIVE_CURSOR_ERROR, naming the
//! object) instead of vanishing. The OpenX SerDe's `ignore.malformed.json`
//! would drop such rows silently, and Athena documents that the OpenX SerDe's
//! results can be non-deterministic. The README says how to find bad rows.

use super::lake::LakeFormat;
use std::fmt::Write;

/// Column name and Athena type, in contract §1 order.
const COLUMNS: &[(&str, &str)] = &[
    ("container_id", "string"),
    ("measurement_time", "string"),
    ("product_id", "string"),
    ("temperature", "double"),
    ("target_temperature", "double"),
    ("supply_air_temperature", "double"),
    ("ambient_temperature", "double"),
    ("kilowatts", "double"),
    ("oxygen_level", "double"),
    ("carbon_dioxide_level", "double"),
    ("humidity_level", "double"),
    ("nitrogen_level", "double"),
    ("fan_1", "boolean"),
    ("fan_2", "boolean"),
    ("fan_3", "boolean"),
    ("defrost", "boolean"),
    ("door_open", "boolean"),
    ("operating_mode", "string"),
    ("latitude", "double"),
    ("longitude", "double"),
    ("fault", "string"),
    ("maintenance_required", "boolean"),
];

/// `CREATE EXTERNAL TABLE` for records under `s3://bucket/prefix/YYYY/MM/DD/HH/`.
pub fn create_table(table: &str, bucket: &str, prefix: &str, format: LakeFormat) -> String {
    let root = if prefix.is_empty() {
        format!("s3://{bucket}/")
    } else {
        format!("s3://{bucket}/{prefix}/")
    };
    let mut s = String::new();
    let _ = writeln!(s, "CREATE EXTERNAL TABLE IF NOT EXISTS `{table}` (");
    let columns: Vec<(&str, &str)> = match format {
        LakeFormat::Jsonl => COLUMNS.to_vec(),
        LakeFormat::Parquet => super::lake_parquet::athena_columns(),
    };
    for (i, (name, ty)) in columns.iter().enumerate() {
        let comma = if i + 1 < columns.len() { "," } else { "" };
        let _ = writeln!(s, "  `{name}` {ty}{comma}");
    }
    let _ = writeln!(s, ")");
    let _ = writeln!(s, "PARTITIONED BY (`hour` string)");
    match format {
        LakeFormat::Jsonl => {
            let _ = writeln!(
                s,
                "ROW FORMAT SERDE 'org.apache.hive.hcatalog.data.JsonSerDe'"
            );
            let _ = writeln!(
                s,
                "STORED AS INPUTFORMAT 'org.apache.hadoop.mapred.TextInputFormat'"
            );
            let _ = writeln!(
                s,
                "  OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'"
            );
        }
        // Columns are matched by name, so the JSON text columns may grow.
        LakeFormat::Parquet => {
            let _ = writeln!(s, "STORED AS PARQUET");
        }
    }
    let _ = writeln!(s, "LOCATION '{root}'");
    let _ = writeln!(s, "TBLPROPERTIES (");
    let _ = writeln!(s, "  'projection.enabled' = 'true',");
    let _ = writeln!(s, "  'projection.hour.type' = 'date',");
    let _ = writeln!(s, "  'projection.hour.format' = 'yyyy/MM/dd/HH',");
    let _ = writeln!(s, "  'projection.hour.range' = '2020/01/01/00,NOW',");
    let _ = writeln!(s, "  'projection.hour.interval' = '1',");
    let _ = writeln!(s, "  'projection.hour.interval.unit' = 'HOURS',");
    let _ = writeln!(s, "  'storage.location.template' = '{root}${{hour}}/'");
    let _ = writeln!(s, ");");
    let _ = writeln!(
        s,
        "-- Example: SELECT container_id, max(temperature) FROM `{table}` WHERE hour BETWEEN '2026/11/27/00' AND '2026/11/27/23' GROUP BY 1;"
    );
    if format == LakeFormat::Parquet {
        let _ = writeln!(
            s,
            "-- measurement_time is a timestamp (UTC). Fields outside the contract, and values that do not fit their column, are in extra_fields (JSON text): json_extract_scalar(extra_fields, '$.site')."
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn projects_the_hour_layout() {
        let ddl = create_table("reefer", "lake", "telemetry", LakeFormat::Jsonl);
        assert!(ddl.starts_with("CREATE EXTERNAL TABLE IF NOT EXISTS `reefer` ("));
        assert!(ddl.contains("LOCATION 's3://lake/telemetry/'"));
        assert!(ddl.contains("'storage.location.template' = 's3://lake/telemetry/${hour}/'"));
        assert!(ddl.contains("'projection.hour.format' = 'yyyy/MM/dd/HH'"));
        assert!(ddl.contains("ROW FORMAT SERDE 'org.apache.hive.hcatalog.data.JsonSerDe'"));
        // No row is skipped silently.
        assert!(!ddl.contains("ignore.malformed"), "{ddl}");
        assert!(create_table("t", "b", "", LakeFormat::Jsonl).contains("LOCATION 's3://b/'"));
    }

    #[test]
    fn the_parquet_table_has_typed_columns_and_the_same_projection() {
        let ddl = create_table("reefer", "lake", "telemetry", LakeFormat::Parquet);
        assert!(ddl.contains("STORED AS PARQUET"), "{ddl}");
        assert!(ddl.contains("`measurement_time` timestamp,"), "{ddl}");
        assert!(ddl.contains("`extra_fields` string,"), "{ddl}");
        assert!(ddl.contains("`field_order` string\n)"), "{ddl}");
        assert!(ddl.contains("'storage.location.template' = 's3://lake/telemetry/${hour}/'"));
        assert!(!ddl.contains("SerDe"), "{ddl}");
    }
}
