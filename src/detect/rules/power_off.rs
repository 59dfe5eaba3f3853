//! power_off: the unit draws no power (contract §3: kW = 0, fans off, mode `off`).
//! Needs `kilowatts` (window rows: `kilowatts_max`); uses `operating_mode` when present.

use super::{b, n, Ctx, Param, Rule, Timing, Verdict, MINUTE};
use crate::detect::events::evidence;
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
            for_ms: 0,
            min_readings: 2,
            clear_ms: MINUTE,
            clear_readings: 2,
        }
    }
    fn needs(&self) -> &'static str {
        "kilowatts (or window kilowatts_max); operating_mode optional"
    }
    fn check(&self, ctx: &Ctx) -> Verdict {
        let o = ctx.obs;
        let Some(kw) = o.kilowatts else {
            return Verdict::Hold;
        };
        if kw <= self.kw_max || (o.mode == Some(Mode::Off) && kw < 0.5) {
            Verdict::fault(self.severity())
        } else if kw > 0.5 {
            Verdict::Clear
        } else {
            Verdict::Hold
        }
    }
    fn describe(&self, ctx: &Ctx) -> (Map<String, Value>, String) {
        let o = ctx.obs;
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
