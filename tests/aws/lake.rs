//! The data lake analysts query (issue 12): reefer-ship's `file://` lake on
//! failing disks, a missing input lake, Firehose streams the emulator
//! describes without their optional settings, server-side encryption read back
//! through the emulator, and the Parquet lake.

use super::common::*;
use super::ship::{ship, ship_at};
use predicates::prelude::*;
use predicates::str::contains;
use std::path::Path;

/// Resources the shared aws_admin.py does not set up (tests/aws/lake_admin.py).
fn lake_admin(args: &[&str]) -> String {
    let out = std::process::Command::new(python())
        .arg(repo_path("tests/aws/lake_admin.py"))
        .arg(endpoint())
        .args(args)
        .output()
        .expect("run lake_admin.py with the .venv python (scripts/test.sh creates it)");
    assert!(
        out.status.success(),
        "lake_admin {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn sim(containers: u32, duration: &str) -> Vec<u8> {
    let at = [
        "--seed",
        "12",
        "--start",
        "2026-11-27T03:40:00Z",
        "--interval",
        "30s",
    ];
    sim_fleet(containers, duration, &at)
}

fn lake_url(dir: &Path) -> String {
    format!("file://{}", dir.display())
}

/// Every file under `dir` (hidden ones included), relative to it.
fn files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in walk(dir) {
        out.push(e.strip_prefix(dir).unwrap().display().to_string());
    }
    out.sort();
    out
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// The records in a lake's objects (gzip or plain JSON Lines).
fn lake_records(dir: &Path) -> usize {
    let mut n = 0;
    for p in walk(dir) {
        let mut text = String::new();
        let bytes = std::fs::read(&p).unwrap();
        if bytes.starts_with(&[0x1f, 0x8b]) {
            use std::io::Read;
            flate2::read::MultiGzDecoder::new(&bytes[..])
                .read_to_string(&mut text)
                .unwrap();
        } else {
            text = String::from_utf8(bytes).unwrap();
        }
        n += text.lines().count();
    }
    n
}

#[test]
fn a_missing_input_lake_is_a_usage_error_before_any_summary() {
    tool("reefer-ship")
        .args(["--from", "file:///nonexistent/reefer-lake"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(contains(
            "file:///nonexistent/reefer-lake: No such file or directory",
        ))
        .stderr(contains("read 0 records").not());
}

#[test]
fn a_lake_write_that_fails_is_fatal_once_with_the_path_and_exact_counts() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    // The second hour cannot be created: its place is taken by a file.
    std::fs::create_dir_all(lake.join("2026/11/27")).unwrap();
    std::fs::write(lake.join("2026/11/27/04"), "not a directory").unwrap();
    let undelivered = dir.path().join("undelivered.jsonl");
    let input = sim(20, "40m");
    let total = input
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .count();
    let out = tool("reefer-ship")
        .args(["--to", &lake_url(&lake), "--buffer-size", "16KiB"])
        .args(["--undelivered", undelivered.to_str().unwrap()])
        .write_stdin(input)
        .assert()
        .code(3)
        .stderr(contains("cannot write ").and(contains("/2026/11/27/04/")))
        .get_output()
        .clone();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.matches("cannot write ").count(), 1, "{stderr}");
    assert!(
        !stderr.contains("not delivered:"),
        "no message per record: {stderr}"
    );
    // Exact counts: what the summary says is what the disk holds.
    let shipped = lake_records(&lake.join("2026/11/27/03"));
    let kept = std::fs::read_to_string(&undelivered)
        .unwrap()
        .lines()
        .count();
    assert!(shipped > 0 && kept > 0, "{stderr}");
    assert!(shipped + kept <= total);
    assert!(
        stderr.contains(&format!(
            "shipping {shipped} (0 rejected, {kept} undelivered, kept in"
        )),
        "{stderr}"
    );
    assert!(stderr.contains("nothing after them was read"), "{stderr}");
    // No temporary file is left anywhere.
    assert!(
        files(&lake).iter().all(|f| !f.contains(".tmp-")),
        "{:?}",
        files(&lake)
    );
}

#[test]
fn an_undelivered_file_on_a_full_disk_is_said_and_the_summary_still_printed() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    std::fs::create_dir_all(lake.join("2026/11/27")).unwrap();
    std::fs::write(lake.join("2026/11/27/03"), "not a directory").unwrap();
    // /dev/full answers every write with ENOSPC.
    tool("reefer-ship")
        .args(["--to", &lake_url(&lake), "--undelivered", "/dev/full"])
        .write_stdin(sim(3, "5m"))
        .assert()
        .code(3)
        .stderr(contains("read 30 records, wrote 0 records"))
        .stderr(contains(
            "the undelivered file /dev/full could not be written (No space left on device",
        ))
        .stderr(contains(
            "30 undelivered: 0 kept in /dev/full, 30 in no file",
        ));
}

#[test]
fn a_firehose_stream_described_without_compression_format_takes_records() {
    let bucket = unique("fhbare").to_lowercase();
    let stream = unique("bare");
    admin(&["create-bucket", &bucket]);
    lake_admin(&["create-bare-firehose", &stream, &bucket, "delivered/"]);
    let input = sim(3, "10m");
    ship()
        .args(["--to", &format!("firehose://{stream}")])
        .write_stdin(input.clone())
        .assert()
        .success();
    let out = ship()
        .args(["--from", &format!("s3://{bucket}/delivered")])
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(sorted_lines(&input), sorted_lines(&out.stdout));
    // A stream that is not there is still a configuration error.
    ship_at(&endpoint())
        .args(["--to", &format!("firehose://{stream}-gone")])
        .write_stdin("")
        .assert()
        .code(2)
        .stderr(contains("does not exist"));
}

/// The encryption S3 reports for each object under the prefix (HeadObject).
fn encryption_of(bucket: &str, prefix: &str) -> Vec<serde_json::Value> {
    let out = lake_admin(&["head-objects", bucket, prefix]);
    let heads = json_lines(out.as_bytes());
    assert!(!heads.is_empty(), "no object under s3://{bucket}/{prefix}");
    heads
}

#[test]
fn sse_kms_with_a_named_key_is_on_every_object_single_put_and_multipart() {
    let bucket = unique("sse").to_lowercase();
    admin(&["create-bucket", &bucket]);
    let key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    // Small objects: one PutObject each.
    let small = sim(20, "40m");
    ship()
        .args([
            "--to",
            &format!("s3://{bucket}/small"),
            "--buffer-size",
            "64KiB",
        ])
        .args(["--sse", "aws:kms", "--sse-kms-key-id", key])
        .write_stdin(small.clone())
        .assert()
        .success()
        .stderr(contains("PutObject"));
    // One object over the part size: a multipart upload.
    let big: Vec<u8> = tool("reefer-sim")
        .args(["--containers", "250", "--duration", "59m", "--seed", "10"])
        .args(["--start", "2026-11-27T03:00:00Z", "--interval", "30s"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    ship()
        .args(["--to", &format!("s3://{bucket}/big"), "--no-gzip"])
        .args(["--buffer-size", "64MiB", "--buffer-interval", "2h"])
        .args(["--sse", "aws:kms", "--sse-kms-key-id", key])
        .write_stdin(big)
        .assert()
        .success()
        .stderr(contains("CreateMultipartUpload 1"));
    for prefix in ["small/", "big/"] {
        for head in encryption_of(&bucket, prefix) {
            assert_eq!(head["sse"], "aws:kms", "{head}");
            assert_eq!(head["kms_key"], key, "{head}");
        }
    }
    // Encrypted objects read back as they were sent.
    let out = ship()
        .args(["--from", &format!("s3://{bucket}/small")])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(sorted_lines(&small), sorted_lines(&out));
}

#[test]
fn sse_aes256_is_on_every_object() {
    let bucket = unique("sses3").to_lowercase();
    admin(&["create-bucket", &bucket]);
    ship()
        .args([
            "--to",
            &format!("s3://{bucket}/t"),
            "--buffer-size",
            "64KiB",
        ])
        .args(["--sse", "AES256"])
        .write_stdin(sim(10, "20m"))
        .assert()
        .success();
    for head in encryption_of(&bucket, "t/") {
        assert_eq!(head["sse"], "AES256", "{head}");
        assert!(head["kms_key"].is_null(), "{head}");
    }
}

#[test]
fn sse_flags_that_do_not_fit_are_usage_errors() {
    for (args, says) in [
        (
            &["--to", "file:///tmp/x", "--sse", "AES256"][..],
            "--sse applies to --to s3://",
        ),
        (
            &["--to", "s3://my-bucket/p", "--sse-kms-key-id", "k"][..],
            "needs --sse aws:kms",
        ),
        (
            &[
                "--to",
                "s3://my-bucket/p",
                "--sse",
                "AES256",
                "--sse-kms-key-id",
                "k",
            ][..],
            "needs --sse aws:kms",
        ),
        (
            &["--to", "s3://my-bucket/p", "--sse", "aes"][..],
            "invalid value",
        ),
    ] {
        tool("reefer-ship")
            .args(args)
            .write_stdin("")
            .assert()
            .code(2)
            .stderr(contains(says));
    }
}

/// The 22 contract columns of the Parquet lake and how DuckDB gives them back.
const TYPED: &[(&str, char)] = &[
    ("container_id", 's'),
    ("measurement_time", 't'),
    ("product_id", 's'),
    ("temperature", 'f'),
    ("target_temperature", 'f'),
    ("supply_air_temperature", 'f'),
    ("ambient_temperature", 'f'),
    ("kilowatts", 'f'),
    ("oxygen_level", 'f'),
    ("carbon_dioxide_level", 'f'),
    ("nitrogen_level", 'f'),
    ("humidity_level", 'f'),
    ("fan_1", 'b'),
    ("fan_2", 'b'),
    ("fan_3", 'b'),
    ("defrost", 'b'),
    ("door_open", 'b'),
    ("operating_mode", 's'),
    ("latitude", 'f'),
    ("longitude", 'f'),
    ("fault", 's'),
    ("maintenance_required", 'b'),
];

/// A fleet with everything a lake must keep: 10,000 containers over 10 minutes
/// (every 2 minutes), nulls (fault, and positions of some), unknown fields
/// (nested), integers in decimal columns, a time with an offset, absent
/// optional fields and another key order; numbers with more decimals than
/// their column's scale (a 6-decimal position too), at its edge, too large for
/// it, and negative zero.
fn awkward_fleet() -> Vec<u8> {
    let input = tool("reefer-sim")
        .args(["--containers", "10000", "--duration", "10m", "--seed", "5"])
        .args(["--start", "2026-11-27T03:55:00Z", "--interval", "2m"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let mut out = Vec::new();
    for (i, line) in String::from_utf8(input).unwrap().lines().enumerate() {
        let mut rec: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(line).unwrap();
        match i % 10 {
            1 => {
                rec.insert(
                    "site".into(),
                    serde_json::json!({"port": "RTM", "berth": [i % 7, null]}),
                );
            }
            2 => {
                rec.insert("temperature".into(), serde_json::json!(i % 5));
                rec.insert("latitude".into(), serde_json::Value::Null);
            }
            3 => {
                rec.remove("target_temperature");
                rec.remove("fan_3");
            }
            4 => {
                let t = rec["measurement_time"]
                    .as_str()
                    .unwrap()
                    .replace('Z', "+00:00");
                rec.insert("measurement_time".into(), t.into());
            }
            5 => {
                let first = rec.keys().next().unwrap().clone();
                let v = rec.shift_remove(&first).unwrap();
                rec.insert(first, v);
                rec.insert("modem".into(), "x\u{e9}\"\\".into());
            }
            6 => {
                let t = rec["temperature"].as_f64().unwrap();
                rec.insert("temperature".into(), serde_json::json!(t + 0.004));
                rec.insert("latitude".into(), serde_json::json!(51.92250061035156));
                rec.insert("kilowatts".into(), serde_json::json!(999_999.999));
            }
            7 => {
                rec.insert("kilowatts".into(), serde_json::json!(1e12));
                rec.insert("humidity_level".into(), serde_json::json!(-0.0));
                rec.insert("longitude".into(), serde_json::json!(-179.999999));
            }
            8 => {
                // A GPS that writes 6 decimals; the column has 5.
                rec.insert("latitude".into(), serde_json::json!(-33.593216));
                rec.insert("longitude".into(), serde_json::json!(-71.62));
            }
            _ => {}
        }
        serde_json::to_writer(&mut out, &rec).unwrap();
        out.push(b'\n');
    }
    out
}

/// What DuckDB must read for a record: each typed column's value (ms for the
/// time, null when absent or of another type) and the unknown fields.
fn expected_row(line: &str) -> String {
    let rec: serde_json::Map<String, serde_json::Value> = serde_json::from_str(line).unwrap();
    let mut row = serde_json::Map::new();
    for (name, kind) in TYPED {
        let v = rec.get(*name).cloned().unwrap_or_default();
        let typed = match (kind, &v) {
            ('t', serde_json::Value::String(s)) => {
                let t = chrono::DateTime::parse_from_rfc3339(s).unwrap();
                serde_json::json!(t.timestamp_millis())
            }
            ('f', serde_json::Value::Number(n)) => in_decimal(n.as_f64().unwrap(), scale_of(name)),
            ('s', serde_json::Value::String(_)) | ('b', serde_json::Value::Bool(_)) => v,
            _ => serde_json::Value::Null,
        };
        row.insert((*name).to_string(), typed);
    }
    let unknown: serde_json::Map<_, _> = rec
        .into_iter()
        .filter(|(k, _)| !TYPED.iter().any(|(n, _)| n == k))
        .collect();
    row.insert("unknown".into(), serde_json::Value::Object(unknown));
    serde_json::Value::Object(row).to_string()
}

/// The decimal scale of a number column (`DECIMAL(9, scale)`).
fn scale_of(name: &str) -> i32 {
    match name {
        "kilowatts" => 3,
        "latitude" | "longitude" => 5,
        _ => 2,
    }
}

/// What a `DECIMAL(9, scale)` column holds for `x`: the nearest value of that
/// scale, or null when it has more than 9 digits.
fn in_decimal(x: f64, scale: i32) -> serde_json::Value {
    let v = (x * 10f64.powi(scale)).round();
    if v.abs() >= 1e9 {
        return serde_json::Value::Null;
    }
    serde_json::json!(v as i64 as f64 / 10f64.powi(scale))
}

/// A row as DuckDB read it, in the same shape.
fn duckdb_row(line: &str) -> String {
    let got: serde_json::Map<String, serde_json::Value> = serde_json::from_str(line).unwrap();
    let mut row = serde_json::Map::new();
    for (name, kind) in TYPED {
        let v = got[*name].clone();
        let v = match (kind, v) {
            ('f', serde_json::Value::Number(n)) => serde_json::json!(n.as_f64().unwrap()),
            (_, v) => v,
        };
        row.insert((*name).to_string(), v);
    }
    let extra: serde_json::Map<String, serde_json::Value> = match got["extra_fields"].as_str() {
        Some(text) => serde_json::from_str(text).unwrap(),
        None => Default::default(),
    };
    let unknown: serde_json::Map<_, _> = extra
        .into_iter()
        .filter(|(k, _)| !TYPED.iter().any(|(n, _)| n == k))
        .collect();
    row.insert("unknown".into(), serde_json::Value::Object(unknown));
    serde_json::Value::Object(row).to_string()
}

fn sorted_rows(rows: impl Iterator<Item = String>) -> Vec<String> {
    let mut v: Vec<String> = rows.collect();
    v.sort();
    v
}

#[test]
fn a_parquet_lake_reads_back_every_record_and_duckdb_reads_the_same_rows() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let input = awkward_fleet();
    tool("reefer-ship")
        .args(["--to", &lake_url(&lake), "--format", "parquet", "-q"])
        .write_stdin(input.clone())
        .assert()
        .success();
    let names = files(&lake);
    assert!(
        names.iter().any(|n| n.starts_with("2026/11/27/03/")),
        "{names:?}"
    );
    assert!(
        names.iter().any(|n| n.starts_with("2026/11/27/04/")),
        "{names:?}"
    );
    assert!(names.iter().all(|n| n.ends_with(".parquet")), "{names:?}");
    // reefer-ship reads it back: every record, every field value equal.
    let back = tool("reefer-ship")
        .args(["--from", &lake_url(&lake), "-q"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let values = |b: &[u8]| {
        let mut v: Vec<String> = json_lines(b).iter().map(|v| v.to_string()).collect();
        v.sort();
        v
    };
    assert_eq!(values(&input).len(), 50_000);
    assert!(
        values(&input) == values(&back),
        "the records read back differ"
    );
    // Even byte for byte: key order, integers and the time's spelling are kept.
    assert!(
        sorted_lines(&input) == sorted_lines(&back),
        "not byte for byte"
    );
    // DuckDB, an independent reader, sees the same rows in the typed columns.
    let rows = lake_admin(&["duckdb-rows", lake.to_str().unwrap()]);
    let want = sorted_rows(String::from_utf8_lossy(&input).lines().map(expected_row));
    let got = sorted_rows(rows.lines().map(duckdb_row));
    assert_eq!(want.len(), got.len());
    for (w, g) in want.iter().zip(&got) {
        assert_eq!(w, g);
    }
    // ... with the numbers as the decimals the Athena table declares.
    let types = lake_admin(&["duckdb-types", lake.to_str().unwrap()]);
    for want in [
        "temperature DECIMAL(9,2)",
        "kilowatts DECIMAL(9,3)",
        "longitude DECIMAL(9,5)",
        "measurement_time TIMESTAMP WITH TIME ZONE",
    ] {
        assert!(types.lines().any(|l| l == want), "{want}: {types}");
    }
}

#[test]
fn a_parquet_lake_written_twice_has_the_same_objects_byte_for_byte() {
    let input = sim(20, "40m");
    let mut lakes = Vec::new();
    for _ in 0..2 {
        let dir = tempfile::tempdir().unwrap();
        tool("reefer-ship")
            .args(["--to", &lake_url(dir.path()), "--format", "parquet"])
            .args(["--buffer-size", "64KiB"])
            .write_stdin(input.clone())
            .assert()
            .success();
        let objects: Vec<(String, Vec<u8>)> = files(dir.path())
            .into_iter()
            .map(|f| (f.clone(), std::fs::read(dir.path().join(&f)).unwrap()))
            .collect();
        lakes.push(objects);
    }
    assert!(lakes[0].len() > 2, "several objects");
    assert!(lakes[0] == lakes[1], "the two lakes differ");
}

#[test]
fn parquet_to_s3_with_sse_reads_back_and_the_athena_table_is_parquet() {
    let bucket = unique("pq").to_lowercase();
    admin(&["create-bucket", &bucket]);
    let input = sim(20, "40m");
    let to = format!("s3://{bucket}/telemetry");
    ship()
        .args(["--to", &to, "--format", "parquet", "--sse", "AES256"])
        .write_stdin(input.clone())
        .assert()
        .success();
    for head in encryption_of(&bucket, "telemetry/") {
        assert!(
            head["key"].as_str().unwrap().ends_with(".parquet"),
            "{head}"
        );
        assert_eq!(head["sse"], "AES256");
    }
    let out = ship()
        .args(["--from", &to])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(sorted_lines(&input), sorted_lines(&out));
    tool("reefer-ship")
        .args(["--to", &to, "--format", "parquet", "--athena-ddl", "reefer"])
        .assert()
        .success()
        .stdout(contains("STORED AS PARQUET"))
        .stdout(contains("`measurement_time` timestamp"))
        .stdout(contains("`temperature` decimal(9,2)"))
        .stdout(contains("`latitude` decimal(9,5)"))
        .stdout(contains(format!(
            "'storage.location.template' = 's3://{bucket}/telemetry/${{hour}}/'"
        )));
}

#[test]
fn parquet_is_for_lake_writes_only() {
    for (args, says) in [
        (
            &["--to", "-", "--format", "parquet"][..],
            "--format parquet applies to lake writes",
        ),
        (
            &["--to", "file:///tmp/x", "--format", "parquet", "--no-gzip"][..],
            "--no-gzip applies to --format jsonl",
        ),
    ] {
        tool("reefer-ship")
            .args(args)
            .write_stdin("")
            .assert()
            .code(2)
            .stderr(contains(says));
    }
}

#[test]
fn a_dead_letter_file_on_a_full_disk_is_named_and_the_summary_still_printed() {
    tool("reefer-ship")
        .args(["--dead-letter", "/dev/full"])
        .write_stdin("{\"a\":1}\ngarbage\n{\"a\":2}\n")
        .assert()
        .code(3)
        .stdout("{\"a\":1}\n{\"a\":2}\n")
        .stderr(contains(
            "read 3 records, wrote 2 records, rejected 1 (kept in /dev/full only up to its failure), failed 0, dead 0",
        ))
        .stderr(contains(
            "the dead-letter file /dev/full could not be written",
        ))
        .stderr(contains(
            "cannot write dead-letter file /dev/full: No space left on device",
        ));
}
