//! The telemetry reading (contract §1), shared by every tool.

use crate::time::{format_time, TimeParser};
use chrono::{DateTime, Utc};
use serde_json::{Map, Number, Value};

/// One reading of one container. Fields the schema does not know are kept in
/// `extra`, in their input order, and written back untouched.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    pub container_id: String,
    pub measurement_time: DateTime<Utc>,
    pub product_id: String,
    pub temperature: f64,
    pub kilowatts: f64,
    pub oxygen_level: f64,
    pub carbon_dioxide_level: f64,
    pub fan_1: bool,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub target_temperature: Option<f64>,
    pub supply_air_temperature: Option<f64>,
    pub ambient_temperature: Option<f64>,
    pub humidity_level: Option<f64>,
    pub nitrogen_level: Option<f64>,
    pub fan_2: Option<bool>,
    pub fan_3: Option<bool>,
    pub defrost: Option<bool>,
    pub door_open: Option<bool>,
    pub operating_mode: Option<String>,
    /// Simulator ground truth: detectors must never read it.
    pub fault: Option<String>,
    /// Simulator ground truth: detectors must never read it.
    pub maintenance_required: Option<bool>,
    pub extra: Map<String, Value>,
}

/// The operating modes contract §1 names.
pub const OPERATING_MODES: [&str; 6] = [
    "full_cool",
    "modulated_cool",
    "fans_only",
    "defrost",
    "heat",
    "off",
];

/// A unit's operating mode (contract §1): what reefer-sim writes and the
/// detectors read. `Other` is any mode name outside [`OPERATING_MODES`]
/// (other telemetry sources have their own); the simulator never writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    FullCool,
    ModulatedCool,
    FansOnly,
    Defrost,
    Heat,
    Off,
    Other,
}

impl Mode {
    pub fn parse(s: &[u8]) -> Mode {
        match s {
            b"full_cool" => Mode::FullCool,
            b"modulated_cool" => Mode::ModulatedCool,
            b"fans_only" => Mode::FansOnly,
            b"defrost" => Mode::Defrost,
            b"heat" => Mode::Heat,
            b"off" => Mode::Off,
            _ => Mode::Other,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Mode::FullCool => "full_cool",
            Mode::ModulatedCool => "modulated_cool",
            Mode::FansOnly => "fans_only",
            Mode::Defrost => "defrost",
            Mode::Heat => "heat",
            Mode::Off => "off",
            Mode::Other => "other",
        }
    }
}

/// The schema's text fields: a number there is a wrong type, whichever tool reads it.
pub const STRING_FIELDS: [&str; 4] = ["container_id", "product_id", "operating_mode", "fault"];

/// Every field the schema knows, in the order tools write them.
/// A field named on the command line (`--fields`, `--by`, `--where`, ...):
/// a name that is not a known field but one edit from one (two in a name of
/// ten or more characters) is a typo,
/// refused with a suggestion (`humdity_level` → `humidity_level`); any other
/// unknown name is a field of the user's own and is accepted.
pub fn check_field_name(flag: &str, name: &str) -> Result<(), String> {
    let known = FIELDS
        .iter()
        .chain(crate::codec::HEADER_FIELDS.iter())
        .copied();
    let mut best: Option<(usize, &str)> = None;
    for k in known {
        if k == name {
            return Ok(());
        }
        let d = strsim::damerau_levenshtein(k, name);
        if best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, k));
        }
    }
    match best {
        // One edit, or two in a long name: `site` is not a typo of `since`.
        Some((d, k)) if (d == 1 && name.len() > 3) || (d == 2 && name.len() >= 10) => Err(format!(
            "{flag}: no field {name:?} in the reading schema; did you mean {k:?}?"
        )),
        _ => Ok(()),
    }
}

pub const FIELDS: [&str; 22] = [
    "container_id",
    "measurement_time",
    "product_id",
    "temperature",
    "target_temperature",
    "supply_air_temperature",
    "ambient_temperature",
    "kilowatts",
    "oxygen_level",
    "carbon_dioxide_level",
    "nitrogen_level",
    "humidity_level",
    "fan_1",
    "fan_2",
    "fan_3",
    "defrost",
    "door_open",
    "operating_mode",
    "latitude",
    "longitude",
    "fault",
    "maintenance_required",
];

impl Reading {
    /// Reads a reading from a JSON object (from JSON Lines or a CSV row).
    ///
    /// Lenient where real exports differ: numbers may be strings, booleans may
    /// be `0`/`1` or `"true"`, ids may be numbers, and IBM's spelling
    /// `ambiant_temperature` is accepted for `ambient_temperature`.
    pub fn from_map(mut map: Map<String, Value>, times: &TimeParser) -> Result<Reading, String> {
        let container_id = take_id(&mut map, "container_id")?;
        let measurement_time = match map.shift_remove("measurement_time") {
            Some(Value::String(s)) => times
                .parse(&s)
                .map_err(|e| format!("measurement_time: {e}"))?,
            Some(Value::Null) | None => {
                return Err("missing required field measurement_time".into())
            }
            Some(other) => {
                return Err(format!(
                    "measurement_time: expected an RFC 3339 string, found {other}"
                ))
            }
        };
        let product_id = take_id(&mut map, "product_id")?;
        let temperature = take_f64(&mut map, "temperature")?;
        // A negative draw is well formed: an implausible value, which the
        // reader marks (reefer-detect: `Obs::mark_implausible`), not a bad line.
        let kilowatts = take_f64(&mut map, "kilowatts")?;
        let oxygen_level = take_f64(&mut map, "oxygen_level")?;
        let carbon_dioxide_level = take_f64(&mut map, "carbon_dioxide_level")?;
        let fan_1 = take_opt_bool(&mut map, "fan_1")?
            .ok_or_else(|| "missing required field fan_1".to_string())?;
        let latitude = take_opt_f64(&mut map, "latitude")?;
        let longitude = take_opt_f64(&mut map, "longitude")?;
        let target_temperature = take_opt_f64(&mut map, "target_temperature")?;
        let supply_air_temperature = take_opt_f64(&mut map, "supply_air_temperature")?;
        let mut ambient_temperature = take_opt_f64(&mut map, "ambient_temperature")?;
        if ambient_temperature.is_none() {
            ambient_temperature = take_opt_f64(&mut map, "ambiant_temperature")?;
        }
        let humidity_level = take_opt_f64(&mut map, "humidity_level")?;
        let nitrogen_level = take_opt_f64(&mut map, "nitrogen_level")?;
        let fan_2 = take_opt_bool(&mut map, "fan_2")?;
        let fan_3 = take_opt_bool(&mut map, "fan_3")?;
        let defrost = take_opt_bool(&mut map, "defrost")?;
        let door_open = take_opt_bool(&mut map, "door_open")?;
        let operating_mode = match map.shift_remove("operating_mode") {
            Some(Value::String(s)) if s.is_empty() => None,
            Some(Value::String(s)) => Some(s),
            Some(Value::Null) | None => None,
            Some(other) => return Err(format!("operating_mode: expected a string, found {other}")),
        };
        let fault = match map.shift_remove("fault") {
            Some(Value::String(s)) if !s.is_empty() => Some(s),
            _ => None,
        };
        let maintenance_required = take_opt_bool(&mut map, "maintenance_required")?;
        Ok(Reading {
            container_id,
            measurement_time,
            product_id,
            temperature,
            kilowatts,
            oxygen_level,
            carbon_dioxide_level,
            fan_1,
            latitude,
            longitude,
            target_temperature,
            supply_air_temperature,
            ambient_temperature,
            humidity_level,
            nitrogen_level,
            fan_2,
            fan_3,
            defrost,
            door_open,
            operating_mode,
            fault,
            maintenance_required,
            extra: map,
        })
    }

    /// Parses one JSON Lines line.
    pub fn from_json_line(line: &str, times: &TimeParser) -> Result<Reading, String> {
        Reading::from_map(crate::codec::parse_json_object_str(line)?, times)
    }

    /// The reading as a JSON object: schema fields in [`FIELDS`] order (optional
    /// ones only when present; `latitude`/`longitude` always), then unknown fields.
    pub fn to_map(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert(
            "container_id".into(),
            Value::String(self.container_id.clone()),
        );
        m.insert(
            "measurement_time".into(),
            Value::String(format_time(self.measurement_time)),
        );
        m.insert("product_id".into(), Value::String(self.product_id.clone()));
        m.insert("temperature".into(), num(self.temperature));
        put_f64(&mut m, "target_temperature", self.target_temperature);
        put_f64(
            &mut m,
            "supply_air_temperature",
            self.supply_air_temperature,
        );
        put_f64(&mut m, "ambient_temperature", self.ambient_temperature);
        m.insert("kilowatts".into(), num(self.kilowatts));
        m.insert("oxygen_level".into(), num(self.oxygen_level));
        m.insert(
            "carbon_dioxide_level".into(),
            num(self.carbon_dioxide_level),
        );
        put_f64(&mut m, "nitrogen_level", self.nitrogen_level);
        put_f64(&mut m, "humidity_level", self.humidity_level);
        m.insert("fan_1".into(), Value::Bool(self.fan_1));
        put_bool(&mut m, "fan_2", self.fan_2);
        put_bool(&mut m, "fan_3", self.fan_3);
        put_bool(&mut m, "defrost", self.defrost);
        put_bool(&mut m, "door_open", self.door_open);
        if let Some(mode) = &self.operating_mode {
            m.insert("operating_mode".into(), Value::String(mode.clone()));
        }
        m.insert(
            "latitude".into(),
            self.latitude.map(num).unwrap_or(Value::Null),
        );
        m.insert(
            "longitude".into(),
            self.longitude.map(num).unwrap_or(Value::Null),
        );
        if let Some(f) = &self.fault {
            m.insert("fault".into(), Value::String(f.clone()));
        }
        put_bool(&mut m, "maintenance_required", self.maintenance_required);
        for (k, v) in &self.extra {
            m.insert(k.clone(), v.clone());
        }
        m
    }
}

fn num(x: f64) -> Value {
    Number::from_f64(x)
        .map(Value::Number)
        .unwrap_or(Value::Null)
}

fn put_f64(m: &mut Map<String, Value>, key: &str, v: Option<f64>) {
    if let Some(x) = v {
        m.insert(key.into(), num(x));
    }
}

fn put_bool(m: &mut Map<String, Value>, key: &str, v: Option<bool>) {
    if let Some(b) = v {
        m.insert(key.into(), Value::Bool(b));
    }
}

fn take_id(map: &mut Map<String, Value>, key: &str) -> Result<String, String> {
    match map.shift_remove(key) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s),
        Some(Value::Number(n)) => Ok(n.to_string()),
        Some(Value::String(_)) => Err(format!("{key} is empty")),
        Some(Value::Null) | None => Err(format!("missing required field {key}")),
        Some(other) => Err(format!("{key}: expected a string, found {other}")),
    }
}

/// A number, also accepted as a numeric string (CSV exports, spreadsheets).
pub fn value_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok().filter(|x| x.is_finite()),
        _ => None,
    }
}

/// A boolean, also accepted as `0`/`1` or a `"true"`/`"false"` string.
pub fn value_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => match n.as_f64() {
            Some(0.0) => Some(false),
            Some(1.0) => Some(true),
            _ => None,
        },
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Some(true),
            "false" | "0" | "no" | "off" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

fn take_f64(map: &mut Map<String, Value>, key: &str) -> Result<f64, String> {
    take_opt_f64(map, key)?.ok_or_else(|| format!("missing required field {key}"))
}

fn take_opt_f64(map: &mut Map<String, Value>, key: &str) -> Result<Option<f64>, String> {
    match map.shift_remove(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => {
            Err(format!("{key}: expected a number, found \"\""))
        }
        Some(v) => value_f64(&v)
            .map(Some)
            .ok_or_else(|| format!("{key}: expected a number, found {v}")),
    }
}

fn take_opt_bool(map: &mut Map<String, Value>, key: &str) -> Result<Option<bool>, String> {
    match map.shift_remove(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => value_bool(&v)
            .map(Some)
            .ok_or_else(|| format!("{key}: expected true or false, found {v}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str = r#"{"container_id":"MSKU1234565","measurement_time":"2026-11-27T04:00:00+01:00","product_id":"P01","temperature":0.5,"kilowatts":2.5,"oxygen_level":20.9,"carbon_dioxide_level":0.04,"fan_1":true,"latitude":null,"longitude":null,"ship":"Emma"}"#;

    #[test]
    fn reads_a_line_and_keeps_unknown_fields() {
        let r = Reading::from_json_line(LINE, &TimeParser::default()).unwrap();
        assert_eq!(r.container_id, "MSKU1234565");
        assert_eq!(format_time(r.measurement_time), "2026-11-27T03:00:00Z");
        assert_eq!(r.latitude, None);
        assert_eq!(r.extra.get("ship"), Some(&Value::String("Emma".into())));
        let back = Value::Object(r.to_map()).to_string();
        assert!(
            back.ends_with(r#""latitude":null,"longitude":null,"ship":"Emma"}"#),
            "{back}"
        );
    }

    #[test]
    fn rejects_missing_and_mistyped_fields() {
        let t = TimeParser::default();
        let e =
            Reading::from_json_line(&LINE.replace(r#""temperature":0.5,"#, ""), &t).unwrap_err();
        assert_eq!(e, "missing required field temperature");
        let e = Reading::from_json_line(&LINE.replace("0.5", "\"warm\""), &t).unwrap_err();
        assert!(e.starts_with("temperature: expected a number"), "{e}");
        // An implausible value is data, not a bad line.
        let r = Reading::from_json_line(&LINE.replace("2.5", "-1"), &t).unwrap();
        assert_eq!(r.kilowatts, -1.0);
    }

    #[test]
    fn accepts_ibm_spellings() {
        let line = r#"{"container_id":1,"measurement_time":"2019-10-01 12:00:00","product_id":"P02","temperature":"13.2","kilowatts":3,"oxygen_level":4,"carbon_dioxide_level":5,"fan_1":"True","latitude":null,"longitude":null,"ambiant_temperature":25}"#;
        let r = Reading::from_json_line(line, &TimeParser::default()).unwrap();
        assert_eq!(r.container_id, "1");
        assert_eq!(r.ambient_temperature, Some(25.0));
        assert!(r.fan_1);
    }
}
