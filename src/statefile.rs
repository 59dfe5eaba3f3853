//! State kept between runs (`--state FILE` of reefer-window and reefer-detect):
//! what a tool holds in memory at the end of its input — open windows and the
//! watermark, per-container detector history and open episodes — so that a
//! cron job that runs the tool over each new file gives exactly what one run
//! over all the files would give.
//!
//! The file is binary (postcard): the state holds non-finite floats (NaN for
//! "no value yet", ±inf for running minima) that JSON cannot carry, and a
//! fleet's state is read and written in every run. It starts with a header
//! that names the tool, the format version and the settings the state only
//! makes sense with, so that a foreign, corrupt, outdated or mismatched file
//! is a clear usage error (exit 2), never silently reset.
//!
//! One run at a time: `FILE.lock` beside the state is locked exclusively
//! (flock) for the whole run; a second run waits `--wait` or exits 75 (busy).
//! The state is written to `FILE.tmp`, synced, and renamed over `FILE`, so a
//! crash leaves the old state or the new one, never half of one.

use crate::app::ToolError;
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use std::fs::{File, OpenOptions, TryLockError};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// First bytes of every state file.
const MAGIC: &[u8; 13] = b"reefer-state\n";

/// What a state file says about itself, before the tool's own state.
#[derive(Debug, Serialize, Deserialize)]
struct Header {
    tool: String,
    version: u32,
    /// The settings the state depends on, as the tool describes them
    /// (`--size 1m --lateness 0s ...`): a run with others is refused.
    settings: String,
}

/// An open, locked state file.
pub struct StateFile {
    path: PathBuf,
    tool: &'static str,
    version: u32,
    settings: String,
    /// Held for the life of the run; the lock goes with it.
    _lock: Lock,
}

/// The exclusive lock of a state (`FILE.lock`, flock), held while it lives;
/// the kernel releases it when the process ends, even after `kill -9`.
/// reefer-act locks its SQLite state with it too.
pub struct Lock {
    _file: File,
}

impl Lock {
    /// Locks `FILE.lock` beside `path`, waiting up to `wait` for another run.
    pub fn acquire(path: &str, tool: &str, wait: Option<Duration>) -> Result<Lock, ToolError> {
        let path = PathBuf::from(path);
        let lock_path = sibling(&path, "lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| {
                ToolError::Usage(format!(
                    "--state: cannot open the lock file {}: {e}",
                    lock_path.display()
                ))
            })?;
        let deadline = Instant::now() + wait.unwrap_or_default();
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(Lock { _file: file }),
                Err(TryLockError::WouldBlock) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(TryLockError::WouldBlock) => {
                    let waited = match wait {
                        Some(w) => format!(
                            ", still after waiting {}",
                            crate::time::Span::from_millis(w.as_millis() as i64)
                        ),
                        None => " (--wait DURATION waits for it)".into(),
                    };
                    return Err(ToolError::Busy(format!(
                        "--state {}: another {tool} run holds its lock ({}){waited}; nothing was read",
                        path.display(),
                        lock_path.display(),
                    )));
                }
                Err(TryLockError::Error(e)) => {
                    return Err(ToolError::Usage(format!(
                        "--state: cannot lock {}: {e}",
                        lock_path.display()
                    )))
                }
            }
        }
    }
}

impl StateFile {
    /// Locks `path` for this run, waiting up to `wait` for another run to finish.
    pub fn lock(
        path: &str,
        tool: &'static str,
        version: u32,
        settings: String,
        wait: Option<Duration>,
    ) -> Result<StateFile, ToolError> {
        let lock = Lock::acquire(path, tool, wait)?;
        Ok(StateFile {
            path: PathBuf::from(path),
            tool,
            version,
            settings,
            _lock: lock,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The saved state, or `None` when the file does not exist yet (the first run).
    pub fn load<T: DeserializeOwned>(&self) -> Result<Option<T>, ToolError> {
        let bytes = match std::fs::read(&self.path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.refuse(format!("cannot read it: {e}"))),
        };
        let Some(rest) = bytes.strip_prefix(MAGIC.as_slice()) else {
            return Err(self.refuse("not a reefer state file".into()));
        };
        let (header, rest): (Header, &[u8]) = postcard::take_from_bytes(rest)
            .map_err(|e| self.refuse(format!("its header is damaged ({e})")))?;
        if header.tool != self.tool {
            return Err(self.refuse(format!(
                "it is {}'s state, not {}'s",
                header.tool, self.tool
            )));
        }
        if header.version != self.version {
            return Err(self.refuse(format!(
                "it has state format {} and this {} reads format {}",
                header.version, self.tool, self.version
            )));
        }
        if header.settings != self.settings {
            return Err(self.refuse(format!(
                "it was written with `{}` and this run has `{}`",
                header.settings, self.settings
            )));
        }
        let (state, rest): (T, &[u8]) = postcard::take_from_bytes(rest)
            .map_err(|e| self.refuse(format!("it is damaged ({e})")))?;
        if !rest.is_empty() {
            return Err(self.refuse(format!(
                "it is damaged ({} unexpected bytes at the end)",
                rest.len()
            )));
        }
        Ok(Some(state))
    }

    fn refuse(&self, why: String) -> ToolError {
        ToolError::Usage(format!(
            "--state {}: {why}; give another file, or delete this one to start afresh",
            self.path.display()
        ))
    }

    /// Replaces the file with `state`, atomically and durably.
    pub fn save<T: Serialize>(&self, state: &T) -> anyhow::Result<()> {
        use anyhow::Context;
        let header = Header {
            tool: self.tool.to_string(),
            version: self.version,
            settings: self.settings.clone(),
        };
        let mut bytes = MAGIC.to_vec();
        bytes = postcard::to_extend(&header, bytes).context("encoding the state header")?;
        bytes = postcard::to_extend(state, bytes).context("encoding the state")?;
        let tmp = sibling(&self.path, "tmp");
        let write = || -> std::io::Result<()> {
            let mut f = File::create(&tmp)?;
            f.write_all(&bytes)?;
            f.sync_all()?;
            std::fs::rename(&tmp, &self.path)?;
            // The rename itself survives a power cut once the directory is synced.
            let dir = match self.path.parent() {
                Some(d) if !d.as_os_str().is_empty() => d,
                _ => Path::new("."),
            };
            File::open(dir)?.sync_all()
        };
        write().with_context(|| format!("saving the state to {}", self.path.display()))
    }
}

/// `FILE.ext` beside `FILE`.
fn sibling(path: &Path, ext: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".");
    s.push(ext);
    PathBuf::from(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(dir: &Path, tool: &'static str, version: u32, settings: &str) -> StateFile {
        let path = dir.join("s.state");
        StateFile::lock(path.to_str().unwrap(), tool, version, settings.into(), None).unwrap()
    }

    #[test]
    fn a_saved_state_loads_back_with_its_non_finite_floats() {
        let dir = tempfile::tempdir().unwrap();
        let sf = open(dir.path(), "reefer-detect", 1, "x");
        assert!(sf.load::<Vec<f64>>().unwrap().is_none());
        sf.save(&vec![1.5, f64::INFINITY, f64::NEG_INFINITY])
            .unwrap();
        let back: Vec<f64> = sf.load().unwrap().unwrap();
        assert_eq!(back, vec![1.5, f64::INFINITY, f64::NEG_INFINITY]);
        sf.save(&vec![f64::NAN]).unwrap();
        assert!(sf.load::<Vec<f64>>().unwrap().unwrap()[0].is_nan());
    }

    #[test]
    fn a_foreign_damaged_or_mismatched_state_is_a_usage_error() {
        let dir = tempfile::tempdir().unwrap();
        {
            let sf = open(dir.path(), "reefer-window", 1, "--size 1m");
            sf.save(&vec![1u32, 2, 3]).unwrap();
        }
        let msg = |sf: StateFile| match sf.load::<Vec<u32>>() {
            Err(ToolError::Usage(m)) => m,
            other => panic!("expected a usage error, got {other:?}"),
        };
        assert!(msg(open(dir.path(), "reefer-detect", 1, "--size 1m"))
            .contains("reefer-window's state"));
        assert!(msg(open(dir.path(), "reefer-window", 2, "--size 1m")).contains("format 1"));
        assert!(msg(open(dir.path(), "reefer-window", 1, "--size 5m")).contains("--size 1m"));
        let path = dir.path().join("s.state");
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.truncate(bytes.len() - 1);
        std::fs::write(&path, &bytes).unwrap();
        assert!(msg(open(dir.path(), "reefer-window", 1, "--size 1m")).contains("damaged"));
        std::fs::write(&path, b"{\"hello\": 1}\n").unwrap();
        assert!(
            msg(open(dir.path(), "reefer-window", 1, "--size 1m")).contains("not a reefer state")
        );
    }

    #[test]
    fn a_second_run_on_one_state_is_busy() {
        let dir = tempfile::tempdir().unwrap();
        let _first = open(dir.path(), "reefer-detect", 1, "");
        let path = dir.path().join("s.state");
        let second = StateFile::lock(
            path.to_str().unwrap(),
            "reefer-detect",
            1,
            String::new(),
            Some(Duration::from_millis(120)),
        );
        assert!(
            matches!(second, Err(ToolError::Busy(m)) if m.contains("another reefer-detect run"))
        );
    }
}
