//! Fault modes (contract §3): their names, default rates, durations and how
//! `--faults` and `--inject` are written.

use crate::time::{parse_span, Span};

/// The faults the simulator can inject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FaultKind {
    PowerOff,
    CompressorFailure,
    FanFailure,
    DoorOpen,
    TemperatureSensor,
    Co2Sensor,
    O2Sensor,
}

impl FaultKind {
    pub const ALL: [FaultKind; 7] = [
        FaultKind::PowerOff,
        FaultKind::CompressorFailure,
        FaultKind::FanFailure,
        FaultKind::DoorOpen,
        FaultKind::TemperatureSensor,
        FaultKind::Co2Sensor,
        FaultKind::O2Sensor,
    ];

    pub fn name(self) -> &'static str {
        match self {
            FaultKind::PowerOff => "power_off",
            FaultKind::CompressorFailure => "compressor_failure",
            FaultKind::FanFailure => "fan_failure",
            FaultKind::DoorOpen => "door_open",
            FaultKind::TemperatureSensor => "temperature_sensor",
            FaultKind::Co2Sensor => "co2_sensor",
            FaultKind::O2Sensor => "o2_sensor",
        }
    }

    pub fn from_name(s: &str) -> Option<FaultKind> {
        FaultKind::ALL.into_iter().find(|k| k.name() == s)
    }

    /// Default rate, in expected episodes per container per day.
    pub fn default_rate(self) -> f64 {
        match self {
            FaultKind::PowerOff => 0.02,
            FaultKind::CompressorFailure => 0.005,
            FaultKind::FanFailure => 0.01,
            // Per container-day in port: doors open at stuffing, inspection and
            // discharge, never at sea.
            FaultKind::DoorOpen => 0.5,
            FaultKind::TemperatureSensor => 0.01,
            FaultKind::Co2Sensor => 0.01,
            FaultKind::O2Sensor => 0.01,
        }
    }

    /// Range of an episode's duration in seconds (drawn log-uniformly). A
    /// unit fault lasts until it is repaired: the end of the episode is the
    /// repair (a reefer technician on board or at the next port), so these
    /// run from hours to days; nothing heals by itself.
    pub fn duration_range_s(self) -> (f64, f64) {
        match self {
            FaultKind::PowerOff => (20.0 * 60.0, 3.0 * 3600.0),
            FaultKind::CompressorFailure => (6.0 * 3600.0, 72.0 * 3600.0),
            FaultKind::FanFailure => (4.0 * 3600.0, 48.0 * 3600.0),
            FaultKind::DoorOpen => (3.0 * 60.0, 25.0 * 60.0),
            FaultKind::TemperatureSensor => (6.0 * 3600.0, 72.0 * 3600.0),
            FaultKind::Co2Sensor | FaultKind::O2Sensor => (6.0 * 3600.0, 72.0 * 3600.0),
        }
    }

    /// IBM's label: the unit itself needs a technician. A power cut or an open
    /// door is an operational event, not a unit failure.
    pub fn needs_maintenance(self) -> bool {
        !matches!(self, FaultKind::PowerOff | FaultKind::DoorOpen)
    }
}

pub fn fault_names() -> String {
    FaultKind::ALL.map(|k| k.name()).join(", ")
}

/// Expected episodes per container per day, per fault kind.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultRates(pub [f64; 7]);

impl FaultRates {
    pub fn defaults() -> Self {
        FaultRates(FaultKind::ALL.map(|k| k.default_rate()))
    }

    pub fn none() -> Self {
        FaultRates([0.0; 7])
    }

    pub fn get(&self, k: FaultKind) -> f64 {
        self.0[k as usize]
    }

    /// Parses `power_off=0.05,door_open=0.2`; kinds not named keep their default.
    pub fn parse(s: &str) -> Result<Self, String> {
        let mut rates = FaultRates::defaults();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, value) = part
                .split_once('=')
                .ok_or_else(|| format!("expected KIND=RATE in {part:?} (e.g. power_off=0.05)"))?;
            let kind = FaultKind::from_name(name.trim()).ok_or_else(|| {
                format!("unknown fault {:?} (known: {})", name.trim(), fault_names())
            })?;
            let rate: f64 = value
                .trim()
                .parse()
                .ok()
                .filter(|r: &f64| r.is_finite() && *r >= 0.0)
                .ok_or_else(|| {
                    format!("rate for {name} must be a number >= 0 (episodes per container per day), got {value:?}")
                })?;
            rates.0[kind as usize] = rate;
        }
        Ok(rates)
    }
}

/// A scripted fault: `--inject 3:power_off@30m+2h` (container #3, counted from 1,
/// from 30 minutes after `--start`, for 2 hours).
#[derive(Debug, Clone, PartialEq)]
pub struct Injection {
    /// 1-based position in the fleet.
    pub container: usize,
    pub kind: FaultKind,
    pub after: Span,
    pub duration: Span,
}

impl std::str::FromStr for Injection {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let usage = || {
            format!(
                "invalid --inject {s:?}: expected N:FAULT@START+DURATION, e.g. 3:power_off@30m+2h"
            )
        };
        let (n, rest) = s.split_once(':').ok_or_else(usage)?;
        let container: usize = n.trim().parse().map_err(|_| usage())?;
        if container == 0 {
            return Err(format!(
                "invalid --inject {s:?}: containers are counted from 1"
            ));
        }
        let (kind, times) = rest.split_once('@').ok_or_else(usage)?;
        let kind = FaultKind::from_name(kind.trim()).ok_or_else(|| {
            format!(
                "invalid --inject {s:?}: unknown fault {:?} (known: {})",
                kind.trim(),
                fault_names()
            )
        })?;
        let (after, duration) = times.split_once('+').ok_or_else(usage)?;
        let after = parse_span(after).map_err(|e| format!("invalid --inject {s:?}: {e}"))?;
        let duration = parse_span(duration).map_err(|e| format!("invalid --inject {s:?}: {e}"))?;
        if duration.millis <= 0 {
            return Err(format!(
                "invalid --inject {s:?}: the duration must be positive"
            ));
        }
        Ok(Injection {
            container,
            kind,
            after,
            duration,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rates_and_injections() {
        let r = FaultRates::parse("power_off=0.5, door_open=0").unwrap();
        assert_eq!(r.get(FaultKind::PowerOff), 0.5);
        assert_eq!(r.get(FaultKind::DoorOpen), 0.0);
        assert_eq!(
            r.get(FaultKind::FanFailure),
            FaultKind::FanFailure.default_rate()
        );
        assert!(FaultRates::parse("meltdown=1")
            .unwrap_err()
            .contains("unknown fault"));
        assert!(FaultRates::parse("power_off=-1").is_err());

        let i: Injection = "3:power_off@30m+2h".parse().unwrap();
        assert_eq!(i.container, 3);
        assert_eq!(i.kind, FaultKind::PowerOff);
        assert_eq!(i.after.millis, 1_800_000);
        assert_eq!(i.duration.millis, 7_200_000);
        assert!("0:power_off@0s+1h".parse::<Injection>().is_err());
        assert!("3:power_off".parse::<Injection>().is_err());
        assert!("3:boom@1m+1h".parse::<Injection>().is_err());
    }
}
