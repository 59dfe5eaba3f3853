//! compressor_failure: the controller calls for full cooling, yet the coil
//! does not cool: supply air is no colder than return air. A healthy unit in
//! `full_cool` blows air several °C colder than it takes in. A failed
//! compressor does not draw the power of a running one: it will not start
//! (fans only), spins without compressing (a fraction of its draw), or trips
//! on high pressure and stays locked out most of the time.
//! Needs `operating_mode` and `supply_air_temperature`; holds during a
//! defrost or with the door open.
//!
//! Without them (IBM-style data) it falls back to the cause: the box is
//! above its setpoint, every fan runs, and the unit draws far less than a
//! running compressor needs (10-minute mean). A chilled unit modulates its
//! compressor continuously (its fans' heat alone needs cooling unless the
//! ambient is some 20 °C colder than the box), drawing 2.8 kW or more; below
//! 2.5 kW with the ambient no more than 5 °C below the setpoint and the
//! return air 0.2 °C above it, it is not compressing. A frozen unit cycles
//! its compressor on at setpoint + 0.2 °C; return air 0.8 °C above the
//! setpoint with a mean draw under 3 kW means it is not running when called.
//! A unit that reports its mode but not its supply air (a basic unit) says
//! itself whether it calls for cooling: `full_cool` takes the ambient's place
//! for chilled cargo, and a frozen unit in another mode is not judged. With
//! neither mode nor ambient (a basic unit's data without its mode), a chilled
//! box is judged as if the ambient were above that margin
//! (`assume_warm_ambient`, 0 to leave such boxes unjudged): in a port colder
//! than setpoint − 5 °C, a healthy unit idling at its fans' draw while the
//! return air stays warm would be reported.
//! Needs `temperature`, `kilowatts`, the fans, a band.
//!
//! Window rows carry no mode: with `supply_air_temperature_mean` the air the
//! unit controls (supply for chilled, return for frozen) standing 1 °C above
//! the setpoint says it calls for full cooling, and the mean supply air must
//! then be `min_pull` colder than the mean return air (see `row_test`); without
//! supply air, the fallback on `temperature_mean`, `kilowatts_mean` and the fans.

use super::{n, Ctx, Param, Rule, Timing, Verdict, MINUTE};
use crate::detect::engine::Band;
use crate::detect::engine::{PLAUSIBLE_HIGH, PLAUSIBLE_LOW};
use crate::detect::events::{evidence, Severity};
use crate::detect::obs::Mode;
use serde_json::{Map, Value};

pub struct CompressorFailure {
    /// In full_cool, supply air must be at least this much colder than return air, °C.
    min_pull: f64,
    /// Fallback, chilled: a mean draw below this (kW) while the box needs cooling.
    fallback_kw: f64,
    /// Fallback, frozen: a mean draw below this (kW) while the box is warm.
    fallback_frozen_kw: f64,
    /// Fallback, chilled, with neither mode nor ambient in the readings: 1
    /// assumes the ambient is not far below the setpoint (judge the draw), 0
    /// leaves such boxes unjudged.
    assume_warm_ambient: f64,
}

impl Default for CompressorFailure {
    fn default() -> Self {
        CompressorFailure {
            min_pull: 1.0,
            fallback_kw: 2.5,
            fallback_frozen_kw: 3.0,
            assume_warm_ambient: 1.0,
        }
    }
}

/// Fallback, frozen: return air this far above the setpoint (°C) with a
/// low mean draw. A healthy unit cuts its compressor in at setpoint + 0.2 °C
/// and runs it until the box is back, so its mean draw climbs above 3 kW well
/// before the box gets here.
const FROZEN_WARM: f64 = 0.8;

/// Fallback: the draw is judged once the session has this much of it, ms
/// (a frozen unit at 5 min, first seen in a 15-minute off period of its
/// cycle, read as a compressor that does not start).
const KW_WARM_MS: i64 = 30 * MINUTE;

impl CompressorFailure {
    /// The cause-based test for data without mode and supply air.
    fn fallback(&self, ctx: &Ctx) -> Verdict {
        let o = ctx.obs;
        let h = ctx.hist;
        let band: &Band = ctx.band;
        let fans_stopped = [o.fan_1, o.fan_2, o.fan_3].contains(&Some(false));
        if !band.known
            || o.defrosting()
            || fans_stopped
            || o.fan_1.is_none()
            || o.door_open == Some(true)
            || !(PLAUSIBLE_LOW..=PLAUSIBLE_HIGH).contains(&o.temperature)
        {
            return Verdict::Hold;
        }
        // The draw's mean starts at the first reading: a frozen unit's first
        // readings may all fall in one off period of its cycle.
        let Some(kw) = h.kw_avg.filter(|_| o.t_ms - h.first_t >= KW_WARM_MS) else {
            return Verdict::Hold;
        };
        let sp = band.setpoint;
        let frozen = sp <= -10.0;
        let (warm, limit) = if frozen {
            // A reported mode other than full_cool: the controller does not
            // call for the compressor (a healthy one waiting out its
            // minimum off time at the start of a run looked failed).
            let calls = o.mode.is_none_or(|mode| mode == Mode::FullCool);
            (
                calls && o.temperature > sp + FROZEN_WARM,
                self.fallback_frozen_kw,
            )
        } else {
            // A unit that reports its mode says whether it calls for full
            // cooling (a basic unit has a mode but no supply air: the draw
            // then tells whether the compressor answers). Without the mode:
            // the fans' own heat (about 0.9 kW) needs cooling unless the
            // ambient is some 20 °C below the setpoint: 5 °C is a safe margin.
            // Without the ambient either (a basic unit's data with the mode
            // lost), the ambient is assumed to be above that margin unless
            // `assume_warm_ambient` is 0: a box idling at the fans' draw in a
            // cold port would be reported, a failed compressor otherwise is not.
            let needs_cooling = match (o.mode, o.ambient) {
                (Some(mode), _) => mode == Mode::FullCool,
                (None, Some(a)) => a > sp - 5.0,
                (None, None) => self.assume_warm_ambient != 0.0,
            };
            (needs_cooling && o.temperature > sp + 0.2, self.fallback_kw)
        };
        // A chilled compressor that trips runs a reading now and then at full
        // draw, which lifts the mean: most readings at the fans' draw say the same.
        let tripping = !frozen && h.low_kw_share >= 0.5;
        if warm && (kw < limit || tripping) {
            Verdict::fault(self.severity())
        } else if o.temperature <= sp + 0.3 {
            // A tripping compressor runs now and then: only a box back near
            // its setpoint clears.
            Verdict::Clear
        } else {
            Verdict::Hold
        }
    }
}

/// Rows: the controlled air this far above the setpoint means the controller
/// calls for full cooling (healthy chilled supply air keeps within 0.1 °C of
/// its setpoint, healthy frozen return air within +0.3 °C).
const ROW_CALLS_ABOVE: f64 = 1.0;
/// Rows: hold this long after a defrost or a power cut (the heaters' warmth,
/// the restart), ms.
const ROW_SETTLE_MS: i64 = 10 * MINUTE;

impl CompressorFailure {
    /// The test on a window row, which has no operating mode: whether the
    /// controller calls for full cooling is read from the air it controls
    /// (supply air for chilled cargo, return air for frozen) standing well
    /// above the setpoint; then the window's mean supply air must still be
    /// `min_pull` colder than its mean return air, as in `full_cool` on readings.
    fn row_test(&self, ctx: &Ctx, supply: f64) -> Verdict {
        let o = ctx.obs;
        let h = ctx.hist;
        let band: &Band = ctx.band;
        let all_fans_stopped =
            o.fan_1 == Some(false) && o.fan_2 != Some(true) && o.fan_3 != Some(true);
        let plausible = |t: f64| (PLAUSIBLE_LOW..=PLAUSIBLE_HIGH).contains(&t);
        if !band.known
            || o.defrosting()
            || o.door_open == Some(true)
            || all_fans_stopped
            || o.kilowatts.is_some_and(|k| k <= 0.05)
            || o.t_ms - h.last_defrost < ROW_SETTLE_MS
            || o.t_ms - h.last_power_off < ROW_SETTLE_MS
            || !plausible(o.temp_min)
            || !plausible(o.temp_max)
        {
            return Verdict::Hold;
        }
        let sp = band.setpoint;
        let controlled = if sp <= -10.0 { o.temperature } else { supply };
        if controlled > sp + ROW_CALLS_ABOVE && o.temperature - supply < self.min_pull {
            Verdict::fault(self.severity())
        } else if controlled <= sp + 0.3 {
            // Back at its setpoint: the compressor works again. (A tripping
            // compressor's good minute, warm, holds.)
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
        // 6 min: a frozen unit may keep its compressor off for its minimum
        // off time (3 min) even when an open door warms the box.
        Timing {
            for_ms: 6 * MINUTE,
            min_readings: 3,
            clear_ms: 5 * MINUTE,
            clear_readings: 3,
        }
    }
    fn needs(&self) -> &'static str {
        "operating_mode, supply_air_temperature, temperature (fallback: temperature, kilowatts, fans, a band; for chilled cargo operating_mode or ambient_temperature unless assume_warm_ambient; window: supply_air_temperature_mean, temperature_mean, fallback kilowatts_mean)"
    }
    fn check(&self, ctx: &Ctx) -> Verdict {
        let o = ctx.obs;
        if let (true, Some(supply)) = (o.window, o.supply) {
            return self.row_test(ctx, supply);
        }
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
            // A tripping compressor cools for a minute now and then: a good
            // pull in full_cool does not end the condition, leaving full_cool does.
            Mode::FullCool => Verdict::Hold,
            Mode::Off => Verdict::Hold,
            _ => Verdict::Clear,
        }
    }
    fn describe(&self, ctx: &Ctx) -> (Map<String, Value>, String) {
        let o = ctx.obs;
        if let (true, Some(supply)) = (o.window, o.supply) {
            let ev = evidence(&[
                ("temperature_mean", n(Some(o.temperature))),
                ("supply_air_temperature_mean", n(Some(supply))),
                ("setpoint", n(Some(ctx.band.setpoint))),
                ("kilowatts_mean", n(o.row.and_then(|r| r.kw_mean))),
            ]);
            return (
                ev,
                format!(
                    "{}: the box is above its setpoint ({:.1} °C) yet supply air ({supply:.1} °C) is no colder than return air ({:.1} °C): the compressor is not pumping",
                    o.container_id, ctx.band.setpoint, o.temperature
                ),
            );
        }
        if o.mode.is_none() || o.supply.is_none() {
            let ev = evidence(&[
                ("temperature", n(Some(o.temperature))),
                ("kilowatts_avg_10m", n(ctx.hist.kw_avg)),
                ("ambient_temperature", n(o.ambient)),
                ("target_temperature", n(o.target)),
                ("supply_air_and_mode", Some(Value::from("absent: inferred"))),
            ]);
            return (
                ev,
                format!(
                    "{}: the box is warm ({:.1} °C) and its fans run, but the unit draws only {:.1} kW: the compressor is most likely not running",
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
        vec![
            Param {
                key: "min_pull",
                value: self.min_pull,
                help: "in full_cool, return minus supply air below this (°C) means no cooling",
            },
            Param {
                key: "fallback_kw",
                value: self.fallback_kw,
                help: "without mode and supply air: a chilled unit drawing less than this (kW, 10-min mean) while the box needs cooling",
            },
            Param {
                key: "fallback_frozen_kw",
                value: self.fallback_frozen_kw,
                help: "without mode and supply air: a frozen unit drawing less than this (kW, 10-min mean) while 0.8 °C above its setpoint",
            },
            Param {
                key: "assume_warm_ambient",
                value: self.assume_warm_ambient,
                help: "without mode, supply air and ambient: 1 judges a chilled unit's draw as if the ambient were above setpoint - 5 °C, 0 leaves it unjudged",
            },
        ]
    }
    fn set(&mut self, key: &str, v: f64) -> Result<(), String> {
        match key {
            "min_pull" => self.min_pull = v,
            "fallback_kw" => self.fallback_kw = v,
            "fallback_frozen_kw" => self.fallback_frozen_kw = v,
            "assume_warm_ambient" => self.assume_warm_ambient = v,
            _ => return Err(super::unknown_param(key, &self.params())),
        }
        Ok(())
    }
}
