//! The shared field scanner never panics, and its fast path agrees with the
//! full serde_json parse of the same line (`scan_map`) on accept/reject and
//! on every value: on a line alone, on the same line again (with the schema
//! it learnt), and on the second of two lines (split at the input's first
//! newline), read with the key order and compact template of the first.
#![no_main]

use libfuzzer_sys::fuzz_target;
use reefer::codec::scan::{Fields, Kind, Scanner};

fuzz_target!(|line: &[u8]| {
    let mut fields = Fields::new(Default::default());
    let slots = [
        fields.add("measurement_time", Kind::Time),
        fields.add("container_id", Kind::Str),
        fields.add("temperature", Kind::Num),
        fields.add("fan_1", Kind::Bool),
        fields.add("operating_mode", Kind::Any),
        fields.add("product_id", Kind::Json),
    ];
    let fields = std::sync::Arc::new(fields);
    let mut fast = Scanner::new(fields.clone());
    let mut full = Scanner::new(fields);
    // Twice: the second scan runs on the schema learnt from the first.
    let first = fast.scan(line).map(|r| slots.map(|s| format!("{:?}", r.get(s))));
    let second = fast.scan(line).map(|r| slots.map(|s| format!("{:?}", r.get(s))));
    assert_eq!(first, second, "the learnt schema changed the result");
    agree_with_serde(&mut full, &slots, line, &first);
    // Two lines: the second read after the first taught the scanner its keys.
    if let Some(nl) = line.iter().position(|&c| c == b'\n') {
        let (a, b) = (&line[..nl], &line[nl + 1..]);
        let mut learnt = Scanner::new(full.fields().clone().into());
        let _ = learnt.scan(a);
        let after = learnt.scan(b).map(|r| slots.map(|s| format!("{:?}", r.get(s))));
        agree_with_serde(&mut full, &slots, b, &after);
    }
});

type Got = Result<[String; 6], String>;

/// `got` (the scanner's reading of `line`) is what the full parse gives.
fn agree_with_serde(full: &mut Scanner, slots: &[reefer::codec::scan::Slot; 6], line: &[u8], got: &Got) {
    match serde_json::from_slice::<serde_json::Value>(line) {
        Ok(serde_json::Value::Object(map)) => {
            let by_map = full.scan_map(&map).map(|r| slots.map(|s| format!("{:?}", r.get(s))));
            assert_eq!(got.is_ok(), by_map.is_ok(), "{got:?} vs {by_map:?}");
            if let (Ok(a), Ok(b)) = (got, &by_map) {
                assert_eq!(a, b);
            }
        }
        _ => assert!(got.is_err(), "a line serde_json rejects was accepted"),
    }
}
