//! co2_sensor: the CO2 channel is stuck, drifting or noisy while the box
//! itself is steady (see [`super::gas`]). Needs `carbon_dioxide_level`; uses `door_open`
//! and `kilowatts` to hold after real changes of the atmosphere.

use super::gas::GasRule;
use super::{Ctx, Param, Rule, Timing, Verdict, MINUTE};
use serde_json::{Map, Value};

pub struct Co2Sensor(GasRule);

impl Default for Co2Sensor {
    fn default() -> Self {
        // O2 over 6.5 % in a CA box (setpoints 3-3.5 %): outside air got in.
        Co2Sensor(GasRule {
            other_air_above: Some(6.5),
            // Drift: 0.4 %/h, above a CA box's respiration (0.2–0.25 %/h; one
            // measured at 0.35 %/h for over an hour, seed 2 at 5 min).
            // A vented box's CO2 sits between air's 0.04 % and about 1 %.
            // Leaving its level alone by 0.1 % (and 3 spreads, 3 standard
            // errors) is the sensor: a real change of 0.1 % CO2 moves O2 by
            // about 0.15 % (respiration's 0.6 : 0.4), five of a sound O2
            // cell's spreads. 0.2 until session 20: a vented cell that fell
            // from 0.19 % to 0 was found only by the stuck test, 2.5 h later.
            vent_shift: 0.1,
            vented_levels: (-1.0, 1.5),
            ..GasRule::new(0.3, 0.4, 0.6)
        })
    }
}

impl Rule for Co2Sensor {
    fn name(&self) -> &str {
        "co2_sensor"
    }
    fn fault(&self) -> &str {
        "co2_sensor"
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
        "carbon_dioxide_level (stuck: repeats beyond its learnt noise; drifting: a steady hour-long trend); door_open, kilowatts optional (window: carbon_dioxide_level_min/_max/_mean, count)"
    }
    fn check(&self, ctx: &Ctx) -> Verdict {
        self.0.check(
            ctx,
            &ctx.hist.co2,
            ctx.obs.oxygen.map(|_| &ctx.hist.o2),
            ctx.obs.co2,
            ctx.peer_noise.1,
        )
    }
    fn describe(&self, ctx: &Ctx) -> (Map<String, Value>, String) {
        self.0.describe(
            ctx,
            &ctx.hist.co2,
            ctx.obs.oxygen.map(|_| &ctx.hist.o2),
            "carbon_dioxide_level",
            "CO2",
            ctx.obs.co2,
        )
    }
    fn gas(&self) -> Option<crate::detect::history::Gas> {
        Some(crate::detect::history::Gas::Co2)
    }
    fn params(&self) -> Vec<Param> {
        self.0.params()
    }
    fn set(&mut self, key: &str, v: f64) -> Result<(), String> {
        self.0.set(key, v)
    }
}
