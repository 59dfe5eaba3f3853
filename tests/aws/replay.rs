//! The operator's role: a fleet shipped to Kinesis (4 shards) or to the lake
//! and replayed through reefer-window and reefer-detect gives what the stdin
//! pipeline gives, also when the replay stops at a checkpoint and resumes.

use super::common::*;
use super::ship::ship;

/// 20 containers for 2 h with a power cut (a 30-minute gap in one
/// container's data), an open door, a failed fan and a failed compressor.
fn fleet() -> Vec<u8> {
    let mut sim = tool("reefer-sim");
    sim.args(["--containers", "20", "--duration", "2h", "--seed", "5"])
        .args(["--start", "2026-11-27T00:00:00Z", "--no-faults"]);
    for spec in [
        "1:power_off@20m+30m",
        "4:door_open@30m+10m",
        "9:fan_failure@20m+40m",
        "13:compressor_failure@15m+1h",
    ] {
        sim.args(["--inject", spec]);
    }
    sim.assert().success().get_output().stdout.clone()
}

/// `tool args < input`, which must succeed (nothing rejected, nothing late).
fn stage(name: &str, args: &[&str], input: Vec<u8>) -> Vec<u8> {
    tool(name)
        .args(args)
        .write_stdin(input)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone()
}

/// reefer-window | reefer-detect over `readings`.
fn window_detect(readings: Vec<u8>, state: Option<&std::path::Path>) -> Vec<u8> {
    let rows = stage("reefer-window", &[], readings);
    let mut detect = tool("reefer-detect");
    if let Some(s) = state {
        detect.arg("--state").arg(s);
    }
    detect
        .write_stdin(rows)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone()
}

/// Events, sorted: containers in different shards may be detected at the
/// same instant in either order.
fn events(bytes: &[u8]) -> Vec<String> {
    let v = sorted_lines(bytes);
    assert!(!v.is_empty(), "the pipeline found the injected faults");
    v
}

#[test]
fn a_four_shard_stream_replayed_through_window_and_detect_equals_the_stdin_pipeline() {
    let input = fleet();
    let direct = window_detect(input.clone(), None);
    let stream = unique("replay4");
    admin(&["create-stream", &stream, "4"]);
    ship()
        .args(["--to", &format!("kinesis://{stream}")])
        .write_stdin(input)
        .assert()
        .success();
    let from = format!("kinesis://{stream}");
    let replayed = ship().args(["--from", &from]).assert().success();
    let replayed = window_detect(replayed.get_output().stdout.clone(), None);
    assert_eq!(events(&direct), events(&replayed));

    // The same replay stopped twice at a checkpoint and resumed, with
    // reefer-detect's state carried between the runs, gives the same events.
    let dir = tempfile::tempdir().unwrap();
    let (cp, state) = (dir.path().join("cp.json"), dir.path().join("detect.state"));
    let mut resumed = Vec::new();
    for max in [Some("2500"), Some("9000"), None] {
        let mut read = ship();
        read.args(["--from", &from]).arg("--checkpoint").arg(&cp);
        if let Some(n) = max {
            read.args(["--max-records", n]);
        }
        let part = read.assert().success().get_output().stdout.clone();
        // Each run's own detect over its part of the stream, as a cron job
        // would; reefer-detect on readings (no windows across the cut).
        resumed.extend(stage_detect_with_state(part, &state));
    }
    let whole = stage("reefer-detect", &[], fleet());
    assert_eq!(events(&whole), events(&resumed));
}

fn stage_detect_with_state(readings: Vec<u8>, state: &std::path::Path) -> Vec<u8> {
    tool("reefer-detect")
        .arg("--state")
        .arg(state)
        .write_stdin(readings)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone()
}

#[test]
fn a_lake_replayed_at_600x_through_detect_equals_the_stdin_pipeline() {
    let input = fleet();
    let direct = stage("reefer-detect", &[], input.clone());
    let dir = tempfile::tempdir().unwrap();
    let lake = format!("file://{}", dir.path().join("lake").display());
    ship()
        .args(["--to", &lake])
        .write_stdin(input)
        .assert()
        .success();
    let started = std::time::Instant::now();
    let replayed = ship()
        .args(["--from", &lake, "--pace", "600x"])
        .assert()
        .success();
    let took = started.elapsed();
    // 2 h of event time at 600x is 12 s: the pace is kept, not skipped.
    assert!(
        took >= std::time::Duration::from_secs(10),
        "a 600x replay of 2 h took {took:?}"
    );
    let replayed = stage("reefer-detect", &[], replayed.get_output().stdout.clone());
    assert_eq!(events(&direct), events(&replayed));
}
