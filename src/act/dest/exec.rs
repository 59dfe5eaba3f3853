use super::{DeliveryError, Destination};
use serde_json::Value;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// `exec:PROGRAM ARGS...`: runs PROGRAM directly (never through a shell), with the
/// alert as JSON on its stdin and as `REEFER_*` environment variables. Exit 0 means delivered.
pub struct Exec {
    uri: String,
    /// The program's path, found (and checked executable) before any input is read.
    program: String,
    args: Vec<String>,
    timeout: Duration,
    /// What stdin gets: the JSON (default) or a text body (`--template text`).
    template: super::Template,
}

impl Exec {
    pub fn parse_with(
        uri: &str,
        command: &str,
        timeout: Duration,
        template: super::Template,
    ) -> anyhow::Result<Self> {
        let words = shell_words::split(command)
            .map_err(|e| crate::app::usage(format!("cannot split {uri:?} into words: {e}")))?;
        let Some((program, args)) = words.split_first() else {
            return Err(crate::app::usage(
                "exec: needs a program, e.g. exec:/usr/local/bin/page-oncall --team cold-chain",
            ));
        };
        let shown = crate::redact::text(uri);
        let program = find_program(program)
            .map_err(|why| crate::app::usage(crate::redact::text(&format!("{shown}: {why}"))))?;
        Ok(Exec {
            uri: shown,
            program,
            args: args.to_vec(),
            timeout,
            template,
        })
    }
}

/// Where `program` is (PATH searched as `execvp` would, when it has no `/`),
/// or why it cannot be run.
fn find_program(program: &str) -> Result<String, String> {
    use std::os::unix::fs::PermissionsExt;
    let runnable = |p: &std::path::Path| -> Result<(), String> {
        let meta = std::fs::metadata(p).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => format!("program {} does not exist", p.display()),
            _ => format!("program {}: {e}", p.display()),
        })?;
        if !meta.is_file() {
            return Err(format!("program {} is not a file", p.display()));
        }
        if meta.permissions().mode() & 0o111 == 0 {
            return Err(format!("program {} is not executable", p.display()));
        }
        Ok(())
    };
    if program.contains('/') {
        runnable(std::path::Path::new(program))?;
        return Ok(program.to_string());
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        let candidate = dir.join(program);
        if runnable(&candidate).is_ok() {
            return Ok(candidate.display().to_string());
        }
    }
    Err(format!("program {program} is not found in PATH"))
}

/// Longest value of one `REEFER_*` variable: Linux refuses any single
/// argument or environment string over 128 KiB (`E2BIG`, "Argument list too
/// long"), and a few of them would also press on the 2 MiB total. The full
/// notification is always on stdin.
pub const ENV_VALUE_MAX: usize = 16 * 1024;

/// A value as an environment variable can hold it: NUL bytes (which no
/// C string can carry) removed, cut to [`ENV_VALUE_MAX`] bytes on a
/// character boundary with a trailing `…`.
pub fn env_value(v: &str) -> String {
    let mut s: String = v.chars().filter(|&c| c != '\0').collect();
    if s.len() > ENV_VALUE_MAX {
        let mut cut = ENV_VALUE_MAX - '…'.len_utf8();
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push('…');
    }
    s
}

impl Exec {
    fn command(&self, payload: &Value) -> Command {
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.args)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        for (key, var) in [
            ("notification_id", "REEFER_NOTIFICATION_ID"),
            ("action", "REEFER_ACTION"),
            ("alert_id", "REEFER_ALERT_ID"),
            ("container_id", "REEFER_CONTAINER_ID"),
            ("product_id", "REEFER_PRODUCT_ID"),
            ("fault", "REEFER_FAULT"),
            ("severity", "REEFER_SEVERITY"),
            ("status", "REEFER_STATUS"),
            ("message", "REEFER_MESSAGE"),
            ("since", "REEFER_SINCE"),
            ("duration_s", "REEFER_DURATION_S"),
        ] {
            let value = match payload.get(key) {
                Some(Value::String(s)) => env_value(s),
                Some(Value::Null) | None => String::new(),
                Some(v) => env_value(&v.to_string()),
            };
            cmd.env(var, value);
        }
        cmd
    }
}

impl Destination for Exec {
    fn uri(&self) -> &str {
        &self.uri
    }

    fn deliver(&mut self, payload: &Value) -> Result<(), DeliveryError> {
        let mut child = self
            .command(payload)
            .spawn()
            .map_err(|e| DeliveryError::permanent(format!("cannot run {}: {e}", self.program)))?;
        // stdin is fed by its own thread, so that a program that never reads it
        // (with a payload larger than the pipe holds) cannot stall the timeout below.
        let body = super::body_text(self.template, payload);
        let writer = child.stdin.take().map(|mut stdin| {
            std::thread::spawn(move || {
                // A program that does not read its stdin is fine: EPIPE ends the thread.
                let _ = stdin.write_all(body.as_bytes());
            })
        });
        let started = Instant::now();
        let outcome = loop {
            match child.try_wait() {
                Ok(Some(status)) if status.success() => break Ok(()),
                Ok(Some(status)) => {
                    break Err(DeliveryError::retryable(format!(
                        "{} exited with {status}",
                        self.program
                    )))
                }
                Ok(None) if started.elapsed() > self.timeout => {
                    let _ = child.kill();
                    let _ = child.wait();
                    break Err(DeliveryError::retryable(format!(
                        "{} killed: it did not finish within --timeout {:.1} s",
                        self.program,
                        self.timeout.as_secs_f64()
                    )));
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(5)),
                Err(e) => break Err(DeliveryError::retryable(format!("{}: {e}", self.program))),
            }
        };
        if let Some(w) = writer {
            // The child is gone, so the pipe's reader is too, unless the program
            // left a process of its own holding it: then the writer is left behind
            // rather than hanging this run.
            let until = Instant::now() + Duration::from_millis(200);
            while !w.is_finished() && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(2));
            }
            if w.is_finished() {
                let _ = w.join();
            }
        }
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_values_lose_nul_bytes_and_are_capped_on_a_char_boundary() {
        assert_eq!(env_value("a\0b"), "ab");
        let long = "é".repeat(ENV_VALUE_MAX);
        let v = env_value(&long);
        assert!(v.len() <= ENV_VALUE_MAX && v.ends_with('…'), "{}", v.len());
        assert_eq!(env_value("short"), "short");
    }

    #[test]
    fn splits_words_without_a_shell() {
        let t = Duration::from_secs(1);
        let e = Exec::parse_with(
            "exec:true --to 'field team' $HOME",
            "true --to 'field team' $HOME",
            t,
            super::super::Template::Json,
        )
        .unwrap();
        assert!(e.program.ends_with("/true"), "{}", e.program);
        assert_eq!(e.args, vec!["--to", "field team", "$HOME"]);
        assert!(Exec::parse_with("exec:", "", t, super::super::Template::Json).is_err());
    }

    #[test]
    fn a_missing_or_unexecutable_program_is_refused_at_once() {
        let t = Duration::from_secs(1);
        let err = |cmd: &str| {
            Exec::parse_with(&format!("exec:{cmd}"), cmd, t, super::super::Template::Json)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
        };
        assert!(err("/nonexistent/page-oncall --team x").contains("does not exist"));
        assert!(err("no-such-program-anywhere").contains("not found in PATH"));
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("notes.txt");
        std::fs::write(&plain, "not a program").unwrap();
        assert!(err(&plain.display().to_string()).contains("not executable"));
        assert!(err(&dir.path().display().to_string()).contains("not a file"));
    }
}
