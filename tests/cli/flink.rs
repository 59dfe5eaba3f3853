//! The Flink SQL of `reefer-window --print-sql flink`, run in a real Flink
//! (PyFlink's local mini-cluster, tests/flink/run.py) with only the Kinesis
//! connectors swapped for local files, gives the windows reefer-window gives
//! on the same input: the same keys and counts, means within 1e-9; and the
//! SQL of a `--where` filter passes the readings `reefer-detect --where` passes,
//! and the SQL of a rules file's threshold rules (MATCH_RECOGNIZE) opens the
//! episodes `reefer-detect --rules` opens, with the same since and detected_at.
//!
//! Needs PyFlink: `REEFER_TEST_FLINK_PYTHON` lists the Python of each Flink
//! version's virtualenv, separated by `:` (scripts/test-flink.sh installs them
//! and sets it). Without it the test says so and passes, so that plain
//! `cargo test` needs no Java; with it, any difference or runner failure fails.
//! `REEFER_TEST_FLINK_CASES=name,...` runs only those cases (while developing).

use crate::common::{repo_path, tool};
use predicates::prelude::PredicateBooleanExt;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// A session time zone 5:45 from UTC: any window that followed the session
/// zone would move, whatever its size.
const ZONES: [&str; 2] = ["UTC", "Asia/Kathmandu"];

const ALL_AGGS: &str = "count,min,max,mean,sum,first,last,stddev";

/// One reefer-window invocation checked against Flink.
struct Case {
    name: &'static str,
    input: &'static str,
    args: &'static [&'static str],
    /// The group keys (`--by`), to match rows.
    keys: &'static [&'static str],
    /// reefer-window must report late rows: the case exercises dropping.
    expect_late: bool,
}

const BY_CONTAINER: &[&str] = &["container_id"];

const CASES: &[Case] = &[
    Case {
        name: "tumbling",
        input: "fleet",
        args: &[],
        keys: BY_CONTAINER,
        expect_late: false,
    },
    Case {
        name: "hopping-with-carry",
        input: "fleet",
        args: &["--size", "1m", "--slide", "20s"],
        keys: BY_CONTAINER,
        expect_late: false,
    },
    Case {
        name: "hopping-all-aggregates",
        input: "fleet",
        args: &["--size", "2m", "--slide", "30s", "--agg", ALL_AGGS],
        keys: BY_CONTAINER,
        expect_late: false,
    },
    Case {
        name: "by-product",
        input: "fleet",
        args: &["--by", "product_id", "--agg", ALL_AGGS],
        keys: &["product_id"],
        expect_late: false,
    },
    Case {
        name: "lateness-shuffled",
        input: "shuffled",
        args: &["--lateness", "30s"],
        keys: BY_CONTAINER,
        expect_late: true,
    },
    Case {
        name: "lateness-shuffled-hopping",
        input: "shuffled",
        args: &["--lateness", "30s", "--size", "1m", "--slide", "30s"],
        keys: BY_CONTAINER,
        expect_late: true,
    },
    Case {
        name: "lateness-boundary",
        input: "boundary",
        args: &["--lateness", "30s", "--agg", "count,mean,last"],
        keys: BY_CONTAINER,
        expect_late: false,
    },
    Case {
        name: "offset",
        input: "fleet",
        args: &["--offset", "15s"],
        keys: BY_CONTAINER,
        expect_late: false,
    },
    Case {
        name: "offset-hopping",
        input: "fleet",
        args: &["--size", "1m", "--slide", "20s", "--offset", "5s"],
        keys: BY_CONTAINER,
        expect_late: false,
    },
    Case {
        name: "hourly",
        input: "days",
        args: &["--size", "1h", "--agg", ALL_AGGS],
        keys: BY_CONTAINER,
        expect_late: false,
    },
    Case {
        name: "daily",
        input: "days",
        args: &["--size", "1d", "--by", "product_id"],
        keys: &["product_id"],
        expect_late: false,
    },
    Case {
        name: "all-aggregates",
        input: "fleet",
        args: &["--agg", ALL_AGGS, "--fields", "fan_2,humidity_level"],
        keys: BY_CONTAINER,
        expect_late: false,
    },
    Case {
        name: "nulls",
        input: "nulls",
        args: &["--agg", ALL_AGGS],
        keys: BY_CONTAINER,
        expect_late: false,
    },
    Case {
        name: "nulls-hopping",
        input: "nulls",
        args: &["--size", "1m", "--slide", "30s", "--agg", ALL_AGGS],
        keys: BY_CONTAINER,
        expect_late: false,
    },
];

fn sim(args: &[&str]) -> Vec<Map<String, Value>> {
    let out = tool("reefer-sim")
        .args(["--start", "2026-11-27T00:00:00Z"])
        .args(args)
        .output()
        .expect("running reefer-sim");
    assert!(out.status.success(), "reefer-sim {args:?} failed");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("reefer-sim writes JSON objects"))
        .collect()
}

/// A small deterministic generator (64-bit LCG), so inputs need no RNG crate.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

/// Readings moved out of time order: each is delayed by up to 45 s, more
/// than the 30 s of lateness the cases allow, so some arrive late.
fn shuffled(rows: &[Map<String, Value>]) -> Vec<Map<String, Value>> {
    let mut rng = Lcg(14);
    let mut keyed: Vec<(i64, usize)> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let t = r["measurement_time"]
                .as_str()
                .expect("reefer-sim writes times");
            let t = chrono::DateTime::parse_from_rfc3339(t).expect("an RFC 3339 time");
            (t.timestamp_millis() + rng.below(45_000) as i64, i)
        })
        .collect();
    keyed.sort();
    keyed.into_iter().map(|(_, i)| rows[i].clone()).collect()
}

/// Nulls in numbers, booleans and the carried product, one container
/// whose temperature never changes (a standard deviation of 0), and one
/// without `fan_2` (its `fan_2_true` is null in every window, not 0).
fn with_nulls(rows: &[Map<String, Value>]) -> Vec<Map<String, Value>> {
    let constant = rows[0]["container_id"].clone();
    let no_fan_2 = rows[1]["container_id"].clone();
    assert_ne!(constant, no_fan_2);
    rows.iter()
        .enumerate()
        .map(|(i, r)| {
            let mut r = r.clone();
            if r["container_id"] == constant {
                r.insert("temperature".into(), Value::from(4.5));
            }
            if r["container_id"] == no_fan_2 {
                r.remove("fan_2");
            }
            if i % 7 == 3 {
                r.insert("temperature".into(), Value::Null);
            }
            if i % 5 == 1 {
                r.insert("kilowatts".into(), Value::Null);
            }
            if i % 11 == 2 {
                r.insert("door_open".into(), Value::Null);
            }
            if i % 13 == 6 {
                r.remove("fan_1");
            }
            if i % 17 == 9 {
                r.insert("product_id".into(), Value::Null);
            }
            r
        })
        .collect()
}

/// Time order with, for a few minute windows, a reading 1 ms before the
/// watermark reaches the window's end (end + 30 s - 1 ms) followed by one
/// inside the window: on time in reefer-window, so also in Flink, whose own
/// rule (fire at end - 1 ms) would drop it.
fn on_the_boundary(rows: &[Map<String, Value>]) -> Vec<Map<String, Value>> {
    let time = |r: &Map<String, Value>| {
        let t = r["measurement_time"]
            .as_str()
            .expect("reefer-sim writes times");
        chrono::DateTime::parse_from_rfc3339(t)
            .expect("an RFC 3339 time")
            .timestamp_millis()
    };
    let at = |template: &Map<String, Value>, ms: i64| {
        let mut r = template.clone();
        r.insert("container_id".into(), Value::from("BNDU0000001"));
        let t = chrono::DateTime::from_timestamp_millis(ms).expect("a time in range");
        r.insert(
            "measurement_time".into(),
            Value::from(t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()),
        );
        r
    };
    let start = time(&rows[0]);
    let mut out = Vec::new();
    let mut next = 1;
    for r in rows {
        let end = start + next * 300_000;
        if next <= 5 && time(r) > end + 30_000 - 1 {
            out.push(at(r, end + 30_000 - 1));
            out.push(at(r, end - 1000));
            next += 1;
        }
        out.push(r.clone());
    }
    out
}

fn write_jsonl(path: &Path, rows: &[Map<String, Value>]) {
    let mut text = String::new();
    for r in rows {
        text.push_str(&serde_json::to_string(r).expect("serializing a row"));
        text.push('\n');
    }
    std::fs::write(path, text).expect("writing an input file");
}

/// The inputs, by name, as files in `dir`.
fn inputs(dir: &Path) -> BTreeMap<&'static str, PathBuf> {
    let fleet = sim(&["--containers", "12", "--duration", "40m", "--seed", "11"]);
    let days = sim(&[
        "--containers",
        "6",
        "--duration",
        "3d",
        "--interval",
        "10m",
        "--seed",
        "12",
    ]);
    let mut files = BTreeMap::new();
    for (name, rows) in [
        ("fleet", fleet.clone()),
        ("shuffled", shuffled(&fleet)),
        ("nulls", with_nulls(&fleet)),
        ("boundary", on_the_boundary(&fleet)),
        ("days", days),
    ] {
        let path = dir.join(format!("{name}.jsonl"));
        write_jsonl(&path, &rows);
        files.insert(name, path);
    }
    files
}

/// Rows by window and key.
type Rows = BTreeMap<Vec<String>, Map<String, Value>>;

fn rows(text: &str, keys: &[&str], what: &str) -> Rows {
    let mut out = Rows::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let row: Map<String, Value> =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{what}: {e}: {line}"));
        let mut id = vec![
            row["window_start"].to_string(),
            row["window_end"].to_string(),
        ];
        id.extend(
            keys.iter()
                .map(|k| row.get(*k).unwrap_or(&Value::Null).to_string()),
        );
        if let Some(old) = out.insert(id.clone(), row) {
            panic!("{what}: two rows for window and key {id:?}: {old:?}");
        }
    }
    out
}

fn same_value(field: &str, want: &Value, got: &Value) -> bool {
    match (want, got) {
        (Value::Number(w), Value::Number(g)) => {
            if let (Some(w), Some(g)) = (w.as_i64(), g.as_i64()) {
                return w == g;
            }
            let (w, g) = (
                w.as_f64().unwrap_or(f64::NAN),
                g.as_f64().unwrap_or(f64::NAN),
            );
            // Flink's STDDEV_SAMP sums squares, reefer-window uses Welford's
            // method: for small spreads around large values they part in the
            // ninth digit, so the standard deviation gets 1e-6.
            let rel = if field.ends_with("_stddev") {
                1e-6
            } else {
                1e-9
            };
            // Sums that cancel to about zero (temperatures around 0 °C) end
            // as ±1e-18 or 0 depending on the order of additions, which
            // hopping windows' slices change: an absolute 1e-12 beside the
            // relative bound, far below the readings' 0.01 resolution.
            (w - g).abs() <= rel * w.abs().max(g.abs()) + 1e-12
        }
        _ => want == got,
    }
}

/// Every difference between reefer-window's rows and Flink's, as text.
fn differences(want: &Rows, got: &Rows) -> Vec<String> {
    let mut diffs = Vec::new();
    for (id, w) in want {
        let Some(g) = got.get(id) else {
            diffs.push(format!("window {id:?} missing in Flink"));
            continue;
        };
        for (field, wv) in w {
            match g.get(field) {
                None => diffs.push(format!("window {id:?}: Flink has no {field}")),
                Some(gv) if !same_value(field, wv, gv) => diffs.push(format!(
                    "window {id:?}: {field} is {wv} in reefer-window, {gv} in Flink"
                )),
                Some(_) => {}
            }
        }
        for field in g.keys().filter(|f| !w.contains_key(*f)) {
            diffs.push(format!("window {id:?}: Flink has an extra {field}"));
        }
    }
    for id in got.keys().filter(|id| !want.contains_key(*id)) {
        diffs.push(format!("window {id:?} only in Flink"));
    }
    diffs
}

/// The `--where` filters checked against Flink: name, condition, input.
const WHERE_CASES: &[(&str, &str, &str)] = &[
    ("where-faulty-reefers", "temperature > 12", "fleet"),
    (
        "where-and-or-with-nulls",
        "temperature > 5 and door_open == false or product_id != P04 and kilowatts < 2",
        "nulls",
    ),
    (
        "where-null",
        "temperature == null or fan_1 != true",
        "nulls",
    ),
];

/// What reefer-window or reefer-detect wrote for one check.
enum Want {
    /// Windows by window and key.
    Windows {
        keys: &'static [&'static str],
        rows: Rows,
    },
    /// The readings a `--where` passed, in order.
    Readings(Vec<Map<String, Value>>),
    /// The `open` events of threshold rules, as sorted event rows.
    Opened(Vec<Vec<String>>),
}

/// One check: its name, the printed SQL, the input and what must come out.
struct Check {
    name: String,
    sql: String,
    input: PathBuf,
    want: Want,
}

fn window_checks(cases: &[&Case], files: &BTreeMap<&str, PathBuf>) -> Vec<Check> {
    let mut checks = Vec::new();
    for case in cases {
        let input = &files[case.input];
        let sql = tool("reefer-window")
            .args(["--print-sql", "flink"])
            .args(case.args)
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let run = tool("reefer-window")
            .args(case.args)
            .arg(input)
            .output()
            .expect("reefer-window");
        let late = String::from_utf8_lossy(&run.stderr).contains(", late ");
        assert_eq!(
            late,
            case.expect_late,
            "{}: reefer-window late rows: {}",
            case.name,
            String::from_utf8_lossy(&run.stderr)
        );
        let want = rows(&String::from_utf8_lossy(&run.stdout), case.keys, case.name);
        assert!(
            !want.is_empty(),
            "{}: reefer-window wrote no windows",
            case.name
        );
        checks.push(Check {
            name: case.name.to_string(),
            sql: String::from_utf8_lossy(&sql).into_owned(),
            input: input.clone(),
            want: Want::Windows {
                keys: case.keys,
                rows: want,
            },
        });
    }
    checks
}

fn where_checks(files: &BTreeMap<&str, PathBuf>) -> Vec<Check> {
    let mut checks = Vec::new();
    for (name, condition, input) in WHERE_CASES {
        let input = &files[input];
        let expr = reefer::detect::filter::Expr::parse(condition).expect("a valid condition");
        let sql = reefer::detect::sql::flink_where(
            &expr,
            condition,
            &reefer::window::sql::FlinkOptions::default(),
        );
        let out = tool("reefer-detect")
            .args(["--where", condition])
            .arg(input)
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let want: Vec<Map<String, Value>> = String::from_utf8_lossy(&out)
            .lines()
            .map(|l| serde_json::from_str(l).expect("reefer-detect passes JSON objects"))
            .collect();
        assert!(!want.is_empty(), "{name}: reefer-detect passed no reading");
        checks.push(Check {
            name: name.to_string(),
            sql,
            input: input.clone(),
            want: Want::Readings(want),
        });
    }
    checks
}

/// The built-in detectors, all disabled, so that only the threshold rules
/// emit (the test of the printed SQL's comments names every one of them).
const NO_BUILTINS: &str = "[detectors.power_off]\nenabled = false\n\
    [detectors.compressor_failure]\nenabled = false\n\
    [detectors.fan_failure]\nenabled = false\n\
    [detectors.door_open]\nenabled = false\n\
    [detectors.temperature_sensor]\nenabled = false\n\
    [detectors.co2_sensor]\nenabled = false\n\
    [detectors.o2_sensor]\nenabled = false\n\
    [detectors.temperature_band]\nenabled = false\n";

/// Threshold rules exported with MATCH_RECOGNIZE: a duration with a
/// severity and fault of its own, an `or` of a boolean and a number, no
/// duration (every run start opens), and an `and` whose fields are null in
/// the `nulls` input (held readings neither start nor end a run).
const THRESHOLD_RULES: &str = "\
[[rule]]\nname = \"warm\"\nwhen = \"temperature > 8\"\nfor = \"5m\"\nseverity = \"critical\"\nfault = \"too_warm\"\n\
[[rule]]\nname = \"door\"\nwhen = \"door_open == true or kilowatts > 2.4\"\nfor = \"90s\"\n\
[[rule]]\nname = \"any_cold\"\nwhen = \"temperature < 0\"\n\
[[rule]]\nname = \"held\"\nwhen = \"kilowatts > 2 and door_open == false\"\nfor = \"2m\"\nmessage = \"drawing power with the door shut\"\n";

/// The fields of an `open` event both sides write.
const EVENT_FIELDS: [&str; 8] = [
    "rule",
    "container_id",
    "product_id",
    "fault",
    "severity",
    "since",
    "detected_at",
    "message",
];

/// The `open` events among event lines, as sorted rows of [`EVENT_FIELDS`].
fn opened(text: &str, what: &str) -> Vec<Vec<String>> {
    let mut rows: Vec<Vec<String>> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let ev: Map<String, Value> =
                serde_json::from_str(l).unwrap_or_else(|e| panic!("{what}: {e}: {l}"));
            ev
        })
        .filter(|ev| ev["status"] == "open")
        .map(|ev| {
            EVENT_FIELDS
                .iter()
                .map(|f| ev.get(*f).unwrap_or(&Value::Null).to_string())
                .collect()
        })
        .collect();
    rows.sort();
    rows
}

/// The threshold rules' SQL on readings in time order and with nulls,
/// against reefer-detect's `open` events for the same rules file.
fn rules_checks(files: &BTreeMap<&str, PathBuf>, dir: &Path) -> Vec<Check> {
    let rules = dir.join("threshold-rules.toml");
    std::fs::write(&rules, format!("{NO_BUILTINS}{THRESHOLD_RULES}")).expect("a rules file");
    let sql = tool("reefer-detect")
        .arg("--rules")
        .arg(&rules)
        .args(["--print-sql", "flink"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let sql = String::from_utf8_lossy(&sql).into_owned();
    assert!(
        !sql.contains("not exportable"),
        "every rule of the file is exportable:\n{sql}"
    );
    let mut checks = Vec::new();
    for input in ["fleet", "nulls"] {
        let path = &files[input];
        // The nulls input has readings reefer-detect rejects (exit 1): the
        // SQL drops them too.
        let out = tool("reefer-detect")
            .arg("--rules")
            .arg(&rules)
            .arg(path)
            .output()
            .expect("running reefer-detect");
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "reefer-detect --rules on {input}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let want = opened(&String::from_utf8_lossy(&out.stdout), input);
        for rule in ["warm", "door", "any_cold", "held"] {
            assert!(
                want.iter().any(|e| e[0] == format!("{rule:?}")),
                "{input}: reefer-detect opened no {rule} episode"
            );
        }
        checks.push(Check {
            name: format!("rules-{input}"),
            sql: sql.clone(),
            input: path.clone(),
            want: Want::Opened(want),
        });
    }
    checks
}

/// Differences between the `open` events of reefer-detect and of Flink.
fn event_differences(want: &[Vec<String>], got: &[Vec<String>]) -> Vec<String> {
    let mut diffs = Vec::new();
    if want.len() != got.len() {
        diffs.push(format!(
            "{} episodes opened by reefer-detect, {} by Flink",
            want.len(),
            got.len()
        ));
    }
    for w in want.iter().filter(|w| !got.contains(w)) {
        diffs.push(format!("only reefer-detect opened {}", w.join(" ")));
    }
    for g in got.iter().filter(|g| !want.contains(g)) {
        diffs.push(format!("only Flink opened {}", g.join(" ")));
    }
    diffs
}

/// Differences between readings passed by reefer-detect and by Flink, which
/// writes every schema field: absent and null are the same.
fn reading_differences(want: &[Map<String, Value>], got: &[Map<String, Value>]) -> Vec<String> {
    let mut diffs = Vec::new();
    if want.len() != got.len() {
        diffs.push(format!(
            "{} readings passed by reefer-detect, {} by Flink",
            want.len(),
            got.len()
        ));
    }
    for (i, (w, g)) in want.iter().zip(got).enumerate() {
        for field in w.keys().chain(g.keys()) {
            let (wv, gv) = (
                w.get(field).unwrap_or(&Value::Null),
                g.get(field).unwrap_or(&Value::Null),
            );
            let same = match (wv.as_f64(), gv.as_f64()) {
                (Some(a), Some(b)) => a == b,
                _ => wv == gv,
            };
            if !same {
                diffs.push(format!(
                    "reading {i}: {field} is {wv} in reefer-detect, {gv} in Flink"
                ));
            }
        }
    }
    diffs
}

fn compare(check: &Check, text: &str, tag: &str) -> Vec<String> {
    match &check.want {
        Want::Windows { keys, rows: want } => differences(want, &rows(text, keys, tag)),
        Want::Readings(want) => {
            let got: Vec<Map<String, Value>> = text
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{tag}: {e}: {l}")))
                .collect();
            reading_differences(want, &got)
        }
        Want::Opened(want) => event_differences(want, &opened(text, tag)),
    }
}

/// Runs every check in every session zone on one Flink version (one
/// runner process); the failures, as text.
fn run_on(python: &Path, checks: &[Check], out_dir: &Path) -> Vec<String> {
    std::fs::create_dir_all(out_dir).expect("an output directory");
    let mut jobs = Vec::new();
    for check in checks {
        for zone in ZONES {
            let name = format!("{}@{zone}", check.name);
            let output = out_dir.join(format!("{}.jsonl", name.replace('/', "_")));
            jobs.push((check, name, zone, output));
        }
    }
    let spec: Vec<Value> = jobs
        .iter()
        .map(|(check, name, zone, output)| {
            serde_json::json!({
                "name": name, "sql": check.sql, "input": check.input, "zone": zone, "output": output,
            })
        })
        .collect();
    let jobs_file = out_dir.join("jobs.json");
    std::fs::write(&jobs_file, serde_json::json!({ "jobs": spec }).to_string())
        .expect("writing the jobs");
    let t0 = Instant::now();
    let status = Command::new(python)
        .arg(repo_path("tests/flink/run.py"))
        .arg(&jobs_file)
        .status()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
    eprintln!(
        "flink runner {} ({} jobs): {status} in {:.1} s",
        python.display(),
        jobs.len(),
        t0.elapsed().as_secs_f64()
    );
    let mut failures = Vec::new();
    for (check, name, _, output) in &jobs {
        let tag = format!("{} {name}", python.display());
        if let Ok(e) = std::fs::read_to_string(output.with_extension("jsonl.error")) {
            failures.push(format!("{tag}: Flink failed:\n{e}"));
            continue;
        }
        let diffs = match std::fs::read_to_string(output) {
            Ok(text) => compare(check, &text, &tag),
            Err(e) => vec![format!("no output ({e}); runner {status}")],
        };
        if !diffs.is_empty() {
            failures.push(format!(
                "{tag}: {} differences, first: {}",
                diffs.len(),
                diffs[..diffs.len().min(5)].join("\n  ")
            ));
        }
    }
    if !status.success() && failures.is_empty() {
        failures.push(format!(
            "{}: the runner failed ({status})",
            python.display()
        ));
    }
    failures
}

#[test]
fn flink_runs_the_printed_sql_with_the_windows_of_reefer_window() {
    let Some(pythons) = std::env::var_os("REEFER_TEST_FLINK_PYTHON") else {
        eprintln!(
            "REEFER_TEST_FLINK_PYTHON is not set: the Flink comparison did not run \
             (scripts/test-flink.sh installs PyFlink and runs it)"
        );
        return;
    };
    let dir = tempfile::tempdir().expect("a temporary directory");
    let files = inputs(dir.path());
    let only = std::env::var("REEFER_TEST_FLINK_CASES").unwrap_or_default();
    let wanted = |name: &str| only.is_empty() || only.split(',').any(|n| n == name);
    let cases: Vec<&Case> = CASES.iter().filter(|c| wanted(c.name)).collect();
    let mut checks = window_checks(&cases, &files);
    checks.extend(where_checks(&files).into_iter().filter(|c| wanted(&c.name)));
    checks.extend(
        rules_checks(&files, dir.path())
            .into_iter()
            .filter(|c| wanted(&c.name)),
    );
    assert!(
        !checks.is_empty(),
        "no case named in REEFER_TEST_FLINK_CASES={only}"
    );

    let mut failures = Vec::new();
    for (v, python) in std::env::split_paths(&pythons).enumerate() {
        failures.extend(run_on(
            &python,
            &checks,
            &dir.path().join(format!("flink-{v}")),
        ));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_rules_file_prints_its_threshold_rules_and_names_the_detectors_it_cannot_export() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let rules = dir.path().join("rules.toml");
    std::fs::write(
        &rules,
        "[detectors.door_open]\nenabled = false\n[[rule]]\nname = \"warm\"\nwhen = \"temperature > 8\"\nfor = \"5m\"\n",
    )
    .expect("a rules file");
    tool("reefer-detect")
        .arg("--rules")
        .arg(&rules)
        .args(["--print-sql", "flink"])
        .assert()
        .success()
        .stdout(predicates::str::contains(
            "-- exported: warm (temperature > 8 held 5m)",
        ))
        .stdout(predicates::str::contains(
            "-- not exportable: temperature_band, because it is a built-in detector",
        ))
        .stdout(predicates::str::contains("-- not exportable: door_open").not())
        .stdout(predicates::str::contains("MATCH_RECOGNIZE ("))
        .stdout(predicates::str::contains(
            "D.`reefer_rowtime` >= S.`reefer_rowtime` + INTERVAL '5' MINUTE",
        ));
}

#[test]
fn a_rules_file_without_threshold_rules_prints_no_job() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let rules = dir.path().join("rules.toml");
    std::fs::write(&rules, "[detectors.door_open]\nenabled = false\n").expect("a rules file");
    tool("reefer-detect")
        .arg("--rules")
        .arg(&rules)
        .args(["--print-sql", "flink"])
        .assert()
        .success()
        .stdout(predicates::str::contains("-- not exportable: power_off"))
        .stdout(predicates::str::contains("INSERT").not());
}
