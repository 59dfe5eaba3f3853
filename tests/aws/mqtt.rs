//! reefer-ship against a real MQTT broker: the Mosquitto that scripts/test.sh
//! starts on 127.0.0.1 (scripts/mqtt-broker.sh), with a plain listener and a
//! mutual-TLS one using certificates generated for the run. Each test uses
//! topics of its own (`unique`), so tests run side by side.

use super::common::*;
use assert_cmd::Command;
use predicates::str::contains;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

struct Broker {
    port: u16,
    tls_port: u16,
    certs: PathBuf,
}

fn broker() -> Broker {
    let var = |name: &str| {
        std::env::var(name).unwrap_or_else(|_| {
            panic!("{name} is not set: run the tests with scripts/test.sh, which starts Mosquitto")
        })
    };
    Broker {
        port: var("REEFER_TEST_MQTT_PORT").parse().unwrap(),
        tls_port: var("REEFER_TEST_MQTTS_PORT").parse().unwrap(),
        certs: PathBuf::from(var("REEFER_TEST_MQTT_CERTS")),
    }
}

impl Broker {
    fn url(&self, topic: &str) -> String {
        format!("mqtt://127.0.0.1:{}/{topic}", self.port)
    }
    fn tls_url(&self, topic: &str) -> String {
        format!("mqtts://localhost:{}/{topic}", self.tls_port)
    }
    fn cert(&self, name: &str) -> String {
        self.certs.join(name).display().to_string()
    }
    /// The TLS flags with the test CA and a client certificate (`client` or `rogue`).
    fn tls_args(&self, client: &str) -> Vec<String> {
        vec![
            "--ca-file".into(),
            self.cert("ca.pem"),
            "--cert-file".into(),
            self.cert(&format!("{client}.pem")),
            "--key-file".into(),
            self.cert(&format!("{client}.key")),
        ]
    }
}

fn sim(containers: u32, duration: &str) -> Vec<u8> {
    sim_fleet(
        containers,
        duration,
        &["--seed", "5", "--start", "2026-11-27T03:00:00Z"],
    )
}

/// A reader in the background, its stdout and stderr in files.
struct Reader {
    child: Child,
    out: PathBuf,
    err: PathBuf,
}

fn spawn_reader(dir: &std::path::Path, name: &str, args: &[String]) -> Reader {
    let out = dir.join(format!("{name}.out"));
    let err = dir.join(format!("{name}.err"));
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("reefer-ship"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .unwrap();
    Reader { child, out, err }
}

impl Reader {
    /// Waits for it to exit (at most `secs`), its exit code.
    fn wait(&mut self, secs: u64) -> i32 {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code().unwrap_or(-1);
            }
            if start.elapsed() > Duration::from_secs(secs) {
                let _ = self.child.kill();
                panic!("the reader did not stop within {secs} s: {}", self.stderr());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    fn stdout(&self) -> Vec<u8> {
        std::fs::read(&self.out).unwrap()
    }
    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.err).unwrap()
    }
    fn interrupt(&self) {
        let pid = self.child.id().to_string();
        assert!(std::process::Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap()
            .success());
    }
}

/// Gives a just-started reader time to subscribe (it connects before reading).
fn settle() {
    std::thread::sleep(Duration::from_millis(600));
}

/// The same records, in any order (a multiset; shown briefly when not).
fn assert_same_records(got: &[u8], sent: &[u8]) {
    let (got, sent) = (sorted_lines(got), sorted_lines(sent));
    assert!(
        got == sent,
        "records differ: {} read back, {} sent",
        got.len(),
        sent.len()
    );
}

fn lines(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&c| c == b'\n').count()
}

fn publish(url: &str, input: &[u8]) -> Command {
    let mut cmd = tool("reefer-ship");
    cmd.args(["--to", url]).write_stdin(input.to_vec());
    cmd
}

fn counts(bytes: &[u8]) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for l in sorted_lines(bytes) {
        *m.entry(l).or_default() += 1;
    }
    m
}

#[test]
fn records_go_round_a_broker_per_container_topic_and_come_back_the_same() {
    let b = broker();
    let t = unique("rt");
    let sent = sim(20, "30m");
    let n = lines(&sent);
    let dir = tempfile::tempdir().unwrap();
    let mut reader = spawn_reader(
        dir.path(),
        "r",
        &[
            "--from".into(),
            b.url(&format!("{t}/+/telemetry")),
            "--topic-field".into(),
            "topic".into(),
            "--max-records".into(),
            n.to_string(),
        ],
    );
    settle();
    publish(&b.url(&format!("{t}/{{container_id}}/telemetry")), &sent)
        .assert()
        .success()
        .stderr(contains(format!("wrote {n} records")));
    assert_eq!(reader.wait(30), 0, "{}", reader.stderr());
    // Each record came on its container's topic; without that field, the records are the ones sent.
    let mut back = Vec::new();
    for v in json_lines(&reader.stdout()) {
        let mut v = v;
        let topic = v["topic"].as_str().unwrap().to_string();
        let id = v["container_id"].as_str().unwrap();
        assert_eq!(topic, format!("{t}/{id}/telemetry"));
        v.as_object_mut().unwrap().shift_remove("topic");
        back.extend_from_slice(serde_json::to_string(&v).unwrap().as_bytes());
        back.push(b'\n');
    }
    assert_same_records(&back, &sent);
}

#[test]
fn a_persistent_session_receives_what_was_published_while_the_reader_was_stopped() {
    let b = broker();
    let t = unique("persist");
    let id = unique("client");
    let from = |extra: &[&str]| {
        let mut v = vec![
            "--from".to_string(),
            b.url(&format!("{t}/#")),
            "--client-id".into(),
            id.clone(),
        ];
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };
    let dir = tempfile::tempdir().unwrap();
    // First run: the session is created; one message read, then the reader stops.
    let mut first = spawn_reader(dir.path(), "first", &from(&["--max-records", "1"]));
    settle();
    let one = sim(1, "1m");
    let one = &one[..=one.iter().position(|&c| c == b'\n').unwrap()];
    publish(&b.url(&format!("{t}/{{container_id}}")), one)
        .assert()
        .success();
    assert_eq!(first.wait(20), 0, "{}", first.stderr());
    // While no reader runs: 300 messages.
    let sent = sim(10, "5m");
    assert_eq!(lines(&sent), 300);
    publish(&b.url(&format!("{t}/{{container_id}}")), &sent)
        .assert()
        .success();
    let mut second = spawn_reader(dir.path(), "second", &from(&["--max-records", "300"]));
    assert_eq!(second.wait(20), 0, "{}", second.stderr());
    assert_same_records(&second.stdout(), &sent);
}

#[test]
fn a_reader_killed_mid_stream_loses_no_qos1_message_after_a_restart() {
    let b = broker();
    let t = unique("kill9");
    let id = unique("client");
    let args = vec![
        "--from".to_string(),
        b.url(&format!("{t}/+")),
        "--client-id".into(),
        id,
        "-q".into(),
    ];
    let dir = tempfile::tempdir().unwrap();
    let sent = sim(50, "1h");
    let mut first = spawn_reader(dir.path(), "first", &args);
    settle();
    let mut publisher = std::process::Command::new(assert_cmd::cargo::cargo_bin("reefer-ship"))
        .args(["--to", &b.url(&format!("{t}/{{container_id}}"))])
        .stdin(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = publisher.stdin.take().unwrap();
    let (head, tail) = sent.split_at(sent.len() / 3);
    stdin.write_all(head).unwrap();
    // kill -9 while messages arrive: whatever it had not written and flushed was not acknowledged.
    std::thread::sleep(Duration::from_millis(150));
    first.child.kill().unwrap();
    first.child.wait().unwrap();
    stdin.write_all(tail).unwrap();
    drop(stdin);
    assert!(publisher.wait().unwrap().success());
    let mut second = spawn_reader(dir.path(), "second", &args);
    // The first reader's last line may be cut by the kill: only whole lines count.
    let mut before = first.stdout();
    before.truncate(
        before
            .iter()
            .rposition(|&c| c == b'\n')
            .map_or(0, |e| e + 1),
    );
    let want = counts(&sent);
    let missing = |second: &Reader| {
        let mut got = before.clone();
        let mut more = second.stdout();
        more.truncate(more.iter().rposition(|&c| c == b'\n').map_or(0, |e| e + 1));
        got.extend(more);
        let have = counts(&got);
        let missing: usize = want
            .iter()
            .map(|(k, n)| n.saturating_sub(*have.get(k).unwrap_or(&0)))
            .sum();
        (
            missing,
            have.values().sum::<usize>() + missing - want.values().sum::<usize>(),
        )
    };
    let start = Instant::now();
    while missing(&second).0 > 0 && start.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(100));
    }
    second.interrupt();
    assert_eq!(second.wait(10), 130, "{}", second.stderr());
    let (missing, duplicates) = missing(&second);
    assert!(
        !before.is_empty(),
        "the first reader was killed before it wrote anything"
    );
    assert_eq!(missing, 0, "QoS 1 messages were lost");
    eprintln!("kill -9 mid-stream: {duplicates} duplicates (delivered at least once)");
}

#[test]
fn payloads_that_are_not_json_objects_are_reported_with_their_topic_and_kept_raw() {
    let b = broker();
    let t = unique("bad");
    let dir = tempfile::tempdir().unwrap();
    let dead = dir.path().join("dead.txt");
    let mut reader = spawn_reader(
        dir.path(),
        "r",
        &[
            "--from".into(),
            b.url(&format!("{t}/#")),
            "--max-records".into(),
            "4".into(),
            "--dead-letter".into(),
            dead.display().to_string(),
        ],
    );
    settle();
    let payloads: [&[u8]; 4] = [
        b"\xff\xfe\x00binary",
        b"not json",
        b"[1,2]",
        br#"{"ok":true}"#,
    ];
    for (i, p) in payloads.iter().enumerate() {
        let topic = format!("{t}/dev{i}");
        let mut pubber = std::process::Command::new("mosquitto_pub")
            .args(["-h", "127.0.0.1", "-p", &b.port.to_string(), "-q", "1"])
            .args(["-t", &topic, "-s"])
            .stdin(Stdio::piped())
            .spawn()
            .expect("mosquitto_pub (scripts/mqtt-broker.sh installs mosquitto-clients)");
        pubber.stdin.take().unwrap().write_all(p).unwrap();
        assert!(pubber.wait().unwrap().success());
    }
    assert_eq!(reader.wait(20), 1, "{}", reader.stderr());
    let err = reader.stderr();
    for i in 0..3 {
        assert!(err.contains(&format!("mqtt:{t}/dev{i}:")), "{err}");
    }
    assert!(err.contains("not UTF-8"), "{err}");
    assert!(err.contains("found an array"), "{err}");
    assert!(err.contains("rejected 3"), "{err}");
    assert_eq!(reader.stdout(), b"{\"ok\":true}\n");
    let mut want = Vec::new();
    for p in &payloads[..3] {
        want.extend_from_slice(p);
        want.push(b'\n');
    }
    assert_eq!(
        std::fs::read(&dead).unwrap(),
        want,
        "dead letters are the raw payloads"
    );
}

#[test]
fn a_record_without_the_templated_field_is_bad_input() {
    let b = broker();
    let t = unique("tmpl");
    let dir = tempfile::tempdir().unwrap();
    let dead = dir.path().join("dead.txt");
    publish(
        &b.url(&format!("{t}/{{container_id}}")),
        b"{\"container_id\":\"C1\"}\n{\"x\":1}\n",
    )
    .args(["--dead-letter", &dead.display().to_string()])
    .assert()
    .code(1)
    .stderr(contains("stdin:2: no container_id for the topic"))
    .stderr(contains("wrote 1 record,"));
    assert_eq!(std::fs::read(&dead).unwrap(), b"{\"x\":1}\n");
}

#[test]
fn mutual_tls_round_trip_with_the_test_ca_and_client_certificate() {
    let b = broker();
    let t = unique("tls");
    let sent = sim(5, "10m");
    let dir = tempfile::tempdir().unwrap();
    let mut args = vec![
        "--from".to_string(),
        b.tls_url(&format!("{t}/+")),
        "--max-records".into(),
        lines(&sent).to_string(),
    ];
    args.extend(b.tls_args("client"));
    let mut reader = spawn_reader(dir.path(), "r", &args);
    settle();
    publish(&b.tls_url(&format!("{t}/{{container_id}}")), &sent)
        .args(b.tls_args("client"))
        .assert()
        .success();
    assert_eq!(reader.wait(20), 0, "{}", reader.stderr());
    assert_same_records(&reader.stdout(), &sent);
}

#[test]
fn a_wrong_or_missing_client_certificate_or_an_untrusted_broker_is_a_clear_usage_error() {
    let b = broker();
    let url = b.tls_url("x/+");
    tool("reefer-ship")
        .args(["--from", &url])
        .args(b.tls_args("rogue"))
        .timeout(Duration::from_secs(20))
        .assert()
        .code(2)
        .stderr(contains("refused the TLS connection"))
        .stderr(contains("--cert-file"));
    tool("reefer-ship")
        .args(["--from", &url, "--ca-file", &b.cert("ca.pem")])
        .timeout(Duration::from_secs(20))
        .assert()
        .code(2)
        .stderr(contains("refused the TLS connection"));
    tool("reefer-ship")
        .args(["--from", &url])
        .args(["--cert-file", &b.cert("client.pem")])
        .args(["--key-file", &b.cert("client.key")])
        .timeout(Duration::from_secs(20))
        .assert()
        .code(2)
        .stderr(contains("not trusted"))
        .stderr(contains("--ca-file"));
}

#[test]
fn a_broker_that_is_down_ends_the_run_quickly_with_exit_3() {
    // A port nobody listens on: bound, then closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    for dir in ["--from", "--to"] {
        let start = Instant::now();
        tool("reefer-ship")
            .args([dir, &format!("mqtt://127.0.0.1:{port}/a/b")])
            .write_stdin("{\"a\":1}\n")
            .timeout(Duration::from_secs(20))
            .assert()
            .code(3)
            .stderr(contains("cannot connect"))
            .stderr(contains(format!("127.0.0.1:{port}")));
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{dir}: {:?}",
            start.elapsed()
        );
    }
}

#[test]
fn ctrl_c_flushes_what_was_read_and_exits_130() {
    let b = broker();
    let t = unique("int");
    let dir = tempfile::tempdir().unwrap();
    let reader = spawn_reader(
        dir.path(),
        "r",
        &["--from".into(), b.url(&format!("{t}/+"))],
    );
    let mut reader = reader;
    settle();
    let sent = sim(3, "5m");
    publish(&b.url(&format!("{t}/{{container_id}}")), &sent)
        .assert()
        .success();
    std::thread::sleep(Duration::from_millis(500));
    reader.interrupt();
    assert_eq!(reader.wait(10), 130, "{}", reader.stderr());
    assert_same_records(&reader.stdout(), &sent);
}

#[test]
fn mqtt_flags_without_an_mqtt_location_are_usage_errors() {
    tool("reefer-ship")
        .args(["--to", "file:///tmp/x", "--client-id", "a"])
        .write_stdin("")
        .assert()
        .code(2)
        .stderr(contains("apply to mqtt://"));
    tool("reefer-ship")
        .args(["--to", "mqtt://127.0.0.1/a/+/b"])
        .write_stdin("")
        .assert()
        .code(2)
        .stderr(contains("+ and # are for subscribing"));
    tool("reefer-ship")
        .args(["--from", "mqtt://127.0.0.1/a", "--ca-file", "x.pem"])
        .assert()
        .code(2)
        .stderr(contains("for mqtts://"));
}

/// A broker of the test's own, with persistence, that the test can restart.
struct OwnBroker {
    child: Child,
    conf: PathBuf,
    port: u16,
}

impl OwnBroker {
    fn start(dir: &std::path::Path) -> OwnBroker {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let conf = dir.join("mosquitto.conf");
        let user = std::env::var("USER").unwrap_or_else(|_| "root".into());
        std::fs::write(
            &conf,
            format!(
                "user {user}\nallow_anonymous true\npersistence true\npersistence_location {}/\n\
                 max_inflight_messages 1000\nmax_queued_messages 1000000\nlistener {port} 127.0.0.1\n",
                dir.display()
            ),
        )
        .unwrap();
        let child = Self::spawn(&conf, port);
        OwnBroker { child, conf, port }
    }

    fn spawn(conf: &std::path::Path, port: u16) -> Child {
        let bin = ["/usr/sbin/mosquitto", "/usr/bin/mosquitto"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())
            .expect("mosquitto (scripts/mqtt-broker.sh installs it)");
        let child = std::process::Command::new(bin)
            .arg("-c")
            .arg(conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "mosquitto did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        child
    }

    /// Stops it as an operator would (it saves its sessions), and starts it again.
    fn restart(&mut self, down_for: Duration) {
        let pid = self.child.id().to_string();
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap();
        self.child.wait().unwrap();
        std::thread::sleep(down_for);
        self.child = Self::spawn(&self.conf, self.port);
    }
}

impl Drop for OwnBroker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_broker_restart_mid_stream_is_ridden_out_by_publisher_and_reader_without_loss() {
    let dir = tempfile::tempdir().unwrap();
    let mut b = OwnBroker::start(dir.path());
    let url = |topic: &str| format!("mqtt://127.0.0.1:{}/{topic}", b.port);
    let sent = sim(20, "1h");
    let n = lines(&sent);
    let mut reader = spawn_reader(
        dir.path(),
        "r",
        &[
            "--from".into(),
            url("rs/+"),
            "--client-id".into(),
            unique("reader"),
        ],
    );
    settle();
    let mut publisher = std::process::Command::new(assert_cmd::cargo::cargo_bin("reefer-ship"))
        .args(["--to", &url("rs/{container_id}")])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = publisher.stdin.take().unwrap();
    let (head, tail) = sent.split_at(sent.len() / 2);
    stdin.write_all(head).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    b.restart(Duration::from_millis(700));
    stdin.write_all(tail).unwrap();
    drop(stdin);
    let out = publisher.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains(&format!("wrote {n} records")), "{err}");
    assert!(
        err.contains("reconnected"),
        "the publisher saw no restart: {err}"
    );
    // The reader gets every record at least once: wait for the last, then stop it.
    let want = counts(&sent);
    let missing = |reader: &Reader| {
        let mut got = reader.stdout();
        got.truncate(got.iter().rposition(|&c| c == b'\n').map_or(0, |e| e + 1));
        let have = counts(&got);
        want.iter()
            .map(|(k, n)| n.saturating_sub(*have.get(k).unwrap_or(&0)))
            .sum::<usize>()
    };
    let start = Instant::now();
    while missing(&reader) > 0 && start.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(100));
    }
    reader.interrupt();
    assert_eq!(reader.wait(10), 130, "{}", reader.stderr());
    assert_eq!(
        missing(&reader),
        0,
        "records lost over the restart: {}",
        reader.stderr()
    );
    assert!(
        reader.stderr().contains("reconnected"),
        "{}",
        reader.stderr()
    );
}

#[test]
fn qos0_round_trip_and_until_stops_the_reader_on_the_wall_clock() {
    let b = broker();
    let t = unique("qos0");
    let sent = sim(10, "10m");
    let dir = tempfile::tempdir().unwrap();
    let until = (chrono::Utc::now() + chrono::Duration::seconds(6))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mut reader = spawn_reader(
        dir.path(),
        "r",
        &[
            "--from".into(),
            b.url(&format!("{t}/+")),
            "--qos".into(),
            "0".into(),
            "--until".into(),
            until,
        ],
    );
    settle();
    publish(&b.url(&format!("{t}/{{container_id}}")), &sent)
        .args(["--qos", "0", "--inflight", "10"])
        .assert()
        .success();
    // No --max-records: --until ends it, exit 0, everything read written out.
    assert_eq!(reader.wait(20), 0, "{}", reader.stderr());
    assert_same_records(&reader.stdout(), &sent);
}
