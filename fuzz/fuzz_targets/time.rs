//! The one hand-written time parser never panics, agrees with chrono's RFC 3339
//! parser wherever both accept a string, and every time it accepts can be
//! written and read back.
#![no_main]

use libfuzzer_sys::fuzz_target;
use reefer::time::{format_millis, parse_time_ms, TimeParser, MAX_MILLIS};

fuzz_target!(|data: &[u8]| {
    let fast = parse_time_ms(data);
    if let (Some(ms), Ok(s)) = (fast, std::str::from_utf8(data)) {
        if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
            assert_eq!(ms, t.timestamp_millis(), "{s}");
        }
        if (0..=MAX_MILLIS).contains(&ms) {
            let written = format_millis(ms);
            assert_eq!(TimeParser::default().parse_ms(&written).ok(), Some(ms), "{written}");
        }
    }
});
