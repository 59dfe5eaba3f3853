//! One sender per state file. Two reefer-act runs on one `--state` (overlapping
//! cron jobs) would both read the same pending notifications and both deliver
//! them, so every run that may change the state first takes an exclusive
//! advisory lock (flock(2), through `std::fs::File::try_lock`) on `STATE.lock`,
//! a file beside the state database, and holds it until it exits. The kernel
//! drops the lock when the process dies, even after `kill -9`, so a crashed run
//! never leaves a stale lock behind.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Exit status of a run that found another run holding the lock (and did not
/// wait for it, or waited longer than `--wait`): `EX_TEMPFAIL` of sysexits.h,
/// "try again later", distinct from every status of contract §7.
pub const EXIT_LOCKED: u8 = 75;

/// Another run holds the lock: reported as such and exits [`EXIT_LOCKED`].
#[derive(Debug, thiserror::Error)]
#[error("another reefer-act run{holder} holds the lock on {state}{waited}; nothing was read or sent (use --wait DURATION to queue behind it)")]
pub struct Locked {
    state: String,
    holder: String,
    waited: String,
}

/// The held lock; dropping it (or exiting) releases it.
#[derive(Debug)]
pub struct StateLock {
    _file: File,
    pub path: PathBuf,
}

/// The lock file of a state database: `STATE.lock` beside it.
pub fn lock_path(state: &str) -> PathBuf {
    PathBuf::from(format!("{state}.lock"))
}

/// Takes the lock on `state`, waiting up to `wait` for another run to finish.
pub fn acquire(state: &str, wait: Duration) -> anyhow::Result<StateLock> {
    let path = lock_path(state);
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| crate::app::usage(format!("cannot open lock file {}: {e}", path.display())))?;
    let started = Instant::now();
    loop {
        match file.try_lock() {
            Ok(()) => break,
            Err(TryLockError::WouldBlock) if started.elapsed() < wait => {
                let left = wait.saturating_sub(started.elapsed());
                std::thread::sleep(left.min(Duration::from_millis(50)));
            }
            Err(TryLockError::WouldBlock) => {
                let mut text = String::new();
                let _ = file.read_to_string(&mut text);
                let holder = match text.trim().parse::<u32>() {
                    Ok(pid) => format!(" (pid {pid})"),
                    Err(_) => String::new(),
                };
                let waited = if wait.is_zero() {
                    String::new()
                } else {
                    format!(" after waiting {:.1} s", started.elapsed().as_secs_f64())
                };
                return Err(Locked {
                    state: state.to_string(),
                    holder,
                    waited,
                }
                .into());
            }
            Err(TryLockError::Error(e)) => {
                return Err(anyhow::anyhow!("cannot lock {}: {e}", path.display()));
            }
        }
    }
    // Who holds it, for the message of the next run that finds it taken.
    let _ = file.set_len(0);
    let _ = file.rewind();
    let _ = writeln!(file, "{}", std::process::id());
    let _ = file.flush();
    Ok(StateLock { _file: file, path })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_the_same_state_is_refused_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("act.db").display().to_string();
        let first = acquire(&state, Duration::ZERO).unwrap();
        let err = acquire(&state, Duration::from_millis(120)).unwrap_err();
        assert!(err.is::<Locked>());
        let msg = err.to_string();
        assert!(
            msg.contains(&format!("pid {}", std::process::id())),
            "{msg}"
        );
        assert!(msg.contains("after waiting"), "{msg}");
        drop(first);
        acquire(&state, Duration::ZERO).unwrap();
    }
}
