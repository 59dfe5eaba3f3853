//! reefer-ship against the moto emulator that scripts/test.sh starts
//! (REEFER_TEST_AWS_ENDPOINT), with a fault-injecting proxy in front of it
//! where failures are needed. Every test uses its own streams and buckets.

use super::common::*;
use assert_cmd::Command;
use predicates::prelude::*;
use predicates::str::contains;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};

/// reefer-ship with emulator credentials, talking to `endpoint`.
pub(crate) fn ship_at(endpoint: &str) -> Command {
    let mut cmd = tool("reefer-ship");
    cmd.env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ENDPOINT_URL")
        .args(["--endpoint-url", endpoint]);
    cmd
}

pub(crate) fn ship() -> Command {
    ship_at(&endpoint())
}

fn sim(containers: u32, duration: &str, seed: u32) -> Vec<u8> {
    let seed = seed.to_string();
    let at = [
        "--seed",
        &seed,
        "--start",
        "2026-11-27T03:40:00Z",
        "--interval",
        "30s",
    ];
    sim_fleet(containers, duration, &at)
}

fn assert_same_records(sent: &[u8], got: &[u8]) {
    let (a, b) = (sorted_lines(sent), sorted_lines(got));
    assert_eq!(a.len(), b.len(), "record counts differ");
    assert!(a == b, "the records read back differ from those sent");
}

fn assert_key_order_kept(sent: &[u8], got: &[u8]) {
    assert_eq!(
        per_key_order(sent),
        per_key_order(got),
        "per-container order changed"
    );
}

fn read_stream(stream: &str, extra: &[&str]) -> std::process::Output {
    ship()
        .args(["--from", &format!("kinesis://{stream}")])
        .args(extra)
        .assert()
        .success()
        .get_output()
        .clone()
}

fn put_stream(
    endpoint: &str,
    stream: &str,
    input: &[u8],
    extra: &[&str],
) -> assert_cmd::assert::Assert {
    ship_at(endpoint)
        .args(["--to", &format!("kinesis://{stream}")])
        .args(extra)
        .write_stdin(input.to_vec())
        .assert()
}

/// The fault-injecting proxy of tests/fixtures/ship/fault_proxy.py.
struct Proxy {
    child: Child,
    url: String,
}

impl Proxy {
    fn start(plan: &str, repeat: bool) -> Proxy {
        let mut cmd = std::process::Command::new(python());
        cmd.arg(repo_path("tests/fixtures/ship/fault_proxy.py"))
            .arg(endpoint())
            .arg(plan);
        if repeat {
            cmd.arg("--repeat");
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .spawn()
            .expect("start fault_proxy.py");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port: u16 = line.trim().parse().expect("the proxy prints its port");
        Proxy {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn kinesis_round_trip_over_two_shards() {
    let stream = unique("rt");
    admin(&["create-stream", &stream, "2"]);
    let input = sim(20, "20m", 1);
    let out = put_stream(&endpoint(), &stream, &input, &[])
        .success()
        .get_output()
        .clone();
    assert!(
        stderr(&out).contains("wrote 800 records, rejected 0, failed 0, dead 0; retried 0"),
        "{}",
        stderr(&out)
    );
    let back = read_stream(&stream, &[]);
    assert_same_records(&input, &back.stdout);
    assert_key_order_kept(&input, &back.stdout);
}

#[test]
fn kinesis_split_in_the_middle_delivers_everything_once_in_key_order() {
    let stream = unique("split");
    admin(&["create-stream", &stream, "1"]);
    let input = sim(20, "20m", 2);
    let lines: Vec<&[u8]> = input.split_inclusive(|&b| b == b'\n').collect();
    let (first, second): (Vec<u8>, Vec<u8>) = (lines[..400].concat(), lines[400..].concat());
    put_stream(&endpoint(), &stream, &first, &[]).success();
    // Read a part before the split, with a checkpoint, so the resumed read crosses it.
    let cp = tempfile::tempdir().unwrap();
    let cp_file = cp.path().join("cp.json");
    let cp_arg = cp_file.to_str().unwrap();
    let part1 = read_stream(&stream, &["--checkpoint", cp_arg, "--max-records", "250"]);
    let parent = admin(&["split-shard", &stream]);
    put_stream(&endpoint(), &stream, &second, &[]).success();
    let shards: serde_json::Value =
        serde_json::from_str(&admin(&["list-shards", &stream])).unwrap();
    assert_eq!(
        shards.as_array().unwrap().len(),
        3,
        "the split made two children"
    );
    assert!(shards
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["ParentShardId"] == parent.trim()));
    let part2 = read_stream(&stream, &["--checkpoint", cp_arg]);
    let got = [part1.stdout.clone(), part2.stdout.clone()].concat();
    assert_same_records(&input, &got);
    assert_key_order_kept(&input, &got);
    // A full read from the start sees the same, parents first.
    let all = read_stream(&stream, &[]);
    assert_same_records(&input, &all.stdout);
    assert_key_order_kept(&input, &all.stdout);
    // And the checkpoint now says the parent is done: nothing more to read.
    let again = read_stream(&stream, &["--checkpoint", cp_arg]);
    assert!(again.stdout.is_empty());
}

#[test]
fn kinesis_checkpoint_resume_neither_loses_nor_repeats() {
    let stream = unique("cp");
    admin(&["create-stream", &stream, "2"]);
    let input = sim(15, "20m", 3);
    put_stream(&endpoint(), &stream, &input, &[]).success();
    let dir = tempfile::tempdir().unwrap();
    let cp = dir.path().join("cp.json");
    let cp_arg = cp.to_str().unwrap();
    let mut got = Vec::new();
    for n in ["1", "137", "200"] {
        let out = read_stream(&stream, &["--checkpoint", cp_arg, "--max-records", n]);
        assert_eq!(
            out.stdout.iter().filter(|&&b| b == b'\n').count(),
            n.parse::<usize>().unwrap()
        );
        got.extend_from_slice(&out.stdout);
    }
    let rest = read_stream(&stream, &["--checkpoint", cp_arg]);
    got.extend_from_slice(&rest.stdout);
    assert_same_records(&input, &got);
    assert_key_order_kept(&input, &got);
    let none = read_stream(&stream, &["--checkpoint", cp_arg]);
    assert!(
        none.stdout.is_empty(),
        "a finished checkpoint reads nothing new"
    );
    // New records after the checkpoint are found on the next resume.
    let more = sim(3, "1m", 4);
    put_stream(&endpoint(), &stream, &more, &[]).success();
    let next = read_stream(&stream, &["--checkpoint", cp_arg]);
    assert_same_records(&more, &next.stdout);
}

#[test]
fn kinesis_partial_failures_throttling_and_500s_still_deliver_exactly_once() {
    let stream = unique("faults");
    admin(&["create-stream", &stream, "2"]);
    let input = sim(20, "15m", 5);
    let proxy = Proxy::start("partial,throttle,500,partial,ok,failall,partial", false);
    let out = put_stream(&proxy.url, &stream, &input, &[])
        .success()
        .get_output()
        .clone();
    let err = stderr(&out);
    assert!(
        err.contains("wrote 600 records,") && err.contains("failed 0"),
        "{err}"
    );
    assert!(!err.contains("retried 0,"), "{err}");
    let back = read_stream(&stream, &[]);
    assert_same_records(&input, &back.stdout);
    assert_key_order_kept(&input, &back.stdout);
}

#[test]
fn kinesis_records_that_keep_failing_are_kept_as_undelivered_and_counted() {
    let stream = unique("dead");
    admin(&["create-stream", &stream, "1"]);
    let input = sim(5, "3m", 6);
    let proxy = Proxy::start("partial", true);
    let dir = tempfile::tempdir().unwrap();
    let dl = dir.path().join("dead.jsonl");
    let out = put_stream(
        &proxy.url,
        &stream,
        &input,
        &["--max-attempts", "2", "--undelivered", dl.to_str().unwrap()],
    )
    .code(1)
    .get_output()
    .clone();
    let dead = json_lines(&std::fs::read(&dl).unwrap());
    assert!(!dead.is_empty());
    for d in &dead {
        assert_eq!(d["error_code"], "ProvisionedThroughputExceededException");
    }
    let back = read_stream(&stream, &[]);
    let delivered = sorted_lines(&back.stdout);
    let mut all: Vec<String> = delivered.clone();
    all.extend(
        dead.iter()
            .map(|d| d["record"].as_str().unwrap().to_string()),
    );
    all.sort();
    assert_eq!(
        all,
        sorted_lines(&input),
        "every record is delivered or undelivered, once"
    );
    assert!(stderr(&out).contains(&format!("failed {}", dead.len())));
}

#[test]
fn kinesis_bad_input_oversized_and_keyless_records_are_rejected_not_sent() {
    let stream = unique("bad");
    admin(&["create-stream", &stream, "1"]);
    let good = sim(2, "1m", 7);
    let mut input = good.clone();
    input.extend_from_slice(b"{\"measurement_time\":\"2026-11-27T03:40:00Z\",\"temperature\":1}\n");
    input.extend_from_slice(b"not json\n");
    input.extend_from_slice(
        format!(
            "{{\"container_id\":\"BIG1\",\"pad\":\"{}\"}}\n",
            "x".repeat(1_100_000)
        )
        .as_bytes(),
    );
    let dir = tempfile::tempdir().unwrap();
    let dl = dir.path().join("dead.txt");
    let undelivered = dir.path().join("undelivered.jsonl");
    ship()
        .args(["--to", &format!("kinesis://{stream}")])
        .args(["--dead-letter", dl.to_str().unwrap()])
        .args(["--undelivered", undelivered.to_str().unwrap()])
        .write_stdin(input.clone())
        .assert()
        .code(1)
        .stderr(contains(
            "stdin:5: no partition key: field \"container_id\" is missing",
        ))
        .stderr(contains("stdin:6: invalid JSON"))
        .stderr(contains("stdin:7: not delivered: record of 1100"));
    assert_eq!(
        std::fs::read_to_string(&dl).unwrap(),
        "{\"measurement_time\":\"2026-11-27T03:40:00Z\",\"temperature\":1}\nnot json\n",
        "rejected lines are kept as they were read"
    );
    let kept = json_lines(&std::fs::read(&undelivered).unwrap());
    let codes: Vec<&str> = kept
        .iter()
        .map(|d| d["error_code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["RecordTooLarge"]);
    let back = read_stream(&stream, &[]);
    assert_same_records(&good, &back.stdout);
}

#[test]
fn kinesis_aggregated_kpl_records_are_deaggregated() {
    let stream = unique("kpl");
    admin(&["create-stream", &stream, "1"]);
    let input = sim(4, "1m", 8);
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("in.jsonl");
    std::fs::write(&f, &input).unwrap();
    admin(&["put-kpl", &stream, "MSKU0000001", f.to_str().unwrap()]);
    let back = read_stream(&stream, &[]);
    assert_eq!(back.stdout, input, "user records in order");
}

#[test]
fn s3_round_trip_twice_without_duplicate_objects() {
    let bucket = unique("lake").to_lowercase();
    admin(&["create-bucket", &bucket]);
    let input = sim(20, "40m", 9);
    let to = format!("s3://{bucket}/telemetry");
    for _ in 0..2 {
        ship()
            .args(["--to", &to, "--buffer-size", "64KiB"])
            .write_stdin(input.clone())
            .assert()
            .success();
    }
    let keys = admin(&["list-objects", &bucket]);
    let keys: Vec<&str> = keys.lines().collect();
    assert!(keys.len() > 2, "several buffers were cut: {keys:?}");
    assert!(keys
        .iter()
        .any(|k| k.starts_with("telemetry/2026/11/27/03/")));
    assert!(keys
        .iter()
        .any(|k| k.starts_with("telemetry/2026/11/27/04/")));
    assert!(keys.iter().all(|k| k.ends_with(".jsonl.gz")));
    let out = ship()
        .args(["--from", &to])
        .assert()
        .success()
        .get_output()
        .clone();
    assert_same_records(&input, &out.stdout);
    assert_key_order_kept(&input, &out.stdout);
    // A time range reads only what lies in it.
    let out = ship()
        .args([
            "--from",
            &to,
            "--since",
            "2026-11-27T04:00:00Z",
            "--until",
            "2026-11-27T04:10:00Z",
        ])
        .assert()
        .success()
        .get_output()
        .clone();
    let want: Vec<u8> = String::from_utf8_lossy(&input)
        .lines()
        .filter(|l| l.contains("\"measurement_time\":\"2026-11-27T04:0"))
        .flat_map(|l| format!("{l}\n").into_bytes())
        .collect();
    assert!(!want.is_empty());
    assert_same_records(&want, &out.stdout);
}

#[test]
fn s3_large_objects_go_up_in_parts() {
    let bucket = unique("mp").to_lowercase();
    admin(&["create-bucket", &bucket]);
    let out = tool("reefer-sim")
        .args([
            "--containers",
            "250",
            "--duration",
            "59m",
            "--seed",
            "10",
            "--start",
            "2026-11-27T03:00:00Z",
            "--interval",
            "30s",
        ])
        .assert()
        .success()
        .get_output()
        .clone();
    let input = out.stdout;
    assert!(
        input.len() > 9 * 1024 * 1024,
        "input of {} bytes",
        input.len()
    );
    let to = format!("s3://{bucket}/big");
    let out = ship()
        .args([
            "--to",
            &to,
            "--no-gzip",
            "--buffer-size",
            "64MiB",
            "--buffer-interval",
            "2h",
        ])
        .write_stdin(input.clone())
        .assert()
        .success()
        .get_output()
        .clone();
    assert!(
        stderr(&out).contains("CreateMultipartUpload 1"),
        "{}",
        stderr(&out)
    );
    let out = ship()
        .args(["--from", &to])
        .assert()
        .success()
        .get_output()
        .clone();
    assert_same_records(&input, &out.stdout);
}

#[test]
fn firehose_packs_lines_retries_failures_and_lands_in_s3() {
    let bucket = unique("fh").to_lowercase();
    let stream = unique("fh");
    admin(&["create-bucket", &bucket]);
    admin(&["create-firehose", &stream, &bucket, "delivered/"]);
    let input = sim(20, "30m", 11);
    let proxy = Proxy::start("partial,500,partial", false);
    let out = ship_at(&proxy.url)
        .args(["--to", &format!("firehose://{stream}")])
        .write_stdin(input.clone())
        .assert()
        .success()
        .get_output()
        .clone();
    let err = stderr(&out);
    let records: u64 = err
        .split(" Firehose records for ")
        .next()
        .and_then(|s| s.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{err}"));
    assert!(
        records * 5 <= 1200,
        "{records} Firehose records for 1200 lines"
    );
    let back = ship()
        .args(["--from", &format!("s3://{bucket}/delivered")])
        .assert()
        .success()
        .get_output()
        .clone();
    assert_same_records(&input, &back.stdout);
}

#[test]
fn missing_stream_or_bucket_is_a_configuration_error() {
    let out = ship()
        .args(["--to", &format!("kinesis://{}", unique("none"))])
        .write_stdin(sim(1, "1m", 1))
        .assert()
        .code(2)
        .get_output()
        .clone();
    assert!(stderr(&out).contains("does not exist"), "{}", stderr(&out));
    ship()
        .args(["--from", &format!("s3://{}", unique("none").to_lowercase())])
        .assert()
        .code(2)
        .stderr(contains("does not exist"));
}

#[test]
fn shard_split_between_processes_gives_disjoint_complete_per_container_slices() {
    let stream = unique("scale");
    admin(&["create-stream", &stream, "3"]);
    let input = sim(30, "10m", 14);
    put_stream(&endpoint(), &stream, &input, &[]).success();
    let shards: serde_json::Value =
        serde_json::from_str(&admin(&["list-shards", &stream])).unwrap();
    let mut all = Vec::new();
    let mut owner: BTreeMap<String, String> = BTreeMap::new();
    for s in shards.as_array().unwrap() {
        let id = s["ShardId"].as_str().unwrap();
        let out = read_stream(&stream, &["--shard", id]);
        for v in json_lines(&out.stdout) {
            let c = v["container_id"].as_str().unwrap().to_string();
            let prev = owner.insert(c.clone(), id.to_string());
            assert!(
                prev.is_none() || prev.as_deref() == Some(id),
                "{c} is in two shards"
            );
        }
        all.extend_from_slice(&out.stdout);
    }
    assert_same_records(&input, &all);
    assert_key_order_kept(&input, &all);
}

#[test]
fn ctrl_c_while_following_flushes_checkpoints_and_exits_130_then_resume_completes() {
    let stream = unique("sigint");
    admin(&["create-stream", &stream, "2"]);
    let input = sim(10, "20m", 15);
    put_stream(&endpoint(), &stream, &input, &[]).success();
    let dir = tempfile::tempdir().unwrap();
    let cp = dir.path().join("cp.json");
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("reefer-ship"))
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .args([
            "--endpoint-url",
            &endpoint(),
            "--from",
            &format!("kinesis://{stream}"),
        ])
        .args(["--follow", "--checkpoint", cp.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut got = String::new();
    // Once a record is out, the interrupt handler is in place.
    reader.read_line(&mut got).unwrap();
    let kill = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut reader, &mut rest).unwrap();
    got.push_str(&rest);
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(cp.exists(), "the checkpoint was written on the way out");
    let resumed = read_stream(&stream, &["--checkpoint", cp.to_str().unwrap()]);
    let all = [got.into_bytes(), resumed.stdout].concat();
    assert_same_records(&input, &all);
    assert_key_order_kept(&input, &all);
}

#[test]
fn an_s3_object_with_a_multi_line_1e400_record_is_bad_lines_not_a_panic() {
    let bucket = unique("bad").to_lowercase();
    admin(&["create-bucket", &bucket]);
    let good = [
        r#"{"container_id":"A","measurement_time":"2026-11-27T03:40:00Z"}"#,
        r#"{"container_id":"B","measurement_time":"2026-11-27T03:40:01Z"}"#,
        r#"{"container_id":"C","measurement_time":"2026-11-27T03:40:02Z"}"#,
    ];
    let bad = "{\"container_id\":\"X\",\r\n\"temperature\":1e400}\n";
    let body = format!("{}\n{bad}{}{}\n", good[0], good[1], good[2]);
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("obj");
    std::fs::write(&f, &body).unwrap();
    admin(&[
        "put-object",
        &bucket,
        "t/2026/11/27/03/obj.jsonl",
        f.to_str().unwrap(),
    ]);
    let dl = dir.path().join("dead.txt");
    ship()
        .args(["--from", &format!("s3://{bucket}/t")])
        .args(["--dead-letter", dl.to_str().unwrap()])
        .assert()
        .code(1)
        .stdout(format!("{}\n{}\n{}\n", good[0], good[1], good[2]))
        .stderr(contains(format!(
            "s3://{bucket}/t/2026/11/27/03/obj.jsonl:2: invalid JSON"
        )))
        .stderr(contains("obj.jsonl:3: expected a JSON object"))
        .stderr(contains("panicked").not());
    assert_eq!(std::fs::read_to_string(&dl).unwrap(), bad);
}

#[test]
fn firehose_records_that_keep_failing_are_kept_as_undelivered_not_dead_lettered() {
    let bucket = unique("fhu").to_lowercase();
    let stream = unique("fhu");
    admin(&["create-bucket", &bucket]);
    admin(&["create-firehose", &stream, &bucket, "delivered/"]);
    let input = sim(2, "2m", 3);
    let proxy = Proxy::start("failall", true);
    let dir = tempfile::tempdir().unwrap();
    let (dl, undelivered) = (dir.path().join("dead.txt"), dir.path().join("u.jsonl"));
    ship_at(&proxy.url)
        .args([
            "--to",
            &format!("firehose://{stream}"),
            "--max-attempts",
            "2",
        ])
        .args(["--dead-letter", dl.to_str().unwrap()])
        .args(["--undelivered", undelivered.to_str().unwrap()])
        .write_stdin(input.clone())
        .assert()
        .code(1)
        .stderr(contains("not delivered"));
    assert_eq!(
        std::fs::read(&dl).unwrap(),
        b"",
        "no input line was rejected"
    );
    let kept = json_lines(&std::fs::read(&undelivered).unwrap());
    let mut records: Vec<String> = kept
        .iter()
        .map(|d| d["record"].as_str().unwrap().to_string())
        .collect();
    records.sort();
    assert_eq!(records, sorted_lines(&input), "every line is kept, once");
}

/// The fleet of issue 10: 50 containers, 2 h, seed 3.
fn fleet_of_issue_10() -> Vec<u8> {
    tool("reefer-sim")
        .args(["--containers", "50", "--duration", "2h", "--seed", "3"])
        .args(["--start", "2026-11-27T00:00:00Z"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone()
}

/// reefer-window with default flags over `input`: it must find nothing late.
fn windows(input: &[u8]) -> Vec<u8> {
    tool("reefer-window")
        .write_stdin(input.to_vec())
        .assert()
        .success()
        .get_output()
        .stdout
        .clone()
}

/// Window rows by window end (the emission order), each window's rows by
/// container: what is equal when only the order of containers seen at the
/// same instant differs.
fn window_rows(bytes: &[u8]) -> Vec<(String, String, String)> {
    let mut rows: Vec<(String, String, String)> = String::from_utf8_lossy(bytes)
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                v["window_end"].as_str().unwrap().to_string(),
                v["container_id"].as_str().unwrap().to_string(),
                l.to_string(),
            )
        })
        .collect();
    let ends: Vec<String> = rows.iter().map(|r| r.0.clone()).collect();
    assert!(
        ends.windows(2).all(|w| w[0] <= w[1]),
        "windows out of order"
    );
    rows.sort();
    rows
}

fn lake_objects(dir: &std::path::Path) -> usize {
    fn walk(d: &std::path::Path) -> usize {
        std::fs::read_dir(d)
            .unwrap()
            .map(|e| {
                let p = e.unwrap().path();
                if p.is_dir() {
                    walk(&p)
                } else {
                    1
                }
            })
            .sum()
    }
    walk(dir)
}

#[test]
fn four_shards_read_into_reefer_window_give_no_late_record_and_the_stdin_windows() {
    let stream = unique("merge4");
    admin(&["create-stream", &stream, "4"]);
    let input = fleet_of_issue_10();
    put_stream(&endpoint(), &stream, &input, &[]).success();
    let merged = read_stream(&stream, &[]);
    assert_key_order_kept(&input, &merged.stdout);
    // reefer-window exits 1 when a record is late: success() is "0 late".
    let (direct, shipped) = (windows(&input), windows(&merged.stdout));
    assert_eq!(window_rows(&direct), window_rows(&shipped));
}

#[test]
fn four_shards_into_a_lake_make_as_many_objects_as_stdin_does() {
    let stream = unique("lake4");
    admin(&["create-stream", &stream, "4"]);
    let input = fleet_of_issue_10();
    put_stream(&endpoint(), &stream, &input, &[]).success();
    let dir = tempfile::tempdir().unwrap();
    let (from_stdin, from_kinesis) = (dir.path().join("a"), dir.path().join("b"));
    ship()
        .args(["--to", &format!("file://{}", from_stdin.display())])
        .write_stdin(input.clone())
        .assert()
        .success();
    ship()
        .args(["--from", &format!("kinesis://{stream}")])
        .args(["--to", &format!("file://{}", from_kinesis.display())])
        .assert()
        .success();
    let (a, b) = (lake_objects(&from_stdin), lake_objects(&from_kinesis));
    assert!(a.abs_diff(b) <= 4, "stdin made {a} objects, 4 shards {b}");
}
