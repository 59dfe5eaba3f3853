//! reefer-act's command line: the pipe form (events in, notifications out)
//! and the operator's subcommands, sharing the state and delivery options.

use super::dest::Template;
use crate::cli::InputArgs;
use crate::time::Span;
use clap::{Args, Parser, Subcommand, ValueEnum};

const EXAMPLES: &str = "\
Examples:
  reefer-detect fleet.jsonl | reefer-act --to - --to sqlite://alerts.db
  reefer-act --to https://hooks.slack.com/services/T/B/X --template slack events.jsonl
  reefer-act --to 'exec:/usr/local/bin/page-oncall --team cold-chain' --cooldown 2h events.jsonl
  reefer-detect /data/latest.jsonl | reefer-act --state /var/lib/reefer/act.db --wait 4m  (cron)
  reefer-act --wait 4m --max-time 4m --to https://ops.example/hook events.jsonl
  reefer-act --to dynamodb://reefer-alerts events.jsonl
  reefer-act --to sns://arn:aws:sns:eu-west-1:123456789012:reefer-oncall events.jsonl
  reefer-act --dry-run --to https://example.invalid/hook < events.jsonl
  reefer-act alerts --state /var/lib/reefer/act.db --status resolved --fault door_open
  reefer-act ack 1
  reefer-act prune --state /var/lib/reefer/act.db --older-than 30d

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
/// Each set of --to destinations is its own pipeline inside the state file (its
/// own events seen and alerts), so an ad-hoc `--to -` run never takes events away
/// from the cron job's webhook. One run at a time per state file (a lock).
/// Failed deliveries are retried with capped exponential backoff and jitter, then
/// kept in --dead-letter and counted in the exit code.
#[derive(Debug, Clone, Parser)]
#[command(name = "reefer-act", version, after_help = EXAMPLES, args_conflicts_with_subcommands = true)]
pub struct ActArgs {
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub input: InputArgs,

    #[command(flatten)]
    pub send: SendArgs,

    /// Do not notify again about the same container and fault within this event-time span
    /// (escalations to critical always go through).
    #[arg(long, default_value = "1h", value_name = "DURATION")]
    pub cooldown: Span,

    /// Remind people of an alert still open (and not acknowledged) this long, in event
    /// time, after the last notification about it; repeated every DURATION (default: never).
    #[arg(long, value_name = "DURATION")]
    pub remind_every: Option<Span>,

    /// Resolve an open alert after this much event-time silence (default: only on a resolve event).
    #[arg(long, value_name = "DURATION")]
    pub resolve_after: Option<Span>,

    /// Print what would be delivered (as JSON lines on stdout) and change nothing:
    /// no state file, lock or destination is written.
    #[arg(long)]
    pub dry_run: bool,
}

/// The state file, and how long to wait for another run holding it.
#[derive(Debug, Clone, Args)]
pub struct StateArgs {
    /// State database (alerts, outbox, events seen);
    /// default `$XDG_STATE_HOME/reefer/act.db` or `~/.local/state/reefer/act.db`.
    #[arg(long, value_name = "FILE")]
    pub state: Option<String>,

    /// When another run holds the state file's lock, wait this long for it to finish
    /// (default: do not wait) before giving up with exit status 75.
    #[arg(long, value_name = "DURATION", default_value = "0s")]
    pub wait: Span,
}

/// Where notifications go and how hard to try.
#[derive(Debug, Clone, Args)]
pub struct SendArgs {
    #[command(flatten)]
    pub state: StateArgs,

    /// Destination (repeatable): `-` (alerts on stdout), `sqlite://PATH`,
    /// `http(s)://URL` (POST JSON), `exec:PROGRAM ARGS...` (run directly, no shell),
    /// `dynamodb://TABLE` (every alert change as an item), `sns://TOPIC_ARN` (publish).
    /// Default: `-`; for `resend`, every destination with dead or pending
    /// notifications whose URI holds no credential.
    #[arg(long = "to", value_name = "DEST")]
    pub to: Vec<String>,

    /// Body of webhook requests and of what exec: programs read on stdin.
    #[arg(long, value_enum, default_value_t = Template::Json)]
    pub template: Template,

    /// Retries per delivery before it is dead-lettered.
    #[arg(long, default_value_t = 5, value_name = "N")]
    pub retries: u32,

    /// First retry delay; doubles each time, with jitter, up to 30 times this.
    #[arg(long, default_value = "500ms", value_name = "DURATION")]
    pub retry_delay: Span,

    /// Time allowed for one delivery attempt (an exec: program is killed after it).
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

    /// `-o FILE`: where `--to -` and `--dry-run` write instead of stdout.
    #[command(flatten)]
    pub out: crate::cli::OutputArgs,
}

/// The operator's commands on a state file.
#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// List alerts (newest first) as a table or JSON Lines.
    Alerts(AlertsArgs),
    /// Acknowledge alerts: they notify no more (no escalation, no reminder) until they resolve.
    Ack(AckArgs),
    /// Deliver again the notifications that are dead or pending (for the --to destinations, or all).
    Resend(ResendArgs),
    /// Forget events seen and resolved alerts older than a horizon (event time).
    Prune(PruneArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatusFilter {
    Open,
    Resolved,
    All,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    /// Aligned columns for people.
    Table,
    /// One JSON object per alert, as destinations receive it.
    Json,
}

#[derive(Debug, Clone, Args)]
pub struct AlertsArgs {
    #[command(flatten)]
    pub state: StateArgs,

    /// Which alerts.
    #[arg(long, value_enum, default_value_t = StatusFilter::All)]
    pub status: StatusFilter,

    /// Only this container.
    #[arg(long, value_name = "ID")]
    pub container: Option<String>,

    /// Only this fault.
    #[arg(long, value_name = "FAULT")]
    pub fault: Option<String>,

    #[arg(long, value_enum, default_value_t = ListFormat::Table)]
    pub format: ListFormat,

    /// At most N alerts.
    #[arg(long, value_name = "N")]
    pub limit: Option<u32>,
}

#[derive(Debug, Clone, Args)]
pub struct AckArgs {
    #[command(flatten)]
    pub state: StateArgs,

    /// Alert ids (the `alert_id` of notifications and of `reefer-act alerts`).
    #[arg(value_name = "ID", required = true)]
    pub ids: Vec<i64>,
}

#[derive(Debug, Clone, Args)]
pub struct ResendArgs {
    #[command(flatten)]
    pub send: SendArgs,
}

#[derive(Debug, Clone, Args)]
pub struct PruneArgs {
    #[command(flatten)]
    pub state: StateArgs,

    /// Forget what is older than this, counted back from the latest event in the state.
    #[arg(long, value_name = "DURATION")]
    pub older_than: Span,
}
