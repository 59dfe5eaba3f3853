//! power_off: the unit has no power. Two signatures:
//! - a gap: remote-monitoring modems talk over the power cable, so a unit
//!   without power mostly falls silent; the first reading after a gap of more
//!   than 15 min (longer than a loss of the link, shorter than any real power
//!   cut) says the power was off, and since when;
//! - a unit whose modem has a battery keeps reporting during the cut: kW = 0,
//!   fans off, mode `off` (contract §3), held for a minute. A running fan or a
//!   mode other than `off` says the unit has power, whatever its draw.
//!
//! Needs `measurement_time` (the gap) or `kilowatts` (window rows:
//! `kilowatts_max`); uses `operating_mode` when present.

use super::{b, n, Ctx, Param, Rule, Timing, Verdict, MINUTE};
use crate::detect::events::evidence;
use crate::detect::history::POWER_GAP_MS;
use crate::detect::obs::Mode;
use serde_json::{Map, Value};

pub struct PowerOff {
    /// At or below this draw the unit is off, kW (a running unit's fans alone draw ~1 kW).
    kw_max: f64,
}

impl Default for PowerOff {
    fn default() -> Self {
        PowerOff { kw_max: 0.05 }
    }
}

impl Rule for PowerOff {
    fn name(&self) -> &str {
        "power_off"
    }
    fn fault(&self) -> &str {
        "power_off"
    }
    fn timing(&self) -> Timing {
        Timing {
            for_ms: MINUTE,
            min_readings: 1,
            clear_ms: MINUTE,
            clear_readings: 2,
        }
    }
    fn needs(&self) -> &'static str {
        "a gap in measurement_time, or kilowatts (window kilowatts_max); operating_mode optional"
    }
    fn check(&self, ctx: &Ctx) -> Verdict {
        let o = ctx.obs;
        let h = ctx.hist;
        if h.prev_t != i64::MIN && o.from_ms - h.prev_t > POWER_GAP_MS {
            return Verdict::Fault {
                severity: self.severity(),
                since: Some(h.prev_t),
                immediate: true,
                form: 0,
            };
        }
        // A fan that runs, or a controller that reports a mode other than
        // `off`, has power, whatever the meter says: a frozen unit between
        // compressor runs turns its fans at low speed and can read 0.0x kW.
        if o.shows_power() {
            return Verdict::Clear;
        }
        let Some(kw) = o.kilowatts else {
            return Verdict::Hold;
        };
        if kw <= self.kw_max || (o.mode == Some(Mode::Off) && kw < 0.5) {
            Verdict::fault(self.severity())
        } else if kw > 0.5 || !ctx.open {
            // The low draw must hold for a minute, not recur across readings
            // of a small draw; an open episode's reading between the two
            // limits (a modem on battery) neither ends nor confirms it.
            Verdict::Clear
        } else {
            Verdict::Hold
        }
    }
    fn describe(&self, ctx: &Ctx) -> (Map<String, Value>, String) {
        let o = ctx.obs;
        let h = ctx.hist;
        if h.prev_t != i64::MIN && o.from_ms - h.prev_t > POWER_GAP_MS {
            let ev = evidence(&[
                (
                    "silent_for_s",
                    Some(Value::from((o.from_ms - h.prev_t) / 1000)),
                ),
                (
                    "last_reading_before",
                    Some(Value::from(crate::time::format_millis(h.prev_t))),
                ),
                ("kilowatts", n(o.kilowatts)),
                ("temperature", n(Some(o.temperature))),
            ]);
            return (
                ev,
                format!(
                    "{} sent nothing for {}: its power was most likely off (the modem talks over the power cable)",
                    o.container_id,
                    crate::time::Span::from_millis((o.from_ms - h.prev_t) / 60_000 * 60_000)
                ),
            );
        }
        let ev = evidence(&[
            ("kilowatts", n(o.kilowatts)),
            ("operating_mode", o.mode.map(|m| m.name().into())),
            ("fan_1", b(o.fan_1)),
            ("temperature", n(Some(o.temperature))),
            ("ambient_temperature", n(o.ambient)),
        ]);
        (
            ev,
            format!(
                "{} has no power (0 kW): the box will drift toward ambient{}",
                o.container_id,
                o.ambient
                    .map(|a| format!(" ({a:.1} °C)"))
                    .unwrap_or_default()
            ),
        )
    }
    fn params(&self) -> Vec<Param> {
        vec![Param {
            key: "kw_max",
            value: self.kw_max,
            help: "at or below this draw (kW) the unit counts as off",
        }]
    }
    fn set(&mut self, key: &str, v: f64) -> Result<(), String> {
        match key {
            "kw_max" => self.kw_max = v,
            _ => return Err(super::unknown_param(key, &self.params())),
        }
        Ok(())
    }
}
