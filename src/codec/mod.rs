//! Records on the wire (contract §1): JSON Lines and CSV readers that yield line
//! numbers, buffered writers that still flush promptly in live pipes, and the
//! bad-input policy every tool shares.

mod input;
pub mod ordered;
mod output;
mod reject;
pub mod scan;
mod source;

pub use input::{csv_value, parse_json_object as parse_json_object_str, Bad, Input, Rec};
pub use output::Output;
pub use reject::{BadInput, Rejects};
pub use source::{trim_ending, Chunk, Line, Lines, Source, CHUNK};

use clap::ValueEnum;

/// The two wire formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One JSON object per line.
    Jsonl,
    /// Comma-separated values with a header row.
    Csv,
}

/// Column names besides the reading's ([`crate::record::FIELDS`]) that make a
/// first line a CSV header: IBM's spelling, a window row's (contract §4) and a
/// fault event's (§5).
pub const HEADER_FIELDS: [&str; 10] = [
    "ambiant_temperature",
    "window_start",
    "window_end",
    "count",
    "severity",
    "rule",
    "detected_at",
    "since",
    "status",
    "message",
];

impl Format {
    /// The one rule for telling formats apart, given the start of an input
    /// (its BOM already skipped): JSON Lines, unless the first non-blank line
    /// is a CSV header naming at least one known field (a reading's, or one of
    /// [`HEADER_FIELDS`]).
    /// Anything else on the first line (`garbage`, `[1]`, a truncated record)
    /// is a bad JSON line like any other, never a header.
    pub fn detect(start: &[u8]) -> Format {
        let first = start
            .split(|&b| b == b'\n')
            .map(source::trim_ending)
            .find(|l| !l.iter().all(u8::is_ascii_whitespace));
        let Some(first) = first else {
            return Format::Jsonl;
        };
        if first.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
            return Format::Jsonl;
        }
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(first);
        let mut record = csv::ByteRecord::new();
        let known = matches!(reader.read_byte_record(&mut record), Ok(true))
            && record.iter().any(|f| {
                std::str::from_utf8(f).is_ok_and(|f| {
                    let f = f.trim();
                    crate::record::FIELDS.contains(&f) || HEADER_FIELDS.contains(&f)
                })
            });
        if known {
            Format::Csv
        } else {
            Format::Jsonl
        }
    }
}

/// A format as given on the command line, where `auto` infers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum FormatChoice {
    /// From the file name (`.csv`), else by looking at the first byte of input.
    #[default]
    Auto,
    Jsonl,
    Csv,
}

impl FormatChoice {
    /// The format for a named file, or `None` when it must be sniffed from content.
    pub fn for_path(self, path: &str) -> Option<Format> {
        match self {
            FormatChoice::Jsonl => Some(Format::Jsonl),
            FormatChoice::Csv => Some(Format::Csv),
            FormatChoice::Auto => {
                let lower = path.to_ascii_lowercase();
                if lower.ends_with(".csv") {
                    Some(Format::Csv)
                } else if lower.ends_with(".jsonl")
                    || lower.ends_with(".ndjson")
                    || lower.ends_with(".json")
                {
                    Some(Format::Jsonl)
                } else {
                    None
                }
            }
        }
    }
}
