//! reefer-window over samples/: golden output, equivalence with an
//! independent GROUP BY, late records, bad lines, CSV, `| head`.

use super::common::*;
use chrono::DateTime;
use predicates::prelude::*;
use predicates::str::contains;
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Command as StdCommand, Stdio};

const FLEET: &str = "samples/fleet.jsonl";

fn fleet_lines() -> Vec<String> {
    std::fs::read_to_string(repo_path(FLEET))
        .unwrap()
        .lines()
        .map(String::from)
        .collect()
}

/// The stdout of a finished assertion.
fn stdout(a: &assert_cmd::assert::Assert) -> Vec<u8> {
    a.get_output().stdout.clone()
}

fn millis(s: &str) -> i64 {
    DateTime::parse_from_rfc3339(s).unwrap().timestamp_millis()
}

/// (container_id, window_start ms) -> (count, min, max, mean) of temperature,
/// computed longhand: SQL `GROUP BY container_id, time_bucket(size, measurement_time)`.
type Groups = BTreeMap<(String, i64), (u64, f64, f64, f64)>;

fn group_by(lines: &[String], size_ms: i64) -> Groups {
    let mut acc: BTreeMap<(String, i64), Vec<f64>> = BTreeMap::new();
    for l in lines {
        let v: Value = serde_json::from_str(l).unwrap();
        let t = millis(v["measurement_time"].as_str().unwrap());
        let bucket = t.div_euclid(size_ms) * size_ms;
        let id = v["container_id"].as_str().unwrap().to_string();
        acc.entry((id, bucket))
            .or_default()
            .push(v["temperature"].as_f64().unwrap());
    }
    acc.into_iter()
        .map(|(k, xs)| {
            let n = xs.len() as u64;
            let min = xs.iter().cloned().fold(f64::INFINITY, f64::min);
            let max = xs.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let mean = xs.iter().sum::<f64>() / n as f64;
            (k, (n, min, max, mean))
        })
        .collect()
}

fn windows_of(out: &[u8]) -> Groups {
    json_lines(out)
        .into_iter()
        .map(|w| {
            let start = millis(w["window_start"].as_str().unwrap());
            let end = millis(w["window_end"].as_str().unwrap());
            assert!(end > start);
            (
                (w["container_id"].as_str().unwrap().to_string(), start),
                (
                    w["count"].as_u64().unwrap(),
                    w["temperature_min"].as_f64().unwrap(),
                    w["temperature_max"].as_f64().unwrap(),
                    w["temperature_mean"].as_f64().unwrap(),
                ),
            )
        })
        .collect()
}

fn assert_same(actual: &Groups, expected: &Groups) {
    assert_eq!(
        actual.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>()
    );
    for (k, (n, min, max, mean)) in expected {
        let (n2, min2, max2, mean2) = actual[k];
        assert_eq!(*n, n2, "{k:?}");
        assert_eq!(*min, min2, "{k:?}");
        assert_eq!(*max, max2, "{k:?}");
        // Means are written rounded to 6 decimals (--precision).
        assert!(
            (mean - mean2).abs() <= 5e-7 + 1e-12,
            "{k:?}: {mean} vs {mean2}"
        );
    }
}

#[test]
fn golden_one_minute_windows() {
    let a = tool("reefer-window")
        .arg(FLEET)
        .assert()
        .success()
        .stderr("");
    golden("tests/fixtures/window/fleet-1m.jsonl", &stdout(&a));
}

#[test]
fn golden_hopping_with_every_aggregate() {
    let a = tool("reefer-window")
        .args(["--size", "10m", "--slide", "5m"])
        .args(["--fields", "supply_air_temperature"])
        .args(["--agg", "count,min,max,mean,sum,first,last,stddev", FLEET])
        .assert()
        .success();
    golden("tests/fixtures/window/fleet-10m-hop-5m.jsonl", &stdout(&a));
}

#[test]
fn in_order_input_equals_sql_group_by() {
    let lines = fleet_lines();
    for (size, ms) in [("1m", 60_000), ("5m", 300_000), ("7m", 420_000)] {
        let a = tool("reefer-window")
            .args(["--size", size, FLEET])
            .assert()
            .success();
        assert_same(&windows_of(&stdout(&a)), &group_by(&lines, ms));
    }
}

#[test]
fn input_shuffled_within_the_lateness_gives_the_same_windows() {
    let lines = fleet_lines();
    // Delay each reading by a pseudo-random 0..120 s and sort by arrival: no
    // reading arrives after one more than 120 s younger than itself.
    let mut arrivals: Vec<(i64, usize)> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let v: Value = serde_json::from_str(l).unwrap();
            let t = millis(v["measurement_time"].as_str().unwrap());
            let delay = (i as i64).wrapping_mul(2_654_435_761).rem_euclid(120_000);
            (t + delay, i)
        })
        .collect();
    arrivals.sort();
    let shuffled: String = arrivals
        .iter()
        .map(|&(_, i)| format!("{}\n", lines[i]))
        .collect();
    assert_ne!(
        shuffled,
        lines.iter().map(|l| format!("{l}\n")).collect::<String>()
    );
    let a = tool("reefer-window")
        .args(["--size", "1m", "--lateness", "2m"])
        .write_stdin(shuffled.clone())
        .assert()
        .success();
    assert_same(&windows_of(&stdout(&a)), &group_by(&lines, 60_000));
    // With too little lateness the same input has late records, exit 1.
    tool("reefer-window")
        .args(["--size", "1m", "--lateness", "10s"])
        .write_stdin(shuffled)
        .assert()
        .code(1)
        .stderr(contains(", late "));
}

/// One container's readings at 10 s from 03:00:00, as JSON Lines.
fn readings_of(temps: &[f64]) -> String {
    temps
        .iter()
        .enumerate()
        .map(|(i, t)| reading("C1", &format!("2026-11-27T03:00:{:02}Z", i * 5), *t) + "\n")
        .collect()
}

#[test]
fn computed_aggregates_are_rounded_to_six_decimals_unless_asked_otherwise() {
    let input = readings_of(&[1.0, 1.0, 1.1]);
    let run = |args: &[&str]| {
        let a = tool("reefer-window")
            .args(["--agg", "min,mean,sum,stddev", "--no-default-fields"])
            .args(["--fields", "temperature"])
            .args(args)
            .write_stdin(input.clone())
            .assert()
            .success();
        String::from_utf8(stdout(&a)).unwrap()
    };
    let default = run(&[]);
    assert!(
        default.contains(r#""temperature_min":1.0,"temperature_mean":1.033333,"temperature_sum":3.1,"temperature_stddev":0.057735}"#),
        "{default}"
    );
    let two = run(&["--precision", "2"]);
    assert!(two.contains(r#""temperature_mean":1.03,"#), "{two}");
    let full = run(&["--precision", "full"]);
    assert!(
        full.contains(r#""temperature_mean":1.0333333333333334,"#),
        "{full}"
    );
    tool("reefer-window")
        .args(["--precision", "18"])
        .write_stdin("")
        .assert()
        .code(2)
        .stderr(contains("from 0 to 17 or `full`"));
}

#[test]
fn means_of_many_readings_lose_no_digits() {
    // Ten readings of 0.1: summed naively, 0.9999999999999999, mean 0.09999999999999999.
    let input = readings_of(&[0.1; 10]);
    let a = tool("reefer-window")
        .args(["--no-default-fields", "--fields", "temperature"])
        .args(["--agg", "mean,sum", "--precision", "full"])
        .write_stdin(input)
        .assert()
        .success();
    let out = String::from_utf8(stdout(&a)).unwrap();
    assert!(
        out.contains(r#""temperature_mean":0.1,"temperature_sum":1.0}"#),
        "{out}"
    );
}

#[test]
fn windows_come_out_in_time_order_and_counts_add_up() {
    let a = tool("reefer-window")
        .args(["--size", "3m", FLEET])
        .assert()
        .success();
    let rows = json_lines(&stdout(&a));
    let ends: Vec<i64> = rows
        .iter()
        .map(|w| millis(w["window_end"].as_str().unwrap()))
        .collect();
    assert!(ends.windows(2).all(|p| p[0] <= p[1]));
    let total: u64 = rows.iter().map(|w| w["count"].as_u64().unwrap()).sum();
    assert_eq!(total, fleet_lines().len() as u64);
}

const A: &str = r#"{"container_id":"C1","measurement_time":"2026-11-27T03:00:10Z","product_id":"P01","temperature":1.0,"kilowatts":2,"oxygen_level":20.9,"carbon_dioxide_level":0.04,"fan_1":true}"#;

fn reading(id: &str, time: &str, temp: f64) -> String {
    A.replace("C1", id)
        .replace("2026-11-27T03:00:10Z", time)
        .replace("1.0", &temp.to_string())
}

#[test]
fn late_records_are_counted_reported_and_kept() {
    let input = [
        reading("C1", "2026-11-27T03:00:10Z", 1.0),
        reading("C1", "2026-11-27T03:01:10Z", 2.0),
        reading("C1", "2026-11-27T03:00:50Z", 3.0), // late: [03:00, 03:01) is out
        reading("C2", "2026-11-27T03:01:20Z", 4.0),
    ]
    .join("\n");
    let a = tool("reefer-window")
        .write_stdin(input.clone())
        .assert()
        .code(1)
        .stderr(contains(
            "rejected 0, late 1 (their windows were already emitted; first at stdin:3",
        ));
    let rows = json_lines(&stdout(&a));
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0]["count"], 1);
    assert_eq!(rows[0]["temperature_max"], 1.0);

    let dir = tempfile::tempdir().unwrap();
    let late = dir.path().join("late.jsonl");
    tool("reefer-window")
        .arg("--late")
        .arg(&late)
        .write_stdin(input.clone())
        .assert()
        .code(1)
        .stderr(contains("; kept in "));
    assert_eq!(
        std::fs::read_to_string(&late).unwrap(),
        format!("{}\n", reading("C1", "2026-11-27T03:00:50Z", 3.0))
    );

    // Allowing 30 s of lateness, nothing is late and the record is counted.
    let a = tool("reefer-window")
        .args(["--lateness", "30s"])
        .write_stdin(input)
        .assert()
        .success();
    assert_eq!(json_lines(&stdout(&a))[0]["count"], 2);
}

#[test]
fn a_reading_exactly_on_window_end_opens_the_next_window() {
    let input = [
        reading("C1", "2026-11-27T03:00:59.999Z", 1.0),
        reading("C1", "2026-11-27T03:01:00Z", 2.0),
    ]
    .join("\n");
    let a = tool("reefer-window").write_stdin(input).assert().success();
    let rows = json_lines(&stdout(&a));
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["window_end"], "2026-11-27T03:01:00Z");
    assert_eq!(rows[1]["window_start"], "2026-11-27T03:01:00Z");
    assert_eq!(rows[1]["temperature_min"], 2.0);
}

#[test]
fn bad_lines_are_reported_with_line_numbers_and_skipped() {
    let input = [
        reading("C1", "2026-11-27T03:00:10Z", 1.0),
        "{\"container_id\": \"C1\", oops".to_string(),
        reading("C1", "2026-11-27T03:00:20Z", 2.0)
            .replace(r#""measurement_time":"2026-11-27T03:00:20Z","#, ""),
        reading("C1", "2026-11-27T03:00:30Z", 3.0).replace(r#""container_id":"C1","#, ""),
        reading("C1", "2026-11-27T03:00:40Z", 4.0)
            .replace(r#""temperature":4,"#, r#""temperature":"hot","#),
        String::new(),
        reading("C1", "2026-11-27T03:00:50Z", 5.0),
    ]
    .join("\n");
    let dir = tempfile::tempdir().unwrap();
    let dl = dir.path().join("dead.jsonl");
    let a = tool("reefer-window")
        .arg("--dead-letter")
        .arg(&dl)
        .write_stdin(input.clone())
        .assert()
        .code(1)
        .stderr(
            contains("reefer-window: stdin:2: invalid JSON")
                .and(contains(
                    "reefer-window: stdin:3: missing required field measurement_time",
                ))
                .and(contains(
                    "reefer-window: stdin:4: missing required field container_id",
                ))
                .and(contains(
                    "reefer-window: stdin:5: temperature: expected a number",
                ))
                .and(contains("rejected 4 (kept in ")),
        );
    let rows = json_lines(&stdout(&a));
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["count"], 2);
    assert_eq!(std::fs::read_to_string(&dl).unwrap().lines().count(), 4);

    tool("reefer-window")
        .args(["--on-bad-input", "fail"])
        .write_stdin(input)
        .assert()
        .code(1)
        .stderr(contains("stopped at stdin:2"));
}

#[test]
fn a_bad_first_line_on_stdin_is_reported_and_the_rest_windowed() {
    for first in [
        "garbage",
        "[1]",
        "{\"container_id\":\"C1\",\"measurement_ti",
        "a,b",
    ] {
        let input = format!(
            "{first}\n{}\n{}\n",
            reading("C1", "2026-11-27T03:00:10Z", 1.0),
            reading("C1", "2026-11-27T03:00:20Z", 2.0)
        );
        let a = tool("reefer-window")
            .write_stdin(input)
            .assert()
            .code(1)
            .stderr(contains("reefer-window: stdin:1: ").and(contains("rejected 1 (")));
        let rows = json_lines(&stdout(&a));
        assert_eq!(rows.len(), 1, "{first}");
        assert_eq!(rows[0]["count"], 2, "{first}");
    }
}

#[test]
fn a_utf8_bom_before_the_first_record_is_skipped() {
    let input = format!(
        "\u{feff}{}\n{}\n",
        reading("C1", "2026-11-27T03:00:10Z", 1.0),
        reading("C1", "2026-11-27T03:00:20Z", 2.0)
    );
    // Nothing rejected (exit 0); the only note is about the fields these
    // short readings lack.
    let a = tool("reefer-window")
        .write_stdin(input)
        .assert()
        .success()
        .stderr(predicates::str::contains("rejected").not())
        .stderr(predicates::str::contains("fields without a value"));
    let rows = json_lines(&stdout(&a));
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["count"], 2);
}

#[test]
fn a_field_that_disappears_later_is_counted_and_reported() {
    let full = reading("C1", "2026-11-27T03:00:10Z", 1.0);
    let later = full.replace("\"temperature\":1,", "");
    assert_ne!(full, later, "the reading helper's temperature field moved");
    let dir = tempfile::tempdir().unwrap();
    let stats = dir.path().join("stats.json");
    tool("reefer-window")
        .args(["--fields", "temperature", "--stats-json"])
        .arg(&stats)
        .write_stdin(format!("{full}\n{later}\n{later}\n"))
        .assert()
        .success()
        .stderr(predicates::str::contains("temperature in 2 of 3"));
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&stats).unwrap()).unwrap();
    assert_eq!(s["without_value"]["temperature"], 2);
}

#[test]
fn dead_letters_are_the_bad_lines_byte_for_byte_crlf_and_invalid_utf8_included() {
    let good = reading("C1", "2026-11-27T03:00:10Z", 1.0);
    let mut input = Vec::new();
    input.extend_from_slice(format!("{good}\r\n").as_bytes());
    let bad_crlf = b"{\"container_id\":\"C1\", oops\r\n".to_vec();
    let bad_utf8 = b"{\"container_id\":\"C\xff1\"}\n".to_vec();
    let bad_last = b"not json, no newline".to_vec();
    input.extend_from_slice(&bad_crlf);
    input.extend_from_slice(format!("{good}\r\n").as_bytes());
    input.extend_from_slice(&bad_utf8);
    input.extend_from_slice(&bad_last);
    let dir = tempfile::tempdir().unwrap();
    let dl = dir.path().join("dead");
    tool("reefer-window")
        .arg("--dead-letter")
        .arg(&dl)
        .write_stdin(input)
        .assert()
        .code(1)
        .stderr(
            contains("stdin:2:")
                .and(contains("stdin:4: not valid UTF-8"))
                .and(contains("stdin:5:")),
        );
    // The input's last line lacked a line ending: the dead letter ends it,
    // so that the file can be appended to and fed again.
    assert_eq!(
        std::fs::read(&dl).unwrap(),
        [bad_crlf, bad_utf8, bad_last, b"\n".to_vec()].concat()
    );
}

#[test]
fn a_window_ending_after_year_9999_is_a_bad_line_not_an_unreadable_time() {
    let input = [
        reading("C1", "9999-12-31T23:59:30Z", 1.0),
        reading("C1", "9999-12-31T23:58:30Z", 2.0),
    ]
    .join("\n");
    let a = tool("reefer-window")
        .write_stdin(input.clone())
        .assert()
        .code(1)
        .stderr(contains(
            "stdin:1: measurement_time: 9999-12-31T23:59:30Z has windows outside",
        ));
    let out = String::from_utf8(stdout(&a)).unwrap();
    assert!(!out.contains("+10000"), "{out}");
    let rows = json_lines(out.as_bytes());
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["window_end"], "9999-12-31T23:59:00Z");
    // Everything written reads back: reefer-window's rows through reefer-window.
    tool("reefer-window")
        .args(["--time-field", "window_start", "--by", "container_id"])
        .write_stdin(out)
        .assert()
        .success();
    // Hopping windows that would start before year 0000.
    tool("reefer-window")
        .args(["--size", "10m", "--slide", "5m"])
        .write_stdin(reading("C1", "0000-01-01T00:01:00Z", 1.0))
        .assert()
        .code(1)
        .stderr(contains("outside the times every tool can write"));
}

#[test]
fn durations_that_overflow_are_usage_errors() {
    for args in [
        ["--size", "99999999999d"],
        ["--size", "99999999999999999999999"],
        ["--lateness", "99999999999d"],
        ["--offset", "1e300"],
    ] {
        tool("reefer-window")
            .args(args)
            .write_stdin(reading("C1", "2026-11-27T03:00:10Z", 1.0))
            .assert()
            .code(2)
            .stdout("")
            .stderr(contains("too long"));
    }
}

#[test]
fn an_input_that_cannot_be_read_is_fatal_and_says_how_far_it_got() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("a.jsonl");
    std::fs::write(
        &good,
        format!("{}\n", reading("C1", "2026-11-27T03:00:10Z", 1.0)),
    )
    .unwrap();
    tool("reefer-window")
        .arg(&good)
        .arg(dir.path())
        .assert()
        .code(3)
        .stderr(contains("(1 records windowed)"));
}

#[test]
fn csv_input_gives_the_same_windows_as_json_lines() {
    let a = tool("reefer-window")
        .arg("samples/small.csv")
        .assert()
        .success();
    let b = tool("reefer-window")
        .args(["--size", "5m", "samples/small.csv"])
        .assert()
        .success();
    golden("tests/fixtures/window/small-csv-5m.jsonl", &stdout(&b));
    // The same rows as JSON Lines, through the fast path, on stdin.
    let csv = std::fs::read_to_string(repo_path("samples/small.csv")).unwrap();
    let mut rdr = csv::Reader::from_reader(csv.as_bytes());
    let headers = rdr.headers().unwrap().clone();
    let mut jsonl = String::new();
    for row in rdr.records() {
        let row = row.unwrap();
        let mut m = serde_json::Map::new();
        for (h, f) in headers.iter().zip(row.iter()) {
            m.insert(h.to_string(), reefer::codec::csv_value(f));
        }
        jsonl.push_str(&Value::Object(m).to_string());
        jsonl.push('\n');
    }
    tool("reefer-window")
        .write_stdin(jsonl)
        .assert()
        .success()
        .stdout(String::from_utf8(stdout(&a)).unwrap());
    // And CSV on stdin, found by its header.
    tool("reefer-window")
        .write_stdin(csv)
        .assert()
        .success()
        .stdout(String::from_utf8(stdout(&a)).unwrap());
    let total: u64 = json_lines(&stdout(&a))
        .iter()
        .map(|w| w["count"].as_u64().unwrap())
        .sum();
    assert_eq!(total, 150);
}

#[test]
fn head_ends_quietly() {
    let mut child = StdCommand::new(assert_cmd::cargo::cargo_bin("reefer-window"))
        .args(["--size", "30s", FLEET])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    // The reader is gone (like `| head -1`).
    let out = child.wait_with_output().unwrap();
    assert!(first.starts_with("{\"window_start\""));
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}

#[test]
fn group_by_other_keys_and_carry() {
    let a = tool("reefer-window")
        .args(["--size", "1h", "--by", "product_id", "--no-default-fields"])
        .args(["--fields", "temperature", "--agg", "count", FLEET])
        .assert()
        .success();
    let rows = json_lines(&stdout(&a));
    let first = rows[0].as_object().unwrap();
    let cols: Vec<&str> = first.keys().map(String::as_str).collect();
    assert_eq!(
        cols,
        [
            "window_start",
            "window_end",
            "product_id",
            "count",
            "temperature_count"
        ]
    );
    let total: u64 = rows.iter().map(|w| w["count"].as_u64().unwrap()).sum();
    // Every reading of the sample (20 containers x 240 steps, less its power-cut gap).
    assert_eq!(total, 4680);
}

#[test]
fn processing_time_windows_every_record() {
    let a = tool("reefer-window")
        .args(["--processing-time", "--size", "1h", FLEET])
        .assert()
        .success();
    let total: u64 = json_lines(&stdout(&a))
        .iter()
        .map(|w| w["count"].as_u64().unwrap())
        .sum();
    // Every reading of the sample (20 containers x 240 steps, less its power-cut gap).
    assert_eq!(total, 4680);
}

#[test]
fn output_goes_to_a_file_with_dash_o() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("w.jsonl");
    tool("reefer-window")
        .arg("-o")
        .arg(&out)
        .arg(FLEET)
        .assert()
        .success()
        .stdout("");
    golden(
        "tests/fixtures/window/fleet-1m.jsonl",
        &std::fs::read(&out).unwrap(),
    );
}

#[test]
fn processing_time_windows_close_while_a_live_pipe_is_idle() {
    use std::io::Write;
    let mut child = StdCommand::new(assert_cmd::cargo::cargo_bin("reefer-window"))
        .args(["--processing-time", "--size", "1s"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(b"{\"container_id\":\"C1\",\"temperature\":1}\n")
        .unwrap();
    stdin.flush().unwrap();
    let out = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut first = String::new();
        let _ = BufReader::new(out).read_line(&mut first);
        let _ = tx.send(first);
    });
    // The input stays open: the window must come out on the clock alone.
    let first = rx.recv_timeout(std::time::Duration::from_secs(20));
    drop(stdin);
    let status = child.wait().unwrap();
    let first = first.expect("no window while the input was idle");
    assert!(first.contains("\"count\":1"), "{first}");
    assert!(status.success());
}

#[test]
fn print_sql_flink() {
    let a = tool("reefer-window")
        .args(["--size", "1m", "--lateness", "10s", "--print-sql", "flink"])
        .assert()
        .success();
    golden("tests/fixtures/window/flink-1m.sql", &stdout(&a));
    // The offset shifts the time attribute (Flink 1.x mishandles HOP's offset argument).
    tool("reefer-window")
        .args(["--size", "10m", "--slide", "1m", "--offset", "30s"])
        .args(["--print-sql", "flink"])
        .assert()
        .success()
        .stdout(contains("HOP(TABLE reefer_readings, DESCRIPTOR(`reefer_rowtime`), INTERVAL '1' MINUTE, INTERVAL '10' MINUTE)"))
        .stdout(contains(" - INTERVAL '30' SECOND,\n"));
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        vec!["--size", "1m", "--slide", "2m"],
        vec!["--size", "0s"],
        vec!["--agg", "median"],
        vec!["--by", "temperature", "--fields", "temperature"],
        vec!["--threads", "0"],
        vec!["no-such-file.jsonl"],
    ] {
        tool("reefer-window")
            .args(&args)
            .write_stdin("")
            .assert()
            .code(2);
    }
}

#[test]
fn help_shows_examples() {
    tool("reefer-window")
        .arg("--help")
        .assert()
        .success()
        .stdout(contains("Examples:").and(contains("--print-sql flink")));
    tool("reefer-window")
        .args(["--completions", "bash"])
        .assert()
        .success()
        .stdout(contains("reefer-window"));
}

#[test]
fn other_time_field_offset_and_two_keys() {
    let input = [
        r#"{"site":"A","bay":1,"ts":"2026-11-27T03:00:14Z","temperature":1.5}"#,
        r#"{"site":"A","bay":2,"ts":"2026-11-27T03:00:16Z","temperature":2.5}"#,
        r#"{"site":"A","bay":1,"ts":"2026-11-27T03:00:20Z","temperature":3.5}"#,
        r#"{"site":"A","bay":1,"ts":"2026-11-27T03:01:15Z","temperature":4.5}"#,
    ]
    .join("\n");
    tool("reefer-window")
        .args(["--time-field", "ts", "--by", "site,bay", "--offset", "15s"])
        .args(["--no-default-fields", "--fields", "temperature", "--agg", "max"])
        .write_stdin(input)
        .assert()
        .success()
        .stdout(
            "{\"window_start\":\"2026-11-27T02:59:15Z\",\"window_end\":\"2026-11-27T03:00:15Z\",\"site\":\"A\",\"bay\":1,\"product_id\":null,\"count\":1,\"temperature_max\":1.5}\n\
             {\"window_start\":\"2026-11-27T03:00:15Z\",\"window_end\":\"2026-11-27T03:01:15Z\",\"site\":\"A\",\"bay\":2,\"product_id\":null,\"count\":1,\"temperature_max\":2.5}\n\
             {\"window_start\":\"2026-11-27T03:00:15Z\",\"window_end\":\"2026-11-27T03:01:15Z\",\"site\":\"A\",\"bay\":1,\"product_id\":null,\"count\":1,\"temperature_max\":3.5}\n\
             {\"window_start\":\"2026-11-27T03:01:15Z\",\"window_end\":\"2026-11-27T03:02:15Z\",\"site\":\"A\",\"bay\":1,\"product_id\":null,\"count\":1,\"temperature_max\":4.5}\n",
        );
}

#[test]
fn a_numeric_event_time_is_a_bad_line() {
    tool("reefer-window")
        .write_stdin(A.replace("\"2026-11-27T03:00:10Z\"", "1795748410000"))
        .assert()
        .code(1)
        .stderr(contains(
            "stdin:1: measurement_time: expected an RFC 3339 time, found 1795748410000",
        ));
}

#[test]
fn several_files_are_one_stream_with_their_own_line_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.jsonl");
    let b = dir.path().join("b.jsonl");
    std::fs::write(
        &a,
        format!("{}\n", reading("C1", "2026-11-27T03:00:10Z", 1.0)),
    )
    .unwrap();
    std::fs::write(
        &b,
        format!("{}\nnot json\n", reading("C1", "2026-11-27T03:00:20Z", 2.0)),
    )
    .unwrap();
    let out = tool("reefer-window")
        .arg(&a)
        .arg(&b)
        .assert()
        .code(1)
        .stderr(contains("b.jsonl:2: invalid JSON"));
    let rows = json_lines(&stdout(&out));
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["count"], 2);
}
