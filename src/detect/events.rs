//! Evidence helpers for the detectors; the event type itself is the shared
//! [`crate::event::FaultEvent`] (re-exported here so rules import one place).

pub use crate::event::{FaultEvent, Severity, Status};
use serde_json::{Map, Value};

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
