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
    tool("reefer-sim")
        .args([
            "--containers",
            &containers.to_string(),
            "--duration",
            duration,
        ])
        .args([
            "--seed",
            "12",
            "--start",
            "2026-11-27T03:40:00Z",
            "--interval",
            "30s",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone()
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
    assert!(
        stderr.contains("the rest of the input was not processed"),
        "{stderr}"
    );
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
        .stderr(contains("read 30 records, shipped 0"))
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
