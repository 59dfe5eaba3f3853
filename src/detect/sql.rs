//! `reefer-detect --where CONDITION --print-sql flink`: the `--where` filter
//! (the reference design's faulty-reefers stream) as a Flink SQL job that
//! passes the same readings from the telemetry stream to a Kinesis stream.
//!
//! The condition keeps `--where`'s rule for missing and null fields: they
//! match no comparison except `!= VALUE` and `== null`, where SQL's `<>`
//! would give NULL (no match). Checked against a real Flink by
//! tests/cli/flink.rs.

use super::filter::{Cond, Expr, Lit, Op};
use crate::record::FIELDS;
use crate::window::agg::BOOL_FIELDS;
use crate::window::sql::{ident, kinesis_options, literal, FlinkOptions};
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
