//! The state database: alerts, an outbox of notifications, and the events
//! already seen, in one SQLite file so that a cron job never re-notifies.

use crate::event::{FaultEvent, Severity};
use crate::time::format_millis;
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde_json::{json, Value};

/// The `alerts` table, documented in the README: one row per alert (a fault
/// episode of one container), queryable with `sqlite3`.
pub const ALERTS_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS alerts (
    alert_id         INTEGER PRIMARY KEY,
    container_id     TEXT    NOT NULL,
    product_id       TEXT,
    fault            TEXT    NOT NULL,
    severity         TEXT    NOT NULL CHECK (severity IN ('warning', 'critical')),
    status           TEXT    NOT NULL CHECK (status IN ('open', 'resolved')),
    rule             TEXT,
    message          TEXT,
    evidence         TEXT,              -- JSON of the latest event's evidence
    since            TEXT    NOT NULL,  -- event time the condition began (UTC RFC 3339)
    opened_at        TEXT    NOT NULL,  -- event time of the first event
    last_seen        TEXT    NOT NULL,  -- event time of the latest event
    resolved_at      TEXT,
    event_count      INTEGER NOT NULL,
    notified         INTEGER NOT NULL,  -- 1 when people were told it opened
    last_notified_at TEXT
);
CREATE INDEX IF NOT EXISTS alerts_by_container ON alerts (container_id, fault);
";

const STATE_SCHEMA: &str = "
CREATE UNIQUE INDEX IF NOT EXISTS one_open_alert ON alerts (container_id, fault) WHERE status = 'open';
CREATE TABLE IF NOT EXISTS alert_times (
    alert_id         INTEGER PRIMARY KEY REFERENCES alerts (alert_id),
    since_ms         INTEGER NOT NULL,
    last_seen_ms     INTEGER NOT NULL,
    last_notified_ms INTEGER
);
CREATE TABLE IF NOT EXISTS outbox (
    id          INTEGER PRIMARY KEY,
    alert_id    INTEGER NOT NULL,
    destination TEXT    NOT NULL,
    action      TEXT    NOT NULL,
    payload     TEXT    NOT NULL,
    status      TEXT    NOT NULL CHECK (status IN ('pending', 'delivered', 'dead')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT
);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (status) WHERE status = 'pending';
CREATE TABLE IF NOT EXISTS seen_events (
    container_id   TEXT    NOT NULL,
    fault          TEXT    NOT NULL,
    phase          TEXT    NOT NULL,
    since_ms       INTEGER NOT NULL,
    detected_at_ms INTEGER NOT NULL,
    PRIMARY KEY (container_id, fault, phase, since_ms, detected_at_ms)
) WITHOUT ROWID;
";

/// One alert as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    pub id: i64,
    pub container_id: String,
    pub product_id: Option<String>,
    pub fault: String,
    pub severity: Severity,
    pub open: bool,
    pub rule: Option<String>,
    pub message: String,
    pub evidence: Value,
    pub since_ms: i64,
    pub opened_at_ms: i64,
    pub last_seen_ms: i64,
    pub resolved_at_ms: Option<i64>,
    pub event_count: i64,
    pub notified: bool,
    pub last_notified_ms: Option<i64>,
}

impl Alert {
    pub fn new(ev: &FaultEvent) -> Alert {
        Alert {
            id: 0,
            container_id: ev.container_id.clone(),
            product_id: ev.product_id.clone(),
            fault: ev.fault.clone(),
            severity: ev.severity,
            open: true,
            rule: ev.rule.clone(),
            message: ev
                .message
                .clone()
                .unwrap_or_else(|| format!("{} on container {}", ev.fault, ev.container_id)),
            evidence: ev.evidence.clone(),
            since_ms: ev.since_ms,
            opened_at_ms: ev.detected_at_ms,
            last_seen_ms: ev.detected_at_ms,
            resolved_at_ms: None,
            event_count: 1,
            notified: false,
            last_notified_ms: None,
        }
    }

    /// The alert as the JSON that destinations receive.
    pub fn to_json(&self, action: &str) -> Value {
        json!({
            "notification_id": format!("{}:{}:{}", self.id, action, self.event_count),
            "action": action,
            "alert_id": self.id,
            "container_id": self.container_id,
            "product_id": self.product_id,
            "fault": self.fault,
            "severity": self.severity.name(),
            "status": if self.open { "open" } else { "resolved" },
            "rule": self.rule,
            "message": self.message,
            "since": format_millis(self.since_ms),
            "opened_at": format_millis(self.opened_at_ms),
            "last_seen": format_millis(self.last_seen_ms),
            "resolved_at": self.resolved_at_ms.map(format_millis),
            "event_count": self.event_count,
            "evidence": self.evidence,
        })
    }
}

/// A notification waiting in (or delivered from) the outbox.
#[derive(Debug, Clone)]
pub struct OutboxRow {
    pub id: i64,
    pub destination: String,
    pub payload: String,
    pub attempts: i64,
}

pub struct Store {
    conn: Connection,
}

fn sql_err(e: rusqlite::Error) -> anyhow::Error {
    anyhow::anyhow!("state database: {e}")
}

impl Store {
    pub fn open(path: &str) -> anyhow::Result<Store> {
        let conn = Connection::open(path)
            .map_err(|e| anyhow::anyhow!("cannot open state database {path}: {e}"))?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(sql_err)?;
        conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;")
            .map_err(|e| anyhow::anyhow!("cannot use state database {path}: {e}"))?;
        conn.execute_batch(ALERTS_SCHEMA).map_err(sql_err)?;
        conn.execute_batch(STATE_SCHEMA).map_err(sql_err)?;
        let store = Store { conn };
        store.migrate()?;
        Ok(store)
    }

    /// Brings a state file of an earlier version up to date (`user_version`).
    fn migrate(&self) -> anyhow::Result<()> {
        let version: i64 = self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(sql_err)?;
        if version < 1 {
            // Overwrite, not just unlink, the old text of the rows rewritten.
            self.conn
                .execute_batch("PRAGMA secure_delete = ON")
                .map_err(sql_err)?;
            self.mask_stored_secrets()?;
        }
        self.conn
            .execute_batch("PRAGMA user_version = 1")
            .map_err(sql_err)
    }

    /// Version 0 kept destinations and errors with their credentials: mask
    /// them (masked destinations are the outbox keys from version 1 on).
    fn mask_stored_secrets(&self) -> anyhow::Result<()> {
        let rows: Vec<(i64, String, Option<String>)> = {
            let mut stmt = self
                .conn
                .prepare("SELECT id, destination, last_error FROM outbox")
                .map_err(sql_err)?;
            let rows = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .map_err(sql_err)?;
            rows.collect::<Result<_, _>>().map_err(sql_err)?
        };
        for (id, dest, err) in rows {
            let (d, e) = (
                crate::redact::url(&dest),
                err.as_deref().map(crate::redact::text),
            );
            if d != dest || e != err {
                self.conn
                    .execute(
                        "UPDATE outbox SET destination = ?2, last_error = ?3 WHERE id = ?1",
                        params![id, d, e],
                    )
                    .map_err(sql_err)?;
            }
        }
        Ok(())
    }

    pub fn begin(&self) -> anyhow::Result<()> {
        self.conn.execute_batch("BEGIN IMMEDIATE").map_err(sql_err)
    }

    pub fn commit(&self) -> anyhow::Result<()> {
        self.conn.execute_batch("COMMIT").map_err(sql_err)
    }

    pub fn rollback(&self) -> anyhow::Result<()> {
        self.conn.execute_batch("ROLLBACK").map_err(sql_err)
    }

    /// Records `ev` as seen; false when it was seen before (in this run or an earlier one).
    pub fn first_sighting(&self, ev: &FaultEvent) -> anyhow::Result<bool> {
        // Escalated counts as open, as it always has for the seen-events key.
        let phase = if ev.status.is_active() {
            "open"
        } else {
            "resolved"
        };
        let n = self
            .conn
            .execute(
                "INSERT OR IGNORE INTO seen_events VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    ev.container_id,
                    ev.fault,
                    phase,
                    ev.since_ms,
                    ev.detected_at_ms
                ],
            )
            .map_err(sql_err)?;
        Ok(n == 1)
    }

    fn alert_from_row(row: &Row<'_>) -> rusqlite::Result<Alert> {
        let evidence: Option<String> = row.get("evidence")?;
        let severity: String = row.get("severity")?;
        let status: String = row.get("status")?;
        Ok(Alert {
            id: row.get("alert_id")?,
            container_id: row.get("container_id")?,
            product_id: row.get("product_id")?,
            fault: row.get("fault")?,
            severity: Severity::parse(&severity).unwrap_or(Severity::Warning),
            open: status == "open",
            rule: row.get("rule")?,
            message: row.get::<_, Option<String>>("message")?.unwrap_or_default(),
            evidence: evidence
                .and_then(|e| serde_json::from_str(&e).ok())
                .unwrap_or(Value::Null),
            since_ms: row.get("since_ms")?,
            opened_at_ms: crate::time::parse_time(&row.get::<_, String>("opened_at")?)
                .map(|t| t.timestamp_millis())
                .unwrap_or(0),
            last_seen_ms: row.get("last_seen_ms")?,
            resolved_at_ms: row
                .get::<_, Option<String>>("resolved_at")?
                .and_then(|s| crate::time::parse_time(&s).ok())
                .map(|t| t.timestamp_millis()),
            event_count: row.get("event_count")?,
            notified: row.get::<_, i64>("notified")? != 0,
            last_notified_ms: row.get("last_notified_ms")?,
        })
    }

    const SELECT: &'static str = "SELECT a.*, t.since_ms, t.last_seen_ms, t.last_notified_ms
        FROM alerts a JOIN alert_times t USING (alert_id)";

    pub fn open_alert(&self, container_id: &str, fault: &str) -> anyhow::Result<Option<Alert>> {
        self.conn
            .query_row(
                &format!(
                    "{} WHERE a.container_id = ?1 AND a.fault = ?2 AND a.status = 'open'",
                    Self::SELECT
                ),
                params![container_id, fault],
                Self::alert_from_row,
            )
            .optional()
            .map_err(sql_err)
    }

    /// Event time of the latest notification about this container and fault, any alert.
    pub fn last_notified_ms(&self, container_id: &str, fault: &str) -> anyhow::Result<Option<i64>> {
        self.conn
            .query_row(
                "SELECT max(t.last_notified_ms) FROM alerts a JOIN alert_times t USING (alert_id)
                 WHERE a.container_id = ?1 AND a.fault = ?2",
                params![container_id, fault],
                |r| r.get(0),
            )
            .map_err(sql_err)
    }

    /// Open alerts whose latest event is at or before `before_ms`.
    pub fn silent_alerts(&self, before_ms: i64) -> anyhow::Result<Vec<Alert>> {
        let mut stmt = self
            .conn
            .prepare(&format!(
                "{} WHERE a.status = 'open' AND t.last_seen_ms <= ?1 ORDER BY a.alert_id",
                Self::SELECT
            ))
            .map_err(sql_err)?;
        let rows = stmt
            .query_map([before_ms], Self::alert_from_row)
            .map_err(sql_err)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(sql_err)
    }

    /// Inserts or updates an alert; returns its id.
    pub fn save(&self, a: &Alert) -> anyhow::Result<i64> {
        let evidence = serde_json::to_string(&a.evidence)?;
        let status = if a.open { "open" } else { "resolved" };
        let id = if a.id == 0 {
            self.conn
                .execute(
                    "INSERT INTO alerts (container_id, product_id, fault, severity, status, rule, message,
                       evidence, since, opened_at, last_seen, resolved_at, event_count, notified, last_notified_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
                    params![
                        a.container_id, a.product_id, a.fault, a.severity.name(), status, a.rule, a.message,
                        evidence, format_millis(a.since_ms), format_millis(a.opened_at_ms),
                        format_millis(a.last_seen_ms), a.resolved_at_ms.map(format_millis), a.event_count,
                        a.notified as i64, a.last_notified_ms.map(format_millis)
                    ],
                )
                .map_err(sql_err)?;
            self.conn.last_insert_rowid()
        } else {
            self.conn
                .execute(
                    "UPDATE alerts SET product_id = ?2, severity = ?3, status = ?4, rule = ?5, message = ?6,
                       evidence = ?7, last_seen = ?8, resolved_at = ?9, event_count = ?10, notified = ?11,
                       last_notified_at = ?12 WHERE alert_id = ?1",
                    params![
                        a.id, a.product_id, a.severity.name(), status, a.rule, a.message, evidence,
                        format_millis(a.last_seen_ms), a.resolved_at_ms.map(format_millis), a.event_count,
                        a.notified as i64, a.last_notified_ms.map(format_millis)
                    ],
                )
                .map_err(sql_err)?;
            a.id
        };
        self.conn
            .execute(
                "INSERT OR REPLACE INTO alert_times VALUES (?1, ?2, ?3, ?4)",
                params![id, a.since_ms, a.last_seen_ms, a.last_notified_ms],
            )
            .map_err(sql_err)?;
        Ok(id)
    }

    pub fn enqueue(
        &self,
        alert_id: i64,
        destination: &str,
        action: &str,
        payload: &Value,
    ) -> anyhow::Result<()> {
        self.conn
            .execute(
                "INSERT INTO outbox (alert_id, destination, action, payload, status) VALUES (?1, ?2, ?3, ?4, 'pending')",
                params![alert_id, destination, action, payload.to_string()],
            )
            .map_err(sql_err)?;
        Ok(())
    }

    /// Pending notifications for the given destinations with an id above
    /// `after`, oldest first (rows handled earlier in a run are not read again).
    pub fn pending_after(
        &self,
        after: i64,
        destinations: &[String],
    ) -> anyhow::Result<Vec<OutboxRow>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, destination, payload, attempts FROM outbox
                 WHERE status = 'pending' AND id > ?1 ORDER BY id",
            )
            .map_err(sql_err)?;
        let rows = stmt
            .query_map([after], |r| {
                Ok(OutboxRow {
                    id: r.get(0)?,
                    destination: r.get(1)?,
                    payload: r.get(2)?,
                    attempts: r.get(3)?,
                })
            })
            .map_err(sql_err)?;
        let all = rows.collect::<Result<Vec<_>, _>>().map_err(sql_err)?;
        Ok(all
            .into_iter()
            .filter(|r| destinations.contains(&r.destination))
            .collect())
    }

    /// Records a failed or skipped attempt of a notification that stays pending.
    pub fn note_failure(&self, id: i64, attempts: i64, error: &str) -> anyhow::Result<()> {
        self.conn
            .execute(
                "UPDATE outbox SET attempts = ?2, last_error = ?3 WHERE id = ?1",
                params![id, attempts, error],
            )
            .map_err(sql_err)?;
        Ok(())
    }

    pub fn count_pending_elsewhere(&self, destinations: &[String]) -> anyhow::Result<usize> {
        let mut stmt = self
            .conn
            .prepare("SELECT destination FROM outbox WHERE status = 'pending'")
            .map_err(sql_err)?;
        let rows = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(sql_err)?;
        let mut n = 0;
        for d in rows {
            if !destinations.contains(&d.map_err(sql_err)?) {
                n += 1;
            }
        }
        Ok(n)
    }

    pub fn mark(
        &self,
        id: i64,
        delivered: bool,
        attempts: i64,
        error: Option<&str>,
    ) -> anyhow::Result<()> {
        self.conn
            .execute(
                "UPDATE outbox SET status = ?2, attempts = ?3, last_error = ?4 WHERE id = ?1",
                params![
                    id,
                    if delivered { "delivered" } else { "dead" },
                    attempts,
                    error
                ],
            )
            .map_err(sql_err)?;
        Ok(())
    }
}
