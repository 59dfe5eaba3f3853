//! temperature_sensor: the return-air probe is open or shorted (a reading
//! outside −80 … +80 °C), or stuck (exactly the same value reading after
//! reading while the supply-air probe keeps moving). Units report 0.1 °C, and
//! a steady chilled box repeats its return air often (healthy runs of up to 15
//! equal readings at 5-minute intervals, 23 at 10 s, over 1000 simulated
//! container-days): stuck means 24 equal readings over at least 20 minutes. Needs `temperature`;
//! `supply_air_temperature` makes the stuck test safer. Window rows: the
//! open/short test on `temperature_min`/`temperature_max`; stuck, rows whose
//! readings were all equal (`temperature_min` = `_max`) at one value, one
//! after the other, as many readings (`count`) and as long as above (the run
//! starts at the first such row's `window_start`, so a run that began inside
//! the row before is found a little later than on readings).

use super::{n, Ctx, Param, Rule, Timing, Verdict, MINUTE};
use crate::detect::engine::{PLAUSIBLE_HIGH, PLAUSIBLE_LOW};
use crate::detect::events::evidence;
use serde_json::{Map, Value};

pub struct TemperatureSensor {
    stuck_readings: f64,
    stuck_for_ms: f64,
}

impl Default for TemperatureSensor {
    fn default() -> Self {
        TemperatureSensor {
            stuck_readings: 24.0,
            stuck_for_ms: 20.0 * MINUTE as f64,
        }
    }
}

impl TemperatureSensor {
    fn out_of_range(&self, ctx: &Ctx) -> bool {
        let o = ctx.obs;
        o.temp_min < PLAUSIBLE_LOW || o.temp_max > PLAUSIBLE_HIGH
    }

    fn stuck(&self, ctx: &Ctx) -> bool {
        let h = ctx.hist;
        let o = ctx.obs;
        h.temp_same as f64 >= self.stuck_readings
            && (o.t_ms - h.temp_same_since) as f64 >= self.stuck_for_ms
            && (o.supply.is_none() || h.supply_moved)
    }
}

impl Rule for TemperatureSensor {
    fn name(&self) -> &str {
        "temperature_sensor"
    }
    fn fault(&self) -> &str {
        "temperature_sensor"
    }
    fn timing(&self) -> Timing {
        Timing {
            for_ms: 0,
            min_readings: 2,
            clear_ms: 2 * MINUTE,
            clear_readings: 3,
        }
    }
    fn needs(&self) -> &'static str {
        "temperature; supply_air_temperature optional (window: temperature_min/_max, count)"
    }
    fn check(&self, ctx: &Ctx) -> Verdict {
        if self.out_of_range(ctx) {
            return Verdict::fault(self.severity());
        }
        if self.stuck(ctx) {
            return Verdict::Fault {
                severity: self.severity(),
                since: Some(ctx.hist.temp_same_since),
                immediate: false,
                form: 0,
            };
        }
        // A row moves when its readings differ; a reading when it differs from the last.
        let o = ctx.obs;
        let moving = if o.window {
            o.temp_min != o.temp_max
        } else {
            ctx.hist.temp_same <= 1
        };
        if moving {
            Verdict::Clear
        } else {
            Verdict::Hold
        }
    }
    fn describe(&self, ctx: &Ctx) -> (Map<String, Value>, String) {
        let o = ctx.obs;
        if self.out_of_range(ctx) {
            let v = if o.temp_min < PLAUSIBLE_LOW {
                o.temp_min
            } else {
                o.temp_max
            };
            let kind = if v < PLAUSIBLE_LOW {
                "open circuit"
            } else {
                "short circuit"
            };
            let ev = evidence(&[
                ("temperature", n(Some(v))),
                ("supply_air_temperature", n(o.supply)),
                (
                    "plausible_range",
                    Some(serde_json::json!([PLAUSIBLE_LOW, PLAUSIBLE_HIGH])),
                ),
            ]);
            return (
                ev,
                format!(
                    "{}: return-air sensor reads {v:.1} °C, outside any physical value ({kind})",
                    o.container_id
                ),
            );
        }
        let h = ctx.hist;
        let ev = evidence(&[
            ("temperature", n(Some(o.temperature))),
            ("unchanged_readings", Some(Value::from(h.temp_same))),
            (
                "unchanged_for_s",
                Some(Value::from((o.t_ms - h.temp_same_since) / 1000)),
            ),
            ("supply_air_temperature", n(o.supply)),
        ]);
        (
            ev,
            format!(
                "{}: return-air sensor stuck at {:.1} °C for {} readings while other channels move",
                o.container_id, o.temperature, h.temp_same
            ),
        )
    }
    fn params(&self) -> Vec<Param> {
        vec![
            Param {
                key: "stuck_readings",
                value: self.stuck_readings,
                help: "identical consecutive readings that make a stuck sensor",
            },
            Param {
                key: "stuck_for_s",
                value: self.stuck_for_ms / 1000.0,
                help: "... lasting at least this many seconds",
            },
        ]
    }
    fn set(&mut self, key: &str, v: f64) -> Result<(), String> {
        match key {
            "stuck_readings" => self.stuck_readings = v,
            "stuck_for_s" => self.stuck_for_ms = v * 1000.0,
            _ => return Err(super::unknown_param(key, &self.params())),
        }
        Ok(())
    }
}
