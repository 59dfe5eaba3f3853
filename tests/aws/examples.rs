//! Every command shown in the README (its ```sh blocks) and in each tool's
//! `--help` examples is run, against the local AWS emulator: an example that
//! fails, or runs and does nothing, fails this test.
//!
//! A user's machine differs from the test's in a few ways, each replaced here
//! the same way for every example (see [`localize`]):
//! - network destinations that are not on this machine (a Slack webhook, an
//!   on-call page) go to a local HTTP receiver; `/usr/local/bin/page-oncall`
//!   is a script in the sandbox; absolute paths (`/etc/bash_completion.d`,
//!   `/var/lib/reefer`, `/data`) are folders of the sandbox;
//! - the `aws` CLI steps (create a stream or a bucket) run through the test
//!   emulator's admin script; the emulator has one region, `us-east-1`;
//! - fleet sizes are scaled down (10,000 containers → 20, a day → an hour);
//! - commands that run until stopped (`--forever`, `--follow`, `tail -f`,
//!   `--realtime`, `--pace`) run for a few seconds and must still be running
//!   then; commands ending in `&` must be running or have succeeded when their
//!   block ends.
//!
//! Each block runs as one bash script (variables carry over, as in a
//! terminal) in its own sandbox folder that holds the files the examples
//! name (`fleet.jsonl`, `events.jsonl`, `my-rules.toml` from the README's
//! TOML block, ...). Not run: `scripts/demo.sh` (a release build; CI runs the
//! demo's pipeline through these examples) and `scripts/test.sh` (this test).

use super::common::*;
use clap::CommandFactory;
use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    /// Sets the shell up (an assignment, `export`, creating a stream): it
    /// must succeed; it has no output of its own.
    Setup,
    Once,
    /// Runs until stopped: run for this many seconds, then interrupted.
    Forever(u32),
    Background,
}

#[derive(Debug, Clone)]
struct Example {
    origin: String,
    text: String,
    kind: Kind,
}

/// The README's ```sh blocks, as (origin, commands).
fn readme_blocks() -> Vec<(String, Vec<String>)> {
    let readme = std::fs::read_to_string(repo_path("README.md")).unwrap();
    let mut blocks = Vec::new();
    let mut current: Option<(usize, Vec<String>)> = None;
    for (i, line) in readme.lines().enumerate() {
        match (&mut current, line.trim_end()) {
            (None, "```sh") => current = Some((i + 1, Vec::new())),
            (Some(_), "```") => {
                let (at, lines) = current.take().unwrap();
                blocks.push((format!("README.md:{at}"), commands(&lines)));
            }
            (Some((_, lines)), l) => lines.push(l.to_string()),
            _ => {}
        }
    }
    blocks
}

/// The `--help` examples of every tool (the lines under "Examples:"), with
/// their explanations in parentheses left out.
fn help_blocks() -> Vec<(String, Vec<String>)> {
    let tools = [
        ("reefer-sim", reefer::sim::SimArgs::command()),
        ("reefer-window", reefer::window::WindowArgs::command()),
        ("reefer-detect", reefer::detect::DetectArgs::command()),
        ("reefer-act", reefer::act::ActArgs::command()),
        ("reefer-ship", reefer::ship::ShipArgs::command()),
    ];
    tools
        .into_iter()
        .map(|(name, cmd)| {
            let help = cmd
                .get_after_help()
                .map(|h| h.to_string())
                .unwrap_or_default();
            let lines: Vec<String> = help
                .lines()
                .skip_while(|l| l.trim() != "Examples:")
                .skip(1)
                .take_while(|l| !l.trim().is_empty())
                .map(|l| strip_note(l.trim()).to_string())
                .collect();
            assert!(!lines.is_empty(), "{name} --help has examples");
            (format!("{name} --help"), commands(&lines))
        })
        .collect()
}

/// `cmd    (what it does)` → `cmd`.
fn strip_note(line: &str) -> &str {
    match line.find("  (") {
        Some(i) if line.ends_with(')') => line[..i].trim_end(),
        _ => line,
    }
}

/// Lines → commands: comments and blank lines dropped, `\` continuations
/// and `for ...; do ... done` loops joined.
fn commands(lines: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_loop = false;
    for l in lines {
        let t = l.trim();
        if cur.is_empty() && (t.is_empty() || t.starts_with('#')) {
            continue;
        }
        let t = strip_note(t);
        if cur.is_empty() && t.starts_with("for ") {
            in_loop = true;
        }
        if let Some(body) = t.strip_suffix('\\') {
            cur.push_str(body);
            cur.push(' ');
            continue;
        }
        cur.push_str(t);
        if in_loop && t != "done" {
            cur.push('\n');
            continue;
        }
        in_loop = false;
        out.push(std::mem::take(&mut cur));
    }
    assert!(cur.is_empty(), "an unfinished command: {cur}");
    out
}

fn kind_of(cmd: &str) -> Kind {
    let code = cmd.split(" #").next().unwrap_or(cmd).trim_end();
    let first = code.split_whitespace().next().unwrap_or("");
    let assignment = first.split_once('=').is_some_and(|(name, _)| {
        !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    });
    // Assignments, exports, `aws` set-up steps and waiting loops set the
    // shell up: they must succeed, and have no output of their own.
    if assignment
        || ["export", "aws", "until", "while"].contains(&first)
        || code.contains("aws_admin.py")
        || code.contains("$admin ")
    {
        Kind::Setup
    } else if code.ends_with('&') || code.contains("&\n") {
        Kind::Background
    } else if code.contains("--processing-time") {
        Kind::Forever(14)
    } else if [
        "--forever",
        "--follow",
        "tail -f",
        "--realtime",
        "--pace",
        "--from 'mqtt",
        "--from \"mqtt",
    ]
    .iter()
    .any(|m| code.contains(m))
    {
        Kind::Forever(8)
    } else {
        Kind::Once
    }
}

struct Ports {
    hook: u16,
    fresh_emulator: u16,
}

/// The AWS resources the examples name; each sandbox gets its own copies
/// (`NAME-SANDBOX`), so that examples running side by side do not read each
/// other's records.
const RESOURCES: [&str; 8] = [
    "my-reefer-lake",
    "my-lake",
    "reefer-telemetry",
    "reefer-windows",
    "reefer-alerts",
    "reefer-oncall",
    "firehose://reefer-lake",
    "kinesis://t ",
];

fn resource(name: &str, sandbox: &str) -> String {
    match name.strip_suffix(' ') {
        Some(n) => format!("{n}-{sandbox} "),
        None => format!("{name}-{sandbox}"),
    }
}

/// A user's example → the same example on this machine (see the module docs).
fn localize(cmd: &str, repo: &Path, ports: &Ports, from_readme: bool, sandbox: &str) -> String {
    let repo = repo.display().to_string();
    let hook = format!("http://127.0.0.1:{}/hook", ports.hook);
    let mut s = cmd.to_string();
    // A crontab line: the schedule goes.
    if let Some(rest) = s.strip_prefix("*/5 * * * *") {
        s = rest.trim_start().to_string();
    }
    for url in [
        "https://hooks.slack.com/services/T000/B000/XXXX",
        "https://hooks.slack.com/services/T/B/X",
        "https://ops.example/hook",
        "https://example.invalid/hook",
    ] {
        s = s.replace(url, &hook);
    }
    let emulator = endpoint();
    let admin = format!(
        "{} {repo}/tests/fixtures/ship/aws_admin.py {emulator}",
        python().display()
    );
    let pairs: Vec<(String, String)> = vec![
        (
            "/usr/local/bin/page-oncall".into(),
            "./bin/page-oncall".into(),
        ),
        ("/etc/bash_completion.d/".into(), "./completions/".into()),
        ("/var/lib/reefer/".into(), "./var/".into()),
        ("/data/latest.jsonl".into(), "./data/latest.jsonl".into()),
        ("eu-west-1".into(), "us-east-1".into()),
        ("-n 10000".into(), "-n 20".into()),
        ("--containers 10000".into(), "--containers 20".into()),
        // Scaled, but still large enough to hold fault episodes to evaluate.
        (
            "-n 1000 --duration 2d".into(),
            "-n 200 --duration 12h".into(),
        ),
        ("--duration 1d".into(), "--duration 1h".into()),
        ("--duration 2d".into(), "--duration 2h".into()),
        ("scripts/".into(), format!("{repo}/scripts/")),
        ("tests/fixtures/".into(), format!("{repo}/tests/fixtures/")),
        ("samples/".into(), format!("{repo}/samples/")),
        (
            "aws kinesis create-stream --stream-name".into(),
            format!("{admin} create-stream"),
        ),
        ("--shard-count ".into(), String::new()),
        ("aws s3 mb s3://".into(), format!("{admin} create-bucket ")),
    ];
    for (from, to) in &pairs {
        s = s.replace(from.as_str(), to);
    }
    // `aws dynamodb create-table --table-name T ... AttributeName=K,KeyType=HASH`
    if let Some(rest) = s.strip_prefix("aws dynamodb create-table --table-name ") {
        let table = rest.split_whitespace().next().unwrap_or_default();
        let key = rest
            .split("AttributeName=")
            .nth(1)
            .and_then(|k| k.split(',').next())
            .unwrap_or_default();
        s = format!("{admin} create-table {table} {key}");
    }
    // Placeholders first: one resource name holds another (my-reefer-lake).
    let mut padded = format!("{s} ");
    for (i, name) in RESOURCES.iter().enumerate() {
        padded = padded.replace(name, &format!("\u{1}{i}\u{1}"));
    }
    for (i, name) in RESOURCES.iter().enumerate() {
        padded = padded.replace(&format!("\u{1}{i}\u{1}"), &resource(name, sandbox));
    }
    s = padded[..padded.len() - 1].to_string();
    s = localize_mqtt(&s);
    // The README's emulator recipe starts an emulator of its own; the help
    // examples name the usual local port for the test's emulator.
    let fresh = format!("127.0.0.1:{}", ports.fresh_emulator);
    if from_readme {
        s = s.replace("-p 5000", &format!("-p {}", ports.fresh_emulator));
        s = s.replace("127.0.0.1:5000", &fresh);
    } else {
        s = s.replace("http://127.0.0.1:5000", &emulator);
    }
    s
}

/// The examples' brokers → the test's Mosquitto (scripts/mqtt-broker.sh):
/// `mqtt://127.0.0.1/` (the default port) → its plain port; AWS IoT Core's
/// endpoint and device certificate → its mutual-TLS port and test certificates.
fn localize_mqtt(s: &str) -> String {
    let var = |name: &str| {
        std::env::var(name)
            .unwrap_or_else(|_| panic!("{name} is not set: run the tests with scripts/test.sh"))
    };
    let certs = var("REEFER_TEST_MQTT_CERTS");
    s.replace(
        "mqtt://127.0.0.1/",
        &format!("mqtt://127.0.0.1:{}/", var("REEFER_TEST_MQTT_PORT")),
    )
    .replace(
        "$IOT_ENDPOINT",
        &format!("localhost:{}", var("REEFER_TEST_MQTTS_PORT")),
    )
    .replace("device.pem.crt", &format!("{certs}/client.pem"))
    .replace("private.pem.key", &format!("{certs}/client.key"))
    .replace("AmazonRootCA1.pem", &format!("{certs}/ca.pem"))
}

const HARNESS: &str = r#"
set -a            # assignments carry over to later examples, as in a terminal
set -o pipefail
mkdir -p .ex
ex() {            # ex KIND N [SECONDS] <<< command
    local kind=$1 n=$2 secs=$3 cmd d
    cmd=$(cat)
    d=.ex/$n; mkdir -p "$d"; touch "$d/mark"; sleep 0.02
    case $kind in
      once) eval "$cmd" >"$d/out" 2>"$d/err" </dev/null; echo $? >"$d/rc" ;;
      forever) timeout -s INT "$secs" bash -c "$cmd" >"$d/out" 2>"$d/err" </dev/null; echo $? >"$d/rc" ;;
      background) eval "$cmd" >"$d/out" 2>"$d/err" </dev/null; echo 0 >"$d/rc"; echo "$!" >"$d/pid" ;;
    esac
    find . -path ./.ex -prune -o -path ./home -prune -o -type f -newer "$d/mark" -print \
      | grep -v '\.lock$' >"$d/changed"
}
"#;

/// After a block: background jobs must still run or have succeeded.
const HARNESS_END: &str = r#"
sleep 3
for d in .ex/*/; do
  [ -f "$d/pid" ] || continue
  p=$(cat "$d/pid")
  if kill -0 "$p" 2>/dev/null; then echo running >"$d/bg"; else wait "$p"; echo "exit $?" >"$d/bg"; fi
done
"#;

fn prepare(dir: &Path, readme_toml: &[String]) {
    let sim = |args: &[&str]| {
        tool("reefer-sim")
            .args(args)
            .assert()
            .success()
            .get_output()
            .stdout
            .clone()
    };
    let fleet = sim(&[
        "--containers",
        "20",
        "--duration",
        "2h",
        "--seed",
        "7",
        "--start",
        "2026-11-27T03:00:00Z",
        "--inject",
        "2:power_off@20m+1h",
        "--inject",
        "5:door_open@30m+10m",
    ]);
    for name in [
        "fleet.jsonl",
        "readings.jsonl",
        "day.jsonl",
        "data/latest.jsonl",
    ] {
        let p = dir.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, &fleet).unwrap();
    }
    let csv = sim(&[
        "--containers",
        "20",
        "--duration",
        "1h",
        "--seed",
        "7",
        "--format",
        "csv",
        "--start",
        "2026-11-27T03:00:00Z",
    ]);
    std::fs::write(dir.join("fleet.csv"), csv).unwrap();
    let events = tool("reefer-detect")
        .write_stdin(fleet)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert!(!events.is_empty());
    std::fs::write(dir.join("events.jsonl"), events).unwrap();
    for (name, text) in ["my-rules.toml", "products.toml"].iter().zip(readme_toml) {
        std::fs::write(dir.join(name), text).unwrap();
    }
    for d in ["completions", "var", "home", "bin"] {
        std::fs::create_dir_all(dir.join(d)).unwrap();
    }
    let page = dir.join("bin/page-oncall");
    std::fs::write(&page, "#!/bin/sh\ncat >/dev/null\necho \"paged $*\" >&2\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&page, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// The README's TOML blocks: the rules file, then the catalog.
fn readme_toml() -> Vec<String> {
    let readme = std::fs::read_to_string(repo_path("README.md")).unwrap();
    readme
        .split("```toml\n")
        .skip(1)
        .map(|b| b.split("```").next().unwrap().to_string())
        .collect()
}

/// The resources the examples name, in the test's emulator, for one sandbox.
fn emulator_resources(sandbox: &str) {
    let r = |name: &str| resource(name, sandbox);
    admin(&["create-stream", &r("reefer-telemetry"), "4"]);
    admin(&["create-stream", &r("reefer-windows"), "2"]);
    admin(&["create-stream", &format!("t-{sandbox}"), "1"]);
    for b in ["my-lake", "my-reefer-lake"] {
        admin(&["create-bucket", &r(b)]);
    }
    admin(&[
        "create-firehose",
        &r("reefer-lake"),
        &r("my-lake"),
        "firehose/",
    ]);
    admin(&["create-table", &r("reefer-alerts"), "alert_key"]);
    admin(&["create-topic-queue", &r("reefer-oncall")]);
    let few = tool("reefer-sim")
        .args(["--containers", "2", "--duration", "5m", "--seed", "1"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    tool("reefer-ship")
        .args(["--endpoint-url", &endpoint()])
        .args(["--to", &format!("kinesis://t-{sandbox}")])
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .write_stdin(few)
        .assert()
        .success();
}

/// A local webhook receiver that answers 200 to everything.
fn hook_receiver() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut conn = conn;
                let mut buf = [0u8; 65536];
                let mut seen = Vec::new();
                // Read the head and the body (Content-Length), then answer.
                loop {
                    let n = match conn.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    };
                    seen.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&seen).to_string();
                    if let Some(head_end) = text.find("\r\n\r\n") {
                        let len = text[..head_end]
                            .lines()
                            .find_map(|l| {
                                let (k, v) = l.split_once(':')?;
                                k.eq_ignore_ascii_case("content-length")
                                    .then(|| v.trim().parse::<usize>().ok())?
                            })
                            .unwrap_or(0);
                        if seen.len() >= head_end + 4 + len {
                            let _ = conn.write_all(
                                b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
                            );
                            return;
                        }
                    }
                }
            });
        }
    });
    port
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Runs one block's examples in `dir`; returns what went wrong.
fn run_block(dir: &Path, examples: &[Example], bin: &Path) -> Vec<String> {
    let mut script = HARNESS.to_string();
    for (n, e) in examples.iter().enumerate() {
        let (kind, secs) = match e.kind {
            Kind::Setup | Kind::Once => ("once", 0),
            Kind::Forever(s) => ("forever", s),
            Kind::Background => ("background", 0),
        };
        script.push_str(&format!(
            "ex {kind} {n} {secs} <<'REEFER_EXAMPLE'\n{}\nREEFER_EXAMPLE\n",
            e.text
        ));
    }
    script.push_str(HARNESS_END);
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut child = std::process::Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(dir)
        .env("PATH", path)
        .env("HOME", dir.join("home"))
        .env_remove("XDG_STATE_HOME")
        .env_remove("AWS_PROFILE")
        .env("AWS_ENDPOINT_URL", endpoint())
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .process_group(0)
        .spawn()
        .unwrap();
    let status = child.wait().unwrap();
    // Whatever an example left running (servers, followers) ends with its block.
    unsafe {
        libc::killpg(child.id() as i32, libc::SIGKILL);
    }
    let mut problems = Vec::new();
    if !status.success() {
        problems.push(format!("the block's script ended with {status}"));
    }
    for (n, e) in examples.iter().enumerate() {
        let d = dir.join(".ex").join(n.to_string());
        let read = |f: &str| std::fs::read_to_string(d.join(f)).unwrap_or_default();
        let (rc, out, err, changed) = (read("rc"), read("out"), read("err"), read("changed"));
        let rc: i32 = rc.trim().parse().unwrap_or(-1);
        let did_something =
            !out.trim().is_empty() || !changed.trim().is_empty() || reports_work(&err);
        let why = match e.kind {
            Kind::Setup | Kind::Once if rc != 0 => Some(format!("exit {rc}")),
            Kind::Setup => None,
            Kind::Once if !did_something => Some("ran and did nothing".to_string()),
            Kind::Forever(_) if rc == 124 || (rc == 0 && did_something) => None,
            Kind::Forever(s) => Some(format!("exit {rc} (expected to run for {s} s)")),
            Kind::Background => {
                let bg = read("bg");
                bg.lines()
                    .find(|l| *l != "running" && *l != "exit 0")
                    .map(|l| format!("a background job ended: {l}"))
            }
            Kind::Once => None,
        };
        if let Some(why) = why {
            problems.push(format!(
                "{}: `{}`: {why}\n  stderr: {}",
                e.origin,
                e.text,
                err.trim()
                    .lines()
                    .take(6)
                    .collect::<Vec<_>>()
                    .join("\n          ")
            ));
        }
    }
    problems
}

/// A summary on stderr that counts something (`wrote 100 records`, `14400 readings`).
fn reports_work(stderr: &str) -> bool {
    let words: Vec<&str> = stderr.split_whitespace().collect();
    words.windows(2).any(|w| {
        let n = |s: &str| s.replace(',', "").parse::<u64>().is_ok_and(|n| n > 0);
        (["read", "shipped", "delivered", "wrote", "sent", "notified"].contains(&w[0]) && n(w[1]))
            || (n(w[0]) && w[1].starts_with(|c: char| c.is_ascii_alphabetic()))
    })
}

#[test]
fn every_readme_and_help_example_runs_and_does_something() {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let bin = assert_cmd::cargo::cargo_bin("reefer-sim")
        .parent()
        .unwrap()
        .to_path_buf();
    let ports = Ports {
        hook: hook_receiver(),
        fresh_emulator: free_port(),
    };
    let toml = readme_toml();
    assert_eq!(
        toml.len(),
        2,
        "the README shows a rules file and a catalog file"
    );
    // The README is read top to bottom, as a user would run it: its blocks
    // share one sandbox (the alerts database of one block is queried in the
    // next). Each tool's --help examples get a sandbox of their own.
    let mut sandboxes: Vec<(String, Vec<(String, Vec<String>)>, bool)> =
        vec![("readme".into(), readme_blocks(), true)];
    for (origin, cmds) in help_blocks() {
        let name = origin
            .trim_start_matches("reefer-")
            .split(' ')
            .next()
            .unwrap()
            .to_string();
        sandboxes.push((name, vec![(origin, cmds)], false));
    }
    let skip = ["scripts/demo.sh", "scripts/test.sh"];
    let root = tempfile::tempdir().unwrap();
    let mut handles = Vec::new();
    let mut total = 0;
    for (name, blocks, from_readme) in sandboxes {
        // Resource names unique to this run, so that a rerun against the
        // same emulator starts from empty streams and buckets.
        let sandbox = unique(&name);
        emulator_resources(&sandbox);
        let examples: Vec<Example> = blocks
            .iter()
            .flat_map(|(origin, cmds)| cmds.iter().map(move |c| (origin, c)))
            .filter(|(_, c)| !skip.iter().any(|s| c.starts_with(s)))
            .map(|(origin, c)| Example {
                origin: origin.clone(),
                text: localize(c, &repo, &ports, from_readme, &sandbox),
                kind: kind_of(c),
            })
            .collect();
        total += examples.len();
        let dir = root.path().join(&name);
        std::fs::create_dir_all(&dir).unwrap();
        prepare(&dir, &toml);
        let bin = bin.clone();
        // Sandboxes run side by side: most of the time is spent in the
        // examples that run until stopped.
        handles.push(std::thread::spawn(move || run_block(&dir, &examples, &bin)));
    }
    let problems: Vec<String> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    assert!(total >= 60, "only {total} examples found");
    assert!(
        problems.is_empty(),
        "{} of {total} examples failed:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
