#![allow(dead_code)]

use assert_cmd::Command;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

/// A command for one of the package's binaries.
pub fn tool(name: &str) -> Command {
    Command::cargo_bin(name).unwrap_or_else(|e| panic!("binary {name}: {e}"))
}

/// A simulated fleet's readings: `reefer-sim --containers N --duration D`
/// and `extra` (seed, start, interval), which must succeed.
pub fn sim_fleet(containers: u32, duration: &str, extra: &[&str]) -> Vec<u8> {
    tool("reefer-sim")
        .args([
            "--containers",
            &containers.to_string(),
            "--duration",
            duration,
        ])
        .args(extra)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone()
}

pub fn repo_path(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel)
}

pub fn blessing() -> bool {
    std::env::var_os("REEFER_BLESS").is_some()
}

/// Compares `actual` with the golden file at `rel`, or rewrites it under `REEFER_BLESS=1`.
pub fn golden(rel: &str, actual: &[u8]) {
    let path = repo_path(rel);
    if blessing() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{rel}: {e} (run with REEFER_BLESS=1 to create it)"));
    if expected != actual {
        let exp = String::from_utf8_lossy(&expected);
        let act = String::from_utf8_lossy(actual);
        let first = exp
            .lines()
            .zip(act.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(exp.lines().count().min(act.lines().count()));
        panic!(
            "{rel} differs from the output (first difference at line {}):\n expected: {}\n   actual: {}\nrun with REEFER_BLESS=1 if the change is intended",
            first + 1,
            exp.lines().nth(first).unwrap_or("<end>"),
            act.lines().nth(first).unwrap_or("<end>"),
        );
    }
}

/// Parses JSON Lines output.
pub fn json_lines(bytes: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(bytes)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// The lines of an output, sorted (to compare outputs whose order may differ).
pub fn sorted_lines(bytes: &[u8]) -> Vec<String> {
    let mut v: Vec<String> = String::from_utf8_lossy(bytes)
        .lines()
        .map(str::to_string)
        .collect();
    v.sort();
    v
}

/// Per container, the measurement times in the order they appear.
pub fn per_key_order(bytes: &[u8]) -> std::collections::BTreeMap<String, Vec<String>> {
    let mut m: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for v in json_lines(bytes) {
        m.entry(v["container_id"].as_str().unwrap().to_string())
            .or_default()
            .push(v["measurement_time"].as_str().unwrap().to_string());
    }
    m
}

/// A fault event line (contract §5), as reefer-detect writes them, for reefer-act.
pub fn event(container: &str, fault: &str, severity: &str, at: &str, status: &str) -> String {
    format!(
        r#"{{"container_id":"{container}","product_id":"P01","fault":"{fault}","severity":"{severity}","rule":"{fault}","detected_at":"{at}","since":"2026-11-27T03:00:00Z","evidence":{{"kilowatts":0}},"message":"{fault} on {container}","status":"{status}"}}"#
    )
}

// The local AWS emulator that scripts/test.sh starts.

/// The emulator's endpoint; tests that need it fail (never skip) without it.
pub fn endpoint() -> String {
    std::env::var("REEFER_TEST_AWS_ENDPOINT").unwrap_or_else(|_| {
        panic!(
            "REEFER_TEST_AWS_ENDPOINT is not set: run the tests with scripts/test.sh, \
             which installs and starts the moto AWS emulator"
        )
    })
}

pub fn python() -> PathBuf {
    let venv = std::env::var_os("REEFER_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_path(".venv"));
    venv.join("bin/python")
}

/// A name no other test (or earlier run against the same emulator) uses.
pub fn unique(stem: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "{stem}-{}-{}-{nanos}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}

/// Sets up or inspects emulator resources (tests/fixtures/ship/aws_admin.py).
pub fn admin(args: &[&str]) -> String {
    let out = std::process::Command::new(python())
        .arg(repo_path("tests/fixtures/ship/aws_admin.py"))
        .arg(endpoint())
        .args(args)
        .output()
        .expect("run aws_admin.py with the .venv python (scripts/test.sh creates it)");
    assert!(
        out.status.success(),
        "aws_admin {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}
