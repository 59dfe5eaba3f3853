//! The rules file (`--rules FILE`, TOML) and the catalog file (`--catalog
//! FILE`, TOML). Every mistake is reported as `FILE:LINE:COLUMN: what is
//! wrong` and is a configuration error (exit 2): nothing is processed.
//!
//! ```toml
//! [detectors.temperature_band]      # tune a built-in detector
//! grace_s = 2700                    # rule-specific settings (see --list-rules)
//! severity = "critical"             # and the common ones: enabled, for,
//!                                   # min_readings, clear_for, clear_readings
//! [detectors.door_open]
//! enabled = false
//!
//! [[rule]]                          # add a threshold rule
//! name = "hot_box"
//! when = "temperature > 18"
//! for = "5m"
//! severity = "critical"             # default warning
//! fault = "overheating"             # default: the name
//! ```
//!
//! ```toml
//! [[product]]                       # add or replace a catalog product
//! id = "P09"
//! name = "ice cream"
//! setpoint = -25.0
//! band_high = -20.0                 # band_low optional (none: frozen goods)
//! brief_high = -18.0                # optional; also chill_injury_below,
//!                                   # o2_min, o2_max, co2_max
//! ```

use super::engine::Slot;
use super::events::Severity;
use super::filter::Expr;
use super::rules::{builtin, Rule, ThresholdRule};
use crate::catalog::{default_catalog, Atmosphere, Product};
use crate::time::parse_span;
use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

/// A configuration mistake with its place in the file (`FILE:LINE:COL: why`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before
        .rfind('\n')
        .map_or(before.chars().count(), |i| before[i + 1..].chars().count())
        + 1;
    (line, col)
}

fn at(
    file: &str,
    text: &str,
    span: std::ops::Range<usize>,
    msg: impl std::fmt::Display,
) -> ConfigError {
    let (l, c) = line_col(text, span.start);
    ConfigError(format!("{file}:{l}:{c}: {msg}"))
}

fn toml_error(file: &str, text: &str, e: toml::de::Error) -> ConfigError {
    let msg = e.message().trim().to_string();
    match e.span() {
        Some(s) => at(file, text, s, msg),
        None => ConfigError(format!("{file}: {msg}")),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesFile {
    #[serde(default)]
    detectors: BTreeMap<Spanned<String>, BTreeMap<Spanned<String>, Spanned<toml::Value>>>,
    #[serde(default)]
    rule: Vec<CustomRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CustomRule {
    name: Spanned<String>,
    when: Spanned<String>,
    #[serde(rename = "for")]
    for_: Option<Spanned<String>>,
    fault: Option<String>,
    severity: Option<Severity>,
    message: Option<String>,
    enabled: Option<bool>,
}

/// A rules file being read: its name and text, for messages that point into it.
struct Src<'a> {
    path: &'a str,
    text: &'a str,
}

impl Src<'_> {
    fn at(&self, span: std::ops::Range<usize>, msg: impl std::fmt::Display) -> ConfigError {
        at(self.path, self.text, span, msg)
    }
}

type Settings = BTreeMap<Spanned<String>, Spanned<toml::Value>>;

/// The detectors as configured: built-ins (tuned, some disabled) then threshold rules.
pub fn load_rules(path: Option<&str>) -> Result<Vec<Slot>, ConfigError> {
    let mut slots: Vec<Option<Slot>> = builtin()
        .into_iter()
        .map(|rule| {
            Some(Slot {
                timing: rule.timing(),
                rule,
                severity: None,
            })
        })
        .collect();
    let Some(path) = path else {
        return Ok(slots.into_iter().flatten().collect());
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError(format!("cannot read rules file {path}: {e}")))?;
    let file: RulesFile = toml::from_str(&text).map_err(|e| toml_error(path, &text, e))?;
    let src = Src { path, text: &text };
    for (name, settings) in file.detectors {
        let idx = slots
            .iter()
            .position(|s| s.as_ref().is_some_and(|s| s.rule.name() == name.get_ref()))
            .ok_or_else(|| {
                let known: Vec<String> = builtin().iter().map(|r| r.name().to_string()).collect();
                src.at(
                    name.span(),
                    format!(
                        "unknown detector {:?} (known: {})",
                        name.get_ref(),
                        known.join(", ")
                    ),
                )
            })?;
        if let Some(slot) = slots[idx].as_mut() {
            if !tune(slot, settings, &src)? {
                slots[idx] = None;
            }
        }
    }
    let mut names: Vec<String> = slots
        .iter()
        .flatten()
        .map(|s| s.rule.name().to_string())
        .collect();
    for r in file.rule {
        if r.enabled == Some(false) {
            continue;
        }
        let slot = threshold_rule(&r, &names, &src)?;
        names.push(slot.rule.name().to_string());
        slots.push(Some(slot));
    }
    Ok(slots.into_iter().flatten().collect())
}

/// Applies a `[detectors.NAME]` table to its detector; false when it disables it.
fn tune(slot: &mut Slot, settings: Settings, src: &Src) -> Result<bool, ConfigError> {
    // Rule-specific settings first: they may change the default timing.
    let mut common = Vec::new();
    for (key, value) in settings {
        let k = key.get_ref().as_str();
        if matches!(
            k,
            "enabled" | "for" | "min_readings" | "clear_for" | "clear_readings" | "severity"
        ) {
            common.push((key, value));
            continue;
        }
        // Settings in seconds (`grace_s`) take a duration as well: "45m".
        let seconds = k.ends_with("_s");
        let v = number(&value)
            .or_else(|| {
                seconds
                    .then(|| span(&value))
                    .flatten()
                    .map(|ms| ms as f64 / 1000.0)
            })
            .ok_or_else(|| {
                let what = if seconds {
                    "a number of seconds or a duration such as \"45m\""
                } else {
                    "a number"
                };
                src.at(value.span(), format!("{k} must be {what}"))
            })?;
        slot.rule.set(k, v).map_err(|e| src.at(key.span(), e))?;
    }
    slot.timing = slot.rule.timing();
    let mut enabled = true;
    for (key, value) in common {
        let bad = |what: &str| src.at(value.span(), format!("{} must be {what}", key.get_ref()));
        let duration = "a duration such as \"5m\"";
        match key.get_ref().as_str() {
            "enabled" => {
                enabled = value
                    .get_ref()
                    .as_bool()
                    .ok_or_else(|| bad("true or false"))?
            }
            "for" => slot.timing.for_ms = span(&value).ok_or_else(|| bad(duration))?,
            "clear_for" => slot.timing.clear_ms = span(&value).ok_or_else(|| bad(duration))?,
            "min_readings" => {
                slot.timing.min_readings =
                    count(&value).ok_or_else(|| bad("a whole number >= 1"))?
            }
            "clear_readings" => {
                slot.timing.clear_readings =
                    count(&value).ok_or_else(|| bad("a whole number >= 1"))?
            }
            _ => {
                let s = match value.get_ref().as_str() {
                    Some("warning") => Severity::Warning,
                    Some("critical") => Severity::Critical,
                    _ => return Err(bad("\"warning\" or \"critical\"")),
                };
                slot.severity = Some(s);
                slot.rule.set_severity(s);
            }
        }
    }
    Ok(enabled)
}

/// A `[[rule]]` table as a detector slot; `names` are the rules already there.
fn threshold_rule(r: &CustomRule, names: &[String], src: &Src) -> Result<Slot, ConfigError> {
    let name = r.name.get_ref().trim().to_string();
    if name.is_empty() || names.contains(&name) {
        return Err(src.at(
            r.name.span(),
            format!("rule name {name:?} is empty or already used"),
        ));
    }
    let when = Expr::parse(r.when.get_ref()).map_err(|e| src.at(r.when.span(), e))?;
    for c in when.fields() {
        if !super::obs::RULE_FIELDS.contains(&c.field.as_str()) {
            return Err(src.at(
                r.when.span(),
                format!(
                    "field {:?} cannot be used in a rule (numeric and boolean reading fields only: {})",
                    c.field,
                    super::obs::RULE_FIELDS.join(", ")
                ),
            ));
        }
    }
    let for_ms = match &r.for_ {
        Some(f) => {
            parse_span(f.get_ref())
                .map_err(|e| src.at(f.span(), e))?
                .millis
        }
        None => 0,
    };
    let rule = ThresholdRule {
        name: name.clone(),
        fault: r.fault.clone().unwrap_or_else(|| name.clone()),
        when,
        when_text: r.when.get_ref().clone(),
        severity: r.severity.unwrap_or(Severity::Warning),
        for_ms,
        message: r.message.clone(),
    };
    Ok(Slot {
        timing: rule.timing(),
        rule: Box::new(rule) as Box<dyn Rule>,
        severity: None,
    })
}

fn number(v: &Spanned<toml::Value>) -> Option<f64> {
    match v.get_ref() {
        toml::Value::Integer(i) => Some(*i as f64),
        toml::Value::Float(f) if f.is_finite() => Some(*f),
        _ => None,
    }
}

fn span(v: &Spanned<toml::Value>) -> Option<i64> {
    match v.get_ref() {
        toml::Value::String(s) => parse_span(s).ok().map(|s| s.millis),
        toml::Value::Integer(i) if *i >= 0 => Some(*i * 1000),
        _ => None,
    }
}

fn count(v: &Spanned<toml::Value>) -> Option<u32> {
    match v.get_ref() {
        toml::Value::Integer(i) if *i >= 1 && *i < u32::MAX as i64 => Some(*i as u32),
        _ => None,
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogFile {
    #[serde(default)]
    product: Vec<Spanned<ProductEntry>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProductEntry {
    id: String,
    name: Option<String>,
    setpoint: f64,
    band_low: Option<f64>,
    band_high: f64,
    brief_high: Option<f64>,
    chill_injury_below: Option<f64>,
    o2_min: Option<f64>,
    o2_max: Option<f64>,
    co2_max: Option<f64>,
}

/// The default catalog, with the products of `path` added or replaced by id.
pub fn load_catalog(path: Option<&str>) -> Result<Vec<Product>, ConfigError> {
    let mut catalog = default_catalog();
    let Some(path) = path else {
        return Ok(catalog);
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError(format!("cannot read catalog file {path}: {e}")))?;
    let file: CatalogFile = toml::from_str(&text).map_err(|e| toml_error(path, &text, e))?;
    for entry in file.product {
        let sp = entry.span();
        let p = entry.into_inner();
        if p.id.trim().is_empty() {
            return Err(at(path, &text, sp, "product id is empty"));
        }
        if let Some(l) = p.band_low {
            if l >= p.band_high {
                return Err(at(
                    path,
                    &text,
                    sp,
                    format!(
                        "product {}: band_low {l} is not below band_high {}",
                        p.id, p.band_high
                    ),
                ));
            }
        }
        let atmosphere = if p.o2_min.is_some() || p.o2_max.is_some() || p.co2_max.is_some() {
            Some(Atmosphere {
                o2_min: p.o2_min.unwrap_or(0.0),
                o2_max: p.o2_max.unwrap_or(21.0),
                co2_max: p.co2_max.unwrap_or(100.0),
            })
        } else {
            None
        };
        let product = Product {
            name: p.name.clone().unwrap_or_else(|| p.id.clone()),
            id: p.id,
            setpoint: p.setpoint,
            band_low: p.band_low,
            band_high: p.band_high,
            brief_high: p.brief_high,
            chill_injury_below: p.chill_injury_below,
            atmosphere,
        };
        match catalog.iter_mut().find(|q| q.id == product.id) {
            Some(q) => *q = product,
            None => catalog.push(product),
        }
    }
    Ok(catalog)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn file(text: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(text.as_bytes()).unwrap();
        f
    }

    #[test]
    fn tunes_disables_and_adds_rules() {
        let f = file("[detectors.door_open]\nenabled = false\n\n[detectors.temperature_band]\ngrace_s = \"1m\"\nseverity = \"critical\"\n\n[[rule]]\nname = \"hot\"\nwhen = \"temperature > 18\"\nfor = \"5m\"\n");
        let slots = load_rules(Some(f.path().to_str().unwrap())).unwrap();
        let names: Vec<&str> = slots.iter().map(|s| s.rule.name()).collect();
        assert!(!names.contains(&"door_open"));
        assert_eq!(*names.last().unwrap(), "hot");
        let band = slots
            .iter()
            .find(|s| s.rule.name() == "temperature_band")
            .unwrap();
        assert_eq!(band.timing.for_ms, 60_000);
        assert_eq!(slots.last().unwrap().timing.for_ms, 300_000);
    }

    #[test]
    fn errors_name_the_line() {
        let cases = [
            ("[detectors.nope]\nenabled = true\n", ":1:"),
            (
                "\n[detectors.power_off]\nkw_maxx = 1\n",
                ":3:1: unknown setting",
            ),
            ("[[rule]]\nname = \"x\"\nwhen = \"temperature >\"\n", ":3:"),
            ("[[rule]]\nname = \"x\"\nwhen = \"product_id > 1\"\n", ":3:"),
            (
                "[[rule]]\nname = \"x\"\nwhen = \"temperature > 1\"\nfor = \"soon\"\n",
                ":4:",
            ),
            ("[detectors.power_off\n", ":1:"),
            ("[[rule]]\nnme = \"x\"\n", ":2:"),
        ];
        for (text, want) in cases {
            let f = file(text);
            let p = f.path().to_str().unwrap().to_string();
            let e = load_rules(Some(&p))
                .err()
                .unwrap_or_else(|| panic!("accepted {text:?}"));
            assert!(
                e.0.starts_with(&p) && e.0.contains(want),
                "{text:?}: {}",
                e.0
            );
        }
    }

    #[test]
    fn catalog_adds_products() {
        let f = file("[[product]]\nid = \"P09\"\nname = \"ice cream\"\nsetpoint = -25.0\nband_high = -20.0\n");
        let c = load_catalog(Some(f.path().to_str().unwrap())).unwrap();
        assert_eq!(c.len(), 9);
        let f =
            file("[[product]]\nid = \"P09\"\nsetpoint = 1.0\nband_low = 3.0\nband_high = 2.0\n");
        let e = load_catalog(Some(f.path().to_str().unwrap())).unwrap_err();
        assert!(e.0.contains(":1:"), "{}", e.0);
    }
}
