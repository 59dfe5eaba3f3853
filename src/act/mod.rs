//! reefer-act: fault events in, alerts out — deduplicated, persistent,
//! retried, and delivered to people and systems.

pub mod args;
pub mod deliver;
pub mod dest;
pub mod lifecycle;
pub mod ops;
pub mod store;

use crate::app::{interrupted, usage, Exit};
use crate::backoff::Backoff;
use crate::event::{FaultEvent, Status};
use crate::summary::{Deliveries, Summary};
use anyhow::Context;
pub use args::ActArgs;
use args::{Command, SendArgs, StateArgs};
use deliver::Sender;
use dest::{DestOptions, Destination};
use lifecycle::{Action, Policy};
use serde_json::Value;
use std::io;
use std::time::{Duration, Instant};
use store::Store;

fn jitter_seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64);
    nanos ^ u64::from(std::process::id())
}

fn default_state_path() -> String {
    let base = std::env::var_os("XDG_STATE_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".local/state"))
        });
    match base {
        Some(b) => b.join("reefer").join("act.db").display().to_string(),
        None => "reefer-act.db".to_string(),
    }
}

#[derive(Default, serde::Serialize)]
struct Counts {
    events: u64,
    duplicates: u64,
    /// Events older than the horizon of `reefer-act prune`.
    before_horizon: u64,
    opened: u64,
    escalated: u64,
    reminders: u64,
    resolved: u64,
    stray_resolves: u64,
}

struct Run {
    store: Store,
    sender: Sender,
    dry_run: bool,
    counts: Counts,
    /// Events before this event time were pruned: ignored, never taken for new.
    horizon: Option<i64>,
}

/// Opens (and so checks) every destination: a program that cannot run, a URL
/// that does not parse, a table or topic that is missing or keyed wrongly is a
/// usage error (exit 2) before any input is read or any state is touched.
fn open_destinations(
    send: &SendArgs,
    uris: &[String],
) -> anyhow::Result<Vec<Box<dyn Destination>>> {
    let timeout = send.timeout.to_std().max(Duration::from_millis(1));
    let opts = DestOptions {
        template: send.template,
        timeout,
        output: send.out.output.clone(),
        line_buffered: send.out.line_buffered,
        aws: send.aws.options(Duration::from_secs(3), timeout),
    };
    let mut dests: Vec<Box<dyn Destination>> = Vec::new();
    for uri in uris {
        let d = dest::open(uri, &opts)?;
        if dests.iter().any(|o| o.uri() == d.uri()) {
            return Err(usage(format!(
                "destination {} given twice (destinations are told apart with their credentials masked)",
                d.uri()
            )));
        }
        dests.push(d);
    }
    Ok(dests)
}

fn state_path(args: &StateArgs) -> String {
    args.state.clone().unwrap_or_else(default_state_path)
}

/// The state file's lock, held for the whole run: two runs on one state
/// (overlapping cron jobs) would both deliver the same pending notifications.
/// It is the shared `FILE.lock` of [`crate::statefile`] (flock, released by
/// the kernel even after `kill -9`); a second run waits `--wait` or exits 75.
pub type StateLock = crate::statefile::Lock;

/// Opens the state for a run that changes it: the lock first (one sender per
/// state file), then the database.
fn open_state(args: &StateArgs) -> anyhow::Result<(StateLock, Store)> {
    let state = state_path(args);
    if let Some(dir) = std::path::Path::new(&state).parent() {
        if !dir.as_os_str().is_empty() {
            std::fs::create_dir_all(dir)
                .map_err(|e| usage(format!("cannot create {}: {e}", dir.display())))?;
        }
    }
    let wait = args.wait.to_std();
    let lock = StateLock::acquire(&state, "reefer-act", (!wait.is_zero()).then_some(wait))?;
    let store = Store::open(&state).map_err(|e| usage(e.to_string()))?;
    Ok((lock, store))
}

/// A sender for these destinations, with the run's retry policy and deadline.
fn sender(send: &SendArgs, dests: Vec<Box<dyn Destination>>, started: Instant) -> Sender {
    let first = send.retry_delay.to_std();
    // Jitter only spreads retries out; it never shapes output, so the clock may seed it.
    let mut sender = Sender::new(dests, Backoff::new(first, first * 30, jitter_seed()));
    sender.retries = send.retries;
    sender.break_after = send.break_after;
    sender.deadline = send.max_time.map(|t| started + t.to_std());
    sender
}

pub fn run(args: ActArgs) -> anyhow::Result<Exit> {
    if let Some(shell) = args.send.out.completions {
        crate::cli::write_completions::<ActArgs>(shell, &mut io::stdout())?;
        return Ok(Exit::Ok);
    }
    match &args.command {
        Some(Command::Alerts(a)) => return ops::alerts(a, &state_path(&a.state)),
        Some(Command::Ack(a)) => return ops::ack(a, open_state(&a.state)?),
        Some(Command::Prune(a)) => return ops::prune(a, open_state(&a.state)?),
        Some(Command::Resend(a)) => {
            let started = Instant::now();
            // Destinations given are checked before the state is touched; without
            // them, the state says which (only those it can name in full).
            let given = open_destinations(&a.send, &a.send.to)?;
            let (_lock, store) = open_state(&a.send.state)?;
            let dests = if a.send.to.is_empty() {
                open_destinations(&a.send, &ops::stored_destinations(&store)?)?
            } else {
                given
            };
            return ops::resend(&a.send, store, sender(&a.send, dests, started));
        }
        None => {}
    }
    pipe(&args)
}

/// The plain pipe form: fault events in, notifications out.
fn pipe(args: &ActArgs) -> anyhow::Result<Exit> {
    let started = Instant::now();
    let mut input = args.input.open()?;
    let mut rejects = args.input.rejects("reefer-act")?;
    let times = args.input.time_parser();
    let uris = if args.send.to.is_empty() {
        vec!["-".to_string()]
    } else {
        args.send.to.clone()
    };
    let dests = open_destinations(&args.send, &uris)?;
    // A dry run works on a private copy: no state file, lock or destination is written.
    let (_lock, mut store) = if args.dry_run {
        (None, Store::open_copy(&state_path(&args.send.state))?)
    } else {
        let (lock, store) = open_state(&args.send.state)?;
        (Some(lock), store)
    };
    let policy = Policy {
        cooldown_ms: args.cooldown.millis,
        resolve_after_ms: args.resolve_after.map(|s| s.millis),
        remind_every_ms: args.remind_every.map(|s| s.millis),
    };
    let mut sender = sender(&args.send, dests, started);
    if args.dry_run {
        sender.dry_run = Some(args.send.out.open()?);
    }
    store.set_scope(store::scope_of(&sender.keys));
    let horizon = store.horizon_ms()?;
    let mut run = Run {
        store,
        sender,
        dry_run: args.dry_run,
        counts: Counts::default(),
        horizon,
    };
    crate::app::catch_interrupt();
    let elsewhere = run.store.count_pending_elsewhere(&run.sender.keys)?;
    if elsewhere > 0 {
        crate::warn!(
            "reefer-act: {elsewhere} notifications in the state file wait for destinations not given this time; they stay queued"
        );
    }
    // Whatever an earlier run could not finish goes first. A closed stdout
    // (`--to -` into `| head`) stops the run quietly: what it could not write
    // stays pending for the next run, and --stats-json still says what it did.
    let mut exit = Exit::Ok;
    let closed = crate::app::output_closed((|| {
        run.sender.deliver_pending(&run.store, &mut rejects)?;
        exit = run.consume(&mut input, &mut rejects, &times, &policy)?;
        run.sender.finish()?;
        Ok(())
    })())?;
    rejects.flush()?;
    let mut summary = run.summary(&rejects);
    summary.output_closed = closed;
    if !args.send.out.quiet && !closed {
        crate::warn!("{}", summary.line("reefer-act"));
    }
    if let Some(path) = &args.send.out.stats_json {
        run.write_stats(&summary, path, started)?;
    }
    if closed {
        return Ok(Exit::Ok);
    }
    if run.sender.deadline_hit {
        return Err(anyhow::anyhow!(
            "--max-time {} reached after {} events; the rest of the input was not read, and undelivered notifications stay pending for the next run",
            args.send.max_time.map_or(String::new(), |t| format!("{:.1} s", t.as_secs_f64())),
            run.counts.events
        ));
    }
    if exit == Exit::Interrupted {
        return Ok(exit);
    }
    Ok(Exit::from_rejected(
        rejects.count() + run.sender.undelivered(),
    ))
}

impl Run {
    /// Reads events until the input ends, the deadline passes or Ctrl-C;
    /// each event is applied and its notifications delivered before the next.
    fn consume(
        &mut self,
        input: &mut crate::codec::Input,
        rejects: &mut crate::codec::Rejects,
        times: &crate::time::TimeParser,
        policy: &Policy,
    ) -> anyhow::Result<Exit> {
        while !self.sender.deadline_hit {
            let rec = match input.next_rec().context("reading fault events")? {
                None => break,
                Some(Err(bad)) => {
                    rejects.reject(bad.input, bad.line, bad.raw, &bad.why)?;
                    continue;
                }
                Some(Ok(rec)) => rec,
            };
            let parsed = rec
                .to_map()
                .and_then(|m| FaultEvent::from_map(&m, times).map_err(|e| e.to_string()));
            let ev = match parsed {
                Ok(ev) => ev,
                Err(why) => {
                    rejects.reject(rec.input, rec.line, rec.raw, &why)?;
                    continue;
                }
            };
            self.counts.events += 1;
            self.apply(&ev, policy)?;
            self.sender.deliver_pending(&self.store, rejects)?;
            if interrupted() {
                return Ok(Exit::Interrupted);
            }
        }
        Ok(Exit::Ok)
    }

    fn write_stats(&self, summary: &Summary, path: &str, started: Instant) -> anyhow::Result<()> {
        let per_dest: serde_json::Map<String, Value> = self
            .sender
            .keys
            .iter()
            .zip(&self.sender.counts)
            .map(|(k, c)| (k.clone(), serde_json::to_value(c).unwrap_or(Value::Null)))
            .collect();
        let deferred: u64 = self.sender.counts.iter().map(|d| d.deferred).sum();
        let extra = serde_json::json!({
            "dry_run": self.dry_run,
            "events": &self.counts,
            "pending": deferred,
            "destinations": per_dest,
        });
        summary.write_json(path, "reefer-act", started, extra)
    }

    /// The run's account: events read, notifications written (delivered, or
    /// that would be in a dry run), those that failed (dead-lettered or left
    /// pending) and those dead-lettered; then the alerts.
    fn summary(&self, rejects: &crate::codec::Rejects) -> Summary {
        let c = &self.counts;
        let dead: u64 = self.sender.counts.iter().map(|d| d.dead).sum();
        let deferred: u64 = self.sender.counts.iter().map(|d| d.deferred).sum();
        let delivered = self.sender.delivered();
        let mut notes = vec![format!(
            "{} events ({} already seen), alerts: {} opened, {} escalated, {} resolved",
            c.events, c.duplicates, c.opened, c.escalated, c.resolved
        )];
        if self.dry_run {
            notes.push("dry run: nothing was sent".into());
        }
        if deferred > 0 {
            notes.push(format!(
                "{deferred} notifications left pending for the next run"
            ));
        }
        if c.stray_resolves > 0 {
            notes.push(format!(
                "{} resolve events without an open alert",
                c.stray_resolves
            ));
        }
        Summary {
            read: c.events + rejects.count(),
            written: delivered,
            rejected: rejects.count(),
            rejected_kept_in: rejects.kept_in().map(str::to_string),
            deliveries: Some(Deliveries {
                delivered: if self.dry_run { 0 } else { delivered },
                failed: dead + deferred,
                dead,
            }),
            notes,
            ..Summary::new("notification")
        }
    }

    fn apply(&mut self, ev: &FaultEvent, policy: &Policy) -> anyhow::Result<()> {
        if self.horizon.is_some_and(|h| ev.detected_at_ms < h) {
            self.counts.before_horizon += 1;
            return Ok(());
        }
        self.store.begin()?;
        if !self.store.first_sighting(ev)? {
            self.counts.duplicates += 1;
        } else {
            let changes = lifecycle::apply(&self.store, ev, policy)?;
            if changes.is_empty() && ev.status == Status::Resolved {
                self.counts.stray_resolves += 1;
            }
            for c in changes {
                match c.action {
                    Action::Opened => self.counts.opened += 1,
                    Action::Escalated => self.counts.escalated += 1,
                    Action::Resolved => self.counts.resolved += 1,
                    Action::Reminder => self.counts.reminders += 1,
                    Action::Updated => {}
                }
                let mut payload = c.alert.to_json(c.action.name());
                if let Value::Object(m) = &mut payload {
                    m.insert("notified".into(), Value::Bool(c.alert.notified));
                    m.insert(
                        "last_notified_at".into(),
                        c.alert
                            .last_notified_ms
                            .map(crate::time::format_millis)
                            .map_or(Value::Null, Value::String),
                    );
                }
                for d in &self.sender.dests {
                    let wanted =
                        d.records_every_change() || (c.notify && c.action != Action::Updated);
                    if wanted {
                        self.store
                            .enqueue(c.alert.id, d.uri(), c.action.name(), &payload)?;
                    }
                }
            }
        }
        self.store.commit()?;
        Ok(())
    }
}
