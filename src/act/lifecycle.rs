//! Alert lifecycle: opened on the first event of a container and fault,
//! updated on repeats, escalated when the severity rises, resolved by a
//! resolve event or after event-time silence. Notifies on open, escalation
//! and resolve, never on a repeat, and not again within the cooldown.

use super::store::{Alert, Store};
use crate::event::{FaultEvent, Status};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Opened,
    Updated,
    Escalated,
    Resolved,
}

impl Action {
    pub fn name(self) -> &'static str {
        match self {
            Action::Opened => "opened",
            Action::Updated => "updated",
            Action::Escalated => "escalated",
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
}

/// Applies one event to the stored alerts and returns what changed (saved already).
pub fn apply(store: &Store, ev: &FaultEvent, policy: &Policy) -> anyhow::Result<Vec<Change>> {
    let mut changes = Vec::new();
    // Event time moved on: first close alerts that have been silent too long.
    if let Some(silence) = policy.resolve_after_ms {
        for a in store.silent_alerts(ev.detected_at_ms - silence)? {
            let at = a.last_seen_ms + silence;
            let mut c = resolve(a, at);
            c.alert.id = store.save(&c.alert)?;
            changes.push(c);
        }
    }
    let existing = store.open_alert(&ev.container_id, &ev.fault)?;
    let change = match (ev.status, existing) {
        (Status::Open | Status::Escalated, Some(mut a)) => {
            a.event_count += 1;
            a.last_seen_ms = a.last_seen_ms.max(ev.detected_at_ms);
            if let Some(m) = &ev.message {
                a.message = m.clone();
            }
            if !ev.evidence.is_null() {
                a.evidence = ev.evidence.clone();
            }
            if a.product_id.is_none() {
                a.product_id = ev.product_id.clone();
            }
            let action = if ev.severity > a.severity {
                a.severity = ev.severity;
                a.rule = ev.rule.clone().or(a.rule);
                // An escalation always reaches people, cooldown or not.
                a.notified = true;
                a.last_notified_ms = Some(ev.detected_at_ms);
                Action::Escalated
            } else {
                Action::Updated
            };
            Some(Change {
                notify: action == Action::Escalated,
                alert: a,
                action,
            })
        }
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
        (Status::Resolved, Some(a)) => Some(resolve(a, ev.detected_at_ms)),
        (Status::Resolved, None) => None,
    };
    if let Some(mut c) = change {
        c.alert.id = store.save(&c.alert)?;
        changes.push(c);
    }
    Ok(changes)
}

fn resolve(mut a: Alert, at_ms: i64) -> Change {
    a.open = false;
    a.resolved_at_ms = Some(at_ms.max(a.last_seen_ms));
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
