use super::{DeliveryError, Destination};
use crate::act::store::ALERTS_SCHEMA;
use rusqlite::{params, Connection};
use serde_json::Value;

/// `sqlite://PATH`: the `alerts` table (schema in the README) in another database,
/// kept in step with every change of every alert.
pub struct Sqlite {
    uri: String,
    conn: Connection,
}

impl Sqlite {
    pub fn open(uri: &str, path: &str) -> anyhow::Result<Self> {
        if path.is_empty() {
            return Err(crate::app::usage(
                "sqlite:// needs a path, e.g. sqlite://alerts.db",
            ));
        }
        let conn = Connection::open(path)
            .map_err(|e| crate::app::usage(format!("cannot open {uri}: {e}")))?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.execute_batch(ALERTS_SCHEMA)
            .map_err(|e| crate::app::usage(format!("cannot use {uri}: {e}")))?;
        Ok(Sqlite {
            uri: crate::redact::url(uri),
            conn,
        })
    }
}

impl Destination for Sqlite {
    fn uri(&self) -> &str {
        &self.uri
    }

    fn records_every_change(&self) -> bool {
        true
    }

    fn deliver(&mut self, p: &Value) -> Result<(), DeliveryError> {
        let s = |k: &str| p.get(k).and_then(Value::as_str).map(str::to_string);
        let i = |k: &str| p.get(k).and_then(Value::as_i64);
        let notified = !matches!(p.get("notified"), Some(Value::Bool(false)));
        self.conn
            .execute(
                "INSERT INTO alerts (alert_id, container_id, product_id, fault, severity, status, rule, message,
                   evidence, since, opened_at, last_seen, resolved_at, event_count, notified, last_notified_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)
                 ON CONFLICT (alert_id) DO UPDATE SET product_id = excluded.product_id,
                   severity = excluded.severity, status = excluded.status, rule = excluded.rule,
                   message = excluded.message, evidence = excluded.evidence, last_seen = excluded.last_seen,
                   resolved_at = excluded.resolved_at, event_count = excluded.event_count,
                   notified = excluded.notified, last_notified_at = excluded.last_notified_at",
                params![
                    i("alert_id"),
                    s("container_id"),
                    s("product_id"),
                    s("fault"),
                    s("severity"),
                    s("status"),
                    s("rule"),
                    s("message"),
                    p.get("evidence").map(|e| e.to_string()),
                    s("since"),
                    s("opened_at"),
                    s("last_seen"),
                    s("resolved_at"),
                    i("event_count"),
                    notified as i64,
                    s("last_notified_at"),
                ],
            )
            .map(|_| ())
            .map_err(|e| DeliveryError::retryable(e.to_string()))
    }
}
