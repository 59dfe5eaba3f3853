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
}

impl Exec {
    pub fn parse_with(uri: &str, command: &str, timeout: Duration) -> anyhow::Result<Self> {
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

impl Destination for Exec {
    fn uri(&self) -> &str {
        &self.uri
    }

    fn deliver(&mut self, payload: &Value) -> Result<(), DeliveryError> {
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.args)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        for (key, var) in [
            ("notification_id", "REEFER_NOTIFICATION_ID"),
            ("action", "REEFER_ACTION"),
            ("container_id", "REEFER_CONTAINER_ID"),
            ("product_id", "REEFER_PRODUCT_ID"),
            ("fault", "REEFER_FAULT"),
            ("severity", "REEFER_SEVERITY"),
            ("status", "REEFER_STATUS"),
            ("message", "REEFER_MESSAGE"),
            ("since", "REEFER_SINCE"),
        ] {
            let value = match payload.get(key) {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Null) | None => String::new(),
                Some(v) => v.to_string(),
            };
            cmd.env(var, value);
        }
        if let Some(id) = payload.get("alert_id") {
            cmd.env("REEFER_ALERT_ID", id.to_string());
        }
        let mut child = cmd
            .spawn()
            .map_err(|e| DeliveryError::permanent(format!("cannot run {}: {e}", self.program)))?;
        if let Some(mut stdin) = child.stdin.take() {
            // A program that does not read its stdin is fine.
            let _ = stdin.write_all(format!("{payload}\n").as_bytes());
        }
        let started = Instant::now();
        loop {
            match child.try_wait() {
                Ok(Some(status)) if status.success() => return Ok(()),
                Ok(Some(status)) => {
                    return Err(DeliveryError::retryable(format!(
                        "{} exited with {status}",
                        self.program
                    )))
                }
                Ok(None) if started.elapsed() > self.timeout => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(DeliveryError::retryable(format!(
                        "{} did not finish within {:?}",
                        self.program, self.timeout
                    )));
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(5)),
                Err(e) => return Err(DeliveryError::retryable(format!("{}: {e}", self.program))),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_words_without_a_shell() {
        let t = Duration::from_secs(1);
        let e = Exec::parse_with(
            "exec:true --to 'field team' $HOME",
            "true --to 'field team' $HOME",
            t,
        )
        .unwrap();
        assert!(e.program.ends_with("/true"), "{}", e.program);
        assert_eq!(e.args, vec!["--to", "field team", "$HOME"]);
        assert!(Exec::parse_with("exec:", "", t).is_err());
    }

    #[test]
    fn a_missing_or_unexecutable_program_is_refused_at_once() {
        let t = Duration::from_secs(1);
        let err = |cmd: &str| {
            Exec::parse_with(&format!("exec:{cmd}"), cmd, t)
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
