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

    /// Like [`TimeParser::parse`], in epoch milliseconds: the hand-written
    /// [`parse_time_ms`] first (unless a `--time-format` pattern takes
    /// precedence), chrono only for what it leaves.
    #[inline]
    pub fn parse_ms(&self, s: &str) -> Result<i64, TimeError> {
        if self.pattern.is_none() {
            if let Some(ms) = parse_time_ms(s.as_bytes()) {
                return Ok(ms);
            }
        }
        self.parse(s).map(|t| t.timestamp_millis())
    }

    /// Whether a `--time-format` pattern was given.
    pub fn has_pattern(&self) -> bool {
        self.pattern.is_some()
    }
}

/// A time given on the command line (`--start`, `--since`, `--until`): what
/// [`parse_time`] reads, and a bare date `YYYY-MM-DD` as its midnight UTC.
pub fn parse_flag_time(s: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(d) = chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d") {
        if let Some(t) = d.and_hms_opt(0, 0, 0) {
            return Ok(t.and_utc());
        }
    }
    parse_time(s).map_err(|e| format!("{e} (or a date, YYYY-MM-DD, for its midnight UTC)"))
}

/// Parses RFC 3339 (any offset, fractional seconds) or `YYYY-MM-DD HH:MM:SS` as UTC.
pub fn parse_time(s: &str) -> Result<DateTime<Utc>, TimeError> {
    let s = s.trim();
    if let Some(t) = parse_time_ms(s.as_bytes()).and_then(DateTime::from_timestamp_millis) {
        return Ok(t);
    }
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

/// The one hand-written time reader, for the hot path of every tool:
/// `YYYY-MM-DD(T| )HH:MM:SS[.f{1,9}][Z|z|±HH:MM]` to epoch milliseconds (no
/// offset means UTC; the fraction is truncated to ms, as chrono's
/// `timestamp_millis`). `None` means "not this common shape" (leap seconds,
/// other offsets, surrounding blanks): [`parse_time`] then asks chrono, so a
/// `Some` here is always what chrono would say.
#[inline]
pub fn parse_time_ms(s: &[u8]) -> Option<i64> {
    if s.len() < 19
        || s[4] != b'-'
        || s[7] != b'-'
        || !matches!(s[10], b'T' | b' ')
        || s[13] != b':'
        || s[16] != b':'
    {
        return None;
    }
    let (y, mo, d) = (digits(&s[0..4])?, digits(&s[5..7])?, digits(&s[8..10])?);
    let (h, mi, sec) = (
        digits(&s[11..13])?,
        digits(&s[14..16])?,
        digits(&s[17..19])?,
    );
    if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 59
    {
        return None;
    }
    let mut i = 19;
    let mut ms = 0i64;
    if s.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while i < s.len() && s[i].is_ascii_digit() {
            if i - start < 3 {
                ms = ms * 10 + i64::from(s[i] - b'0');
            }
            i += 1;
        }
        let n = i - start;
        if n == 0 || n > 9 {
            return None;
        }
        for _ in n..3 {
            ms *= 10;
        }
    }
    let offset_min = match &s[i..] {
        [] | [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let (oh, om) = (digits(&[*h1, *h2])?, digits(&[*m1, *m2])?);
            if oh > 23 || om > 59 {
                return None;
            }
            if *sign == b'-' {
                -(oh * 60 + om)
            } else {
                oh * 60 + om
            }
        }
        _ => return None,
    };
    let days = days_from_civil(y, mo, d);
    Some(((days * 86_400 + h * 3600 + mi * 60 + sec) - offset_min * 60) * 1000 + ms)
}

#[inline]
fn digits(s: &[u8]) -> Option<i64> {
    let mut v = 0i64;
    for &c in s {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + i64::from(c - b'0');
    }
    Some(v)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// The last instant every tool can write and read back: 9999-12-31T23:59:59.999Z.
pub const MAX_MILLIS: i64 = 253_402_300_799_999;

/// The first instant every tool can write and read back: 0000-01-01T00:00:00Z.
pub const MIN_MILLIS: i64 = -62_167_219_200_000;

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

/// The longest duration accepted: about 10,000 years, the whole range of
/// times the tools write (0000-01-01 to 9999-12-31); anything longer is
/// overflow, never silently clamped.
pub const MAX_SPAN_DAYS: i64 = 3_652_500;
pub const MAX_SPAN_MS: i64 = MAX_SPAN_DAYS * 86_400_000;

/// Parses a duration such as `500ms`, `10s`, `1m`, `2h`, `7d` or `1h30m`.
pub fn parse_span(s: &str) -> Result<Span, String> {
    let text = s.trim();
    if text.is_empty() {
        return Err("empty duration (expected e.g. 500ms, 10s, 1m, 2h, 7d)".into());
    }
    let too_long = || {
        format!("duration {s:?} is too long (at most {MAX_SPAN_DAYS} days, the range of times every tool can read)")
    };
    if let Ok(secs) = text.parse::<f64>() {
        if secs.is_finite() && secs >= 0.0 {
            let ms = (secs * 1000.0).round();
            if ms > MAX_SPAN_MS as f64 {
                return Err(too_long());
            }
            return Ok(Span::from_millis(ms as i64));
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
        let ms = (value * ms_per).round();
        if ms > MAX_SPAN_MS as f64 {
            return Err(too_long());
        }
        total = total.checked_add(ms as i64).ok_or_else(too_long)?;
        if total > MAX_SPAN_MS {
            return Err(too_long());
        }
    }
    Ok(Span::from_millis(total))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_hand_written_parser_matches_chrono() {
        for s in [
            "2026-11-27T03:00:00Z",
            "2026-11-27T03:00:00.5Z",
            "2026-11-27T03:00:00.123456Z",
            "2024-02-29T23:59:59-05:30",
            "1969-12-31T23:59:59.999Z",
            "2000-01-01T00:00:00+14:00",
            "2026-11-27 03:00:00",
            "2026-11-27T03:00:00",
            "2026-11-27 03:00:00.250+01:00",
            "0000-01-01T00:00:00Z",
            "9999-12-31T23:59:59.999Z",
        ] {
            let chrono = parse_time(s).unwrap().timestamp_millis();
            assert_eq!(parse_time_ms(s.as_bytes()), Some(chrono), "{s}");
        }
        for s in [
            "2026-13-01T00:00:00Z",
            "2025-02-29T00:00:00Z",
            "2026-11-27T03:00:60Z",
            "2026-11-27T03:00:00.Z",
            "2026-11-27T03:00:00+0100",
            " 2026-11-27T03:00:00Z",
        ] {
            assert_eq!(parse_time_ms(s.as_bytes()), None, "{s}");
        }
        assert_eq!(parse_time_ms(b"9999-12-31T23:59:59.999Z"), Some(MAX_MILLIS));
        assert_eq!(parse_time_ms(b"0000-01-01T00:00:00Z"), Some(MIN_MILLIS));
    }

    #[test]
    fn durations_too_long_for_any_time_are_errors() {
        for s in [
            "99999999999d",
            "99999999999999999999",
            "3652501d",
            "1e300",
            "3652500d1ms",
        ] {
            let e = parse_span(s).unwrap_err();
            assert!(e.contains("too long"), "{s}: {e}");
        }
        assert_eq!(parse_span("3652500d").unwrap().millis, MAX_SPAN_MS);
    }

    proptest! {
        #[test]
        fn the_hand_written_parser_agrees_with_chrono_everywhere(secs in -62_000_000_000i64..253_000_000_000, ms in 0i64..1000, off in -1439i64..1439, space in any::<bool>()) {
            let t = chrono::DateTime::from_timestamp_millis(secs * 1000 + ms).unwrap();
            let tz = chrono::FixedOffset::east_opt((off * 60) as i32).unwrap();
            let mut s = t.with_timezone(&tz).to_rfc3339_opts(SecondsFormat::Millis, false);
            if space {
                s = s.replacen('T', " ", 1);
            }
            if s.len() >= 19 && s.as_bytes()[4] == b'-' {
                prop_assert_eq!(parse_time_ms(s.as_bytes()), Some(secs * 1000 + ms), "{}", s);
            }
        }

        #[test]
        fn the_hand_written_parser_never_disagrees_with_chrono(s in "[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{0,10})?(Z|[+-][0-9]{2}:[0-9]{2})?") {
            if let Some(ms) = parse_time_ms(s.as_bytes()) {
                let chrono = chrono_only(&s);
                prop_assert_eq!(Some(ms), chrono, "{}", s);
            }
        }
    }

    /// parse_time without the hand-written shortcut.
    fn chrono_only(s: &str) -> Option<i64> {
        if let Ok(t) = DateTime::parse_from_rfc3339(s) {
            return Some(t.timestamp_millis());
        }
        for layout in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"] {
            if let Ok(t) = NaiveDateTime::parse_from_str(s, layout) {
                return Some(t.and_utc().timestamp_millis());
            }
        }
        DateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f%:z")
            .ok()
            .map(|t| t.timestamp_millis())
    }

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

    #[test]
    fn a_date_on_the_command_line_is_its_midnight_utc() {
        let t = parse_flag_time("2026-11-27").unwrap();
        assert_eq!(format_time(t), "2026-11-27T00:00:00Z");
        assert_eq!(
            parse_flag_time("2026-11-27T03:00:00+01:00").unwrap(),
            parse_time("2026-11-27T02:00:00Z").unwrap()
        );
        assert!(parse_flag_time("2026-13-01")
            .unwrap_err()
            .contains("YYYY-MM-DD"));
    }
}
