//! reefer-report: the page's embedded data against its input, bad input,
//! empty input, alerts from reefer-act's state, and the SVG charts.
//! (The page as a browser draws it: scripts/test-report.sh.)

use super::common::{json_lines, tool};
use serde_json::Value;
use std::collections::BTreeSet;

const START: &str = "2026-11-27T00:00:00Z";

/// A small fleet with a scripted power cut (the modem keeps reporting on its
/// battery), its fault events, and a scratch directory.
struct Fleet {
    dir: tempfile::TempDir,
}

impl Fleet {
    fn new() -> Fleet {
        let dir = tempfile::tempdir().unwrap();
        let f = Fleet { dir };
        let readings = tool("reefer-sim")
            .args(["--containers", "12", "--duration", "4h", "--seed", "5"])
            .args(["--start", START, "--inject", "2:power_off@1h+90m"])
            .args(["--modem-battery", "1"])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        std::fs::write(f.path("readings.jsonl"), &readings).unwrap();
        let events = tool("reefer-detect")
            .arg(f.path("readings.jsonl"))
            .assert()
            .get_output()
            .stdout
            .clone();
        std::fs::write(f.path("events.jsonl"), &events).unwrap();
        f
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    fn lines(&self, name: &str) -> Vec<Value> {
        json_lines(&std::fs::read(self.path(name)).unwrap())
    }
}

/// The JSON the page embeds for its script.
fn page_data(html: &str) -> Value {
    let open = "<script id=\"data\" type=\"application/json\">";
    let start = html.find(open).expect("the page embeds its data") + open.len();
    let end = start + html[start..].find("</script>").unwrap();
    serde_json::from_str(&html[start..end]).unwrap()
}

fn ids(records: &[Value]) -> BTreeSet<String> {
    records
        .iter()
        .map(|r| r["container_id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn the_page_counts_the_containers_readings_and_episodes_of_its_input() {
    let f = Fleet::new();
    let readings = f.lines("readings.jsonl");
    let events = f.lines("events.jsonl");
    let page = f.path("report.html");
    tool("reefer-report")
        .args([
            &f.path("readings.jsonl"),
            &f.path("events.jsonl"),
            "-o",
            &page,
        ])
        .assert()
        .success();
    let html = std::fs::read_to_string(&page).unwrap();
    let d = page_data(&html);
    let opened = events.iter().filter(|e| e["status"] == "open").count();
    assert!(opened >= 1, "the injected power cut is detected");
    assert_eq!(d["counts"]["readings"], readings.len());
    assert_eq!(d["counts"]["events"], events.len());
    assert_eq!(d["counts"]["episodes"], opened);
    assert_eq!(
        d["containers"].as_array().unwrap().len(),
        ids(&readings).len()
    );
    assert_eq!(d["counts"]["positions"], ids(&readings).len());
    let per_product: f64 = d["products"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p[2].as_f64().unwrap())
        .sum();
    assert_eq!(per_product as usize, readings.len());
    assert!(
        d["faults"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f == "power_off"),
        "the power cut is a fault kind of the page"
    );
    assert!(
        !d["delays"].as_array().unwrap().is_empty(),
        "simulator labels give detection delays"
    );
}

#[test]
fn window_rows_and_events_in_one_stream_are_told_apart() {
    let f = Fleet::new();
    let rows = tool("reefer-window")
        .args(["--size", "5m", &f.path("readings.jsonl")])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let n_rows = json_lines(&rows).len();
    let mut mixed = rows.clone();
    mixed.extend_from_slice(&std::fs::read(f.path("events.jsonl")).unwrap());
    let out = tool("reefer-report")
        .arg("-q")
        .write_stdin(mixed)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let d = page_data(&String::from_utf8(out).unwrap());
    assert_eq!(d["counts"]["rows"], n_rows);
    assert_eq!(d["counts"]["readings"], 0);
    assert_eq!(d["counts"]["events"], f.lines("events.jsonl").len());
    let weighted: f64 = d["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c[5].as_f64().unwrap())
        .sum();
    assert_eq!(
        weighted as usize,
        f.lines("readings.jsonl").len(),
        "a row stands for its count of readings"
    );
}

#[test]
fn an_empty_input_gives_a_page_that_says_no_data_and_exit_0() {
    let out = tool("reefer-report")
        .write_stdin("")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let html = String::from_utf8(out).unwrap();
    assert!(html.contains("<h2>No data</h2>"));
    assert_eq!(page_data(&html)["counts"]["containers"], 0);
}

#[test]
fn bad_lines_are_reported_with_line_numbers_kept_and_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let dead = dir.path().join("bad.jsonl");
    let input = format!(
        "{}\nnot json\n\n{}\n{}\n",
        r#"{"container_id":"C1","measurement_time":"2026-11-27T00:00:00Z","temperature":1.5}"#,
        r#"{"container_id":"C2","temperature":3}"#,
        r#"{"container_id":"C3","measurement_time":"2026-11-27T00:00:10Z","temperature":"warm"}"#,
    );
    let out = tool("reefer-report")
        .args(["--dead-letter", dead.to_str().unwrap()])
        .write_stdin(input)
        .assert()
        .code(1)
        .stderr(predicates::str::contains(
            "reefer-report: stdin:2: invalid JSON",
        ))
        .stderr(predicates::str::contains(
            "reefer-report: stdin:4: neither a reading",
        ))
        .stderr(predicates::str::contains(
            "reefer-report: stdin:5: invalid field",
        ))
        .stderr(predicates::str::contains("rejected 3 (kept in "))
        .get_output()
        .stdout
        .clone();
    let d = page_data(&String::from_utf8(out).unwrap());
    assert_eq!(d["counts"]["readings"], 1, "the good line is drawn");
    let kept = std::fs::read_to_string(&dead).unwrap();
    assert_eq!(kept.lines().count(), 3);
    assert!(kept.starts_with("not json\n"));
}

#[test]
fn alerts_come_from_reefer_acts_state_database() {
    let f = Fleet::new();
    let state = f.path("act.db");
    tool("reefer-act")
        .args(["--state", &state, "--to", "-", &f.path("events.jsonl")])
        .assert()
        .success();
    let listed = tool("reefer-act")
        .args(["alerts", "--state", &state, "--format", "json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let alerts = json_lines(&listed);
    assert!(!alerts.is_empty());
    let out = tool("reefer-report")
        .args(["-q", "--alerts", &state, &f.path("readings.jsonl")])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let d = page_data(&String::from_utf8(out).unwrap());
    assert_eq!(d["counts"]["alerts"], alerts.len());
    let open = |v: &Value| v.as_bool().unwrap_or(false);
    assert_eq!(
        d["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| open(&a[4]))
            .count(),
        alerts.iter().filter(|a| a["status"] == "open").count()
    );
}

#[test]
fn a_missing_alerts_database_is_a_usage_error() {
    tool("reefer-report")
        .args(["--alerts", "/nonexistent/act.db"])
        .write_stdin("")
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--alerts /nonexistent/act.db"));
}

#[test]
fn the_page_loads_nothing_from_the_network() {
    let f = Fleet::new();
    let out = tool("reefer-report")
        .args(["-q", &f.path("readings.jsonl")])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let html = String::from_utf8(out).unwrap();
    assert!(html.contains("Content-Security-Policy\" content=\"default-src 'none'"));
    for needle in [" src=", "<link", "@import", "fetch(", "XMLHttpRequest"] {
        assert!(!html.contains(needle), "the page holds {needle}");
    }
    assert_eq!(
        html.matches("url(").count(),
        html.matches("url(#").count(),
        "url() only for the page's own clip paths"
    );
    assert!(
        !html.contains("connect-src"),
        "a static page connects nowhere"
    );
}

#[test]
fn svg_charts_are_written_without_a_browser() {
    let f = Fleet::new();
    let dir = f.path("charts");
    tool("reefer-report")
        .args(["-q", "--svg", &dir, "-o", &f.path("r.html")])
        .args([&f.path("readings.jsonl"), &f.path("events.jsonl")])
        .assert()
        .success();
    for name in ["overview.svg", "alerts.svg", "timeline.svg", "map.svg"] {
        let text = std::fs::read_to_string(format!("{dir}/{name}")).unwrap();
        assert!(text.starts_with("<svg xmlns="), "{name}");
        assert!(text.trim_end().ends_with("</svg>"), "{name}");
    }
    let map = std::fs::read_to_string(format!("{dir}/map.svg")).unwrap();
    assert_eq!(map.matches("<circle").count(), 12, "a marker per container");
    let timeline = std::fs::read_to_string(format!("{dir}/timeline.svg")).unwrap();
    assert!(timeline.contains("<title>power_off</title>"));
}

#[test]
fn a_smaller_size_budget_gives_a_smaller_page() {
    let f = Fleet::new();
    let size = |budget: &str| {
        tool("reefer-report")
            .args(["-q", "--size-budget", budget, &f.path("readings.jsonl")])
            .assert()
            .success()
            .get_output()
            .stdout
            .len()
    };
    assert!(size("0.05") < size("8"));
}

/// Reads server-sent events from `/events` of a live reefer-report until
/// one carries a page whose readings count satisfies `want`.
fn wait_for_readings(events: &mut impl std::io::BufRead, want: impl Fn(u64) -> bool) -> u64 {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let mut line = String::new();
    while std::time::Instant::now() < deadline {
        line.clear();
        if events.read_line(&mut line).unwrap() == 0 {
            panic!("the event stream ended");
        }
        if let Some(json) = line.strip_prefix("data: ") {
            let d: Value = serde_json::from_str(json).unwrap();
            assert_eq!(d["live"], true);
            let n = d["counts"]["readings"].as_u64().unwrap();
            if want(n) {
                return n;
            }
        }
    }
    panic!("no update with the readings awaited within 30 s");
}

#[test]
fn a_live_page_gets_new_counts_as_records_come_in_and_ctrl_c_exits_130() {
    use std::io::{BufRead, BufReader, Write};
    let f = Fleet::new();
    let readings = std::fs::read_to_string(f.path("readings.jsonl")).unwrap();
    let lines: Vec<&str> = readings.lines().collect();
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("reefer-report"))
        .args(["--serve", "127.0.0.1:0", "--horizon", "6h"])
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut first = String::new();
    stderr.read_line(&mut first).unwrap();
    let addr = first
        .split("http://")
        .nth(1)
        .and_then(|s| s.split('/').next())
        .unwrap_or_else(|| panic!("no address in {first:?}"))
        .to_string();
    let mut stdin = child.stdin.take().unwrap();
    for l in &lines[..100] {
        writeln!(stdin, "{l}").unwrap();
    }
    stdin.flush().unwrap();
    let mut conn = std::net::TcpStream::connect(&addr).unwrap();
    write!(conn, "GET /events HTTP/1.1\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut events = BufReader::new(conn);
    assert_eq!(wait_for_readings(&mut events, |n| n == 100), 100);
    for l in &lines[100..250] {
        writeln!(stdin, "{l}").unwrap();
    }
    stdin.flush().unwrap();
    assert_eq!(wait_for_readings(&mut events, |n| n > 100), 250);
    // The page itself asks for updates and may talk to its own server only.
    let mut page = std::net::TcpStream::connect(&addr).unwrap();
    write!(page, "GET / HTTP/1.1\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut html = String::new();
    std::io::Read::read_to_string(&mut page, &mut html).unwrap();
    assert!(html.starts_with("HTTP/1.1 200 OK"));
    assert!(html.contains("connect-src 'self'") && html.contains("new EventSource(\"events\")"));
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
}

#[test]
fn serve_binds_loopback_for_a_port_alone_and_a_bad_address_is_a_usage_error() {
    tool("reefer-report")
        .args(["--serve", "not an address"])
        .write_stdin("")
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--serve not an address"));
    tool("reefer-report")
        .args(["--horizon", "1h"])
        .write_stdin("")
        .assert()
        .code(2);
}

#[test]
fn markup_in_record_values_stays_data_and_never_ends_the_script() {
    let hostile = r#"</script><script>alert(1)</script>"#;
    let input = format!(
        "{}\n{}\n",
        serde_json::json!({"container_id": hostile, "measurement_time": START, "temperature": 1.0}),
        serde_json::json!({"container_id": hostile, "fault": "door_open", "detected_at": START, "message": hostile}),
    );
    let out = tool("reefer-report")
        .args(["-q", "--title", "<b>fleet</b>"])
        .write_stdin(input)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let html = String::from_utf8(out).unwrap();
    assert!(!html.contains("<script>alert(1)"));
    assert!(html.contains("<title>&lt;b&gt;fleet&lt;/b&gt;</title>"));
    let d = page_data(&html);
    assert_eq!(d["containers"][0][0], hostile);
    assert_eq!(d["episodes"][0][6], hostile);
}
