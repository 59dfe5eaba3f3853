//! The toolkit as its users run it: a shell pipeline over a fleet with every
//! fault, and a cron job that runs the tools over consecutive files with
//! `--state` (issue: "the toolkit as pipelines").

use crate::common::{sim_fleet, tool};
use std::path::Path;

const START: &str = "2026-11-01T00:00:00Z";

/// 10 containers for 8 h at 10 s, one scripted episode of every fault kind on
/// containers 1–7, no random faults: each injected episode is known.
fn every_fault_fleet() -> Vec<u8> {
    let mut sim = tool("reefer-sim");
    sim.args(["--containers", "10", "--duration", "8h", "--seed", "11"])
        .args(["--no-faults", "--start", START]);
    for spec in [
        "1:power_off@1h+1h",
        "2:compressor_failure@1h+2h",
        "3:fan_failure@1h+2h",
        "4:door_open@1h+15m",
        "5:temperature_sensor@1h+2h",
        "6:co2_sensor@1h+3h",
        "7:o2_sensor@1h+3h",
    ] {
        sim.args(["--inject", spec]);
    }
    sim.assert().success().get_output().stdout.clone()
}

/// reefer-detect's events over `input` in one run, which must succeed.
fn events_of(input: &[u8]) -> Vec<u8> {
    let run = tool("reefer-detect")
        .write_stdin(input.to_vec())
        .assert()
        .success();
    run.get_output().stdout.clone()
}

/// Cuts `data` at the given line numbers into files part-00, part-01, ...
fn split_at(data: &[u8], cuts: &[usize], dir: &Path) -> Vec<String> {
    let lines: Vec<&[u8]> = data.split_inclusive(|&b| b == b'\n').collect();
    let mut bounds = vec![0];
    bounds.extend(cuts.iter().copied().filter(|&c| c > 0 && c < lines.len()));
    bounds.push(lines.len());
    bounds
        .windows(2)
        .enumerate()
        .map(|(i, w)| {
            let path = dir.join(format!("part-{i:02}.jsonl"));
            std::fs::write(&path, lines[w[0]..w[1]].concat()).unwrap();
            path.to_str().unwrap().to_string()
        })
        .collect()
}

/// Line cuts: 12 equal files, and cuts inside episodes and windows. The fleet
/// writes 10 readings per 10 s step, so a cut at a line number that is not a
/// multiple of 60 falls inside a 1-minute window, and a cut at 1 h 20 min
/// (+7 lines) falls inside the power cut, the compressor, fan, sensor and gas
/// episodes alike.
fn cut_sets(total: usize) -> Vec<Vec<usize>> {
    let step = |minutes: usize| minutes * 6 * 10;
    vec![
        (1..12).map(|i| i * total / 12).collect(),
        vec![step(80) + 7],
        vec![step(61) + 3, step(65) + 1, step(130) + 9, step(200) + 5],
    ]
}

fn run_each(dir: &Path, name: &str, args: &[&str], files: &[String]) -> Vec<u8> {
    let state = dir.join(format!("{name}.state"));
    let mut out = Vec::new();
    for f in files {
        let run = tool(name)
            .args(args)
            .arg("--state")
            .arg(&state)
            .arg(f)
            .assert()
            .success();
        out.extend_from_slice(&run.get_output().stdout);
    }
    out
}

#[test]
fn cron_runs_of_detect_over_consecutive_files_give_the_events_of_one_run() {
    let fleet = every_fault_fleet();
    let one = events_of(&fleet);
    assert!(
        one.split(|&b| b == b'\n').count() > 10,
        "the fleet gives events"
    );
    let total = fleet.iter().filter(|&&b| b == b'\n').count();
    for cuts in cut_sets(total) {
        let dir = tempfile::tempdir().unwrap();
        let files = split_at(&fleet, &cuts, dir.path());
        let many = run_each(dir.path(), "reefer-detect", &[], &files);
        assert!(
            one == many,
            "cuts {cuts:?}: events of {} runs differ from one run:\n{}\n---\n{}",
            files.len(),
            String::from_utf8_lossy(&one),
            String::from_utf8_lossy(&many)
        );
    }
}

#[test]
fn cron_runs_of_window_over_consecutive_files_give_the_windows_of_one_run() {
    let fleet = every_fault_fleet();
    let total = fleet.iter().filter(|&&b| b == b'\n').count();
    for args in [
        &["--size", "1m"][..],
        &["--size", "5m", "--slide", "1m", "--lateness", "20s"],
    ] {
        let one = tool("reefer-window")
            .args(args)
            .write_stdin(fleet.clone())
            .assert()
            .success();
        let one = one.get_output().stdout.clone();
        for cuts in cut_sets(total) {
            let dir = tempfile::tempdir().unwrap();
            let files = split_at(&fleet, &cuts, dir.path());
            let mut many = run_each(dir.path(), "reefer-window", args, &files);
            // The stream's end: the windows still open are emitted by --final.
            let last = tool("reefer-window")
                .args(args)
                .arg("--state")
                .arg(dir.path().join("reefer-window.state"))
                .arg("--final")
                .write_stdin("")
                .assert()
                .success();
            many.extend_from_slice(&last.get_output().stdout);
            assert!(
                one == many,
                "{args:?}, cuts {cuts:?}: windows differ from one run"
            );
        }
    }
}

#[test]
fn a_window_state_holds_open_windows_until_the_watermark_passes_them() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("w.state");
    let line = |t: &str| {
        format!("{{\"container_id\":\"A\",\"measurement_time\":\"2026-11-01T00:{t}Z\",\"temperature\":5}}\n")
    };
    let first = tool("reefer-window")
        .arg("--state")
        .arg(&state)
        .write_stdin(line("00:10") + &line("00:50"))
        .assert()
        .success();
    assert!(
        first.get_output().stdout.is_empty(),
        "the open minute waits for the next run"
    );
    tool("reefer-window")
        .arg("--state")
        .arg(&state)
        .write_stdin(line("01:05"))
        .assert()
        .success()
        .stdout(predicates::str::contains("\"count\":2"));
}

#[test]
fn a_state_file_of_another_tool_or_damaged_is_refused_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("s.state");
    let reading = "{\"container_id\":\"A\",\"measurement_time\":\"2026-11-01T00:00:10Z\",\"temperature\":5}\n";
    tool("reefer-window")
        .arg("--state")
        .arg(&state)
        .write_stdin(reading)
        .assert()
        .success();
    tool("reefer-detect")
        .arg("--state")
        .arg(&state)
        .write_stdin(reading)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("reefer-window's state"));
    tool("reefer-window")
        .args(["--size", "5m", "--state"])
        .arg(&state)
        .write_stdin(reading)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("was written with `--size 1m"));
    std::fs::write(&state, b"reefer-state\n\x01\x02").unwrap();
    tool("reefer-window")
        .arg("--state")
        .arg(&state)
        .write_stdin(reading)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("damaged"));
    let before = std::fs::read(&state).unwrap();
    assert_eq!(
        before, b"reefer-state\n\x01\x02",
        "a refused state is left as it was"
    );
}

#[test]
fn a_second_run_on_a_locked_state_exits_75_or_waits() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("d.state");
    let lock = std::fs::File::create(dir.path().join("d.state.lock")).unwrap();
    lock.lock().unwrap();
    tool("reefer-detect")
        .arg("--state")
        .arg(&state)
        .write_stdin("")
        .assert()
        .code(75)
        .stderr(predicates::str::contains(
            "another reefer-detect run holds its lock",
        ));
    let holder = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(300));
        drop(lock);
    });
    tool("reefer-detect")
        .args(["--wait", "10s", "--state"])
        .arg(&state)
        .write_stdin("")
        .assert()
        .success();
    holder.join().unwrap();
    assert!(state.exists(), "the waiting run saved its state");
}

/// Alerts as (container, fault, status), from reefer-act's SQLite destination.
fn alerts(db: &Path) -> Vec<(String, String, String)> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut q = conn
        .prepare("select container_id, fault, status from alerts order by container_id, fault")
        .unwrap();
    q.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// The injected episodes as (container, fault), from the readings' labels.
fn injected(fleet: &[u8]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = crate::common::json_lines(fleet)
        .into_iter()
        .filter_map(|r| {
            let fault = r["fault"].as_str()?.to_string();
            Some((r["container_id"].as_str()?.to_string(), fault))
        })
        .collect();
    v.sort();
    v.dedup();
    v
}

fn act_into(events: &[u8], dir: &Path) -> Vec<(String, String, String)> {
    let db = dir.join("alerts.db");
    tool("reefer-act")
        .arg("--state")
        .arg(dir.join("act.db"))
        .arg("--to")
        .arg(format!("sqlite://{}", db.display()))
        .write_stdin(events.to_vec())
        .assert()
        .success();
    alerts(&db)
}

#[test]
fn a_shell_pipeline_turns_every_injected_fault_into_one_resolved_alert() {
    let fleet = every_fault_fleet();
    let expected = injected(&fleet);
    assert_eq!(
        expected.len(),
        7,
        "one episode of each of the 7 fault kinds"
    );
    let dir = tempfile::tempdir().unwrap();
    let events = tool("reefer-detect").write_stdin(fleet).assert().success();
    let got = act_into(&events.get_output().stdout, dir.path());
    for (container, fault) in &expected {
        let rows: Vec<_> = got
            .iter()
            .filter(|(c, f, _)| c == container && f == fault)
            .collect();
        assert_eq!(rows.len(), 1, "{container} {fault}: one alert, got {got:?}");
        assert_eq!(rows[0].2, "resolved", "{container} {fault}");
    }
    // The only other alert is the warming the failed compressor causes.
    let others: Vec<_> = got
        .iter()
        .filter(|(c, f, _)| !expected.contains(&(c.clone(), f.clone())))
        .collect();
    assert!(
        others
            .iter()
            .all(|(_, f, s)| f == "temperature_excursion" && s == "resolved"),
        "unexpected alerts {others:?}"
    );
}

#[test]
fn a_shell_pipeline_over_one_minute_windows_alerts_every_fault_as_on_readings() {
    let fleet = every_fault_fleet();
    let expected = injected(&fleet);
    let dir = tempfile::tempdir().unwrap();
    let rows = tool("reefer-window").write_stdin(fleet).assert().success();
    let events = tool("reefer-detect")
        .write_stdin(rows.get_output().stdout.clone())
        .assert()
        .success();
    let got = act_into(&events.get_output().stdout, dir.path());
    // reefer-window's default rows carry what every detector reads: the gap
    // (power_off), fan_1_true, door_open_true, temperature_min/_max and count
    // (a broken or stuck sensor), supply air (the compressor) and the gases'
    // min/max/mean (stuck, noisy or drifting gas sensors).
    for (container, fault) in &expected {
        let rows: Vec<_> = got
            .iter()
            .filter(|(c, f, _)| c == container && f == fault)
            .collect();
        assert_eq!(
            rows.len(),
            1,
            "{container} {fault} on rows: one alert, got {got:?}"
        );
        assert_eq!(rows[0].2, "resolved", "{container} {fault}");
    }
    let (compressor, _) = expected
        .iter()
        .find(|(_, f)| f == "compressor_failure")
        .unwrap();
    let false_alerts: Vec<_> = got
        .iter()
        .filter(|(c, f, _)| {
            let injected = expected.contains(&(c.clone(), f.clone()));
            let consequence = c == compressor && f == "temperature_excursion";
            !injected && !consequence
        })
        .collect();
    assert!(
        false_alerts.is_empty(),
        "alerts on rows with no fault behind them: {false_alerts:?}"
    );
}

#[test]
fn cron_runs_of_detect_and_act_notify_each_alert_once_as_one_run_does() {
    let fleet = every_fault_fleet();
    let total = fleet.iter().filter(|&&b| b == b'\n').count();
    let dir = tempfile::tempdir().unwrap();
    let files = split_at(
        &fleet,
        &(1..12).map(|i| i * total / 12).collect::<Vec<_>>(),
        dir.path(),
    );
    let act = |events: Vec<u8>, db: &Path| {
        let run = tool("reefer-act")
            .arg("--state")
            .arg(db)
            .args(["--to", "-"])
            .write_stdin(events)
            .assert()
            .success();
        run.get_output().stdout.clone()
    };
    let events = tool("reefer-detect")
        .write_stdin(fleet.clone())
        .assert()
        .success();
    let one = act(
        events.get_output().stdout.clone(),
        &dir.path().join("one.db"),
    );
    let mut many = Vec::new();
    for f in &files {
        let events = tool("reefer-detect")
            .arg("--state")
            .arg(dir.path().join("detect.state"))
            .arg(f)
            .assert()
            .success();
        many.extend(act(
            events.get_output().stdout.clone(),
            &dir.path().join("cron.db"),
        ));
    }
    assert!(!one.is_empty());
    assert_eq!(
        String::from_utf8_lossy(&one),
        String::from_utf8_lossy(&many),
        "12 cron runs notify what one run notifies, none twice"
    );
}

#[test]
fn detection_on_window_rows_is_scored_with_the_labels_of_the_readings() {
    let fleet = every_fault_fleet();
    let dir = tempfile::tempdir().unwrap();
    let labels = dir.path().join("readings.jsonl");
    std::fs::write(&labels, &fleet).unwrap();
    let rows = tool("reefer-window").write_stdin(fleet).assert().success();
    let scored = tool("reefer-detect")
        .args(["--evaluate", "--json", "--labels"])
        .arg(&labels)
        .write_stdin(rows.get_output().stdout.clone())
        .assert()
        .success();
    let v: serde_json::Value = serde_json::from_slice(&scored.get_output().stdout).unwrap();
    let kinds = &v["faults"];
    for fault in [
        "power_off",
        "compressor_failure",
        "fan_failure",
        "door_open",
        "temperature_sensor",
        "co2_sensor",
        "o2_sensor",
    ] {
        assert_eq!(kinds[fault]["episodes"], 1, "{fault}: {v}");
        assert_eq!(kinds[fault]["detected"], 1, "{fault} on rows: {v}");
    }
    // Without the labels, rows carry no truth: nothing can be scored (exit 1).
    let rows = tool("reefer-window")
        .write_stdin(every_fault_fleet())
        .assert()
        .success();
    tool("reefer-detect")
        .args(["--evaluate", "--json"])
        .write_stdin(rows.get_output().stdout.clone())
        .assert()
        .code(1)
        .stderr(predicates::str::contains("give --labels READINGS"));
}

/// The CI smoke test of window → detect: the sample fleet's 1-minute rows,
/// their events and their evaluation against the sample's own labels.
#[test]
fn golden_events_and_evaluation_of_the_sample_fleet_on_one_minute_rows() {
    let sample = crate::common::repo_path("samples/fleet.jsonl");
    let rows = tool("reefer-window").arg(&sample).assert().success();
    let rows = rows.get_output().stdout.clone();
    let events = tool("reefer-detect")
        .write_stdin(rows.clone())
        .assert()
        .success();
    crate::common::golden(
        "tests/fixtures/roles/fleet-1m.events.jsonl",
        &events.get_output().stdout,
    );
    let scored = tool("reefer-detect")
        .arg("--evaluate")
        .arg("--labels")
        .arg(&sample)
        .write_stdin(rows)
        .assert()
        .success();
    crate::common::golden(
        "tests/fixtures/roles/fleet-1m.evaluate.txt",
        &scored.get_output().stdout,
    );
}

#[test]
fn a_typo_in_a_field_named_on_the_command_line_is_a_usage_error_with_a_suggestion() {
    let sample = crate::common::repo_path("samples/fleet.jsonl");
    for (tool_name, args, suggestion) in [
        (
            "reefer-window",
            &["--fields", "humdity_level"][..],
            "humidity_level",
        ),
        ("reefer-window", &["--by", "prodcut_id"], "product_id"),
        (
            "reefer-window",
            &["--time-field", "measurment_time"],
            "measurement_time",
        ),
        (
            "reefer-detect",
            &["--where", "temprature > 18"],
            "temperature",
        ),
        (
            "reefer-ship",
            &["--partition-key", "containr_id"],
            "container_id",
        ),
    ] {
        let mut cmd = tool(tool_name);
        cmd.args(args);
        if tool_name != "reefer-ship" {
            cmd.arg(&sample);
        }
        cmd.write_stdin("")
            .assert()
            .code(2)
            .stderr(predicates::str::contains(format!(
                "did you mean {suggestion:?}"
            )));
    }
    // A field of the user's own, far from every known name, is taken as it is.
    tool("reefer-window")
        .args(["--fields", "zone", "--carry", ""])
        .arg(&sample)
        .assert()
        .success();
}

#[test]
fn every_tool_writes_the_same_counts_to_stats_json_for_the_same_bad_input() {
    let good = tool("reefer-sim")
        .args(["--containers", "2", "--duration", "1m", "--seed", "1"])
        .args(["--start", START])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let reads = good.iter().filter(|&&b| b == b'\n').count() as u64;
    let dir = tempfile::tempdir().unwrap();
    let sim_stats = dir.path().join("sim.json");
    tool("reefer-sim")
        .args([
            "--containers",
            "2",
            "--duration",
            "1m",
            "--seed",
            "1",
            "--start",
            START,
        ])
        .arg("--stats-json")
        .arg(&sim_stats)
        .assert()
        .success();
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&sim_stats).unwrap()).unwrap();
    assert_eq!(
        (v["tool"].as_str(), v["written"].as_u64()),
        (Some("reefer-sim"), Some(reads))
    );
    let mut input = b"garbage\n".to_vec();
    input.extend_from_slice(&good);
    input.extend_from_slice(b"{\"container_id\":\"A\"}\n");
    let tools = [
        "reefer-window",
        "reefer-detect",
        "reefer-ship",
        "reefer-report",
        "reefer-act",
    ];
    for name in tools {
        let stats = dir.path().join(format!("{name}.json"));
        let mut cmd = tool(name);
        match name {
            "reefer-report" => {
                cmd.arg("-o").arg(dir.path().join("page.html"));
            }
            "reefer-act" => {
                // Its own state: the user's default one may hold notifications
                // still pending from a run of theirs, which this run would send.
                cmd.arg("--dry-run")
                    .arg("--state")
                    .arg(dir.path().join("act.db"));
            }
            _ => {}
        }
        let run = cmd
            .arg("--stats-json")
            .arg(&stats)
            .write_stdin(input.clone())
            .assert()
            .code(1);
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&stats).unwrap()).unwrap();
        assert_eq!(v["tool"], name);
        // reefer-ship moves any JSON object: only `garbage` is bad to it;
        // to reefer-act every line is bad (readings are no fault events).
        let bad = match name {
            "reefer-ship" => 1,
            "reefer-act" => reads + 2,
            _ => 2,
        };
        assert_eq!(
            (
                v["read"].as_u64(),
                v["rejected"].as_u64(),
                v["late"].as_u64()
            ),
            (Some(reads + 2), Some(bad), Some(0)),
            "{name}: {v}"
        );
        let written = v["written"].as_u64().unwrap();
        assert_eq!(v["delivered"].as_u64(), Some(written), "{name}: {v}");
        assert_eq!(
            (v["failed"].as_u64(), v["dead"].as_u64()),
            (Some(0), Some(0))
        );
        assert!(v["seconds"].as_f64().is_some(), "{v}");
        // The summary line says the same, in the same words.
        let err = String::from_utf8_lossy(&run.get_output().stderr).to_string();
        let line = format!("{name}: read {} records, wrote {written} ", reads + 2);
        assert!(
            err.contains(&line)
                && err.contains(&format!(", rejected {bad} (--dead-letter FILE keeps them)")),
            "{name}: {err}"
        );
    }
}

/// Ctrl-C ends a run with exit 130 after saving its state: the next run
/// takes up where the interrupted one stopped.
#[test]
fn an_interrupted_run_saves_its_state_and_the_next_run_goes_on_from_it() {
    use std::io::Write;
    let fleet = every_fault_fleet();
    let one = events_of(&fleet);
    let total = fleet.iter().filter(|&&b| b == b'\n').count();
    let dir = tempfile::tempdir().unwrap();
    let files = split_at(&fleet, &[total / 2], dir.path());
    let state = dir.path().join("detect.state");
    let bin = assert_cmd::cargo::cargo_bin("reefer-detect");
    let mut child = std::process::Command::new(bin)
        .arg("--state")
        .arg(&state)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The events the first half gives, from a run of its own.
    let first = tool("reefer-detect")
        .arg("--state")
        .arg(dir.path().join("scratch.state"))
        .arg(&files[0])
        .assert()
        .success();
    let first_events = first
        .get_output()
        .stdout
        .iter()
        .filter(|&&b| b == b'\n')
        .count();
    assert!(first_events > 0);
    // The first half through a pipe that stays open, as a live feed would;
    // once its events are out (flushed when the input idles), Ctrl-C.
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(&std::fs::read(&files[0]).unwrap()).unwrap();
    stdin.flush().unwrap();
    let mut reader = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut got = Vec::new();
    for _ in 0..first_events {
        std::io::BufRead::read_until(&mut reader, b'\n', &mut got).unwrap();
    }
    std::thread::sleep(std::time::Duration::from_millis(500));
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    std::io::Read::read_to_end(&mut reader, &mut got).unwrap();
    let status = child.wait().unwrap();
    drop(stdin);
    assert_eq!(status.code(), Some(130));
    assert!(state.exists(), "Ctrl-C saved the state");
    let rest = tool("reefer-detect")
        .arg("--state")
        .arg(&state)
        .arg(&files[1])
        .assert()
        .success();
    let mut both = got;
    both.extend_from_slice(&rest.get_output().stdout);
    assert_eq!(
        String::from_utf8_lossy(&one),
        String::from_utf8_lossy(&both)
    );
}

#[test]
fn a_reading_repeated_at_the_same_time_is_dropped_as_a_duplicate_not_a_bad_line() {
    let fleet = every_fault_fleet();
    let one = events_of(&fleet);
    // Every 50th line sent twice in a row, as a modem resend would.
    let mut twice = Vec::new();
    let mut repeated = 0;
    for (i, line) in fleet.split_inclusive(|&b| b == b'\n').enumerate() {
        twice.extend_from_slice(line);
        if i % 50 == 0 {
            twice.extend_from_slice(line);
            repeated += 1;
        }
    }
    tool("reefer-detect")
        .write_stdin(twice)
        .assert()
        .success()
        .stdout(String::from_utf8(one).unwrap())
        .stderr(predicates::str::contains(format!(
            "{repeated} duplicate readings dropped"
        )));
}

#[test]
fn with_lateness_readings_out_of_order_are_judged_in_event_time() {
    let fleet = every_fault_fleet();
    let one = events_of(&fleet);
    // In order, --lateness changes nothing.
    tool("reefer-detect")
        .args(["--lateness", "1m"])
        .write_stdin(fleet.clone())
        .assert()
        .success()
        .stdout(String::from_utf8(one.clone()).unwrap());
    // Every 7th reading sent 30 s (3 steps of 10 readings) late.
    let lines: Vec<&[u8]> = fleet.split_inclusive(|&b| b == b'\n').collect();
    let mut shuffled: Vec<&[u8]> = Vec::new();
    let mut late: Vec<(usize, &[u8])> = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        if i % 7 == 3 {
            late.push((i + 30, l));
        } else {
            shuffled.push(l);
        }
        while late.first().is_some_and(|(due, _)| *due <= i) {
            shuffled.push(late.remove(0).1);
        }
    }
    shuffled.extend(late.into_iter().map(|(_, l)| l));
    let shuffled = shuffled.concat();
    tool("reefer-detect")
        .args(["--lateness", "1m"])
        .write_stdin(shuffled.clone())
        .assert()
        .success()
        .stdout(String::from_utf8(one).unwrap());
    // Without holding (--lateness 0s) a step back is a new session, said on stderr.
    tool("reefer-detect")
        .args(["--lateness", "0s"])
        .write_stdin(shuffled.clone())
        .assert()
        .success()
        .stderr(predicates::str::contains("a new session for it"));
    // Later than the lateness (behind the watermark, but not by more than the
    // lateness before its container's judged readings: no replay): reported
    // with its own line number.
    let mut very_late = lines[..80].concat();
    very_late.extend_from_slice(lines[5]);
    very_late.extend_from_slice(&lines[80..].concat());
    tool("reefer-detect")
        .args(["--lateness", "1m"])
        .write_stdin(very_late)
        .assert()
        .code(1)
        .stderr(predicates::str::contains("stdin:81: reading of"))
        .stderr(predicates::str::contains("(--lateness 1m)"));
}

/// A shell user's `… | head -1`: the tool ends quietly (exit 0, nothing on
/// stderr), a cron job's `--stats-json` still says what the run wrote, with
/// `output_closed` true, and reefer-window keeps no `--state` (its last rows
/// may never have been read).
#[test]
fn a_closed_stdout_ends_quietly_and_still_writes_stats_json() {
    let dir = tempfile::tempdir().unwrap();
    let fleet = dir.path().join("fleet.jsonl");
    std::fs::write(
        &fleet,
        sim_fleet(200, "1h", &["--seed", "3", "--start", START]),
    )
    .unwrap();
    let bin = |name: &str| assert_cmd::cargo::cargo_bin(name).display().to_string();
    let f = fleet.display().to_string();
    let d = dir.path().display();
    for (name, command) in [
        (
            "sim",
            format!(
                "{} --containers 1000 --duration 1d --seed 1",
                bin("reefer-sim")
            ),
        ),
        (
            "window",
            format!(
                "{} --size 10s --state {d}/w.state {f}",
                bin("reefer-window")
            ),
        ),
        (
            "where",
            format!("{} --where 'temperature > -100' {f}", bin("reefer-detect")),
        ),
    ] {
        let stats = dir.path().join(format!("{name}.json"));
        let run = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!(
                "{command} --stats-json {} | head -1",
                stats.display()
            ))
            .output()
            .unwrap();
        assert!(run.status.success(), "{name}");
        assert_eq!(String::from_utf8_lossy(&run.stdout).lines().count(), 1);
        assert_eq!(String::from_utf8_lossy(&run.stderr), "", "{name}");
        let s: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&stats).expect(name)).unwrap();
        assert_eq!(s["output_closed"], true, "{name}: {s}");
        assert!(s["written"].as_u64().unwrap() > 0, "{name}: {s}");
    }
    assert!(!dir.path().join("w.state").exists());
    // Read to the end, the same run says `output_closed` false and keeps its state.
    let stats = dir.path().join("all.json");
    tool("reefer-window")
        .args(["--size", "10s", "--state", &format!("{d}/w.state"), &f])
        .args(["--stats-json", &stats.display().to_string()])
        .assert()
        .success();
    let s: serde_json::Value = serde_json::from_slice(&std::fs::read(&stats).unwrap()).unwrap();
    assert_eq!(s["output_closed"], false);
    assert!(dir.path().join("w.state").exists());
}

/// A fleet whose units report `fan_1` alone (no `fan_2`/`fan_3`, as many
/// real units): reefer-window writes `fan_2_true`/`fan_3_true` null (unknown,
/// not "never ran"), and reefer-detect finds on those rows the failed fan it
/// finds on the readings (from fan 1, the draw and the defrost flag).
#[test]
fn rows_of_units_without_fan_2_and_3_keep_them_unknown_and_find_a_failed_fan() {
    let readings = sim_fleet(
        5,
        "8h",
        &[
            "--seed",
            "5",
            "--start",
            START,
            "--no-faults",
            "--inject",
            "1:fan_failure@2h+3h",
        ],
    );
    let mut fan_1_only = Vec::new();
    for line in String::from_utf8(readings).unwrap().lines() {
        let mut r: serde_json::Map<String, serde_json::Value> = serde_json::from_str(line).unwrap();
        r.remove("fan_2");
        r.remove("fan_3");
        fan_1_only.extend_from_slice(serde_json::to_string(&r).unwrap().as_bytes());
        fan_1_only.push(b'\n');
    }
    let rows = tool("reefer-window")
        .write_stdin(fan_1_only.clone())
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let parsed = crate::common::json_lines(&rows);
    assert!(parsed.iter().all(|r| r["fan_2_true"].is_null()
        && r["fan_3_true"].is_null()
        && r["fan_1_true"].is_u64()));
    let opened = |events: &[u8]| -> Vec<String> {
        crate::common::json_lines(events)
            .iter()
            .filter(|e| e["status"] == "open")
            .map(|e| format!("{} {}", e["container_id"], e["fault"]))
            .collect()
    };
    let on_readings = opened(&events_of(&fan_1_only));
    let on_rows = opened(&events_of(&rows));
    assert_eq!(on_readings.len(), 1, "{on_readings:?}");
    assert!(
        on_readings[0].ends_with("\"fan_failure\""),
        "{on_readings:?}"
    );
    assert_eq!(on_rows, on_readings);
}
