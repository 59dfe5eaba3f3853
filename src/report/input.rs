//! What reefer-report reads: readings, reefer-window rows and fault events in
//! any mix, told apart by their fields (`window_start` makes a row,
//! `detected_at` an event, `measurement_time` a reading).
//!
//! Readings and rows are read into one lean struct that borrows from the line
//! and skips every field a chart does not use (serde ignores unknown keys
//! without building them), so a day of 10,000 containers is not a day of
//! `serde_json::Map`s. Events are few and go through the one event type,
//! [`crate::event::FaultEvent`].

use crate::event::FaultEvent;
use crate::time::TimeParser;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::borrow::Cow;

/// The fields of a reading or a window row that the report uses.
#[derive(Debug, Default, Deserialize)]
pub struct Telemetry<'a> {
    #[serde(borrow)]
    pub container_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub product_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub measurement_time: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub window_start: Option<Cow<'a, str>>,
    /// Simulator ground truth (readings only).
    #[serde(borrow)]
    pub fault: Option<Cow<'a, str>>,
    pub count: Option<f64>,
    pub temperature: Option<f64>,
    pub temperature_min: Option<f64>,
    pub temperature_max: Option<f64>,
    pub temperature_mean: Option<f64>,
    pub target_temperature: Option<f64>,
    pub target_temperature_mean: Option<f64>,
    pub supply_air_temperature: Option<f64>,
    pub supply_air_temperature_mean: Option<f64>,
    pub ambient_temperature: Option<f64>,
    pub ambient_temperature_mean: Option<f64>,
    pub ambiant_temperature: Option<f64>,
    pub kilowatts: Option<f64>,
    pub kilowatts_mean: Option<f64>,
    pub oxygen_level: Option<f64>,
    pub oxygen_level_mean: Option<f64>,
    pub carbon_dioxide_level: Option<f64>,
    pub carbon_dioxide_level_mean: Option<f64>,
    pub latitude: Option<f64>,
    pub latitude_mean: Option<f64>,
    pub latitude_last: Option<f64>,
    pub longitude: Option<f64>,
    pub longitude_mean: Option<f64>,
    pub longitude_last: Option<f64>,
    pub door_open: Option<bool>,
    pub defrost: Option<bool>,
    pub door_open_true: Option<f64>,
    pub defrost_true: Option<f64>,
}

/// One input record, classified.
// The big variant is the common one and lives on the stack for one line;
// boxing it would allocate per line to save stack for the rare event.
#[allow(clippy::large_enum_variant)]
pub enum Record<'a> {
    /// A reading (`row == false`) or a window row, with its event time in ms.
    Telemetry {
        t: Telemetry<'a>,
        at_ms: i64,
        row: bool,
    },
    Event(Box<FaultEvent>),
}

/// Reads one JSON Lines line, or one CSV row already typed by the codec.
pub fn classify<'a>(
    text: &'a str,
    csv: Option<&Map<String, Value>>,
    times: &TimeParser,
) -> Result<Record<'a>, String> {
    if is_event(text, csv) {
        let owned;
        let map = match csv {
            Some(m) => m,
            None => {
                owned = crate::codec::parse_json_object_str(text)?;
                &owned
            }
        };
        return FaultEvent::from_map(map, times)
            .map(|e| Record::Event(Box::new(e)))
            .map_err(|e| format!("fault event: {e}"));
    }
    let t: Telemetry<'a> = match csv {
        Some(m) => Telemetry::deserialize(Value::Object(m.clone()))
            .map_err(|e| format!("invalid field: {e}"))?,
        None => serde_json::from_str(text).map_err(|e| match e.classify() {
            serde_json::error::Category::Data => format!("invalid field: {e}"),
            _ => format!("invalid JSON: {e}"),
        })?,
    };
    if t.container_id
        .as_deref()
        .is_none_or(|s| s.trim().is_empty())
    {
        return Err("missing required field container_id".into());
    }
    let (field, when, row) = match (&t.window_start, &t.measurement_time) {
        (Some(w), _) => ("window_start", w, true),
        (None, Some(m)) => ("measurement_time", m, false),
        (None, None) => {
            return Err(
                "neither a reading, a window row nor a fault event (no measurement_time, window_start or detected_at)"
                    .into(),
            )
        }
    };
    let at_ms = times.parse_ms(when).map_err(|e| format!("{field}: {e}"))?;
    Ok(Record::Telemetry { t, at_ms, row })
}

/// A fault event has `detected_at`; a reading never does. Looked for as a key
/// (cheap) before any parse.
fn is_event(text: &str, csv: Option<&Map<String, Value>>) -> bool {
    match csv {
        Some(m) => m.contains_key("detected_at"),
        None => memchr::memmem::find(text.as_bytes(), b"\"detected_at\"").is_some(),
    }
}

impl Telemetry<'_> {
    pub fn temp(&self) -> Option<f64> {
        self.temperature_mean.or(self.temperature)
    }
    pub fn setpoint(&self) -> Option<f64> {
        self.target_temperature_mean.or(self.target_temperature)
    }
    pub fn supply(&self) -> Option<f64> {
        self.supply_air_temperature_mean
            .or(self.supply_air_temperature)
    }
    pub fn ambient(&self) -> Option<f64> {
        self.ambient_temperature_mean
            .or(self.ambient_temperature)
            .or(self.ambiant_temperature)
    }
    pub fn kilowatts(&self) -> Option<f64> {
        self.kilowatts_mean.or(self.kilowatts)
    }
    pub fn oxygen(&self) -> Option<f64> {
        self.oxygen_level_mean.or(self.oxygen_level)
    }
    pub fn carbon_dioxide(&self) -> Option<f64> {
        self.carbon_dioxide_level_mean.or(self.carbon_dioxide_level)
    }
    /// The last position: a row's `_last` column, else its mean, else the reading's.
    pub fn position(&self) -> Option<(f64, f64)> {
        let lat = self
            .latitude_last
            .or(self.latitude_mean)
            .or(self.latitude)?;
        let lon = self
            .longitude_last
            .or(self.longitude_mean)
            .or(self.longitude)?;
        ((-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon)).then_some((lat, lon))
    }
    /// Readings the record stands for: 1, or a window row's `count`.
    pub fn weight(&self) -> f64 {
        self.count.filter(|c| *c >= 0.0).unwrap_or(1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(line: &str) -> Result<&'static str, String> {
        classify(line, None, &TimeParser::new(None)).map(|r| match r {
            Record::Telemetry { row: false, .. } => "reading",
            Record::Telemetry { row: true, .. } => "row",
            Record::Event(_) => "event",
        })
    }

    #[test]
    fn records_are_told_apart_by_their_fields() {
        assert_eq!(
            kind(
                r#"{"container_id":"C1","measurement_time":"2026-11-27T00:00:00Z","temperature":1}"#
            ),
            Ok("reading")
        );
        assert_eq!(
            kind(r#"{"window_start":"2026-11-27T00:00:00Z","container_id":"C1","count":6}"#),
            Ok("row")
        );
        assert_eq!(
            kind(
                r#"{"container_id":"C1","fault":"door_open","detected_at":"2026-11-27T00:00:00Z"}"#
            ),
            Ok("event")
        );
    }

    #[test]
    fn a_record_of_no_known_kind_or_with_a_wrong_type_says_why() {
        assert!(kind(r#"{"container_id":"C1"}"#)
            .unwrap_err()
            .contains("neither"));
        assert!(kind(r#"{"container_id":"C1","measurement_time":"x"}"#)
            .unwrap_err()
            .starts_with("measurement_time"));
        assert!(kind(
            r#"{"container_id":"C1","measurement_time":"2026-11-27T00:00:00Z","temperature":"hot"}"#
        )
        .unwrap_err()
        .starts_with("invalid field"));
        assert!(kind("{").unwrap_err().starts_with("invalid JSON"));
        assert!(
            kind(r#"{"fault":"x","detected_at":"2026-11-27T00:00:00Z"}"#)
                .unwrap_err()
                .contains("container_id")
        );
    }
}
