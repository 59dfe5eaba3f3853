//! Delivery of the outbox: retries with backoff, a circuit breaker per
//! destination, and a whole-run deadline.
//!
//! **Circuit breaker.** A destination that does not answer at all (connection
//! refused, DNS, timeout) would otherwise cost every notification its full
//! series of retries: 17 notifications to a dead webhook took 3 min 21 s.
//! After `--break-after N` connection failures in a row (attempts, across
//! notifications; any answer resets the count), the breaker of that
//! destination opens for the rest of the run: the notification in hand and
//! every later one for it are written to the dead letter at once, marked
//! `"status": "pending"`, and stay pending in the outbox, so the next run (or
//! `reefer-act resend`) delivers them. Other destinations are not affected.
//!
//! **Deadline.** Past `--max-time` no attempt starts and no retry waits: what
//! is left stays pending (and dead-lettered as such), and the run stops.

use super::dest::{DeliveryError, Destination};
use super::store::{OutboxRow, Store};
use crate::backoff::Backoff;
use crate::codec::{Output, Rejects};
use anyhow::Context;
use serde_json::{json, Value};
use std::io::{self, Write};
use std::time::Instant;

/// Outcome counts of one destination in one run.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct DestCounts {
    pub delivered: u64,
    /// Given up after retries: marked dead in the outbox.
    pub dead: u64,
    /// Not sent (breaker open, or --max-time): still pending in the outbox.
    #[serde(rename = "pending")]
    pub deferred: u64,
}

/// One notification in hand: which destination, its outbox row, its JSON.
struct Job<'a> {
    idx: usize,
    row: &'a OutboxRow,
    payload: &'a Value,
}

/// Why a notification was left pending without a (further) attempt.
enum Hold {
    Breaker,
    Deadline,
}

pub struct Sender {
    pub dests: Vec<Box<dyn Destination>>,
    /// Outbox key of each destination (its masked URI).
    pub keys: Vec<String>,
    pub backoff: Backoff,
    pub retries: u32,
    pub break_after: u32,
    pub deadline: Option<Instant>,
    pub dry_run: Option<Output>,
    pub counts: Vec<DestCounts>,
    /// Consecutive connection failures per destination.
    streak: Vec<u32>,
    /// Why each destination's breaker opened, once it has.
    open: Vec<Option<String>>,
    /// Outbox rows up to this id have been handled in this run.
    cursor: i64,
    pub deadline_hit: bool,
}

impl Sender {
    pub fn new(dests: Vec<Box<dyn Destination>>, backoff: Backoff) -> Sender {
        let n = dests.len();
        Sender {
            keys: dests.iter().map(|d| d.uri().to_string()).collect(),
            dests,
            backoff,
            retries: 5,
            break_after: 3,
            deadline: None,
            dry_run: None,
            counts: vec![DestCounts::default(); n],
            streak: vec![0; n],
            open: vec![None; n],
            cursor: 0,
            deadline_hit: false,
        }
    }

    fn past_deadline(&mut self) -> bool {
        let past = self.deadline.is_some_and(|d| Instant::now() >= d);
        self.deadline_hit |= past;
        past
    }

    /// Delivers every pending notification not handled yet in this run,
    /// oldest first. Returns an error only for a fatal problem (state database,
    /// dead-letter file) or a closed stdout.
    pub fn deliver_pending(&mut self, store: &Store, rejects: &mut Rejects) -> anyhow::Result<()> {
        let pending = store.pending_after(self.cursor, &self.keys)?;
        for row in pending {
            self.cursor = self.cursor.max(row.id);
            let payload: Value = serde_json::from_str(&row.payload).context("outbox payload")?;
            let Some(idx) = self.keys.iter().position(|u| *u == row.destination) else {
                continue;
            };
            if let Some(out) = &mut self.dry_run {
                let line = json!({ "dry_run": true, "destination": row.destination, "notification": payload });
                writeln!(out, "{line}")?;
                store.mark(row.id, true, 0, None)?;
                self.counts[idx].delivered += 1;
                continue;
            }
            let job = Job {
                idx,
                row: &row,
                payload: &payload,
            };
            self.deliver_one(store, rejects, &job)?;
        }
        Ok(())
    }

    fn deliver_one(
        &mut self,
        store: &Store,
        rejects: &mut Rejects,
        job: &Job<'_>,
    ) -> anyhow::Result<()> {
        let (idx, row, payload) = (job.idx, job.row, job.payload);
        if self.open[idx].is_some() {
            return self.hold(store, rejects, job, row.attempts, Hold::Breaker);
        }
        let mut tries: u32 = 0;
        loop {
            if self.past_deadline() {
                let attempts = row.attempts + i64::from(tries);
                return self.hold(store, rejects, job, attempts, Hold::Deadline);
            }
            tries += 1;
            let attempts = row.attempts + i64::from(tries);
            let err = match self.dests[idx].deliver(payload) {
                Ok(()) => {
                    self.streak[idx] = 0;
                    store.mark(row.id, true, attempts, None)?;
                    self.counts[idx].delivered += 1;
                    return Ok(());
                }
                Err(e) if e.broken_pipe => {
                    return Err(io::Error::from(io::ErrorKind::BrokenPipe))
                        .context("writing alerts");
                }
                Err(e) => e,
            };
            if err.connection {
                self.streak[idx] += 1;
            } else {
                self.streak[idx] = 0;
            }
            if err.connection && self.streak[idx] >= self.break_after {
                let why = format!(
                    "{} connection failures in a row (last: {})",
                    self.streak[idx], err.message
                );
                crate::warn!(
                    "reefer-act: {}: {why}; its notifications stay pending for the next run",
                    self.keys[idx]
                );
                self.open[idx] = Some(why);
                return self.hold(store, rejects, job, attempts, Hold::Breaker);
            }
            if err.retryable && tries <= self.retries {
                let mut wait = self.backoff.delay(tries);
                if let Some(d) = self.deadline {
                    wait = wait.min(d.saturating_duration_since(Instant::now()));
                }
                crate::warn!(
                    "reefer-act: {}: {} (attempt {tries}, retrying in {} ms)",
                    self.keys[idx],
                    err.message,
                    wait.as_millis()
                );
                std::thread::sleep(wait);
                continue;
            }
            return self.give_up(store, rejects, job, attempts, &err);
        }
    }

    fn give_up(
        &mut self,
        store: &Store,
        rejects: &mut Rejects,
        job: &Job<'_>,
        attempts: i64,
        err: &DeliveryError,
    ) -> anyhow::Result<()> {
        let (idx, row, payload) = (job.idx, job.row, job.payload);
        let tries = attempts - row.attempts;
        crate::warn!(
            "reefer-act: {}: giving up on alert {} after {tries} attempts: {}",
            self.keys[idx],
            payload.get("alert_id").unwrap_or(&Value::Null),
            err.message
        );
        store.mark(row.id, false, attempts, Some(&err.message))?;
        self.dead_letter(rejects, idx, attempts, &err.message, "dead", payload)?;
        self.counts[idx].dead += 1;
        Ok(())
    }

    /// Leaves a notification pending without a (further) attempt, and says so
    /// in the dead letter.
    fn hold(
        &mut self,
        store: &Store,
        rejects: &mut Rejects,
        job: &Job<'_>,
        attempts: i64,
        why: Hold,
    ) -> anyhow::Result<()> {
        let (idx, row, payload) = (job.idx, job.row, job.payload);
        let message = match why {
            Hold::Breaker => format!(
                "not sent: circuit open after {}",
                self.open[idx].as_deref().unwrap_or("connection failures")
            ),
            Hold::Deadline => "not sent: --max-time reached".to_string(),
        };
        store.note_failure(row.id, attempts, &message)?;
        self.dead_letter(rejects, idx, attempts, &message, "pending", payload)?;
        self.counts[idx].deferred += 1;
        Ok(())
    }

    fn dead_letter(
        &self,
        rejects: &mut Rejects,
        idx: usize,
        attempts: i64,
        error: &str,
        status: &str,
        payload: &Value,
    ) -> io::Result<()> {
        let line = json!({
            "destination": self.keys[idx],
            "error": error,
            "attempts": attempts,
            "status": status,
            "notification": payload,
        });
        rejects.keep(&line.to_string())
    }

    pub fn finish(&mut self) -> io::Result<()> {
        for d in &mut self.dests {
            d.finish()?;
        }
        if let Some(out) = &mut self.dry_run {
            out.flush()?;
        }
        Ok(())
    }

    /// Notifications not delivered in this run (dead or left pending).
    pub fn undelivered(&self) -> u64 {
        self.counts.iter().map(|c| c.dead + c.deferred).sum()
    }

    pub fn delivered(&self) -> u64 {
        self.counts.iter().map(|c| c.delivered).sum()
    }
}
