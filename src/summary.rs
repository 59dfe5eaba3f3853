//! The one end-of-run account every tool gives (contract §7.1): the summary
//! line on stderr and the counts of `--stats-json FILE` are made from the same
//! [`Summary`], so the two never disagree and read the same in every tool:
//!
//! ```text
//! reefer-window: read 181 records, wrote 30 rows, rejected 1 (kept in bad.jsonl), late 2 (first at fleet.jsonl:17, …)
//! reefer-ship: read 181 records, wrote 180 records, rejected 1 (--dead-letter FILE keeps them), failed 0, dead 0; 3 objects written
//! ```

use serde_json::{json, Map, Value};
use std::time::Instant;

/// One run's counts. `read` counts input records with the bad ones; `written`
/// what the tool wrote (to stdout or its destinations), in `what` units.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub read: u64,
    pub written: u64,
    /// The unit of `written` on the line, singular: "row", "event", "record", ...
    pub what: &'static str,
    /// Bad input lines (each reported with its line number as it was met).
    pub rejected: u64,
    /// The `--dead-letter` file holding them.
    pub rejected_kept_in: Option<String>,
    /// Records that came too late to be used, and what to say about them.
    pub late: u64,
    pub late_detail: Option<String>,
    /// For tools with destinations beyond stdout (ship, act): what the
    /// destinations confirmed, what could not be delivered, and how much of
    /// that is kept in a file (`--undelivered`, `--dead-letter`). `None` for a
    /// tool whose output is stdout: all it wrote counts as delivered.
    pub deliveries: Option<Deliveries>,
    /// Tool-specific clauses, after the counts (`3 objects written`).
    pub notes: Vec<String>,
    /// Stdout closed before the end (`| head`): the run stopped there, quietly.
    pub output_closed: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Deliveries {
    pub delivered: u64,
    pub failed: u64,
    pub dead: u64,
}

impl Summary {
    pub fn new(what: &'static str) -> Summary {
        Summary {
            what,
            ..Summary::default()
        }
    }

    /// True when the run has something to own up to: a rejected or late
    /// record, or a delivery that failed. Filters (reefer-window,
    /// reefer-detect) stay silent on a clean run; sinks always speak.
    pub fn has_losses(&self) -> bool {
        self.rejected > 0 || self.late > 0 || self.deliveries.is_some_and(|d| d.failed > 0)
    }

    /// The summary line, `tool: ` first.
    pub fn line(&self, tool: &str) -> String {
        let mut s = format!(
            "{tool}: read {} record{}, wrote {} {}{}, rejected {}",
            self.read,
            plural(self.read),
            self.written,
            self.what,
            plural(self.written),
            self.rejected
        );
        if self.rejected > 0 {
            match &self.rejected_kept_in {
                Some(p) => s.push_str(&format!(" (kept in {p})")),
                None => s.push_str(" (--dead-letter FILE keeps them)"),
            }
        }
        if self.late > 0 {
            s.push_str(&format!(", late {}", self.late));
            if let Some(d) = &self.late_detail {
                s.push_str(&format!(" ({d})"));
            }
        }
        if let Some(d) = self.deliveries {
            s.push_str(&format!(", failed {}, dead {}", d.failed, d.dead));
        }
        for note in &self.notes {
            s.push_str("; ");
            s.push_str(note);
        }
        s
    }

    /// The `--stats-json` object: `tool`, `seconds`, the counts every tool
    /// has (`read`, `written`, `rejected`, `late`, `delivered`, `failed`,
    /// `dead`), then the tool's own (`extra`).
    pub fn to_json(&self, tool: &str, started: Instant, extra: Value) -> Value {
        let d = self.deliveries.unwrap_or(Deliveries {
            delivered: self.written,
            failed: 0,
            dead: 0,
        });
        let mut obj = Map::new();
        obj.insert("tool".into(), tool.into());
        obj.insert(
            "seconds".into(),
            json!((started.elapsed().as_secs_f64() * 1000.0).round() / 1000.0),
        );
        for (k, v) in [
            ("read", self.read),
            ("written", self.written),
            ("rejected", self.rejected),
            ("late", self.late),
            ("delivered", d.delivered),
            ("failed", d.failed),
            ("dead", d.dead),
        ] {
            obj.insert(k.into(), v.into());
        }
        obj.insert("output_closed".into(), self.output_closed.into());
        if let Value::Object(m) = extra {
            obj.extend(m);
        }
        Value::Object(obj)
    }

    /// Writes `--stats-json FILE`.
    pub fn write_json(
        &self,
        path: &str,
        tool: &str,
        started: Instant,
        extra: Value,
    ) -> anyhow::Result<()> {
        let text = format!("{:#}\n", self.to_json(tool, started, extra));
        std::fs::write(path, text)
            .map_err(|e| anyhow::anyhow!("cannot write --stats-json {path}: {e}"))
    }
}

fn plural(n: u64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clean_filter_run_reads_as_counts_only() {
        let s = Summary {
            read: 3,
            written: 1,
            ..Summary::new("row")
        };
        assert_eq!(
            s.line("reefer-window"),
            "reefer-window: read 3 records, wrote 1 row, rejected 0"
        );
        assert!(!s.has_losses());
    }

    #[test]
    fn rejects_late_records_deliveries_and_notes_each_have_their_place() {
        let s = Summary {
            read: 1,
            written: 0,
            rejected: 2,
            rejected_kept_in: Some("bad.jsonl".into()),
            late: 1,
            late_detail: Some("first at x:3".into()),
            deliveries: Some(Deliveries {
                delivered: 0,
                failed: 4,
                dead: 3,
            }),
            notes: vec!["3 objects written".into()],
            ..Summary::new("record")
        };
        assert_eq!(
            s.line("reefer-ship"),
            "reefer-ship: read 1 record, wrote 0 records, rejected 2 (kept in bad.jsonl), \
             late 1 (first at x:3), failed 4, dead 3; 3 objects written"
        );
        assert!(s.has_losses());
    }

    #[test]
    fn the_stats_json_has_every_common_count_then_the_tools_own() {
        let s = Summary {
            read: 5,
            written: 4,
            rejected: 1,
            ..Summary::new("event")
        };
        let v = s.to_json("reefer-detect", Instant::now(), json!({"containers": 2}));
        for (k, n) in [
            ("read", 5),
            ("written", 4),
            ("rejected", 1),
            ("late", 0),
            ("delivered", 4),
            ("failed", 0),
            ("dead", 0),
            ("containers", 2),
        ] {
            assert_eq!(v[k], n, "{k}: {v}");
        }
        assert_eq!(v["tool"], "reefer-detect");
        assert!(v["seconds"].is_number());
    }
}
