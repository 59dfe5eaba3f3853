//! The shared entry point: exit codes (contract §7), quiet exit on a closed stdout,
//! `tool: message` on stderr, Ctrl-C handling.

use std::io;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

/// Exit statuses every reefer tool uses (contract §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Every record processed or delivered.
    Ok,
    /// Finished, but some input lines were rejected or some records not delivered.
    Partial,
    /// Usage or configuration error; nothing processed.
    Usage,
    /// Fatal runtime error (I/O, unreachable endpoint after retries).
    Fatal,
    /// Interrupted (Ctrl-C), after flushing what was held.
    Interrupted,
    /// Another run holds the state file's lock; nothing was read (sysexits'
    /// EX_TEMPFAIL: try again later).
    Busy,
}

impl Exit {
    pub fn code(self) -> u8 {
        match self {
            Exit::Ok => 0,
            Exit::Partial => 1,
            Exit::Usage => 2,
            Exit::Fatal => 3,
            Exit::Interrupted => 130,
            Exit::Busy => 75,
        }
    }

    /// `Partial` when anything was rejected, `Ok` otherwise.
    pub fn from_rejected(rejected: u64) -> Exit {
        if rejected > 0 {
            Exit::Partial
        } else {
            Exit::Ok
        }
    }

    /// The worse of two outcomes.
    pub fn max(self, other: Exit) -> Exit {
        fn rank(e: Exit) -> u8 {
            match e {
                Exit::Ok => 0,
                Exit::Partial => 1,
                Exit::Interrupted => 2,
                Exit::Busy => 3,
                Exit::Usage => 4,
                Exit::Fatal => 5,
            }
        }
        if rank(other) > rank(self) {
            other
        } else {
            self
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e.code())
    }
}

/// The errors that decide a tool's exit status themselves (contract §7). Any
/// other error that ends a run is fatal (exit 3).
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    /// A usage or configuration problem found after argument parsing (exit 2).
    #[error("{0}")]
    Usage(String),
    /// `--on-bad-input fail` stopped at a bad line (exit 1).
    #[error("{0}")]
    StoppedOnBadInput(String),
    /// Another run holds the lock of a state file (exit 75).
    #[error("{0}")]
    Busy(String),
}

impl ToolError {
    pub fn exit(&self) -> Exit {
        match self {
            ToolError::Usage(_) => Exit::Usage,
            ToolError::StoppedOnBadInput(_) => Exit::Partial,
            ToolError::Busy(_) => Exit::Busy,
        }
    }
}

/// The exit status an error asks for, when it is (or wraps) a [`ToolError`].
pub fn exit_of(err: &anyhow::Error) -> Option<Exit> {
    err.downcast_ref::<ToolError>().map(ToolError::exit)
}

/// Shorthand for a usage error wrapped in `anyhow`.
pub fn usage(msg: impl Into<String>) -> anyhow::Error {
    ToolError::Usage(msg.into()).into()
}

/// True when any error in the chain is a broken pipe: the reader went away (`| head`).
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// The outcome of a tool's reading and writing stage, with a closed stdout
/// (`| head`: the reader went away) as a normal stop: `Ok(true)`. The tool then
/// ends quietly (no summary line) with exit 0, keeps no state it would have
/// saved (what it wrote last may not have been read), and still writes
/// `--stats-json` with what it did, `output_closed` true. Other errors pass.
pub fn output_closed(stage: anyhow::Result<()>) -> anyhow::Result<bool> {
    match stage {
        Ok(()) => Ok(false),
        Err(e) if is_broken_pipe(&e) => Ok(true),
        Err(e) => Err(e),
    }
}

/// Maps the outcome of a tool's `run` to its exit status, printing errors on stderr.
pub fn finish(tool: &str, result: anyhow::Result<Exit>) -> ExitCode {
    match result {
        Ok(code) => code.into(),
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            let code = exit_of(&err).unwrap_or(Exit::Fatal);
            let mut msg = err.to_string();
            for cause in err.chain().skip(1) {
                msg.push_str(": ");
                msg.push_str(&cause.to_string());
            }
            warn(format_args!("{tool}: {msg}"));
            code.into()
        }
    }
}

/// Writes one message line to stderr. A closed or failing stderr is ignored:
/// messages are a courtesy, and losing them must never change the exit code
/// (`eprintln!` would panic and exit 101).
pub fn warn(msg: std::fmt::Arguments<'_>) {
    use std::io::Write as _;
    let mut err = io::stderr().lock();
    let _ = err.write_fmt(msg);
    let _ = err.write_all(b"\n");
}

/// `eprintln!` that never panics: see [`warn`].
#[macro_export]
macro_rules! warn {
    ($($arg:tt)*) => {
        $crate::app::warn(format_args!($($arg)*))
    };
}

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Installs a Ctrl-C handler that only raises a flag; loops check [`interrupted`],
/// flush what they hold and exit 130.
pub fn catch_interrupt() {
    // A second installation attempt (tests calling twice) is harmless.
    let _ = ctrlc::set_handler(|| {
        if INTERRUPTED.swap(true, Ordering::SeqCst) {
            // Second Ctrl-C: the user means it.
            std::process::exit(130);
        }
    });
}

/// True once Ctrl-C was pressed.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_the_spec() {
        assert_eq!(Exit::Ok.code(), 0);
        assert_eq!(Exit::Partial.code(), 1);
        assert_eq!(Exit::Usage.code(), 2);
        assert_eq!(Exit::Fatal.code(), 3);
        assert_eq!(Exit::Interrupted.code(), 130);
        assert_eq!(Exit::Ok.max(Exit::Partial), Exit::Partial);
        assert_eq!(Exit::Fatal.max(Exit::Partial), Exit::Fatal);
        assert_eq!(Exit::from_rejected(0), Exit::Ok);
        assert_eq!(Exit::from_rejected(2), Exit::Partial);
    }

    #[test]
    fn tool_errors_choose_their_exit_status_through_context() {
        let e = usage("bad flag").context("reading flags");
        assert_eq!(exit_of(&e), Some(Exit::Usage));
        let e = anyhow::Error::new(ToolError::StoppedOnBadInput("x:1".into())).context("run");
        assert_eq!(exit_of(&e), Some(Exit::Partial));
        assert_eq!(exit_of(&anyhow::anyhow!("disk on fire")), None);
    }

    #[test]
    fn broken_pipe_is_found_anywhere_in_the_chain() {
        let e = anyhow::Error::new(io::Error::from(io::ErrorKind::BrokenPipe)).context("writing");
        assert!(is_broken_pipe(&e));
        let e = anyhow::anyhow!("other");
        assert!(!is_broken_pipe(&e));
    }
}
