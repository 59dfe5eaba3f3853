//! door_open: the door switch reports the door open. Needs `door_open`
//! (window rows: `door_open_max`); without it the rule holds.

use super::{n, Ctx, Rule, Timing, Verdict};
use crate::detect::events::evidence;
use serde_json::{Map, Value};

pub struct DoorOpen;

impl Rule for DoorOpen {
    fn name(&self) -> &str {
        "door_open"
    }
    fn fault(&self) -> &str {
        "door_open"
    }
    fn timing(&self) -> Timing {
        Timing {
            for_ms: 0,
            min_readings: 1,
            clear_ms: 0,
            clear_readings: 2,
        }
    }
    fn needs(&self) -> &'static str {
        "door_open"
    }
    fn check(&self, ctx: &Ctx) -> Verdict {
        match ctx.obs.door_open {
            Some(true) => Verdict::fault(self.severity()),
            Some(false) => Verdict::Clear,
            None => Verdict::Hold,
        }
    }
    fn describe(&self, ctx: &Ctx) -> (Map<String, Value>, String) {
        let o = ctx.obs;
        let ev = evidence(&[
            ("door_open", Some(Value::Bool(true))),
            ("temperature", n(Some(o.temperature))),
            ("oxygen_level", n(o.oxygen)),
            ("carbon_dioxide_level", n(o.co2)),
            ("ambient_temperature", n(o.ambient)),
        ]);
        (
            ev,
            format!(
                "{}: the door is open; warm air is getting in",
                o.container_id
            ),
        )
    }
}
