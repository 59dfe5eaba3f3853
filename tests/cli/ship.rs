//! reefer-ship without AWS: stdin, stdout and the local data lake (`file://`).
//! The emulator-backed tests are in tests/aws/ship.rs.

use super::common::*;
use predicates::prelude::*;
use predicates::str::contains;
use std::io::{BufRead, BufReader};
use std::process::Stdio;

fn ship() -> assert_cmd::Command {
    tool("reefer-ship")
}

fn sim(containers: u32, duration: &str, seed: u32) -> Vec<u8> {
    tool("reefer-sim")
        .args(["--containers", &containers.to_string()])
        .args(["--duration", duration, "--seed", &seed.to_string()])
        .args(["--start", "2026-11-27T03:40:00Z", "--interval", "30s"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone()
}

fn count_files(dir: &std::path::Path) -> usize {
    fn walk(d: &std::path::Path) -> usize {
        std::fs::read_dir(d)
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                if e.file_type().unwrap().is_dir() {
                    walk(&e.path())
                } else {
                    1
                }
            })
            .sum()
    }
    walk(dir)
}

/// Input lines numbered 1..: good readings with bad lines between them.
fn good_lines(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            format!(
                "{{\"container_id\":\"C{i}\",\"measurement_time\":\"2026-11-27T03:4{i}:00Z\",\"temperature\":{i}}}"
            )
        })
        .collect()
}

#[test]
fn lake_round_trip_twice_overwrites_and_reads_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let lake = format!("file://{}", dir.path().join("lake").display());
    let input = sim(10, "90m", 12);
    for _ in 0..2 {
        ship()
            .args(["--to", &lake, "--buffer-size", "32KiB"])
            .write_stdin(input.clone())
            .assert()
            .success();
    }
    let files = count_files(dir.path());
    assert!(files > 3, "{files} objects");
    ship()
        .args(["--to", &lake, "--buffer-size", "32KiB"])
        .write_stdin(input.clone())
        .assert()
        .success();
    assert_eq!(count_files(dir.path()), files, "shipping again overwrites");
    assert!(dir.path().join("lake/2026/11/27/03").is_dir());
    assert!(dir.path().join("lake/2026/11/27/05").is_dir());
    let back = ship().args(["--from", &lake]).assert().success();
    let back = &back.get_output().stdout;
    assert_eq!(sorted_lines(&input), sorted_lines(back));
    assert_eq!(per_key_order(&input), per_key_order(back));
}

#[test]
fn lake_accepts_plain_concatenated_firehose_style_objects() {
    let dir = tempfile::tempdir().unwrap();
    let hour = dir.path().join("2026/11/27/03");
    std::fs::create_dir_all(&hour).unwrap();
    std::fs::write(
        hour.join("fh-1-2026-11-27-03-00-00-x"),
        b"{\"a\":1}{\"a\":2}\n{\"a\":3}",
    )
    .unwrap();
    ship()
        .args(["--from", &format!("file://{}", dir.path().display())])
        .assert()
        .success()
        .stdout("{\"a\":1}\n{\"a\":2}\n{\"a\":3}\n");
}

#[test]
fn a_lake_object_with_a_multi_line_1e400_record_is_bad_lines_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let hour = dir.path().join("2026/11/27/03");
    std::fs::create_dir_all(&hour).unwrap();
    let good = good_lines(3);
    let body = format!(
        "{}\n{{\"container_id\":\"X\",\n\"temperature\":1e400}}\n{}{}\n",
        good[0], good[1], good[2]
    );
    std::fs::write(hour.join("obj.jsonl"), &body).unwrap();
    let dl = dir.path().join("bad.txt");
    let out = ship()
        .args(["--from", &format!("file://{}", dir.path().display())])
        .args(["--dead-letter", dl.to_str().unwrap()])
        .assert()
        .code(1)
        .stderr(contains("obj.jsonl:2: invalid JSON"))
        .stderr(contains("obj.jsonl:3: expected a JSON object"))
        .stderr(contains("panicked").not());
    assert_eq!(
        String::from_utf8_lossy(&out.get_output().stdout),
        format!("{}\n{}\n{}\n", good[0], good[1], good[2]),
        "every other record is read"
    );
    assert_eq!(
        std::fs::read_to_string(&dl).unwrap(),
        "{\"container_id\":\"X\",\n\"temperature\":1e400}\n"
    );
}

#[test]
fn a_gzip_lake_object_cut_short_is_reported_and_the_rest_still_read() {
    let dir = tempfile::tempdir().unwrap();
    let lake = format!("file://{}", dir.path().display());
    ship()
        .args(["--to", &lake])
        .write_stdin(sim(3, "10m", 2))
        .assert()
        .success();
    let hour = dir.path().join("2026/11/27/03");
    let obj = std::fs::read_dir(&hour)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let bytes = std::fs::read(&obj).unwrap();
    std::fs::write(&obj, &bytes[..bytes.len() / 2]).unwrap();
    ship()
        .args(["--from", &lake])
        .assert()
        .code(1)
        .stderr(contains("cannot read the object from here on"));
}

#[test]
fn a_lake_reader_that_fails_is_fatal_and_says_how_far_it_got() {
    let dir = tempfile::tempdir().unwrap();
    let hour = dir.path().join("2026/11/27/03");
    std::fs::create_dir_all(&hour).unwrap();
    std::fs::write(hour.join("a.jsonl"), "{\"a\":1}\n{\"a\":2}\n").unwrap();
    std::os::unix::fs::symlink("/nonexistent/object", hour.join("b.jsonl")).unwrap();
    ship()
        .args(["--from", &format!("file://{}", dir.path().display())])
        .assert()
        .code(3)
        .stdout("{\"a\":1}\n{\"a\":2}\n")
        .stderr(contains("stopped after reading 2 records and shipping 2"))
        .stderr(contains("b.jsonl"));
}

#[test]
fn unreachable_endpoint_exits_3_quickly_with_a_clear_message() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    ship()
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ENDPOINT_URL")
        .args(["--endpoint-url", &format!("http://127.0.0.1:{port}")])
        .args(["--to", "kinesis://nowhere"])
        .write_stdin(sim(1, "1m", 1))
        .assert()
        .code(3)
        .stderr(contains("kinesis://nowhere: cannot reach http://127.0.0.1"))
        .stderr(contains("test").not());
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["--from", "firehose://x"][..],
        &["--to", "telemetry"],
        &["--from", "file://x", "--shard", "s"],
        &["--athena-ddl", "t"],
        &["-o", "x.jsonl", "--to", "file://lake"],
    ] {
        ship().args(args).assert().code(2);
    }
    ship()
        .args(["--to", "telemetry"])
        .assert()
        .code(2)
        .stderr(contains("kinesis://"));
}

#[test]
fn athena_ddl_matches_the_golden_file() {
    let out = ship()
        .args(["--to", "s3://my-lake/telemetry"])
        .args(["--athena-ddl", "reefer_telemetry"])
        .assert()
        .success();
    golden("tests/fixtures/ship/athena.sql", &out.get_output().stdout);
}

#[test]
fn a_buffer_interval_past_any_clock_is_a_usage_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    for (span, why) in [("99999999999d", "too long"), ("400d", "out of range")] {
        ship()
            .args(["--to", &format!("file://{}", dir.path().display())])
            .args(["--buffer-interval", span])
            .write_stdin(sim(1, "1m", 1))
            .assert()
            .code(2)
            .stderr(contains("--buffer-interval"))
            .stderr(contains(why))
            .stderr(contains("panicked").not());
    }
}

#[test]
fn stdin_to_stdout_rejects_bad_lines_and_keeps_the_rest() {
    ship()
        .write_stdin("{\"a\":1}\n[2]\n{\"b\":3}\n")
        .assert()
        .code(1)
        .stdout("{\"a\":1}\n{\"b\":3}\n")
        .stderr(contains("reefer-ship: stdin:2: expected a JSON object"));
}

/// Feeds `input` (bad lines among good ones) and checks that the good lines
/// are shipped, the exit status is 1 and the dead letter holds exactly `bad`.
fn bad_lines_are_dead_lettered_byte_for_byte(input: &[u8], good: &str, bad: &[u8]) {
    let dir = tempfile::tempdir().unwrap();
    let dl = dir.path().join("dead.txt");
    ship()
        .args(["--dead-letter", dl.to_str().unwrap()])
        .write_stdin(input.to_vec())
        .assert()
        .code(1)
        .stdout(good.to_string());
    assert_eq!(std::fs::read(&dl).unwrap(), bad);
}

#[test]
fn a_bad_first_line_on_stdin_is_a_bad_line_not_a_csv_header() {
    let g = good_lines(2);
    for first in ["garbage", "[1]", "{\"container_id\":\"MSKU"] {
        let input = format!("{first}\n{}\n{}\n", g[0], g[1]);
        bad_lines_are_dead_lettered_byte_for_byte(
            input.as_bytes(),
            &format!("{}\n{}\n", g[0], g[1]),
            format!("{first}\n").as_bytes(),
        );
    }
}

#[test]
fn a_bom_on_stdin_is_skipped_and_every_record_shipped_as_it_was() {
    let g = good_lines(2);
    let input = format!("\u{feff}{}\n{}\n", g[0], g[1]);
    ship()
        .write_stdin(input)
        .assert()
        .success()
        .stdout(format!("{}\n{}\n", g[0], g[1]));
}

#[test]
fn crlf_and_invalid_utf8_lines_are_dead_lettered_with_their_raw_bytes() {
    let g = good_lines(3);
    let mut input = Vec::new();
    input.extend_from_slice(format!("{}\r\n", g[0]).as_bytes());
    input.extend_from_slice(b"{\"a\":\xff}\r\n");
    input.extend_from_slice(format!("{}\n", g[1]).as_bytes());
    input.extend_from_slice(b"nope\r\n");
    input.extend_from_slice(g[2].as_bytes());
    bad_lines_are_dead_lettered_byte_for_byte(
        &input,
        &format!("{}\n{}\n{}\n", g[0], g[1], g[2]),
        b"{\"a\":\xff}\r\nnope\r\n",
    );
}

#[test]
fn records_the_lake_cannot_place_are_rejected_with_their_raw_line() {
    let dir = tempfile::tempdir().unwrap();
    let dl = dir.path().join("dead.txt");
    let g = good_lines(1);
    let numeric = "{\"container_id\":\"C\",\"measurement_time\":1764000000000}\r\n";
    let missing = "{\"container_id\":\"C\"}\n";
    ship()
        .args([
            "--to",
            &format!("file://{}", dir.path().join("lake").display()),
        ])
        .args(["--dead-letter", dl.to_str().unwrap()])
        .write_stdin(format!("{numeric}{}\n{missing}", g[0]))
        .assert()
        .code(1)
        .stderr(contains(
            "stdin:1: measurement_time: expected an RFC 3339 time",
        ))
        .stderr(contains("stdin:3: no event time"));
    assert_eq!(
        std::fs::read_to_string(&dl).unwrap(),
        format!("{numeric}{missing}")
    );
}

#[test]
fn csv_rows_that_are_rejected_are_dead_lettered_as_the_csv_row() {
    let dir = tempfile::tempdir().unwrap();
    let dl = dir.path().join("dead.txt");
    ship()
        .args([
            "--to",
            &format!("file://{}", dir.path().join("lake").display()),
        ])
        .args(["--dead-letter", dl.to_str().unwrap()])
        .write_stdin("container_id,measurement_time\nC1,2026-11-27T03:40:00Z\nC2,soon\n")
        .assert()
        .code(1)
        .stderr(contains("stdin:3:"));
    assert_eq!(std::fs::read_to_string(&dl).unwrap(), "C2,soon\n");
}

#[test]
fn on_bad_input_fail_stops_at_the_first_bad_line() {
    ship()
        .args(["--on-bad-input", "fail"])
        .write_stdin("{\"a\":1}\nbad\n{\"a\":2}\n")
        .assert()
        .code(1)
        .stdout("{\"a\":1}\n")
        .stderr(contains("stdin:2"));
}

#[test]
fn dash_o_writes_what_goes_to_stdout_into_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.jsonl");
    ship()
        .args(["-o", out.to_str().unwrap()])
        .write_stdin("{\"a\":1}\n")
        .assert()
        .success()
        .stdout("");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "{\"a\":1}\n");
}

#[test]
fn help_states_both_dead_letter_formats() {
    ship()
        .arg("--help")
        .assert()
        .success()
        .stdout(contains("--dead-letter"))
        .stdout(contains("raw bytes"))
        .stdout(contains("--undelivered"))
        .stdout(contains("\"error_code\""));
}

#[test]
fn a_closed_stdout_ends_quietly_with_status_0() {
    let dir = tempfile::tempdir().unwrap();
    let lake = format!("file://{}", dir.path().display());
    ship()
        .args(["--to", &lake])
        .write_stdin(sim(50, "2h", 13))
        .assert()
        .success();
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("reefer-ship"))
        .args(["--from", &lake])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.starts_with('{'));
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn csv_on_stdin_lands_in_the_lake_as_json_and_replays_paced() {
    let dir = tempfile::tempdir().unwrap();
    let lake = format!("file://{}", dir.path().display());
    let csv = std::fs::read(repo_path("samples/small.csv")).unwrap();
    let rows = String::from_utf8_lossy(&csv).lines().count() - 1;
    ship()
        .args(["--to", &lake])
        .write_stdin(csv)
        .assert()
        .success();
    // --pace at a speed-up that makes the replay instant: same records, same order.
    let plain = ship().args(["--from", &lake]).assert().success();
    let plain = plain.get_output().stdout.clone();
    ship()
        .args(["--from", &lake, "--pace", "1000000x"])
        .assert()
        .success()
        .stdout(predicate::eq(plain.clone()));
    assert_eq!(json_lines(&plain).len(), rows);
    assert!(json_lines(&plain)[0]["temperature"].is_number());
}

fn objects_in(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            if p.is_dir() {
                objects_in(&p)
            } else {
                1
            }
        })
        .sum()
}

fn ship_to_lake(input: &[u8], dir: &std::path::Path) -> usize {
    ship()
        .args(["--to", &format!("file://{}", dir.display())])
        .write_stdin(input.to_vec())
        .assert()
        .success();
    objects_in(dir)
}

#[test]
fn one_far_future_record_adds_at_most_two_lake_objects() {
    let input = sim(50, "2h", 3);
    let text = String::from_utf8(input.clone()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let far = lines[0].replace("2026-11-27", "2027-06-01");
    let mut with_far = lines[..lines.len() / 2].join("\n");
    with_far.push('\n');
    with_far.push_str(&far);
    with_far.push('\n');
    with_far.push_str(&lines[lines.len() / 2..].join("\n"));
    with_far.push('\n');
    let dir = tempfile::tempdir().unwrap();
    let plain = ship_to_lake(&input, &dir.path().join("plain"));
    let fragmented = ship_to_lake(with_far.as_bytes(), &dir.path().join("far"));
    assert!(plain > 1, "{plain} objects");
    assert!(
        fragmented <= plain + 2,
        "{plain} objects without the far record, {fragmented} with it"
    );
}

#[test]
fn a_lake_read_back_into_reefer_window_has_no_late_record_and_the_stdin_windows() {
    let input = sim(20, "2h", 7);
    let dir = tempfile::tempdir().unwrap();
    ship_to_lake(&input, dir.path());
    let back = ship()
        .args(["--from", &format!("file://{}", dir.path().display())])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let windows = |bytes: Vec<u8>| {
        // reefer-window exits 1 when a record is late: success() is "0 late".
        tool("reefer-window")
            .write_stdin(bytes)
            .assert()
            .success()
            .get_output()
            .stdout
            .clone()
    };
    assert_eq!(windows(back), windows(input));
}

#[test]
fn a_lake_of_overlapping_objects_is_read_merged_in_event_time() {
    let input = sim(20, "2h", 7);
    let text = String::from_utf8(input.clone()).unwrap();
    // Two writers, half the fleet each: their objects cover the same times.
    let (even, odd): (Vec<&str>, Vec<&str>) = text.lines().partition(|l| {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        v["container_id"]
            .as_str()
            .unwrap()
            .ends_with(['0', '2', '4', '6', '8'])
    });
    let dir = tempfile::tempdir().unwrap();
    for half in [even, odd] {
        ship_to_lake(format!("{}\n", half.join("\n")).as_bytes(), dir.path());
    }
    let back = ship()
        .args(["--from", &format!("file://{}", dir.path().display())])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let times: Vec<String> = json_lines(&back)
        .iter()
        .map(|v| v["measurement_time"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(times.len(), text.lines().count());
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "the lake came back out of event-time order"
    );
}

#[test]
fn credentials_in_the_endpoint_url_are_never_printed() {
    let out = ship()
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env_remove("AWS_PROFILE")
        .args([
            "--endpoint-url",
            "http://bob:PASSWORD@127.0.0.1:1/?token=QTOKEN",
            "--to",
            "kinesis://reefer",
        ])
        .write_stdin("{\"container_id\":\"C1\",\"measurement_time\":\"2026-11-27T03:00:00Z\"}\n")
        .assert()
        .code(3);
    out.stderr(
        contains("cannot reach http://***@127.0.0.1:1/?token=***")
            .and(contains("PASSWORD").not())
            .and(contains("QTOKEN").not()),
    );
}

/// `--time-format` reads zone-less event times, as in every tool: the lake's
/// hours and `--since` follow them.
#[test]
fn zone_less_event_times_with_time_format_land_in_their_hour() {
    let dir = tempfile::tempdir().unwrap();
    let lake = format!("file://{}", dir.path().join("lake").display());
    let input = "{\"container_id\":\"A\",\"measurement_time\":\"27/11/2026 03:10\"}\n\
                 {\"container_id\":\"A\",\"measurement_time\":\"27/11/2026 05:40\"}\n";
    ship()
        .args(["--to", &lake, "--time-format", "%d/%m/%Y %H:%M"])
        .write_stdin(input)
        .assert()
        .success();
    assert!(dir.path().join("lake/2026/11/27/03").is_dir());
    assert!(dir.path().join("lake/2026/11/27/05").is_dir());
    ship()
        .args(["--from", &lake, "--time-format", "%d/%m/%Y %H:%M"])
        .args(["--since", "2026-11-27T05:00:00Z"])
        .assert()
        .success()
        .stdout("{\"container_id\":\"A\",\"measurement_time\":\"27/11/2026 05:40\"}\n");
    // Without the layout the same lines have no event time: bad lines.
    ship()
        .args(["--to", &lake])
        .write_stdin(input)
        .assert()
        .code(1);
}
