//! reefer-window: event-time tumbling and hopping windows over a stream of
//! readings, with Flink's semantics (SPEC §4), streaming and in bounded memory.
//!
//! The data path: a reader thread cuts the input into chunks of whole lines,
//! a pool of parser threads extracts the few fields a window needs
//! ([`parse`]), and this thread takes the parsed chunks back in input order
//! and feeds them, record by record, to the pure state machine ([`state`]),
//! which emits each window once the watermark passes its end.

pub mod agg;
pub mod assign;
pub mod parse;
pub mod sql;
pub mod state;

use crate::app::{interrupted, usage, Exit};
use crate::cli::InputArgs;
use crate::codec::{FormatChoice, Input, Output, Rejects};
use crate::time::{format_millis, Span};
use agg::{Agg, AggPlan, RowWriter, Values, DEFAULT_BOOLS, DEFAULT_NUMBERS};
use anyhow::Context;
use assign::Assigner;
use clap::{Parser, ValueEnum};
use clap_complete::Shell;
use parse::{parse_into, Batch, Needs};
use serde_json::{Map, Value};
use state::{Bucket, Windows};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufRead, BufWriter, Read, Write};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const TOOL: &str = "reefer-window";

/// Bytes of input per parse job.
const CHUNK: usize = 1 << 20;

const EXAMPLES: &str = "\
Examples:
  reefer-sim --seed 1 --duration 2h | reefer-window               (1-minute windows per container)
  reefer-window --size 5m --slide 1m --lateness 30s fleet.jsonl   (hopping, 30 s out of order allowed)
  reefer-window --size 1h --by product_id --agg min,max,mean,stddev fleet.jsonl
  reefer-window --fields supply_air_temperature --agg mean,last --late late.jsonl fleet.jsonl
  reefer-sim --realtime --speed 60 | reefer-window --size 1m      (each minute as it ends)
  tail -f readings.jsonl | reefer-window --processing-time --size 10s
  reefer-window --size 1m --lateness 10s --print-sql flink > job.sql
  reefer-window --completions bash > /etc/bash_completion.d/reefer-window

Output: one JSON line per window and key, as soon as the watermark (highest event time
seen minus --lateness) reaches window_end: window_start, window_end, the keys, product_id
(of the first reading), count, then <field>_<agg> for numeric fields and <field>_true
(count of true) for booleans. Null values are left out of a field's aggregates.

Exit status: 0 all records windowed; 1 some lines rejected or some records late (counted
on stderr, kept with --dead-letter / --late); 2 usage error; 3 I/O error; 130 interrupted.";

/// SQL dialects `--print-sql` can write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SqlDialect {
    /// Apache Flink SQL (Amazon Managed Service for Apache Flink).
    Flink,
}

/// Aggregate readings into event-time windows, one JSON line per window and key.
///
/// Windows are half-open [window_start, window_end), aligned to the Unix epoch plus
/// --offset: tumbling by default, hopping with --slide. The watermark is the highest
/// event time seen minus --lateness; each window is emitted exactly once, as soon as
/// the watermark reaches its end, and end of input flushes the rest in time order.
/// A record whose window was already emitted is late: counted, reported, kept with
/// --late, and the exit status is 1. Memory holds only open windows.
#[derive(Debug, Clone, Parser)]
#[command(name = "reefer-window", version, after_help = EXAMPLES)]
pub struct WindowArgs {
    #[command(flatten)]
    pub input: InputArgs,

    /// Window length.
    #[arg(long, default_value = "1m", value_name = "DURATION")]
    pub size: Span,

    /// Hopping windows: a new window every DURATION (at most --size).
    #[arg(long, value_name = "DURATION")]
    pub slide: Option<Span>,

    /// Shift the window grid from the epoch by DURATION (e.g. 15s).
    #[arg(long, default_value = "0s", value_name = "DURATION")]
    pub offset: Span,

    /// Allowed out-of-orderness: the watermark trails the highest event time by this much.
    #[arg(
        long,
        default_value = "0s",
        value_name = "DURATION",
        conflicts_with = "processing_time"
    )]
    pub lateness: Span,

    /// Group by this field (repeatable or comma-separated); default container_id.
    #[arg(long, value_delimiter = ',', value_name = "FIELD")]
    pub by: Vec<String>,

    /// Also aggregate these fields (comma-separated). Booleans of the schema count trues.
    #[arg(long, value_delimiter = ',', value_name = "F,...")]
    pub fields: Vec<String>,

    /// Aggregate only the fields named with --fields, not the defaults (temperature,
    /// kilowatts, oxygen_level, carbon_dioxide_level, fan_1, door_open, defrost).
    #[arg(long)]
    pub no_default_fields: bool,

    /// Aggregates of each numeric field: count, min, max, mean, sum, first, last, stddev.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "min,max,mean",
        value_name = "AGG,..."
    )]
    pub agg: Vec<Agg>,

    /// The event-time field (RFC 3339).
    #[arg(long, default_value = "measurement_time", value_name = "FIELD")]
    pub time_field: String,

    /// Window on the wall clock at arrival instead of event time; windows close on
    /// time even when input is idle.
    #[arg(long)]
    pub processing_time: bool,

    /// Carry this field from the first reading of each window ("" for none).
    #[arg(long, default_value = "product_id", value_name = "FIELD")]
    pub carry: String,

    /// Write late records (raw lines; CSV rows as JSON) to FILE.
    #[arg(long, value_name = "FILE")]
    pub late: Option<String>,

    /// Print the equivalent SQL job for DIALECT and exit.
    #[arg(long, value_enum, value_name = "DIALECT")]
    pub print_sql: Option<SqlDialect>,

    /// Flush after every window, even when stdout is not a terminal.
    #[arg(long)]
    pub line_buffered: bool,

    /// Parser threads (default: one per core).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,

    /// Print shell completions for SHELL and exit.
    #[arg(long, value_enum, value_name = "SHELL")]
    pub completions: Option<Shell>,
}

/// The arguments, resolved.
struct Config {
    assigner: Assigner,
    lateness: i64,
    keys: Vec<String>,
    product: Option<String>,
    plan: AggPlan,
    needs: Arc<Needs>,
    processing_time: bool,
    threads: usize,
}

fn config(args: &WindowArgs) -> anyhow::Result<Config> {
    let size = args.size.millis;
    let assigner = match args.slide {
        Some(slide) => Assigner::hopping(size, slide.millis, args.offset.millis),
        None => Assigner::tumbling(size, args.offset.millis),
    }
    .map_err(usage)?;
    let mut keys: Vec<String> = Vec::new();
    for k in &args.by {
        let k = k.trim();
        if k.is_empty() {
            return Err(usage("--by needs a field name"));
        }
        if !keys.iter().any(|x| x == k) {
            keys.push(k.to_string());
        }
    }
    if keys.is_empty() {
        keys.push("container_id".into());
    }
    let product =
        Some(args.carry.trim().to_string()).filter(|c| !c.is_empty() && !keys.contains(c));
    let mut fields: Vec<String> = Vec::new();
    if !args.no_default_fields {
        fields.extend(DEFAULT_NUMBERS.iter().map(|s| s.to_string()));
        fields.extend(DEFAULT_BOOLS.iter().map(|s| s.to_string()));
    }
    for f in &args.fields {
        let f = f.trim();
        if f.is_empty() {
            return Err(usage("--fields needs field names"));
        }
        fields.push(f.to_string());
    }
    // A field named as a key or as the time is not also aggregated by default.
    let time_field = (!args.processing_time).then(|| args.time_field.clone());
    fields.retain(|f| {
        let other_role =
            keys.contains(f) || Some(f) == time_field.as_ref() || Some(f) == product.as_ref();
        !other_role || args.fields.contains(f)
    });
    if args.agg.is_empty() {
        return Err(usage("--agg needs at least one aggregate"));
    }
    let plan = AggPlan::new(&fields, &args.agg);
    let needs = Needs::new(
        time_field,
        keys.clone(),
        product.clone(),
        plan.numbers.clone(),
        plan.bools.clone(),
        args.input.time_parser(),
        args.input.time_format.is_none(),
    )
    .map_err(usage)?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    Ok(Config {
        assigner,
        lateness: args.lateness.millis,
        keys,
        product,
        plan,
        needs: Arc::new(needs),
        processing_time: args.processing_time,
        threads: args.threads.unwrap_or(cores).clamp(1, 64),
    })
}

/// Runs reefer-window with parsed arguments.
pub fn run(args: WindowArgs) -> anyhow::Result<Exit> {
    if let Some(shell) = args.completions {
        crate::cli::write_completions::<WindowArgs>(shell, &mut io::stdout())?;
        return Ok(Exit::Ok);
    }
    let cfg = config(&args)?;
    if let Some(SqlDialect::Flink) = args.print_sql {
        let job = sql::SqlJob {
            time_field: cfg.needs.time_field.as_deref(),
            keys: &cfg.keys,
            product: cfg.product.as_deref(),
            plan: &cfg.plan,
            assigner: cfg.assigner,
            lateness: cfg.lateness,
        };
        let mut out = io::stdout().lock();
        out.write_all(sql::flink(&job).as_bytes())?;
        out.flush()?;
        return Ok(Exit::Ok);
    }
    args.input.open()?;
    let rejects = args.input.rejects(TOOL)?;
    let late_file = match &args.late {
        Some(p) => Some(BufWriter::new(File::create(p).map_err(|e| {
            usage(format!("cannot create late-record file {p}: {e}"))
        })?)),
        None => None,
    };
    let out = Output::stdout(args.line_buffered);
    crate::app::catch_interrupt();
    let mut driver = Driver {
        windows: Windows::new(cfg.assigner, cfg.lateness, cfg.plan.clone()),
        sink: Sink {
            out,
            rows: RowWriter::new(&cfg.keys, cfg.product.is_some(), &cfg.plan),
            buf: Vec::with_capacity(1024),
            dirty: false,
            flush_each_window: cfg.processing_time,
        },
        rejects,
        late: Late {
            count: 0,
            first: None,
            file: late_file,
            path: args.late.clone(),
        },
        clock: cfg.processing_time.then(WallClock::default),
        cfg,
    };
    let paths: Vec<String> = if args.input.files.is_empty() {
        vec!["-".into()]
    } else {
        args.input.files.clone()
    };
    let mut exit = Exit::Ok;
    for path in &paths {
        if driver.input(path, args.input.input_format)? == Flow::Interrupted {
            exit = Exit::Interrupted;
            break;
        }
    }
    driver.finish()?;
    let late = driver.late.count;
    if late > 0 {
        let (input, line) = driver.late.first.clone().unwrap_or_default();
        let kept = match &driver.late.path {
            Some(p) => format!("written to {p}"),
            None => "use --late FILE to keep them".to_string(),
        };
        crate::warn!(
            "{TOOL}: {late} late record{} (a window of theirs was already emitted; --lateness {}), first at {input}:{line}; {kept}",
            if late == 1 { "" } else { "s" },
            Span::from_millis(driver.cfg.lateness),
        );
    }
    let rejected = driver.rejects.count();
    if rejected > 0 {
        crate::warn!(
            "{TOOL}: {rejected} bad line{} skipped",
            if rejected == 1 { "" } else { "s" }
        );
    }
    Ok(exit.max(Exit::from_rejected(rejected + late)))
}

/// Closed windows to stdout.
struct Sink {
    out: Output,
    rows: RowWriter,
    buf: Vec<u8>,
    /// Rows written since the last flush.
    dirty: bool,
    flush_each_window: bool,
}

impl Sink {
    fn emit(&mut self, start: i64, end: i64, bucket: &Bucket) -> io::Result<()> {
        let (s, e) = (format_millis(start), format_millis(end));
        // A window's rows in one buffer, then one write: large ones bypass the
        // output buffer instead of being copied twice.
        self.buf.clear();
        for (key, acc) in bucket.iter() {
            self.rows.write(&mut self.buf, &s, &e, key, &acc);
            if self.buf.len() >= 1 << 20 {
                self.out.write_all(&self.buf)?;
                self.buf.clear();
            }
        }
        self.out.write_all(&self.buf)?;
        self.out.end_record()?;
        self.dirty = true;
        if self.flush_each_window {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.dirty {
            self.out.flush()?;
            self.dirty = false;
        }
        Ok(())
    }
}

/// Late records: counted, the first remembered, all kept when asked.
struct Late {
    count: u64,
    first: Option<(String, u64)>,
    file: Option<BufWriter<File>>,
    path: Option<String>,
}

/// Processing time: the wall clock, never going backwards.
#[derive(Default)]
struct WallClock {
    last: i64,
}

impl WallClock {
    fn now(&mut self) -> i64 {
        let t = chrono::Utc::now().timestamp_millis();
        self.last = self.last.max(t);
        self.last
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    Done,
    Interrupted,
}

/// A chunk of input on its way to a parser: the first `len` bytes of
/// `batch.data`, in a batch whose vectors are reused from chunk to chunk.
struct Job {
    seq: u64,
    batch: Batch,
    len: usize,
    flush: bool,
}

/// A parsed chunk (or a read error) on its way back, to be put in order.
// Moved once per 1 MiB chunk: boxing the batch would buy nothing.
#[allow(clippy::large_enum_variant)]
enum Parsed {
    Batch { batch: Batch, flush: bool },
    Failed(io::Error),
}

struct Driver {
    cfg: Config,
    windows: Windows,
    sink: Sink,
    rejects: Rejects,
    late: Late,
    clock: Option<WallClock>,
}

impl Driver {
    /// Reads one input to its end.
    fn input(&mut self, path: &str, choice: FormatChoice) -> anyhow::Result<Flow> {
        let name = if path == "-" { "stdin" } else { path };
        let (source, csv): (Box<dyn Read + Send>, bool) = if path == "-" {
            let csv = match choice.for_path(path) {
                Some(f) => f == crate::codec::Format::Csv,
                None => {
                    let stdin = io::stdin();
                    let mut lock = stdin.lock();
                    let buf = lock.fill_buf().context("reading stdin")?;
                    looks_like_csv(buf)
                }
            };
            (Box::new(io::stdin()), csv)
        } else {
            let f = File::open(path).with_context(|| format!("cannot open {path}"))?;
            let mut r = io::BufReader::with_capacity(64 * 1024, f);
            let csv = match choice.for_path(path) {
                Some(f) => f == crate::codec::Format::Csv,
                None => looks_like_csv(r.fill_buf().with_context(|| format!("reading {path}"))?),
            };
            (Box::new(r), csv)
        };
        if csv {
            drop(source);
            self.csv_input(path, name)
        } else {
            self.jsonl_input(source, name)
        }
    }

    /// JSON Lines through the reader thread and the parser pool.
    fn jsonl_input(&mut self, source: Box<dyn Read + Send>, name: &str) -> anyhow::Result<Flow> {
        let threads = self.cfg.threads;
        // Few chunks in flight: memory stays a few MB whatever the input.
        let (job_tx, job_rx) = mpsc::sync_channel::<Job>(threads);
        let (done_tx, done_rx) = mpsc::sync_channel::<(u64, Parsed)>(threads * 2);
        let (recycle_tx, recycle_rx) = mpsc::channel::<Batch>();
        let reader_done = done_tx.clone();
        std::thread::Builder::new()
            .name("reader".into())
            .spawn(move || read_chunks(source, job_tx, reader_done, recycle_rx, 3 * threads + 2))
            .context("starting the reader thread")?;
        let job_rx = Arc::new(Mutex::new(job_rx));
        for i in 0..threads {
            let rx = Arc::clone(&job_rx);
            let tx = done_tx.clone();
            let needs = Arc::clone(&self.cfg.needs);
            std::thread::Builder::new()
                .name(format!("parser-{i}"))
                .spawn(move || parse_jobs(&rx, &tx, &needs))
                .context("starting a parser thread")?;
        }
        drop(done_tx);
        self.merge(done_rx, name, recycle_tx)
    }

    /// Takes parsed chunks back in input order and windows them.
    fn merge(
        &mut self,
        done: Receiver<(u64, Parsed)>,
        name: &str,
        recycle: mpsc::Sender<Batch>,
    ) -> anyhow::Result<Flow> {
        let mut pending: BTreeMap<u64, Parsed> = BTreeMap::new();
        let mut next = 0u64;
        let mut line_base = 0u64;
        loop {
            let wait = self.idle_wait();
            match done.recv_timeout(wait) {
                Ok((seq, p)) => {
                    pending.insert(seq, p);
                }
                Err(RecvTimeoutError::Timeout) => {
                    if interrupted() {
                        return Ok(Flow::Interrupted);
                    }
                    self.tick().context("writing windows")?;
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => break,
            }
            while let Some(p) = pending.remove(&next) {
                next += 1;
                match p {
                    Parsed::Failed(e) => {
                        return Err(anyhow::Error::new(e).context(format!("reading {name}")))
                    }
                    Parsed::Batch { batch, flush } => {
                        self.batch(&batch, name, line_base, None)?;
                        line_base += batch.lines;
                        let _ = recycle.send(batch);
                        if flush {
                            self.sink.flush().context("writing windows")?;
                        }
                    }
                }
            }
            if interrupted() {
                return Ok(Flow::Interrupted);
            }
        }
        Ok(Flow::Done)
    }

    /// How long to wait for input before checking Ctrl-C or, in processing
    /// time, the clock.
    fn idle_wait(&mut self) -> Duration {
        let poll = Duration::from_millis(200);
        match (&mut self.clock, self.windows.next_end()) {
            (Some(clock), Some(end)) => {
                let ms = (end - clock.now()).clamp(0, 200);
                Duration::from_millis(ms as u64)
            }
            _ => poll,
        }
    }

    /// Processing time: close the windows the wall clock has passed.
    fn tick(&mut self) -> io::Result<()> {
        if let Some(clock) = &mut self.clock {
            let now = clock.now();
            let sink = &mut self.sink;
            self.windows
                .advance_to(now, &mut |s, e, b| sink.emit(s, e, b))?;
            sink.flush()?;
        }
        Ok(())
    }

    /// Windows the records of one parsed chunk, in order.
    fn batch(
        &mut self,
        batch: &Batch,
        name: &str,
        line_base: u64,
        as_json: Option<&Map<String, Value>>,
    ) -> anyhow::Result<()> {
        let nn = self.cfg.needs.numbers.len();
        let nb = self.cfg.needs.bools.len();
        let now = self.clock.as_mut().map(WallClock::now);
        for (i, p) in batch.recs.iter().enumerate() {
            let line = line_base + p.line;
            if let Some(e) = &p.error {
                self.rejects.reject(name, line, batch.raw(p), e)?;
                continue;
            }
            let values = Values {
                numbers: &batch.numbers[i * nn..(i + 1) * nn],
                bools: &batch.bools[i * nb..(i + 1) * nb],
                product: batch.product(p),
            };
            let sink = &mut self.sink;
            let late = self
                .windows
                .add(
                    now.unwrap_or(p.time),
                    batch.key(p),
                    &values,
                    &mut |s, e, b| sink.emit(s, e, b),
                )
                .context("writing windows")?;
            if late {
                self.late.count += 1;
                if self.late.first.is_none() {
                    self.late.first = Some((name.to_string(), line));
                }
                if let Some(f) = &mut self.late.file {
                    match as_json {
                        Some(map) => serde_json::to_writer(&mut *f, map)?,
                        None => f.write_all(batch.raw(p)).context("writing late records")?,
                    }
                    f.write_all(b"\n").context("writing late records")?;
                }
            }
        }
        Ok(())
    }

    /// CSV through the shared reader, on this thread, one row at a time.
    fn csv_input(&mut self, path: &str, name: &str) -> anyhow::Result<Flow> {
        let mut input = Input::new(&[path.to_string()], FormatChoice::Csv);
        let needs = Arc::clone(&self.cfg.needs);
        let mut batch = Batch::default();
        loop {
            batch.data.clear();
            batch.recs.clear();
            batch.text.clear();
            batch.numbers.clear();
            batch.bools.clear();
            let map = match input
                .next_rec()
                .with_context(|| format!("reading {name}"))?
            {
                None => break,
                Some(Ok(rec)) => {
                    batch.data.extend_from_slice(rec.raw);
                    let raw = (0, batch.data.len() as u32);
                    let line = rec.line;
                    let map = rec.into_map().map_err(|e| anyhow::anyhow!(e))?;
                    batch.push_map(&needs, line, raw, &map);
                    Some(map)
                }
                Some(Err(bad)) => {
                    batch.data.extend_from_slice(bad.raw);
                    batch.push_error(bad.line, (0, batch.data.len() as u32), bad.why, &needs);
                    None
                }
            };
            self.batch(&batch, name, 0, map.as_ref())?;
            if input.would_block() {
                self.sink.flush().context("writing windows")?;
            }
            if interrupted() {
                return Ok(Flow::Interrupted);
            }
        }
        Ok(Flow::Done)
    }

    /// End of input: every open window, in time order.
    fn finish(&mut self) -> anyhow::Result<()> {
        let sink = &mut self.sink;
        self.windows
            .finish(&mut |s, e, b| sink.emit(s, e, b))
            .context("writing windows")?;
        sink.out.flush().context("writing windows")?;
        if let Some(f) = &mut self.late.file {
            f.flush().context("writing late records")?;
        }
        self.rejects.flush()?;
        Ok(())
    }
}

/// Auto-detection: JSON Lines start with `{`, anything else is CSV.
fn looks_like_csv(buf: &[u8]) -> bool {
    !matches!(
        buf.iter().find(|b| !b.is_ascii_whitespace()),
        Some(b'{') | None
    )
}

/// The reader thread: chunks of whole lines, each flagged for an output
/// flush when the input had nothing more to give at that moment (a live pipe).
fn read_chunks(
    mut source: Box<dyn Read + Send>,
    jobs: SyncSender<Job>,
    done: SyncSender<(u64, Parsed)>,
    recycle: Receiver<Batch>,
    max_batches: usize,
) {
    // A fixed number of batches circulate: when all are in flight (say one
    // parser is descheduled and the others run ahead), the reader waits for
    // one to come back instead of allocating, so memory stays bounded.
    let mut allocated = 0usize;
    let mut fresh = |recycle: &Receiver<Batch>| -> Option<Batch> {
        if let Ok(b) = recycle.try_recv() {
            return Some(b);
        }
        if allocated < max_batches {
            allocated += 1;
            return Some(Batch::with_data(vec![0u8; CHUNK]));
        }
        recycle.recv().ok()
    };
    let mut seq = 0u64;
    let Some(mut batch) = fresh(&recycle) else {
        return;
    };
    let mut filled = 0usize;
    loop {
        if filled == batch.data.len() {
            // Full: send the whole lines, or grow for a very long line.
            match memchr::memrchr(b'\n', &batch.data[..filled]) {
                Some(nl) => {
                    let Some(next) = fresh(&recycle) else {
                        return;
                    };
                    let job = hand_over(&mut batch, next, seq, nl + 1, filled, false);
                    seq += 1;
                    filled -= job.len;
                    if jobs.send(job).is_err() {
                        return;
                    }
                }
                None => {
                    let len = batch.data.len();
                    batch.data.resize(len * 2, 0);
                }
            }
            continue;
        }
        let want = batch.data.len() - filled;
        let n = match source.read(&mut batch.data[filled..]) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                let _ = done.send((seq, Parsed::Failed(e)));
                return;
            }
        };
        if n == 0 {
            if filled > 0 {
                let _ = jobs.send(Job {
                    seq,
                    batch,
                    len: filled,
                    flush: true,
                });
            }
            return;
        }
        filled += n;
        if n < want {
            // The source had no more for now: pass on what is complete.
            if let Some(nl) = memchr::memrchr(b'\n', &batch.data[..filled]) {
                let Some(next) = fresh(&recycle) else {
                    return;
                };
                let job = hand_over(&mut batch, next, seq, nl + 1, filled, true);
                seq += 1;
                filled -= job.len;
                if jobs.send(job).is_err() {
                    return;
                }
            }
        }
    }
}

/// Swaps `next` in for `batch`, carrying the incomplete line after `len`
/// over, and returns the job for the first `len` bytes.
fn hand_over(
    batch: &mut Batch,
    mut next: Batch,
    seq: u64,
    len: usize,
    filled: usize,
    flush: bool,
) -> Job {
    let rest = filled - len;
    if next.data.len() < rest.max(CHUNK) {
        next.data.resize(rest.max(CHUNK), 0);
    }
    next.data[..rest].copy_from_slice(&batch.data[len..filled]);
    Job {
        seq,
        batch: std::mem::replace(batch, next),
        len,
        flush,
    }
}

/// A parser thread: jobs in, parsed batches out, until the reader is done.
fn parse_jobs(jobs: &Mutex<Receiver<Job>>, done: &SyncSender<(u64, Parsed)>, needs: &Needs) {
    loop {
        let job = {
            let Ok(rx) = jobs.lock() else { return };
            match rx.recv() {
                Ok(job) => job,
                Err(_) => return,
            }
        };
        let mut batch = job.batch;
        parse_into(&mut batch, job.len, needs);
        let flush = job.flush;
        if done
            .send((job.seq, Parsed::Batch { batch, flush }))
            .is_err()
        {
            return;
        }
    }
}
