//! reefer-act: fault events in, alerts out — deduplicated, persistent,
//! retried, and delivered to people and systems.

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
use dest::{DestOptions, Destination, Template};
use lifecycle::{Action, Policy};
use serde_json::{json, Value};
use std::io::{self, Write};
use std::time::Duration;
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
    delivered: u64,
    failed: u64,
    stray_resolves: u64,
}

struct Run {
    store: Store,
    dests: Vec<Box<dyn Destination>>,
    uris: Vec<String>,
    backoff: Backoff,
    retries: u32,
    dry_run: bool,
    dry_out: crate::codec::Output,
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

pub fn run(args: ActArgs) -> anyhow::Result<Exit> {
    if let Some(shell) = args.out.completions {
        crate::cli::write_completions::<ActArgs>(shell, &mut io::stdout())?;
        return Ok(Exit::Ok);
    }
    let mut input = args.input.open()?;
    let mut rejects = args.input.rejects("reefer-act")?;
    let times = args.input.time_parser();
    let state = args.state.clone().unwrap_or_else(default_state_path);
    if let Some(dir) = std::path::Path::new(&state).parent() {
        if !dir.as_os_str().is_empty() {
            std::fs::create_dir_all(dir)
                .map_err(|e| usage(format!("cannot create {}: {e}", dir.display())))?;
        }
    }
    // One sender per state file: held until this run ends.
    let _lock = lock::acquire(&state, args.wait.to_std())?;
    let store = Store::open(&state).map_err(|e| usage(e.to_string()))?;
    let opts = DestOptions {
        template: args.template,
        timeout: args.timeout.to_std().max(Duration::from_millis(1)),
        output: args.out.output.clone(),
        line_buffered: args.out.line_buffered,
        aws: args.aws.options(
            Duration::from_secs(3),
            args.timeout.to_std().max(Duration::from_millis(1)),
        ),
    };
    let mut dests = Vec::new();
    let mut uris: Vec<String> = Vec::new();
    for uri in &args.to {
        if uris.contains(uri) {
            return Err(usage(format!("destination {uri} given twice")));
        }
        dests.push(dest::open(uri, &opts)?);
        uris.push(uri.clone());
    }
    let policy = Policy {
        cooldown_ms: args.cooldown.millis,
        resolve_after_ms: args.resolve_after.map(|s| s.millis),
    };
    let first = args.retry_delay.to_std();
    let mut run = Run {
        store,
        dests,
        uris,
        // Jitter only spreads retries out; it never shapes output, so the clock may seed it.
        backoff: Backoff::new(first, first * 30, jitter_seed()),
        retries: args.retries,
        dry_run: args.dry_run,
        dry_out: args.out.open()?,
        counts: Counts::default(),
    };
    crate::app::catch_interrupt();
    if run.dry_run {
        run.store.begin()?;
    }
    let elsewhere = run.store.count_pending_elsewhere(&run.uris)?;
    if elsewhere > 0 {
        crate::warn!(
            "reefer-act: {elsewhere} notifications in the state file wait for destinations not given this time; they stay queued"
        );
    }
    // Whatever an earlier run could not finish goes first.
    let mut exit = run.deliver_pending(&mut rejects)?;
    while exit == Exit::Ok {
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
        exit = run.deliver_pending(&mut rejects)?;
        if interrupted() {
            exit = Exit::Interrupted;
        }
    }
    for d in &mut run.dests {
        d.finish()?;
    }
    run.dry_out.flush()?;
    if run.dry_run {
        run.store.rollback()?;
    }
    rejects.flush()?;
    let c = &run.counts;
    if !args.out.quiet {
        crate::warn!(
        "reefer-act: {} events ({} already seen), alerts: {} opened, {} escalated, {} resolved; notifications: {} {}, {} failed{}{}",
        c.events,
        c.duplicates,
        c.opened,
        c.escalated,
        c.resolved,
        c.delivered,
        if run.dry_run { "would be delivered" } else { "delivered" },
        c.failed,
        if c.stray_resolves > 0 { format!("; {} resolve events without an open alert", c.stray_resolves) } else { String::new() },
        if rejects.count() > 0 { format!("; {} bad input lines", rejects.count()) } else { String::new() },
    );
    }
    if exit == Exit::Interrupted {
        return Ok(exit);
    }
    Ok(Exit::from_rejected(rejects.count() + c.failed))
}

impl Run {
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
                for d in &self.dests {
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

    /// Delivers every pending notification; `Ok(Exit::Ok)` unless stdout closed.
    fn deliver_pending(&mut self, rejects: &mut crate::codec::Rejects) -> anyhow::Result<Exit> {
        let pending = self.store.pending(&self.uris)?;
        for row in pending {
            let payload: Value = serde_json::from_str(&row.payload).context("outbox payload")?;
            let idx = self
                .uris
                .iter()
                .position(|u| *u == row.destination)
                .expect("pending() filters by destination");
            if self.dry_run {
                let line = json!({ "dry_run": true, "destination": row.destination, "notification": payload });
                writeln!(self.dry_out, "{line}")?;
                self.store.mark(row.id, true, 0, None)?;
                self.counts.delivered += 1;
                continue;
            }
            let mut attempts = row.attempts;
            let outcome = loop {
                attempts += 1;
                match self.dests[idx].deliver(&payload) {
                    Ok(()) => break Ok(()),
                    Err(e) if e.broken_pipe => {
                        return Err(io::Error::from(io::ErrorKind::BrokenPipe))
                            .context("writing alerts");
                    }
                    Err(e) if e.retryable && (attempts - row.attempts) <= self.retries as i64 => {
                        let wait = self.backoff.delay((attempts - row.attempts) as u32);
                        crate::warn!(
                            "reefer-act: {}: {} (attempt {}, retrying in {} ms)",
                            row.destination,
                            e.message,
                            attempts - row.attempts,
                            wait.as_millis()
                        );
                        std::thread::sleep(wait);
                    }
                    Err(e) => break Err(e),
                }
            };
            match outcome {
                Ok(()) => {
                    self.store.mark(row.id, true, attempts, None)?;
                    self.counts.delivered += 1;
                }
                Err(e) => {
                    crate::warn!(
                        "reefer-act: giving up on {} for alert {} after {} attempts: {}",
                        row.destination,
                        payload.get("alert_id").unwrap_or(&Value::Null),
                        attempts - row.attempts,
                        e.message
                    );
                    self.store.mark(row.id, false, attempts, Some(&e.message))?;
                    let line = json!({
                        "destination": row.destination,
                        "error": e.message,
                        "attempts": attempts,
                        "notification": payload,
                    });
                    rejects.keep(&line.to_string())?;
                    self.counts.failed += 1;
                }
            }
        }
        Ok(Exit::Ok)
    }
}
