//! fan_failure: evaporator fan 1 stands still while the others run. Without
//! `fan_2`/`fan_3`, fan 1 off while the unit draws power outside a defrost.
//! Needs `fan_1` and (`fan_2`/`fan_3`, or `kilowatts` plus `defrost`/`operating_mode`).
//! All fans off together (defrost, power cut) is not a fan failure.

use super::{b, n, Ctx, Rule, Timing, Verdict, MINUTE};
use crate::detect::events::evidence;
use crate::detect::obs::Mode;
use serde_json::{Map, Value};

pub struct FanFailure;

impl Rule for FanFailure {
    fn name(&self) -> &str {
        "fan_failure"
    }
    fn fault(&self) -> &str {
        "fan_failure"
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
        "fan_1 with fan_2/fan_3 (or kilowatts and defrost/operating_mode)"
    }
    fn check(&self, ctx: &Ctx) -> Verdict {
        let o = ctx.obs;
        let Some(f1) = o.fan_1 else {
            return Verdict::Hold;
        };
        let others = [o.fan_2, o.fan_3];
        if f1 {
            if others.iter().all(|f| *f != Some(false)) {
                return Verdict::Clear;
            }
            return Verdict::Hold;
        }
        if others.iter().any(|f| f.is_some()) {
            return if others.contains(&Some(true)) {
                Verdict::fault(self.severity())
            } else {
                Verdict::Hold
            };
        }
        // Only fan_1 is reported: expect it to run whenever the unit runs and is not defrosting.
        let known_state = o.defrost.is_some() || o.mode.is_some();
        let running =
            o.kilowatts.is_some_and(|k| k > 0.5) && !o.defrosting() && o.mode != Some(Mode::Off);
        if known_state && running {
            Verdict::fault(self.severity())
        } else {
            Verdict::Hold
        }
    }
    fn describe(&self, ctx: &Ctx) -> (Map<String, Value>, String) {
        let o = ctx.obs;
        let ev = evidence(&[
            ("fan_1", b(o.fan_1)),
            ("fan_2", b(o.fan_2)),
            ("fan_3", b(o.fan_3)),
            ("temperature", n(Some(o.temperature))),
            ("supply_air_temperature", n(o.supply)),
            ("kilowatts", n(o.kilowatts)),
        ]);
        (
            ev,
            format!(
                "{}: evaporator fan 1 has stopped while the unit runs; airflow over the load is reduced",
                o.container_id
            ),
        )
    }
}
