//! The detectors. Each rule is one file: it looks at one observation and the
//! container's recent history and says whether its fault condition holds
//! ([`Verdict::Fault`]), has clearly ended ([`Verdict::Clear`]), or cannot be
//! told right now ([`Verdict::Hold`], e.g. during a defrost or when a field it
//! needs is absent). Durations, confirmation counts and the one-event-per-
//! episode lifecycle live in the engine, not in the rules.

mod co2_sensor;
mod compressor_failure;
mod door_open;
mod fan_failure;
pub mod gas;
mod o2_sensor;
mod power_off;
mod temperature_band;
mod temperature_sensor;
pub mod threshold;

pub use temperature_band::controlled;
pub use threshold::ThresholdRule;

use super::engine::{Band, History};
use super::events::Severity;
use super::obs::Obs;
use serde_json::{Map, Value};

/// What a rule needs to judge one observation.
#[derive(Clone, Copy)]
pub struct Ctx<'a, 'o> {
    pub obs: &'a Obs<'o>,
    pub hist: &'a History,
    pub band: &'a Band,
    /// When this rule's condition began to hold (None: it does not hold yet).
    pub cond_since: Option<i64>,
    /// An episode of this rule is open for the container.
    pub open: bool,
    /// The forms of the fault this episode has reported so far (bits, see
    /// [`Verdict::Fault::form`]; 0 when none is open or the rule has one form).
    pub forms: u8,
    /// The typical change between two readings of O2 and CO2 among the
    /// container's peers (its product in this input), see [`crate::detect::history::PeerNoise`].
    pub peer_noise: (f64, f64),
}

/// A rule's judgement of one observation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Verdict {
    /// The fault condition holds.
    Fault {
        severity: Severity,
        /// When the condition began, if the rule knows better than "this reading"
        /// (a stuck sensor began when the value stopped changing).
        since: Option<i64>,
        /// Open now, without waiting for the rule's `for` duration.
        immediate: bool,
        /// Which form of the fault this is (a bit: a gas sensor is stuck,
        /// drifting, noisy, above air or shifted; 0: the rule has one form).
        /// A form new to an open episode escalates it (see the engine).
        form: u8,
    },
    /// The condition has clearly ended.
    Clear,
    /// Cannot tell (a field is missing, a defrost is running): keep the state as is.
    Hold,
}

impl Verdict {
    pub fn fault(severity: Severity) -> Verdict {
        Verdict::Fault {
            severity,
            since: None,
            immediate: false,
            form: 0,
        }
    }
}

/// How long a condition must hold before an episode opens, and how long it
/// must be clear before the episode is resolved.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timing {
    /// The condition must hold this long (event time) ...
    pub for_ms: i64,
    /// ... over at least this many consecutive observations.
    pub min_readings: u32,
    /// The condition must be clear this long ...
    pub clear_ms: i64,
    /// ... over at least this many consecutive observations.
    pub clear_readings: u32,
}

/// A tunable number of a rule (`--rules FILE`, `[detectors.NAME]`).
pub struct Param {
    pub key: &'static str,
    pub value: f64,
    pub help: &'static str,
}

/// One detector.
pub trait Rule: Send {
    /// The rule's name (`rule` in events, key in the rules file).
    fn name(&self) -> &str;
    /// The fault it reports.
    fn fault(&self) -> &str;
    /// Severity of a new episode when the rule does not say otherwise.
    fn severity(&self) -> Severity {
        Severity::Warning
    }
    fn timing(&self) -> Timing;
    /// The fields it reads, for `--list-rules` and the README.
    fn needs(&self) -> &'static str;
    /// Judges one observation.
    fn check(&self, ctx: &Ctx) -> Verdict;
    /// Evidence and a one-sentence message, built only when an event is written.
    fn describe(&self, ctx: &Ctx) -> (Map<String, Value>, String);
    /// Rule-specific tunables.
    fn params(&self) -> Vec<Param> {
        Vec::new()
    }
    /// Sets a rule-specific tunable; `Err` names the keys it knows.
    fn set(&mut self, key: &str, _value: f64) -> Result<(), String> {
        Err(unknown_param(key, &self.params()))
    }
    /// Lets the rule adopt a severity override (threshold rules keep theirs).
    fn set_severity(&mut self, _s: Severity) {}
    /// The gas channel whose sensor the rule judges: while its episode is
    /// open for a reading that is off (stuck, or away from its level), that
    /// channel's level learns nothing (see [`gas::suspect`]).
    fn gas(&self) -> Option<crate::detect::history::Gas> {
        None
    }
    /// The rule as a threshold rule from a rules file, for `--print-sql`.
    fn as_threshold(&self) -> Option<&ThresholdRule> {
        None
    }
}

pub fn unknown_param(key: &str, params: &[Param]) -> String {
    let known: Vec<&str> = params.iter().map(|p| p.key).collect();
    if known.is_empty() {
        format!("unknown setting {key:?} (this detector has only enabled, for, min_readings, clear_for, clear_readings, severity)")
    } else {
        format!(
            "unknown setting {key:?} (known: enabled, for, min_readings, clear_for, clear_readings, severity, {})",
            known.join(", ")
        )
    }
}

/// The built-in detectors, in the order they are evaluated.
pub fn builtin() -> Vec<Box<dyn Rule>> {
    vec![
        Box::new(power_off::PowerOff::default()),
        Box::new(compressor_failure::CompressorFailure::default()),
        Box::new(fan_failure::FanFailure),
        Box::new(door_open::DoorOpen),
        Box::new(temperature_sensor::TemperatureSensor::default()),
        Box::new(co2_sensor::Co2Sensor::default()),
        Box::new(o2_sensor::O2Sensor::default()),
        Box::new(temperature_band::TemperatureBand::default()),
    ]
}

/// Shorthand for optional numbers in evidence.
pub(crate) fn n(x: Option<f64>) -> Option<Value> {
    x.map(super::events::num)
}

pub(crate) fn b(x: Option<bool>) -> Option<Value> {
    x.map(Value::Bool)
}

pub(crate) const MINUTE: i64 = 60_000;
