//! Fault events (contract §5), the one type reefer-detect writes and reefer-act
//! reads: one `open` event per fault episode, an `escalated` event when an
//! open episode becomes critical, and a `resolved` event when the condition
//! has cleared.
//!
//! reefer-detect fills every field; [`FaultEvent::from_map`] also accepts the
//! looser events other producers write (no `status`, `event` instead of
//! `status`, `crit` for `critical`, no `product_id`, `rule` or `message`).

use crate::record::value_f64;
use crate::time::{format_millis, TimeParser};
use serde_json::{Map, Value};
use std::io::{self, Write};

/// How bad a fault is.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Critical,
}

impl Severity {
    pub fn name(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }

    /// Reads a severity leniently, as alerting systems spell it.
    pub fn parse(s: &str) -> Option<Severity> {
        match s.to_ascii_lowercase().as_str() {
            "warning" | "warn" | "minor" | "major" | "info" => Some(Severity::Warning),
            "critical" | "crit" | "error" | "fatal" => Some(Severity::Critical),
            _ => None,
        }
    }
}

/// Where an episode is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Open,
    Escalated,
    Resolved,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Escalated => "escalated",
            Status::Resolved => "resolved",
        }
    }

    /// Reads a status leniently; `None` for a word that is none of them.
    pub fn parse(s: &str) -> Option<Status> {
        match s.to_ascii_lowercase().as_str() {
            "open" | "opened" | "updated" | "update" | "firing" | "active" | "start"
            | "started" | "ongoing" => Some(Status::Open),
            "escalated" | "escalate" => Some(Status::Escalated),
            "resolved" | "resolve" | "closed" | "close" | "ended" | "end" | "clear" | "cleared"
            | "ok" => Some(Status::Resolved),
            _ => None,
        }
    }

    /// True while the fault goes on (open or escalated).
    pub fn is_active(self) -> bool {
        self != Status::Resolved
    }
}

/// One fault event.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultEvent {
    pub status: Status,
    pub container_id: String,
    pub product_id: Option<String>,
    /// A fault name of contract §3, `temperature_excursion`, or a custom rule's fault.
    pub fault: String,
    pub severity: Severity,
    /// The rule that raised it.
    pub rule: Option<String>,
    /// Event time of the reading that opened (or escalated, or resolved) the episode, ms.
    pub detected_at_ms: i64,
    /// Event time the condition began, ms.
    pub since_ms: i64,
    /// The values that triggered it (an object; `null` when a producer gave none).
    pub evidence: Value,
    pub message: Option<String>,
}

/// Why an event cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    #[error("missing required field {0}")]
    Missing(&'static str),
    #[error("{field}: {why}")]
    Time { field: &'static str, why: String },
    #[error("{field}: expected an RFC 3339 time, found {found}")]
    NotATime { field: &'static str, found: String },
    #[error("{field}: expected a string, found {found}")]
    NotAString { field: &'static str, found: String },
    #[error("severity: expected warning or critical, found {0}")]
    Severity(String),
    #[error("status: expected open, escalated or resolved, found {0}")]
    Status(String),
}

impl FaultEvent {
    /// The event as a JSON object, fields in contract §5 order.
    pub fn to_json(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("status".into(), self.status.name().into());
        m.insert("container_id".into(), self.container_id.clone().into());
        if let Some(p) = &self.product_id {
            m.insert("product_id".into(), p.clone().into());
        }
        m.insert("fault".into(), self.fault.clone().into());
        m.insert("severity".into(), self.severity.name().into());
        if let Some(r) = &self.rule {
            m.insert("rule".into(), r.clone().into());
        }
        m.insert(
            "detected_at".into(),
            format_millis(self.detected_at_ms).into(),
        );
        m.insert("since".into(), format_millis(self.since_ms).into());
        if self.status == Status::Resolved {
            m.insert(
                "duration_s".into(),
                Value::from((self.detected_at_ms - self.since_ms) / 1000),
            );
        }
        m.insert("evidence".into(), self.evidence.clone());
        if let Some(msg) = &self.message {
            m.insert("message".into(), msg.clone().into());
        }
        m
    }

    /// Writes the event as one JSON line.
    pub fn write_jsonl(&self, out: &mut impl Write) -> io::Result<()> {
        serde_json::to_writer(&mut *out, &Value::Object(self.to_json()))?;
        out.write_all(b"\n")
    }

    /// Reads an event leniently. `status` (or `event`) says open, escalated or
    /// resolved, in any of the usual spellings; missing means open. Missing
    /// `since` is `detected_at`, missing `severity` is a warning.
    pub fn from_map(map: &Map<String, Value>, times: &TimeParser) -> Result<Self, EventError> {
        let container_id = id(map, "container_id")?;
        let fault = text(map, "fault").ok_or(EventError::Missing("fault"))?;
        let detected_at_ms =
            time_ms(map, "detected_at", times)?.ok_or(EventError::Missing("detected_at"))?;
        let since_ms = time_ms(map, "since", times)?.unwrap_or(detected_at_ms);
        let severity = match map.get("severity") {
            None | Some(Value::Null) => Severity::Warning,
            Some(Value::String(s)) => {
                Severity::parse(s).ok_or_else(|| EventError::Severity(format!("{s:?}")))?
            }
            Some(v) => return Err(EventError::Severity(v.to_string())),
        };
        let status = match text(map, "status").or_else(|| text(map, "event")) {
            None => Status::Open,
            Some(s) => Status::parse(&s)
                .ok_or_else(|| EventError::Status(format!("{:?}", s.to_ascii_lowercase())))?,
        };
        Ok(FaultEvent {
            status,
            container_id,
            product_id: text(map, "product_id"),
            fault,
            severity,
            rule: text(map, "rule"),
            detected_at_ms,
            since_ms,
            evidence: map.get("evidence").cloned().unwrap_or(Value::Null),
            message: text(map, "message"),
        })
    }
}

/// A required identifier: text, as the schema types it (a number is a wrong type).
fn id(map: &Map<String, Value>, field: &'static str) -> Result<String, EventError> {
    match map.get(field) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.clone()),
        None | Some(Value::Null) | Some(Value::String(_)) => Err(EventError::Missing(field)),
        Some(v) => Err(EventError::NotAString {
            field,
            found: v.to_string(),
        }),
    }
}

fn text(map: &Map<String, Value>, key: &str) -> Option<String> {
    match map.get(key) {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    }
}

fn time_ms(
    map: &Map<String, Value>,
    field: &'static str,
    times: &TimeParser,
) -> Result<Option<i64>, EventError> {
    match map.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => times
            .parse(s)
            .map(|t| Some(t.timestamp_millis()))
            .map_err(|e| EventError::Time {
                field,
                why: e.to_string(),
            }),
        Some(v) => Err(EventError::NotATime {
            field,
            found: match value_f64(v) {
                Some(_) => "a number".into(),
                None => v.to_string(),
            },
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(json: &str) -> Result<FaultEvent, EventError> {
        let v: Value = serde_json::from_str(json).unwrap();
        FaultEvent::from_map(v.as_object().unwrap(), &TimeParser::default())
    }

    #[test]
    fn what_detect_writes_act_reads_back_unchanged() {
        let e = FaultEvent {
            status: Status::Escalated,
            container_id: "MSKU1234565".into(),
            product_id: Some("P01".into()),
            fault: "power_off".into(),
            severity: Severity::Critical,
            rule: Some("power_off".into()),
            detected_at_ms: 1_795_000_000_000,
            since_ms: 1_794_999_940_000,
            evidence: serde_json::json!({"kilowatts": 0.0}),
            message: Some("no power".into()),
        };
        let mut out = Vec::new();
        e.write_jsonl(&mut out).unwrap();
        let back = ev(std::str::from_utf8(&out).unwrap()).unwrap();
        assert_eq!(back, e);
    }

    #[test]
    fn event_has_the_spec_fields() {
        let v = Value::Object(
            ev(r#"{"container_id":"C","product_id":"P01","fault":"x","rule":"x","message":"m","detected_at":"1970-01-01T00:01:00Z","status":"resolved"}"#)
                .unwrap()
                .to_json(),
        );
        for k in [
            "container_id",
            "product_id",
            "fault",
            "severity",
            "rule",
            "detected_at",
            "since",
            "evidence",
            "message",
            "status",
            "duration_s",
        ] {
            assert!(v.get(k).is_some(), "{k}");
        }
        assert_eq!(v["detected_at"], "1970-01-01T00:01:00Z");
    }

    #[test]
    fn reads_other_producers_events_leniently() {
        let e = ev(r#"{"container_id":"MSKU1234565","product_id":"P01","fault":"power_off","severity":"critical","rule":"power_off","detected_at":"2026-11-27T03:10:00Z","since":"2026-11-27T03:05:00Z","evidence":{"kilowatts":0},"message":"no power"}"#).unwrap();
        assert_eq!(e.status, Status::Open);
        assert_eq!(e.severity, Severity::Critical);
        assert_eq!(e.detected_at_ms - e.since_ms, 300_000);
        let e = ev(r#"{"container_id":"C1","fault":"door_open","detected_at":"2026-11-27T03:10:00Z","status":"resolved"}"#).unwrap();
        assert_eq!(
            (e.status, e.severity),
            (Status::Resolved, Severity::Warning)
        );
        let e = ev(r#"{"container_id":"C1","fault":"door_open","detected_at":"2026-11-27T03:10:00Z","status":"escalated","severity":"crit"}"#).unwrap();
        assert_eq!(
            (e.status, e.severity),
            (Status::Escalated, Severity::Critical)
        );
        let e = ev(r#"{"container_id":"C1","fault":"door_open","detected_at":"2026-11-27T03:10:00Z","event":"resolve"}"#).unwrap();
        assert_eq!(e.status, Status::Resolved);
    }

    #[test]
    fn rejects_incomplete_events() {
        assert_eq!(
            ev(r#"{"fault":"x","detected_at":"2026-11-27T03:10:00Z"}"#)
                .unwrap_err()
                .to_string(),
            "missing required field container_id"
        );
        assert_eq!(
            ev(r#"{"container_id":"C","fault":"x"}"#).unwrap_err(),
            EventError::Missing("detected_at")
        );
        assert!(ev(r#"{"container_id":"C","fault":"x","detected_at":"soon"}"#).is_err());
        assert!(matches!(
            ev(r#"{"container_id":"C","fault":"x","detected_at":1}"#),
            Err(EventError::NotATime { .. })
        ));
        assert!(matches!(
            ev(
                r#"{"container_id":"C","fault":"x","detected_at":"2026-11-27T03:10:00Z","severity":"meh"}"#
            ),
            Err(EventError::Severity(_))
        ));
        assert!(matches!(
            ev(
                r#"{"container_id":"C","fault":"x","detected_at":"2026-11-27T03:10:00Z","status":"meh"}"#
            ),
            Err(EventError::Status(_))
        ));
    }
}
