//! reefer-window over samples/: golden output, equivalence with an
//! independent GROUP BY, late records, bad lines, CSV, `| head`.

use super::common::*;
use chrono::DateTime;
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command as StdCommand, Stdio};

const FLEET: &str = "samples/fleet.jsonl";

fn fleet_lines() -> Vec<String> {
    std::fs::read_to_string(repo_path(FLEET))
        .unwrap()
        .lines()
        .map(String::from)
        .collect()
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
        assert!((mean - mean2).abs() < 1e-9, "{k:?}: {mean} vs {mean2}");
    }
}

#[test]
fn golden_one_minute_windows() {
    let out = tool("reefer-window").arg(FLEET).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stderr.is_empty());
    golden("tests/fixtures/window/fleet-1m.jsonl", &out.stdout);
}

#[test]
fn golden_hopping_with_every_aggregate() {
    let out = tool("reefer-window")
        .args([
            "--size",
            "10m",
            "--slide",
            "5m",
            "--fields",
            "supply_air_temperature",
        ])
        .args(["--agg", "count,min,max,mean,sum,first,last,stddev", FLEET])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    golden("tests/fixtures/window/fleet-10m-hop-5m.jsonl", &out.stdout);
}

#[test]
fn in_order_input_equals_sql_group_by() {
    let lines = fleet_lines();
    for (size, ms) in [("1m", 60_000), ("5m", 300_000), ("7m", 420_000)] {
        let out = tool("reefer-window")
            .args(["--size", size, FLEET])
            .output()
            .unwrap();
        assert!(out.status.success());
        assert_same(&windows_of(&out.stdout), &group_by(&lines, ms));
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
    let out = tool("reefer-window")
        .args(["--size", "1m", "--lateness", "2m"])
        .write_stdin(shuffled.clone())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_same(&windows_of(&out.stdout), &group_by(&lines, 60_000));
    // With too little lateness the same input has late records, exit 1.
    let out = tool("reefer-window")
        .args(["--size", "1m", "--lateness", "10s"])
        .write_stdin(shuffled)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("late records"));
}

#[test]
fn windows_come_out_in_time_order_and_counts_add_up() {
    let out = tool("reefer-window")
        .args(["--size", "3m", FLEET])
        .output()
        .unwrap();
    let rows = json_lines(&out.stdout);
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
    let out = tool("reefer-window")
        .write_stdin(input.clone())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("reefer-window: 1 late record"), "{err}");
    assert!(err.contains("first at stdin:3"), "{err}");
    let rows = json_lines(&out.stdout);
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0]["count"], 1);
    assert_eq!(rows[0]["temperature_max"], 1.0);

    let dir = tempfile::tempdir().unwrap();
    let late = dir.path().join("late.jsonl");
    let out = tool("reefer-window")
        .arg("--late")
        .arg(&late)
        .write_stdin(input.clone())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("written to"));
    assert_eq!(
        std::fs::read_to_string(&late).unwrap(),
        format!("{}\n", reading("C1", "2026-11-27T03:00:50Z", 3.0))
    );

    // Allowing 30 s of lateness, nothing is late and the record is counted.
    let out = tool("reefer-window")
        .args(["--lateness", "30s"])
        .write_stdin(input)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(json_lines(&out.stdout)[0]["count"], 2);
}

#[test]
fn a_reading_exactly_on_window_end_opens_the_next_window() {
    let input = [
        reading("C1", "2026-11-27T03:00:59.999Z", 1.0),
        reading("C1", "2026-11-27T03:01:00Z", 2.0),
    ]
    .join("\n");
    let out = tool("reefer-window").write_stdin(input).output().unwrap();
    let rows = json_lines(&out.stdout);
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
    let out = tool("reefer-window")
        .arg("--dead-letter")
        .arg(&dl)
        .write_stdin(input.clone())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("reefer-window: stdin:2: invalid JSON"),
        "{err}"
    );
    assert!(
        err.contains("reefer-window: stdin:3: missing required field measurement_time"),
        "{err}"
    );
    assert!(
        err.contains("reefer-window: stdin:4: missing required field container_id"),
        "{err}"
    );
    assert!(
        err.contains("reefer-window: stdin:5: temperature: expected a number"),
        "{err}"
    );
    assert!(err.contains("4 bad lines"), "{err}");
    let rows = json_lines(&out.stdout);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["count"], 2);
    assert_eq!(std::fs::read_to_string(&dl).unwrap().lines().count(), 4);

    let out = tool("reefer-window")
        .args(["--on-bad-input", "fail"])
        .write_stdin(input)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("stopped at stdin:2"));
}

#[test]
fn csv_input_gives_the_same_windows_as_json_lines() {
    let out = tool("reefer-window")
        .arg("samples/small.csv")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    golden("tests/fixtures/window/small-csv-5m.jsonl", &{
        let o = tool("reefer-window")
            .args(["--size", "5m", "samples/small.csv"])
            .output()
            .unwrap();
        o.stdout
    });
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
    let from_json = tool("reefer-window").write_stdin(jsonl).output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&from_json.stdout)
    );
    let total: u64 = json_lines(&out.stdout)
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
    let out = tool("reefer-window")
        .args([
            "--size",
            "1h",
            "--by",
            "product_id",
            "--no-default-fields",
            "--fields",
            "temperature",
        ])
        .args(["--agg", "count", FLEET])
        .output()
        .unwrap();
    assert!(out.status.success());
    let rows = json_lines(&out.stdout);
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
    assert_eq!(total, 4800);
}

#[test]
fn processing_time_windows_every_record() {
    let out = tool("reefer-window")
        .args(["--processing-time", "--size", "1h", FLEET])
        .output()
        .unwrap();
    assert!(out.status.success());
    let total: u64 = json_lines(&out.stdout)
        .iter()
        .map(|w| w["count"].as_u64().unwrap())
        .sum();
    assert_eq!(total, 4800);
}

#[test]
fn print_sql_flink() {
    let out = tool("reefer-window")
        .args(["--size", "1m", "--lateness", "10s", "--print-sql", "flink"])
        .output()
        .unwrap();
    assert!(out.status.success());
    golden("tests/fixtures/window/flink-1m.sql", &out.stdout);
    let out = tool("reefer-window")
        .args([
            "--size",
            "10m",
            "--slide",
            "1m",
            "--offset",
            "30s",
            "--print-sql",
            "flink",
        ])
        .output()
        .unwrap();
    let sql = String::from_utf8(out.stdout).unwrap();
    // The offset shifts the time attribute (Flink 1.x mishandles HOP's offset argument).
    assert!(sql.contains("HOP(TABLE reefer_readings, DESCRIPTOR(`reefer_rowtime`), INTERVAL '1' MINUTE, INTERVAL '10' MINUTE)"), "{sql}");
    assert!(sql.contains(" - INTERVAL '30' SECOND,\n"), "{sql}");
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        vec!["--size", "1m", "--slide", "2m"],
        vec!["--size", "0s"],
        vec!["--agg", "median"],
        vec!["--by", "temperature", "--fields", "temperature"],
        vec!["no-such-file.jsonl"],
    ] {
        let out = tool("reefer-window")
            .args(&args)
            .write_stdin("")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
}

#[test]
fn help_shows_examples() {
    let out = tool("reefer-window").arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("Examples:") && help.contains("--print-sql flink"));
    let mut c = tool("reefer-window");
    let out = c.args(["--completions", "bash"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("reefer-window"));
    let _ = std::io::stdout().flush();
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
    let out = tool("reefer-window")
        .args(["--time-field", "ts", "--by", "site,bay", "--offset", "15s"])
        .args([
            "--no-default-fields",
            "--fields",
            "temperature",
            "--agg",
            "max",
        ])
        .write_stdin(input)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        text,
        "{\"window_start\":\"2026-11-27T02:59:15Z\",\"window_end\":\"2026-11-27T03:00:15Z\",\"site\":\"A\",\"bay\":1,\"product_id\":null,\"count\":1,\"temperature_max\":1.5}\n\
         {\"window_start\":\"2026-11-27T03:00:15Z\",\"window_end\":\"2026-11-27T03:01:15Z\",\"site\":\"A\",\"bay\":2,\"product_id\":null,\"count\":1,\"temperature_max\":2.5}\n\
         {\"window_start\":\"2026-11-27T03:00:15Z\",\"window_end\":\"2026-11-27T03:01:15Z\",\"site\":\"A\",\"bay\":1,\"product_id\":null,\"count\":1,\"temperature_max\":3.5}\n\
         {\"window_start\":\"2026-11-27T03:01:15Z\",\"window_end\":\"2026-11-27T03:02:15Z\",\"site\":\"A\",\"bay\":1,\"product_id\":null,\"count\":1,\"temperature_max\":4.5}\n"
    );
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
    let out = tool("reefer-window").arg(&a).arg(&b).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("b.jsonl:2: invalid JSON"), "{err}");
    let rows = json_lines(&out.stdout);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["count"], 2);
}
