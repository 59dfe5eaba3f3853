//! reefer-act: lifecycle, dedupe across runs, delivery with retries, safety of exec:.

use super::common::*;
use assert_cmd::assert::Assert;
use predicates::prelude::*;
use predicates::str::contains;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

struct Scene {
    dir: tempfile::TempDir,
}

impl Scene {
    fn new() -> Scene {
        Scene {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    fn act(&self, events: &[String], args: &[&str]) -> Assert {
        let state = self.path("state.db");
        tool("reefer-act")
            .args(["--state", &state, "--retry-delay", "5ms"])
            .args(args)
            .write_stdin(events.join("\n") + "\n")
            .assert()
    }
}

fn actions(out: &Assert) -> Vec<(String, String, String)> {
    json_lines(&out.get_output().stdout)
        .into_iter()
        .map(|v| {
            (
                v["action"].as_str().unwrap().to_string(),
                v["container_id"].as_str().unwrap().to_string(),
                v["severity"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn open_repeat_escalate_resolve() {
    let s = Scene::new();
    let evs = vec![
        event("C1", "power_off", "warning", "2026-11-27T03:05:00Z", "open"),
        event("C1", "power_off", "warning", "2026-11-27T03:06:00Z", "open"),
        event(
            "C1",
            "power_off",
            "critical",
            "2026-11-27T03:30:00Z",
            "open",
        ),
        event(
            "C1",
            "power_off",
            "critical",
            "2026-11-27T03:31:00Z",
            "open",
        ),
        event(
            "C1",
            "power_off",
            "critical",
            "2026-11-27T04:00:00Z",
            "resolved",
        ),
    ];
    let out = s.act(&evs, &["--to", "-"]);
    let out = out.success();
    let a = actions(&out);
    assert_eq!(
        a.iter()
            .map(|x| (x.0.as_str(), x.2.as_str()))
            .collect::<Vec<_>>(),
        vec![
            ("opened", "warning"),
            ("escalated", "critical"),
            ("resolved", "critical")
        ]
    );
    let last = json_lines(&out.get_output().stdout).pop().unwrap();
    // The resolve event counts too, and the resolve says how long it lasted.
    assert_eq!(last["event_count"], 5);
    assert_eq!(last["last_seen"], "2026-11-27T04:00:00Z");
    assert_eq!(last["resolved_at"], "2026-11-27T04:00:00Z");
    assert_eq!(last["duration_s"], 3600);
}

#[test]
fn a_second_run_on_the_same_state_never_notifies_again() {
    let s = Scene::new();
    let first = vec![event(
        "C1",
        "door_open",
        "warning",
        "2026-11-27T03:05:00Z",
        "open",
    )];
    let out = s.act(&first, &["--to", "-"]);
    assert_eq!(actions(&out).len(), 1);
    // The cron job reads the whole detector output again, plus a repeat.
    let again = vec![
        first[0].clone(),
        event("C1", "door_open", "warning", "2026-11-27T03:10:00Z", "open"),
    ];
    let out = s.act(&again, &["--to", "-"]);
    let out = out.success();
    assert!(actions(&out).is_empty(), "{:?}", actions(&out));
    out.stderr(contains("1 already seen"));
    // And the resolve in a third run is told once.
    let end = vec![event(
        "C1",
        "door_open",
        "warning",
        "2026-11-27T03:20:00Z",
        "resolved",
    )];
    let out = s.act(&end, &["--to", "-"]);
    assert_eq!(
        actions(&out)
            .iter()
            .map(|a| a.0.as_str())
            .collect::<Vec<_>>(),
        ["resolved"]
    );
    let out = s.act(&end, &["--to", "-"]);
    assert!(actions(&out).is_empty());
}

#[test]
fn cooldown_silences_a_flapping_fault_and_resolve_after_closes_silent_alerts() {
    let s = Scene::new();
    let evs = vec![
        event("C1", "door_open", "warning", "2026-11-27T03:00:00Z", "open"),
        event(
            "C1",
            "door_open",
            "warning",
            "2026-11-27T03:05:00Z",
            "resolved",
        ),
        // Opens again 10 minutes later: within the 1 h cooldown, recorded but not told.
        event("C1", "door_open", "warning", "2026-11-27T03:15:00Z", "open"),
        event(
            "C1",
            "door_open",
            "warning",
            "2026-11-27T03:20:00Z",
            "resolved",
        ),
        // Two hours on, it is news again.
        event("C1", "door_open", "warning", "2026-11-27T05:30:00Z", "open"),
        // C2 goes quiet; --resolve-after 30m closes it once event time moves on.
        event(
            "C2",
            "fan_failure",
            "warning",
            "2026-11-27T05:31:00Z",
            "open",
        ),
        event(
            "C3",
            "fan_failure",
            "warning",
            "2026-11-27T06:10:00Z",
            "open",
        ),
    ];
    let out = s.act(
        &evs,
        &[
            "--to",
            "-",
            "--to",
            &format!("sqlite://{}", s.path("biz.db")),
            "--resolve-after",
            "30m",
        ],
    );
    let out = out.success();
    let a: Vec<(String, String)> = actions(&out).into_iter().map(|x| (x.0, x.1)).collect();
    let want = [
        ("opened", "C1"),
        ("resolved", "C1"),
        ("opened", "C1"),
        ("opened", "C2"),
        ("resolved", "C1"),
        ("resolved", "C2"),
        ("opened", "C3"),
    ];
    assert_eq!(a, want.map(|(x, y)| (x.to_string(), y.to_string())));
    // The record destination has every alert, including the silenced one.
    let conn = rusqlite::Connection::open(s.path("biz.db")).unwrap();
    let rows: Vec<(i64, String, String, i64)> = conn
        .prepare("SELECT alert_id, container_id, status, notified FROM alerts ORDER BY alert_id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(rows.len(), 5);
    assert_eq!(rows[1], (2, "C1".into(), "resolved".into(), 0));
    assert_eq!(rows[3].2, "resolved");
    assert_eq!(rows[4].2, "open");
}

/// A tiny HTTP server on 127.0.0.1 answering with the given status codes in turn
/// (the last one repeats), recording the bodies it receives.
fn server(statuses: Vec<u16>) -> (String, Arc<Mutex<Vec<String>>>) {
    server_on(TcpListener::bind("127.0.0.1:0").unwrap(), statuses)
}

fn server_on(listener: TcpListener, statuses: Vec<u16>) -> (String, Arc<Mutex<Vec<String>>>) {
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let seen = bodies.clone();
    std::thread::spawn(move || {
        for (i, stream) in listener.incoming().enumerate() {
            let Ok(mut stream) = stream else { break };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            seen.lock()
                .unwrap()
                .push(String::from_utf8_lossy(&body).to_string());
            let status = *statuses.get(i).or(statuses.last()).unwrap();
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
        }
    });
    (url, bodies)
}

#[test]
fn a_webhook_that_fails_twice_gets_the_alert_once() {
    let s = Scene::new();
    let (url, bodies) = server(vec![500, 503, 200]);
    let evs = vec![event(
        "C1",
        "power_off",
        "critical",
        "2026-11-27T03:05:00Z",
        "open",
    )];
    let out = s.act(&evs, &["--to", &url]);
    let out = out.success();
    let got = bodies.lock().unwrap().clone();
    assert_eq!(got.len(), 3, "two failures and one success");
    let delivered: serde_json::Value = serde_json::from_str(&got[2]).unwrap();
    assert_eq!(delivered["container_id"], "C1");
    out.stderr(contains(
        "wrote 1 notification, rejected 0, failed 0, dead 0",
    ));
    // Nothing left to send on the next run.
    let out = s.act(&[], &["--to", &url]);
    out.success();
    assert_eq!(bodies.lock().unwrap().len(), 3);
}

#[test]
fn a_webhook_that_always_fails_is_dead_lettered_and_exit_is_1() {
    let s = Scene::new();
    let (url, bodies) = server(vec![500]);
    let dead = s.path("dead.jsonl");
    let evs = vec![event(
        "C1",
        "power_off",
        "critical",
        "2026-11-27T03:05:00Z",
        "open",
    )];
    let out = s.act(
        &evs,
        &[
            "--to",
            &url,
            "--to",
            "-",
            "--retries",
            "2",
            "--dead-letter",
            &dead,
        ],
    );
    let out = out.code(1);
    assert_eq!(bodies.lock().unwrap().len(), 3, "first try and two retries");
    // The other destination still got it.
    assert_eq!(actions(&out).len(), 1);
    let dl = std::fs::read_to_string(&dead).unwrap();
    let line: serde_json::Value = serde_json::from_str(dl.trim()).unwrap();
    assert_eq!(line["destination"], url.as_str());
    assert!(line["error"].as_str().unwrap().contains("500"));
    assert_eq!(line["notification"]["container_id"], "C1");
    out.stderr(contains("rejected 0, failed 1, dead 1"));
}

#[test]
fn slack_template_posts_text() {
    let s = Scene::new();
    let (url, bodies) = server(vec![200]);
    let evs = vec![event(
        "C9",
        "fan_failure",
        "warning",
        "2026-11-27T03:05:00Z",
        "open",
    )];
    let out = s.act(&evs, &["--to", &url, "--template", "slack"]);
    out.success();
    let body: serde_json::Value = serde_json::from_str(&bodies.lock().unwrap()[0]).unwrap();
    let text = body["text"].as_str().unwrap();
    assert!(
        text.contains("fan_failure") && text.contains("C9"),
        "{text}"
    );
}

#[test]
fn hostile_field_values_through_exec_run_nothing() {
    let s = Scene::new();
    let marker = s.path("pwned");
    let log = s.path("exec.log");
    let hostile = [
        format!("$(touch {marker})"),
        format!("`touch {marker}`"),
        format!("; touch {marker}"),
        "; rm -rf ~".to_string(),
    ];
    let evs: Vec<String> = hostile
        .iter()
        .map(|c| {
            serde_json::json!({
                "container_id": c, "fault": "door_open", "severity": "warning",
                "detected_at": "2026-11-27T03:05:00Z", "message": format!("{c} && touch {marker}"),
            })
            .to_string()
        })
        .collect();
    // The program sees values only as data: on stdin and in REEFER_* variables.
    let script =
        format!(r#"exec:sh -c 'cat >> {log}; printf "%s\n" "$REEFER_CONTAINER_ID" >> {log}'"#);
    let out = s.act(&evs, &["--to", &script]);
    out.success();
    assert!(
        !std::path::Path::new(&marker).exists(),
        "a field value was executed"
    );
    let text = std::fs::read_to_string(&log).unwrap();
    for h in &hostile {
        assert!(
            text.lines().any(|l| l == h),
            "{h} not passed through verbatim"
        );
    }
}

#[test]
fn bad_events_are_reported_with_line_numbers() {
    let s = Scene::new();
    let dead = s.path("dead.jsonl");
    let evs = vec![
        event("C1", "power_off", "warning", "2026-11-27T03:05:00Z", "open"),
        r#"{"fault":"power_off","detected_at":"2026-11-27T03:05:00Z"}"#.to_string(),
        "{not json".to_string(),
        r#"{"container_id":"C2","fault":"power_off","detected_at":"whenever"}"#.to_string(),
        event("C3", "power_off", "warning", "2026-11-27T03:05:00Z", "open"),
    ];
    let out = s.act(&evs, &["--to", "-", "--dead-letter", &dead]);
    let out = out.code(1);
    assert_eq!(actions(&out).len(), 2, "valid events still handled");
    let err = String::from_utf8_lossy(&out.get_output().stderr);
    assert!(
        err.contains("reefer-act: stdin:2: missing required field container_id"),
        "{err}"
    );
    assert!(err.contains("reefer-act: stdin:3: invalid JSON"), "{err}");
    assert!(err.contains("reefer-act: stdin:4: detected_at"), "{err}");
    assert_eq!(std::fs::read_to_string(&dead).unwrap().lines().count(), 3);
    let out = s.act(&evs, &["--to", "-", "--on-bad-input", "fail"]);
    let out = out.code(1);
    out.stderr(contains("stopped at stdin:2"));
}

#[test]
fn dry_run_changes_nothing() {
    let s = Scene::new();
    let evs = vec![event(
        "C1",
        "power_off",
        "warning",
        "2026-11-27T03:05:00Z",
        "open",
    )];
    let out = s.act(&evs, &["--to", "https://example.invalid/hook", "--dry-run"]);
    let out = out.success();
    let lines = json_lines(&out.get_output().stdout);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["destination"], "https://example.invalid/hook");
    assert_eq!(lines[0]["notification"]["action"], "opened");
    // A real run afterwards still opens the alert.
    let out = s.act(&evs, &["--to", "-"]);
    assert_eq!(actions(&out).len(), 1);
}

#[test]
fn unknown_destination_is_a_usage_error() {
    let s = Scene::new();
    let out = s.act(&[], &["--to", "carrier-pigeon://coop"]);
    let out = out.code(2);
    out.stderr(contains("unknown destination"));
}

/// reefer-act as a child process with its stdin piped, for runs that overlap.
fn spawn_act(args: &[&str]) -> std::process::Child {
    std::process::Command::new(assert_cmd::cargo::cargo_bin("reefer-act"))
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

fn many_openings(n: usize) -> String {
    (0..n)
        .map(|i| {
            event(
                &format!("C{i:05}"),
                "power_off",
                "warning",
                "2026-11-27T03:05:00Z",
                "open",
            ) + "\n"
        })
        .collect()
}

#[test]
fn two_overlapping_runs_on_one_state_never_deliver_a_notification_twice() {
    let s = Scene::new();
    let (url, bodies) = server(vec![200]);
    let state = s.path("state.db");
    let input = many_openings(1_200);
    let runs: Vec<_> = (0..2)
        .map(|_| {
            let mut child = spawn_act(&["--state", &state, "--to", &url, "--wait", "5m"]);
            let mut stdin = child.stdin.take().unwrap();
            let text = input.clone();
            std::thread::spawn(move || stdin.write_all(text.as_bytes()));
            child
        })
        .collect();
    let mut delivered = Vec::new();
    for child in runs {
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        assert_eq!(out.status.code(), Some(0), "{err}");
        delivered.push(err);
    }
    let got = bodies.lock().unwrap().clone();
    let mut ids: Vec<String> = got
        .iter()
        .map(|b| {
            let v: serde_json::Value = serde_json::from_str(b).unwrap();
            v["notification_id"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(ids.len(), 1_200, "{delivered:?}");
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 1_200, "a notification was delivered twice");
    // One run sent everything; the one that waited found every event seen.
    assert!(
        delivered
            .iter()
            .any(|e| e.contains("wrote 1200 notifications"))
            && delivered.iter().any(|e| e.contains("(1200 already seen)")),
        "{delivered:?}"
    );
}

#[test]
fn a_second_run_without_wait_exits_75_while_the_first_holds_the_state() {
    let s = Scene::new();
    let state = s.path("state.db");
    // The first run waits for input, holding the lock.
    let mut first = spawn_act(&["--state", &state, "--to", "-"]);
    let lock = format!("{state}.lock");
    let started = std::time::Instant::now();
    while !std::path::Path::new(&lock).exists() || !std::path::Path::new(&state).exists() {
        assert!(
            started.elapsed().as_secs() < 30,
            "the first run never locked"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let evs = vec![event(
        "C1",
        "door_open",
        "warning",
        "2026-11-27T03:05:00Z",
        "open",
    )];
    let out = s.act(&evs, &["--to", "-"]).code(75);
    out.stdout("").stderr(contains(format!(
        "reefer-act: --state {state}: another reefer-act run holds its lock ({state}.lock) (--wait DURATION waits for it); nothing was read"
    )));
    let out = s.act(&evs, &["--to", "-", "--wait", "200ms"]).code(75);
    out.stderr(contains("still after waiting 200ms"));
    // Once the first run ends, the next one goes through and delivers.
    let mut stdin = first.stdin.take().unwrap();
    stdin.write_all(evs[0].as_bytes()).unwrap();
    drop(stdin);
    let out = first.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(json_lines(&out.stdout).len(), 1);
    let out = s.act(&evs, &["--to", "-"]).success();
    out.stderr(contains("1 already seen"));
}

#[test]
fn a_missing_program_or_a_bad_url_is_refused_before_any_input_is_read() {
    let s = Scene::new();
    let evs = vec![event(
        "C1",
        "door_open",
        "warning",
        "2026-11-27T03:05:00Z",
        "open",
    )];
    let out = s
        .act(
            &evs,
            &["--to", "exec:/usr/local/bin/page-oncall --team cold-chain"],
        )
        .code(2);
    out.stdout("").stderr(contains(
        "reefer-act: exec:/usr/local/bin/page-oncall --team cold-chain: program /usr/local/bin/page-oncall does not exist",
    ));
    let out = s.act(&evs, &["--to", "http://a:PW@[bad/x"]).code(2);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(err.contains("http://***@[bad/x: not a valid URL"), "{err}");
    assert!(!err.contains("PW"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    s.act(&evs, &["--to", &format!("exec:{}", s.path("state.db"))])
        .code(2)
        .stderr(contains("does not exist"));
    // Nothing was read or stored: no state file was even created.
    assert!(!std::path::Path::new(&s.path("state.db")).exists());
}

#[test]
fn a_dead_endpoint_ends_the_run_in_seconds_and_the_next_run_delivers_everything_once() {
    let s = Scene::new();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener); // nothing listens there now: connection refused
    let url = format!("http://{addr}/hook");
    let dead = s.path("dead.jsonl");
    let input: Vec<String> = many_openings(100).lines().map(str::to_string).collect();
    let started = std::time::Instant::now();
    let out = s
        .act(&input, &["--to", &url, "--dead-letter", &dead])
        .code(1);
    let took = started.elapsed();
    assert!(took.as_secs_f64() < 10.0, "took {took:?}");
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(err.contains("3 connection failures in a row"), "{err}");
    assert!(
        err.contains("wrote 0 notifications, rejected 0, failed 100, dead 0")
            && err.contains("100 notifications left pending for the next run"),
        "{err}"
    );
    let letters = json_lines(&std::fs::read(&dead).unwrap());
    assert_eq!(letters.len(), 100);
    assert!(letters.iter().all(|l| l["status"] == "pending"
        && l["error"]
            .as_str()
            .unwrap()
            .starts_with("not sent: circuit open")));
    // The endpoint comes back: the next run (no new input) sends the 100, once each.
    let (_, bodies) = server_on(TcpListener::bind(addr).unwrap(), vec![200]);
    let out = s.act(&[], &["--to", &url]).success();
    out.stderr(contains(
        "wrote 100 notifications, rejected 0, failed 0, dead 0",
    ));
    let mut ids: Vec<String> = bodies
        .lock()
        .unwrap()
        .iter()
        .map(|b| {
            serde_json::from_str::<serde_json::Value>(b).unwrap()["notification_id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 100);
    assert_eq!(bodies.lock().unwrap().len(), 100);
}

#[test]
fn max_time_stops_a_run_that_would_take_too_long() {
    let s = Scene::new();
    let (url, _bodies) = server(vec![503]);
    let input: Vec<String> = many_openings(20).lines().map(str::to_string).collect();
    let started = std::time::Instant::now();
    let out = s
        .act(
            &input,
            &["--to", &url, "--retries", "50", "--max-time", "1500ms"],
        )
        .code(3);
    assert!(started.elapsed().as_secs_f64() < 5.0);
    out.stderr(contains("--max-time 1.5 s reached after"));
}

/// Everything a run leaves behind: stdout, stderr, the dead letter, the state files.
fn everything_written(s: &Scene, out: &Assert) -> String {
    let mut all = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    all += &String::from_utf8_lossy(&out.get_output().stderr);
    for f in ["dead.jsonl", "state.db", "state.db-wal", "state.db.lock"] {
        if let Ok(bytes) = std::fs::read(s.path(f)) {
            all += &String::from_utf8_lossy(&bytes);
        }
    }
    all
}

#[test]
fn secrets_in_webhook_urls_never_reach_stderr_dead_letters_or_the_state() {
    let s = Scene::new();
    let (good, bodies) = server(vec![200]);
    let secret = |url: &str| {
        url.replace("http://", "http://alice:PASSWORD1@")
            .replace("/hook", "/services/T0/B0/SECRETSEG9?token=QTOKEN7")
    };
    let good = secret(&good);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_url = secret(&format!("http://{}/hook", listener.local_addr().unwrap()));
    drop(listener);
    let evs: Vec<String> = many_openings(5).lines().map(str::to_string).collect();
    let dead = s.path("dead.jsonl");
    let args = ["--to", &good, "--to", &dead_url, "--dead-letter", &dead];
    let out = s.act(&evs, &args).code(1);
    assert_eq!(
        bodies.lock().unwrap().len(),
        5,
        "the secret URL still works"
    );
    let mut seen = everything_written(&s, &out);
    // A dry run and a second run (pending notifications retried) print them too.
    seen += &everything_written(&s, &s.act(&evs, &[&args[..], &["--dry-run"]].concat()));
    seen += &everything_written(&s, &s.act(&[], &args));
    for secret in ["PASSWORD1", "SECRETSEG9", "QTOKEN7", "alice"] {
        assert!(!seen.contains(secret), "{secret} leaked:\n{seen}");
    }
    assert!(seen.contains("http://***@127.0.0.1:"), "{seen}");
    assert!(seen.contains("/services/T0/B0/***?token=***"), "{seen}");
    let letters = json_lines(&std::fs::read(&dead).unwrap());
    assert!(!letters.is_empty());
}

#[test]
fn a_state_file_from_before_masking_has_its_secrets_masked_and_keeps_its_pending_rows() {
    let s = Scene::new();
    let (url, bodies) = server(vec![200]);
    let secret_url = url.replace("/hook", "/hook?token=QTOKEN7");
    // A state file as an earlier version left it: the destination stored in clear.
    s.act(&[], &["--to", "-"]).success();
    let conn = rusqlite::Connection::open(s.path("state.db")).unwrap();
    conn.execute_batch(&format!(
        "PRAGMA user_version = 0;
         INSERT INTO outbox (alert_id, destination, action, payload, status, last_error)
         VALUES (1, '{secret_url}', 'opened', '{{\"notification_id\":\"1:opened:1\"}}', 'pending', 'POST {secret_url}: refused');"
    ))
    .unwrap();
    drop(conn);
    // Any run masks them on opening the state, even one for other destinations.
    s.act(&[], &["--to", "-"])
        .success()
        .stderr(contains("1 notifications in the state file wait"));
    let conn = rusqlite::Connection::open(s.path("state.db")).unwrap();
    let (dest, err): (String, String) = conn
        .query_row("SELECT destination, last_error FROM outbox", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert!(dest.ends_with("/hook?token=***"), "{dest}");
    assert!(err.ends_with("/hook?token=***: refused"), "{err}");
    drop(conn);
    // And the masked key still finds the row for the same destination.
    let out = s.act(&[], &["--to", &secret_url]).success();
    out.stderr(contains("wrote 1 notification,"));
    assert_eq!(bodies.lock().unwrap().len(), 1);
}

fn sub(s: &Scene, args: &[&str]) -> Assert {
    tool("reefer-act")
        .args(args)
        .args(["--state", &s.path("state.db")])
        .assert()
}

#[test]
fn ack_stops_notifications_until_the_alert_resolves() {
    let s = Scene::new();
    let at = |t: &str, sev: &str, st: &str| event("C1", "power_off", sev, t, st);
    let opts = ["--to", "-", "--remind-every", "10m"];
    let out = s.act(&[at("2026-11-27T03:05:00Z", "warning", "open")], &opts);
    assert_eq!(actions(&out.success()).len(), 1);
    sub(&s, &["ack", "1"])
        .success()
        .stderr(contains("alert 1 acknowledged"));
    // Escalation and a reminder would be due: both stay quiet once acknowledged.
    let evs = vec![
        at("2026-11-27T03:30:00Z", "critical", "open"),
        at("2026-11-27T03:50:00Z", "critical", "open"),
    ];
    let out = s.act(&evs, &opts).success();
    assert!(actions(&out).is_empty(), "{:?}", actions(&out));
    let out = s.act(&[at("2026-11-27T04:00:00Z", "critical", "resolved")], &opts);
    let a = actions(&out.success());
    assert_eq!(a.len(), 1);
    assert_eq!((a[0].0.as_str(), a[0].2.as_str()), ("resolved", "critical"));
    sub(&s, &["ack", "1", "7"])
        .code(1)
        .stderr(contains("alert 1 is resolved already").and(contains("no alert 7")));
}

#[test]
fn remind_every_announces_a_long_open_alert_again_and_a_silenced_reopening() {
    let s = Scene::new();
    let at = |t: &str, st: &str| event("C1", "door_open", "warning", t, st);
    let evs = vec![
        at("2026-11-27T03:00:00Z", "open"),
        at("2026-11-27T03:20:00Z", "open"), // 20 min: not yet
        at("2026-11-27T03:31:00Z", "open"), // 31 min after the opening: reminder
        at("2026-11-27T03:40:00Z", "resolved"),
        at("2026-11-27T03:45:00Z", "open"), // within the 1 h cooldown: silenced...
        at("2026-11-27T04:20:00Z", "open"), // ...until it has lasted 30 min since the last notification
        at("2026-11-27T04:25:00Z", "resolved"), // and then its resolve is told too
    ];
    let out = s
        .act(&evs, &["--to", "-", "--remind-every", "30m"])
        .success();
    let a: Vec<String> = actions(&out).into_iter().map(|x| x.0).collect();
    assert_eq!(
        a,
        ["opened", "reminder", "resolved", "reminder", "resolved"]
    );
}

#[test]
fn a_resolve_without_a_message_says_what_resolved_and_how_long_it_lasted() {
    let s = Scene::new();
    let evs = vec![
        r#"{"container_id":"C1","fault":"door_open","severity":"warning","since":"2026-11-27T03:00:00Z","detected_at":"2026-11-27T03:01:00Z","message":"the door is open; warm air is getting in"}"#.to_string(),
        r#"{"container_id":"C1","fault":"door_open","severity":"warning","since":"2026-11-27T03:00:00Z","detected_at":"2026-11-27T03:25:00Z","status":"resolved"}"#.to_string(),
    ];
    let (url, bodies) = server(vec![200]);
    let out = s.act(&evs, &["--to", "-", "--to", &url, "--template", "slack"]);
    let lines = json_lines(&out.success().get_output().stdout);
    assert_eq!(
        lines[1]["message"],
        "door_open on container C1 resolved after 25m (since 2026-11-27T03:00:00Z)"
    );
    assert_eq!(lines[1]["event_count"], 2);
    let text = bodies.lock().unwrap()[1].clone();
    assert!(text.contains("resolved after 25m"), "{text}");
    assert!(!text.contains("warm air"), "{text}");
}

#[test]
fn each_destination_set_sees_events_for_itself_so_ad_hoc_runs_steal_nothing() {
    let s = Scene::new();
    let evs = vec![event(
        "C1",
        "fan_failure",
        "warning",
        "2026-11-27T03:05:00Z",
        "open",
    )];
    let cron = [
        "--to",
        "-",
        "--to",
        &format!("sqlite://{}", s.path("biz.db")),
    ];
    // An operator tries the events ad hoc first...
    assert_eq!(actions(&s.act(&evs, &["--to", "-"]).success()).len(), 1);
    // ...and the cron job (other destinations) still hears of them,
    assert_eq!(actions(&s.act(&evs, &cron).success()).len(), 1);
    // once: the same set in another order is the same pipeline.
    let again = [cron[2], cron[3], cron[0], cron[1]];
    let out = s.act(&evs, &again).success();
    assert!(actions(&out).is_empty());
    out.stderr(contains("1 already seen"));
    let out = sub(&s, &["alerts", "--format", "json"]).success();
    let alerts = json_lines(&out.get_output().stdout);
    assert_eq!(alerts.len(), 2, "one alert per destination set");
    assert_eq!(alerts[1]["destinations"], serde_json::json!(["-"]));
}

#[test]
fn alerts_lists_and_filters_as_a_table_or_json() {
    let s = Scene::new();
    let evs = vec![
        event(
            "C1",
            "power_off",
            "critical",
            "2026-11-27T03:05:00Z",
            "open",
        ),
        event("C2", "door_open", "warning", "2026-11-27T03:06:00Z", "open"),
        event(
            "C2",
            "door_open",
            "warning",
            "2026-11-27T03:16:00Z",
            "resolved",
        ),
    ];
    s.act(&evs, &["--to", "-"]).success();
    let out = sub(&s, &["alerts"]).success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(
        lines[0].starts_with("ID  STATUS    SEVERITY  CONTAINER  FAULT"),
        "{text}"
    );
    assert!(
        lines[1].starts_with("2   resolved  warning   C2         door_open"),
        "{text}"
    );
    let out = sub(&s, &["alerts", "--status", "open", "--format", "json"]).success();
    let open = json_lines(&out.get_output().stdout);
    assert_eq!(open.len(), 1);
    assert_eq!(open[0]["container_id"], "C1");
    assert_eq!(open[0]["status"], "open");
    let out = sub(
        &s,
        &[
            "alerts",
            "--container",
            "C2",
            "--fault",
            "door_open",
            "--format",
            "json",
        ],
    );
    assert_eq!(json_lines(&out.success().get_output().stdout).len(), 1);
    let out = sub(&s, &["alerts", "--fault", "fan_failure"]).success();
    assert_eq!(
        String::from_utf8_lossy(&out.get_output().stdout)
            .lines()
            .count(),
        1
    );
}

#[test]
fn resend_delivers_dead_notifications_once_the_endpoint_is_back() {
    let s = Scene::new();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let url = format!("http://{addr}/hook");
    let input: Vec<String> = many_openings(100).lines().map(str::to_string).collect();
    // Breaker off (as good as): every notification is tried and dies.
    let out = s
        .act(
            &input,
            &["--to", &url, "--retries", "0", "--break-after", "1000"],
        )
        .code(1);
    out.stderr(contains(
        "wrote 0 notifications, rejected 0, failed 100, dead 100",
    ));
    // A plain run does not retry dead notifications...
    s.act(
        &[],
        &["--to", &url, "--retries", "0", "--break-after", "1000"],
    )
    .success()
    .stderr(contains(
        "wrote 0 notifications, rejected 0, failed 0, dead 0",
    ));
    // ...resend does, once the endpoint is back.
    let (_, bodies) = server_on(TcpListener::bind(addr).unwrap(), vec![200]);
    tool("reefer-act")
        .args(["resend", "--state", &s.path("state.db"), "--to", &url])
        .assert()
        .success()
        .stderr(contains(
            "reefer-act: read 0 records, wrote 100 notifications, rejected 0, failed 0, dead 0; \
             resend: 100 dead notifications requeued",
        ));
    let got = bodies.lock().unwrap().clone();
    let mut ids: Vec<String> = got
        .iter()
        .map(|b| {
            serde_json::from_str::<serde_json::Value>(b).unwrap()["notification_id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!((got.len(), ids.len()), (100, 100));
    tool("reefer-act")
        .args(["resend", "--state", &s.path("state.db"), "--to", &url])
        .assert()
        .success()
        .stderr(contains("wrote 0 notifications, rejected 0, failed 0, dead 0; resend: 0 dead notifications requeued"));
}

#[test]
fn prune_forgets_old_events_and_keeps_dedupe_right_for_newer_ones() {
    let s = Scene::new();
    let old = [
        event("C1", "door_open", "warning", "2026-10-01T03:00:00Z", "open"),
        event(
            "C1",
            "door_open",
            "warning",
            "2026-10-01T04:00:00Z",
            "resolved",
        ),
    ];
    let new = vec![event(
        "C2",
        "fan_failure",
        "warning",
        "2026-11-20T03:00:00Z",
        "open",
    )];
    let all: Vec<String> = old.iter().chain(&new).cloned().collect();
    assert_eq!(actions(&s.act(&all, &["--to", "-"]).success()).len(), 3);
    sub(&s, &["prune", "--older-than", "30d"])
        .success()
        .stderr(contains(
            "before 2026-10-21T03:00:00Z: 2 events seen, 1 resolved alerts",
        ));
    let conn = rusqlite::Connection::open(s.path("state.db")).unwrap();
    let n: i64 = conn
        .query_row("SELECT count(*) FROM seen", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 1);
    drop(conn);
    // The cron job feeds everything again: old events are ignored, not new.
    let out = s.act(&all, &["--to", "-"]).success();
    assert!(actions(&out).is_empty(), "{:?}", actions(&out));
    // And what is newer than the horizon still works as before.
    let resolve = vec![event(
        "C2",
        "fan_failure",
        "warning",
        "2026-11-20T05:00:00Z",
        "resolved",
    )];
    assert_eq!(actions(&s.act(&resolve, &["--to", "-"]).success()).len(), 1);
}

#[test]
fn dry_run_creates_no_state_and_leaves_an_existing_one_untouched() {
    let s = Scene::new();
    let evs = vec![event(
        "C1",
        "power_off",
        "warning",
        "2026-11-27T03:05:00Z",
        "open",
    )];
    s.act(&evs, &["--to", "-", "--dry-run"]).success();
    for f in ["state.db", "state.db.lock", "state.db-wal"] {
        assert!(!std::path::Path::new(&s.path(f)).exists(), "{f} created");
    }
    s.act(&evs, &["--to", "-"]).success();
    let before = std::fs::read(s.path("state.db")).unwrap();
    let more = vec![
        event(
            "C1",
            "power_off",
            "warning",
            "2026-11-27T04:05:00Z",
            "resolved",
        ),
        event("C2", "power_off", "warning", "2026-11-27T04:05:00Z", "open"),
    ];
    let out = s.act(&more, &["--to", "-", "--dry-run"]).success();
    let lines = json_lines(&out.get_output().stdout);
    assert_eq!(lines.len(), 2, "what would be sent, knowing the state");
    assert_eq!(lines[0]["notification"]["action"], "resolved");
    assert_eq!(std::fs::read(s.path("state.db")).unwrap(), before);
    // The real run afterwards does it all.
    assert_eq!(actions(&s.act(&more, &["--to", "-"]).success()).len(), 2);
}

#[test]
fn stats_json_counts_events_alerts_and_notifications_per_destination() {
    let s = Scene::new();
    let (url, _) = server(vec![200]);
    let stats = s.path("stats.json");
    let evs = vec![
        event("C1", "power_off", "warning", "2026-11-27T03:05:00Z", "open"),
        event(
            "C1",
            "power_off",
            "critical",
            "2026-11-27T03:15:00Z",
            "open",
        ),
        event(
            "C1",
            "power_off",
            "critical",
            "2026-11-27T03:25:00Z",
            "resolved",
        ),
        "garbage".to_string(),
    ];
    s.act(&evs, &["--to", &url, "--to", "-", "--stats-json", &stats])
        .code(1);
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&stats).unwrap()).unwrap();
    assert_eq!(v["events"]["events"], 3);
    assert_eq!(v["events"]["opened"], 1);
    assert_eq!(v["events"]["escalated"], 1);
    assert_eq!(v["events"]["resolved"], 1);
    assert_eq!(v["rejected"], 1);
    assert_eq!(
        (v["read"].as_u64(), v["written"].as_u64()),
        (Some(4), Some(6))
    );
    assert_eq!(
        (v["delivered"].as_u64(), v["failed"].as_u64()),
        (Some(6), Some(0))
    );
    assert_eq!(v["destinations"][url.as_str()]["delivered"], 3);
    assert_eq!(v["destinations"]["-"]["dead"], 0);
}

fn with_message(container: &str, message: &str) -> String {
    serde_json::json!({
        "container_id": container, "fault": "door_open", "severity": "warning",
        "detected_at": "2026-11-27T03:05:00Z", "message": message,
    })
    .to_string()
}

#[test]
fn exec_gets_nul_bytes_and_a_1_mb_value_on_stdin_and_safe_env_values() {
    let s = Scene::new();
    let dir = s.path("");
    let big = "x".repeat(1 << 20);
    let evs = vec![with_message("C1", "door\0open"), with_message("C2", &big)];
    let program = format!(
        r#"exec:sh -c 'cat > "$0/stdin.$REEFER_ALERT_ID"; printf %s "$REEFER_MESSAGE" > "$0/env.$REEFER_ALERT_ID"' {dir}"#
    );
    s.act(&evs, &["--to", &program, "--timeout", "20s"])
        .success();
    let read = |f: &str| std::fs::read_to_string(s.path(f)).unwrap();
    assert_eq!(read("env.1"), "dooropen");
    let stdin1: serde_json::Value = serde_json::from_str(&read("stdin.1")).unwrap();
    assert_eq!(
        stdin1["message"], "door\0open",
        "the full value is on stdin"
    );
    let env2 = read("env.2");
    assert!(
        env2.len() <= 16 * 1024 && env2.ends_with('…'),
        "{}",
        env2.len()
    );
    let stdin2: serde_json::Value = serde_json::from_str(&read("stdin.2")).unwrap();
    assert_eq!(stdin2["message"].as_str().unwrap().len(), 1 << 20);
}

#[test]
fn a_program_that_never_reads_stdin_and_never_exits_is_killed_at_the_timeout() {
    let s = Scene::new();
    let dead = s.path("dead.jsonl");
    let evs = vec![with_message("C1", &"y".repeat(1 << 20))];
    let started = std::time::Instant::now();
    let out = s
        .act(
            &evs,
            &[
                "--to",
                "exec:sleep 600",
                "--timeout",
                "1s",
                "--retries",
                "1",
                "--dead-letter",
                &dead,
            ],
        )
        .code(1);
    let took = started.elapsed().as_secs_f64();
    assert!(took < 6.0, "took {took} s");
    out.stderr(contains("killed: it did not finish within --timeout 1.0 s"));
    let letters = json_lines(&std::fs::read(&dead).unwrap());
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0]["attempts"], 2);
}

#[test]
fn text_template_gives_exec_a_mail_and_pagerduty_needs_its_routing_key() {
    let s = Scene::new();
    let mail = s.path("mail.txt");
    let evs = vec![event(
        "C1",
        "power_off",
        "critical",
        "2026-11-27T03:05:00Z",
        "open",
    )];
    let program = format!("exec:sh -c 'cat > {mail}'");
    s.act(&evs, &["--to", &program, "--template", "text"])
        .success();
    let text = std::fs::read_to_string(&mail).unwrap();
    assert!(
        text.starts_with("Subject: reefer: CRITICAL opened: power_off on container C1\n"),
        "{text}"
    );
    assert!(
        text.contains("\n\n🔴 CRITICAL opened: power_off on container C1 [P01]"),
        "{text}"
    );
    let (url, bodies) = server(vec![202]);
    s.act(&[], &["--to", &url, "--template", "pagerduty"])
        .code(2)
        .stderr(contains("REEFER_PAGERDUTY_ROUTING_KEY"));
    let state = s.path("pd.db");
    tool("reefer-act")
        .env("REEFER_PAGERDUTY_ROUTING_KEY", "R0UTING")
        .args(["--state", &state, "--to", &url, "--template", "pagerduty"])
        .write_stdin(
            [
                evs[0].clone(),
                event(
                    "C1",
                    "power_off",
                    "critical",
                    "2026-11-27T03:45:00Z",
                    "resolved",
                ),
            ]
            .join("\n"),
        )
        .assert()
        .success();
    let got: Vec<serde_json::Value> = bodies
        .lock()
        .unwrap()
        .iter()
        .map(|b| serde_json::from_str(b).unwrap())
        .collect();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0]["event_action"], "trigger");
    assert_eq!(got[1]["event_action"], "resolve");
    assert_eq!(got[0]["dedup_key"], got[1]["dedup_key"]);
    assert_eq!(got[0]["routing_key"], "R0UTING");
}

/// The state layout of version 0 (before scopes, acknowledgements and masking).
const STATE_V0: &str = "
CREATE TABLE alerts (alert_id INTEGER PRIMARY KEY, container_id TEXT NOT NULL, product_id TEXT,
  fault TEXT NOT NULL, severity TEXT NOT NULL, status TEXT NOT NULL, rule TEXT, message TEXT,
  evidence TEXT, since TEXT NOT NULL, opened_at TEXT NOT NULL, last_seen TEXT NOT NULL,
  resolved_at TEXT, event_count INTEGER NOT NULL, notified INTEGER NOT NULL, last_notified_at TEXT);
CREATE UNIQUE INDEX one_open_alert ON alerts (container_id, fault) WHERE status = 'open';
CREATE TABLE alert_times (alert_id INTEGER PRIMARY KEY, since_ms INTEGER NOT NULL,
  last_seen_ms INTEGER NOT NULL, last_notified_ms INTEGER);
CREATE TABLE outbox (id INTEGER PRIMARY KEY, alert_id INTEGER NOT NULL, destination TEXT NOT NULL,
  action TEXT NOT NULL, payload TEXT NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
  last_error TEXT);
CREATE TABLE seen_events (container_id TEXT NOT NULL, fault TEXT NOT NULL, phase TEXT NOT NULL,
  since_ms INTEGER NOT NULL, detected_at_ms INTEGER NOT NULL,
  PRIMARY KEY (container_id, fault, phase, since_ms, detected_at_ms)) WITHOUT ROWID;
INSERT INTO alerts VALUES (1, 'C1', 'P01', 'power_off', 'warning', 'open', 'power_off', 'power_off on C1',
  '{}', '2026-11-27T03:00:00Z', '2026-11-27T03:05:00Z', '2026-11-27T03:05:00Z', NULL, 1, 1,
  '2026-11-27T03:05:00Z');
INSERT INTO alert_times VALUES (1, 1795748400000, 1795748700000, 1795748700000);
INSERT INTO seen_events VALUES ('C1', 'power_off', 'open', 1795748400000, 1795748700000);
";

#[test]
fn a_state_file_of_version_0_keeps_its_alerts_and_events_seen_for_every_destination_set() {
    let s = Scene::new();
    let conn = rusqlite::Connection::open(s.path("state.db")).unwrap();
    conn.execute_batch(STATE_V0).unwrap();
    drop(conn);
    // Listing reads it as it is, and leaves it as it is.
    let out = sub(&s, &["alerts", "--format", "json"]).success();
    let listed = json_lines(&out.get_output().stdout);
    assert_eq!(
        (listed.len(), &listed[0]["container_id"]),
        (1, &"C1".into())
    );
    let conn = rusqlite::Connection::open(s.path("state.db")).unwrap();
    let v: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, 0);
    drop(conn);
    let open = event("C1", "power_off", "warning", "2026-11-27T03:05:00Z", "open");
    let resolve = event(
        "C1",
        "power_off",
        "warning",
        "2026-11-27T04:05:00Z",
        "resolved",
    );
    // The event seen by the old version is seen for any destinations...
    let out = s.act(std::slice::from_ref(&open), &["--to", "-"]).success();
    assert!(actions(&out).is_empty());
    out.stderr(contains("1 already seen"));
    // ...and its open alert is resolved, not opened a second time.
    let out = s.act(&[resolve], &["--to", "-"]).success();
    let a = actions(&out);
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].0, "resolved");
    let last = json_lines(&out.get_output().stdout).pop().unwrap();
    assert_eq!(
        (last["alert_id"].as_i64(), last["event_count"].as_i64()),
        (Some(1), Some(2))
    );
}

#[test]
fn resend_without_to_reaches_every_stored_destination_it_can_name_after_the_program_is_fixed() {
    use std::os::unix::fs::PermissionsExt;
    let s = Scene::new();
    let script = s.path("page-oncall");
    let log = s.path("paged.log");
    let write_script = |body: &str| {
        std::fs::write(&script, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    };
    write_script("exit 1"); // broken
    let exec = format!("exec:{script} --team cold-chain");
    let secret = "http://127.0.0.1:1/hook?token=QTOKEN7";
    let evs: Vec<String> = many_openings(17).lines().map(str::to_string).collect();
    s.act(&evs, &["--to", &exec, "--to", secret, "--retries", "0"])
        .code(1)
        // The program's 17 die; the webhook's die until its breaker opens (3rd), then wait.
        .stderr(
            contains("wrote 0 notifications, rejected 0, failed 34, dead 19")
                .and(contains("15 notifications left pending")),
        );
    write_script(&format!("cat >> {log}; echo >> {log}"));
    let out = sub(&s, &["resend"]).success();
    out.stderr(
        contains("skipping http://127.0.0.1:1/hook?token=***: its credentials are not stored").and(
            contains("wrote 17 notifications, rejected 0, failed 0, dead 0; resend: 17 dead notifications requeued"),
        ),
    );
    let paged = std::fs::read_to_string(&log).unwrap();
    assert_eq!(paged.lines().filter(|l| !l.is_empty()).count(), 17);
    // Nothing is left for the program; the webhook's stay pending.
    sub(&s, &["resend"])
        .success()
        .stderr(contains("wrote 0 notifications, rejected 0, failed 0, dead 0; resend: 0 dead notifications requeued"));
}
