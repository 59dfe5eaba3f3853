//! reefer-detect: cold-chain fault detection over telemetry readings or
//! reefer-window rows, as one fault event per episode (SPEC §5); `--where`
//! for ad-hoc filtering; `--evaluate` to score the detectors against the
//! simulator's ground truth.

pub mod config;
pub mod engine;
pub mod evaluate;
pub mod events;
pub mod filter;
pub mod obs;
pub mod pipeline;
pub mod rules;
pub mod source;
pub mod sql;

use crate::app::{interrupted, usage, Exit};
use crate::cli::InputArgs;
use crate::codec::{parse_json_object_str, Output, Rejects};
use crate::record::Reading;
use crate::time::{Span, TimeParser};
use anyhow::Context;
use clap::Parser;
use clap_complete::Shell;
use engine::Engine;
use events::FaultEvent;
use obs::{Obs, WindowRow};
use pipeline::Msg;
use serde_json::{Map, Value};
use source::{Item, Source};
use std::io::Write;

const EXAMPLES: &str = "\
Examples:
  reefer-sim --containers 100 --duration 6h --seed 1 | reefer-detect > faults.jsonl
  reefer-detect samples/fleet.jsonl | jq -c 'select(.severity == \"critical\")'
  reefer-detect --where 'temperature > 18' day.jsonl          (the reference's faulty-reefers stream)
  reefer-detect --where 'product_id == P06 and temperature > -18' fleet.csv
  reefer-detect --rules my-rules.toml --catalog products.toml fleet.jsonl
  reefer-window --size 5m fleet.jsonl | reefer-detect                 (window rows)
  reefer-sim -n 1000 --duration 2d --interval 1m --seed 1 | reefer-detect --evaluate
  reefer-detect --list-rules
  reefer-detect --completions bash > /etc/bash_completion.d/reefer-detect

Events (JSON Lines): status (open, escalated, resolved), container_id, product_id,
fault, severity (warning, critical), rule, detected_at, since, evidence, message.
One open event per fault episode; resolved once the condition has cleared.

Rules file (TOML): [detectors.NAME] with enabled, for, min_readings, clear_for,
clear_readings, severity and the detector's own settings (see --list-rules);
[[rule]] with name, when (\"FIELD OP VALUE [and|or ...]\"), for, severity, fault, message.
Catalog file (TOML): [[product]] with id, name, setpoint, band_low, band_high,
brief_high, chill_injury_below, o2_min, o2_max, co2_max.";

/// Detect reefer faults in telemetry: one event per fault episode.
///
/// Reads telemetry readings (SPEC §1) or reefer-window rows (recognised by
/// `window_start`) as JSON Lines or CSV, keeps per-container state in event
/// time, and writes fault events as JSON Lines: power_off,
/// compressor_failure, fan_failure, door_open, temperature_sensor,
/// co2_sensor, o2_sensor, and temperature_excursion (the product outside its
/// catalog band longer than a grace period; defrosts and the pull-down after
/// loading do not count). Input must be in event-time order per container.
#[derive(Debug, Clone, Parser)]
#[command(name = "reefer-detect", version, after_help = EXAMPLES)]
pub struct DetectArgs {
    #[command(flatten)]
    pub input: InputArgs,

    /// Product catalog (TOML, `[[product]]` tables) adding to or replacing the built-in one.
    #[arg(long, value_name = "FILE")]
    pub catalog: Option<String>,

    /// Rules file (TOML): tune or disable detectors, add threshold rules.
    #[arg(long, value_name = "FILE")]
    pub rules: Option<String>,

    /// Pass records matching a condition through unchanged instead of detecting,
    /// e.g. `temperature > 18` or `product_id == P06 and temperature > -18`.
    #[arg(long = "where", value_name = "CONDITION", conflicts_with = "evaluate")]
    pub where_: Option<String>,

    /// Score the detectors against the `fault` labels of simulated input:
    /// per fault kind, episodes, detected, precision, recall, detection delay,
    /// false alerts. Each input file is scored on its own, then summed.
    #[arg(long)]
    pub evaluate: bool,

    /// With --evaluate: print the scores as JSON.
    #[arg(long, requires = "evaluate")]
    pub json: bool,

    /// With --evaluate: an event still counts for an episode this long after its last reading.
    #[arg(
        long,
        default_value = "5m",
        value_name = "DURATION",
        requires = "evaluate"
    )]
    pub tolerance: Span,

    /// Let the detectors ignore these optional fields (comma-separated), as if the
    /// readings lacked them: to see how detection degrades on sparser telemetry
    /// (e.g. `door_open,defrost,operating_mode,supply_air_temperature,fan_2,fan_3`).
    #[arg(long, value_delimiter = ',', value_name = "FIELDS")]
    pub ignore_field: Vec<String>,

    /// List the detectors, the fields they need and their settings, then exit.
    #[arg(long)]
    pub list_rules: bool,

    /// Write to this file instead of stdout.
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<String>,

    /// Flush after every event, even when stdout is not a terminal.
    #[arg(long)]
    pub line_buffered: bool,

    /// Print shell completions for SHELL and exit.
    #[arg(long, value_enum, value_name = "SHELL")]
    pub completions: Option<Shell>,
}

const TOOL: &str = "reefer-detect";

/// Runs reefer-detect with parsed arguments.
pub fn run(args: DetectArgs) -> anyhow::Result<Exit> {
    if let Some(shell) = args.completions {
        crate::cli::write_completions::<DetectArgs>(shell, &mut std::io::stdout())?;
        return Ok(Exit::Ok);
    }
    let catalog = config::load_catalog(args.catalog.as_deref()).map_err(|e| usage(e.0))?;
    let slots = config::load_rules(args.rules.as_deref()).map_err(|e| usage(e.0))?;
    let mut out = Output::open(args.output.as_deref(), args.line_buffered)
        .map_err(|e| usage(e.to_string()))?;
    if args.list_rules {
        list_rules(&slots, &mut out)?;
        out.flush()?;
        return Ok(Exit::Ok);
    }
    for f in &args.ignore_field {
        if !obs::IGNORABLE.contains(&f.as_str()) {
            return Err(usage(format!(
                "--ignore-field: {f:?} cannot be ignored (optional fields: {})",
                obs::IGNORABLE.join(", ")
            )));
        }
    }
    let expr = match &args.where_ {
        Some(w) => Some(filter::Expr::parse(w).map_err(usage)?),
        None => None,
    };
    args.input.open()?; // a missing file is a usage error before anything is read
    let mut rejects = args.input.rejects(TOOL)?;
    let times = args.input.time_parser();
    let src = Source::new(&args.input.files, args.input.input_format);
    crate::app::catch_interrupt();
    let exit = if let Some(expr) = expr {
        let mut src = src;
        run_where(&expr, &mut src, &mut rejects, &times, &mut out)?
    } else if args.evaluate {
        let mut engine = Engine::new(slots, catalog);
        run_evaluate(&args, &mut engine, src, &mut rejects, &times, &mut out)?
    } else {
        let mut engine = Engine::new(slots, catalog);
        let exit = run_detect(
            &mut engine,
            src,
            &args.ignore_field,
            &mut rejects,
            &times,
            &mut out,
        )?;
        for (rule, needs) in engine.idle_rules() {
            crate::warn!("{TOOL}: note: {rule} never had what it needs in this input ({needs})");
        }
        if engine.unknown_products > 0 {
            crate::warn!(
                "{TOOL}: {} readings of products missing from the catalog and without target_temperature: no temperature band for them (add them with --catalog)",
                engine.unknown_products
            );
        }
        exit
    };
    out.flush().context("writing output")?;
    rejects.flush()?;
    if rejects.count() > 0 {
        crate::warn!("{TOOL}: {} input lines rejected", rejects.count());
    }
    Ok(exit.max(Exit::from_rejected(rejects.count())))
}

fn list_rules(slots: &[engine::Slot], out: &mut impl Write) -> std::io::Result<()> {
    for s in slots {
        let t = s.timing;
        writeln!(
            out,
            "{} (fault {}, {}): for {} over {} readings, clear after {} over {} readings",
            s.rule.name(),
            s.rule.fault(),
            s.severity.unwrap_or(s.rule.severity()).name(),
            Span::from_millis(t.for_ms),
            t.min_readings,
            Span::from_millis(t.clear_ms),
            t.clear_readings
        )?;
        writeln!(out, "  needs: {}", s.rule.needs())?;
        for p in s.rule.params() {
            writeln!(out, "  {} = {}    # {}", p.key, p.value, p.help)?;
        }
    }
    Ok(())
}

/// What the input loop hands to a mode.
enum Step<'s, 'o> {
    Obs(&'s Obs<'o>),
    NextInput,
}

/// Reads every record (on a second thread, see [`pipeline`]), turns it into
/// an observation and calls `f`; bad lines and observations `f` refuses are rejected.
fn for_each_obs(
    src: Source,
    rejects: &mut Rejects,
    times: &TimeParser,
    label: bool,
    out: &mut Output,
    mut f: impl FnMut(Step, &mut Output) -> anyhow::Result<Result<(), String>>,
) -> anyhow::Result<Exit> {
    let (rx, reader) = pipeline::start(src, label);
    let mut input = String::new();
    let mut result = Ok(Exit::Ok);
    'batches: for batch in rx.iter() {
        for msg in batch.msgs {
            let (line, raw, res) = match msg {
                Msg::Input(name, boundary) => {
                    input = name;
                    if boundary {
                        let _ = f(Step::NextInput, out)?;
                    }
                    continue;
                }
                Msg::Error(e) => {
                    result = Err(anyhow::Error::new(e).context(format!("reading {input}")));
                    break 'batches;
                }
                Msg::Bad(line, msg, raw) => {
                    rejects.reject(&input, line, raw.as_bytes(), &msg)?;
                    continue;
                }
                Msg::Obs(p, line, range) => {
                    (line, &batch.text[range], f(Step::Obs(&p.obs()), out)?)
                }
                Msg::Line(line, range) => {
                    let text = &batch.text[range];
                    let res = match parse_json_object_str(text) {
                        Ok(map) => general(map, times, label, &mut |o| f(Step::Obs(o), out))?,
                        Err(e) => Err(e),
                    };
                    (line, text, res)
                }
                Msg::Csv(line, map, raw) => {
                    let res = general(map, times, label, &mut |o| f(Step::Obs(o), out))?;
                    if let Err(msg) = res {
                        rejects.reject(&input, line, raw.as_bytes(), &msg)?;
                    }
                    continue;
                }
            };
            if let Err(msg) = res {
                rejects.reject(&input, line, raw.as_bytes(), &msg)?;
            }
        }
        if batch.idle {
            out.flush()?;
        }
        if interrupted() {
            out.flush()?;
            result = Ok(Exit::Interrupted);
            break;
        }
    }
    drop(rx);
    let _ = reader.join();
    result
}

/// The general path: a window row or a reading from a JSON object.
fn general(
    map: Map<String, Value>,
    times: &TimeParser,
    label: bool,
    f: &mut dyn FnMut(&Obs) -> anyhow::Result<Result<(), String>>,
) -> anyhow::Result<Result<(), String>> {
    if WindowRow::is_window(&map) {
        return match WindowRow::from_map(&map, times) {
            Ok(w) => f(&w.obs()),
            Err(e) => Ok(Err(e)),
        };
    }
    match Reading::from_map(map, times) {
        Ok(r) => f(&Obs::from_reading(&r, label)),
        Err(e) => Ok(Err(e)),
    }
}

/// The observation the detectors see: `o`, or a copy without the ignored fields.
fn masked<'o>(o: &Obs<'o>, ignore: &[String]) -> Option<Obs<'o>> {
    if ignore.is_empty() {
        return None;
    }
    let mut m = o.clone();
    for f in ignore {
        m.forget(f);
    }
    Some(m)
}

fn run_detect(
    engine: &mut Engine,
    src: Source,
    ignore: &[String],
    rejects: &mut Rejects,
    times: &TimeParser,
    out: &mut Output,
) -> anyhow::Result<Exit> {
    let mut pending: Vec<FaultEvent> = Vec::new();
    for_each_obs(src, rejects, times, false, out, |step, out| {
        let Step::Obs(o) = step else {
            return Ok(Ok(()));
        };
        let m = masked(o, ignore);
        let res = engine.observe(m.as_ref().unwrap_or(o), |e| pending.push(e));
        for e in pending.drain(..) {
            e.write_jsonl(out).context("writing events")?;
            out.end_record()?;
        }
        Ok(res)
    })
}

fn run_evaluate(
    args: &DetectArgs,
    engine: &mut Engine,
    src: Source,
    rejects: &mut Rejects,
    times: &TimeParser,
    out: &mut Output,
) -> anyhow::Result<Exit> {
    let mut scores = evaluate::Scores {
        tolerance_ms: args.tolerance.millis,
        inputs: if args.input.files.is_empty() {
            vec!["-".into()]
        } else {
            args.input.files.clone()
        },
        ..Default::default()
    };
    let mut ev = evaluate::Evaluator::default();
    let mut pending: Vec<FaultEvent> = Vec::new();
    let exit = for_each_obs(src, rejects, times, true, out, |step, _| {
        match step {
            Step::NextInput => {
                ev.finish(&mut scores);
                engine.reset();
            }
            Step::Obs(o) => {
                let m = masked(o, &args.ignore_field);
                let res = engine.observe(m.as_ref().unwrap_or(o), |e| pending.push(e));
                if res.is_ok() {
                    ev.observe(o);
                }
                for e in pending.drain(..) {
                    ev.event(&e);
                }
                return Ok(res);
            }
        }
        Ok(Ok(()))
    })?;
    ev.finish(&mut scores);
    if scores.kinds.values().all(|k| k.episodes + k.truncated == 0) {
        crate::warn!("{TOOL}: --evaluate: no reading carries a fault label (reefer-sim writes them unless --no-labels); every event counts as a false alert");
    }
    if args.json {
        serde_json::to_writer_pretty(&mut *out, &scores.to_json())?;
        writeln!(out)?;
    } else {
        scores.write_table(out)?;
    }
    Ok(exit)
}

fn run_where(
    expr: &filter::Expr,
    src: &mut Source,
    rejects: &mut Rejects,
    _times: &TimeParser,
    out: &mut Output,
) -> anyhow::Result<Exit> {
    let mut header_written = false;
    let mut n: u64 = 0;
    loop {
        let Some(item) = src.next_item().context("reading input")? else {
            break;
        };
        match item {
            Item::NextInput => {}
            Item::Bad {
                input,
                line,
                msg,
                raw,
            } => rejects.reject(input, line, raw.as_bytes(), &msg)?,
            Item::Line { input, line, text } => {
                let keep = match expr.test_line(text.as_bytes()) {
                    Some(k) => k,
                    None => match parse_json_object_str(text) {
                        Ok(m) => expr.test_map(&m),
                        Err(e) => {
                            rejects.reject(input, line, text.as_bytes(), &e)?;
                            false
                        }
                    },
                };
                if keep {
                    out.write_all(text.as_bytes())?;
                    out.write_all(b"\n")?;
                    out.end_record()?;
                }
            }
            Item::Csv { map, raw, .. } => {
                if expr.test_map(&map) {
                    if !header_written {
                        let header: Vec<String> = map.keys().map(|k| csv_field(k)).collect();
                        out.write_all(header.join(",").as_bytes())?;
                        out.write_all(b"\n")?;
                        header_written = true;
                    }
                    out.write_all(raw.as_bytes())?;
                    out.write_all(b"\n")?;
                    out.end_record()?;
                }
            }
        }
        n += 1;
        if n.is_multiple_of(4096) && interrupted() {
            out.flush()?;
            return Ok(Exit::Interrupted);
        }
        if src.would_block() {
            out.flush()?;
        }
    }
    Ok(Exit::Ok)
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}
