//! The shared field scanner never panics, and its fast path agrees with the
//! full serde_json parse of the same line (`scan_map`) on accept/reject and
//! on every value.
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
    let parsed = serde_json::from_slice::<serde_json::Value>(line);
    match parsed {
        Ok(serde_json::Value::Object(map)) => {
            let by_map = full.scan_map(&map).map(|r| slots.map(|s| format!("{:?}", r.get(s))));
            assert_eq!(first.is_ok(), by_map.is_ok(), "{first:?} vs {by_map:?}");
            if let (Ok(a), Ok(b)) = (&first, &by_map) {
                assert_eq!(a, b);
            }
        }
        _ => assert!(first.is_err(), "a line serde_json rejects was accepted"),
    }
});
