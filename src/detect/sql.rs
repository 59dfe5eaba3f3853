//! `reefer-detect --where CONDITION --print-sql flink`: the `--where` filter
//! (the reference design's faulty-reefers stream) as a Flink SQL job that
//! passes the same readings from the telemetry stream to a Kinesis stream.
//!
//! The condition keeps `--where`'s rule for missing and null fields: they
//! match no comparison except `!= VALUE` and `== null`, where SQL's `<>`
//! would give NULL (no match). Checked against a real Flink by
//! tests/cli/flink.rs.

use super::engine::Slot;
use super::filter::{Cond, Expr, Lit, Op};
use super::rules::ThresholdRule;
use crate::record::FIELDS;
use crate::window::agg::BOOL_FIELDS;
use crate::window::sql::{ident, interval, kinesis_options, literal, FlinkOptions};
use std::fmt::Write;

/// Text fields of the schema; every other schema field is a number or,
/// in [`BOOL_FIELDS`], a boolean.
const TEXT_FIELDS: [&str; 5] = [
    "container_id",
    "measurement_time",
    "product_id",
    "operating_mode",
    "fault",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Number,
    Bool,
}

fn kind(field: &str) -> Kind {
    if BOOL_FIELDS.contains(&field) {
        Kind::Bool
    } else if TEXT_FIELDS.contains(&field) || !FIELDS.contains(&field) {
        // A field outside the schema is read as text: JSON numbers and
        // booleans come out as their JSON text.
        Kind::Text
    } else {
        Kind::Number
    }
}

fn sql_type(k: Kind) -> &'static str {
    match k {
        Kind::Text => "STRING",
        Kind::Number => "DOUBLE",
        Kind::Bool => "BOOLEAN",
    }
}

fn op(o: Op) -> &'static str {
    match o {
        Op::Gt => ">",
        Op::Ge => ">=",
        Op::Lt => "<",
        Op::Le => "<=",
        Op::Eq => "=",
        Op::Ne => "<>",
    }
}

/// A DOUBLE literal (`18E0`): Rust writes every finite f64 without an
/// exponent and with the digits that read back as the same value.
fn number(x: f64) -> String {
    format!("{x}E0")
}

/// One comparison as SQL with `--where`'s null rule.
fn cond(c: &Cond) -> String {
    let col = ident(&c.field);
    let k = kind(&c.field);
    let compared = match (&c.lit, k) {
        (Lit::Null, _) => {
            return match c.op {
                Op::Eq => format!("{col} IS NULL"),
                _ => format!("{col} IS NOT NULL"),
            }
        }
        (Lit::Num(x), Kind::Number) => Some(format!("{col} {} {}", op(c.op), number(*x))),
        // --where reads a number written as text as that number.
        (Lit::Num(x), Kind::Text) => Some(format!(
            "TRY_CAST({col} AS DOUBLE) {} {}",
            op(c.op),
            number(*x)
        )),
        (Lit::Bool(b), Kind::Bool) => Some(format!(
            "{col} {} {}",
            op(c.op),
            if *b { "TRUE" } else { "FALSE" }
        )),
        (Lit::Str(s), Kind::Text) => Some(format!("{col} {} {}", op(c.op), literal(s))),
        (Lit::Str(s), _) => Some(format!("CAST({col} AS STRING) {} {}", op(c.op), literal(s))),
        // A boolean compared with a number, or a number with a boolean:
        // never equal, so only `!=` holds.
        (Lit::Num(_), Kind::Bool) | (Lit::Bool(_), _) => None,
    };
    match (compared, c.op) {
        (Some(e), Op::Ne) => format!("({col} IS NULL OR {e})"),
        (Some(e), _) => e,
        (None, Op::Ne) => "TRUE".into(),
        (None, _) => "FALSE".into(),
    }
}

/// The `WHERE` condition: an `OR` of `AND`s, as `--where` reads it.
pub fn condition(expr: &Expr) -> String {
    let any: Vec<String> = expr
        .any
        .iter()
        .map(|all| {
            let all: Vec<String> = all.iter().map(cond).collect();
            if all.len() == 1 || expr.any.len() == 1 {
                all.join(" AND ")
            } else {
                format!("({})", all.join(" AND "))
            }
        })
        .collect();
    any.join(" OR ")
}

/// The whole job: the telemetry table, a `faulty_reefers` table of the
/// same columns, and `INSERT INTO … SELECT * … WHERE`.
pub fn flink_where(expr: &Expr, source: &str, opts: &FlinkOptions) -> String {
    let mut cols: Vec<String> = FIELDS.iter().map(|f| f.to_string()).collect();
    for c in expr.fields() {
        if !cols.contains(&c.field) {
            cols.push(c.field.clone());
        }
    }
    let schema: Vec<String> = cols
        .iter()
        .map(|c| format!("  {} {}", ident(c), sql_type(kind(c))))
        .collect();
    let mut s = String::new();
    for l in [
        format!(
            "Flink SQL equivalent of reefer-detect --where {}, for Flink {}.",
            literal(source),
            opts.flink_version
        ),
        "Passes the matching readings of the telemetry stream to the faulty-reefers stream,".into(),
        "with the schema's fields (fields outside it are dropped; absent ones come out null)."
            .into(),
        "A missing or null field matches no comparison except != VALUE and == null.".into(),
        "Replace the stream ARNs or names and the region.".into(),
    ] {
        let _ = writeln!(s, "-- {l}");
    }
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "CREATE TABLE reefer_readings (\n{}\n) WITH (",
        schema.join(",\n")
    );
    kinesis_options(&mut s, "reefer-telemetry", true, opts);
    let _ = writeln!(s, "  'format' = 'json',");
    let _ = writeln!(s, "  'json.ignore-parse-errors' = 'false'");
    let _ = writeln!(s, ");");
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "CREATE TABLE faulty_reefers (\n{}\n) PARTITIONED BY (`container_id`) WITH (",
        schema.join(",\n")
    );
    kinesis_options(&mut s, "faulty-reefers", false, opts);
    let _ = writeln!(s, "  'format' = 'json'");
    let _ = writeln!(s, ");");
    let _ = writeln!(s);
    let _ = writeln!(s, "INSERT INTO faulty_reefers");
    let _ = writeln!(s, "SELECT * FROM reefer_readings");
    let _ = writeln!(s, "WHERE {};", condition(expr));
    s
}

/// The event time of the rules job: the reading's text time parsed into a
/// zone-free `TIMESTAMP(3)`, as reefer-window's job reads it (see
/// crate::window::sql), so that the session's time zone changes nothing.
const ROWTIME: &str = "`reefer_rowtime`";

/// How far the rules job's watermark trails the newest reading: readings
/// older than that (other containers' readings delayed by the stream) are
/// dropped by `MATCH_RECOGNIZE` as late.
const RULES_LATENESS_MS: i64 = 30_000;

/// The fields a reading must have for reefer-detect to judge it
/// (`Reading::from_map` rejects it otherwise), besides its time: the job
/// drops the readings reefer-detect rejects, and also those with a negative
/// draw (reefer-detect keeps them as implausible, judged without their draw;
/// the job would need every condition rewritten to say the same).
const REQUIRED: [&str; 7] = [
    "container_id",
    "product_id",
    "temperature",
    "kilowatts",
    "oxygen_level",
    "carbon_dioxide_level",
    "fan_1",
];

/// One threshold rule as a `MATCH_RECOGNIZE` job can run it.
pub struct ExportRule<'a> {
    pub rule: &'a ThresholdRule,
    pub for_ms: i64,
}

/// The detectors of a rules file split into those Flink SQL can run and the
/// others, each with why not (named in the SQL as comments).
pub fn exportable(slots: &[Slot]) -> (Vec<ExportRule<'_>>, Vec<(String, String)>) {
    let mut yes = Vec::new();
    let mut no = Vec::new();
    for slot in slots {
        let name = slot.rule.name().to_string();
        let t = &slot.timing;
        match slot.rule.as_threshold() {
            None => no.push((
                name,
                "it is a built-in detector: it reads per-container history, the product \
                 catalog or the unit's operating state, which a row pattern cannot"
                    .to_string(),
            )),
            Some(_) if t.min_readings > 1 || t.clear_ms > 0 || t.clear_readings > 1 => no.push((
                name,
                "it needs more than one reading or a clearance time, which the exported \
                 pattern does not count"
                    .to_string(),
            )),
            Some(rule) => yes.push(ExportRule {
                rule,
                for_ms: t.for_ms,
            }),
        }
    }
    (yes, no)
}

/// One comparison of a rule's condition: the column it reads and the test
/// (fields read as numbers, booleans as 1 and 0, as reefer-detect's rules do).
fn rule_cond(c: &Cond) -> (String, String) {
    let col = if c.field == "ambient_temperature" {
        // reefer-detect also reads the misspelt field IBM's data carries.
        "COALESCE(`ambient_temperature`, `ambiant_temperature`)".to_string()
    } else {
        ident(&c.field)
    };
    let value = match kind(&c.field) {
        Kind::Bool => format!("CASE WHEN {col} THEN 1E0 ELSE 0E0 END"),
        _ => col.clone(),
    };
    let test = match &c.lit {
        Lit::Num(x) => format!("{value} {} {}", op(c.op), number(*x)),
        Lit::Bool(b) => format!("{value} {} {}", op(c.op), if *b { "1E0" } else { "0E0" }),
        // reefer-detect's rules compare numbers only: text and null never hold.
        Lit::Str(_) | Lit::Null => "FALSE".into(),
    };
    (col, test)
}

/// A rule's condition as TRUE (fault), FALSE (clear) or NULL (hold: an
/// absent or null field, neither a fault nor a clearance), exactly as
/// reefer-detect judges it: each `and` group stops at its first comparison
/// that is not true (an absent field makes the group unknown even if a later
/// comparison is false); the `or` of the groups is true if one is, else
/// unknown if one is, else false, which is SQL's own `OR`.
pub fn rule_condition(expr: &Expr) -> String {
    let groups: Vec<String> = expr
        .any
        .iter()
        .map(|all| {
            let mut s = String::from("CASE");
            for c in all {
                let (col, test) = rule_cond(c);
                let _ = write!(
                    s,
                    " WHEN {col} IS NULL THEN CAST(NULL AS BOOLEAN) WHEN NOT ({test}) THEN FALSE"
                );
            }
            s.push_str(" ELSE TRUE END");
            s
        })
        .collect();
    if groups.len() == 1 {
        groups.concat()
    } else {
        format!("({})", groups.join(") OR ("))
    }
}

/// An event time as reefer-detect writes it: UTC with a `Z`, milliseconds
/// only when not zero.
fn event_time(col: &str) -> String {
    format!(
        "CASE WHEN EXTRACT(MILLISECOND FROM {col}) = 0 \
         THEN DATE_FORMAT({col}, 'yyyy-MM-dd''T''HH:mm:ss''Z''') \
         ELSE DATE_FORMAT({col}, 'yyyy-MM-dd''T''HH:mm:ss.SSS''Z''') END"
    )
}

/// The query of one rule: the readings that judge it (held ones dropped, as
/// reefer-detect ignores them) with whether the one before was faulty, then
/// a pattern per container in event time: the first faulty reading after a
/// clear one (or the container's first), faulty readings, and the first
/// faulty reading `for` after it: one row, the episode's `open` event.
/// Skipping past the match, the episode's later faulty readings cannot
/// start another: only a reading after a clear one can.
fn rule_query(r: &ExportRule<'_>) -> String {
    let rule = r.rule;
    let hit = rule_condition(&rule.when);
    let (pattern, last, more) = if r.for_ms == 0 {
        ("(S)", "S", String::new())
    } else {
        (
            "(S M*? D)",
            "D",
            format!(
                ",\n    M AS M.`hit`,\n    D AS D.`hit` AND D.{ROWTIME} >= S.{ROWTIME} + {}",
                interval(r.for_ms)
            ),
        )
    };
    let message = match &rule.message {
        Some(m) => literal(m),
        None => format!(
            "CONCAT(`container_id`, {})",
            literal(&format!(": {} ({})", rule.name, rule.when_text))
        ),
    };
    let mut s = String::new();
    let _ = writeln!(
        s,
        "SELECT 'open' AS `status`, `container_id`, `product_id`, {} AS `fault`, {} AS `severity`, {} AS `rule`,",
        literal(&rule.fault),
        literal(rule.severity.name()),
        literal(&rule.name)
    );
    let _ = writeln!(s, "  {} AS `since`,", event_time("`since_time`"));
    let _ = writeln!(s, "  {} AS `detected_at`,", event_time("`detected_time`"));
    let _ = writeln!(s, "  {message} AS `message`");
    let _ = writeln!(s, "FROM (");
    let _ = writeln!(
        s,
        "  SELECT `container_id`, `product_id`, {ROWTIME}, `hit`,"
    );
    let _ = writeln!(
        s,
        "    LAG(`hit`) OVER (PARTITION BY `container_id` ORDER BY {ROWTIME}) AS `was_hit`"
    );
    let _ = writeln!(s, "  FROM (");
    let _ = writeln!(s, "    SELECT `container_id`, `product_id`, {ROWTIME},");
    let _ = writeln!(s, "      {hit} AS `hit`");
    let _ = writeln!(s, "    FROM reefer_readings");
    let complete: Vec<String> = REQUIRED
        .iter()
        .map(|f| format!("{} IS NOT NULL", ident(f)))
        .collect();
    let _ = writeln!(
        s,
        "    WHERE {} AND `kilowatts` >= 0",
        complete.join(" AND ")
    );
    let _ = writeln!(s, "  )");
    let _ = writeln!(s, "  WHERE `hit` IS NOT NULL");
    let _ = writeln!(s, ")");
    let _ = writeln!(s, "MATCH_RECOGNIZE (");
    let _ = writeln!(s, "  PARTITION BY `container_id`");
    let _ = writeln!(s, "  ORDER BY {ROWTIME}");
    let _ = writeln!(s, "  MEASURES");
    let _ = writeln!(s, "    LAST({last}.`product_id`) AS `product_id`,");
    let _ = writeln!(s, "    FIRST(S.{ROWTIME}) AS `since_time`,");
    let _ = writeln!(s, "    LAST({last}.{ROWTIME}) AS `detected_time`");
    let _ = writeln!(s, "  ONE ROW PER MATCH");
    let _ = writeln!(s, "  AFTER MATCH SKIP PAST LAST ROW");
    let _ = writeln!(s, "  PATTERN {pattern}");
    let _ = writeln!(s, "  DEFINE");
    let _ = writeln!(
        s,
        "    S AS S.`hit` AND (S.`was_hit` IS NULL OR NOT S.`was_hit`){more}"
    );
    let _ = write!(s, ")");
    s
}

/// The threshold rules of a rules file as one Flink SQL job writing the
/// `open` event of each episode to a Kinesis stream; the detectors it cannot
/// express are named in comments, with why.
pub fn flink_rules(rules_file: &str, slots: &[Slot], opts: &FlinkOptions) -> String {
    let (rules, skipped) = exportable(slots);
    let mut s = String::new();
    for l in [
        format!(
            "Flink SQL equivalent of the threshold rules of reefer-detect --rules {}, for Flink {}.",
            literal(rules_file),
            opts.flink_version
        ),
        "Writes the open event of each episode (a run of a container's readings, in event".into(),
        "time, on which the rule holds for its duration) to the reefer-events stream, with".into(),
        "the container, product, fault, severity, rule, since and detected_at reefer-detect".into(),
        "writes. Reads raw readings (not reefer-window rows); a reading without a field its".into(),
        "rule compares neither starts nor ends a run, as in reefer-detect, and readings".into(),
        "reefer-detect rejects (a required field missing) are dropped. Resolved events".into(),
        "are not exported. measurement_time must be UTC: 'Z', '+00:00' or no zone.".into(),
        format!(
            "Readings more than {} behind the newest are dropped as late (the WATERMARK).",
            crate::time::Span::from_millis(RULES_LATENESS_MS)
        ),
        "Replace the stream ARNs or names and the region.".into(),
    ] {
        let _ = writeln!(s, "-- {l}");
    }
    for r in &rules {
        let _ = writeln!(
            s,
            "-- exported: {} ({} held {})",
            r.rule.name,
            r.rule.when_text,
            crate::time::Span::from_millis(r.for_ms)
        );
    }
    for (name, why) in &skipped {
        let _ = writeln!(s, "-- not exportable: {name}, because {why}.");
    }
    let _ = writeln!(s);
    if rules.is_empty() {
        let _ = writeln!(s, "-- No threshold rule to export: no job.");
        return s;
    }
    readings_table(&mut s, &rules, opts);
    let cols = [
        "status",
        "container_id",
        "product_id",
        "fault",
        "severity",
        "rule",
        "since",
        "detected_at",
        "message",
    ]
    .map(|c| format!("  {} STRING", ident(c)));
    let _ = writeln!(
        s,
        "CREATE TABLE reefer_fault_events (\n{}\n) PARTITIONED BY (`container_id`) WITH (",
        cols.join(",\n")
    );
    kinesis_options(&mut s, "reefer-events", false, opts);
    let _ = writeln!(s, "  'format' = 'json'");
    let _ = writeln!(s, ");");
    let _ = writeln!(s);
    let queries: Vec<String> = rules.iter().map(rule_query).collect();
    let _ = writeln!(
        s,
        "INSERT INTO reefer_fault_events\n{};",
        queries.join("\nUNION ALL\n")
    );
    s
}

/// The telemetry table: the identity columns, the fields the rules read and
/// the event time with its watermark.
fn readings_table(s: &mut String, rules: &[ExportRule<'_>], opts: &FlinkOptions) {
    let mut cols: Vec<String> = REQUIRED.iter().map(|f| f.to_string()).collect();
    for r in rules {
        for c in r.rule.when.fields() {
            let mut names = vec![c.field.clone()];
            if c.field == "ambient_temperature" {
                names.push("ambiant_temperature".into());
            }
            for n in names {
                if !cols.contains(&n) {
                    cols.push(n);
                }
            }
        }
    }
    let mut lines: Vec<String> = cols
        .iter()
        .map(|c| format!("  {} {}", ident(c), sql_type(kind(c))))
        .collect();
    lines.push("  `measurement_time` STRING".into());
    lines.push(format!(
        "  {ROWTIME} AS TO_TIMESTAMP(REPLACE(REPLACE(REPLACE(`measurement_time`, 'T', ' '), 'Z', ''), '+00:00', ''))"
    ));
    lines.push(format!(
        "  WATERMARK FOR {ROWTIME} AS {ROWTIME} - {}",
        interval(RULES_LATENESS_MS)
    ));
    let _ = writeln!(
        s,
        "CREATE TABLE reefer_readings (\n{}\n) WITH (",
        lines.join(",\n")
    );
    kinesis_options(s, "reefer-telemetry", true, opts);
    let _ = writeln!(s, "  'format' = 'json',");
    let _ = writeln!(s, "  'json.ignore-parse-errors' = 'false'");
    let _ = writeln!(s, ");");
    let _ = writeln!(s);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sql_of(s: &str) -> String {
        condition(&Expr::parse(s).unwrap())
    }

    #[test]
    fn the_faulty_reefers_filter_is_one_comparison() {
        assert_eq!(sql_of("temperature > 18"), "`temperature` > 18E0");
        let job = flink_where(
            &Expr::parse("temperature > 18").unwrap(),
            "temperature > 18",
            &FlinkOptions::default(),
        );
        assert!(job.contains("WHERE `temperature` > 18E0;"), "{job}");
        assert!(job.contains("  `door_open` BOOLEAN,"), "{job}");
        assert!(job.contains("  `measurement_time` STRING,"), "{job}");
        assert!(job.contains("stream/faulty-reefers'"), "{job}");
    }

    #[test]
    fn not_equal_also_matches_null_as_where_does() {
        assert_eq!(
            sql_of("product_id != P04"),
            "(`product_id` IS NULL OR `product_id` <> 'P04')"
        );
        assert_eq!(sql_of("fault == null"), "`fault` IS NULL");
        assert_eq!(sql_of("fault != null"), "`fault` IS NOT NULL");
    }

    #[test]
    fn and_binds_tighter_than_or() {
        assert_eq!(
            sql_of("temperature > -18.5 and door_open == true or product_id = 'P06'"),
            "(`temperature` > -18.5E0 AND `door_open` = TRUE) OR `product_id` = 'P06'"
        );
    }

    fn rule_sql(s: &str) -> String {
        rule_condition(&Expr::parse(s).unwrap())
    }

    #[test]
    fn a_rule_condition_is_null_where_reefer_detect_holds() {
        assert_eq!(
            rule_sql("temperature > 8"),
            "CASE WHEN `temperature` IS NULL THEN CAST(NULL AS BOOLEAN) \
             WHEN NOT (`temperature` > 8E0) THEN FALSE ELSE TRUE END"
        );
        // An absent first field holds the group even if the second is false.
        assert_eq!(
            rule_sql("door_open == true and kilowatts > 1 or fan_1 == false"),
            "(CASE WHEN `door_open` IS NULL THEN CAST(NULL AS BOOLEAN) \
             WHEN NOT (CASE WHEN `door_open` THEN 1E0 ELSE 0E0 END = 1E0) THEN FALSE \
             WHEN `kilowatts` IS NULL THEN CAST(NULL AS BOOLEAN) \
             WHEN NOT (`kilowatts` > 1E0) THEN FALSE ELSE TRUE END) OR \
             (CASE WHEN `fan_1` IS NULL THEN CAST(NULL AS BOOLEAN) \
             WHEN NOT (CASE WHEN `fan_1` THEN 1E0 ELSE 0E0 END = 0E0) THEN FALSE ELSE TRUE END)"
        );
        assert!(rule_sql("ambient_temperature > 30")
            .contains("COALESCE(`ambient_temperature`, `ambiant_temperature`) > 30E0"));
    }

    #[test]
    fn mismatched_types_compare_as_where_does() {
        assert_eq!(sql_of("door_open == 1"), "FALSE");
        assert_eq!(sql_of("door_open != 1"), "TRUE");
        assert_eq!(
            sql_of("container_id > 5"),
            "TRY_CAST(`container_id` AS DOUBLE) > 5E0"
        );
    }
}
