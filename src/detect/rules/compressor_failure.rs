//! compressor_failure: the controller calls for full cooling, the compressor
//! draws power (steadily or cycling), yet the coil does not cool: supply air
//! is no colder than return air. A healthy unit in `full_cool` blows air
//! several °C colder than it takes in.
//! Needs `operating_mode` and `supply_air_temperature`; holds (never fires)
//! without them, and during a defrost or with the door open.

use super::{n, Ctx, Param, Rule, Timing, Verdict, MINUTE};
use crate::detect::engine::{PLAUSIBLE_HIGH, PLAUSIBLE_LOW};
use crate::detect::events::{evidence, Severity};
use crate::detect::obs::Mode;
use serde_json::{Map, Value};

pub struct CompressorFailure {
    /// In full_cool, supply air must be at least this much colder than return air, °C.
    min_pull: f64,
}

impl Default for CompressorFailure {
    fn default() -> Self {
        CompressorFailure { min_pull: 1.0 }
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
        "operating_mode, supply_air_temperature, temperature"
    }
    fn check(&self, ctx: &Ctx) -> Verdict {
        let o = ctx.obs;
        let (Some(mode), Some(supply)) = (o.mode, o.supply) else {
            return Verdict::Hold;
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
            _ => return Err(super::unknown_param(key, &self.params())),
        }
        Ok(())
    }
}
