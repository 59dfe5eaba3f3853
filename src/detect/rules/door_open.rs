//! door_open: the door switch reports the door open. Needs `door_open`
//! (window rows: `door_open_true`).
//!
//! Without a door switch (IBM-style data) the rule falls back to what an open
//! door does to a running box: the return air jumps toward a warmer (or
//! colder) ambient within minutes (the box's air is replaced in ~2.5 min, far faster than a
//! defrost, a power cut or a failing compressor warms it), or, in a
//! controlled-atmosphere box, O2 climbs toward air by several % in minutes
//! while CO2 falls (a faulty gas sensor moves one channel, a door both).
//! Whatever the ambient (basic units report none), return air climbing 3 °C
//! within 6 minutes (4.5 when readings come a minute apart or closer, which
//! shows the pace) is outside air too. That needs `kilowatts` with the return
//! air (and `ambient_temperature` for doors to colder air, or `oxygen_level`
//! for a CA product); it misses doors opened when the ambient is within 5 °C
//! of the box, and, without an ambient, doors to colder or barely warmer air.

use super::{n, Ctx, Rule, Timing, Verdict, MINUTE};
use crate::detect::engine::{PLAUSIBLE_HIGH, PLAUSIBLE_LOW};
use crate::detect::events::evidence;
use crate::detect::obs::{BAD_CO2, BAD_O2};
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
        // One reading of a closed door ends the episode: the switch does not
        // bounce, and a door opened again a reading later (a second pallet, an
        // inspection after stuffing) is a new opening. The fallback clears
        // only once the air has stopped moving, which is slow enough.
        Timing {
            for_ms: 0,
            min_readings: 1,
            clear_ms: 0,
            clear_readings: 1,
        }
    }
    fn needs(&self) -> &'static str {
        "door_open"
    }
    fn check(&self, ctx: &Ctx) -> Verdict {
        match ctx.obs.door_open {
            Some(true) => Verdict::fault(self.severity()),
            Some(false) => Verdict::Clear,
            None => fallback(ctx),
        }
    }
    fn describe(&self, ctx: &Ctx) -> (Map<String, Value>, String) {
        let o = ctx.obs;
        if o.door_open.is_none() {
            let low = ctx.hist.span_since(o.t_ms, WINDOW_MS);
            let ev = evidence(&[
                ("temperature", n(Some(o.temperature))),
                ("temperature_before", n(low.map(|l| l.0))),
                ("ambient_temperature", n(o.ambient)),
                ("oxygen_level", n(o.oxygen)),
                ("door_switch", Some(Value::from("absent: inferred"))),
            ]);
            return (
                ev,
                format!(
                    "{}: the door looks open (the air jumps toward ambient or outside air gets in; no door switch in the data)",
                    o.container_id
                ),
            );
        }
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

/// How far back the fallback looks for the jump (a 5-minute reading interval
/// still has one reading in it).
const WINDOW_MS: i64 = 6 * MINUTE;

/// How much the return air must climb within [`WINDOW_MS`] to be outside air
/// whatever the ambient (°C).
const RISE: f64 = 3.0;

/// ... and within this when readings come a minute apart or closer: outside
/// air replaces the box's in about 2.5 min, while a heater warming a box back
/// after a door to colder air lifts it by about 0.5 °C a minute (3 °C in 6
/// min). The window's extremes are exact at any interval ([`Span`]); eight
/// samples 20 s apart, before session 21, spanned 2 min 40 s at 10 s.
///
/// [`Span`]: crate::detect::history::Span
const FAST_RISE_MS: i64 = 9 * MINUTE / 2;

/// Door inferred without a door switch (see the module documentation).
fn fallback(ctx: &Ctx) -> Verdict {
    let o = ctx.obs;
    let powered = o.kilowatts.is_some_and(|k| k > 0.5);
    if o.window
        || !powered
        || o.defrosting()
        || !(PLAUSIBLE_LOW..=PLAUSIBLE_HIGH).contains(&o.temperature)
    {
        return Verdict::Hold;
    }
    let Some((low, high)) = ctx.hist.span_since(o.t_ms, WINDOW_MS) else {
        return Verdict::Hold;
    };
    // Outside air warmer or colder than the box: the air jumps toward it,
    // measured from the coldest (warmer air) or warmest (colder air) reading
    // of the window, the box before the door. Not toward colder air right
    // after a defrost, when the air heated by the heaters cools back.
    let after_defrost = o.t_ms - ctx.hist.last_defrost < 15 * MINUTE;
    let warm_air = o.ambient.is_some_and(|a| {
        let jump = |before: f64| {
            let gap = a - before;
            gap.abs() >= 5.0
                && (o.temperature - before) * gap.signum() >= (0.25 * gap.abs()).max(2.0)
        };
        (a > low && jump(low)) || (a < high && !after_defrost && jump(high))
    });
    // Outside air in a CA box: O2 climbs (three rises in a row, 3 % in all)
    // while CO2 falls by 1 % or more; a faulty sensor moves one gas, a door both.
    // (Not on an implausible gas reading: that is the sensor, not the air.)
    let gases_plausible = o.implausible & (BAD_O2 | BAD_CO2) == 0;
    let outside_air = ctx.band.ca && gases_plausible && {
        let (g, c) = (&ctx.hist.o2, &ctx.hist.co2);
        g.seen > 3 && c.seen > 3 && {
            let (t0, v0) = g.back(3);
            let rising = (0..3).all(|k| g.back(k).1 > g.back(k + 1).1 + 0.3);
            rising
                && o.t_ms - t0 <= WINDOW_MS
                && g.back(0).1 - v0 >= 3.0
                && c.back(3).1 - c.back(0).1 >= 1.0
        }
    };
    // Whatever the ambient (or without one: basic units report none), a
    // running box's return air does not climb 3 °C within minutes but by
    // outside air: cooling, a power cut's warming (0.7 °C at most in the
    // first reading back), a defrost's (2.8 °C at most, and held by its
    // flag) and probe noise stay below it. Measured on reefer-sim --sensors
    // basic at 5 min, 575,000 readings: no healthy reading rose 3 °C over
    // the coldest of the 6 minutes before it (2.9 at most).
    // Readings a minute apart or closer show the climb's pace: it must come
    // within [`FAST_RISE_MS`].
    let fast = o.t_ms.saturating_sub(ctx.hist.prev_t) <= MINUTE;
    let rise_low = match ctx.hist.span_since(o.t_ms, FAST_RISE_MS) {
        Some((l, _)) if fast => l,
        _ => low,
    };
    let rose = o.temperature - rise_low >= RISE && !after_defrost;
    if warm_air || outside_air || rose {
        Verdict::fault(super::super::events::Severity::Warning)
    } else if (o.temperature - low).abs() < 0.5 && (o.temperature - high).abs() < 0.5 {
        // The air has stood still for the window: the door is shut.
        Verdict::Clear
    } else {
        Verdict::Hold
    }
}
