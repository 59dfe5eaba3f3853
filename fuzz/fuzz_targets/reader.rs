//! The one reader (format detection, line splitting, CSV rows) never panics
//! on arbitrary bytes, numbers lines in order, and hands back each bad line's
//! raw bytes as a piece of the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use reefer::codec::{FormatChoice, Input};

fuzz_target!(|data: &[u8]| {
    let lines = data.split(|&b| b == b'\n').count() as u64;
    for choice in [FormatChoice::Auto, FormatChoice::Csv] {
        let Ok(mut input) = Input::from_reader("fuzz", Box::new(std::io::Cursor::new(data.to_vec())), choice)
        else {
            continue;
        };
        let mut last = 0u64;
        while let Ok(Some(item)) = input.next_rec() {
            let (line, raw) = match &item {
                Ok(rec) => (rec.line, rec.raw),
                Err(bad) => (bad.line, bad.raw),
            };
            assert!(line > last && line <= lines, "line {line} after {last} of {lines}");
            assert!(
                data.windows(raw.len().max(1)).any(|w| w == raw) || raw.is_empty(),
                "raw bytes not from the input"
            );
            last = line;
        }
    }
});
