use super::common::*;
use predicates::prelude::*;
use serde_json::Value;
use std::io::Write;

const START: &str = "2026-11-27T03:00:00Z";

/// A scripted fleet: 3 containers, 4 h at 1 min, no random faults.
fn sim(extra: &[&str]) -> Vec<u8> {
    sim_sized("3", "4h", extra)
}

fn sim_sized(containers: &str, duration: &str, extra: &[&str]) -> Vec<u8> {
    let out = tool("reefer-sim")
        .args([
            "--containers",
            containers,
            "--duration",
            duration,
            "--interval",
            "1m",
            "--seed",
            "5",
            "--start",
            START,
            "--no-faults",
        ])
        .args(extra)
        .assert();
    let out = out.success();
    out.get_output().stdout.clone()
}

/// The id of fleet member `n` (counted from 1): the first time step lists them in order.
fn container(readings: &[u8], n: usize) -> String {
    let line = String::from_utf8_lossy(readings)
        .lines()
        .nth(n - 1)
        .unwrap()
        .to_string();
    let v: Value = serde_json::from_str(&line).unwrap();
    v["container_id"].as_str().unwrap().to_string()
}

fn detect(input: &[u8], args: &[&str]) -> Vec<Value> {
    let out = tool("reefer-detect")
        .args(args)
        .write_stdin(input.to_vec())
        .assert();
    let out = out.success();
    json_lines(&out.get_output().stdout)
}

/// (container, fault) of every `open` event.
fn opened(events: &[Value]) -> Vec<(String, String)> {
    events
        .iter()
        .filter(|e| e["status"] == "open")
        .map(|e| {
            (
                e["container_id"].as_str().unwrap().to_string(),
                e["fault"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Injects `kind` into container #2 from 30 min for 2 h and checks that
/// exactly that fault (plus, possibly, its temperature excursion) opens, once.
fn fires(kind: &str, products: &str) {
    let inject = format!("2:{kind}@30m+2h");
    let readings = sim(&["--products", products, "--inject", &inject]);
    let id = container(&readings, 2);
    let events = detect(&readings, &[]);
    let opens = opened(&events);
    let hits: Vec<_> = opens
        .iter()
        .filter(|(c, f)| *c == id && f == kind)
        .collect();
    assert_eq!(
        hits.len(),
        1,
        "{kind}: expected one open event for {id}, got {opens:?}"
    );
    let others: Vec<_> = opens
        .iter()
        .filter(|(_, f)| f != kind && f != "temperature_excursion")
        .collect();
    assert!(others.is_empty(), "{kind}: unexpected {others:?}");
    let e = events
        .iter()
        .find(|e| e["status"] == "open" && e["fault"] == kind)
        .unwrap();
    assert!(
        e["detected_at"].as_str().unwrap() >= "2026-11-27T03:30:00Z",
        "{e}"
    );
    for k in [
        "container_id",
        "product_id",
        "fault",
        "severity",
        "rule",
        "detected_at",
        "since",
        "evidence",
        "message",
    ] {
        assert!(!e[k].is_null(), "{kind}: missing {k} in {e}");
    }
}

/// Runs a scenario that resembles `kind` and checks that `kind` does not fire.
fn stays_quiet(readings: &[u8], kind: &str) {
    let opens = opened(&detect(readings, &[]));
    assert!(
        !opens.iter().any(|(_, f)| f == kind),
        "{kind} fired: {opens:?}"
    );
}

#[test]
fn power_off_fires() {
    fires("power_off", "P01");
}

#[test]
fn power_off_ignores_a_single_zero_reading() {
    let readings = String::from_utf8(sim(&["--products", "P01"])).unwrap();
    let mut lines: Vec<String> = readings.lines().map(String::from).collect();
    let mut v: Value = serde_json::from_str(&lines[100]).unwrap();
    v["kilowatts"] = 0.0.into();
    lines[100] = v.to_string();
    stays_quiet((lines.join("\n") + "\n").as_bytes(), "power_off");
}

/// Three readings of one container a minute apart drawing 0.04, 0.12 and 0.04 kW:
/// a frozen unit between compressor runs turns its fans at low speed and its
/// meter can read that low, but it has power.
fn small_draw_between_compressor_runs() -> Vec<u8> {
    let readings = String::from_utf8(sim(&["--products", "P01"])).unwrap();
    let mut lines: Vec<String> = readings.lines().map(String::from).collect();
    for (i, kw) in [(100, 0.04), (103, 0.12), (106, 0.04)] {
        let mut v: Value = serde_json::from_str(&lines[i]).unwrap();
        v["kilowatts"] = kw.into();
        lines[i] = v.to_string();
    }
    (lines.join("\n") + "\n").into_bytes()
}

#[test]
fn power_off_ignores_a_small_draw_while_the_fans_run() {
    stays_quiet(&small_draw_between_compressor_runs(), "power_off");
}

#[test]
fn power_off_needs_a_low_draw_held_for_a_minute_when_only_kilowatts_tell() {
    let readings = small_draw_between_compressor_runs();
    let events = detect(
        &readings,
        &["--ignore-field", "fan_1,fan_2,fan_3,operating_mode"],
    );
    let opens = opened(&events);
    assert!(
        !opens.iter().any(|(_, f)| f == "power_off"),
        "power_off fired: {opens:?}"
    );
}

#[test]
fn door_open_reports_a_second_opening_one_closed_reading_after_the_first() {
    // Doors at 30-34 min and 36-40 min: the switch read closed at 35 min.
    let readings = sim(&[
        "--products",
        "P01",
        "--inject",
        "2:door_open@30m+5m",
        "--inject",
        "2:door_open@36m+5m",
    ]);
    let doors = opened(&detect(&readings, &[]))
        .into_iter()
        .filter(|(_, f)| f == "door_open")
        .count();
    assert_eq!(doors, 2);
}

#[test]
fn door_open_without_a_switch_is_seen_toward_a_colder_ambient_at_10_seconds() {
    // Container #3's ambient is 6 °C, its bananas' box 13 °C: the return air
    // falls 5 °C in 5 min, 0.1-1.2 °C per 10-second reading.
    let out = tool("reefer-sim")
        .args(["--containers", "3", "--duration", "2h", "--interval", "10s"])
        .args([
            "--seed",
            "5",
            "--start",
            START,
            "--no-faults",
            "--products",
            "P05",
        ])
        .args(["--inject", "3:door_open@30m+10m"])
        .assert()
        .success();
    let readings = out.get_output().stdout.clone();
    let id = container(&readings, 3);
    let ignore = "door_open,defrost,operating_mode,supply_air_temperature";
    let opens = opened(&detect(&readings, &["--ignore-field", ignore]));
    assert_eq!(opens, [(id, "door_open".to_string())]);
}

/// Without a door switch, mode or ambient at 10 s: outside air lifts the
/// return air 3.4 °C within 4 minutes, which eight readings 20 s apart (2 min
/// 40 s) did not span; a heater warming a box back after a door to colder
/// air, 0.5 °C a minute, lifts it 3 °C within 6 minutes but not within 4.5.
#[test]
fn door_open_without_a_switch_at_10_seconds_is_a_fast_climb_not_a_heater_warming_back() {
    // (container, set point, return air at minute m)
    type Air = fn(f64) -> f64;
    let boxes: [(&str, f64, Air); 2] = [
        ("MSKU0244954", 1.0, |m| {
            1.0 + 0.85 * (m - 30.0).clamp(0.0, 4.0) - if m >= 45.0 { 3.4 } else { 0.0 }
        }),
        ("MSCU4419178", 13.0, |m| {
            13.8 - 1.08 * (m - 30.0).clamp(0.0, 5.0) + 0.5 * (m - 45.0).clamp(0.0, 7.0)
        }),
    ];
    let mut input = String::new();
    for i in 0..(70 * 6) {
        let m = f64::from(i) / 6.0;
        let t = chrono::DateTime::parse_from_rfc3339(START).unwrap()
            + chrono::Duration::seconds(i64::from(i) * 10);
        for (id, target, air) in &boxes {
            // Probe noise of ±0.1 °C.
            let noise = if i % 2 == 0 { 0.1 } else { -0.1 };
            let r = serde_json::json!({
                "container_id": id,
                "product_id": "P01",
                "measurement_time": t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                "temperature": ((air(m) + noise) * 10.0).round() / 10.0,
                "target_temperature": target,
                "kilowatts": 3.4,
                "oxygen_level": 20.9 + noise,
                "carbon_dioxide_level": 0.2 + noise,
                "fan_1": true,
                "fan_2": true,
                "fan_3": true,
            });
            input.push_str(&format!("{r}\n"));
        }
    }
    let events = detect(input.as_bytes(), &[]);
    let doors: Vec<_> = events
        .iter()
        .filter(|e| e["status"] == "open" && e["fault"] == "door_open")
        .map(|e| {
            (
                e["container_id"].as_str().unwrap(),
                e["detected_at"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        doors,
        [("MSKU0244954", "2026-11-27T03:33:20Z")],
        "{events:?}"
    );
}

/// A basic unit (no door switch once ignored, no ambient, no mode or supply
/// air) at 5 min: the door opened to warmer outside air shows as return air
/// climbing 0.7 → 5.4 °C in one reading, which no running box does by itself.
/// Before session 18 basic found no door at all without its switch.
#[test]
fn door_open_without_a_switch_or_an_ambient_is_seen_by_the_climbing_return_air() {
    let readings = sim_fleet(
        6,
        "6h",
        &[
            "--interval",
            "5m",
            "--seed",
            "11",
            "--start",
            "2026-11-01T00:00:00Z",
            "--no-faults",
            "--sensors",
            "basic",
            "--inject",
            "1:door_open@2h+15m",
        ],
    );
    let id = container(&readings, 1);
    let ignore = "door_open,defrost,operating_mode,supply_air_temperature";
    let events = detect(&readings, &["--ignore-field", ignore]);
    assert_eq!(opened(&events), [(id, "door_open".to_string())]);
    let open = events.iter().find(|e| e["status"] == "open").unwrap();
    assert_eq!(open["detected_at"], "2026-11-01T02:00:00Z");
    assert_eq!(open["evidence"]["door_switch"], "absent: inferred");
}

#[test]
fn compressor_failure_fires() {
    fires("compressor_failure", "P05");
}

#[test]
fn compressor_failure_ignores_full_cooling_with_the_door_open() {
    stays_quiet(
        &sim(&["--products", "P05", "--inject", "2:door_open@30m+25m"]),
        "compressor_failure",
    );
}

#[test]
fn fan_failure_fires() {
    fires("fan_failure", "P04");
}

#[test]
fn fan_failure_ignores_all_fans_stopped_by_a_power_cut() {
    stays_quiet(
        &sim(&["--products", "P04", "--inject", "2:power_off@30m+2h"]),
        "fan_failure",
    );
}

#[test]
fn door_open_fires() {
    fires("door_open", "P02");
}

#[test]
fn door_open_ignores_a_warm_box_with_the_door_shut() {
    stays_quiet(
        &sim(&[
            "--products",
            "P02",
            "--inject",
            "2:compressor_failure@30m+3h",
        ]),
        "door_open",
    );
}

#[test]
fn temperature_sensor_fires() {
    fires("temperature_sensor", "P07");
}

#[test]
fn temperature_sensor_ignores_a_short_run_of_equal_readings() {
    let readings = String::from_utf8(sim_sized("1", "4h", &["--products", "P07"])).unwrap();
    let mut lines: Vec<String> = readings.lines().map(String::from).collect();
    for l in lines.iter_mut().skip(60).take(5) {
        let mut v: Value = serde_json::from_str(l).unwrap();
        v["temperature"] = 5.01.into();
        *l = v.to_string();
    }
    stays_quiet((lines.join("\n") + "\n").as_bytes(), "temperature_sensor");
}

#[test]
fn co2_sensor_fires() {
    fires("co2_sensor", "P02");
}

#[test]
fn o2_sensor_fires() {
    fires("o2_sensor", "P04");
}

#[test]
fn gas_sensors_ignore_real_changes_of_the_atmosphere() {
    // An open door lets air into a controlled-atmosphere box; a power cut lets it leak in.
    for inject in ["2:door_open@30m+25m", "2:power_off@30m+3h"] {
        let readings = sim(&["--products", "P02", "--inject", inject]);
        stays_quiet(&readings, "o2_sensor");
        stays_quiet(&readings, "co2_sensor");
    }
}

#[test]
fn healthy_fleet_with_defrosts_and_pull_downs_raises_nothing() {
    let out = tool("reefer-sim")
        .args([
            "--containers",
            "12",
            "--duration",
            "1d",
            "--interval",
            "1m",
            "--seed",
            "3",
            "--start",
            START,
            "--no-faults",
        ])
        .assert();
    let readings = json_lines(&out.get_output().stdout);
    assert!(
        readings.iter().any(|r| r["defrost"] == true),
        "the scenario must contain defrosts"
    );
    let events = detect(&out.get_output().stdout, &[]);
    assert!(events.is_empty(), "{events:?}");
}

#[test]
fn one_event_per_episode_and_a_resolve() {
    let readings = sim(&["--products", "P01", "--inject", "2:power_off@30m+1h"]);
    let events = detect(&readings, &[]);
    let power: Vec<&Value> = events
        .iter()
        .filter(|e| e["fault"] == "power_off")
        .collect();
    let statuses: Vec<&str> = power
        .iter()
        .map(|e| e["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["open", "resolved"]);
    assert_eq!(power[0]["since"], power[1]["since"]);
}

#[test]
fn golden_events_on_the_sample_fleet() {
    let out = tool("reefer-detect")
        .arg(repo_path("samples/fleet.jsonl"))
        .assert();
    let out = out.success();
    golden(
        "tests/fixtures/detect/fleet.events.jsonl",
        &out.get_output().stdout,
    );
}

#[test]
fn golden_evaluation_of_the_sample_fleet() {
    let out = tool("reefer-detect")
        .arg("--evaluate")
        .arg(repo_path("samples/fleet.jsonl"))
        .assert();
    let out = out.success();
    golden(
        "tests/fixtures/detect/fleet.evaluate.txt",
        &out.get_output().stdout,
    );
    let out = tool("reefer-detect")
        .args(["--evaluate", "--json"])
        .arg(repo_path("samples/fleet.jsonl"))
        .assert();
    let v: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(v["faults"]["power_off"]["recall"], 1.0);
    assert_eq!(v["false_alerts"], 0);
}

#[test]
fn reads_ibm_style_csv_without_preparation() {
    let out = tool("reefer-detect")
        .arg(repo_path("tests/fixtures/detect/ibm-style.csv"))
        .assert()
        .success();
    let err = String::from_utf8_lossy(&out.get_output().stderr);
    // Nothing rejected, and every detector can work on it (door and compressor by their fallbacks);
    // the shorted probe's readings are data, counted as implausible.
    assert!(
        err.contains("rejected 0; implausible values kept as data and marked for their reading: temperature 60 (outside -80..80 °C)")
            && !err.contains("never had what it needs"),
        "{err}"
    );
    let faults: Vec<String> = opened(&json_lines(&out.get_output().stdout))
        .into_iter()
        .map(|(_, f)| f)
        .collect();
    assert!(faults.contains(&"power_off".to_string()), "{faults:?}");
    assert!(
        faults.contains(&"temperature_sensor".to_string()),
        "{faults:?}"
    );
}

#[test]
fn reads_window_rows() {
    let mut rows = String::new();
    for i in 0..12 {
        let (s, e) = (
            format!("2026-11-27T03:{:02}:00Z", i * 5),
            format!("2026-11-27T03:{:02}:00Z", i * 5 + 5).replace("03:60", "04:00"),
        );
        // No supply air in these rows: return air is judged against the
        // band (P01: -1 … 2 °C) plus the 3 °C it runs above supply air. The
        // readings of each row differ (rows of equal readings, one after the
        // other, are a stuck sensor).
        let (t, kw) = if i >= 4 { (6.5, 0.0) } else { (0.5, 2.5) };
        rows.push_str(&format!(
            "{{\"window_start\":\"{s}\",\"window_end\":\"{e}\",\"container_id\":\"MSKU1234565\",\"product_id\":\"P01\",\"count\":5,\"temperature_min\":{},\"temperature_max\":{},\"temperature_mean\":{t},\"kilowatts_max\":{kw}}}\n",
            t - 0.1,
            t + 0.1
        ));
    }
    let faults: Vec<String> = opened(&detect(rows.as_bytes(), &[]))
        .into_iter()
        .map(|(_, f)| f)
        .collect();
    assert_eq!(faults, ["power_off", "temperature_excursion"]);
}

#[test]
fn where_passes_matching_records_through_unchanged() {
    let sample = std::fs::read_to_string(repo_path("samples/fleet.jsonl")).unwrap();
    let out = tool("reefer-detect")
        .args(["--where", "temperature > 14.5"])
        .arg(repo_path("samples/fleet.jsonl"))
        .assert();
    let out = out.success();
    let got = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let want: Vec<&str> = sample
        .lines()
        .filter(|l| {
            serde_json::from_str::<Value>(l).unwrap()["temperature"]
                .as_f64()
                .unwrap()
                > 14.5
        })
        .collect();
    assert!(!want.is_empty());
    assert_eq!(got.lines().collect::<Vec<_>>(), want);

    let out = tool("reefer-detect")
        .args(["--where", "product_id == P02 and door_open == true"])
        .arg(repo_path("samples/fleet.jsonl"))
        .assert();
    let rows = json_lines(&out.get_output().stdout);
    assert!(
        !rows.is_empty()
            && rows
                .iter()
                .all(|r| r["product_id"] == "P02" && r["door_open"] == true)
    );
}

#[test]
fn where_on_csv_keeps_the_header() {
    let out = tool("reefer-detect")
        .args(["--where", "kilowatts == 0"])
        .arg(repo_path("samples/small.csv"))
        .assert();
    let out = out.success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let mut lines = text.lines();
    assert!(lines
        .next()
        .unwrap()
        .starts_with("container_id,measurement_time,"));
    let rest: Vec<&str> = lines.collect();
    assert!(
        !rest.is_empty() && rest.iter().all(|l| l.contains(",0.0,")),
        "{rest:?}"
    );
}

#[test]
fn where_rejects_a_bad_condition() {
    tool("reefer-detect")
        .args(["--where", "temperature >"])
        .write_stdin("")
        .assert()
        .code(2);
}

fn temp_file(text: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(text.as_bytes()).unwrap();
    f
}

#[test]
fn rules_file_errors_name_file_and_line() {
    for (text, at) in [
        (
            "[detectors.power_off]\nkw_max = 0.1\n[detectors.nope]\n",
            ":3:",
        ),
        (
            "[[rule]]\nname = \"hot\"\nwhen = \"temperature >> 3\"\n",
            ":3:",
        ),
        ("[detectors.power_off]\nfor = \"soon\"\n", ":2:"),
        ("this is not toml\n", ":1:"),
    ] {
        let f = temp_file(text);
        let path = f.path().to_str().unwrap().to_string();
        let out = tool("reefer-detect")
            .args(["--rules", &path])
            .write_stdin("")
            .assert()
            .code(2);
        let err = String::from_utf8_lossy(&out.get_output().stderr);
        assert!(
            err.starts_with(&format!("reefer-detect: {path}{at}")),
            "{text:?}: {err}"
        );
    }
    let f = temp_file("[[product]]\nid = \"P09\"\nsetpoint = \"cold\"\nband_high = 1\n");
    let out = tool("reefer-detect")
        .args(["--catalog", f.path().to_str().unwrap()])
        .write_stdin("")
        .assert();
    let out = out.code(2);
    out.stderr(predicates::str::contains(":3:"));
}

#[test]
fn rules_file_tunes_disables_and_adds_rules() {
    // A modem on battery reports the cut as 0 kW readings.
    let readings = sim(&[
        "--products",
        "P01",
        "--modem-battery",
        "1",
        "--inject",
        "2:power_off@30m+2h",
    ]);
    let f = temp_file("[detectors.power_off]\nenabled = false\n\n[[rule]]\nname = \"unpowered\"\nwhen = \"kilowatts < 0.5\"\nfor = \"10m\"\nseverity = \"critical\"\n");
    let events = detect(&readings, &["--rules", f.path().to_str().unwrap()]);
    let faults: Vec<String> = opened(&events).into_iter().map(|(_, f)| f).collect();
    assert!(!faults.contains(&"power_off".to_string()), "{faults:?}");
    let hot = events
        .iter()
        .find(|e| e["rule"] == "unpowered")
        .expect("threshold rule fires");
    assert_eq!(hot["severity"], "critical");
}

#[test]
fn catalog_file_sets_the_band() {
    // A band that the box at its 0 °C setpoint is below: out of band from the start.
    let readings = sim_sized("1", "4h", &["--products", "P01"]);
    let f = temp_file("[[product]]\nid = \"P01\"\nname = \"warm carrots\"\nsetpoint = 0.0\nband_low = 1.0\nband_high = 3.0\n");
    let events = detect(&readings, &["--catalog", f.path().to_str().unwrap()]);
    assert!(
        events.iter().any(|e| e["fault"] == "temperature_excursion"),
        "{events:?}"
    );
}

#[test]
fn bad_lines_are_reported_skipped_and_counted() {
    let readings = String::from_utf8(sim(&[
        "--products",
        "P01",
        "--inject",
        "2:power_off@30m+1h",
    ]))
    .unwrap();
    let mut lines: Vec<&str> = readings.lines().collect();
    lines.insert(1, "{not json");
    let input = lines.join("\n") + "\n";
    let out = tool("reefer-detect").write_stdin(input).assert();
    let out = out.code(1);
    let err = String::from_utf8_lossy(&out.get_output().stderr);
    assert!(
        err.contains("reefer-detect: stdin:2: invalid JSON"),
        "{err}"
    );
    assert!(opened(&json_lines(&out.get_output().stdout))
        .iter()
        .any(|(_, f)| f == "power_off"));
}

#[test]
fn readings_out_of_order_within_the_default_lateness_are_judged_in_event_time() {
    let readings = String::from_utf8(sim(&["--inject", "2:power_off@30m+1h"])).unwrap();
    let in_order = detect(readings.as_bytes(), &[]);
    let mut lines: Vec<&str> = readings.lines().collect();
    // A reading sent after the same container's next one (1 min later).
    let id = |l: &str| serde_json::from_str::<Value>(l).unwrap()["container_id"].clone();
    let next = (10..).find(|&i| id(lines[i]) == id(lines[9])).unwrap();
    lines.swap(9, next);
    let input = lines.join("\n") + "\n";
    assert_eq!(detect(input.as_bytes(), &[]), in_order);
    // Without holding (--lateness 0s) any step back is a new session: noted, not rejected.
    tool("reefer-detect")
        .args(["--lateness", "0s"])
        .write_stdin(input)
        .assert()
        .success()
        .stderr(predicate::str::contains("a new session for it"));
}

#[test]
fn a_replayed_run_starts_a_new_session_per_container_and_gives_the_same_events_again() {
    let run = sim(&[
        "--inject",
        "2:power_off@30m+1h",
        "--inject",
        "3:fan_failure@1h+2h",
    ]);
    let once = detect(&run, &[]);
    assert!(opened(&once).iter().any(|(_, f)| f == "power_off"));
    let twice = [run.clone(), run].concat();
    let stats = tempfile::NamedTempFile::new().unwrap();
    let out = tool("reefer-detect")
        .args(["--stats-json", stats.path().to_str().unwrap()])
        .write_stdin(twice)
        .assert()
        .success()
        .stderr(predicate::str::contains("went back from 2026-11-27T06:59:00Z to 2026-11-27T03:00:00Z (more than --lateness 1m): a new session for it"))
        .stderr(predicate::str::contains("3 new sessions"))
        .stderr(predicate::str::contains("rejected 0"));
    let events = json_lines(&out.get_output().stdout);
    let mut first = opened(&once);
    let mut again = opened(&events);
    first.extend(first.clone());
    first.sort();
    again.sort();
    assert_eq!(again, first);
    let v: Value = serde_json::from_slice(&std::fs::read(stats.path()).unwrap()).unwrap();
    assert_eq!(
        (v["sessions"].as_u64(), v["rejected"].as_u64()),
        (Some(3), Some(0))
    );
}

#[test]
fn evaluate_scores_each_input_on_its_own_clock() {
    let run = sim(&["--inject", "2:power_off@30m+1h"]);
    let dir = tempfile::tempdir().unwrap();
    let one = dir.path().join("one.jsonl");
    std::fs::write(&one, &run).unwrap();
    let one = one.to_str().unwrap();
    // The same file twice: its readings are not late for the second score.
    tool("reefer-detect")
        .args(["--evaluate", one, one])
        .assert()
        .success()
        .stdout(predicate::str::contains("2 input(s)"))
        .stderr(predicate::str::contains("arrived after").not());
}

#[test]
fn implausible_values_are_kept_as_data_marked_and_counted_once_at_the_end() {
    let readings = String::from_utf8(sim_sized("1", "30m", &[])).unwrap();
    let mut lines: Vec<String> = readings.lines().map(str::to_string).collect();
    let set = |line: &str, field: &str, v: f64| {
        let mut r: Value = serde_json::from_str(line).unwrap();
        r[field] = v.into();
        r.to_string()
    };
    lines[3] = set(&lines[3], "kilowatts", -0.02);
    lines[4] = set(&lines[4], "kilowatts", -0.01);
    lines[5] = set(&lines[5], "oxygen_level", 23.4);
    lines[6] = set(&lines[6], "humidity_level", 104.0);
    let stats = tempfile::NamedTempFile::new().unwrap();
    let out = tool("reefer-detect")
        .args(["--stats-json", stats.path().to_str().unwrap()])
        .write_stdin(lines.join("\n") + "\n")
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "rejected 0; implausible values kept as data and marked for their reading: kilowatts 2 (below 0), oxygen_level 1 (below 0 or above 22 %), humidity_level 1 (below 0 or above 100 %)",
        ));
    // Neither a power cut (a negative draw is no draw reading) nor a sensor fault from one reading.
    assert!(opened(&json_lines(&out.get_output().stdout)).is_empty());
    let v: Value = serde_json::from_slice(&std::fs::read(stats.path()).unwrap()).unwrap();
    assert_eq!(v["read"].as_u64(), Some(lines.len() as u64));
    assert_eq!(v["implausible"]["kilowatts"].as_u64(), Some(2));
    assert_eq!(v["implausible"]["oxygen_level"].as_u64(), Some(1));
}

#[test]
fn an_o2_sensor_reading_implausibly_high_is_a_sensor_fault() {
    let readings = String::from_utf8(sim_sized("1", "1h", &["--products", "P01"])).unwrap();
    let lines: Vec<String> = readings
        .lines()
        .enumerate()
        .map(|(i, l)| {
            let mut r: Value = serde_json::from_str(l).unwrap();
            if i >= 20 {
                r["oxygen_level"] = 22.4.into();
            }
            r.to_string()
        })
        .collect();
    let events = detect((lines.join("\n") + "\n").as_bytes(), &[]);
    assert!(
        opened(&events).iter().any(|(_, f)| f == "o2_sensor"),
        "{events:?}"
    );
}

/// `readings` (JSON lines) with each record passed to `edit` with its minute
/// after [`START`].
fn edit_by_minute(readings: &str, mut edit: impl FnMut(i64, &mut Value)) -> Vec<u8> {
    let start = reefer::time::parse_time_ms(START.as_bytes()).unwrap();
    let lines: Vec<String> = readings
        .lines()
        .map(|l| {
            let mut r: Value = serde_json::from_str(l).unwrap();
            let t = reefer::time::parse_time_ms(r["measurement_time"].as_str().unwrap().as_bytes())
                .unwrap();
            edit((t - start) / 60_000, &mut r);
            r.to_string()
        })
        .collect();
    (lines.join("\n") + "\n").into_bytes()
}

/// Three vented boxes for 14 h at 1 min: from 8 h the O2 cells of boxes 2
/// and 3 turn noisy (jumps of 0.8-1.6 % either way); from 10 h box 2's cell
/// also reads a level 4.4 % lower, box 3's stays noisy around the truth.
fn noisy_o2_then_a_step_in_box_2() -> (Vec<u8>, String, String) {
    let readings = String::from_utf8(sim_sized("3", "14h", &["--products", "P01"])).unwrap();
    let (two, three) = (
        container(readings.as_bytes(), 2),
        container(readings.as_bytes(), 3),
    );
    let edited = edit_by_minute(&readings, |minute, r| {
        let id = r["container_id"].as_str().unwrap().to_string();
        if minute >= 480 && (id == two || id == three) {
            let sign = if (minute * 7919) % 13 < 6 { -1.0 } else { 1.0 };
            let size = 0.8 + 0.8 * ((minute * 104_729) % 11) as f64 / 10.0;
            let level = if minute >= 600 && id == two {
                16.5
            } else {
                20.9
            };
            r["oxygen_level"] = (((level + sign * size) * 100.0_f64).round() / 100.0).into();
        }
    });
    (edited, two, three)
}

/// Three vented boxes for 20 h at 1 min; box 2's O2 cell drifts from 8 h,
/// 0.8 %/h for 2 h, then stays 1.6 % low until it is mended at 16 h.
#[test]
fn a_gas_sensor_that_drifted_and_stopped_stays_open_until_it_reads_its_level_again() {
    let readings = String::from_utf8(sim_sized("3", "20h", &["--products", "P01"])).unwrap();
    let two = container(readings.as_bytes(), 2);
    let start = reefer::time::parse_time_ms(START.as_bytes()).unwrap();
    let at = |minute: i64| reefer::time::format_millis(start + minute * 60_000);
    let edited = edit_by_minute(&readings, |minute, r| {
        if r["container_id"] == two.as_str() && (480..960).contains(&minute) {
            let offset = 0.8 * ((minute - 480).min(120) as f64 / 60.0);
            let o2 = r["oxygen_level"].as_f64().unwrap() - offset;
            r["oxygen_level"] = ((o2 * 100.0).round() / 100.0).into();
        }
    });
    let events = detect(&edited, &[]);
    let o2: Vec<&Value> = events
        .iter()
        .filter(|e| e["fault"] == "o2_sensor")
        .collect();
    assert!(
        o2.iter().all(|e| e["container_id"] == two.as_str()),
        "{o2:?}"
    );
    let status: Vec<&str> = o2.iter().map(|e| e["status"].as_str().unwrap()).collect();
    assert_eq!(status[0], "open", "{o2:?}");
    let opened = o2[0]["detected_at"].as_str().unwrap();
    assert!(
        opened > at(480).as_str() && opened < at(600).as_str(),
        "{o2:?}"
    );
    // Not resolved while the cell reads 1.6 % low (its level learns nothing
    // while the episode is open), and resolved once it reads its level again.
    let resolved: Vec<&&Value> = o2.iter().filter(|e| e["status"] == "resolved").collect();
    assert_eq!(resolved.len(), 1, "{o2:?}");
    let when = resolved[0]["detected_at"].as_str().unwrap();
    assert!(
        when > at(960).as_str() && when < at(1200).as_str(),
        "{o2:?}"
    );
    assert_eq!(status.iter().filter(|s| **s == "open").count(), 1, "{o2:?}");
}

#[test]
fn a_noisy_gas_sensor_that_then_shifts_level_escalates_with_the_new_evidence() {
    let (readings, two, three) = noisy_o2_then_a_step_in_box_2();
    let events = detect(&readings, &[]);
    let o2 = |id: &str, status: &str| -> Vec<&Value> {
        events
            .iter()
            .filter(|e| {
                e["container_id"] == id && e["fault"] == "o2_sensor" && e["status"] == status
            })
            .collect()
    };
    // One episode per box, opened by the noise.
    for id in [&two, &three] {
        let open = o2(id, "open");
        assert_eq!(open.len(), 1, "{id}: {events:?}");
        assert!(
            open[0]["evidence"]["jumps_of_last_10"].is_number(),
            "{}",
            open[0]
        );
    }
    // Box 2's step is reported: the episode escalates with the level evidence.
    let up = o2(&two, "escalated");
    assert_eq!(up.len(), 1, "{events:?}");
    let e = up[0];
    assert_eq!(e["severity"], "critical", "{e}");
    assert!(
        e["detected_at"].as_str().unwrap() >= "2026-11-27T13:00:00Z",
        "{e}"
    );
    assert!(
        e["detected_at"].as_str().unwrap() <= "2026-11-27T14:00:00Z",
        "{e}"
    );
    assert!(e["evidence"]["shift"].as_f64().unwrap() < -3.0, "{e}");
    assert_eq!(
        e["evidence"]["findings"],
        serde_json::json!(["level", "noisy"]),
        "{e}"
    );
    // Near miss: box 3 stays noisy around the truth and is not escalated.
    assert!(o2(&three, "escalated").is_empty(), "{events:?}");
    assert!(
        opened(&events).iter().all(|(_, f)| f == "o2_sensor"),
        "{events:?}"
    );
}

#[test]
fn a_state_file_keeps_each_channel_s_level_so_two_runs_escalate_as_one_would() {
    let (readings, two, _) = noisy_o2_then_a_step_in_box_2();
    let whole = detect(&readings, &[]);
    // Split after 8 h 20 min (3 readings a minute): the noise has begun, the step not.
    let text = String::from_utf8(readings).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let (first, second) = lines.split_at(1500);
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("detect.state");
    let state = state.to_str().unwrap();
    let mut split = detect((first.join("\n") + "\n").as_bytes(), &["--state", state]);
    split.extend(detect(
        (second.join("\n") + "\n").as_bytes(),
        &["--state", state],
    ));
    assert_eq!(split, whole);
    assert!(
        split
            .iter()
            .any(|e| e["container_id"] == two && e["status"] == "escalated"),
        "{split:?}"
    );
}

#[test]
fn lists_rules_and_writes_completions() {
    let out = tool("reefer-detect").arg("--list-rules").assert();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    for r in [
        "power_off",
        "compressor_failure",
        "fan_failure",
        "door_open",
        "temperature_sensor",
        "co2_sensor",
        "o2_sensor",
        "temperature_band",
    ] {
        assert!(text.contains(r), "{r}");
    }
    tool("reefer-detect")
        .args(["--completions", "bash"])
        .assert()
        .success();
}

#[test]
fn ignore_field_shows_what_a_detector_needs() {
    let readings = sim(&[
        "--products",
        "P05",
        "--inject",
        "2:compressor_failure@30m+2h",
    ]);
    // Without mode it falls back to the draw; without the draw too, it is blind.
    let faults: Vec<String> = opened(&detect(
        &readings,
        &["--ignore-field", "operating_mode,kilowatts"],
    ))
    .into_iter()
    .map(|(_, f)| f)
    .collect();
    assert!(
        !faults.contains(&"compressor_failure".to_string()),
        "{faults:?}"
    );
    tool("reefer-detect")
        .args(["--ignore-field", "container_id"])
        .write_stdin("")
        .assert()
        .code(2);
}

#[test]
fn door_open_is_inferred_without_a_door_switch() {
    for products in ["P02", "P06"] {
        let readings = sim(&["--products", products, "--inject", "2:door_open@30m+15m"]);
        let id = container(&readings, 2);
        let events = detect(
            &readings,
            &["--ignore-field", "door_open,defrost,operating_mode"],
        );
        let door: Vec<&Value> = events
            .iter()
            .filter(|e| e["fault"] == "door_open" && e["status"] == "open")
            .collect();
        assert_eq!(door.len(), 1, "{products}: {events:?}");
        assert_eq!(door[0]["container_id"], id.as_str());
        assert_eq!(door[0]["evidence"]["door_switch"], "absent: inferred");
    }
    // A healthy fleet without door switches (defrosts included) shows no door.
    let out = tool("reefer-sim")
        .args([
            "--containers",
            "12",
            "--duration",
            "1d",
            "--interval",
            "1m",
            "--seed",
            "3",
            "--start",
            START,
            "--no-faults",
        ])
        .assert();
    let events = detect(
        &out.get_output().stdout,
        &["--ignore-field", "door_open,defrost,operating_mode"],
    );
    assert!(events.is_empty(), "{events:?}");
}

#[test]
fn temperature_excursion_fires_after_its_grace_and_escalates() {
    // A frozen load holds its cold for a long time (25 t warm at about
    // 0.14 °C/h), but its air warms by a few degrees within the first hour of
    // a power cut: a 5-hour cut, reported on the modem's battery, takes the
    // return air past its band, then 2 h outside.
    let readings = sim_sized(
        "3",
        "6h",
        &[
            "--products",
            "P06",
            "--modem-battery",
            "1",
            "--inject",
            "2:power_off@30m+5h",
        ],
    );
    let events = detect(&readings, &[]);
    let exc: Vec<&Value> = events
        .iter()
        .filter(|e| e["fault"] == "temperature_excursion")
        .collect();
    assert_eq!(exc[0]["status"], "open");
    assert_eq!(exc[0]["severity"], "warning");
    let since = chrono::DateTime::parse_from_rfc3339(exc[0]["since"].as_str().unwrap()).unwrap();
    let at = chrono::DateTime::parse_from_rfc3339(exc[0]["detected_at"].as_str().unwrap()).unwrap();
    assert_eq!((at - since).num_minutes(), 30, "the grace period");
    assert!(exc
        .iter()
        .any(|e| e["status"] == "escalated" && e["severity"] == "critical"));
}

#[test]
fn temperature_excursion_ignores_a_short_door_opening() {
    stays_quiet(
        &sim(&["--products", "P01", "--inject", "2:door_open@30m+10m"]),
        "temperature_excursion",
    );
}

#[test]
fn compressor_failure_is_inferred_without_mode_and_supply_air() {
    // A chilled load (pharma, 5 °C) warms fast enough for the fallback's
    // 1 °C in 24 min; a frozen load warms too slowly (see notes/detect.md).
    let readings = sim(&[
        "--products",
        "P07",
        "--inject",
        "2:compressor_failure@30m+3h",
    ]);
    let id = container(&readings, 2);
    let events = detect(
        &readings,
        &["--ignore-field", "operating_mode,supply_air_temperature"],
    );
    let comp: Vec<&Value> = events
        .iter()
        .filter(|e| e["fault"] == "compressor_failure" && e["status"] == "open")
        .collect();
    assert_eq!(comp.len(), 1, "{events:?}");
    assert_eq!(comp[0]["container_id"], id.as_str());
    assert_eq!(
        comp[0]["evidence"]["supply_air_and_mode"],
        "absent: inferred"
    );
    // A long door opening warms the box too, but it is not a compressor failure.
    let readings = sim(&["--products", "P07", "--inject", "2:door_open@30m+25m"]);
    let opens = opened(&detect(
        &readings,
        &[
            "--ignore-field",
            "operating_mode,supply_air_temperature,door_open",
        ],
    ));
    assert!(
        !opens.iter().any(|(_, f)| f == "compressor_failure"),
        "{opens:?}"
    );
}

// The shared reader (issue 9): what reefer-detect makes of unusual input.

/// Readings with an open door on container #2 from 30 min for 20 min.
fn door_readings() -> Vec<u8> {
    sim_sized("3", "2h", &["--inject", "2:door_open@30m+20m"])
}

#[test]
fn a_bad_first_line_on_stdin_is_reported_and_the_rest_is_detected() {
    let readings = door_readings();
    let door = container(&readings, 2);
    for first in ["garbage", "[1]", r#"{"container_id":"MSKU"#] {
        let mut input = format!("{first}\n").into_bytes();
        input.extend_from_slice(&readings);
        let out = tool("reefer-detect")
            .write_stdin(input)
            .assert()
            .code(1)
            .stderr(predicates::str::contains("reefer-detect: stdin:1: "));
        let events = json_lines(&out.get_output().stdout);
        assert!(
            opened(&events).contains(&(door.clone(), "door_open".into())),
            "after {first:?}: {events:?}"
        );
    }
}

#[test]
fn a_byte_order_mark_before_the_first_record_is_skipped() {
    let readings = door_readings();
    let mut input = b"\xEF\xBB\xBF".to_vec();
    input.extend_from_slice(&readings);
    let out = tool("reefer-detect")
        .write_stdin(input)
        .assert()
        .success()
        .stderr(predicates::str::contains("rejected").not());
    let events = json_lines(&out.get_output().stdout);
    assert!(opened(&events).contains(&(container(&readings, 2), "door_open".into())));
}

#[test]
fn crlf_and_invalid_utf8_lines_go_to_the_dead_letter_byte_for_byte() {
    let readings = door_readings();
    let bad: [&[u8]; 3] = [
        b"{\"a\":\r\n",
        b"\xff\xfe{}\n",
        b"{\"temperature\":1e400}\r\n",
    ];
    let mut input = Vec::new();
    let mut want = Vec::new();
    for (i, line) in readings.split_inclusive(|&b| b == b'\n').enumerate() {
        input.extend_from_slice(line);
        if i % 50 == 7 && i / 50 < bad.len() {
            input.extend_from_slice(bad[i / 50]);
            want.extend_from_slice(bad[i / 50]);
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let dead = dir.path().join("dead");
    tool("reefer-detect")
        .arg("--dead-letter")
        .arg(&dead)
        .write_stdin(input)
        .assert()
        .code(1)
        .stderr(predicates::str::contains(format!(
            "rejected 3 (kept in {})",
            dead.display()
        )));
    assert_eq!(std::fs::read(&dead).unwrap(), want);
}

#[test]
fn reefer_window_rows_show_an_injected_door() {
    let readings = tool("reefer-sim")
        .args([
            "--seed",
            "1",
            "--no-faults",
            "--inject",
            "3:door_open@30m+10m",
        ])
        .args(["--duration", "2h", "--containers", "5", "--start", START])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let rows = tool("reefer-window")
        .write_stdin(readings.clone())
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let out = tool("reefer-detect").write_stdin(rows).assert().success();
    let events = json_lines(&out.get_output().stdout);
    assert_eq!(
        opened(&events),
        [(container(&readings, 3), "door_open".to_string())],
        "{events:?}"
    );
}

#[test]
fn where_takes_the_last_of_duplicate_keys_like_the_detectors() {
    tool("reefer-detect")
        .args(["--where", "temperature > 18"])
        .write_stdin(
            "{\"temperature\":20,\"temperature\":1}\n{\"temperature\":1,\"temperature\":20}\n",
        )
        .assert()
        .success()
        .stdout("{\"temperature\":1,\"temperature\":20}\n");
}

#[test]
fn an_input_that_cannot_be_read_is_fatal_not_the_end_of_input() {
    let dir = tempfile::tempdir().unwrap();
    tool("reefer-detect")
        .arg(dir.path())
        .assert()
        .code(3)
        .stderr(predicates::str::contains("failed before its first line"));
}

#[test]
fn a_where_filter_prints_as_flink_sql() {
    tool("reefer-detect")
        .args(["--where", "temperature > 18", "--print-sql", "flink"])
        .assert()
        .success()
        .stdout(predicates::str::contains("CREATE TABLE reefer_readings"))
        .stdout(predicates::str::contains("WHERE `temperature` > 18E0"));
    tool("reefer-detect")
        .args(["--print-sql", "flink"])
        .assert()
        .code(2);
}

#[test]
fn evaluate_fails_on_an_input_without_fault_episodes_unless_allowed() {
    for extra in [&["--no-labels"][..], &["--no-faults"]] {
        let fleet = tool("reefer-sim")
            .args(["--containers", "3", "--duration", "30m", "--seed", "2"])
            .args(extra)
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        tool("reefer-detect")
            .arg("--evaluate")
            .write_stdin(fleet.clone())
            .assert()
            .code(1)
            .stderr(predicates::str::contains("holds no fault episode"));
        tool("reefer-detect")
            .args(["--evaluate", "--allow-no-episodes"])
            .write_stdin(fleet)
            .assert()
            .success();
    }
}

#[test]
fn list_products_prints_the_catalog_with_a_file_s_additions() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("p.toml");
    std::fs::write(
        &file,
        "[[product]]\nid = \"P09\"\nname = \"ice cream\"\nsetpoint = -25.0\nband_high = -20.0\n",
    )
    .unwrap();
    tool("reefer-detect")
        .arg("--list-products")
        .arg("--catalog")
        .arg(&file)
        .assert()
        .success()
        .stdout(predicates::str::contains("P02   bananas"))
        .stdout(predicates::str::contains("P09   ice cream"));
}

#[test]
fn evaluate_with_lateness_scores_late_delivered_readings_as_it_scores_them_in_order() {
    let sim = |delivery: &str| {
        let run = tool("reefer-sim")
            .args(["--containers", "20", "--duration", "4h", "--seed", "7"])
            .args(["--start", "2026-11-27T00:00:00Z", "--no-faults"])
            .args(["--inject", "2:compressor_failure@30m+1h"])
            .args(["--inject", "3:o2_sensor@20m+90m"])
            .args(["--delivery", delivery])
            .assert()
            .success();
        run.get_output().stdout.clone()
    };
    let table = |input: Vec<u8>, args: &[&str]| {
        let run = tool("reefer-detect")
            .arg("--evaluate")
            .args(args)
            .write_stdin(input)
            .assert()
            .success();
        let out = String::from_utf8(run.get_output().stdout.clone()).unwrap();
        // The per-fault rows (the last line counts readings, which differ).
        out.lines().take(8).collect::<Vec<_>>().join("\n")
    };
    let in_order = table(sim("in-order"), &[]);
    assert!(
        in_order.contains("o2_sensor                     1        1"),
        "{in_order}"
    );
    assert_eq!(table(sim("realistic"), &["--lateness", "1m"]), in_order);
}

/// One-minute rows of a chilled box (P01, setpoint 0 °C) from 03:00: six
/// readings each, `row(i)` giving (return min, return max, supply mean).
fn chilled_rows(n: usize, row: impl Fn(usize) -> (f64, f64, f64)) -> String {
    (0..n)
        .map(|i| {
            let (lo, hi, supply) = row(i);
            let t = |m: usize| format!("2026-11-27T{:02}:{:02}:00Z", 3 + m / 60, m % 60);
            format!(
                "{{\"window_start\":\"{}\",\"window_end\":\"{}\",\"container_id\":\"C1\",\"product_id\":\"P01\",\"count\":6,\"temperature_min\":{lo},\"temperature_max\":{hi},\"temperature_mean\":{},\"supply_air_temperature_mean\":{supply},\"kilowatts_max\":3.1,\"kilowatts_mean\":3.0,\"fan_1_true\":6,\"door_open_true\":0,\"defrost_true\":0}}\n",
                t(i),
                t(i + 1),
                (lo + hi) / 2.0
            )
        })
        .collect()
}

#[test]
fn rows_of_equal_readings_one_after_another_are_a_stuck_sensor_and_moving_rows_are_not() {
    // Return air 1.7 °C above supply air at 0.0: a healthy chilled box.
    let stuck = chilled_rows(40, |i| {
        let v = if i < 10 {
            1.6 + 0.1 * (i % 2) as f64
        } else {
            1.7
        };
        (v, v, 0.05 * (i % 3) as f64)
    });
    let faults = opened(&detect(stuck.as_bytes(), &[]));
    assert_eq!(
        faults,
        [("C1".to_string(), "temperature_sensor".to_string())]
    );
    // Near miss: the same rows, each spreading 0.1 °C (units report 0.1 °C).
    let moving = chilled_rows(40, |i| (1.7, 1.8, 0.05 * (i % 3) as f64));
    assert!(opened(&detect(moving.as_bytes(), &[])).is_empty());
}

#[test]
fn rows_whose_supply_air_is_no_colder_than_return_air_in_a_warm_box_are_a_failed_compressor() {
    // From row 10 the coil stops cooling: supply air climbs above return air.
    let failed = chilled_rows(30, |i| {
        if i < 10 {
            (1.6, 1.8, 0.0)
        } else {
            let warm = 1.8 + 0.1 * (i - 10) as f64;
            (warm, warm + 0.1, warm + 0.3)
        }
    });
    let events = detect(failed.as_bytes(), &[]);
    let faults = opened(&events);
    assert!(
        faults.contains(&("C1".to_string(), "compressor_failure".to_string())),
        "{events:?}"
    );
    // Near miss: a box pulling down (supply air far colder) is not a failure.
    let pulling = chilled_rows(30, |i| {
        let warm = 6.0 - 0.05 * i as f64;
        (warm, warm + 0.1, warm - 4.0)
    });
    let faults = opened(&detect(pulling.as_bytes(), &[]));
    assert!(
        !faults.iter().any(|(_, f)| f == "compressor_failure"),
        "{faults:?}"
    );
}

/// Readings of a scripted fleet, the later half without `ambient_temperature`
/// and with `door_open` null: a field that disappears mid-stream.
fn fleet_losing_fields() -> Vec<u8> {
    let readings = sim(&[]);
    let lines: Vec<&[u8]> = readings
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    let half = lines.len() / 2;
    let mut out = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        let mut v: Value = serde_json::from_slice(l).unwrap();
        if i >= half {
            v.as_object_mut().unwrap().remove("ambient_temperature");
            v["door_open"] = Value::Null;
        }
        out.extend_from_slice(v.to_string().as_bytes());
        out.push(b'\n');
    }
    out
}

#[test]
fn a_field_that_disappears_mid_stream_is_counted_and_reported_by_the_detectors() {
    let input = fleet_losing_fields();
    let n = input.iter().filter(|&&b| b == b'\n').count();
    let gone = n - n / 2;
    tool("reefer-detect")
        .write_stdin(input)
        .assert()
        .success()
        .stderr(predicates::str::contains(format!(
            "fields without a value (absent or null) in some observations: \
             ambient_temperature in {gone} of {n}, door_open in {gone} of {n}"
        )));
}

#[test]
fn a_where_field_that_disappears_mid_stream_is_counted_and_reported() {
    let input = fleet_losing_fields();
    let n = input.iter().filter(|&&b| b == b'\n').count();
    let gone = n - n / 2;
    let out = tool("reefer-detect")
        .args(["--where", "ambient_temperature > -100 or door_open == true"])
        .write_stdin(input)
        .assert()
        .success()
        // `null` is a value (door_open == null is how a reading says "unknown"):
        // only the absent key is counted.
        .stderr(predicates::str::contains(format!(
            "--where fields absent from some records: ambient_temperature in {gone} of {n};"
        )));
    assert_eq!(json_lines(&out.get_output().stdout).len(), n / 2);
}

#[test]
fn a_clean_run_says_nothing_and_a_run_with_bad_lines_gives_the_summary_line() {
    let input = sim(&[]);
    let n = input.iter().filter(|&&b| b == b'\n').count();
    tool("reefer-detect")
        .write_stdin(input.clone())
        .assert()
        .success()
        .stderr("");
    let mut bad = b"garbage\n".to_vec();
    bad.extend_from_slice(&input);
    tool("reefer-detect")
        .write_stdin(bad)
        .assert()
        .code(1)
        .stderr(predicates::str::contains(format!(
            "reefer-detect: read {} records, wrote 0 events, rejected 1 (--dead-letter FILE keeps them)\n",
            n + 1
        )));
}

/// The product ids are explained where a user looks: `--list-products`, and
/// the same table at the end of `--help` (and so in the man page).
#[test]
fn the_catalog_is_listed_and_printed_in_the_help() {
    let list = tool("reefer-detect")
        .arg("--list-products")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let list = String::from_utf8(list).unwrap();
    assert!(
        list.contains("P02   bananas") && list.lines().count() == 9,
        "{list}"
    );
    let help = tool("reefer-detect").arg("--help").assert().success();
    let help = String::from_utf8(help.get_output().stdout.clone()).unwrap();
    assert!(help.contains(list.trim_end()), "{help}");
}

/// `read` in `--stats-json` counts every line: a duplicate reading is read,
/// then dropped (and said so), never missing from the account.
#[test]
fn stats_json_counts_duplicate_readings_as_read() {
    let input = sim(&[]);
    let n = input.iter().filter(|&&b| b == b'\n').count() as u64;
    // The last reading again: a resend of its container's latest reading.
    let last = input
        .split(|&b| b == b'\n')
        .rfind(|l| !l.is_empty())
        .unwrap()
        .to_vec();
    let mut doubled = input.clone();
    doubled.extend_from_slice(&last);
    doubled.push(b'\n');
    let dir = tempfile::tempdir().unwrap();
    let stats = dir.path().join("stats.json");
    tool("reefer-detect")
        .arg("--stats-json")
        .arg(&stats)
        .write_stdin(doubled)
        .assert()
        .success()
        .stderr(predicates::str::contains("1 duplicate readings dropped"));
    let v: Value = serde_json::from_slice(&std::fs::read(&stats).unwrap()).unwrap();
    assert_eq!(
        (v["read"].as_u64(), v["duplicates"].as_u64()),
        (Some(n + 1), Some(1))
    );
}

#[test]
fn a_small_fleet_of_cheap_gas_cells_is_not_called_noisy_while_its_noise_is_learnt() {
    // Five basic units (0.1 % gas cells, CO2 noise 0.05 % + 2 %), no faults,
    // a day at their 5-minute interval: every sensor event would be false.
    // Judged by the rule's fixed jump before the fleet's noise was known, the
    // CA boxes' CO2 was called noisy within hours.
    let readings = sim_fleet(
        5,
        "1d",
        &[
            "--sensors",
            "basic",
            "--seed",
            "1",
            "--start",
            START,
            "--no-faults",
        ],
    );
    let events = detect(&readings, &[]);
    let sensor: Vec<_> = events
        .iter()
        .filter(|e| matches!(e["fault"].as_str(), Some("co2_sensor" | "o2_sensor")))
        .collect();
    assert!(sensor.is_empty(), "false sensor events: {sensor:?}");
}

#[test]
fn a_basic_unit_without_supply_air_or_ambient_shows_its_failed_compressor_by_mode_and_draw() {
    // Two chilled boxes (bananas at 13.3 °C, another at 6 °C) of basic units,
    // whose compressors fail two hours in: the unit reports full_cool, its
    // meter the fans' draw. Without supply air the rule once needed the
    // ambient to know that the box needs cooling; the mode says so.
    let readings = sim_fleet(
        5,
        "12h",
        &[
            "--sensors",
            "basic",
            "--seed",
            "1",
            "--start",
            START,
            "--no-faults",
            "--inject",
            "1:compressor_failure@2h+6h",
            "--inject",
            "2:compressor_failure@2h+6h",
        ],
    );
    let compressors = |args: &[&str]| -> Vec<String> {
        opened(&detect(&readings, args))
            .into_iter()
            .filter(|(_, fault)| fault == "compressor_failure")
            .map(|(container, _)| container)
            .collect()
    };
    assert_eq!(compressors(&[]), ["HLXU7133692", "HLXU7212889"]);
    // Without the mode too, the draw alone tells (the ambient, unknown, is
    // assumed not far below the setpoint) ...
    assert_eq!(
        compressors(&["--ignore-field", "operating_mode"]),
        ["HLXU7133692", "HLXU7212889"]
    );
    // ... unless the rules file says not to assume it.
    let f = temp_file("[detectors.compressor_failure]\nassume_warm_ambient = 0\n");
    let path = f.path().to_str().unwrap();
    assert!(compressors(&["--ignore-field", "operating_mode", "--rules", path]).is_empty());
}

#[test]
fn five_minute_readings_in_one_minute_rows_are_judged_as_the_readings_are() {
    // A basic fleet reporting every 5 minutes, windowed by the minute: each
    // row holds one reading. One CO2 cell turns noisy after 6 h (±0.8 % from
    // one reading to the next, among peers of its product that are not): the
    // row tests look for spread inside a row, which a row of one has not, so
    // the rows must be judged as the readings they are.
    let readings = sim_fleet(
        24,
        "12h",
        &[
            "--seed",
            "2",
            "--no-faults",
            "--sensors",
            "basic",
            "--interval",
            "5m",
            "--start",
            START,
        ],
    );
    let first: Vec<Value> = json_lines(&readings).into_iter().take(24).collect();
    let peers = |p: &Value| first.iter().filter(|r| r["product_id"] == *p).count();
    let noisy = first
        .iter()
        .find(|r| peers(&r["product_id"]) >= 4)
        .expect("a product with peers")["container_id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut k = 0;
    let mut lines = Vec::new();
    for line in json_lines(&readings) {
        let mut r = line.clone();
        if r["container_id"] == noisy.as_str() {
            k += 1;
            if k > 72 {
                let co2 = r["carbon_dioxide_level"].as_f64().unwrap();
                let jolt = if k % 2 == 0 { 0.8 } else { -0.8 };
                r["carbon_dioxide_level"] = (((co2 + jolt).max(0.0) * 10.0).round() / 10.0).into();
            }
        }
        lines.push(r.to_string());
    }
    let readings = (lines.join("\n") + "\n").into_bytes();
    let on_readings = opened(&detect(&readings, &[]));
    assert!(
        on_readings.contains(&(noisy.clone(), "co2_sensor".to_string())),
        "{on_readings:?}"
    );
    let rows = tool("reefer-window")
        .args(["--size", "1m", "--fields", "fan_2,fan_3"])
        .write_stdin(readings.clone())
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(opened(&detect(&rows, &[])), on_readings);
}

#[test]
fn cheap_cells_in_one_minute_rows_are_noisy_only_beyond_their_peers_spread() {
    // A basic CA fleet every 10 s, windowed by the minute (six readings a
    // row). Its CO2 cells spread past the fixed limit (0.6 %) in three rows
    // running dozens of times a day; only a cell spreading far beyond its
    // peers' rows is noisy: box 2's, which jumps ±(0.8–1.6) % from 3 h.
    let readings = sim_fleet(
        20,
        "6h",
        &[
            "--seed",
            "1",
            "--no-faults",
            "--sensors",
            "basic",
            "--interval",
            "10s",
            "--products",
            "P02,P04",
            "--start",
            START,
        ],
    );
    let rows = |readings: &[u8]| {
        tool("reefer-window")
            .args(["-q", "--size", "1m"])
            .write_stdin(readings.to_vec())
            .assert()
            .success()
            .get_output()
            .stdout
            .clone()
    };
    let healthy = opened(&detect(&rows(&readings), &[]));
    assert!(healthy.is_empty(), "{healthy:?}");
    let two = container(&readings, 2);
    let mut k = 0i64;
    let lines: Vec<String> = json_lines(&readings)
        .into_iter()
        .map(|mut r| {
            if r["container_id"] == two.as_str() {
                k += 1;
                if k > 1080 {
                    let co2 = r["carbon_dioxide_level"].as_f64().unwrap();
                    let sign = if (k * 7919) % 13 < 6 { -1.0 } else { 1.0 };
                    let size = 0.8 + 0.8 * ((k * 104_729) % 11) as f64 / 10.0;
                    r["carbon_dioxide_level"] =
                        (((co2 + sign * size).max(0.0) * 10.0).round() / 10.0).into();
                }
            }
            r.to_string()
        })
        .collect();
    let events = detect(&rows((lines.join("\n") + "\n").as_bytes()), &[]);
    assert_eq!(
        opened(&events),
        vec![(two.clone(), "co2_sensor".to_string())],
        "{events:?}"
    );
    let e = &events[0];
    assert!(e["message"].as_str().unwrap().contains("noisy"), "{e}");
    assert!(e["evidence"]["peer_sigma"].as_f64().unwrap() > 0.0, "{e}");
}
