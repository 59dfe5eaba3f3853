//! o2_sensor: the O2 channel is stuck, drifting or noisy while the box
//! itself is steady (see [`super::gas`]). Needs `oxygen_level`; uses `door_open`
//! and `kilowatts` to hold after real changes of the atmosphere.

use super::gas::GasRule;
use super::{Ctx, Param, Rule, Timing, Verdict, MINUTE};
use serde_json::{Map, Value};

pub struct O2Sensor(GasRule);

impl Default for O2Sensor {
    fn default() -> Self {
        // CO2 under 2.5 % in a CA box (setpoints 5-6 %): outside air got in.
        O2Sensor(GasRule {
            other_air_below: Some(2.5),
            // Air holds 20.95 % O2 and nothing in a box adds oxygen; 0.55 %
            // above it is far outside a sound sensor's noise (SD ≈ 0.03 %).
            above: crate::detect::obs::O2_HIGHEST,
            // A vented box's O2 sits within a percent or two below air; 0.2 %
            // beyond the envelope its level keeps is more than a sound cell's
            // noise (SD 0.03 %, 0.15 % for a basic one, whose 3 standard
            // errors are added) without the CO2 moving with it.
            vent_shift: 0.2,
            vented_levels: (15.0, 23.0),
            ..GasRule::new(0.6, 0.5, 0.7)
        })
    }
}

impl Rule for O2Sensor {
    fn name(&self) -> &str {
        "o2_sensor"
    }
    fn fault(&self) -> &str {
        "o2_sensor"
    }
    fn timing(&self) -> Timing {
        Timing {
            for_ms: 0,
            min_readings: 2,
            // A faulty gas sensor does not heal itself (it lasts until repair),
            // and a drift's trend can break for a while when the CA controller
            // answers the false reading: only two hours of a sound channel
            // resolve the episode, so one fault is one alert.
            clear_ms: 120 * MINUTE,
            clear_readings: 10,
        }
    }
    fn needs(&self) -> &'static str {
        "oxygen_level (stuck: repeats beyond its learnt noise; drifting: a steady hour-long trend); door_open, kilowatts optional (window: oxygen_level_min/_max/_mean, count)"
    }
    fn check(&self, ctx: &Ctx) -> Verdict {
        self.0.check(
            ctx,
            &ctx.hist.o2,
            ctx.obs.co2.map(|_| &ctx.hist.co2),
            ctx.obs.oxygen,
            ctx.peer_noise.0,
        )
    }
    fn describe(&self, ctx: &Ctx) -> (Map<String, Value>, String) {
        self.0.describe(
            ctx,
            &ctx.hist.o2,
            ctx.obs.co2.map(|_| &ctx.hist.co2),
            "oxygen_level",
            "O2",
            ctx.obs.oxygen,
        )
    }
    fn gas(&self) -> Option<crate::detect::history::Gas> {
        Some(crate::detect::history::Gas::O2)
    }
    fn params(&self) -> Vec<Param> {
        self.0.params()
    }
    fn set(&mut self, key: &str, v: f64) -> Result<(), String> {
        self.0.set(key, v)
    }
}
