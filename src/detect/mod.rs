//! reefer-detect: cold-chain fault detection over telemetry readings or
//! reefer-window rows, as one fault event per episode (contract §5); `--where`
//! for ad-hoc filtering; `--evaluate` to score the detectors against the
//! simulator's ground truth.
//!
//! On reefer-window rows (see [`obs::ObsFields`] for the columns read) every
//! detector works: power_off (the gap, `kilowatts_max`), fan_failure
//! (`fan_N_true`), door_open (`door_open_true`: the door switch; inferring a
//! door without one needs single readings), temperature_excursion
//! (`temperature_mean`, `supply_air_temperature_mean`, `target_temperature_mean`),
//! temperature_sensor (`temperature_min`/`_max` out of range, or equal for
//! consecutive rows: stuck, counted by `count`), compressor_failure
//! (`supply_air_temperature_mean` against `temperature_mean` while the
//! controlled air stands above the setpoint; without supply air the fallback
//! on `kilowatts_mean`), co2_sensor and o2_sensor (`<gas>_min`/`_max`: still
//! rows for stuck, wide rows for noisy; `<gas>_mean` for drift) and threshold
//! `[[rule]]`s.

pub mod band;
pub mod config;
pub mod engine;
pub mod evaluate;
pub mod events;
pub mod filter;
pub mod history;
pub mod input;
pub mod labels;
pub mod obs;
pub mod reorder;
pub mod rules;
pub mod sql;
pub mod text;

use crate::app::{output_closed, usage, Exit};
use crate::cli::{InputArgs, OutputArgs, StateArgs};
use crate::codec::scan::{Fields, Scanner, Slot};
use crate::codec::{Output, Rejects};
use crate::summary::Summary;
use crate::time::Span;
use anyhow::Context;
use clap::Parser;
use engine::Engine;
use events::FaultEvent;
use input::{Ended, LineParser, ObsParser, Owned, Step};
use obs::Obs;
use serde_json::{Map, Value};
use std::io::Write;
use std::sync::Arc;

const EXAMPLES: &str = "\
Examples:
  reefer-sim --containers 100 --duration 6h --seed 1 | reefer-detect > faults.jsonl
  reefer-detect samples/fleet.jsonl | jq -c 'select(.severity == \"critical\")'
  reefer-detect --where 'door_open == true' day.jsonl          (readings with the door open)
  reefer-detect --where 'product_id == P02 and oxygen_level < 5' fleet.csv   (bananas under CA)
  reefer-detect --state detect.state /data/latest.jsonl       (cron: one run per new file)
  reefer-detect --rules my-rules.toml --catalog products.toml fleet.jsonl
  reefer-window --size 5m fleet.jsonl | reefer-detect                 (window rows)
  reefer-sim --containers 1000 --duration 2d --interval 1m --seed 1 | reefer-detect --evaluate
  reefer-detect --list-rules
  reefer-detect --completions bash > /etc/bash_completion.d/reefer-detect

Events (JSON Lines): status (open, escalated, resolved), container_id, product_id,
fault, severity (warning, critical), rule, detected_at, since, evidence, message.
One open event per fault episode, escalated once when it turns critical or shows a
second form of its fault (a noisy gas cell that then also leaves its level); resolved
once the condition has cleared.

Rules file (TOML): [detectors.NAME] with enabled, for, min_readings, clear_for,
clear_readings, severity and the detector's own settings (see --list-rules);
[[rule]] with name, when (\"FIELD OP VALUE [and|or ...]\"), for, severity, fault, message.
Catalog file (TOML): [[product]] with id, name, setpoint, band_low, band_high,
brief_high, chill_injury_below, o2_min, o2_max, co2_max.";

/// The `--help` epilogue: the examples and notes, then the built-in catalog
/// (the product ids readings carry, and the bands the rules judge them by).
fn epilogue() -> String {
    format!(
        "{EXAMPLES}\n\nProducts (the built-in catalog; --catalog FILE adds or replaces them):\n{}",
        crate::catalog::table(&crate::catalog::default_catalog()).trim_end()
    )
}

/// Detect reefer faults in telemetry: one event per fault episode.
///
/// Reads telemetry readings (contract §1) or reefer-window rows (recognised by
/// `window_start`) as JSON Lines or CSV, keeps per-container state in event
/// time, and writes fault events as JSON Lines: power_off,
/// compressor_failure, fan_failure, door_open, temperature_sensor,
/// co2_sensor, o2_sensor, and temperature_excursion (the product outside its
/// catalog band longer than a grace period; defrosts and the pull-down after
/// loading do not count). Input must be in event-time order per container.
///
/// On reefer-window rows every detector works with reefer-window's default columns
/// (count, <field>_min/_max/_mean of temperature, supply_air_temperature, kilowatts,
/// oxygen_level, carbon_dioxide_level, and fan_1_true, fan_2_true, fan_3_true,
/// door_open_true, defrost_true; other <field>_mean/<field>_true columns when present);
/// door_open only by its switch.
#[derive(Debug, Clone, Parser)]
#[command(name = "reefer-detect", version, after_help = epilogue())]
#[command(group(clap::ArgGroup::new("sql_input").args(["where_", "rules"]).multiple(true)))]
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

    /// Hold readings up to DURATION out of event-time order and judge them in
    /// order (a modem that sends late, `reefer-sim --delivery realistic`); a
    /// reading later than that is a bad line, with its own line number. A
    /// container whose time goes back by more than DURATION (a captured run
    /// replayed after another) starts a new session: its history restarts,
    /// with a note on stderr. `0s`: no holding (input in order per container;
    /// any step back is a new session). Works with --evaluate too (each
    /// input's held readings are judged at its end).
    #[arg(
        long,
        default_value = "1m",
        value_name = "DURATION",
        conflicts_with = "where_"
    )]
    pub lateness: Span,

    /// With --evaluate: the labelled readings the input was made from (the
    /// reefer-sim output that reefer-window rows summarise); a row takes the
    /// fault label of its container's readings inside the window.
    #[arg(long, value_name = "FILE", requires = "evaluate")]
    pub labels: Option<String>,

    /// List the detectors, the fields they need and their settings, then exit.
    #[arg(long)]
    pub list_rules: bool,

    /// Print the product catalog (built in, or with --catalog FILE) and exit.
    #[arg(long)]
    pub list_products: bool,

    /// With --evaluate: score an input without fault episodes (false alerts
    /// only) instead of failing with exit 1.
    #[arg(long, requires = "evaluate")]
    pub allow_no_episodes: bool,

    /// With --where: print the filter as a SQL job for DIALECT (the reference
    /// design's faulty-reefers stream on Flink) and exit. With --rules and no
    /// --where: print the file's threshold rules as a job writing each episode's
    /// open event (MATCH_RECOGNIZE); detectors SQL cannot express are named in it.
    #[arg(long, value_enum, value_name = "DIALECT", requires = "sql_input")]
    pub print_sql: Option<crate::window::SqlDialect>,

    #[command(flatten)]
    pub flink: crate::window::sql::FlinkOptions,

    #[command(flatten)]
    pub state: StateArgs,

    #[command(flatten)]
    pub out: OutputArgs,
}

const TOOL: &str = "reefer-detect";

/// Runs reefer-detect with parsed arguments.
pub fn run(args: DetectArgs) -> anyhow::Result<Exit> {
    let started = std::time::Instant::now();
    if let Some(shell) = args.out.completions {
        crate::cli::write_completions::<DetectArgs>(shell, &mut std::io::stdout())?;
        return Ok(Exit::Ok);
    }
    let catalog = config::load_catalog(args.catalog.as_deref()).map_err(|e| usage(e.0))?;
    let slots = config::load_rules(args.rules.as_deref()).map_err(|e| usage(e.0))?;
    let mut out = args.out.open()?;
    if args.list_rules {
        list_rules(&slots, &mut out)?;
        out.flush()?;
        return Ok(Exit::Ok);
    }
    if args.list_products {
        out.write_all(crate::catalog::table(&catalog).as_bytes())?;
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
    for c in expr.iter().flat_map(|e| e.fields()) {
        crate::record::check_field_name("--where", &c.field).map_err(usage)?;
    }
    if let Some(crate::window::SqlDialect::Flink) = args.print_sql {
        let text = match (&expr, &args.where_, &args.rules) {
            (Some(expr), Some(w), _) => sql::flink_where(expr, w, &args.flink),
            (_, _, Some(file)) => sql::flink_rules(file, &slots, &args.flink),
            _ => return Err(usage("--print-sql needs --where or --rules")),
        };
        out.write_all(text.as_bytes())?;
        out.flush()?;
        return Ok(Exit::Ok);
    }
    if args.state.state.is_some() && (expr.is_some() || args.evaluate) {
        return Err(usage(
            "--state keeps detector state between runs: it goes with neither --where nor --evaluate",
        ));
    }
    args.input.open()?; // a missing file is a usage error before anything is read
    let state = args
        .state
        .lock(TOOL, engine::STATE_VERSION, String::new())?;
    let mut rejects = args.input.rejects(TOOL)?;
    crate::app::catch_interrupt();
    // `read` counts records that reached a parser: the bad lines are added below.
    // A closed stdout (`| head`) stops the run quietly; --stats-json still says what it did.
    let mut exit = Exit::Ok;
    let closed;
    let (mut summary, extra) = if let Some(expr) = expr {
        let mut summary = Summary::new("record");
        closed = output_closed(
            run_where(&args, expr, &mut rejects, &mut out, &mut summary).map(|e| exit = e),
        )?;
        (summary, serde_json::json!({}))
    } else if args.evaluate {
        let mut engine = Engine::new(slots, catalog);
        closed = output_closed(
            run_evaluate(&args, &mut engine, &mut rejects, &mut out).map(|e| exit = e),
        )?;
        let summary = Summary {
            read: engine.observed(),
            written: 1,
            notes: engine.implausible.note().into_iter().collect(),
            ..Summary::new("score table")
        };
        let extra = serde_json::json!({ "implausible": engine.implausible.to_json() });
        (summary, extra)
    } else {
        let mut engine = Engine::new(slots, catalog);
        if let Some(state) = &state {
            restore(state, &mut engine)?;
        }
        let before = engine.observed();
        let mut events = 0;
        closed = output_closed(
            run_detect(&args, &mut engine, &mut rejects, &mut out, &mut events).map(|e| exit = e),
        )?;
        // Not after a closed stdout: the last events written may never have been read.
        if let Some(state) = state.as_ref().filter(|_| !closed) {
            // Events written before the state: a crash in between repeats
            // events (which reefer-act drops as seen), never loses one.
            out.flush().context("writing output")?;
            state.save(&engine.save())?;
        }
        if !args.out.quiet && !closed {
            for (rule, needs) in engine.idle_rules() {
                crate::warn!(
                    "{TOOL}: note: {rule} never had what it needs in this input ({needs})"
                );
            }
            if let Some(note) = engine.fields_without_value() {
                crate::warn!("{TOOL}: note: {note}");
            }
        }
        if engine.duplicates > 0 && !args.out.quiet && !closed {
            crate::warn!(
                "{TOOL}: {} duplicate readings dropped (a container's second reading at one time: a resend or an overlapping replay)",
                engine.duplicates
            );
        }
        if engine.unknown_products > 0 && !closed {
            crate::warn!(
                "{TOOL}: {} readings of products missing from the catalog and without target_temperature: no temperature band for them (add them with --catalog)",
                engine.unknown_products
            );
        }
        let summary = Summary {
            // Duplicates were read too (and dropped, and said so).
            read: engine.observed() - before + engine.duplicates,
            written: events,
            // Implausible values were used as data, new sessions begun: said once, at the end.
            notes: engine
                .implausible
                .note()
                .into_iter()
                .chain((engine.sessions > 0).then(|| {
                    format!(
                        "{} new session{} (a container's time went back by more than --lateness {})",
                        engine.sessions,
                        if engine.sessions == 1 { "" } else { "s" },
                        args.lateness
                    )
                }))
                .collect(),
            ..Summary::new("event")
        };
        let extra = serde_json::json!({
            "containers": engine.containers(),
            "duplicates": engine.duplicates,
            "sessions": engine.sessions,
            "implausible": engine.implausible.to_json(),
        });
        (summary, extra)
    };
    if !closed {
        out.flush().context("writing output")?;
    }
    rejects.flush()?;
    summary.read += rejects.count();
    summary.rejected = rejects.count();
    summary.rejected_kept_in = rejects.kept_in().map(str::to_string);
    summary.output_closed = closed;
    if (summary.has_losses() || !summary.notes.is_empty()) && !args.out.quiet && !closed {
        crate::warn!("{}", summary.line(TOOL));
    }
    if let Some(path) = &args.out.stats_json {
        summary.write_json(path, TOOL, started, extra)?;
    }
    if closed {
        return Ok(Exit::Ok);
    }
    Ok(exit.max(Exit::from_rejected(rejects.count())))
}

fn restore(state: &crate::statefile::StateFile, engine: &mut Engine) -> anyhow::Result<()> {
    let Some(saved) = state.load::<engine::Saved>()? else {
        return Ok(());
    };
    for rule in engine.restore(saved) {
        crate::warn!(
            "{TOOL}: --state {}: rule {rule} had open episodes but is not in this run's rules: they will never resolve",
            state.path().display()
        );
    }
    Ok(())
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

fn exit_of(ended: Ended) -> Exit {
    match ended {
        Ended::Done => Exit::Ok,
        Ended::Interrupted => Exit::Interrupted,
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

/// Every record of the input as an observation, to `f` (which may refuse it).
fn for_each_obs(
    args: &DetectArgs,
    label: bool,
    rejects: &mut Rejects,
    out: &mut Output,
    f: &mut dyn FnMut(Option<&mut Owned>, &mut Output) -> input::Outcome,
) -> anyhow::Result<Exit> {
    let parser = ObsParser::new(args.input.time_parser(), label);
    let out = std::cell::RefCell::new(out);
    let ended = input::for_each(
        &args.input.files,
        args.input.input_format,
        args.out.threads(),
        parser,
        rejects,
        &mut |step: Step<Owned>, _text: &[u8]| match step {
            Step::Parsed(o) | Step::Row(_, o) => f(Some(o), &mut out.borrow_mut()),
            Step::NextInput => f(None, &mut out.borrow_mut()),
        },
        &mut || Ok(out.borrow_mut().flush()?),
    )?;
    Ok(exit_of(ended))
}

/// Notes said one by one before the end-of-run count takes over.
const SESSION_NOTES: u64 = 5;

/// `o`'s container went back in time by more than `--lateness`: a new session.
fn new_session(engine: &mut Engine, o: &Obs, args: &DetectArgs) {
    let Some(last) = engine.new_session(o.container_id) else {
        return;
    };
    if engine.sessions <= SESSION_NOTES && !args.out.quiet {
        crate::warn!(
            "{TOOL}: note: {} went back from {} to {} (more than --lateness {}): a new session for it, its history restarted (a replay of captured data?){}",
            o.container_id,
            crate::time::format_millis(last),
            crate::time::format_millis(o.t_ms),
            args.lateness,
            if engine.sessions == SESSION_NOTES { "; further ones are counted at the end" } else { "" }
        );
    }
}

/// The order readings are judged in, the same for detection and
/// `--evaluate`: without `--lateness` each reading at once (a container whose
/// time goes back starts a new session), else held in the reorder buffer and
/// judged in event time as the watermark passes them.
struct Order<'a> {
    args: &'a DetectArgs,
    reorder: Option<reorder::Reorder>,
    /// Held readings whose judging failed (said on stderr, never dropped in silence).
    unjudged: u64,
}

/// Judges one reading: the engine, the reading, and the engine slot of the
/// reading to prefetch for ([`reorder::NO_SLOT`]: none).
type Judge<'j> = dyn FnMut(&mut Engine, &Obs, u32) -> input::Outcome + 'j;

impl<'a> Order<'a> {
    fn new(args: &'a DetectArgs) -> Order<'a> {
        Order {
            args,
            reorder: (args.lateness.millis > 0)
                .then(|| reorder::Reorder::new(args.lateness.millis)),
            unjudged: 0,
        }
    }

    /// Takes one reading: judged now, or held and what the watermark passed judged.
    /// `Ok(Err(why))` rejects the reading's line (too late, or not judged).
    /// The reorder buffer moves `owned` in (its `--evaluate` label, behind
    /// a box, with it) rather than clone it.
    fn take(
        &mut self,
        engine: &mut Engine,
        owned: &mut Owned,
        judge: &mut Judge,
    ) -> input::Outcome {
        let args = self.args;
        let Some(r) = &mut self.reorder else {
            let o = &owned.obs();
            if engine.last_time(o.container_id).is_some_and(|l| o.t_ms < l) {
                new_session(engine, o, args);
            }
            return judge(engine, o, reorder::NO_SLOT);
        };
        let unjudged = &mut self.unjudged;
        let mut released = |engine: &mut Engine, o: &Obs, ahead: u32| {
            held_judged(judge(engine, o, ahead), unjudged)
        };
        // Held readings are judged from the reorder buffer's own copy.
        let (slot, last) = engine.known_in_order(owned.container_id());
        match r.admit(owned, slot, last) {
            Err(why) => return Ok(Err(why)),
            Ok(reorder::Admit::Held) => {}
            Ok(reorder::Admit::NewSession) => {
                // What is held belongs to the old session: judged first.
                r.release(true, &mut |o, ahead| released(engine, o, ahead))?;
                new_session(engine, &owned.obs(), args);
                r.restart_at(owned.t_ms());
                if let Err(why) = r.admit(owned, slot, None) {
                    return Ok(Err(why));
                }
            }
        }
        r.release(false, &mut |o, ahead| released(engine, o, ahead))?;
        Ok(Ok(()))
    }

    /// The end of an input: everything held is judged, and the next input's
    /// time starts afresh.
    fn drain(&mut self, engine: &mut Engine, judge: &mut Judge) -> anyhow::Result<()> {
        let Some(r) = &mut self.reorder else {
            return Ok(());
        };
        let unjudged = &mut self.unjudged;
        r.release(true, &mut |o, ahead| {
            held_judged(judge(engine, o, ahead), unjudged)
        })?;
        r.reset();
        Ok(())
    }
}

/// A held reading was admitted in order, so judging it cannot fail; if it
/// ever did, it is said and counted, never dropped in silence.
fn held_judged(outcome: input::Outcome, unjudged: &mut u64) -> anyhow::Result<()> {
    if let Err(why) = outcome? {
        *unjudged += 1;
        crate::warn!("{TOOL}: {why}");
    }
    Ok(())
}

fn run_detect(
    args: &DetectArgs,
    engine: &mut Engine,
    rejects: &mut Rejects,
    out: &mut Output,
    written: &mut u64,
) -> anyhow::Result<Exit> {
    let mut pending: Vec<FaultEvent> = Vec::new();
    let mut order = Order::new(args);
    let mut judge =
        |engine: &mut Engine, o: &Obs, ahead: u32, out: &mut Output| -> input::Outcome {
            engine.prefetch(ahead);
            let m = masked(o, &args.ignore_field);
            let res = engine.observe(m.as_ref().unwrap_or(o), |e| pending.push(e));
            for e in pending.drain(..) {
                e.write_jsonl(out).context("writing events")?;
                out.end_record()?;
                *written += 1;
            }
            Ok(res.map(drop).map_err(|e| e.to_string()))
        };
    let exit = for_each_obs(args, false, rejects, out, &mut |o, out| {
        let Some(owned) = o else { return Ok(Ok(())) };
        order.take(engine, owned, &mut |engine, o, ahead| {
            judge(engine, o, ahead, out)
        })
    })?;
    order.drain(engine, &mut |engine, o, ahead| judge(engine, o, ahead, out))?;
    Ok(exit.max(Exit::from_rejected(order.unjudged)))
}

fn run_evaluate(
    args: &DetectArgs,
    engine: &mut Engine,
    rejects: &mut Rejects,
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
    let labels = match &args.labels {
        Some(path) => {
            let (labels, skipped) = labels::Labels::read(path, &args.input.time_parser())?;
            if skipped > 0 {
                crate::warn!("{TOOL}: --labels {path}: {skipped} lines without a container and a time left out");
            }
            Some(labels)
        }
        None => None,
    };
    let mut ev = evaluate::Evaluator::default();
    let mut pending: Vec<FaultEvent> = Vec::new();
    let mut judge = |engine: &mut Engine, ev: &mut evaluate::Evaluator, o: &Obs, ahead: u32| {
        engine.prefetch(ahead);
        let relabelled = labels.as_ref().map(|l| {
            let mut r = o.clone();
            r.label = l.during(o.container_id, o.from_ms, o.t_ms + i64::from(!o.window));
            r
        });
        let o = relabelled.as_ref().unwrap_or(o);
        let m = masked(o, &args.ignore_field);
        let res = engine.observe(m.as_ref().unwrap_or(o), |e| pending.push(e));
        if res == Ok(engine::Observed::Used) {
            ev.observe(o);
        }
        for e in pending.drain(..) {
            ev.event(&e);
        }
        res.map(drop).map_err(|e| e.to_string())
    };
    // --lateness: readings held and judged in event time, as without --evaluate.
    let mut order = Order::new(args);
    let exit = for_each_obs(args, true, rejects, out, &mut |o, _| {
        let Some(owned) = o else {
            // The next input: judge what the last one still holds, score it.
            order.drain(engine, &mut |engine, o, ahead| {
                Ok(judge(engine, &mut ev, o, ahead))
            })?;
            ev.finish(&mut scores);
            engine.reset();
            return Ok(Ok(()));
        };
        order.take(engine, owned, &mut |engine, o, ahead| {
            Ok(judge(engine, &mut ev, o, ahead))
        })
    })?;
    order.drain(engine, &mut |engine, o, ahead| {
        Ok(judge(engine, &mut ev, o, ahead))
    })?;
    let exit = exit.max(Exit::from_rejected(order.unjudged));
    ev.finish(&mut scores);
    let no_episodes = scores.kinds.values().all(|k| k.episodes + k.truncated == 0);
    let mut exit = exit;
    if no_episodes && !args.allow_no_episodes {
        crate::warn!("{TOOL}: --evaluate: the input holds no fault episode (its `fault` labels are absent or all null; reefer-sim writes them unless --no-labels; for window rows give --labels READINGS): precision and recall cannot be judged (--allow-no-episodes scores false alerts alone)");
        exit = exit.max(Exit::Partial);
    } else if no_episodes {
        crate::warn!("{TOOL}: --evaluate: no fault episode in the input: every event counts as a false alert");
    }
    if args.json {
        serde_json::to_writer_pretty(&mut *out, &scores.to_json())?;
        writeln!(out)?;
    } else {
        scores.write_table(out)?;
    }
    Ok(exit)
}

/// `--where` on a worker: the condition's fields through the shared scanner.
/// Each record gives whether it matches, and which of the named fields it
/// lacks (a field that disappears matches nothing: it is counted and
/// reported, never silently false).
struct WhereParser {
    expr: filter::Expr,
    named: filter::Named,
    fields: Arc<Fields>,
    slots: Vec<(Slot, Option<Slot>)>,
}

impl WhereParser {
    fn new(expr: filter::Expr, times: crate::time::TimeParser) -> WhereParser {
        let mut fields = Fields::new(times);
        let slots = expr.declare(&mut fields);
        WhereParser {
            named: filter::Named::new(&expr),
            expr,
            fields: fields.into(),
            slots,
        }
    }
}

impl LineParser for WhereParser {
    /// (matches, the named fields it lacks as a bit set)
    type Out = (bool, u64);

    fn scanner(&self) -> Scanner {
        Scanner::new(Arc::clone(&self.fields))
    }

    fn parse(&self, text: &[u8], sc: &mut Scanner) -> Result<(bool, u64), String> {
        let r = sc.scan(text)?;
        Ok((
            self.expr.test_record(r, &self.slots),
            self.named.absent(r, &self.slots),
        ))
    }

    fn parse_map(&self, map: &Map<String, Value>, _: &mut Scanner) -> Result<(bool, u64), String> {
        Ok((self.expr.test_map(map), self.named.absent_in_map(map)))
    }
}

fn run_where(
    args: &DetectArgs,
    expr: filter::Expr,
    rejects: &mut Rejects,
    out: &mut Output,
    summary: &mut Summary,
) -> anyhow::Result<Exit> {
    let names = filter::Named::new(&expr).names;
    let mut without = vec![0u64; names.len().min(64)];
    let mut header_written = false;
    let out = std::cell::RefCell::new(out);
    let ended = input::for_each(
        &args.input.files,
        args.input.input_format,
        args.out.threads(),
        WhereParser::new(expr, args.input.time_parser()),
        rejects,
        &mut |step: Step<(bool, u64)>, text: &[u8]| {
            let mut out = out.borrow_mut();
            let (keep, mask) = match step {
                Step::Parsed(&mut v) | Step::Row(_, &mut v) => v,
                Step::NextInput => return Ok(Ok(())),
            };
            summary.read += 1;
            if mask != 0 {
                for (i, n) in without.iter_mut().enumerate() {
                    *n += mask >> i & 1;
                }
            }
            if !keep {
                return Ok(Ok(()));
            }
            summary.written += 1;
            if let Step::Row(map, _) = step {
                if !header_written {
                    let header: Vec<String> = map.keys().map(|k| csv_field(k)).collect();
                    out.write_all(header.join(",").as_bytes())?;
                    out.write_all(b"\n")?;
                    header_written = true;
                }
                out.write_all(crate::codec::trim_ending(text))?;
            } else {
                out.write_all(text)?;
            }
            out.write_all(b"\n")?;
            out.end_record()?;
            Ok(Ok(()))
        },
        &mut || Ok(out.borrow_mut().flush()?),
    )?;
    let missing: Vec<String> = names
        .iter()
        .zip(&without)
        .filter(|(_, &n)| n > 0)
        .map(|(f, n)| format!("{f} in {n} of {}", summary.read))
        .collect();
    if !missing.is_empty() && !args.out.quiet {
        crate::warn!(
            "{TOOL}: note: --where fields absent from some records: {}; \
             a condition on an absent field is false",
            missing.join(", ")
        );
    }
    Ok(exit_of(ended))
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}
