//! compressor_failure: the controller calls for full cooling, the compressor
//! draws power (steadily or cycling), yet the coil does not cool: supply air
//! is no colder than return air. A healthy unit in `full_cool` blows air
//! several °C colder than it takes in.
//! Needs `operating_mode` and `supply_air_temperature`; holds during a
//! defrost or with the door open.
//!
//! Without them (IBM-style data) it falls back to the consequence: the box
//! warms steadily (1 °C or more within 24 min) above its setpoint while the unit draws power (about 3 kW or more
//! averaged over 10 min), with every fan running, no defrost, and no sudden
//! jump of the air in the last 30 min (a door), and still warming by 0.4 °C
//! in each of the last two 12-minute spans (a door levels off), with the
//! humidity steady (an open door swaps the box's air for outside air). Slower, and blind while the
//! ambient is close to the box, but it needs only `temperature`, `kilowatts`
//! and a band.

use super::{n, Ctx, Param, Rule, Timing, Verdict, MINUTE};
use crate::detect::engine::Band;
use crate::detect::engine::{PLAUSIBLE_HIGH, PLAUSIBLE_LOW};
use crate::detect::events::{evidence, Severity};
use crate::detect::obs::Mode;
use serde_json::{Map, Value};

pub struct CompressorFailure {
    /// In full_cool, supply air must be at least this much colder than return air, °C.
    min_pull: f64,
    /// Fallback: the unit draws at least this much (10-min average, kW) while the box warms.
    fallback_kw: f64,
}

impl Default for CompressorFailure {
    fn default() -> Self {
        CompressorFailure {
            min_pull: 1.0,
            fallback_kw: 3.0,
        }
    }
}

/// How far back the fallback looks for the warming.
const WARMING_WINDOW_MS: i64 = 25 * MINUTE;

impl CompressorFailure {
    /// The consequence-based test for data without mode and supply air.
    fn fallback(&self, ctx: &Ctx) -> Verdict {
        let o = ctx.obs;
        let h = ctx.hist;
        let band: &Band = ctx.band;
        let fans_stopped = [o.fan_1, o.fan_2, o.fan_3].contains(&Some(false));
        if o.window
            || !band.known
            || o.defrosting()
            || fans_stopped
            || o.door_open == Some(true)
            || !(PLAUSIBLE_LOW..=PLAUSIBLE_HIGH).contains(&o.temperature)
            || o.t_ms - h.last_jump < 30 * MINUTE
        {
            return Verdict::Hold;
        }
        let Some(kw) = h.kw_avg else {
            return Verdict::Hold;
        };
        // A steady climb: warmer now than 12 min ago, and then than 24 min ago,
        // by 1 °C in all. A door warms the air at once and then levels off.
        let steady = match (
            h.slow_at(o.t_ms, 12 * MINUTE),
            h.slow_at(o.t_ms, 24 * MINUTE),
        ) {
            (Some(mid), Some(old)) => {
                o.temperature - mid >= 0.4 && mid - old >= 0.4 && o.temperature - old >= 1.0
            }
            _ => false,
        };
        // An open door also swaps the humid air of the box for outside air.
        let air_exchange = o
            .humidity
            .is_some_and(|rh| h.humidity_swing(o.t_ms, rh, 25 * MINUTE) >= 3.0);
        if steady && !air_exchange && kw >= self.fallback_kw && o.temperature > band.setpoint + 0.5
        {
            Verdict::fault(self.severity())
        } else if o.temperature <= band.setpoint + 0.5 || kw < self.fallback_kw {
            Verdict::Clear
        } else {
            Verdict::Hold
        }
    }
}

impl Rule for CompressorFailure {
    fn name(&self) -> &str {
        "compressor_failure"
    }
    fn fault(&self) -> &str {
        "compressor_failure"
    }
    fn severity(&self) -> Severity {
        Severity::Critical
    }
    fn timing(&self) -> Timing {
        Timing {
            for_ms: 3 * MINUTE,
            min_readings: 3,
            clear_ms: 5 * MINUTE,
            clear_readings: 3,
        }
    }
    fn needs(&self) -> &'static str {
        "operating_mode, supply_air_temperature, temperature (fallback: temperature, kilowatts, a band)"
    }
    fn check(&self, ctx: &Ctx) -> Verdict {
        let o = ctx.obs;
        let (Some(mode), Some(supply)) = (o.mode, o.supply) else {
            return self.fallback(ctx);
        };
        if o.defrosting()
            || o.door_open == Some(true)
            || !(PLAUSIBLE_LOW..=PLAUSIBLE_HIGH).contains(&o.temperature)
        {
            return Verdict::Hold;
        }
        let pull = o.temperature - supply;
        match mode {
            Mode::FullCool if pull < self.min_pull => Verdict::fault(self.severity()),
            Mode::FullCool => Verdict::Clear,
            Mode::Off => Verdict::Hold,
            _ => Verdict::Clear,
        }
    }
    fn describe(&self, ctx: &Ctx) -> (Map<String, Value>, String) {
        let o = ctx.obs;
        if o.mode.is_none() || o.supply.is_none() {
            let low = ctx.hist.slow_low_since(o.t_ms, WARMING_WINDOW_MS);
            let ev = evidence(&[
                ("temperature", n(Some(o.temperature))),
                ("temperature_before", n(low.map(|l| l.1))),
                ("kilowatts_avg_10m", n(ctx.hist.kw_avg)),
                ("target_temperature", n(o.target)),
                ("supply_air_and_mode", Some(Value::from("absent: inferred"))),
            ]);
            return (
                ev,
                format!(
                    "{}: the box keeps warming ({:.1} °C now) while the unit draws {:.1} kW: the compressor is most likely not cooling",
                    o.container_id,
                    o.temperature,
                    ctx.hist.kw_avg.unwrap_or(f64::NAN)
                ),
            );
        }
        let ev = evidence(&[
            ("operating_mode", o.mode.map(|m| m.name().into())),
            ("temperature", n(Some(o.temperature))),
            ("supply_air_temperature", n(o.supply)),
            ("kilowatts", n(o.kilowatts)),
            ("target_temperature", n(o.target)),
        ]);
        (
            ev,
            format!(
                "{} calls for full cooling at {:.1} kW but supply air ({:.1} °C) is no colder than return air ({:.1} °C): the compressor is not pumping",
                o.container_id,
                o.kilowatts.unwrap_or(f64::NAN),
                o.supply.unwrap_or(f64::NAN),
                o.temperature
            ),
        )
    }
    fn params(&self) -> Vec<Param> {
        vec![Param {
            key: "min_pull",
            value: self.min_pull,
            help: "in full_cool, return minus supply air below this (°C) means no cooling",
        }]
    }
    fn set(&mut self, key: &str, v: f64) -> Result<(), String> {
        match key {
            "min_pull" => self.min_pull = v,
            "fallback_kw" => self.fallback_kw = v,
            _ => return Err(super::unknown_param(key, &self.params())),
        }
        Ok(())
    }
}
