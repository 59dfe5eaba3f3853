//! `--print-sql flink`: the same computation as a Flink SQL job, for Amazon
//! Managed Service for Apache Flink reading the Kinesis stream.

use super::agg::{Agg, AggPlan};
use super::assign::Assigner;
use std::fmt::Write;

/// What the SQL needs to know about the window job.
pub struct SqlJob<'a> {
    /// `None` for processing time.
    pub time_field: Option<&'a str>,
    pub keys: &'a [String],
    pub product: Option<&'a str>,
    pub plan: &'a AggPlan,
    pub assigner: Assigner,
    pub lateness: i64,
}

/// A Flink SQL identifier in backquotes.
fn ident(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// A Flink interval literal for `ms` milliseconds, in a single unit when
/// that fits the default two-digit precision, else `DAY TO SECOND(3)`.
pub fn interval(ms: i64) -> String {
    if ms == 0 {
        return "INTERVAL '0' SECOND".into();
    }
    for (unit, size) in [
        ("DAY", 86_400_000),
        ("HOUR", 3_600_000),
        ("MINUTE", 60_000),
        ("SECOND", 1000),
    ] {
        if ms > 0 && ms % size == 0 && ms / size < 100 {
            return format!("INTERVAL '{}' {unit}", ms / size);
        }
    }
    let (d, rest) = (ms / 86_400_000, ms % 86_400_000);
    let (h, rest) = (rest / 3_600_000, rest % 3_600_000);
    let (m, rest) = (rest / 60_000, rest % 60_000);
    let (s, milli) = (rest / 1000, rest % 1000);
    format!("INTERVAL '{d} {h:02}:{m:02}:{s:02}.{milli:03}' DAY TO SECOND(3)")
}

fn column_type(name: &str, plan: &AggPlan) -> &'static str {
    if plan.bools.iter().any(|b| b == name) {
        "BOOLEAN"
    } else if plan.numbers.iter().any(|n| n == name) {
        "DOUBLE"
    } else {
        "STRING"
    }
}

/// The whole job: source table with watermark, sink table, and the
/// windowed `INSERT INTO … SELECT`.
pub fn flink(job: &SqlJob<'_>) -> String {
    let plan = job.plan;
    let a = job.assigner;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "-- Flink SQL equivalent of this reefer-window invocation."
    );
    let _ = writeln!(
        s,
        "-- Run it on Amazon Managed Service for Apache Flink (Studio notebook or SQL"
    );
    let _ = writeln!(
        s,
        "-- application); replace the stream names and region. With the Kinesis"
    );
    let _ = writeln!(
        s,
        "-- connector of Flink 1.19+ use 'stream.arn' instead of 'stream'."
    );
    let _ = writeln!(
        s,
        "-- Difference: Flink drops late rows silently; reefer-window counts them."
    );
    let _ = writeln!(s);
    let _ = writeln!(s, "CREATE TABLE reefer_readings (");
    let mut cols: Vec<String> = Vec::new();
    for k in job.keys {
        cols.push(format!("  {} {}", ident(k), column_type(k, plan)));
    }
    if let Some(p) = job.product {
        cols.push(format!("  {} STRING", ident(p)));
    }
    for f in plan.numbers.iter().chain(&plan.bools) {
        cols.push(format!("  {} {}", ident(f), column_type(f, plan)));
    }
    let time_col = match job.time_field {
        Some(t) => {
            cols.push(format!("  {} TIMESTAMP_LTZ(3)", ident(t)));
            cols.push(format!(
                "  WATERMARK FOR {t} AS {t} - {}",
                interval(job.lateness),
                t = ident(t)
            ));
            ident(t)
        }
        None => {
            cols.push("  `proc_time` AS PROCTIME()".to_string());
            "`proc_time`".to_string()
        }
    };
    let _ = writeln!(s, "{}", cols.join(",\n"));
    let _ = writeln!(s, ") WITH (");
    let _ = writeln!(s, "  'connector' = 'kinesis',");
    let _ = writeln!(s, "  'stream' = 'reefer-telemetry',");
    let _ = writeln!(s, "  'aws.region' = 'us-east-1',");
    let _ = writeln!(s, "  'scan.stream.initpos' = 'TRIM_HORIZON',");
    let _ = writeln!(s, "  'format' = 'json',");
    let _ = writeln!(s, "  'json.timestamp-format.standard' = 'ISO-8601',");
    let _ = writeln!(s, "  'json.ignore-parse-errors' = 'false'");
    let _ = writeln!(s, ");");
    let _ = writeln!(s);

    // Output columns, as reefer-window writes them.
    let mut out_cols: Vec<(String, &'static str, String)> = vec![
        ("window_start".into(), "TIMESTAMP(3)", "window_start".into()),
        ("window_end".into(), "TIMESTAMP(3)", "window_end".into()),
    ];
    for k in job.keys {
        out_cols.push((k.clone(), column_type(k, plan), ident(k)));
    }
    if let Some(p) = job.product {
        out_cols.push((
            p.to_string(),
            "STRING",
            format!("FIRST_VALUE({})", ident(p)),
        ));
    }
    out_cols.push(("count".into(), "BIGINT", "COUNT(*)".into()));
    for f in &plan.numbers {
        let c = ident(f);
        for agg in &plan.aggs {
            let (ty, expr) = match agg {
                Agg::Count => ("BIGINT", format!("COUNT({c})")),
                Agg::Min => ("DOUBLE", format!("MIN({c})")),
                Agg::Max => ("DOUBLE", format!("MAX({c})")),
                Agg::Mean => ("DOUBLE", format!("AVG({c})")),
                Agg::Sum => ("DOUBLE", format!("SUM({c})")),
                Agg::First => ("DOUBLE", format!("FIRST_VALUE({c})")),
                Agg::Last => ("DOUBLE", format!("LAST_VALUE({c})")),
                Agg::Stddev => ("DOUBLE", format!("STDDEV_SAMP({c})")),
            };
            out_cols.push((format!("{f}_{agg}"), ty, expr));
        }
    }
    for f in &plan.bools {
        let c = ident(f);
        out_cols.push((
            format!("{f}_true"),
            "BIGINT",
            format!("COUNT(CASE WHEN {c} THEN 1 END)"),
        ));
        if plan.aggs.contains(&Agg::Count) {
            out_cols.push((format!("{f}_count"), "BIGINT", format!("COUNT({c})")));
        }
    }
    let _ = writeln!(s, "CREATE TABLE reefer_windows (");
    let sink_cols: Vec<String> = out_cols
        .iter()
        .map(|(name, ty, _)| format!("  {} {ty}", ident(name)))
        .collect();
    let _ = writeln!(s, "{}", sink_cols.join(",\n"));
    let _ = writeln!(s, ") WITH (");
    let _ = writeln!(s, "  'connector' = 'kinesis',");
    let _ = writeln!(s, "  'stream' = 'reefer-windows',");
    let _ = writeln!(s, "  'aws.region' = 'us-east-1',");
    let _ = writeln!(s, "  'format' = 'json',");
    let _ = writeln!(s, "  'json.timestamp-format.standard' = 'ISO-8601'");
    let _ = writeln!(s, ");");
    let _ = writeln!(s);

    let window = if a.is_tumbling() {
        let mut w = format!(
            "TUMBLE(TABLE reefer_readings, DESCRIPTOR({time_col}), {}",
            interval(a.size)
        );
        if a.offset != 0 {
            let _ = write!(w, ", {}", interval(a.offset));
        }
        w.push(')');
        w
    } else {
        let mut w = format!(
            "HOP(TABLE reefer_readings, DESCRIPTOR({time_col}), {}, {}",
            interval(a.slide),
            interval(a.size)
        );
        if a.offset != 0 {
            let _ = write!(w, ", {}", interval(a.offset));
        }
        w.push(')');
        w
    };
    let _ = writeln!(s, "INSERT INTO reefer_windows");
    let select: Vec<String> = out_cols
        .iter()
        .map(|(name, _, expr)| {
            if *expr == ident(name) || expr == name {
                format!("  {expr}")
            } else {
                format!("  {expr} AS {}", ident(name))
            }
        })
        .collect();
    let _ = writeln!(s, "SELECT\n{}", select.join(",\n"));
    let _ = writeln!(s, "FROM TABLE(\n  {window})");
    let mut group = vec!["window_start".to_string(), "window_end".to_string()];
    group.extend(job.keys.iter().map(|k| ident(k)));
    let _ = writeln!(s, "GROUP BY {};", group.join(", "));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals() {
        assert_eq!(interval(60_000), "INTERVAL '1' MINUTE");
        assert_eq!(interval(3_600_000), "INTERVAL '1' HOUR");
        assert_eq!(interval(5_400_000), "INTERVAL '90' MINUTE");
        assert_eq!(interval(500), "INTERVAL '0 00:00:00.500' DAY TO SECOND(3)");
        assert_eq!(interval(0), "INTERVAL '0' SECOND");
        assert_eq!(
            interval(200 * 60_000),
            "INTERVAL '0 03:20:00.000' DAY TO SECOND(3)"
        );
    }

    #[test]
    fn tumbling_job() {
        let plan = AggPlan::new(
            &["temperature".into(), "door_open".into()],
            &[Agg::Min, Agg::Mean],
        );
        let job = SqlJob {
            time_field: Some("measurement_time"),
            keys: &["container_id".into()],
            product: Some("product_id"),
            plan: &plan,
            assigner: Assigner::tumbling(60_000, 0).unwrap(),
            lateness: 5000,
        };
        let sql = flink(&job);
        assert!(
            sql.contains(
                "WATERMARK FOR `measurement_time` AS `measurement_time` - INTERVAL '5' SECOND"
            ),
            "{sql}"
        );
        assert!(sql.contains("TUMBLE(TABLE reefer_readings, DESCRIPTOR(`measurement_time`), INTERVAL '1' MINUTE)"), "{sql}");
        assert!(
            sql.contains("AVG(`temperature`) AS `temperature_mean`"),
            "{sql}"
        );
        assert!(
            sql.contains("COUNT(CASE WHEN `door_open` THEN 1 END) AS `door_open_true`"),
            "{sql}"
        );
        assert!(
            sql.contains("GROUP BY window_start, window_end, `container_id`;"),
            "{sql}"
        );
    }
}
