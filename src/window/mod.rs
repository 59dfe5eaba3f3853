//! reefer-window: event-time tumbling and hopping windows over a stream of
//! readings, with Flink's semantics (contract §4), streaming and in bounded memory.
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
use crate::cli::{InputArgs, OutputArgs, StateArgs};
use crate::codec::ordered::{parse_in_order, Next};
use crate::codec::{Format, FormatChoice, Input, Output, Rejects, Source};
use crate::summary::Summary;
use crate::time::{format_millis, Span};
use agg::{Agg, AggPlan, RowWriter, Values, DEFAULT_BOOLS, DEFAULT_NUMBERS};
use anyhow::Context;
use assign::Assigner;
use clap::{Parser, ValueEnum};
use parse::{Batch, Needs};
use serde_json::{Map, Value};
use state::{Bucket, Windows};
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::sync::Arc;
use std::time::Duration;

const TOOL: &str = "reefer-window";

const EXAMPLES: &str = "\
Examples:
  reefer-sim --seed 1 --duration 2h | reefer-window          (1-minute windows per container)
  reefer-window --size 5m --slide 1m --lateness 30s fleet.jsonl      (hopping, 30 s disorder)
  reefer-window --size 1h --by product_id --agg min,max,mean,stddev fleet.jsonl
  reefer-window --fields supply_air_temperature --agg mean,last --late late.jsonl fleet.jsonl
  reefer-sim --realtime --speed 60 | reefer-window --size 1m      (each minute as it ends)
  tail -f readings.jsonl | reefer-window --processing-time --size 10s
  reefer-window --size 1m --lateness 10s --print-sql flink > job.sql
  reefer-window --state window.state /data/latest.jsonl       (cron: one run per new file)
  reefer-window --completions bash > /etc/bash_completion.d/reefer-window

Output: one JSON line per window and key, as soon as the watermark (highest event time
seen minus --lateness) reaches window_end: window_start, window_end, the keys, product_id
(of the first reading), count, then <field>_<agg> for numeric fields and <field>_true
(count of true) for booleans. Null values are left out of a field's aggregates; a field
no reading of the window had is null (fan_2_true null: unknown, not never true).

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
    /// supply_air_temperature, kilowatts, oxygen_level, carbon_dioxide_level, fan_1,
    /// fan_2, fan_3, door_open, defrost: what reefer-detect's detectors read on rows).
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

    /// Round means, sums and standard deviations to N decimals (0-17; min, max,
    /// first and last are input values, written as read); `--precision full`
    /// writes them unrounded.
    #[arg(long, default_value = "6", value_name = "N", value_parser = parse_precision)]
    pub precision: Precision,

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

    #[command(flatten)]
    pub flink: sql::FlinkOptions,

    #[command(flatten)]
    pub state: StateArgs,

    /// With --state: this is the stream's last run: emit every window still
    /// open (as a run without --state does at the end of its input).
    #[arg(long = "final", requires = "state")]
    pub final_: bool,

    #[command(flatten)]
    pub out: OutputArgs,
}

/// Decimals of the computed aggregates (`--precision`); None: unrounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Precision(pub Option<u32>);

fn parse_precision(s: &str) -> Result<Precision, String> {
    if s.eq_ignore_ascii_case("full") {
        return Ok(Precision(None));
    }
    match s.parse::<u32>() {
        Ok(n) if n <= agg::MAX_PRECISION => Ok(Precision(Some(n))),
        _ => Err(format!(
            "expected a number of decimals from 0 to {} or `full`",
            agg::MAX_PRECISION
        )),
    }
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
    let named = args.fields.iter().map(|f| ("--fields", f.trim()));
    let named = named
        .chain(keys.iter().map(|k| ("--by", k.as_str())))
        .chain(product.iter().map(|p| ("--carry", p.as_str())))
        .chain(time_field.iter().map(|t| ("--time-field", t.as_str())));
    for (flag, name) in named {
        crate::record::check_field_name(flag, name).map_err(usage)?;
    }
    let plan = AggPlan::new(&fields, &args.agg).with_precision(args.precision.0);
    let needs = Needs::new(
        time_field,
        keys.clone(),
        product.clone(),
        plan.numbers.clone(),
        plan.bools.clone(),
        args.input.time_parser(),
        assigner,
    )
    .map_err(usage)?;
    Ok(Config {
        assigner,
        lateness: args.lateness.millis,
        keys,
        product,
        plan,
        needs: Arc::new(needs),
        processing_time: args.processing_time,
        threads: args.out.threads().clamp(1, 64),
    })
}

/// Runs reefer-window with parsed arguments.
pub fn run(args: WindowArgs) -> anyhow::Result<Exit> {
    let started = std::time::Instant::now();
    if let Some(shell) = args.out.completions {
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
        let text = sql::flink_job(&job, &args.flink).map_err(|e| usage(e.to_string()))?;
        out.write_all(text.as_bytes())?;
        out.flush()?;
        return Ok(Exit::Ok);
    }
    if args.state.state.is_some() && cfg.processing_time {
        return Err(usage(
            "--state keeps event-time windows between runs; processing-time windows end with their run",
        ));
    }
    args.input.open()?;
    let state = args
        .state
        .lock(TOOL, state::STATE_VERSION, settings(&args, &cfg))?;
    let rejects = args.input.rejects(TOOL)?;
    let late_file = match &args.late {
        Some(p) => Some(BufWriter::new(File::create(p).map_err(|e| {
            usage(format!("cannot create late-record file {p}: {e}"))
        })?)),
        None => None,
    };
    let out = args.out.open()?;
    crate::app::catch_interrupt();
    let mut windows = Windows::new(cfg.assigner, cfg.lateness, cfg.plan.clone());
    if let Some(saved) = state.as_ref().map(|s| s.load()).transpose()?.flatten() {
        windows.restore(saved);
    }
    let mut driver = Driver {
        windows,
        sink: Sink {
            out,
            written: 0,
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
        records: 0,
        absent: vec![0; cfg.needs.numbers.len() + cfg.needs.bools.len()],
        cfg,
    };
    let paths: Vec<String> = if args.input.files.is_empty() {
        vec!["-".into()]
    } else {
        args.input.files.clone()
    };
    let mut exit = Exit::Ok;
    // A run without --state ends the stream: every window still open is
    // emitted. With --state they wait for the next run, unless --final.
    let flush_open = state.is_none() || args.final_;
    let closed = crate::app::output_closed((|| {
        for path in &paths {
            if driver.input(path, args.input.input_format)? == Flow::Interrupted {
                exit = Exit::Interrupted;
                break;
            }
        }
        driver.finish(flush_open)
    })())?;
    if closed {
        driver.close_files()?;
    }
    if let Some(state) = state.as_ref().filter(|_| !closed) {
        state.save(&driver.windows.save())?;
    }
    let late = driver.late.count;
    let absent = driver.absent_fields();
    if !absent.is_empty() && !args.out.quiet && !closed {
        let list: Vec<String> = absent
            .iter()
            .map(|(f, n)| format!("{f} in {n} of {}", driver.records))
            .collect();
        crate::warn!(
            "{TOOL}: note: fields without a value (absent or null) in some records: {}; \
             aggregates count only the records that had one",
            list.join(", ")
        );
    }
    let rejected = driver.rejects.count();
    let summary = Summary {
        read: driver.records + rejected,
        written: driver.sink.written,
        rejected,
        rejected_kept_in: driver.rejects.kept_in().map(str::to_string),
        late,
        late_detail: driver.late.first.as_ref().map(|(input, line)| {
            let kept = match &driver.late.path {
                Some(p) => format!("kept in {p}"),
                None => "--late FILE keeps them".to_string(),
            };
            format!(
                "their windows were already emitted; first at {input}:{line}, --lateness {}; {kept}",
                Span::from_millis(driver.cfg.lateness)
            )
        }),
        output_closed: closed,
        ..Summary::new("row")
    };
    if summary.has_losses() && !args.out.quiet && !closed {
        crate::warn!("{}", summary.line(TOOL));
    }
    if let Some(path) = &args.out.stats_json {
        let extra = serde_json::json!({
            "without_value": absent.iter().cloned().collect::<serde_json::Map<_, _>>(),
            "open_windows_kept": if state.is_some() && !args.final_ { driver.windows.open_count() } else { 0 },
        });
        summary.write_json(path, TOOL, started, extra)?;
    }
    if closed {
        return Ok(Exit::Ok);
    }
    Ok(exit.max(Exit::from_rejected(rejected + late)))
}

/// Closed windows to stdout.
/// The settings a `--state` file is only valid with: windows, keys and aggregates.
fn settings(args: &WindowArgs, cfg: &Config) -> String {
    let aggs: Vec<String> = args
        .agg
        .iter()
        .map(|a| format!("{a:?}").to_lowercase())
        .collect();
    format!(
        "--size {} --slide {} --offset {} --lateness {} --by {} --carry {} --time-field {} --agg {} --fields {}",
        Span::from_millis(cfg.assigner.size),
        Span::from_millis(args.slide.map_or(cfg.assigner.size, |s| s.millis)),
        Span::from_millis(args.offset.millis),
        Span::from_millis(cfg.lateness),
        cfg.keys.join(","),
        cfg.product.as_deref().unwrap_or(""),
        cfg.needs.time_field.as_deref().unwrap_or(""),
        aggs.join(","),
        cfg.plan.numbers.iter().chain(&cfg.plan.bools).cloned().collect::<Vec<_>>().join(","),
    )
}

struct Sink {
    out: Output,
    /// Rows written.
    written: u64,
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
            self.written += 1;
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

impl Late {
    /// Counts a late record and keeps its raw line (a CSV row as JSON).
    fn keep(
        &mut self,
        name: &str,
        line: u64,
        raw: &[u8],
        as_json: Option<&Map<String, Value>>,
    ) -> anyhow::Result<()> {
        self.count += 1;
        if self.first.is_none() {
            self.first = Some((name.to_string(), line));
        }
        if let Some(f) = &mut self.file {
            match as_json {
                Some(map) => {
                    serde_json::to_writer(&mut *f, map)?;
                    f.write_all(b"\n")
                }
                None if raw.ends_with(b"\n") => f.write_all(raw),
                None => f.write_all(raw).and_then(|()| f.write_all(b"\n")),
            }
            .context("writing late records")?;
        }
        Ok(())
    }
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

struct Driver {
    cfg: Config,
    windows: Windows,
    sink: Sink,
    rejects: Rejects,
    late: Late,
    clock: Option<WallClock>,
    /// Records windowed so far (for the message when input fails midway).
    records: u64,
    /// Per aggregated field (numbers, then booleans): records that had no
    /// value for it (absent or null), so a field that disappears is reported.
    absent: Vec<u64>,
}

impl Driver {
    /// The aggregated fields some records had no value for, with their counts.
    fn absent_fields(&self) -> Vec<(String, serde_json::Value)> {
        let needs = &self.cfg.needs;
        needs
            .numbers
            .iter()
            .chain(&needs.bools)
            .zip(&self.absent)
            .filter(|(_, &n)| n > 0)
            .map(|(f, &n)| (f.clone(), serde_json::Value::from(n)))
            .collect()
    }

    /// Reads one input to its end: JSON Lines on the parser pool, CSV here.
    fn input(&mut self, path: &str, choice: FormatChoice) -> anyhow::Result<Flow> {
        // Missing files were a usage error before anything was read
        // (InputArgs::open); failing now is an I/O failure (a directory).
        let source = Source::open(path, choice).with_context(|| {
            format!(
                "stopped at the start of {path} ({} records windowed)",
                self.records
            )
        })?;
        match source.format() {
            Format::Jsonl => self.jsonl_input(source),
            Format::Csv => self.csv_input(source),
        }
    }

    /// JSON Lines: chunks parsed on the pool, taken back in input order.
    fn jsonl_input(&mut self, source: Source) -> anyhow::Result<Flow> {
        let name = source.name().to_string();
        let needs = Arc::clone(&self.cfg.needs);
        let mut chunks =
            parse_in_order(source, self.cfg.threads, move |chunk, batch: &mut Batch| {
                batch.parse(chunk, &needs)
            })
            .context("starting the reader and parser threads")?;
        let mut lines = 0u64;
        loop {
            let job = match chunks.next(self.idle_wait()) {
                Ok(Next::Job(job)) => job,
                Ok(Next::End) => return Ok(Flow::Done),
                Ok(Next::Idle) => {
                    if interrupted() {
                        return Ok(Flow::Interrupted);
                    }
                    self.tick().context("writing windows")?;
                    continue;
                }
                Err(e) => {
                    return Err(anyhow::Error::new(e).context(format!(
                        "stopped after line {lines} of {name} ({} records windowed)",
                        self.records
                    )))
                }
            };
            self.batch(&job.out, job.chunk.bytes(), &name, None)?;
            lines = job.chunk.first_line + job.chunk.lines - 1;
            if job.chunk.idle {
                self.sink.flush().context("writing windows")?;
            }
            chunks.recycle(job);
            if interrupted() {
                return Ok(Flow::Interrupted);
            }
        }
    }

    /// CSV through the shared record reader, on this thread, one row at a time.
    fn csv_input(&mut self, source: Source) -> anyhow::Result<Flow> {
        let name = source.name().to_string();
        let mut input = Input::from_source(source);
        let needs = Arc::clone(&self.cfg.needs);
        let mut batch = Batch::default();
        let mut raw = Vec::new();
        let mut lines = 0u64;
        loop {
            let next = input.next_rec().with_context(|| {
                format!(
                    "stopped after line {lines} of {name} ({} records windowed)",
                    self.records
                )
            })?;
            raw.clear();
            let map = match next {
                None => break,
                Some(Ok(rec)) => {
                    raw.extend_from_slice(rec.raw);
                    lines = rec.line;
                    let line = rec.line;
                    let map = rec.into_map().map_err(|e| anyhow::anyhow!(e))?;
                    batch.parse_map(&needs, line, &map);
                    Some(map)
                }
                Some(Err(bad)) => {
                    raw.extend_from_slice(bad.raw);
                    lines = bad.line;
                    batch.push_error(&needs, bad.line, bad.why);
                    None
                }
            };
            let len = raw.len() as u32;
            batch.recs.iter_mut().for_each(|p| p.raw = (0, len));
            self.batch(&batch, &raw, &name, map.as_ref())?;
            if input.would_block() {
                self.sink.flush().context("writing windows")?;
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

    /// Windows the records of one parsed chunk, in order; `bytes` holds
    /// their raw lines.
    fn batch(
        &mut self,
        batch: &Batch,
        bytes: &[u8],
        name: &str,
        as_json: Option<&Map<String, Value>>,
    ) -> anyhow::Result<()> {
        let nn = self.cfg.needs.numbers.len();
        let nb = self.cfg.needs.bools.len();
        let now = self.clock.as_mut().map(WallClock::now);
        for (i, p) in batch.recs.iter().enumerate() {
            let raw = &bytes[p.raw.0 as usize..p.raw.1 as usize];
            if let Some(e) = &p.error {
                self.rejects.reject(name, p.line, raw, e)?;
                continue;
            }
            self.records += 1;
            let values = Values {
                numbers: &batch.numbers[i * nn..(i + 1) * nn],
                bools: &batch.bools[i * nb..(i + 1) * nb],
                product: batch.product(p),
            };
            for (j, v) in values.numbers.iter().enumerate() {
                self.absent[j] += u64::from(v.is_nan());
            }
            for (j, &b) in values.bools.iter().enumerate() {
                self.absent[nn + j] += u64::from(b == 0);
            }
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
                self.late.keep(name, p.line, raw, as_json)?;
            }
        }
        Ok(())
    }

    /// End of input: every open window, in time order.
    fn finish(&mut self, flush_open: bool) -> anyhow::Result<()> {
        let sink = &mut self.sink;
        if flush_open {
            self.windows
                .finish(&mut |s, e, b| sink.emit(s, e, b))
                .context("writing windows")?;
        }
        sink.out.flush().context("writing windows")?;
        self.close_files()
    }

    /// Flushes the late-record and dead-letter files (also when stdout closed early).
    fn close_files(&mut self) -> anyhow::Result<()> {
        if let Some(f) = &mut self.late.file {
            f.flush().context("writing late records")?;
        }
        self.rejects.flush()?;
        Ok(())
    }
}
