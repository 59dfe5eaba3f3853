//! The operator's subcommands on a state file: `alerts`, `ack`, `resend`, `prune`.

use super::args::{AckArgs, AlertsArgs, ListFormat, PruneArgs, SendArgs, StatusFilter};
use super::deliver::Sender;
use super::store::{AlertFilter, Store};
use super::StateLock;
use crate::app::{usage, Exit};
use crate::codec::{BadInput, Rejects};
use crate::time::format_millis;
use serde_json::Value;
use std::io::Write;

/// `reefer-act alerts`: reads the state (no lock: SQLite lets readers in
/// beside a writer, and a reader changes nothing) and lists alerts newest first.
pub fn alerts(args: &AlertsArgs, state: &str) -> anyhow::Result<Exit> {
    if !std::path::Path::new(state).exists() {
        return Err(usage(format!("no state file {state} (see --state)")));
    }
    let store = Store::open_read_only(state)?;
    let filter = AlertFilter {
        open: match args.status {
            StatusFilter::Open => Some(true),
            StatusFilter::Resolved => Some(false),
            StatusFilter::All => None,
        },
        container: args.container.clone(),
        fault: args.fault.clone(),
        limit: args.limit,
    };
    let list = store.list_alerts(&filter)?;
    let mut out = crate::codec::Output::stdout(false);
    match args.format {
        ListFormat::Json => {
            for a in &list {
                let mut v = a.to_json(if a.open { "open" } else { "resolved" });
                if let Value::Object(m) = &mut v {
                    m.remove("notification_id");
                    m.remove("action");
                    m.insert("notified".into(), a.notified.into());
                    m.insert(
                        "last_notified_at".into(),
                        a.last_notified_ms.map(format_millis).into(),
                    );
                    m.insert("acknowledged_at".into(), a.acknowledged_at.clone().into());
                    let dests: Vec<&str> = a.scope.lines().collect();
                    m.insert("destinations".into(), dests.into());
                }
                writeln!(out, "{v}")?;
            }
        }
        ListFormat::Table => write_table(&mut out, &list)?,
    }
    out.flush()?;
    Ok(Exit::Ok)
}

fn write_table(out: &mut impl Write, list: &[super::store::Alert]) -> std::io::Result<()> {
    let header = [
        "ID",
        "STATUS",
        "SEVERITY",
        "CONTAINER",
        "FAULT",
        "SINCE",
        "LAST_SEEN",
        "EVENTS",
        "ACK",
    ];
    let rows: Vec<[String; 9]> = list
        .iter()
        .map(|a| {
            [
                a.id.to_string(),
                if a.open { "open" } else { "resolved" }.to_string(),
                a.severity.name().to_string(),
                a.container_id.clone(),
                a.fault.clone(),
                format_millis(a.since_ms),
                format_millis(a.resolved_at_ms.unwrap_or(a.last_seen_ms)),
                a.event_count.to_string(),
                if a.acknowledged_at.is_some() {
                    "yes"
                } else {
                    ""
                }
                .to_string(),
            ]
        })
        .collect();
    let mut width = header.map(str::len);
    for r in &rows {
        for (w, c) in width.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |out: &mut dyn Write, cells: &[&str]| -> std::io::Result<()> {
        let mut text = String::new();
        for (i, (c, w)) in cells.iter().zip(width).enumerate() {
            if i > 0 {
                text.push_str("  ");
            }
            text.push_str(c);
            if i + 1 < cells.len() {
                text.extend(std::iter::repeat_n(' ', w - c.chars().count()));
            }
        }
        writeln!(out, "{}", text.trim_end())
    };
    line(out, &header)?;
    for r in &rows {
        line(out, &r.each_ref().map(String::as_str))?;
    }
    Ok(())
}

/// `reefer-act ack ID...`: acknowledged alerts notify no more until they resolve.
pub fn ack(args: &AckArgs, (_lock, store): (StateLock, Store)) -> anyhow::Result<Exit> {
    let at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mut exit = Exit::Ok;
    for &id in &args.ids {
        match store.acknowledge(id, &at)? {
            Some(true) => crate::warn!("reefer-act: alert {id} acknowledged"),
            Some(false) => crate::warn!("reefer-act: alert {id} is resolved already"),
            None => {
                crate::warn!("reefer-act: no alert {id}");
                exit = Exit::Partial;
            }
        }
    }
    Ok(exit)
}

/// The destinations `resend` without `--to` can reach: those with dead or
/// pending notifications whose stored (masked) URI is the real one. A masked
/// one is named, and skipped: its credentials are not in the state.
pub fn stored_destinations(store: &Store) -> anyhow::Result<Vec<String>> {
    let mut usable = Vec::new();
    for d in store.undelivered_destinations()? {
        if d.contains(crate::redact::MASK) {
            crate::warn!(
                "reefer-act: resend: skipping {d}: its credentials are not stored; give it with --to"
            );
        } else {
            usable.push(d);
        }
    }
    Ok(usable)
}

/// `reefer-act resend [--to DEST...]`: dead notifications of these destinations
/// become pending again, and every pending one of them is delivered. The
/// state keeps destinations only masked, so one with credentials comes from `--to`.
pub fn resend(send: &SendArgs, store: Store, mut sender: Sender) -> anyhow::Result<Exit> {
    let requeued = store.requeue_dead(&sender.keys)?;
    let mut rejects = Rejects::new("reefer-act", BadInput::Skip, None)?;
    sender.deliver_pending(&store, &mut rejects)?;
    sender.finish()?;
    if !send.out.quiet {
        let deferred: u64 = sender.counts.iter().map(|c| c.deferred).sum();
        let dead: u64 = sender.counts.iter().map(|c| c.dead).sum();
        let mut notes = vec![format!("resend: {requeued} dead notifications requeued")];
        if deferred > 0 {
            notes.push(format!(
                "{deferred} notifications left pending for the next run"
            ));
        }
        let summary = crate::summary::Summary {
            written: sender.delivered(),
            deliveries: Some(crate::summary::Deliveries {
                delivered: sender.delivered(),
                failed: dead + deferred,
                dead,
            }),
            notes,
            ..crate::summary::Summary::new("notification")
        };
        crate::warn!("{}", summary.line("reefer-act"));
    }
    if sender.deadline_hit {
        return Err(anyhow::anyhow!(
            "--max-time reached; undelivered notifications stay pending"
        ));
    }
    Ok(Exit::from_rejected(sender.undelivered()))
}

/// `reefer-act prune --older-than DUR`: the horizon is counted back from the
/// latest event in the state (event time, like every other span of reefer-act).
pub fn prune(args: &PruneArgs, (_lock, store): (StateLock, Store)) -> anyhow::Result<Exit> {
    let Some(latest) = store.latest_event_ms()? else {
        crate::warn!("reefer-act: prune: the state holds no events");
        return Ok(Exit::Ok);
    };
    let horizon = latest - args.older_than.millis;
    store.begin()?;
    let p = store.prune(horizon)?;
    store.commit()?;
    crate::warn!(
        "reefer-act: prune: before {}: {} events seen, {} resolved alerts and {} of their notifications forgotten; older events are ignored from now on",
        format_millis(horizon),
        p.events,
        p.alerts,
        p.notifications
    );
    Ok(Exit::Ok)
}
