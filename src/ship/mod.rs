//! reefer-ship: moves records between stdin/stdout, a local data lake
//! (`file://`), S3, Kinesis Data Streams and Firehose, losing nothing: every
//! record is delivered, or dead-lettered with its error code and counted.
//!
//! A source task reads records into a bounded channel; the main loop paces
//! them (`--pace`), hands them to one sink, checkpoints Kinesis positions once
//! what came before is delivered, and keeps the accounts.

mod account;
pub mod athena;
pub mod batch;
mod checkpoint;
mod firehose;
pub mod kinesis_in;
mod kinesis_out;
pub mod kpl;
mod lake;
mod lake_parquet;
pub mod location;
mod merge;
pub mod mqtt;
mod objects;
mod put_batch;
pub mod retry;
mod s3;
mod stdio;

pub use location::Location;

use crate::app::{usage, Exit};
use crate::aws::{Aws, Failure};
use crate::codec::scan::{Fields, Kind, Scanner, Slot};
use crate::codec::{BadInput, FormatChoice};
use crate::time::{Span, TimeParser};
use account::Account;
use anyhow::Context;
use checkpoint::{Checkpoint, Pos};
use chrono::{DateTime, Utc};
use clap::Parser;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

const TOOL: &str = "reefer-ship";

const EXAMPLES: &str = "\
Examples:
  reefer-sim --containers 100 --seed 1 | reefer-ship --to kinesis://reefer-telemetry
  reefer-ship --from kinesis://reefer-telemetry --checkpoint cp.json | reefer-window
  reefer-ship --from kinesis://reefer-telemetry --shard shardId-000000000001 --follow \\
      | reefer-window | reefer-detect          (one pipeline per shard)
  reefer-sim --containers 20 --start 2026-11-27 --duration 6h | reefer-ship --to file://lake
  reefer-ship --from file://lake --since 2026-11-27T03:00:00Z --until 2026-11-27T05:00:00Z
  reefer-ship --from file://lake --to s3://my-lake/telemetry
  reefer-ship --from s3://my-lake/telemetry --pace 60x --to kinesis://reefer-telemetry
  reefer-sim | reefer-ship --to firehose://reefer-lake --dead-letter bad-lines.txt \\
      --undelivered failed.jsonl      (bad lines raw; undelivered records with the AWS error)
  reefer-ship --to s3://my-lake/telemetry --athena-ddl reefer_telemetry
  reefer-ship --endpoint-url http://127.0.0.1:5000 --from kinesis://t --max-records 10
  reefer-sim --containers 100 --realtime --speed 60 \\
      | reefer-ship --to 'mqtt://127.0.0.1/reefer/{container_id}/telemetry'   (a fleet of devices)
  reefer-ship --from 'mqtt://127.0.0.1/reefer/+/telemetry' --client-id ingest-1 | reefer-window
  reefer-ship --from \"mqtts://$IOT_ENDPOINT/reefer/+/telemetry\" --client-id reefer-ingest \\
      --cert-file device.pem.crt --key-file private.pem.key --ca-file AmazonRootCA1.pem";

/// Move records to and from Kinesis, Firehose, S3 and a local data lake.
///
/// Locations: `-` (stdin/stdout), `file://DIR` (local data lake), `s3://BUCKET/PREFIX`,
/// `kinesis://STREAM`, `firehose://STREAM`, `mqtt://HOST[:PORT]/TOPIC` (`mqtts://` for TLS;
/// a topic filter such as `reefer/+/telemetry` to read, a template such as
/// `reefer/{container_id}/telemetry` to write). Lake and S3 objects are gzipped JSON Lines
/// under `PREFIX/YYYY/MM/DD/HH/` by event time, with names derived from their content,
/// so shipping the same input twice overwrites instead of duplicating. Kinesis batches
/// keep per-key order even when entries of a batch fail and are retried. A rejected input
/// line is reported as `reefer-ship: INPUT:LINE: why` and kept in `--dead-letter` as the
/// raw bytes read; a record that cannot be delivered after retries goes to
/// `--undelivered` as JSON with its AWS error code. Either makes the exit status 1. AWS settings come from the standard chain (AWS_PROFILE,
/// AWS_REGION, credentials, AWS_ENDPOINT_URL); credentials are never printed.
///
/// Exit status: 0 all delivered; 1 some input lines rejected or records undelivered; 2 usage or
/// configuration error (e.g. no such stream); 3 fatal (unreachable endpoint, I/O);
/// 130 interrupted (after flushing what was buffered).
#[derive(Debug, Clone, Parser)]
#[command(name = "reefer-ship", version, after_help = EXAMPLES)]
pub struct ShipArgs {
    /// Where records come from: -, file://DIR, s3://BUCKET/PREFIX, kinesis://STREAM, mqtt://HOST/FILTER.
    #[arg(long, default_value = "-", value_name = "SRC")]
    pub from: Location,

    /// Where records go: -, file://DIR, s3://BUCKET/PREFIX, kinesis://STREAM, firehose://STREAM,
    /// mqtt://HOST/TOPIC-TEMPLATE.
    #[arg(long, default_value = "-", value_name = "DST")]
    pub to: Location,

    #[command(flatten)]
    pub aws: crate::cli::AwsArgs,

    /// Field whose value is the Kinesis partition key; a record without it is bad input.
    #[arg(long, default_value = "container_id", value_name = "FIELD")]
    pub partition_key: String,

    /// Field holding the event time (object keys, --since/--until, --pace).
    #[arg(long, default_value = "measurement_time", value_name = "FIELD")]
    pub time_field: String,

    /// strftime layout of zone-less event times (taken as UTC), e.g. '%d/%m/%Y %H:%M',
    /// besides RFC 3339, as in every tool.
    #[arg(long, value_name = "LAYOUT")]
    pub time_format: Option<String>,

    /// Read only this Kinesis shard and its children (repeatable): one process per shard.
    #[arg(long = "shard", value_name = "ID")]
    pub shards: Vec<String>,

    /// Where Kinesis reading starts: trim-horizon, latest, at-timestamp:TIME, at-sequence:N.
    #[arg(long, default_value = "trim-horizon", value_parser = kinesis_in::StartAt::parse, value_name = "POS")]
    pub start: kinesis_in::StartAt,

    /// Kinesis read position file: resumed from when it exists, updated as records are delivered.
    #[arg(long, value_name = "FILE")]
    pub checkpoint: Option<PathBuf>,

    /// Only records whose event time is at or after TIME (lake and S3 sources).
    #[arg(long, value_parser = parse_when, value_name = "TIME")]
    pub since: Option<DateTime<Utc>>,

    /// Stop at TIME: event time for lake and S3, arrival time for Kinesis and MQTT.
    #[arg(long, value_parser = parse_when, value_name = "TIME")]
    pub until: Option<DateTime<Utc>>,

    /// Stop after N records.
    #[arg(long, value_name = "N")]
    pub max_records: Option<u64>,

    /// Keep tailing the Kinesis stream instead of stopping when caught up.
    #[arg(long)]
    pub follow: bool,

    /// Merging several shards or objects by event time: how far out of order
    /// across containers one shard (or the lake) may be and still come out
    /// ordered; records are held until every shard still sending is this far
    /// past them. Default 5s: it covers PutRecords retries (failed entries are
    /// re-sent behind later ones, a few seconds of backoff) and costs only 5 s
    /// of event time held. The output is then ordered for reefer-window's
    /// default --lateness 0s. Per-container order is always kept as read.
    #[arg(long, default_value = "5s", value_name = "DURATION")]
    pub lateness: Span,

    /// A shard (or lake reader) that sends nothing for this long while
    /// reefer-ship waits on it stops holding the merge back (a Kinesis shard
    /// that reports it is caught up stops at once); its next record joins the
    /// merge again and may then be out of order. Default 60s: longer than a
    /// read retried through throttling (10 attempts, backoff capped at 5 s), so
    /// a slow read never lets records go early.
    #[arg(long, default_value = "60s", value_name = "DURATION")]
    pub idle_timeout: Span,

    /// Re-emit records at their event-time pace: `realtime`, or `Nx` (N times faster).
    #[arg(long, value_parser = parse_pace, value_name = "PACE")]
    pub pace: Option<f64>,

    /// Flush an object when its buffer reaches SIZE (uncompressed), e.g. 5MiB, 512KiB.
    /// Default 5MiB; 128MiB with --format parquet (Firehose's default for Parquet:
    /// bigger objects hold more readings per container, which compress better).
    #[arg(long, value_parser = parse_size, value_name = "SIZE")]
    pub buffer_size: Option<usize>,

    /// Write an object once the input's event time is this far past its first record
    /// (a live stream's wall clock, like Firehose; a stalled stream is flushed after it too).
    #[arg(long, default_value = "300s", value_name = "DURATION")]
    pub buffer_interval: Span,

    /// Longest a Kinesis or Firehose record waits for its batch to fill.
    #[arg(long, default_value = "1s", value_name = "DURATION")]
    pub linger: Span,

    /// Write plain `.jsonl` objects instead of gzip.
    #[arg(long)]
    pub no_gzip: bool,

    /// Pack several lines into each Firehose record (on by default).
    #[arg(long, overrides_with = "no_pack")]
    pub pack: bool,

    /// One line per Firehose record.
    #[arg(long, overrides_with = "pack")]
    pub no_pack: bool,

    /// Attempts per record (throttling, 5xx, failed entries) before it is dead-lettered.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub max_attempts: u32,

    /// Time allowed to connect to an endpoint; an unreachable one ends the run (exit 3).
    #[arg(long, default_value = "3s", value_name = "DURATION")]
    pub connect_timeout: Span,

    /// Time allowed for one request.
    #[arg(long, default_value = "30s", value_name = "DURATION")]
    pub request_timeout: Span,

    /// Input format on stdin; CSV rows are shipped as JSON objects.
    #[arg(long = "input-format", value_enum, default_value_t = FormatChoice::Auto, value_name = "FORMAT")]
    pub input_format: FormatChoice,

    /// What to do with a bad line: report and skip it, or stop (exit 1).
    #[arg(long, value_enum, default_value_t = BadInput::Skip, value_name = "ACTION")]
    pub on_bad_input: BadInput,

    /// Keep every rejected input line here, its raw bytes as read (line ending
    /// included), so the file can be fixed and fed again.
    #[arg(long, value_name = "FILE")]
    pub dead_letter: Option<String>,

    /// Keep every record that was read but could not be delivered after retries
    /// here, one JSON object per line: {"error_code", "error", "origin", "record"}.
    #[arg(long, value_name = "FILE")]
    pub undelivered: Option<String>,

    /// Print the Athena CREATE EXTERNAL TABLE for what --to s3://... writes, and exit.
    #[arg(long, value_name = "TABLE")]
    pub athena_ddl: Option<String>,

    #[command(flatten)]
    pub lake: lake::LakeArgs,

    /// Output options; `-o FILE` is where `--to -` writes (stdout by default),
    /// `--threads` the async runtime's worker threads (default 2).
    #[command(flatten)]
    pub out: crate::cli::OutputArgs,

    #[command(flatten)]
    pub mqtt: mqtt::MqttArgs,
}

impl ShipArgs {
    /// How event times are read (`--time-format` beside RFC 3339).
    pub fn times(&self) -> TimeParser {
        TimeParser::new(self.time_format.clone())
    }
}

fn parse_when(s: &str) -> Result<DateTime<Utc>, String> {
    crate::time::parse_flag_time(s)
}

/// `realtime` is 1, `60x` is 60.
pub fn parse_pace(s: &str) -> Result<f64, String> {
    if s.eq_ignore_ascii_case("realtime") {
        return Ok(1.0);
    }
    let n = s
        .strip_suffix(['x', 'X'])
        .and_then(|n| n.parse::<f64>().ok())
        .filter(|n| n.is_finite() && *n > 0.0)
        .ok_or_else(|| format!("{s:?}: expected realtime or a speed-up such as 60x"))?;
    Ok(n)
}

/// `5MiB`, `512KiB`, `1GiB`, `100000` (bytes); K/M/G and KB/MB/GB are binary too.
pub fn parse_size(s: &str) -> Result<usize, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("{s:?}: expected a size such as 5MiB"))?;
    let mult = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" | "kib" => 1024.0,
        "m" | "mb" | "mib" => 1024.0 * 1024.0,
        "g" | "gb" | "gib" => 1024.0 * 1024.0 * 1024.0,
        _ => return Err(format!("{s:?}: unknown size unit (use B, KiB, MiB, GiB)")),
    };
    let v = n * mult;
    if !(1.0..=(1u64 << 40) as f64).contains(&v) {
        return Err(format!("{s:?}: size out of range"));
    }
    Ok(v as usize)
}

/// Where a record came from: an input (`stdin`, an object, a Kinesis record)
/// and its line there, as rejections name it (`input:line`).
#[derive(Debug, Clone)]
pub struct Origin {
    pub input: Arc<str>,
    pub line: u64,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.input, self.line)
    }
}

/// One record on its way: a JSON object on one line, where it came from, the
/// bytes it was read as when they differ from the line, and for Kinesis
/// sources its position for the checkpoint.
#[derive(Debug)]
pub struct Item {
    pub line: String,
    pub origin: Origin,
    /// The input bytes, ending included, when they are not `line` + `\n`
    /// (a CSV row, a CRLF line): what a dead letter must keep.
    pub raw: Option<Box<[u8]>>,
    pub pos: Option<Pos>,
}

impl Item {
    /// The record's bytes as read, for the dead letter.
    pub fn raw(&self) -> std::borrow::Cow<'_, [u8]> {
        match &self.raw {
            Some(raw) => std::borrow::Cow::Borrowed(raw),
            None => {
                let mut v = Vec::with_capacity(self.line.len() + 1);
                v.extend_from_slice(self.line.as_bytes());
                v.push(b'\n');
                std::borrow::Cow::Owned(v)
            }
        }
    }

    /// Rejects the record as a bad input line (the one rejection path).
    pub fn reject(&self, acct: &mut Account, why: &str) -> anyhow::Result<()> {
        acct.reject(&self.origin.input, self.origin.line, &self.raw(), why)
    }
}

/// What a source sends to the main loop.
pub enum Msg {
    Item(Item),
    /// A line that is not a record: its raw bytes, ending included.
    Bad {
        origin: Origin,
        raw: Vec<u8>,
        why: String,
        pos: Option<Pos>,
    },
    /// A closed shard was read to its end (after all its records).
    ShardDone(String),
    /// A shard (a merge lane) is being read: nothing is merged past it before it is heard.
    LaneOpen(Arc<str>),
    /// A shard is caught up (or stopped at --until): it holds nothing back.
    LaneIdle(Arc<str>),
    /// The source failed.
    Fatal(anyhow::Error),
}

/// A scanner that reads no field: it only checks, by the shared rule
/// ([`Scanner`]), that a line is one JSON object.
pub fn object_checker() -> Scanner {
    Scanner::new(Arc::new(Fields::new(TimeParser::default())))
}

/// The event time of records, read with the shared scanner: only an RFC 3339
/// string is a time (a number is a bad line, as in every tool); duplicate keys
/// follow the scanner's rule (the last wins).
#[derive(Debug)]
pub struct EventTime {
    scanner: Scanner,
    slot: Slot,
    field: String,
}

impl EventTime {
    pub fn new(field: &str, times: TimeParser) -> Self {
        let mut fields = Fields::new(times);
        let slot = fields.add(field, Kind::Time);
        EventTime {
            scanner: Scanner::new(Arc::new(fields)),
            slot,
            field: field.to_string(),
        }
    }

    /// The record's event time, or why it has none.
    pub fn of(&mut self, line: &str) -> Result<DateTime<Utc>, String> {
        let rec = self.scanner.scan(line.as_bytes())?;
        let Some(ms) = rec.time(self.slot) else {
            // The other records of the toolkit carry their time under another name.
            let hint = [
                ("window_start", "a reefer-window row"),
                ("detected_at", "a reefer-detect event"),
            ]
            .into_iter()
            .find(|(f, _)| *f != self.field && has_key(line, f))
            .map(|(f, what)| format!(" ({what}? --time-field {f})"))
            .unwrap_or_default();
            return Err(format!(
                "no event time: field {:?} is missing or null{hint}",
                self.field
            ));
        };
        DateTime::from_timestamp_millis(ms)
            .ok_or_else(|| format!("{}: time out of range", self.field))
    }
}

/// Whether `line` seems to have the key `name` (for a hint, not a parse).
fn has_key(line: &str, name: &str) -> bool {
    memchr::memmem::find(line.as_bytes(), format!("\"{name}\"").as_bytes()).is_some()
}

/// The event time and the key (its JSON text; `""` when absent) of records,
/// for the merge: per-key order is kept, keys are merged by time.
#[derive(Debug)]
pub struct TimeAndKey {
    scanner: Scanner,
    time: Slot,
    key: Slot,
}

impl TimeAndKey {
    pub fn new(time_field: &str, key_field: &str, times: TimeParser) -> Self {
        let mut fields = Fields::new(times);
        let time = fields.add(time_field, Kind::Time);
        let key = fields.add(key_field, Kind::Json);
        TimeAndKey {
            scanner: Scanner::new(Arc::new(fields)),
            time,
            key,
        }
    }

    /// None when the line has no usable event time.
    pub fn of(&mut self, line: &str) -> Option<(i64, Box<str>)> {
        let rec = self.scanner.scan(line.as_bytes()).ok()?;
        let t = rec.time(self.time)?;
        Some((t, rec.json(self.key).unwrap_or("").into()))
    }
}

/// Channel capacity between the source and the main loop.
const CHANNEL: usize = 4096;

/// Resolved settings every sink and source may need.
pub struct Settings {
    pub partition_key: String,
    pub time_field: String,
    /// `--time-format`: how event times are read.
    pub times: TimeParser,
    pub buffer_size: usize,
    pub buffer_interval: Duration,
    pub linger: Duration,
    pub gzip: bool,
    pub pack: bool,
    pub max_attempts: u32,
    pub seed: u64,
    pub lake: lake::LakeArgs,
}

enum Sink {
    Stdout(stdio::StdoutSink),
    Objects(objects::ObjectSink),
    Kinesis(kinesis_out::KinesisSink),
    Firehose(firehose::FirehoseSink),
    Mqtt(mqtt::MqttSink),
}

impl Sink {
    async fn push(&mut self, item: Item, acct: &mut Account) -> anyhow::Result<()> {
        match self {
            Sink::Stdout(s) => s.push(item, acct),
            Sink::Objects(s) => s.push(item, acct).await,
            Sink::Kinesis(s) => s.push(item, acct).await,
            Sink::Firehose(s) => s.push(item, acct).await,
            Sink::Mqtt(s) => s.push(item, acct).await,
        }
    }

    /// Called when the source has nothing more right now, and on every tick.
    async fn idle(&mut self, now: Instant, acct: &mut Account) -> anyhow::Result<()> {
        match self {
            Sink::Stdout(s) => s.flush(),
            Sink::Objects(s) => s.tick(now, acct).await,
            Sink::Kinesis(s) => s.tick(now, acct).await,
            Sink::Firehose(s) => s.tick(now, acct).await,
            Sink::Mqtt(s) => s.tick(acct).await,
        }
    }

    async fn flush(&mut self, acct: &mut Account) -> anyhow::Result<()> {
        match self {
            Sink::Stdout(s) => s.flush(),
            Sink::Objects(s) => s.flush(acct).await,
            Sink::Kinesis(s) => s.flush(acct).await,
            Sink::Firehose(s) => s.flush(acct).await,
            Sink::Mqtt(s) => s.flush(acct).await,
        }
    }

    /// Nothing buffered: everything pushed so far is delivered or dead-lettered.
    fn is_empty(&self) -> bool {
        match self {
            Sink::Stdout(s) => s.is_empty(),
            Sink::Objects(s) => s.is_empty(),
            Sink::Kinesis(s) => s.is_empty(),
            Sink::Firehose(s) => s.is_empty(),
            Sink::Mqtt(s) => s.is_empty(),
        }
    }

    /// After a fatal error: dead-letter what is still held so nothing is lost silently.
    fn abandon(&mut self, acct: &mut Account, why: &str) {
        match self {
            Sink::Stdout(_) => {}
            Sink::Objects(s) => s.abandon(acct, why),
            Sink::Kinesis(s) => s.abandon(acct, why),
            Sink::Firehose(s) => s.abandon(acct, why),
            Sink::Mqtt(s) => s.abandon(acct, why),
        }
    }
}

/// A fatal failure talking to AWS, turned into the right exit status: a missing
/// resource or bad credentials are configuration errors (2), the rest fatal (3).
pub fn aws_error(what: &str, f: &Failure, endpoint: &str) -> anyhow::Error {
    // Credentials in --endpoint-url (or quoted by the SDK) are never printed.
    let endpoint = &crate::redact::url(endpoint);
    let f = &match f {
        Failure::Unreachable { message } => Failure::Unreachable {
            message: crate::redact::text(message),
        },
        other => other.clone(),
    };
    match f {
        Failure::NotFound { code, .. } => {
            usage(format!("{what}: does not exist at {endpoint} ({code})"))
        }
        Failure::Denied { code, message } if code == "CredentialsError" => usage(format!(
            "{what}: no usable AWS credentials (set AWS_PROFILE, or AWS_ACCESS_KEY_ID and \
             AWS_SECRET_ACCESS_KEY): {message}"
        )),
        Failure::Denied { code, message } => usage(format!(
            "{what}: access refused at {endpoint}: {message} ({code})"
        )),
        Failure::Unreachable { message } => {
            anyhow::anyhow!("{what}: cannot reach {endpoint}: {message}")
        }
        other => anyhow::anyhow!("{what}: {other} at {endpoint}"),
    }
}

/// The tool's entry point.
pub fn run(args: ShipArgs) -> anyhow::Result<Exit> {
    if let Some(shell) = args.out.completions {
        crate::cli::write_completions::<ShipArgs>(shell, &mut std::io::stdout())?;
        return Ok(Exit::Ok);
    }
    if let Some(table) = &args.athena_ddl {
        let Location::S3 { bucket, prefix } = &args.to else {
            return Err(usage(
                "--athena-ddl describes what --to s3://BUCKET/PREFIX writes: give that --to",
            ));
        };
        print!(
            "{}",
            athena::create_table(table, bucket, prefix, args.lake.format)
        );
        return Ok(Exit::Ok);
    }
    check_args(&args)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.out.threads.map_or(2, usize::from))
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let result = rt.block_on(run_async(args));
    rt.shutdown_background();
    result
}

fn check_args(args: &ShipArgs) -> anyhow::Result<()> {
    for (flag, name) in [
        ("--partition-key", &args.partition_key),
        ("--time-field", &args.time_field),
    ] {
        crate::record::check_field_name(flag, name).map_err(usage)?;
    }
    if matches!(args.from, Location::Firehose(_)) {
        return Err(usage(
            "firehose:// is write-only: read what it delivered with --from s3://BUCKET/PREFIX",
        ));
    }
    let kinesis_from = matches!(args.from, Location::Kinesis(_));
    if !kinesis_from {
        if !args.shards.is_empty() {
            return Err(usage("--shard only applies to --from kinesis://"));
        }
        if args.checkpoint.is_some() {
            return Err(usage("--checkpoint only applies to --from kinesis://"));
        }
        if args.follow {
            return Err(usage("--follow only applies to --from kinesis://"));
        }
    }
    if args.since.is_some() && !matches!(args.from, Location::Lake(_) | Location::S3 { .. }) {
        return Err(usage(
            "--since applies to file:// and s3:// sources (for Kinesis use --start at-timestamp:TIME)",
        ));
    }
    if let kinesis_in::StartAt::AtSequence(_) = args.start {
        if args.shards.len() != 1 {
            return Err(usage(
                "--start at-sequence:N needs exactly one --shard (sequence numbers are per shard)",
            ));
        }
    }
    args.lake.check(&args.to, args.no_gzip)?;
    if args.max_attempts == 0 {
        return Err(usage("--max-attempts must be at least 1"));
    }
    check_mqtt_args(args)?;
    if args.from == args.to && args.from != Location::Std {
        return Err(usage("--from and --to are the same location"));
    }
    if args.out.output.is_some() && args.to != Location::Std {
        return Err(usage(
            "-o/--output names the file for --to - (stdout): give one or the other",
        ));
    }
    for (flag, span) in [
        ("--buffer-interval", args.buffer_interval),
        ("--linger", args.linger),
        ("--connect-timeout", args.connect_timeout),
        ("--request-timeout", args.request_timeout),
        ("--lateness", args.lateness),
        ("--idle-timeout", args.idle_timeout),
    ] {
        check_span(flag, span)?;
    }
    Ok(())
}

/// MQTT flags only where an mqtt:// location is, and fields named correctly.
fn check_mqtt_args(args: &ShipArgs) -> anyhow::Result<()> {
    let from = matches!(args.from, Location::Mqtt(_));
    let to = matches!(args.to, Location::Mqtt(_));
    let m = &args.mqtt;
    if let Some(field) = &m.topic_field {
        if !from {
            return Err(usage("--topic-field only applies to --from mqtt://"));
        }
        crate::record::check_field_name("--topic-field", field).map_err(usage)?;
    }
    if !from && !to && (m.client_id.is_some() || m.tls_flags()) {
        return Err(usage(
            "--client-id, --ca-file, --cert-file, --key-file and --alpn apply to mqtt:// and mqtts:// locations",
        ));
    }
    if from && to {
        return Err(usage(
            "MQTT to MQTT is a bridge: configure it in the broker (reefer-ship reads or writes one side)",
        ));
    }
    Ok(())
}

/// The longest duration a flag takes: a year is already far past any buffer
/// or timeout that makes sense, and keeps every clock sum far from overflow.
const MAX_SPAN: Span = Span {
    millis: 366 * 86_400_000,
};

fn check_span(flag: &str, span: Span) -> anyhow::Result<()> {
    if span.millis < 0 || span.millis > MAX_SPAN.millis {
        return Err(usage(format!(
            "{flag} {span}: out of range (0 to {MAX_SPAN})"
        )));
    }
    Ok(())
}

/// Ctrl-C: the first asks for a clean stop, the second ends at once. The
/// handler is registered before this returns, so no early Ctrl-C is lost.
fn watch_interrupts() -> anyhow::Result<Arc<tokio::sync::Notify>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut sigint = signal(SignalKind::interrupt()).context("cannot handle Ctrl-C")?;
    let notify = Arc::new(tokio::sync::Notify::new());
    let n = notify.clone();
    tokio::spawn(async move {
        if sigint.recv().await.is_some() {
            n.notify_one();
            if sigint.recv().await.is_some() {
                std::process::exit(130);
            }
        }
    });
    Ok(notify)
}

async fn run_async(args: ShipArgs) -> anyhow::Result<Exit> {
    let interrupt = watch_interrupts()?;
    let mut acct = Account::new(
        TOOL,
        args.on_bad_input,
        args.dead_letter.as_deref(),
        args.undelivered.as_deref(),
    )
    .map_err(|e| usage(e.to_string()))?;
    let settings = Settings::from_args(&args);
    let aws = if args.from.is_aws() || args.to.is_aws() {
        let opts = args
            .aws
            .options(args.connect_timeout.to_std(), args.request_timeout.to_std());
        Some(Aws::load(&opts).await.map_err(usage)?)
    } else {
        None
    };
    let checkpoint = load_checkpoint(&args)?;
    // The sink first: it checks that its destination exists before anything is read.
    let sink = open_sink(&args, aws.as_ref(), &settings, &mut acct).await?;
    let (tx, rx) = mpsc::channel::<Msg>(CHANNEL);
    let stop = Arc::new(AtomicBool::new(false));
    let (source, acking) = open_source(
        &args,
        aws.as_ref(),
        &settings,
        &checkpoint,
        tx,
        &stop,
        &mut acct,
    )
    .await?;
    let (acking, done) = match acking {
        Some((task, done)) => (Some(task), Some(done)),
        None => (None, None),
    };
    let mut run = Run {
        args: &args,
        acct,
        done,
        sink,
        pending: checkpoint.clone(),
        checkpoint,
        checkpoint_written: Instant::now(),
        started: Instant::now(),
        interrupted: false,
        pace: args.pace.map(|speed| Pacer::new(speed, &settings)),
        merge: open_merge(&args),
    };
    let ended = run.pump(rx, &interrupt).await;
    stop.store(true, Ordering::Relaxed);
    // The channel closed: the source ended, or died (a panic is not the end of input).
    let mut acking = acking;
    let outcome = match (ended, source) {
        (Ok(true), Some(source)) => source.ended().await,
        // The MQTT reader closed its channel: it stopped reading (--until)
        // and now waits to acknowledge, or it ended; a panic is no end of input.
        (Ok(true), None) => match acking.take_if(|t| t.is_finished()) {
            Some(task) => SourceHandle::Task(task).ended().await,
            None => Ok(()),
        },
        (Ok(false), None) => Ok(()),
        (Ok(false), Some(source)) => {
            source.abandon();
            Ok(())
        }
        (Err(e), source) => {
            if let Some(source) = source {
                source.abandon();
            }
            Err(e)
        }
    };
    let exit = run.finish(outcome.err()).await;
    // The MQTT reader sends its last acknowledgements and disconnects.
    if let Some(task) = acking {
        match tokio::time::timeout(Duration::from_secs(5), task).await {
            Err(_) => crate::warn!("{TOOL}: the MQTT reader did not disconnect in time"),
            Ok(Err(e)) if e.is_panic() => {
                let p = e.into_panic();
                return Err(anyhow::anyhow!(
                    "the MQTT reader failed while acknowledging: {}",
                    panic_message(p.as_ref())
                ));
            }
            Ok(_) => {}
        }
    }
    exit
}

/// The event-time merge: Kinesis shards announce their lanes; a lake or S3
/// reader is one lane (it merges its objects itself); stdin passes through.
fn open_merge(args: &ShipArgs) -> merge::Merge {
    let mut m = merge::Merge::new(
        args.lateness.to_std(),
        args.idle_timeout.to_std(),
        TimeAndKey::new(&args.time_field, &args.partition_key, args.times()),
    );
    if matches!(args.from, Location::Lake(_) | Location::S3 { .. }) {
        m.set_default_lane("lake");
    }
    m
}

/// The resolved settings.
impl Settings {
    fn from_args(args: &ShipArgs) -> Settings {
        Settings {
            partition_key: args.partition_key.clone(),
            time_field: args.time_field.clone(),
            times: args.times(),
            buffer_size: args.buffer_size.unwrap_or(match args.lake.format {
                lake::LakeFormat::Jsonl => 5 * batch::MIB,
                lake::LakeFormat::Parquet => 128 * batch::MIB,
            }),
            buffer_interval: args.buffer_interval.to_std(),
            linger: args.linger.to_std(),
            gzip: !args.no_gzip,
            pack: !args.no_pack,
            max_attempts: args.max_attempts,
            lake: args.lake.clone(),
            seed: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
                ^ u64::from(std::process::id()),
        }
    }
}

/// The Kinesis checkpoint, loaded before anything is read.
fn load_checkpoint(args: &ShipArgs) -> anyhow::Result<Option<Checkpoint>> {
    let (Location::Kinesis(stream), Some(path)) = (&args.from, &args.checkpoint) else {
        return Ok(None);
    };
    let cp = Checkpoint::load(path).map_err(usage)?;
    if let Some(cp) = &cp {
        if &cp.stream != stream {
            return Err(usage(format!(
                "checkpoint {} belongs to stream {:?}, not {stream:?}",
                path.display(),
                cp.stream
            )));
        }
    }
    Ok(Some(cp.unwrap_or(Checkpoint {
        stream: stream.clone(),
        ..Default::default()
    })))
}

/// The AWS clients, present whenever a location is on AWS (checked by the caller).
fn need_aws(aws: Option<&Aws>) -> anyhow::Result<&Aws> {
    aws.ok_or_else(|| anyhow::anyhow!("AWS is not configured"))
}

async fn open_sink(
    args: &ShipArgs,
    aws: Option<&Aws>,
    settings: &Settings,
    acct: &mut Account,
) -> anyhow::Result<Sink> {
    Ok(match &args.to {
        Location::Std => Sink::Stdout(stdio::StdoutSink::new(args.out.open()?)),
        Location::Lake(dir) => Sink::Objects(objects::ObjectSink::new(
            objects::Store::Lake(dir.clone()),
            settings,
        )),
        Location::S3 { bucket, prefix } => {
            let store = s3::S3Store::open(need_aws(aws)?, bucket, prefix, settings, acct).await?;
            Sink::Objects(objects::ObjectSink::new(
                objects::Store::S3(store),
                settings,
            ))
        }
        Location::Kinesis(stream) => Sink::Kinesis(
            kinesis_out::KinesisSink::open(need_aws(aws)?, stream, settings, acct).await?,
        ),
        Location::Firehose(stream) => Sink::Firehose(
            firehose::FirehoseSink::open(need_aws(aws)?, stream, settings, acct).await?,
        ),
        Location::Mqtt(broker) => Sink::Mqtt(
            mqtt::MqttSink::open(
                broker,
                &mqtt_connect(args, settings),
                args.request_timeout.to_std(),
            )
            .await?,
        ),
    })
}

/// Starts the source, which sends its records down `tx`: a reader to join
/// when its channel closes, or (MQTT) one that acknowledges what the main
/// loop reports delivered and is joined only after its last report.
async fn open_source(
    args: &ShipArgs,
    aws: Option<&Aws>,
    settings: &Settings,
    checkpoint: &Option<Checkpoint>,
    tx: mpsc::Sender<Msg>,
    stop: &Arc<AtomicBool>,
    acct: &mut Account,
) -> anyhow::Result<(Option<SourceHandle>, Option<Acking>)> {
    let thread_failed = |e: std::io::Error| anyhow::anyhow!("cannot start the reader thread: {e}");
    let range = || objects::Range::new(args.since, args.until, settings);
    let handle = match &args.from {
        Location::Std => SourceHandle::Thread(
            stdio::spawn_stdin(args.input_format, tx, stop.clone()).map_err(thread_failed)?,
        ),
        Location::Lake(dir) => SourceHandle::Thread(lake::check_readable(dir).and_then(|()| {
            lake::spawn_reader(dir.clone(), range(), tx, stop.clone()).map_err(thread_failed)
        })?),
        Location::S3 { bucket, prefix } => {
            let reader = s3::S3Reader::open(need_aws(aws)?, bucket, prefix, range(), acct).await?;
            SourceHandle::Task(tokio::spawn(reader.run(tx)))
        }
        Location::Kinesis(stream) => {
            let options = kinesis_in::ReadOptions {
                shards: args.shards.clone(),
                start: args.start.clone(),
                checkpoint: checkpoint.clone(),
                until: args.until,
                follow: args.follow,
                max_attempts: args.max_attempts,
                seed: settings.seed,
            };
            let reader =
                kinesis_in::KinesisReader::open(need_aws(aws)?, stream, options, acct).await?;
            SourceHandle::Task(tokio::spawn(reader.run(tx)))
        }
        Location::Firehose(_) => {
            return Err(usage("firehose:// is write-only"));
        }
        Location::Mqtt(broker) => {
            let reader =
                mqtt::MqttReader::open(broker, &mqtt_connect(args, settings), args.until).await?;
            let (done, done_rx) = tokio::sync::watch::channel(0);
            return Ok((None, Some((tokio::spawn(reader.run(tx, done_rx)), done))));
        }
    };
    Ok((Some(handle), None))
}

/// The acknowledging reader's task and the channel that tells it how many
/// messages are delivered; it ends once that channel is dropped, after its
/// last acknowledgements.
type Acking = (tokio::task::JoinHandle<()>, tokio::sync::watch::Sender<u64>);

/// What an MQTT connection needs, from the flags.
fn mqtt_connect<'a>(args: &'a ShipArgs, settings: &Settings) -> mqtt::Connect<'a> {
    mqtt::Connect {
        args: &args.mqtt,
        connect_timeout: args.connect_timeout.to_std(),
        max_attempts: settings.max_attempts,
        seed: settings.seed,
    }
}

/// The running source: a reader thread (stdin, the lake) or an async task (S3,
/// Kinesis).
enum SourceHandle {
    Thread(std::thread::JoinHandle<()>),
    Task(tokio::task::JoinHandle<()>),
}

impl SourceHandle {
    /// After its channel closed: `Ok` when the source ended, an error when it
    /// died (a panic in a reader is a fatal error, never the end of input).
    async fn ended(self) -> anyhow::Result<()> {
        let panic = match self {
            // The thread has dropped its sender: it is returning, the join is short.
            SourceHandle::Thread(h) => match tokio::task::spawn_blocking(move || h.join()).await {
                Ok(Ok(())) => None,
                Ok(Err(p)) => Some(p),
                Err(e) => return Err(anyhow::anyhow!("the reader could not be joined: {e}")),
            },
            SourceHandle::Task(h) => match h.await {
                Ok(()) => None,
                Err(e) if e.is_panic() => Some(e.into_panic()),
                Err(e) => return Err(anyhow::anyhow!("the reader was cancelled: {e}")),
            },
        };
        match panic {
            None => Ok(()),
            Some(p) => Err(anyhow::anyhow!(
                "the reader failed: {}",
                panic_message(p.as_ref())
            )),
        }
    }

    /// Stops waiting for it: the task is aborted, the thread (maybe blocked in
    /// a read) sees the stop flag or its closed channel and ends on its own.
    fn abandon(self) {
        if let SourceHandle::Task(h) = self {
            h.abort();
        }
    }
}

/// One run's state between the source and the sink.
struct Run<'a> {
    args: &'a ShipArgs,
    acct: Account,
    /// MQTT: how many messages (in arrival order) are delivered or dead-lettered,
    /// so the reader acknowledges them; dropped when the run ends.
    done: Option<tokio::sync::watch::Sender<u64>>,
    sink: Sink,
    /// The checkpoint as last saved, and as far as what was handed to the sink goes.
    checkpoint: Option<Checkpoint>,
    pending: Option<Checkpoint>,
    checkpoint_written: Instant,
    started: Instant,
    interrupted: bool,
    pace: Option<Pacer>,
    merge: merge::Merge,
}

impl Run<'_> {
    /// Moves records from the source through the merge to the sink until the
    /// source ends (`Ok(true)`, the merge drained), the run stops early
    /// (`Ok(false)`: --max-records, Ctrl-C) or something fails.
    async fn pump(
        &mut self,
        mut rx: mpsc::Receiver<Msg>,
        interrupt: &tokio::sync::Notify,
    ) -> anyhow::Result<bool> {
        let progress = progress_bar(self.args.out.quiet);
        let tick = Duration::from_millis(200);
        let mut next_tick = tokio::time::Instant::now() + tick;
        let ended = loop {
            if self
                .args
                .max_records
                .is_some_and(|max| self.acct.read >= max)
            {
                break false;
            }
            // Only time spent waiting on an empty input makes a lane silent.
            let waiting = rx.is_empty().then(Instant::now);
            let msg = tokio::select! {
                biased;
                _ = interrupt.notified() => { self.interrupted = true; break false; }
                _ = tokio::time::sleep_until(next_tick) => {
                    next_tick = tokio::time::Instant::now() + tick;
                    if let Some(w) = waiting {
                        self.merge.waited(w.elapsed());
                    }
                    if !self.deliver(interrupt).await? {
                        break false;
                    }
                    self.sink.idle(Instant::now(), &mut self.acct).await?;
                    progress.set_message(progress_line(&self.acct));
                    continue;
                }
                msg = rx.recv() => match msg { None => break true, Some(m) => m },
            };
            if let Some(w) = waiting {
                self.merge.waited(w.elapsed());
            }
            if let Err(e) = self.take(msg) {
                // What was read before the failure is still delivered.
                self.merge.drain();
                self.deliver(interrupt).await?;
                return Err(e);
            }
            if !self.deliver(interrupt).await? {
                break false;
            }
            if rx.is_empty() {
                self.idle().await?;
            }
        };
        let ended = ended && {
            self.merge.drain();
            self.deliver(interrupt).await?
        };
        progress.finish_and_clear();
        if self.merge.forced > 0 && !self.args.out.quiet {
            crate::warn!(
                "{TOOL}: {} records left the merge before its watermark (more than {} MiB held): \
                 the output may be out of order there",
                self.merge.forced,
                merge::MAX_HELD_BYTES >> 20
            );
        }
        Ok(ended)
    }

    /// Hands one message to the merge (a bad line is rejected at once).
    fn take(&mut self, msg: Msg) -> anyhow::Result<()> {
        match msg {
            Msg::Item(item) => self.merge.push(item),
            Msg::Bad {
                origin,
                raw,
                why,
                pos,
            } => {
                self.acct.read += 1;
                self.acct.reject(&origin.input, origin.line, &raw, &why)?;
                self.merge.pass(pos.as_ref());
            }
            Msg::ShardDone(shard) => self.merge.lane_done(&shard),
            Msg::LaneOpen(lane) => self.merge.open_lane(&lane),
            Msg::LaneIdle(lane) => self.merge.lane_idle(&lane),
            Msg::Fatal(e) => return Err(e),
        }
        Ok(())
    }

    /// Passes what left the merge to the sink, paced; false when the run
    /// stops (--max-records reached, interrupted while pacing).
    async fn deliver(&mut self, interrupt: &tokio::sync::Notify) -> anyhow::Result<bool> {
        while let Some(out) = self.merge.next() {
            let item = match out {
                merge::Out::Item(item) => item,
                merge::Out::Advance(pos) => {
                    self.advance(Some(pos));
                    continue;
                }
                merge::Out::ShardDone(shard) => {
                    if let Some(cp) = &mut self.pending {
                        cp.shard_done(&shard);
                    }
                    continue;
                }
            };
            if self
                .args
                .max_records
                .is_some_and(|max| self.acct.read >= max)
            {
                return Ok(false);
            }
            if let Some(wait) = self.pace.as_mut().and_then(|p| p.wait(&item.line)) {
                tokio::select! {
                    _ = interrupt.notified() => {
                        // Not handed to the sink: not read, not checkpointed.
                        self.interrupted = true;
                        return Ok(false);
                    }
                    _ = tokio::time::sleep(wait) => {}
                }
            }
            self.acct.read += 1;
            self.sink.push(item, &mut self.acct).await?;
        }
        Ok(self.args.max_records.is_none_or(|max| self.acct.read < max))
    }

    fn advance(&mut self, pos: Option<Pos>) {
        if let (Some(cp), Some(pos)) = (&mut self.pending, pos) {
            cp.advance(&pos);
        }
    }

    /// Nothing more waiting: let the sink send what lingered, and save the
    /// checkpoint (at most once a second) once everything before it is delivered.
    async fn idle(&mut self) -> anyhow::Result<()> {
        self.sink.idle(Instant::now(), &mut self.acct).await?;
        self.report_done()?;
        if self.sink.is_empty()
            && self.pending != self.checkpoint
            && self.checkpoint_written.elapsed() >= Duration::from_secs(1)
        {
            if let (Some(path), Some(cp)) = (&self.args.checkpoint, &self.pending) {
                cp.save(path)
                    .with_context(|| format!("cannot write checkpoint {}", path.display()))?;
                self.checkpoint = self.pending.clone();
                self.checkpoint_written = Instant::now();
            }
        }
        Ok(())
    }

    /// Everything handed to the sink is delivered (or dead-lettered, the
    /// dead letters flushed): tell the acknowledging reader.
    fn report_done(&mut self) -> anyhow::Result<()> {
        let Some(done) = &self.done else {
            return Ok(());
        };
        if self.sink.is_empty() && *done.borrow() != self.acct.read {
            self.acct.flush()?;
            done.send_replace(self.acct.read);
        }
        Ok(())
    }

    /// Delivers what is buffered (even after an interrupt or a source
    /// failure), saves the checkpoint, reports, and decides the exit status.
    async fn finish(mut self, mut fatal: Option<anyhow::Error>) -> anyhow::Result<Exit> {
        let is_bad_input_stop = fatal
            .as_ref()
            .is_some_and(|e| crate::app::exit_of(e) == Some(Exit::Partial));
        if fatal.is_none() || is_bad_input_stop || !sink_failed(fatal.as_ref()) {
            if let Err(e) = self.sink.flush(&mut self.acct).await {
                fatal.get_or_insert(e);
            }
        }
        if let Err(e) = self.report_done() {
            fatal.get_or_insert(e);
        }
        if fatal.is_some() {
            self.sink.abandon(
                &mut self.acct,
                "the run ended on a fatal error before delivery",
            );
        }
        // After a fatal error the checkpoint stays where delivery was last complete:
        // a resumed run may repeat a little, but never skips what was not delivered.
        if self.sink.is_empty() && fatal.is_none() {
            if let (Some(path), Some(cp)) = (&self.args.checkpoint, &self.pending) {
                if Some(cp) != self.checkpoint.as_ref() || !path.exists() {
                    cp.save(path)
                        .with_context(|| format!("cannot write checkpoint {}", path.display()))?;
                }
            }
        }
        // A file that cannot be written (a full disk) is fatal, said after the summary.
        if let Err(e) = self.acct.flush() {
            fatal.get_or_insert(e.into());
        }
        let broken_pipe = fatal.as_ref().is_some_and(crate::app::is_broken_pipe);
        let (mut summary, more) = self.acct.summary();
        summary.output_closed = broken_pipe;
        if !self.args.out.quiet && !broken_pipe {
            crate::warn!("{}", summary.line(TOOL));
            for line in more {
                crate::warn!("{TOOL}: {line}");
            }
        }
        if let Some(path) = &self.args.out.stats_json {
            let a = &self.acct;
            let extra = serde_json::json!({
                "destination": crate::redact::text(&self.args.to.to_string()),
                "undelivered": a.undelivered,
                "retried": a.retried,
                "objects": a.objects,
                "fatal": fatal.as_ref().map(|e| crate::redact::text(&e.to_string())),
            });
            summary.write_json(path, TOOL, self.started, extra)?;
        }
        if let Some(e) = fatal {
            return Err(self.how_far(e));
        }
        if self.interrupted {
            return Ok(Exit::Interrupted);
        }
        Ok(Exit::from_rejected(
            self.acct.rejected() + self.acct.undelivered,
        ))
    }

    /// A fatal error, saying how far the run got.
    fn how_far(&self, e: anyhow::Error) -> anyhow::Error {
        if crate::app::exit_of(&e).is_some() || crate::app::is_broken_pipe(&e) {
            return e;
        }
        e.context(self.acct.how_far())
    }
}

fn progress_bar(quiet: bool) -> ProgressBar {
    if !std::io::stderr().is_terminal() || quiet {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr_with_hz(4));
    if let Ok(style) = ProgressStyle::with_template("{spinner} {elapsed} {msg}") {
        pb.set_style(style);
    }
    pb
}

/// A sink error marks itself so that the final flush is not retried against a dead endpoint.
#[derive(Debug)]
pub struct SinkFailed(pub String);

impl std::fmt::Display for SinkFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SinkFailed {}

fn sink_failed(e: Option<&anyhow::Error>) -> bool {
    e.is_some_and(|e| e.downcast_ref::<SinkFailed>().is_some() || crate::app::is_broken_pipe(e))
}

/// What a panic carried, for the message that reports it.
fn panic_message(p: &(dyn std::any::Any + Send)) -> &str {
    p.downcast_ref::<&str>()
        .copied()
        .or_else(|| p.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a panic")
}

fn progress_line(acct: &Account) -> String {
    format!(
        "read {}  shipped {}  retried {}  rejected {}  undelivered {}  requests {}",
        acct.read,
        acct.shipped,
        acct.retried,
        acct.rejected(),
        acct.undelivered,
        acct.total_requests()
    )
}

/// Spaces records by their event time, scaled by a speed-up factor.
struct Pacer {
    speed: f64,
    time: EventTime,
    origin: Option<(DateTime<Utc>, Instant)>,
}

impl Pacer {
    fn new(speed: f64, s: &Settings) -> Self {
        Pacer {
            speed,
            time: EventTime::new(&s.time_field, s.times.clone()),
            origin: None,
        }
    }

    /// How long to wait before this record (None: now).
    fn wait(&mut self, line: &str) -> Option<Duration> {
        let t = self.time.of(line).ok()?;
        let now = Instant::now();
        let (t0, w0) = *self.origin.get_or_insert((t, now));
        // An offset past what the clock can hold is as good as never: no wait is added.
        let due = w0.checked_add(pace_offset(t0, t, self.speed))?;
        due.checked_duration_since(now).filter(|d| !d.is_zero())
    }
}

/// Wall-clock offset of event time `t` from the first record's `t0` at `speed`;
/// records earlier than `t0` are due at once.
pub fn pace_offset(t0: DateTime<Utc>, t: DateTime<Utc>, speed: f64) -> Duration {
    let ms = (t - t0).num_milliseconds();
    if ms <= 0 {
        return Duration::ZERO;
    }
    Duration::try_from_secs_f64(ms as f64 / 1000.0 / speed).unwrap_or(Duration::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::parse_time;

    #[test]
    fn a_record_without_its_event_time_hints_at_the_toolkit_s_other_time_fields() {
        let mut t = EventTime::new("measurement_time", TimeParser::default());
        let row = r#"{"window_start":"2026-11-27T00:00:00Z","window_end":"2026-11-27T00:01:00Z","container_id":"C1","count":6}"#;
        let why = t.of(row).unwrap_err();
        assert!(
            why.ends_with("(a reefer-window row? --time-field window_start)"),
            "{why}"
        );
        let event = r#"{"container_id":"C1","detected_at":"2026-11-27T00:00:00Z","status":"open"}"#;
        assert!(t
            .of(event)
            .unwrap_err()
            .contains("--time-field detected_at"));
        let bare = t.of(r#"{"container_id":"C1"}"#).unwrap_err();
        assert_eq!(
            bare,
            r#"no event time: field "measurement_time" is missing or null"#
        );
        let mut rows = EventTime::new("window_start", TimeParser::default());
        assert!(rows.of(row).is_ok());
    }

    #[test]
    fn sizes_and_paces_parse() {
        assert_eq!(parse_size("5MiB").unwrap(), 5 * 1024 * 1024);
        assert_eq!(parse_size("512KiB").unwrap(), 512 * 1024);
        assert_eq!(parse_size("1000").unwrap(), 1000);
        assert!(parse_size("5 parsecs").is_err());
        assert_eq!(parse_pace("realtime").unwrap(), 1.0);
        assert_eq!(parse_pace("60x").unwrap(), 60.0);
        assert!(parse_pace("0x").is_err());
        assert!(parse_pace("fast").is_err());
    }

    #[test]
    fn a_reader_thread_that_panics_is_an_error_not_the_end_of_input() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let died = SourceHandle::Thread(std::thread::spawn(|| panic!("parsed once already")));
        let err = rt.block_on(died.ended()).unwrap_err().to_string();
        assert!(err.contains("parsed once already"), "{err}");
        let ended = SourceHandle::Thread(std::thread::spawn(|| ()));
        assert!(rt.block_on(ended.ended()).is_ok());
    }

    #[test]
    fn a_reader_task_that_panics_is_an_error_not_the_end_of_input() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let err = rt
            .block_on(async {
                SourceHandle::Task(tokio::spawn(async { panic!("boom") }))
                    .ended()
                    .await
            })
            .unwrap_err()
            .to_string();
        assert!(err.contains("boom"), "{err}");
    }

    #[test]
    fn durations_past_a_year_are_usage_errors() {
        assert!(check_span("--linger", Span::from_secs(1)).is_ok());
        let err = check_span("--buffer-interval", Span::from_millis(i64::MAX)).unwrap_err();
        assert_eq!(crate::app::exit_of(&err), Some(Exit::Usage));
        assert_eq!(
            pace_offset(
                parse_time("1970-01-01T00:00:00Z").unwrap(),
                parse_time("9999-01-01T00:00:00Z").unwrap(),
                1e-300
            ),
            Duration::MAX
        );
    }

    #[test]
    fn pace_scales_event_time() {
        let t0 = parse_time("2026-11-27T03:00:00Z").unwrap();
        let t1 = parse_time("2026-11-27T03:01:00Z").unwrap();
        assert_eq!(pace_offset(t0, t1, 60.0), Duration::from_secs(1));
        assert_eq!(pace_offset(t0, t1, 1.0), Duration::from_secs(60));
        assert_eq!(pace_offset(t1, t0, 1.0), Duration::ZERO);
    }
}
