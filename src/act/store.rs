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
CREATE TABLE IF NOT EXISTS alert_times (
    alert_id         INTEGER PRIMARY KEY REFERENCES alerts (alert_id),
    since_ms         INTEGER NOT NULL,
    last_seen_ms     INTEGER NOT NULL,
    last_notified_ms INTEGER,
    scope            TEXT    NOT NULL DEFAULT '',  -- the destination set; '' = any (state from version 0)
    acknowledged_at  TEXT                          -- wall-clock time of `reefer-act ack`
);
CREATE TABLE IF NOT EXISTS outbox (
    id          INTEGER PRIMARY KEY,
    alert_id    INTEGER NOT NULL,
    destination TEXT    NOT NULL,   -- masked URI (crate::redact): never a credential
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
CREATE TABLE IF NOT EXISTS seen (
    scope          TEXT    NOT NULL,
    container_id   TEXT    NOT NULL,
    fault          TEXT    NOT NULL,
    phase          TEXT    NOT NULL,
    since_ms       INTEGER NOT NULL,
    detected_at_ms INTEGER NOT NULL,
    PRIMARY KEY (scope, container_id, fault, phase, since_ms, detected_at_ms)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
";

/// Current layout of the state file (`PRAGMA user_version`): 1 masked
/// destinations, 2 scopes (one pipeline per destination set), acknowledgements,
/// the prune horizon.
const VERSION: i64 = 2;

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
    /// The destination set this alert belongs to ('' for alerts of version 0: any).
    pub scope: String,
    /// Wall-clock time of `reefer-act ack`, while acknowledged.
    pub acknowledged_at: Option<String>,
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
            scope: String::new(),
            acknowledged_at: None,
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
            "duration_s": self.resolved_at_ms.map(|r| (r - self.since_ms) / 1000),
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
    /// The destination set of this run (see [`scope_of`]).
    scope: String,
}

/// The scope of a run: its destinations' outbox keys, sorted, one per line.
/// Events seen and alerts belong to one scope, so that a run with other
/// destinations (an ad-hoc `--to -`) sees the same events afresh instead of
/// taking them away from the cron job's webhook.
pub fn scope_of(keys: &[String]) -> String {
    let mut k = keys.to_vec();
    k.sort();
    k.dedup();
    k.join("\n")
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
        let store = Store {
            conn,
            scope: String::new(),
        };
        store.migrate()?;
        Ok(store)
    }

    /// A private in-memory copy of the state at `path` (empty when there is
    /// none): what `--dry-run` works on, so that it creates and changes nothing.
    pub fn open_copy(path: &str) -> anyhow::Result<Store> {
        let conn = Connection::open_in_memory().map_err(sql_err)?;
        conn.execute_batch(ALERTS_SCHEMA).map_err(sql_err)?;
        conn.execute_batch(STATE_SCHEMA).map_err(sql_err)?;
        let store = Store {
            conn,
            scope: String::new(),
        };
        if std::path::Path::new(path).exists() {
            store.copy_from(path)?;
        }
        store.migrate()?;
        Ok(store)
    }

    /// The state at `path` for reading only (`reefer-act alerts`): opened
    /// read-only when it is of the current version, else read through an
    /// in-memory copy brought up to date (never migrated in place by a reader).
    pub fn open_read_only(path: &str) -> anyhow::Result<Store> {
        use rusqlite::OpenFlags;
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI,
        )
        .map_err(|e| anyhow::anyhow!("cannot open state database {path}: {e}"))?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(sql_err)?;
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(sql_err)?;
        if version < VERSION {
            drop(conn);
            return Store::open_copy(path);
        }
        Ok(Store {
            conn,
            scope: String::new(),
        })
    }

    fn copy_from(&self, path: &str) -> anyhow::Result<()> {
        let uri = format!(
            "file:{}?mode=ro",
            path.replace('?', "%3f").replace('#', "%23")
        );
        self.conn
            .execute("ATTACH DATABASE ?1 AS src", [uri])
            .map_err(|e| anyhow::anyhow!("cannot read state database {path}: {e}"))?;
        let version: i64 = self
            .conn
            .query_row("PRAGMA src.user_version", [], |r| r.get(0))
            .map_err(sql_err)?;
        for table in [
            "alerts",
            "alert_times",
            "outbox",
            "seen_events",
            "seen",
            "meta",
        ] {
            let cols = |schema: &str| -> anyhow::Result<Vec<String>> {
                let mut stmt = self
                    .conn
                    .prepare(&format!("PRAGMA {schema}.table_info({table})"))
                    .map_err(sql_err)?;
                let names = stmt
                    .query_map([], |r| r.get::<_, String>(1))
                    .map_err(sql_err)?;
                names.collect::<Result<Vec<_>, _>>().map_err(sql_err)
            };
            let theirs = cols("src")?;
            let common: Vec<String> = cols("main")?
                .into_iter()
                .filter(|c| theirs.contains(c))
                .collect();
            if common.is_empty() {
                continue;
            }
            let list = common.join(", ");
            self.conn
                .execute_batch(&format!(
                    "INSERT INTO main.{table} ({list}) SELECT {list} FROM src.{table}"
                ))
                .map_err(sql_err)?;
        }
        self.conn
            .execute_batch(&format!(
                "DETACH DATABASE src; PRAGMA user_version = {version}"
            ))
            .map_err(sql_err)
    }

    /// Sets the destination set this run works for.
    pub fn set_scope(&mut self, scope: String) {
        self.scope = scope;
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
        if version < 2 {
            let cols: Vec<String> = {
                let mut stmt = self
                    .conn
                    .prepare("PRAGMA table_info(alert_times)")
                    .map_err(sql_err)?;
                let names = stmt
                    .query_map([], |r| r.get::<_, String>(1))
                    .map_err(sql_err)?;
                names.collect::<Result<_, _>>().map_err(sql_err)?
            };
            for (col, ddl) in [
                (
                    "scope",
                    "ALTER TABLE alert_times ADD COLUMN scope TEXT NOT NULL DEFAULT ''",
                ),
                (
                    "acknowledged_at",
                    "ALTER TABLE alert_times ADD COLUMN acknowledged_at TEXT",
                ),
            ] {
                if !cols.iter().any(|c| c == col) {
                    self.conn.execute_batch(ddl).map_err(sql_err)?;
                }
            }
            // One open alert per container and fault *per scope* now.
            self.conn
                .execute_batch("DROP INDEX IF EXISTS one_open_alert")
                .map_err(sql_err)?;
        }
        if version < VERSION {
            self.conn
                .execute_batch(&format!("PRAGMA user_version = {VERSION}"))
                .map_err(sql_err)?;
        }
        Ok(())
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

    /// Records `ev` as seen in this run's scope; false when it was seen before
    /// (in this run or an earlier one with the same destinations, or by a
    /// version-0 run, whose events count as seen for every scope).
    pub fn first_sighting(&self, ev: &FaultEvent) -> anyhow::Result<bool> {
        // Escalated counts as open, as it always has for the seen-events key.
        let phase = if ev.status.is_active() {
            "open"
        } else {
            "resolved"
        };
        let key = params![
            ev.container_id,
            ev.fault,
            phase,
            ev.since_ms,
            ev.detected_at_ms
        ];
        let legacy = self
            .conn
            .prepare_cached(
                "SELECT 1 FROM seen_events WHERE container_id = ?1 AND fault = ?2 AND phase = ?3
                 AND since_ms = ?4 AND detected_at_ms = ?5",
            )
            .and_then(|mut s| s.exists(key))
            .map_err(sql_err)?;
        if legacy {
            return Ok(false);
        }
        let n = self
            .conn
            .prepare_cached("INSERT OR IGNORE INTO seen VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
            .and_then(|mut s| {
                s.execute(params![
                    self.scope,
                    ev.container_id,
                    ev.fault,
                    phase,
                    ev.since_ms,
                    ev.detected_at_ms
                ])
            })
            .map_err(sql_err)?;
        Ok(n == 1)
    }

    /// Event time before which events were forgotten by `prune` (they are
    /// ignored from then on, so pruning never makes an old event new again).
    pub fn horizon_ms(&self) -> anyhow::Result<Option<i64>> {
        self.conn
            .query_row(
                "SELECT value FROM meta WHERE key = 'pruned_before_ms'",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(sql_err)
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
            scope: row.get("scope")?,
            acknowledged_at: row.get("acknowledged_at")?,
        })
    }

    const SELECT: &'static str = "SELECT a.*, t.since_ms, t.last_seen_ms, t.last_notified_ms,
        t.scope, t.acknowledged_at FROM alerts a JOIN alert_times t USING (alert_id)";

    pub fn open_alert(&self, container_id: &str, fault: &str) -> anyhow::Result<Option<Alert>> {
        self.conn
            .query_row(
                &format!(
                    "{} WHERE a.container_id = ?1 AND a.fault = ?2 AND a.status = 'open'
                     AND (t.scope = ?3 OR t.scope = '')",
                    Self::SELECT
                ),
                params![container_id, fault, self.scope],
                Self::alert_from_row,
            )
            .optional()
            .map_err(sql_err)
    }

    /// Event time of the latest notification about this container and fault, any alert of this scope.
    pub fn last_notified_ms(&self, container_id: &str, fault: &str) -> anyhow::Result<Option<i64>> {
        self.conn
            .query_row(
                "SELECT max(t.last_notified_ms) FROM alerts a JOIN alert_times t USING (alert_id)
                 WHERE a.container_id = ?1 AND a.fault = ?2 AND (t.scope = ?3 OR t.scope = '')",
                params![container_id, fault, self.scope],
                |r| r.get(0),
            )
            .map_err(sql_err)
    }

    /// Open alerts of this scope whose latest event is at or before `before_ms`.
    pub fn silent_alerts(&self, before_ms: i64) -> anyhow::Result<Vec<Alert>> {
        let mut stmt = self
            .conn
            .prepare(&format!(
                "{} WHERE a.status = 'open' AND t.last_seen_ms <= ?1 AND (t.scope = ?2 OR t.scope = '')
                 ORDER BY a.alert_id",
                Self::SELECT
            ))
            .map_err(sql_err)?;
        let rows = stmt
            .query_map(params![before_ms, self.scope], Self::alert_from_row)
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
        // A new alert belongs to this run's scope; an old one keeps its own.
        let scope = if a.id == 0 { &self.scope } else { &a.scope };
        self.conn
            .execute(
                "INSERT OR REPLACE INTO alert_times VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    id,
                    a.since_ms,
                    a.last_seen_ms,
                    a.last_notified_ms,
                    scope,
                    a.acknowledged_at
                ],
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
    /// `after`, oldest first (rows handled earlier in a run are not read again,
    /// and rows of other destinations are not read at all).
    pub fn pending_after(
        &self,
        after: i64,
        destinations: &[String],
    ) -> anyhow::Result<Vec<OutboxRow>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, destination, payload, attempts FROM outbox
                 WHERE status = 'pending' AND id > ?1 AND destination = ?2 ORDER BY id",
            )
            .map_err(sql_err)?;
        let mut all = Vec::new();
        for d in destinations {
            let rows = stmt
                .query_map(params![after, d], |r| {
                    Ok(OutboxRow {
                        id: r.get(0)?,
                        destination: r.get(1)?,
                        payload: r.get(2)?,
                        attempts: r.get(3)?,
                    })
                })
                .map_err(sql_err)?;
            for row in rows {
                all.push(row.map_err(sql_err)?);
            }
        }
        all.sort_by_key(|r| r.id);
        Ok(all)
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

/// What `prune` removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pruned {
    pub horizon_ms: Option<i64>,
    pub events: usize,
    pub alerts: usize,
    pub notifications: usize,
}

/// Which alerts `reefer-act alerts` lists.
#[derive(Debug, Default, Clone)]
pub struct AlertFilter {
    pub open: Option<bool>,
    pub container: Option<String>,
    pub fault: Option<String>,
    pub limit: Option<u32>,
}

impl Store {
    /// Alerts of every scope, newest first.
    pub fn list_alerts(&self, f: &AlertFilter) -> anyhow::Result<Vec<Alert>> {
        let mut stmt = self
            .conn
            .prepare(&format!(
                "{} WHERE (?1 IS NULL OR a.status = ?1) AND (?2 IS NULL OR a.container_id = ?2)
                   AND (?3 IS NULL OR a.fault = ?3)
                 ORDER BY a.alert_id DESC LIMIT ?4",
                Self::SELECT
            ))
            .map_err(sql_err)?;
        let status = f.open.map(|o| if o { "open" } else { "resolved" });
        let limit = f.limit.map_or(-1, i64::from);
        let rows = stmt
            .query_map(
                params![status, f.container, f.fault, limit],
                Self::alert_from_row,
            )
            .map_err(sql_err)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(sql_err)
    }

    /// Acknowledges an alert at wall-clock time `at`; `Ok(None)` when there is
    /// no such alert, `Ok(Some(false))` when it is not open (nothing to do).
    pub fn acknowledge(&self, id: i64, at: &str) -> anyhow::Result<Option<bool>> {
        let status: Option<String> = self
            .conn
            .query_row("SELECT status FROM alerts WHERE alert_id = ?1", [id], |r| {
                r.get(0)
            })
            .optional()
            .map_err(sql_err)?;
        match status.as_deref() {
            None => Ok(None),
            Some("open") => {
                self.conn
                    .execute(
                        "UPDATE alert_times SET acknowledged_at = ?2 WHERE alert_id = ?1",
                        params![id, at],
                    )
                    .map_err(sql_err)?;
                Ok(Some(true))
            }
            Some(_) => Ok(Some(false)),
        }
    }

    /// Makes the dead notifications of these destinations pending again; returns how many.
    pub fn requeue_dead(&self, destinations: &[String]) -> anyhow::Result<usize> {
        let mut n = 0;
        for d in destinations {
            n += self
                .conn
                .execute(
                    "UPDATE outbox SET status = 'pending' WHERE status = 'dead' AND destination = ?1",
                    [d],
                )
                .map_err(sql_err)?;
        }
        Ok(n)
    }

    /// Destinations with dead or pending notifications, as stored (masked).
    pub fn undelivered_destinations(&self) -> anyhow::Result<Vec<String>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT DISTINCT destination FROM outbox WHERE status IN ('dead', 'pending')
                 ORDER BY destination",
            )
            .map_err(sql_err)?;
        let rows = stmt.query_map([], |r| r.get(0)).map_err(sql_err)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(sql_err)
    }

    /// Latest event time the state knows of.
    pub fn latest_event_ms(&self) -> anyhow::Result<Option<i64>> {
        self.conn
            .query_row(
                "SELECT max(m) FROM (SELECT max(detected_at_ms) AS m FROM seen
                 UNION ALL SELECT max(detected_at_ms) FROM seen_events
                 UNION ALL SELECT max(last_seen_ms) FROM alert_times)",
                [],
                |r| r.get(0),
            )
            .map_err(sql_err)
    }

    /// Forgets events seen before `horizon_ms` and alerts resolved before it
    /// (with their delivered or dead notifications; pending ones stay), and
    /// records the horizon so that an event older than it is ignored from then
    /// on instead of being taken for new.
    pub fn prune(&self, horizon_ms: i64) -> anyhow::Result<Pruned> {
        let mut p = Pruned {
            horizon_ms: Some(horizon_ms),
            ..Pruned::default()
        };
        let run = |sql: &str| self.conn.execute(sql, [horizon_ms]).map_err(sql_err);
        p.events = run("DELETE FROM seen WHERE detected_at_ms < ?1")?
            + run("DELETE FROM seen_events WHERE detected_at_ms < ?1")?;
        let closed = "SELECT alert_id FROM alert_times t JOIN alerts a USING (alert_id)
             WHERE a.status = 'resolved' AND t.last_seen_ms < ?1
             AND alert_id NOT IN (SELECT alert_id FROM outbox WHERE status = 'pending')
             -- the newest alert stays, so that SQLite never hands out its id again
             -- (notification ids, and so idempotency keys, are made from it)
             AND alert_id < (SELECT max(alert_id) FROM alerts)";
        self.conn
            .execute(
                &format!("CREATE TEMP TABLE prune_ids AS {closed}"),
                [horizon_ms],
            )
            .map_err(sql_err)?;
        p.notifications = self
            .conn
            .execute(
                "DELETE FROM outbox WHERE alert_id IN (SELECT alert_id FROM prune_ids)",
                [],
            )
            .map_err(sql_err)?;
        self.conn
            .execute(
                "DELETE FROM alert_times WHERE alert_id IN (SELECT alert_id FROM prune_ids)",
                [],
            )
            .map_err(sql_err)?;
        p.alerts = self
            .conn
            .execute(
                "DELETE FROM alerts WHERE alert_id IN (SELECT alert_id FROM prune_ids)",
                [],
            )
            .map_err(sql_err)?;
        self.conn
            .execute_batch("DROP TABLE prune_ids")
            .map_err(sql_err)?;
        self.conn
            .execute(
                "INSERT INTO meta VALUES ('pruned_before_ms', ?1)
                 ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value)",
                [horizon_ms],
            )
            .map_err(sql_err)?;
        Ok(p)
    }
}
