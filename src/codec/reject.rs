use crate::app::ToolError;
use clap::ValueEnum;
use std::fs::File;
use std::io::{self, BufWriter, Write};

/// What to do with a line that cannot be read (`--on-bad-input`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum BadInput {
    /// Report it on stderr with its line number, count it, go on.
    #[default]
    Skip,
    /// Report it and stop (exit 1).
    Fail,
}

/// Reports, counts and keeps rejected input lines (contract §7).
///
/// Each rejected line is reported as `tool: input:line: message` on stderr and,
/// with `--dead-letter FILE`, its raw text is appended to that file so that it
/// can be fixed and fed again.
pub struct Rejects {
    tool: &'static str,
    policy: BadInput,
    dead_letter: Option<BufWriter<File>>,
    dead_letter_path: Option<String>,
    count: u64,
    max_reports: u64,
}

impl Rejects {
    pub fn new(
        tool: &'static str,
        policy: BadInput,
        dead_letter: Option<&str>,
    ) -> io::Result<Self> {
        let dead_letter_arg = dead_letter;
        let dead_letter = match dead_letter {
            Some(p) => Some(BufWriter::new(File::create(p).map_err(|e| {
                io::Error::new(e.kind(), format!("cannot create dead-letter file {p}: {e}"))
            })?)),
            None => None,
        };
        Ok(Rejects {
            tool,
            policy,
            dead_letter,
            dead_letter_path: dead_letter_arg.map(str::to_string),
            count: 0,
            max_reports: 100,
        })
    }

    /// Rejects one line: `raw` is its bytes as read, line ending included,
    /// which the dead-letter file keeps as they are (a last line without an
    /// ending gets a `\n`). Returns an error when the policy is to stop.
    pub fn reject(&mut self, input: &str, line: u64, raw: &[u8], why: &str) -> anyhow::Result<()> {
        self.count += 1;
        if self.count <= self.max_reports {
            crate::app::warn(format_args!("{}: {input}:{line}: {why}", self.tool));
        } else if self.count == self.max_reports + 1 {
            crate::app::warn(format_args!(
                "{}: more bad lines follow; only the count is reported from here on",
                self.tool
            ));
        }
        if let Some(dl) = &mut self.dead_letter {
            dl.write_all(raw)?;
            if raw.last() != Some(&b'\n') {
                dl.write_all(b"\n")?;
            }
        }
        if self.policy == BadInput::Fail {
            self.flush()?;
            return Err(ToolError::StoppedOnBadInput(format!(
                "stopped at {input}:{line} (--on-bad-input fail)"
            ))
            .into());
        }
        Ok(())
    }

    /// The `--dead-letter` file, when there is one (the summary line names it).
    pub fn kept_in(&self) -> Option<&str> {
        self.dead_letter_path.as_deref()
    }

    /// Appends one line to the dead-letter file, when there is one (for records
    /// that were read but could not be delivered).
    pub fn keep(&mut self, line: &str) -> io::Result<()> {
        if let Some(dl) = &mut self.dead_letter {
            dl.write_all(line.as_bytes())?;
            dl.write_all(b"\n")?;
            dl.flush()?;
        }
        Ok(())
    }

    pub fn has_dead_letter(&self) -> bool {
        self.dead_letter.is_some()
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    pub fn flush(&mut self) -> io::Result<()> {
        if let Some(dl) = &mut self.dead_letter {
            dl.flush()?;
        }
        Ok(())
    }
}
