//! Fault events (SPEC §5): one `open` event per fault episode, an
//! `escalated` event when an open episode becomes critical, and a `resolved`
//! event when the condition has cleared.

use crate::time::format_millis;
use serde_json::{Map, Value};
use std::io::{self, Write};

/// How bad a fault is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Deserialize)]
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
}

/// One fault event.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultEvent {
    pub status: Status,
    pub container_id: String,
    pub product_id: String,
    /// A fault name of SPEC §3, `temperature_excursion`, or a custom rule's fault.
    pub fault: String,
    pub severity: Severity,
    /// The rule that raised it.
    pub rule: String,
    /// Event time of the reading that opened (or escalated, or resolved) the episode, ms.
    pub detected_at: i64,
    /// Event time the condition began, ms.
    pub since: i64,
    /// The values that triggered it.
    pub evidence: Map<String, Value>,
    pub message: String,
}

impl FaultEvent {
    pub fn to_json(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("status".into(), self.status.name().into());
        m.insert("container_id".into(), self.container_id.clone().into());
        m.insert("product_id".into(), self.product_id.clone().into());
        m.insert("fault".into(), self.fault.clone().into());
        m.insert("severity".into(), self.severity.name().into());
        m.insert("rule".into(), self.rule.clone().into());
        m.insert("detected_at".into(), format_millis(self.detected_at).into());
        m.insert("since".into(), format_millis(self.since).into());
        if self.status == Status::Resolved {
            m.insert(
                "duration_s".into(),
                Value::from((self.detected_at - self.since) / 1000),
            );
        }
        m.insert("evidence".into(), Value::Object(self.evidence.clone()));
        m.insert("message".into(), self.message.clone().into());
        m
    }

    /// Writes the event as one JSON line.
    pub fn write_jsonl(&self, out: &mut impl Write) -> io::Result<()> {
        serde_json::to_writer(&mut *out, &Value::Object(self.to_json()))?;
        out.write_all(b"\n")
    }
}

/// A number for evidence, rounded to what a sensor reports.
pub fn num(x: f64) -> Value {
    let r = (x * 1000.0).round() / 1000.0;
    serde_json::Number::from_f64(r)
        .map(Value::Number)
        .unwrap_or(Value::Null)
}

/// Builds an evidence object from pairs, skipping absent values.
pub fn evidence(pairs: &[(&str, Option<Value>)]) -> Map<String, Value> {
    let mut m = Map::new();
    for (k, v) in pairs {
        if let Some(v) = v {
            m.insert((*k).to_string(), v.clone());
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_has_the_spec_fields() {
        let e = FaultEvent {
            status: Status::Open,
            container_id: "MSKU1234565".into(),
            product_id: "P01".into(),
            fault: "power_off".into(),
            severity: Severity::Warning,
            rule: "power_off".into(),
            detected_at: 60_000,
            since: 0,
            evidence: evidence(&[("kilowatts", Some(num(0.0)))]),
            message: "no power".into(),
        };
        let mut out = Vec::new();
        e.write_jsonl(&mut out).unwrap();
        let v: Value = serde_json::from_slice(&out).unwrap();
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
        ] {
            assert!(v.get(k).is_some(), "{k}");
        }
        assert_eq!(v["detected_at"], "1970-01-01T00:01:00Z");
    }
}
