//! reefer-act: fault events in, alerts out — deduplicated, persistent,
//! retried, and delivered to people and systems.

pub mod deliver;
pub mod dest;
pub mod lifecycle;
pub mod lock;
pub mod store;

use crate::app::{interrupted, usage, Exit};
use crate::backoff::Backoff;
use crate::cli::InputArgs;
use crate::event::{FaultEvent, Status};
use crate::time::Span;
use anyhow::Context;
use clap::Parser;
use deliver::Sender;
use dest::{DestOptions, Destination, Template};
use lifecycle::{Action, Policy};
use serde_json::Value;
use std::io;
use std::time::{Duration, Instant};
use store::Store;

const EXAMPLES: &str = "\
Examples:
  reefer-detect fleet.jsonl | reefer-act --to - --to sqlite://alerts.db
  reefer-act --to https://hooks.slack.com/services/T/B/X --template slack events.jsonl
  reefer-act --to 'exec:/usr/local/bin/page-oncall --team cold-chain' --cooldown 2h
  */5 * * * *  reefer-detect /data/latest.jsonl | reefer-act --state /var/lib/reefer/act.db --to sqlite:///var/lib/reefer/business.db
  reefer-act --to dynamodb://reefer-alerts --to sns://arn:aws:sns:eu-west-1:123456789012:reefer-oncall
  reefer-act --dry-run --to https://example.invalid/hook < events.jsonl

Exit status: 0 all delivered; 1 some input lines rejected or notifications not delivered
(see --dead-letter); 2 usage or configuration error, nothing read; 3 fatal error;
75 another reefer-act run holds the state file's lock (STATE.lock; see --wait); 130 Ctrl-C.";

/// Turn fault events into alerts and deliver them, exactly once.
///
/// One alert per container and fault kind: opened by the first event, updated
/// (count, last seen, severity) by repeats, resolved by a resolve event (or after
/// --resolve-after of event-time silence). People are notified when an alert
/// opens, escalates to critical, or resolves — never on a repeat, and not again
/// within --cooldown. Alerts, the notifications still to deliver, and the events
/// already seen live in a SQLite state file, so runs from cron never notify twice.
/// Failed deliveries are retried with capped exponential backoff and jitter, then
/// kept in --dead-letter and counted in the exit code.
#[derive(Debug, Clone, Parser)]
#[command(name = "reefer-act", version, after_help = EXAMPLES)]
pub struct ActArgs {
    #[command(flatten)]
    pub input: InputArgs,

    /// Destination (repeatable): `-` (alerts on stdout), `sqlite://PATH`,
    /// `http(s)://URL` (POST JSON), `exec:PROGRAM ARGS...` (run directly, no shell),
    /// `dynamodb://TABLE` (every alert change as an item), `sns://TOPIC_ARN` (publish).
    #[arg(long = "to", value_name = "DEST", default_value = "-")]
    pub to: Vec<String>,

    /// State database (alerts, outbox, events seen);
    /// default `$XDG_STATE_HOME/reefer/act.db` or `~/.local/state/reefer/act.db`.
    #[arg(long, value_name = "FILE")]
    pub state: Option<String>,

    /// Do not notify again about the same container and fault within this event-time span
    /// (escalations to critical always go through).
    #[arg(long, default_value = "1h", value_name = "DURATION")]
    pub cooldown: Span,

    /// Resolve an open alert after this much event-time silence (default: only on a resolve event).
    #[arg(long, value_name = "DURATION")]
    pub resolve_after: Option<Span>,

    /// Body of webhook requests.
    #[arg(long, value_enum, default_value_t = Template::Json)]
    pub template: Template,

    /// Retries per delivery before it is dead-lettered.
    #[arg(long, default_value_t = 5, value_name = "N")]
    pub retries: u32,

    /// First retry delay; doubles each time, with jitter, up to 30 times this.
    #[arg(long, default_value = "500ms", value_name = "DURATION")]
    pub retry_delay: Span,

    /// Time allowed for one delivery attempt.
    #[arg(long, default_value = "10s", value_name = "DURATION")]
    pub timeout: Span,

    /// Circuit breaker: after N connection failures in a row (refused, DNS,
    /// timeout) a destination gets no more attempts in this run; its
    /// notifications are dead-lettered at once and stay pending for the next run.
    #[arg(long, default_value_t = 3, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub break_after: u32,

    /// Whole-run deadline: past it, no delivery is attempted, what is left
    /// stays pending, the rest of the input is not read, and the run exits 3.
    #[arg(long, value_name = "DURATION")]
    pub max_time: Option<Span>,

    /// How to reach AWS, for dynamodb:// and sns://.
    #[command(flatten)]
    pub aws: crate::cli::AwsArgs,

    /// When another run holds the state file's lock, wait this long for it to finish
    /// (default: do not wait) before giving up with exit status 75.
    #[arg(long, value_name = "DURATION", default_value = "0s")]
    pub wait: Span,

    /// Print what would be delivered (as JSON lines on stdout) and change nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// `-o FILE`: where `--to -` and `--dry-run` write instead of stdout.
    #[command(flatten)]
    pub out: crate::cli::OutputArgs,
}

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

#[derive(Default)]
struct Counts {
    events: u64,
    duplicates: u64,
    opened: u64,
    escalated: u64,
    resolved: u64,
    stray_resolves: u64,
}

struct Run {
    store: Store,
    sender: Sender,
    dry_run: bool,
    counts: Counts,
}

/// The exit status of a run: contract §7, plus [`lock::EXIT_LOCKED`] when
/// another run holds the state file.
pub fn exit_code(result: anyhow::Result<Exit>) -> std::process::ExitCode {
    match result {
        Err(e) if e.chain().any(|c| c.is::<lock::Locked>()) => {
            crate::warn!("reefer-act: {e}");
            std::process::ExitCode::from(lock::EXIT_LOCKED)
        }
        r => crate::app::finish("reefer-act", r),
    }
}

/// Opens (and so checks) every destination: a program that cannot run, a URL
/// that does not parse, a table or topic that is missing or keyed wrongly is a
/// usage error (exit 2) before any input is read or any state is touched.
fn open_destinations(args: &ActArgs) -> anyhow::Result<Vec<Box<dyn Destination>>> {
    let timeout = args.timeout.to_std().max(Duration::from_millis(1));
    let opts = DestOptions {
        template: args.template,
        timeout,
        output: args.out.output.clone(),
        line_buffered: args.out.line_buffered,
        aws: args.aws.options(Duration::from_secs(3), timeout),
    };
    let mut dests: Vec<Box<dyn Destination>> = Vec::new();
    for uri in &args.to {
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

fn open_state(args: &ActArgs) -> anyhow::Result<(Option<lock::StateLock>, Store)> {
    let state = args.state.clone().unwrap_or_else(default_state_path);
    if let Some(dir) = std::path::Path::new(&state).parent() {
        if !dir.as_os_str().is_empty() {
            std::fs::create_dir_all(dir)
                .map_err(|e| usage(format!("cannot create {}: {e}", dir.display())))?;
        }
    }
    // One sender per state file: held until this run ends.
    let lock = lock::acquire(&state, args.wait.to_std())?;
    let store = Store::open(&state).map_err(|e| usage(e.to_string()))?;
    Ok((Some(lock), store))
}

pub fn run(args: ActArgs) -> anyhow::Result<Exit> {
    if let Some(shell) = args.out.completions {
        crate::cli::write_completions::<ActArgs>(shell, &mut io::stdout())?;
        return Ok(Exit::Ok);
    }
    let started = Instant::now();
    let mut input = args.input.open()?;
    let mut rejects = args.input.rejects("reefer-act")?;
    let times = args.input.time_parser();
    let dests = open_destinations(&args)?;
    let (_lock, store) = open_state(&args)?;
    let policy = Policy {
        cooldown_ms: args.cooldown.millis,
        resolve_after_ms: args.resolve_after.map(|s| s.millis),
    };
    let first = args.retry_delay.to_std();
    // Jitter only spreads retries out; it never shapes output, so the clock may seed it.
    let mut sender = Sender::new(dests, Backoff::new(first, first * 30, jitter_seed()));
    sender.retries = args.retries;
    sender.break_after = args.break_after;
    sender.deadline = args.max_time.map(|t| started + t.to_std());
    if args.dry_run {
        sender.dry_run = Some(args.out.open()?);
    }
    let mut run = Run {
        store,
        sender,
        dry_run: args.dry_run,
        counts: Counts::default(),
    };
    crate::app::catch_interrupt();
    if run.dry_run {
        run.store.begin()?;
    }
    let elsewhere = run.store.count_pending_elsewhere(&run.sender.keys)?;
    if elsewhere > 0 {
        crate::warn!(
            "reefer-act: {elsewhere} notifications in the state file wait for destinations not given this time; they stay queued"
        );
    }
    // Whatever an earlier run could not finish goes first.
    run.sender.deliver_pending(&run.store, &mut rejects)?;
    let mut exit = Exit::Ok;
    while !run.sender.deadline_hit {
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
            .and_then(|m| FaultEvent::from_map(&m, &times).map_err(|e| e.to_string()));
        let ev = match parsed {
            Ok(ev) => ev,
            Err(why) => {
                rejects.reject(rec.input, rec.line, rec.raw, &why)?;
                continue;
            }
        };
        run.counts.events += 1;
        run.apply(&ev, &policy)?;
        run.sender.deliver_pending(&run.store, &mut rejects)?;
        if interrupted() {
            exit = Exit::Interrupted;
            break;
        }
    }
    run.sender.finish()?;
    if run.dry_run {
        run.store.rollback()?;
    }
    rejects.flush()?;
    if !args.out.quiet {
        run.summary(rejects.count());
    }
    if run.sender.deadline_hit {
        return Err(anyhow::anyhow!(
            "--max-time {} reached after {} events; the rest of the input was not read, and undelivered notifications stay pending for the next run",
            args.max_time.map_or(String::new(), |t| format!("{:.1} s", t.as_secs_f64())),
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
    fn summary(&self, bad_lines: u64) {
        let c = &self.counts;
        let dead: u64 = self.sender.counts.iter().map(|d| d.dead).sum();
        let deferred: u64 = self.sender.counts.iter().map(|d| d.deferred).sum();
        crate::warn!(
            "reefer-act: {} events ({} already seen), alerts: {} opened, {} escalated, {} resolved; notifications: {} {}, {} failed{}{}{}",
            c.events,
            c.duplicates,
            c.opened,
            c.escalated,
            c.resolved,
            self.sender.delivered(),
            if self.dry_run { "would be delivered" } else { "delivered" },
            dead,
            if deferred > 0 { format!(", {deferred} left pending") } else { String::new() },
            if c.stray_resolves > 0 { format!("; {} resolve events without an open alert", c.stray_resolves) } else { String::new() },
            if bad_lines > 0 { format!("; {bad_lines} bad input lines") } else { String::new() },
        );
    }

    fn apply(&mut self, ev: &FaultEvent, policy: &Policy) -> anyhow::Result<()> {
        if !self.dry_run {
            self.store.begin()?;
        }
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
        if !self.dry_run {
            self.store.commit()?;
        }
        Ok(())
    }
}
