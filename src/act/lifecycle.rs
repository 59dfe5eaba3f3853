//! Alert lifecycle: opened on the first event of a container and fault,
//! updated on repeats, escalated when the severity rises, resolved by a
//! resolve event or after event-time silence.
//!
//! Who is told what:
//! - **opened**: notified, unless the cooldown silences it: an alert that opens
//!   within `--cooldown` (event time) of the last notification about the same
//!   container and fault is recorded but not announced, and neither is its
//!   resolve (people only hear that something ended if they heard it began);
//! - **escalated** (warning → critical): always notified, cooldown or not,
//!   unless the alert is acknowledged;
//! - **reminder** (`--remind-every`): an open, unacknowledged alert is announced
//!   again on its next event once that much event time has passed since the
//!   last notification about its container and fault; this is also how an
//!   alert silenced by the cooldown gets announced if it lasts;
//! - **resolved**: notified when the opening (or a reminder) was, acknowledged
//!   or not, with how long the fault lasted;
//! - **updated** (a repeat): never notified; record destinations still get it.
//!
//! Every event of an alert, the resolving one included, counts in
//! `event_count` and moves `last_seen`.

use super::store::{Alert, Store};
use crate::event::{FaultEvent, Status};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Opened,
    Updated,
    Escalated,
    Reminder,
    Resolved,
}

impl Action {
    pub fn name(self) -> &'static str {
        match self {
            Action::Opened => "opened",
            Action::Updated => "updated",
            Action::Escalated => "escalated",
            Action::Reminder => "reminder",
            Action::Resolved => "resolved",
        }
    }
}

/// A change of one alert, and whether people are to be told.
#[derive(Debug, Clone)]
pub struct Change {
    pub alert: Alert,
    pub action: Action,
    pub notify: bool,
}

#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// No second "opened" notification for the same container and fault within this span.
    pub cooldown_ms: i64,
    /// Resolve an open alert after this much event-time silence.
    pub resolve_after_ms: Option<i64>,
    /// Announce an open, unacknowledged alert again after this much event time.
    pub remind_every_ms: Option<i64>,
}

/// Applies one event to the stored alerts and returns what changed (saved already).
pub fn apply(store: &Store, ev: &FaultEvent, policy: &Policy) -> anyhow::Result<Vec<Change>> {
    let mut changes = Vec::new();
    // Event time moved on: first close alerts that have been silent too long.
    if let Some(silence) = policy.resolve_after_ms {
        for a in store.silent_alerts(ev.detected_at_ms - silence)? {
            let at = a.last_seen_ms + silence;
            let mut c = resolve(a, at, None);
            c.alert.id = store.save(&c.alert)?;
            changes.push(c);
        }
    }
    let existing = store.open_alert(&ev.container_id, &ev.fault)?;
    let change = match (ev.status, existing) {
        (Status::Open | Status::Escalated, Some(a)) => Some(repeat(store, a, ev, policy)?),
        (Status::Open | Status::Escalated, None) => {
            let mut a = Alert::new(ev);
            let last = store.last_notified_ms(&ev.container_id, &ev.fault)?;
            let notify = last.is_none_or(|t| ev.detected_at_ms - t >= policy.cooldown_ms);
            if notify {
                a.notified = true;
                a.last_notified_ms = Some(ev.detected_at_ms);
            }
            Some(Change {
                alert: a,
                action: Action::Opened,
                notify,
            })
        }
        (Status::Resolved, Some(mut a)) => {
            count(&mut a, ev);
            Some(resolve(a, ev.detected_at_ms, ev.message.clone()))
        }
        (Status::Resolved, None) => None,
    };
    if let Some(mut c) = change {
        c.alert.id = store.save(&c.alert)?;
        changes.push(c);
    }
    Ok(changes)
}

/// Counts an event of an alert.
fn count(a: &mut Alert, ev: &FaultEvent) {
    a.event_count += 1;
    a.last_seen_ms = a.last_seen_ms.max(ev.detected_at_ms);
    if !ev.evidence.is_null() {
        a.evidence = ev.evidence.clone();
    }
    if a.product_id.is_none() {
        a.product_id = ev.product_id.clone();
    }
}

/// Another open (or escalated) event of an open alert.
fn repeat(store: &Store, mut a: Alert, ev: &FaultEvent, policy: &Policy) -> anyhow::Result<Change> {
    count(&mut a, ev);
    if let Some(m) = &ev.message {
        a.message = m.clone();
    }
    let acknowledged = a.acknowledged_at.is_some();
    if ev.severity > a.severity {
        a.severity = ev.severity;
        a.rule = ev.rule.clone().or(a.rule);
        // An escalation reaches people, cooldown or not, unless they acknowledged it.
        if !acknowledged {
            a.notified = true;
            a.last_notified_ms = Some(ev.detected_at_ms);
        }
        return Ok(Change {
            notify: !acknowledged,
            alert: a,
            action: Action::Escalated,
        });
    }
    if let (Some(every), false) = (policy.remind_every_ms, acknowledged) {
        let last = match a.last_notified_ms {
            Some(t) => Some(t),
            None => store.last_notified_ms(&a.container_id, &a.fault)?,
        };
        let due = last.is_none_or(|t| ev.detected_at_ms - t >= every);
        if due {
            a.notified = true;
            a.last_notified_ms = Some(ev.detected_at_ms);
            return Ok(Change {
                notify: true,
                alert: a,
                action: Action::Reminder,
            });
        }
    }
    Ok(Change {
        notify: false,
        alert: a,
        action: Action::Updated,
    })
}

/// Closes an alert at `at_ms`; the message says what resolved and after how long.
fn resolve(mut a: Alert, at_ms: i64, message: Option<String>) -> Change {
    a.open = false;
    let at = at_ms.max(a.last_seen_ms);
    a.resolved_at_ms = Some(at);
    a.message = message.unwrap_or_else(|| {
        format!(
            "{} on container {} resolved after {} (since {})",
            a.fault,
            a.container_id,
            crate::time::Span::from_millis(at - a.since_ms),
            crate::time::format_millis(a.since_ms)
        )
    });
    // Only tell people it ended if they were told it began.
    let notify = a.notified;
    if notify {
        a.last_notified_ms = Some(at_ms);
    }
    Change {
        alert: a,
        action: Action::Resolved,
        notify,
    }
}
