//! reefer-sim: a fleet of reefers as JSON Lines or CSV telemetry, with
//! labelled, physically caused faults. Reproducible from `--seed`.

mod atmosphere;
mod delivery;
mod faults;
pub mod fleet;
mod format;
pub mod model;
mod normal;
mod products;
mod sensors;

pub use delivery::DeliveryMode;
pub use faults::{FaultKind, FaultRates, Injection};
pub use format::push_fixed;
pub use sensors::SensorProfile;

use crate::app::{interrupted, usage, Exit};
use crate::codec::{Format, Output};
use crate::time::{format_time, Span};
use anyhow::Context;
use chrono::{DateTime, Datelike, Timelike, Utc};
use clap::Parser;
use fleet::{Track, ROUTES};
use format::{csv_header, write_row, Piece, Resolution, Row, RowContext, RowHead, ROW_CAPACITY};
use indicatif::{ProgressBar, ProgressStyle};
use model::{
    Clock, Container, ContainerSetup, ProductModel, Scripted, PRODUCT_MODELS, PRODUCT_WEIGHTS,
};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::io::{IsTerminal, Write};
use std::sync::mpsc::{channel, sync_channel, Receiver, SyncSender};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const EXAMPLES: &str = "\
Examples:
  reefer-sim --containers 20 --duration 2h --seed 7 > fleet.jsonl
  reefer-sim --seed 1 --inject 3:power_off@30m+2h --no-faults | reefer-window
  reefer-sim --containers 10000 --duration 1d --seed 1 -o day.jsonl
  reefer-sim --realtime --speed 60 | reefer-window --size 1m     (an hour a minute)
  reefer-sim --format csv --products P02,P04 --duration 1h > bananas.csv
  reefer-sim --delivery realistic --modem-battery 0.3 | reefer-window --lateness 2m
  reefer-sim --sensors basic --containers 1000 --duration 1d --seed 1 | reefer-detect --evaluate
  reefer-sim --completions bash > /etc/bash_completion.d/reefer-sim";

/// Simulate a fleet of refrigerated containers as telemetry on stdout.
///
/// Each container has an ISO 6346 id, a product from the catalog, a voyage
/// between real reefer ports, and a two-node thermal model (air and load) with
/// the controls of a real unit (supply-air modulation for chilled cargo,
/// return-air on/off cycling for frozen), defrost by coil condition and
/// controlled atmosphere. Faults (power_off, compressor_failure, fan_failure,
/// door_open, temperature_sensor, co2_sensor, o2_sensor) are injected at random
/// rates or by script and act on their physical cause; every reading carries
/// the ground truth in `fault` and `maintenance_required`. A power cut is a gap
/// in the data (the modem has no power), unless the unit has a modem battery.
/// Output is sorted by measurement_time unless `--delivery realistic`.
#[derive(Debug, Clone, Parser)]
#[command(name = "reefer-sim", version, after_help = EXAMPLES)]
pub struct SimArgs {
    /// Number of containers in the fleet.
    #[arg(long, default_value_t = 100, value_name = "N")]
    pub containers: usize,

    /// Only carry these products (catalog ids, comma-separated), e.g. `P02,P04`.
    #[arg(long, value_delimiter = ',', value_name = "IDS")]
    pub products: Vec<String>,

    /// Random seed; the same seed and arguments give byte-identical output.
    /// Without it a seed is drawn, and printed on stderr when the run ends.
    #[arg(long)]
    pub seed: Option<u64>,

    /// Event time of the first reading (RFC 3339); default: now, to the second.
    #[arg(long, value_parser = parse_start, value_name = "TIME")]
    pub start: Option<DateTime<Utc>>,

    /// Time between two readings of one container [default: 10s, or 5m with
    /// --sensors basic].
    #[arg(long, value_name = "DURATION")]
    pub interval: Option<Span>,

    /// Sensor profile: `precise` (every field, fine, low-noise instruments) or
    /// `basic` (cheaper instruments, each unit with its own calibration error:
    /// return air biased up to ±0.5 °C with 0.2 °C noise, O2 biased up to ±0.5 %
    /// and CO2 up to ±0.2 % with gas readings to 0.1 %, a kW meter with a gain
    /// error up to ±5 % and 0.1 kW noise; no supply_air_temperature,
    /// ambient_temperature, humidity_level or nitrogen_level; a 5 min interval
    /// unless --interval is given). Boxes, voyages and faults are the same in
    /// both at the same seed and interval, and labelled alike.
    #[arg(long, value_enum, default_value = "precise", value_name = "PROFILE")]
    pub sensors: SensorProfile,

    /// Simulated time to cover (e.g. 2h, 1d); default 1h.
    #[arg(long, value_name = "DURATION", conflicts_with_all = ["count", "forever"])]
    pub duration: Option<Span>,

    /// Stop after this many readings in all.
    #[arg(long, value_name = "N", conflicts_with = "forever")]
    pub count: Option<u64>,

    /// Run until interrupted (useful with --realtime).
    #[arg(long)]
    pub forever: bool,

    /// Pace output to the wall clock: each reading appears when its time comes.
    #[arg(long)]
    pub realtime: bool,

    /// Wall-clock pacing compressed X times (60 = an hour a minute); implies --realtime.
    #[arg(long, value_name = "X")]
    pub speed: Option<f64>,

    /// Random fault rates as KIND=EPISODES_PER_CONTAINER_PER_DAY, comma-separated;
    /// kinds not named keep the default mix.
    #[arg(long, value_parser = FaultRates::parse, value_name = "RATES")]
    pub faults: Option<FaultRates>,

    /// No random faults (scripted --inject faults still apply).
    #[arg(long, conflicts_with = "faults")]
    pub no_faults: bool,

    /// Scripted fault N:KIND@START+DURATION, e.g. `3:power_off@30m+2h` (container #3,
    /// counted from 1, from 30 min after --start, for 2 h). Repeatable.
    #[arg(long, value_name = "SPEC")]
    pub inject: Vec<Injection>,

    /// Leave out the ground-truth fields `fault` and `maintenance_required`.
    #[arg(long)]
    pub no_labels: bool,

    /// Reporting resolution of the air temperatures, °C (units report 0.1 °C).
    #[arg(long, default_value_t = 0.1, value_name = "DEGREES")]
    pub resolution: f64,

    /// How readings arrive: in-order (every reading once, sorted by time) or
    /// realistic (a few late, doubled or lost, as over a real modem link).
    #[arg(long, value_enum, default_value = "in-order", value_name = "HOW")]
    pub delivery: DeliveryMode,

    /// Share of units whose modem keeps reporting on its own battery during a
    /// power cut (0 to 1). The others fall silent: a cut is a gap in the data.
    #[arg(long, default_value_t = 0.0, value_name = "SHARE")]
    pub modem_battery: f64,

    /// Output format; default jsonl, or csv when -o names a .csv file.
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<Format>,

    #[command(flatten)]
    pub out: crate::cli::OutputArgs,
}

fn parse_start(s: &str) -> Result<DateTime<Utc>, String> {
    crate::time::parse_flag_time(s)
}

fn tracks() -> &'static [Track] {
    static TRACKS: OnceLock<Vec<Track>> = OnceLock::new();
    TRACKS.get_or_init(|| ROUTES.iter().map(Track::new).collect())
}

/// Mixes the fleet seed with a container's index into that container's own seed,
/// so that a container's life does not depend on the fleet size or on threads.
fn container_seed(seed: u64, index: usize) -> u64 {
    let mut z = seed ^ (index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The simulation as resolved from the arguments.
struct Plan {
    seed: u64,
    start: DateTime<Utc>,
    interval_ms: i64,
    /// Number of time steps (None: forever).
    steps: Option<u64>,
    /// Readings limit (--count).
    count: Option<u64>,
    pace: Option<f64>,
    format: Format,
    labels: bool,
    resolution: f64,
    delivery: DeliveryMode,
    modem_battery: f64,
    sensors: SensorProfile,
    products: Vec<&'static ProductModel>,
    rates: [f64; 7],
    injections: Vec<Injection>,
    containers: usize,
    threads: usize,
}

fn plan(args: &SimArgs) -> anyhow::Result<Plan> {
    if args.containers == 0 || args.containers > 1_000_000 {
        return Err(usage("--containers must be between 1 and 1000000"));
    }
    let interval_ms = args
        .interval
        .map_or(args.sensors.default_interval_ms(), |i| i.millis);
    if interval_ms <= 0 {
        return Err(usage("--interval must be positive"));
    }
    if !(args.resolution.is_finite() && args.resolution > 0.0 && args.resolution <= 10.0) {
        return Err(usage(
            "--resolution must be a number of °C above 0 and at most 10",
        ));
    }
    if !(0.0..=1.0).contains(&args.modem_battery) {
        return Err(usage("--modem-battery must be a share between 0 and 1"));
    }
    if let Some(speed) = args.speed {
        if !(speed.is_finite() && speed > 0.0) {
            return Err(usage("--speed must be a positive number"));
        }
    }
    let mut products = Vec::new();
    for id in &args.products {
        let id = id.trim();
        match PRODUCT_MODELS
            .iter()
            .find(|p| p.id.eq_ignore_ascii_case(id))
        {
            Some(p) => products.push(p),
            None => {
                return Err(usage(format!(
                    "unknown product {id:?} in --products (catalog: {})",
                    PRODUCT_MODELS.map(|p| p.id).join(", ")
                )))
            }
        }
    }
    for inj in &args.inject {
        if inj.container > args.containers {
            return Err(usage(format!(
                "--inject names container #{} but the fleet has {} (counted from 1)",
                inj.container, args.containers
            )));
        }
    }
    let steps = if args.forever || (args.count.is_some() && args.duration.is_none()) {
        None
    } else {
        let d = args.duration.unwrap_or(Span::from_secs(3600)).millis;
        // An episode that starts after the last reading would silently do nothing.
        if let Some(late) = args.inject.iter().find(|i| i.after.millis >= d) {
            return Err(usage(format!(
                "--inject {}:{}@{} starts after the run ends (--duration {}): nothing would be injected",
                late.container,
                late.kind.name(),
                late.after,
                Span { millis: d }
            )));
        }
        Some(((d + interval_ms - 1) / interval_ms) as u64)
    };
    let format = args.format.unwrap_or_else(|| match &args.out.output {
        Some(p) if p.to_ascii_lowercase().ends_with(".csv") => Format::Csv,
        _ => Format::Jsonl,
    });
    let rates = if args.no_faults {
        FaultRates::none()
    } else {
        args.faults.clone().unwrap_or_else(FaultRates::defaults)
    };
    let seed = args
        .seed
        .unwrap_or_else(|| u64::from(rand::random::<u32>()));
    let start = match args.start {
        Some(t) => t,
        None => {
            let now = Utc::now();
            DateTime::from_timestamp(now.timestamp(), 0).unwrap_or(now)
        }
    };
    let threads = args
        .out
        .threads()
        .clamp(1, 64)
        .min(args.containers.div_ceil(64).max(1));
    Ok(Plan {
        seed,
        start,
        interval_ms,
        steps,
        count: args.count,
        pace: args.speed.or(if args.realtime { Some(1.0) } else { None }),
        format,
        labels: !args.no_labels,
        resolution: args.resolution,
        delivery: args.delivery,
        modem_battery: args.modem_battery,
        sensors: args.sensors,
        products,
        rates: rates.0,
        injections: args.inject.clone(),
        containers: args.containers,
        threads,
    })
}

fn clock_at(start_ms: i64, interval_ms: i64, step: u64) -> (Clock, String) {
    let t_ms = start_ms + step as i64 * interval_ms;
    let t = crate::time::from_millis(t_ms);
    let secs = t.num_seconds_from_midnight() as f64 + t.timestamp_subsec_millis() as f64 / 1000.0;
    let clock = Clock::new(t_ms, t.ordinal0() as f64 + secs / 86_400.0, secs / 3600.0);
    (clock, format_time(t))
}

/// Builds the fleet, its members in parallel on the worker threads (each one
/// has its own seed, so who builds it changes nothing): settling a container's
/// load costs as much as 60 readings, and a large fleet was otherwise built on
/// one core before the simulation could start.
fn build_fleet(plan: &Plan) -> Vec<Container> {
    let start_ms = plan.start.timestamp_millis();
    let (start_clock, _) = clock_at(start_ms, plan.interval_ms, 0);
    let mut fleet_rng = SmallRng::seed_from_u64(plan.seed);
    let serial_base: u32 = fleet_rng.gen_range(0..1_000_000);
    let candidates: Vec<(usize, f64)> = PRODUCT_MODELS
        .iter()
        .enumerate()
        .filter(|(_, p)| plan.products.is_empty() || plan.products.iter().any(|q| q.id == p.id))
        .map(|(i, _)| (i, PRODUCT_WEIGHTS[i]))
        .collect();
    let recipe = FleetRecipe {
        plan,
        start_ms,
        start_clock: &start_clock,
        serial_base,
        total_weight: candidates.iter().map(|c| c.1).sum(),
        candidates: &candidates,
    };
    let recipe = &recipe;
    let per_thread = plan.containers.div_ceil(plan.threads.max(1));
    std::thread::scope(|scope| {
        let parts: Vec<_> = (0..plan.containers)
            .step_by(per_thread)
            .map(|from| {
                let to = (from + per_thread).min(plan.containers);
                scope.spawn(move || (from..to).map(|i| recipe.container(i)).collect::<Vec<_>>())
            })
            .collect();
        let mut fleet = Vec::with_capacity(plan.containers);
        for part in parts {
            match part.join() {
                Ok(containers) => fleet.extend(containers),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        fleet
    })
}

/// What every fleet member is drawn from.
struct FleetRecipe<'a> {
    plan: &'a Plan,
    start_ms: i64,
    start_clock: &'a Clock,
    serial_base: u32,
    /// Products to pick from, as (catalog index, weight).
    candidates: &'a [(usize, f64)],
    total_weight: f64,
}

impl FleetRecipe<'_> {
    /// Fleet member `index` (counted from 0), from its own seed.
    fn container(&self, index: usize) -> Container {
        let plan = self.plan;
        let mut rng = SmallRng::seed_from_u64(container_seed(plan.seed, index));
        let mut pick = rng.gen::<f64>() * self.total_weight;
        let mut product = &PRODUCT_MODELS[self.candidates[0].0];
        for (i, w) in self.candidates {
            if pick < *w {
                product = &PRODUCT_MODELS[*i];
                break;
            }
            pick -= w;
        }
        let routes: Vec<usize> = ROUTES
            .iter()
            .enumerate()
            .filter(|(_, r)| r.products.contains(&product.id))
            .map(|(i, _)| i)
            .collect();
        let track = &tracks()[routes[rng.gen_range(0..routes.len())]];
        let owner = rng.gen_range(0..64);
        let scripted = plan
            .injections
            .iter()
            .filter(|inj| inj.container == index + 1)
            .map(|inj| Scripted {
                kind: inj.kind,
                start_ms: self.start_ms + inj.after.millis,
                end_ms: self.start_ms + inj.after.millis + inj.duration.millis,
            })
            .collect();
        let mut c = Container::new(ContainerSetup {
            id: fleet::container_id(owner, index, self.serial_base),
            product,
            track,
            rng,
            start: self.start_clock,
            interval_s: plan.interval_ms as f64 / 1000.0,
            rates: plan.rates,
            scripted,
            modem_battery_share: plan.modem_battery,
        });
        if plan.sensors == SensorProfile::Basic {
            c.sensors = Some(sensors::BasicSensors::new(container_seed(plan.seed, index)));
        }
        if plan.delivery == DeliveryMode::Realistic {
            c.delivery = Some(delivery::Delivery::new(
                container_seed(plan.seed, index),
                plan.interval_ms,
            ));
        }
        c
    }
}

/// One worker's output for a block of time steps: the bytes, where each step
/// ends, and how many lines each step holds (a silent modem writes none).
/// `bytes` is kept longer than what was written (`used`): rows are written
/// straight into it, with room for the longest row past `used`.
struct Block {
    bytes: Vec<u8>,
    used: usize,
    step_ends: Vec<usize>,
    step_lines: Vec<u64>,
}

impl Block {
    /// Room for one more row at `used`, made (zeroed, once per block's life) when short.
    fn room(&mut self) -> &mut [u8; ROW_CAPACITY] {
        let want = self.used + ROW_CAPACITY;
        if self.bytes.len() < want {
            self.bytes.resize(want.max(2 * self.bytes.len()), 0);
        }
        match self.bytes[self.used..].first_chunk_mut::<ROW_CAPACITY>() {
            Some(room) => room,
            None => unreachable!("the block was just made long enough"),
        }
    }
}

/// Rows per block: about a quarter of a megabyte, so that the blocks a
/// worker has in flight (filling, queued, being written) stay in its core's
/// L2 cache, where blocks of a whole step (2.4 MB per worker for 10,000
/// boxes) streamed every byte of output through main memory.
const BLOCK_ROWS: usize = 512;

/// What a worker thread needs to simulate and format its share of the fleet.
struct Work {
    format: Format,
    labels: bool,
    /// Every optional field (precise sensors) or a basic unit's.
    full: bool,
    resolution: Resolution,
    /// Number of time steps (None: forever).
    steps: Option<u64>,
    block_steps: u64,
    start_ms: i64,
    interval_ms: i64,
}

impl Work {
    /// Simulates `share` (sub-blocks of the fleet, in fleet order) group of
    /// steps by group of steps, one block per sub-block, until the last step
    /// or until the writer hangs up.
    fn run(
        &self,
        mut share: Vec<&mut [Container]>,
        tx: &SyncSender<Block>,
        recycle: &Receiver<Block>,
    ) {
        let heads: Vec<Vec<RowHead>> = share
            .iter()
            .map(|sub| {
                sub.iter()
                    .map(|c| RowHead::new(self.format, &c.id, c.product.id))
                    .collect()
            })
            .collect();
        let mut row = Row::default();
        let mut step = 0u64;
        loop {
            let end = match self.steps {
                Some(s) if step >= s => break,
                Some(s) => (step + self.block_steps).min(s),
                None => step + self.block_steps,
            };
            for (sub, heads) in share.iter_mut().zip(&heads) {
                let mut block = recycle.try_recv().unwrap_or_else(|_| Block {
                    bytes: Vec::with_capacity(sub.len() * (end - step) as usize * 512),
                    used: 0,
                    step_ends: Vec::with_capacity((end - step) as usize),
                    step_lines: Vec::with_capacity((end - step) as usize),
                });
                block.used = 0;
                block.step_ends.clear();
                block.step_lines.clear();
                for s in step..end {
                    let lines = self.fill(s, sub, heads, &mut row, &mut block);
                    block.step_ends.push(block.used);
                    block.step_lines.push(lines);
                }
                if tx.send(block).is_err() {
                    return;
                }
            }
            step = end;
        }
    }

    /// Step `s` of the containers of `sub` into `block`; returns the lines written.
    fn fill(
        &self,
        s: u64,
        sub: &mut [Container],
        heads: &[RowHead],
        row: &mut Row,
        block: &mut Block,
    ) -> u64 {
        let (clock, time) = clock_at(self.start_ms, self.interval_ms, s);
        let time = Piece::new(time.as_bytes());
        let mut lines = 0u64;
        for (c, head) in sub.iter_mut().zip(heads) {
            let sample = c.step(&clock);
            let ctx = RowContext {
                head,
                time: &time,
                labels: self.labels,
                resolution: self.resolution,
                full: self.full,
            };
            match c.delivery.as_mut() {
                None => {
                    if sample.reported {
                        block.used += write_row(block.room(), self.format, &ctx, &sample);
                        lines += 1;
                    }
                }
                Some(d) => {
                    // Late, doubled and lost lines: the delivery edits the
                    // block's bytes as a growing Vec.
                    block.bytes.truncate(block.used);
                    lines += d.release(s, &mut block.bytes);
                    if sample.reported {
                        let start = block.bytes.len();
                        block
                            .bytes
                            .extend_from_slice(row.write(self.format, &ctx, &sample));
                        lines += d.route(s, &mut block.bytes, start);
                    }
                    block.used = block.bytes.len();
                }
            }
        }
        lines
    }
}

/// Runs reefer-sim with parsed arguments.
pub fn run(args: SimArgs) -> anyhow::Result<Exit> {
    if let Some(shell) = args.out.completions {
        crate::cli::write_completions::<SimArgs>(shell, &mut std::io::stdout())?;
        return Ok(Exit::Ok);
    }
    let plan = plan(&args)?;
    let mut out = Output::open(
        args.out.output.as_deref(),
        args.out.line_buffered || plan.pace.is_some(),
    )
    .map_err(|e| usage(e.to_string()))?;
    crate::app::catch_interrupt();
    let fleet = build_fleet(&plan);
    let started = Instant::now();
    // A closed stdout (`| head`) ends the run quietly; --stats-json still says what it wrote.
    let mut exit = Exit::Ok;
    let mut written = 0;
    let closed = crate::app::output_closed(
        simulate(&plan, fleet, &mut out, &mut written).map(|e| exit = e),
    )?;
    if let Some(path) = &args.out.stats_json {
        let summary = crate::summary::Summary {
            written,
            output_closed: closed,
            ..crate::summary::Summary::new("reading")
        };
        summary.write_json(path, "reefer-sim", started, serde_json::json!({}))?;
    }
    // Said at the end, and not after a closed stdout, so that `| head` stays quiet.
    if !args.out.quiet && !closed && (args.seed.is_none() || args.start.is_none()) {
        crate::warn!(
            "reefer-sim: used --seed {} --start {} (pass both to reproduce this output)",
            plan.seed,
            format_time(plan.start)
        );
    }
    Ok(exit)
}

fn simulate(
    plan: &Plan,
    mut fleet: Vec<Container>,
    out: &mut Output,
    written: &mut u64,
) -> anyhow::Result<Exit> {
    if plan.format == Format::Csv {
        out.write_all(csv_header(plan.labels, plan.sensors.full_record()).as_bytes())?;
    }
    let start_ms = plan.start.timestamp_millis();
    let interval_ms = plan.interval_ms;
    // Blocks of at most BLOCK_ROWS containers: a small fleet's worker takes
    // its whole share for several steps per block, a large fleet is cut
    // into sub-blocks of one step, dealt round-robin to the workers so that
    // each step's sub-blocks arrive in container order one after the other.
    // Each worker's share is cut into equal sub-blocks (10,000 boxes on two
    // threads: 20 of 500, not 19 of 512 and one of 272, which left one
    // worker 5 % more to do than the other and the run waiting for it).
    let chunk = fleet.len().div_ceil(plan.threads).max(1);
    let sub_len = chunk.div_ceil(chunk.div_ceil(BLOCK_ROWS));
    // Enough steps per block to amortise hand-offs, one step when pacing live.
    let block_steps: u64 = if plan.pace.is_some() {
        1
    } else {
        (BLOCK_ROWS / sub_len).clamp(1, 4096) as u64
    };
    let total_readings = match (plan.steps, plan.count) {
        (Some(s), Some(c)) => Some((s * fleet.len() as u64).min(c)),
        (Some(s), None) => Some(s * fleet.len() as u64),
        (None, c) => c,
    };
    let progress = match total_readings {
        Some(n) if std::io::stderr().is_terminal() && plan.pace.is_none() => {
            let bar = ProgressBar::new(n);
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} {human_pos}/{human_len} readings [{bar:30}] {rate} eta {eta}",
                )
                .expect("valid template")
                // indicatif's {per_sec} prints `1468307.9269/s`; a whole count with
                // thousands separators reads like the rest of the line.
                .with_key(
                    "rate",
                    |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                        let _ = write!(w, "{}/s", indicatif::HumanCount(state.per_sec() as u64));
                    },
                )
                .progress_chars("=> "),
            );
            bar
        }
        _ => ProgressBar::hidden(),
    };
    let work = Work {
        format: plan.format,
        labels: plan.labels,
        full: plan.sensors.full_record(),
        resolution: Resolution::new(plan.resolution),
        steps: plan.steps,
        block_steps,
        start_ms,
        interval_ms,
    };
    let wall_start = Instant::now();
    let result: anyhow::Result<Exit> = std::thread::scope(|scope| {
        let subs: Vec<&mut [Container]> = fleet.chunks_mut(sub_len).collect();
        let n_subs = subs.len();
        let workers = plan.threads.min(n_subs).max(1);
        let mut shares: Vec<Vec<&mut [Container]>> = (0..workers).map(|_| Vec::new()).collect();
        for (i, sub) in subs.into_iter().enumerate() {
            shares[i % workers].push(sub);
        }
        let mut receivers = Vec::new();
        let mut recyclers = Vec::new();
        for share in shares {
            let (tx, rx) = sync_channel::<Block>(2);
            // Written blocks come back for reuse, so memory stays flat however long the run.
            let (recycle_tx, recycle_rx) = channel::<Block>();
            receivers.push(rx);
            recyclers.push(recycle_tx);
            let work = &work;
            scope.spawn(move || work.run(share, &tx, &recycle_rx));
        }
        let mut step: u64 = 0;
        let mut blocks: Vec<Option<Block>> = (0..n_subs).map(|_| None).collect();
        loop {
            // A group of steps: every sub-block holds the same steps. Each is
            // received when its first step is due, and goes back to its
            // worker as soon as its last step is written.
            let mut n_steps = 1;
            let mut s = 0;
            while s < n_steps {
                if let Some(speed) = plan.pace {
                    let due = Duration::from_secs_f64(
                        (step + s as u64) as f64 * interval_ms as f64 / 1000.0 / speed,
                    );
                    let now = wall_start.elapsed();
                    if due > now {
                        out.flush()?;
                        std::thread::sleep(due - now);
                    }
                }
                for (i, slot) in blocks.iter_mut().enumerate() {
                    if s == 0 {
                        match receivers[i % workers].recv() {
                            Ok(b) => {
                                n_steps = b.step_ends.len();
                                *slot = Some(b);
                            }
                            Err(_) => return Ok(Exit::Ok),
                        }
                    }
                    let Some(b) = slot.as_ref() else {
                        continue;
                    };
                    let from = if s == 0 { 0 } else { b.step_ends[s - 1] };
                    let bytes = &b.bytes[from..b.step_ends[s]];
                    let lines = b.step_lines[s];
                    if let Some(limit) = plan.count {
                        if *written + lines > limit {
                            let keep = nth_line_end(bytes, (limit - *written) as usize);
                            out.write_all(&bytes[..keep])?;
                            out.flush()?;
                            progress.finish_and_clear();
                            *written = limit;
                            return Ok(Exit::Ok);
                        }
                    }
                    out.write_all(bytes)?;
                    *written += lines;
                    if s + 1 == n_steps {
                        if let Some(b) = slot.take() {
                            let _ = recyclers[i % workers].send(b);
                        }
                    }
                }
                out.end_record()?;
                if interrupted() {
                    out.flush()?;
                    return Ok(Exit::Interrupted);
                }
                s += 1;
            }
            step += n_steps as u64;
            progress.set_position(*written);
            if plan.count == Some(*written) {
                break;
            }
        }
        Ok(Exit::Ok)
    });
    progress.finish_and_clear();
    let exit = result.context("writing readings")?;
    out.flush().context("writing readings")?;
    Ok(exit)
}

/// Byte offset just past the `n`-th newline.
fn nth_line_end(bytes: &[u8], n: usize) -> usize {
    if n == 0 {
        return 0;
    }
    bytes
        .iter()
        .enumerate()
        .filter(|(_, &b)| b == b'\n')
        .nth(n - 1)
        .map_or(bytes.len(), |(i, _)| i + 1)
}
