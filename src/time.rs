//! Event times and durations: RFC 3339 in (any offset), UTC `Z` out.

use chrono::{DateTime, NaiveDateTime, SecondsFormat, TimeZone, Utc};
use std::fmt;

/// How input timestamps are read.
///
/// RFC 3339 with any offset is always accepted, and so is the zone-less
/// `YYYY-MM-DD HH:MM:SS[.fff]` layout (taken as UTC). A `--time-format`
/// strftime pattern adds one more layout, for exports such as IBM's that
/// write local times without a zone; those are taken as UTC too.
#[derive(Debug, Clone, Default)]
pub struct TimeParser {
    pattern: Option<String>,
}

impl TimeParser {
    pub fn new(pattern: Option<String>) -> Self {
        TimeParser { pattern }
    }

    pub fn parse(&self, s: &str) -> Result<DateTime<Utc>, TimeError> {
        let s = s.trim();
        if let Some(p) = &self.pattern {
            if let Ok(t) = DateTime::parse_from_str(s, p) {
                return Ok(t.with_timezone(&Utc));
            }
            if let Ok(t) = NaiveDateTime::parse_from_str(s, p) {
                return Ok(Utc.from_utc_datetime(&t));
            }
        }
        parse_time(s)
    }
}

/// Parses RFC 3339 (any offset, fractional seconds) or `YYYY-MM-DD HH:MM:SS` as UTC.
pub fn parse_time(s: &str) -> Result<DateTime<Utc>, TimeError> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    for layout in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, layout) {
            return Ok(Utc.from_utc_datetime(&t));
        }
    }
    // A space instead of `T`, with an offset (`2026-11-27 03:00:00+01:00`).
    if let Ok(t) = DateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f%:z") {
        return Ok(t.with_timezone(&Utc));
    }
    Err(TimeError(s.to_string()))
}

/// Formats as UTC RFC 3339 with `Z`, milliseconds only when they are not zero.
pub fn format_time(t: DateTime<Utc>) -> String {
    if t.timestamp_subsec_millis() == 0 {
        t.to_rfc3339_opts(SecondsFormat::Secs, true)
    } else {
        t.to_rfc3339_opts(SecondsFormat::Millis, true)
    }
}

/// Formats epoch milliseconds like [`format_time`].
pub fn format_millis(ms: i64) -> String {
    format_time(from_millis(ms))
}

/// Epoch milliseconds to a UTC time (saturating at chrono's range).
pub fn from_millis(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeError(pub String);

impl fmt::Display for TimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot read time {:?} (expected RFC 3339 such as 2026-11-27T03:00:00Z, or YYYY-MM-DD HH:MM:SS)",
            self.0
        )
    }
}

impl std::error::Error for TimeError {}

/// A span of time as written on the command line: `500ms`, `10s`, `1m`, `2h`, `7d`,
/// or a sum such as `1h30m`. A bare number is seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span {
    pub millis: i64,
}

impl Span {
    pub const ZERO: Span = Span { millis: 0 };

    pub fn from_millis(millis: i64) -> Self {
        Span { millis }
    }

    pub fn from_secs(secs: i64) -> Self {
        Span {
            millis: secs * 1000,
        }
    }

    pub fn as_secs_f64(self) -> f64 {
        self.millis as f64 / 1000.0
    }

    pub fn to_std(self) -> std::time::Duration {
        std::time::Duration::from_millis(self.millis.max(0) as u64)
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut ms = self.millis;
        if ms == 0 {
            return f.write_str("0s");
        }
        if ms < 0 {
            f.write_str("-")?;
            ms = -ms;
        }
        for (unit, size) in [
            ("d", 86_400_000),
            ("h", 3_600_000),
            ("m", 60_000),
            ("s", 1000),
            ("ms", 1),
        ] {
            if ms >= size {
                write!(f, "{}{}", ms / size, unit)?;
                ms %= size;
            }
        }
        Ok(())
    }
}

impl std::str::FromStr for Span {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_span(s)
    }
}

/// Parses a duration such as `500ms`, `10s`, `1m`, `2h`, `7d` or `1h30m`.
pub fn parse_span(s: &str) -> Result<Span, String> {
    let text = s.trim();
    if text.is_empty() {
        return Err("empty duration (expected e.g. 500ms, 10s, 1m, 2h, 7d)".into());
    }
    if let Ok(secs) = text.parse::<f64>() {
        if secs.is_finite() && secs >= 0.0 {
            return Ok(Span::from_millis((secs * 1000.0).round() as i64));
        }
    }
    let bad = || format!("invalid duration {s:?} (expected e.g. 500ms, 10s, 1m, 2h, 7d, 1h30m)");
    let mut total: i64 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        if num_len == 0 {
            return Err(bad());
        }
        let value: f64 = rest[..num_len].parse().map_err(|_| bad())?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let ms_per = match unit {
            "ms" => 1.0,
            "s" | "sec" | "secs" => 1000.0,
            "m" | "min" | "mins" => 60_000.0,
            "h" | "hr" | "hrs" => 3_600_000.0,
            "d" | "day" | "days" => 86_400_000.0,
            "w" => 7.0 * 86_400_000.0,
            _ => return Err(bad()),
        };
        total = total
            .checked_add((value * ms_per).round() as i64)
            .ok_or_else(bad)?;
    }
    Ok(Span::from_millis(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans() {
        assert_eq!(parse_span("500ms").unwrap().millis, 500);
        assert_eq!(parse_span("10s").unwrap().millis, 10_000);
        assert_eq!(parse_span("1m").unwrap().millis, 60_000);
        assert_eq!(parse_span("2h").unwrap().millis, 7_200_000);
        assert_eq!(parse_span("7d").unwrap().millis, 604_800_000);
        assert_eq!(parse_span("1h30m").unwrap().millis, 5_400_000);
        assert_eq!(parse_span("1.5s").unwrap().millis, 1500);
        assert_eq!(parse_span("30").unwrap().millis, 30_000);
        assert!(parse_span("").is_err());
        assert!(parse_span("10x").is_err());
        assert!(parse_span("m").is_err());
        assert!(parse_span("-5s").is_err());
        assert_eq!(Span::from_millis(5_400_500).to_string(), "1h30m500ms");
    }

    #[test]
    fn times_in_and_out() {
        let t = parse_time("2026-11-27T04:00:00+01:00").unwrap();
        assert_eq!(format_time(t), "2026-11-27T03:00:00Z");
        let t = parse_time("2026-11-27T03:00:00.250Z").unwrap();
        assert_eq!(format_time(t), "2026-11-27T03:00:00.250Z");
        let t = parse_time("2026-11-27 03:00:00").unwrap();
        assert_eq!(format_time(t), "2026-11-27T03:00:00Z");
        assert!(parse_time("yesterday").is_err());
        let p = TimeParser::new(Some("%d/%m/%Y %H:%M".into()));
        assert_eq!(
            format_time(p.parse("27/11/2026 03:05").unwrap()),
            "2026-11-27T03:05:00Z"
        );
    }
}
