//! Fault events as reefer-detect writes them (SPEC §5), read leniently.

use crate::record::value_f64;
use crate::time::TimeParser;
use serde_json::{Map, Value};

/// Whether an event says a fault began (or goes on) or ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Open,
    Resolved,
}

/// One fault event.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultEvent {
    pub container_id: String,
    pub product_id: Option<String>,
    pub fault: String,
    pub severity: Severity,
    pub rule: Option<String>,
    pub detected_at_ms: i64,
    pub since_ms: i64,
    pub evidence: Value,
    pub message: Option<String>,
    pub phase: Phase,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
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

    pub fn parse(s: &str) -> Option<Severity> {
        match s.to_ascii_lowercase().as_str() {
            "warning" | "warn" | "minor" | "major" | "info" => Some(Severity::Warning),
            "critical" | "crit" | "error" | "fatal" => Some(Severity::Critical),
            _ => None,
        }
    }
}

fn text(map: &Map<String, Value>, key: &str) -> Option<String> {
    match map.get(key) {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    }
}

fn time_ms(map: &Map<String, Value>, key: &str, times: &TimeParser) -> Result<Option<i64>, String> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => times
            .parse(s)
            .map(|t| Some(t.timestamp_millis()))
            .map_err(|e| format!("{key}: {e}")),
        Some(v) => match value_f64(v) {
            Some(_) => Err(format!("{key}: expected an RFC 3339 time, found a number")),
            None => Err(format!("{key}: expected an RFC 3339 time, found {v}")),
        },
    }
}

impl FaultEvent {
    /// Reads an event. `status` (or `event`) says `open` (also `escalated`, as
    /// reefer-detect writes when the severity rises) or `resolved`; missing means open.
    pub fn from_map(map: &Map<String, Value>, times: &TimeParser) -> Result<FaultEvent, String> {
        let container_id =
            text(map, "container_id").ok_or("missing required field container_id")?;
        let fault = text(map, "fault").ok_or("missing required field fault")?;
        let detected_at_ms =
            time_ms(map, "detected_at", times)?.ok_or("missing required field detected_at")?;
        let since_ms = time_ms(map, "since", times)?.unwrap_or(detected_at_ms);
        let severity = match map.get("severity") {
            None | Some(Value::Null) => Severity::Warning,
            Some(Value::String(s)) => Severity::parse(s)
                .ok_or_else(|| format!("severity: expected warning or critical, found {s:?}"))?,
            Some(v) => return Err(format!("severity: expected warning or critical, found {v}")),
        };
        let phase_text = text(map, "status").or_else(|| text(map, "event"));
        let phase = match phase_text
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None
            | Some(
                "open" | "opened" | "escalated" | "escalate" | "updated" | "update" | "firing"
                | "active" | "start" | "started" | "ongoing",
            ) => Phase::Open,
            Some(
                "resolved" | "resolve" | "closed" | "close" | "ended" | "end" | "clear" | "cleared"
                | "ok",
            ) => Phase::Resolved,
            Some(other) => {
                return Err(format!(
                    "status: expected open, escalated or resolved, found {other:?}"
                ))
            }
        };
        Ok(FaultEvent {
            container_id,
            product_id: text(map, "product_id"),
            fault,
            severity,
            rule: text(map, "rule"),
            detected_at_ms,
            since_ms,
            evidence: map.get("evidence").cloned().unwrap_or(Value::Null),
            message: text(map, "message"),
            phase,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(json: &str) -> Result<FaultEvent, String> {
        let v: Value = serde_json::from_str(json).unwrap();
        FaultEvent::from_map(v.as_object().unwrap(), &TimeParser::default())
    }

    #[test]
    fn reads_open_and_resolve_events() {
        let e = ev(r#"{"container_id":"MSKU1234565","product_id":"P01","fault":"power_off","severity":"critical","rule":"power_off","detected_at":"2026-11-27T03:10:00Z","since":"2026-11-27T03:05:00Z","evidence":{"kilowatts":0},"message":"no power"}"#).unwrap();
        assert_eq!(e.phase, Phase::Open);
        assert_eq!(e.severity, Severity::Critical);
        assert_eq!(e.detected_at_ms - e.since_ms, 300_000);
        let e = ev(r#"{"container_id":"C1","fault":"door_open","detected_at":"2026-11-27T03:10:00Z","status":"resolved"}"#).unwrap();
        assert_eq!(e.phase, Phase::Resolved);
        assert_eq!(e.severity, Severity::Warning);
        let e = ev(r#"{"container_id":"C1","fault":"door_open","detected_at":"2026-11-27T03:10:00Z","status":"escalated","severity":"critical"}"#).unwrap();
        assert_eq!((e.phase, e.severity), (Phase::Open, Severity::Critical));
        let e = ev(r#"{"container_id":"C1","fault":"door_open","detected_at":"2026-11-27T03:10:00Z","event":"resolve"}"#).unwrap();
        assert_eq!(e.phase, Phase::Resolved);
    }

    #[test]
    fn rejects_incomplete_events() {
        assert_eq!(
            ev(r#"{"fault":"x","detected_at":"2026-11-27T03:10:00Z"}"#).unwrap_err(),
            "missing required field container_id"
        );
        assert!(ev(r#"{"container_id":"C","fault":"x"}"#)
            .unwrap_err()
            .contains("detected_at"));
        assert!(ev(r#"{"container_id":"C","fault":"x","detected_at":"soon"}"#).is_err());
        assert!(ev(r#"{"container_id":"C","fault":"x","detected_at":"2026-11-27T03:10:00Z","severity":"meh"}"#).is_err());
    }
}
