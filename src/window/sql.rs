//! `--print-sql flink`: the same computation as a Flink SQL job, for Amazon
//! Managed Service for Apache Flink reading the Kinesis stream.
//!
//! The job must give the windows reefer-window gives, wherever it runs. That
//! decides its shape (each point is checked against a real Flink 1.20 and 2.x
//! by tests/cli/flink.rs):
//! - **Time zones.** A `TIMESTAMP_LTZ` time attribute makes Flink align
//!   windows (and write `window_start`) in the session's time zone, and
//!   `SET 'table.local-time-zone'` is not accepted by `TableEnvironment
//!   .executeSql`, only by the SQL client. So the event time is read as text
//!   and parsed into a zone-free `TIMESTAMP(3)`, and window times are written
//!   by `DATE_FORMAT` of that zone-free value, with a `Z`, exactly as
//!   reefer-window formats them.
//! - **The boundary.** Flink fires a window when the watermark reaches
//!   `end - 1 ms`, reefer-window when it reaches `end`. The Flink side moves:
//!   its watermark trails by `--lateness` plus 1 ms.
//! - **Offsets.** Flink 1.x's window TVFs fire offset windows at the
//!   unshifted boundary, dropping readings. The job shifts the time attribute
//!   by `-offset`, windows without an offset and adds the offset back to the
//!   window times: the same on every version.
//! - **Hopping windows** are computed from slices that must merge, and
//!   `FIRST_VALUE`/`LAST_VALUE` cannot. There, first and last (and the
//!   carried field) are the value at the earliest and latest event time, as
//!   `MIN`/`MAX` over the formatted time followed by the value: the same as
//!   reefer-window's input order when each key's readings arrive in time
//!   order with distinct times. Tumbling windows keep `FIRST_VALUE`.
//! - **stddev** of equal values is 0, as Welford's method gives, where
//!   Flink's sum-of-squares `STDDEV_SAMP` can give NaN.

use super::agg::{Agg, AggPlan};
use super::assign::Assigner;
use std::fmt::{self, Write};
use std::str::FromStr;

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

/// A Flink release line, `MAJOR.MINOR`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct FlinkVersion {
    pub major: u32,
    pub minor: u32,
}

impl FlinkVersion {
    /// The newest line Amazon Managed Service for Apache Flink runs.
    pub const DEFAULT: FlinkVersion = FlinkVersion {
        major: 1,
        minor: 20,
    };
    /// The oldest line with window TVFs and the `kinesis` SQL connector
    /// options written here.
    pub const OLDEST: FlinkVersion = FlinkVersion {
        major: 1,
        minor: 15,
    };

    /// Kinesis connector 5.x (Flink 1.19 and later) names the stream by ARN
    /// and has new source options; 4.x (up to 1.18) by name.
    fn kinesis_by_arn(self) -> bool {
        self >= FlinkVersion {
            major: 1,
            minor: 19,
        }
    }
}

impl fmt::Display for FlinkVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

impl FromStr for FlinkVersion {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad =
            || format!("invalid Flink version {s:?} (expected MAJOR.MINOR such as 1.20 or 2.1)");
        let mut parts = s.trim().split('.');
        let major: u32 = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
        let minor: u32 = match parts.next() {
            Some(p) => p.parse().map_err(|_| bad())?,
            None => 0,
        };
        // A patch release (1.20.5) writes the same SQL as its line.
        if let Some(p) = parts.next() {
            p.parse::<u32>().map_err(|_| bad())?;
        }
        if parts.next().is_some() {
            return Err(bad());
        }
        let v = FlinkVersion { major, minor };
        if v < FlinkVersion::OLDEST {
            return Err(format!(
                "Flink {v} is not supported: the SQL needs Flink {} or later",
                FlinkVersion::OLDEST
            ));
        }
        Ok(v)
    }
}

/// The options of `--print-sql flink`, flattened into reefer-window's
/// arguments.
#[derive(Debug, Clone, clap::Args)]
pub struct FlinkOptions {
    /// Flink version the --print-sql flink job is for (MAJOR.MINOR, 1.15 or later): the
    /// Kinesis connector options differ ('stream.arn' from 1.19 on, 'stream' before).
    /// Flink cannot run hopping windows whose --size is not a multiple of --slide:
    /// --print-sql refuses those.
    #[arg(long, default_value = "1.20", value_name = "VERSION")]
    pub flink_version: FlinkVersion,
}

impl Default for FlinkOptions {
    fn default() -> Self {
        FlinkOptions {
            flink_version: FlinkVersion::DEFAULT,
        }
    }
}

/// A window job Flink SQL cannot express.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SqlError {
    /// Flink's `HOP` needs the size to be a whole number of slides.
    SlideDoesNotDivideSize { size: i64, slide: i64 },
}

impl fmt::Display for SqlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SqlError::SlideDoesNotDivideSize { size, slide } => write!(
                f,
                "Flink cannot run this job: its hopping windows need --size ({size} ms) to be a \
                 multiple of --slide ({slide} ms); pick a --slide that divides --size"
            ),
        }
    }
}

impl std::error::Error for SqlError {}

/// A Flink SQL identifier in backquotes.
pub(crate) fn ident(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// A Flink SQL string literal.
pub(crate) fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
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

/// The computed column that is the job's time attribute.
const ROWTIME: &str = "`reefer_rowtime`";

/// Width of `yyyy-MM-dd HH:mm:ss.SSS`, the sortable time prefix of the
/// hopping windows' first and last.
const SORT_PREFIX: usize = 23;

/// The whole job: source table with watermark, sink table, and the
/// windowed `INSERT INTO … SELECT`.
pub fn flink_job(job: &SqlJob<'_>, opts: &FlinkOptions) -> Result<String, SqlError> {
    let a = job.assigner;
    if a.size % a.slide != 0 {
        return Err(SqlError::SlideDoesNotDivideSize {
            size: a.size,
            slide: a.slide,
        });
    }
    let mut s = String::new();
    header(&mut s, job, opts);
    source_table(&mut s, job, opts);
    let out_cols = output_columns(job);
    sink_table(&mut s, job.keys, &out_cols, opts);
    insert(&mut s, job, &out_cols);
    Ok(s)
}

fn header(s: &mut String, job: &SqlJob<'_>, opts: &FlinkOptions) {
    let v = opts.flink_version;
    let mut lines = vec![
        format!("Flink SQL equivalent of this reefer-window invocation, for Flink {v}."),
        "Run it on Amazon Managed Service for Apache Flink (Studio notebook or SQL".into(),
        "application); replace the stream ARNs or names and the region.".into(),
    ];
    if v.kinesis_by_arn() {
        lines.push(
            "Kinesis connector 5.x ('stream.arn'); before Flink 1.19 use --flink-version 1.18."
                .into(),
        );
    } else {
        lines.push(
            "Kinesis connector 4.x ('stream'); from Flink 1.19 on use --flink-version 1.20.".into(),
        );
    }
    if job.time_field.is_some() {
        lines.extend([
            "Input times must be UTC: 2026-11-27T03:00:00Z, 2026-11-27T03:00:00.250Z,".to_string(),
            "2026-11-27 03:00:00 or +00:00. Other offsets (accepted by reefer-window) parse".into(),
            "to NULL here, and Flink fails the job on a NULL event time.".into(),
            "Windows and window times do not depend on the session time zone.".into(),
            "A window closes when the watermark (highest time minus the lateness) reaches its"
                .into(),
            "end, as in reefer-window; Flink drops late rows silently, reefer-window counts them."
                .into(),
            "Flink emits watermarks every pipeline.auto-watermark-interval (200 ms): a row".into(),
            "reefer-window calls late may still count here; set it to 0 for the same late rows."
                .into(),
        ]);
    } else {
        lines.push(
            "Processing time: windows follow the session time zone (table.local-time-zone).".into(),
        );
    }
    if !job.assigner.is_tumbling() && (job.product.is_some() || has_first_or_last(job.plan)) {
        lines.extend([
            "Hopping windows: first, last and the carried field are the values at the earliest"
                .to_string(),
            "and latest event time (Flink cannot merge FIRST_VALUE); reefer-window takes input"
                .into(),
            "order, the same when each key's readings arrive in time order.".into(),
        ]);
    }
    for l in lines {
        let _ = writeln!(s, "-- {l}");
    }
    let _ = writeln!(s);
}

fn has_first_or_last(plan: &AggPlan) -> bool {
    !plan.numbers.is_empty()
        && plan
            .aggs
            .iter()
            .any(|a| matches!(a, Agg::First | Agg::Last))
}

/// The Kinesis connector options of one table.
pub(crate) fn kinesis_options(s: &mut String, stream: &str, source: bool, opts: &FlinkOptions) {
    let _ = writeln!(s, "  'connector' = 'kinesis',");
    if opts.flink_version.kinesis_by_arn() {
        let arn = format!("arn:aws:kinesis:us-east-1:123456789012:stream/{stream}");
        let _ = writeln!(s, "  'stream.arn' = {},", literal(&arn));
        let _ = writeln!(s, "  'aws.region' = 'us-east-1',");
        if source {
            let _ = writeln!(s, "  'source.init.position' = 'TRIM_HORIZON',");
        }
    } else {
        let _ = writeln!(s, "  'stream' = {},", literal(stream));
        let _ = writeln!(s, "  'aws.region' = 'us-east-1',");
        if source {
            let _ = writeln!(s, "  'scan.stream.initpos' = 'TRIM_HORIZON',");
        }
    }
}

fn source_table(s: &mut String, job: &SqlJob<'_>, opts: &FlinkOptions) {
    let plan = job.plan;
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
    match job.time_field {
        Some(t) => {
            // Text parsed to a zone-free TIMESTAMP(3): windows do not follow
            // the session zone. Shifted by -offset (added back on output).
            let t = ident(t);
            cols.push(format!("  {t} STRING"));
            let parsed = format!(
                "TO_TIMESTAMP(REPLACE(REPLACE(REPLACE({t}, 'T', ' '), 'Z', ''), '+00:00', ''))"
            );
            let rowtime = if job.assigner.offset == 0 {
                parsed
            } else {
                format!("{parsed} - {}", interval(job.assigner.offset))
            };
            cols.push(format!("  {ROWTIME} AS {rowtime}"));
            cols.push(format!(
                "  WATERMARK FOR {ROWTIME} AS {ROWTIME} - {}",
                interval(job.lateness + 1)
            ));
        }
        None => cols.push(format!("  {ROWTIME} AS PROCTIME()")),
    }
    let _ = writeln!(s, "CREATE TABLE reefer_readings (");
    let _ = writeln!(s, "{}", cols.join(",\n"));
    let _ = writeln!(s, ") WITH (");
    kinesis_options(s, "reefer-telemetry", true, opts);
    let _ = writeln!(s, "  'format' = 'json',");
    let _ = writeln!(s, "  'json.ignore-parse-errors' = 'false'");
    let _ = writeln!(s, ");");
    let _ = writeln!(s);
}

/// One column of the sink: name, type, and its expression in the SELECT.
struct OutCol {
    name: String,
    ty: &'static str,
    expr: String,
}

/// A window time as reefer-window writes it: UTC, `Z`, milliseconds only
/// when not zero.
fn window_time(col: &str, a: Assigner) -> String {
    let t = if a.offset == 0 {
        col.to_string()
    } else {
        format!("{col} + {}", interval(a.offset))
    };
    if a.size % 1000 == 0 && a.slide % 1000 == 0 && a.offset % 1000 == 0 {
        format!("DATE_FORMAT({t}, 'yyyy-MM-dd''T''HH:mm:ss''Z''')")
    } else {
        format!(
            "REGEXP_REPLACE(DATE_FORMAT({t}, 'yyyy-MM-dd''T''HH:mm:ss.SSS'), '\\.000$', '') || 'Z'"
        )
    }
}

/// The value at the earliest (`MIN`) or latest (`MAX`) event time, ties
/// to the smallest or largest text: both merge, so hopping windows plan.
fn by_time(fun: &str, col: &str) -> String {
    format!(
        "SUBSTRING({fun}(DATE_FORMAT({ROWTIME}, 'yyyy-MM-dd HH:mm:ss.SSS') || CAST({col} AS STRING)) FROM {})",
        SORT_PREFIX + 1
    )
}

fn output_columns(job: &SqlJob<'_>) -> Vec<OutCol> {
    let plan = job.plan;
    let hopping = !job.assigner.is_tumbling();
    let col = |name: &str, ty, expr: String| OutCol {
        name: name.to_string(),
        ty,
        expr,
    };
    let mut out = vec![
        col(
            "window_start",
            "STRING",
            window_time("window_start", job.assigner),
        ),
        col(
            "window_end",
            "STRING",
            window_time("window_end", job.assigner),
        ),
    ];
    for k in job.keys {
        out.push(col(k, column_type(k, plan), ident(k)));
    }
    if let Some(p) = job.product {
        let expr = if hopping {
            by_time("MIN", &ident(p))
        } else {
            format!("FIRST_VALUE({})", ident(p))
        };
        out.push(col(p, "STRING", expr));
    }
    out.push(col("count", "BIGINT", "COUNT(*)".into()));
    for f in &plan.numbers {
        let c = ident(f);
        for agg in &plan.aggs {
            let (ty, expr) = match agg {
                Agg::Count => ("BIGINT", format!("COUNT({c})")),
                Agg::Min => ("DOUBLE", format!("MIN({c})")),
                Agg::Max => ("DOUBLE", format!("MAX({c})")),
                Agg::Mean => ("DOUBLE", format!("AVG({c})")),
                Agg::Sum => ("DOUBLE", format!("SUM({c})")),
                Agg::First if hopping => {
                    ("DOUBLE", format!("CAST({} AS DOUBLE)", by_time("MIN", &c)))
                }
                Agg::Last if hopping => {
                    ("DOUBLE", format!("CAST({} AS DOUBLE)", by_time("MAX", &c)))
                }
                Agg::First => ("DOUBLE", format!("FIRST_VALUE({c})")),
                Agg::Last => ("DOUBLE", format!("LAST_VALUE({c})")),
                // Equal values: 0 as Welford's method gives, where the sum
                // of squares can round below zero and give NaN.
                Agg::Stddev => (
                    "DOUBLE",
                    format!(
                        "CASE WHEN COUNT({c}) < 2 THEN CAST(NULL AS DOUBLE) \
                         WHEN MIN({c}) = MAX({c}) THEN CAST(0 AS DOUBLE) \
                         ELSE STDDEV_SAMP({c}) END"
                    ),
                ),
            };
            // Rounded as reefer-window rounds them (`--precision`).
            let expr = match (plan.precision, agg) {
                (Some(d), Agg::Mean | Agg::Sum | Agg::Stddev) => format!("ROUND({expr}, {d})"),
                _ => expr,
            };
            out.push(col(&format!("{f}_{agg}"), ty, expr));
        }
    }
    for f in &plan.bools {
        let c = ident(f);
        out.push(col(
            &format!("{f}_true"),
            "BIGINT",
            // NULL, as reefer-window writes, when no reading had the field.
            format!("CASE WHEN COUNT({c}) = 0 THEN CAST(NULL AS BIGINT) ELSE COUNT(CASE WHEN {c} THEN 1 END) END"),
        ));
        if plan.aggs.contains(&Agg::Count) {
            out.push(col(&format!("{f}_count"), "BIGINT", format!("COUNT({c})")));
        }
    }
    out
}

/// The windows stream, partitioned by the group keys: every window of one
/// key lands in one shard, in order, so one reefer-detect per shard sees
/// each container whole (the connector's default partitioner is random).
fn sink_table(s: &mut String, keys: &[String], out_cols: &[OutCol], opts: &FlinkOptions) {
    let _ = writeln!(s, "CREATE TABLE reefer_windows (");
    let cols: Vec<String> = out_cols
        .iter()
        .map(|c| format!("  {} {}", ident(&c.name), c.ty))
        .collect();
    let _ = writeln!(s, "{}", cols.join(",\n"));
    let keys: Vec<String> = keys.iter().map(|k| ident(k)).collect();
    let _ = writeln!(s, ") PARTITIONED BY ({}) WITH (", keys.join(", "));
    kinesis_options(s, "reefer-windows", false, opts);
    let _ = writeln!(s, "  'format' = 'json'");
    let _ = writeln!(s, ");");
    let _ = writeln!(s);
}

fn insert(s: &mut String, job: &SqlJob<'_>, out_cols: &[OutCol]) {
    let a = job.assigner;
    // The offset is in the time attribute already (see `source_table`).
    let window = if a.is_tumbling() {
        format!(
            "TUMBLE(TABLE reefer_readings, DESCRIPTOR({ROWTIME}), {})",
            interval(a.size)
        )
    } else {
        format!(
            "HOP(TABLE reefer_readings, DESCRIPTOR({ROWTIME}), {}, {})",
            interval(a.slide),
            interval(a.size)
        )
    };
    let select: Vec<String> = out_cols
        .iter()
        .map(|c| {
            if c.expr == ident(&c.name) {
                format!("  {}", c.expr)
            } else {
                format!("  {} AS {}", c.expr, ident(&c.name))
            }
        })
        .collect();
    let _ = writeln!(s, "INSERT INTO reefer_windows");
    let _ = writeln!(s, "SELECT\n{}", select.join(",\n"));
    let _ = writeln!(s, "FROM TABLE(\n  {window})");
    let mut group = vec!["window_start".to_string(), "window_end".to_string()];
    group.extend(job.keys.iter().map(|k| ident(k)));
    let _ = writeln!(s, "GROUP BY {};", group.join(", "));
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

    fn plan() -> AggPlan {
        AggPlan::new(
            &["temperature".into(), "door_open".into()],
            &[Agg::Min, Agg::Mean, Agg::First, Agg::Stddev],
        )
    }

    /// The job for the default Flink version.
    fn flink(job: &SqlJob<'_>) -> String {
        flink_job(job, &FlinkOptions::default()).unwrap()
    }

    fn job<'a>(plan: &'a AggPlan, keys: &'a [String], assigner: Assigner) -> SqlJob<'a> {
        SqlJob {
            time_field: Some("measurement_time"),
            keys,
            product: Some("product_id"),
            plan,
            assigner,
            lateness: 5000,
        }
    }

    #[test]
    fn a_tumbling_job_windows_a_zone_free_time_with_the_watermark_one_ms_further_back() {
        let (plan, keys) = (plan(), ["container_id".to_string()]);
        let sql = flink(&job(&plan, &keys, Assigner::tumbling(60_000, 0).unwrap()));
        for want in [
            "`measurement_time` STRING",
            "`reefer_rowtime` AS TO_TIMESTAMP(REPLACE(REPLACE(REPLACE(`measurement_time`, 'T', ' '), 'Z', ''), '+00:00', ''))",
            "WATERMARK FOR `reefer_rowtime` AS `reefer_rowtime` - INTERVAL '0 00:00:05.001' DAY TO SECOND(3)",
            "TUMBLE(TABLE reefer_readings, DESCRIPTOR(`reefer_rowtime`), INTERVAL '1' MINUTE)",
            "DATE_FORMAT(window_start, 'yyyy-MM-dd''T''HH:mm:ss''Z''') AS `window_start`",
            "ROUND(AVG(`temperature`), 6) AS `temperature_mean`",
            "FIRST_VALUE(`product_id`) AS `product_id`",
            "FIRST_VALUE(`temperature`) AS `temperature_first`",
            "WHEN MIN(`temperature`) = MAX(`temperature`) THEN CAST(0 AS DOUBLE)",
            "CASE WHEN COUNT(`door_open`) = 0 THEN CAST(NULL AS BIGINT) ELSE COUNT(CASE WHEN `door_open` THEN 1 END) END AS `door_open_true`",
            "GROUP BY window_start, window_end, `container_id`;",
            ") PARTITIONED BY (`container_id`) WITH (",
            "'stream.arn' = 'arn:aws:kinesis:us-east-1:123456789012:stream/reefer-telemetry'",
            "'source.init.position' = 'TRIM_HORIZON'",
        ] {
            assert!(sql.contains(want), "missing {want}\n{sql}");
        }
        assert!(!sql.contains("TIMESTAMP_LTZ"), "{sql}");
        assert!(!sql.contains("SET "), "{sql}");
    }

    #[test]
    fn hopping_windows_take_first_and_the_carry_by_event_time_so_the_aggregates_merge() {
        let (plan, keys) = (plan(), ["container_id".to_string()]);
        let sql = flink(&job(
            &plan,
            &keys,
            Assigner::hopping(60_000, 20_000, 0).unwrap(),
        ));
        assert!(!sql.contains("FIRST_VALUE("), "{sql}");
        assert!(sql.contains("HOP(TABLE reefer_readings, DESCRIPTOR(`reefer_rowtime`), INTERVAL '20' SECOND, INTERVAL '1' MINUTE)"), "{sql}");
        assert!(sql.contains("SUBSTRING(MIN(DATE_FORMAT(`reefer_rowtime`, 'yyyy-MM-dd HH:mm:ss.SSS') || CAST(`product_id` AS STRING)) FROM 24) AS `product_id`"), "{sql}");
    }

    #[test]
    fn an_offset_shifts_the_time_attribute_and_comes_back_on_the_window_times() {
        let (plan, keys) = (plan(), ["container_id".to_string()]);
        let sql = flink(&job(
            &plan,
            &keys,
            Assigner::tumbling(60_000, 15_000).unwrap(),
        ));
        assert!(
            sql.contains("'+00:00', '')) - INTERVAL '15' SECOND"),
            "{sql}"
        );
        assert!(
            sql.contains("DATE_FORMAT(window_end + INTERVAL '15' SECOND, "),
            "{sql}"
        );
        assert!(sql.contains("INTERVAL '1' MINUTE))\nGROUP BY"), "{sql}");
    }

    #[test]
    fn sub_second_windows_write_milliseconds_only_when_not_zero() {
        let (plan, keys) = (plan(), ["container_id".to_string()]);
        let sql = flink(&job(&plan, &keys, Assigner::tumbling(1500, 0).unwrap()));
        assert!(sql.contains("REGEXP_REPLACE(DATE_FORMAT(window_start, 'yyyy-MM-dd''T''HH:mm:ss.SSS'), '\\.000$', '') || 'Z'"), "{sql}");
    }

    #[test]
    fn a_slide_that_does_not_divide_the_size_is_refused() {
        let (plan, keys) = (plan(), ["container_id".to_string()]);
        let j = job(&plan, &keys, Assigner::hopping(60_000, 25_000, 0).unwrap());
        let err = flink_job(&j, &FlinkOptions::default()).unwrap_err();
        assert_eq!(
            err,
            SqlError::SlideDoesNotDivideSize {
                size: 60_000,
                slide: 25_000
            }
        );
        assert!(err.to_string().contains("multiple of --slide"), "{err}");
    }

    #[test]
    fn flink_before_1_19_names_the_kinesis_stream_instead_of_its_arn() {
        let (plan, keys) = (plan(), ["container_id".to_string()]);
        let opts = FlinkOptions {
            flink_version: "1.18".parse().unwrap(),
        };
        let sql = flink_job(
            &job(&plan, &keys, Assigner::tumbling(60_000, 0).unwrap()),
            &opts,
        )
        .unwrap();
        assert!(sql.contains("'stream' = 'reefer-telemetry'"), "{sql}");
        assert!(
            sql.contains("'scan.stream.initpos' = 'TRIM_HORIZON'"),
            "{sql}"
        );
        assert!(sql.contains("'stream' = 'reefer-windows'"), "{sql}");
        assert!(!sql.contains("stream.arn"), "{sql}");
    }

    #[test]
    fn flink_version_is_a_flag_that_flattens_into_a_tool_and_refuses_old_lines() {
        use clap::Parser;
        #[derive(Parser)]
        struct Tool {
            #[command(flatten)]
            flink: FlinkOptions,
        }
        let t = Tool::try_parse_from(["t"]).unwrap();
        assert_eq!(t.flink.flink_version, FlinkVersion::DEFAULT);
        let t = Tool::try_parse_from(["t", "--flink-version", "2.3"]).unwrap();
        assert_eq!(t.flink.flink_version.to_string(), "2.3");
        let err = Tool::try_parse_from(["t", "--flink-version", "1.14"])
            .err()
            .unwrap();
        assert_eq!(err.kind(), clap::error::ErrorKind::ValueValidation);
    }

    #[test]
    fn flink_versions_parse_as_major_minor_from_1_15_on() {
        assert_eq!("2.3".parse::<FlinkVersion>().unwrap().to_string(), "2.3");
        assert_eq!(
            "1.20.5".parse::<FlinkVersion>().unwrap().to_string(),
            "1.20"
        );
        assert_eq!("2".parse::<FlinkVersion>().unwrap().to_string(), "2.0");
        assert!("1.14"
            .parse::<FlinkVersion>()
            .unwrap_err()
            .contains("not supported"));
        assert!("one".parse::<FlinkVersion>().is_err());
        assert!("1.20.x".parse::<FlinkVersion>().is_err());
    }
}
