//! Records on the wire (SPEC §1): JSON Lines and CSV readers that yield line
//! numbers, buffered writers that still flush promptly in live pipes, and the
//! bad-input policy every tool shares.

mod input;
mod output;
mod reject;

pub use input::{csv_value, parse_json_object as parse_json_object_str, Input, Rec};
pub use output::Output;
pub use reject::{BadInput, Rejects};

use clap::ValueEnum;

/// The two wire formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One JSON object per line.
    Jsonl,
    /// Comma-separated values with a header row.
    Csv,
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
