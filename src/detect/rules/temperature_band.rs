//! temperature_band: the cold-chain violation. The temperature the unit
//! controls is outside the product's band (catalog, moved with the reading's
//! own `target_temperature`) for longer than a grace period (30 min). A
//! chilled unit controls its supply air, and its return air runs about 2 K
//! above it (Container Handbook §7.2.7.2); so for chilled cargo the rule
//! judges supply air when the reading has it, and otherwise return air with
//! the band's upper limit raised by that spread (3 K). Frozen cargo is
//! controlled on return air, judged as it is. Critical,
//! and opened after only 10 min, above a frozen product's brief-deviation
//! limit or below a chill-injury limit; critical once 3 °C outside the band
//! or outside it for 2 h.
//!
//! Not a violation: a defrost and the recovery after it, the pull-down after
//! loading (until the box first reaches its band, as long as it keeps getting
//! colder), and impossible readings (a sensor fault, reported by
//! temperature_sensor). Needs `temperature` and a product band; uses
//! `defrost`/`operating_mode` to recognise defrosts. Window rows: `temperature_mean`.

use super::{n, Ctx, Param, Rule, Timing, Verdict, MINUTE};
use crate::detect::engine::{PLAUSIBLE_HIGH, PLAUSIBLE_LOW};
use crate::detect::events::{evidence, Severity};
use serde_json::{Map, Value};

/// How far a chilled unit's return air may run above its supply air, °C.
pub use crate::catalog::RETURN_ALLOWANCE;

/// The temperature the band is judged on, and the band's upper limit for it:
/// supply air for a chilled product when present (not during a defrost, when
/// the heaters warm it), else return air with [`RETURN_ALLOWANCE`].
pub fn controlled(o: &crate::detect::obs::Obs, band: &crate::detect::engine::Band) -> (f64, f64) {
    if band.setpoint <= -10.0 {
        return (o.temperature, band.high);
    }
    match o.supply {
        Some(s) if !o.defrosting() && (PLAUSIBLE_LOW..=PLAUSIBLE_HIGH).contains(&s) => {
            (s, band.high)
        }
        _ => (o.temperature, band.high + RETURN_ALLOWANCE),
    }
}

pub struct TemperatureBand {
    grace_ms: i64,
    defrost_recovery_ms: i64,
    /// Outside the band by this much (°C) is critical.
    critical_margin: f64,
    /// Outside the band this long is critical.
    critical_after_ms: i64,
    /// Beyond a brief-deviation or chill-injury limit this long is a violation at once.
    risk_grace_ms: i64,
    /// During pull-down, warming by more than this above the coldest value seen ends the grace.
    pull_down_slack: f64,
}

impl Default for TemperatureBand {
    fn default() -> Self {
        TemperatureBand {
            grace_ms: 30 * MINUTE,
            defrost_recovery_ms: 20 * MINUTE,
            critical_margin: 3.0,
            critical_after_ms: 120 * MINUTE,
            pull_down_slack: 1.0,
            risk_grace_ms: 10 * MINUTE,
        }
    }
}

impl TemperatureBand {
    /// Degrees outside the band (positive above, negative below), 0 inside.
    fn deviation(ctx: &Ctx) -> f64 {
        let b = ctx.band;
        let (t, high) = controlled(ctx.obs, b);
        if t > high {
            t - high
        } else if let Some(l) = b.low.filter(|l| t < *l) {
            t - l
        } else {
            0.0
        }
    }

    fn product_at_risk(ctx: &Ctx) -> bool {
        let b = ctx.band;
        let (t, high) = controlled(ctx.obs, b);
        let allowance = high - b.high;
        b.brief_high.is_some_and(|h| t > h + allowance) || b.chill_below.is_some_and(|c| t < c)
    }
}

impl Rule for TemperatureBand {
    fn name(&self) -> &str {
        "temperature_band"
    }
    fn fault(&self) -> &str {
        "temperature_excursion"
    }
    fn timing(&self) -> Timing {
        Timing {
            for_ms: self.grace_ms,
            min_readings: 2,
            clear_ms: 10 * MINUTE,
            clear_readings: 2,
        }
    }
    fn needs(&self) -> &'static str {
        "temperature, product_id in the catalog or target_temperature; defrost/operating_mode optional"
    }
    fn check(&self, ctx: &Ctx) -> Verdict {
        let o = ctx.obs;
        let b = ctx.band;
        let h = ctx.hist;
        if !b.known || !(PLAUSIBLE_LOW..=PLAUSIBLE_HIGH).contains(&o.temperature) {
            return Verdict::Hold;
        }
        let dev = Self::deviation(ctx);
        let (t, high) = controlled(o, b);
        if dev == 0.0 {
            // Back inside, with a little hysteresis before calling it over.
            let margin = 0.2;
            let inside = t <= high - margin && b.low.is_none_or(|l| t >= l + margin);
            return if inside || ctx.cond_since.is_none() {
                Verdict::Clear
            } else {
                Verdict::Hold
            };
        }
        if o.defrosting() || o.t_ms - h.last_defrost < self.defrost_recovery_ms {
            return Verdict::Hold;
        }
        if !h.reached_band && dev > 0.0 && t <= h.pull_down_best + self.pull_down_slack {
            // Still pulling down: not an excursion, and the condition starts
            // over (a noisy probe's readings a little above the best so far,
            // now and then, must not add up to one).
            return Verdict::Clear;
        }
        let at_risk = Self::product_at_risk(ctx);
        let long = ctx
            .cond_since
            .is_some_and(|s| o.t_ms - s >= self.critical_after_ms);
        let severity = if at_risk || dev.abs() >= self.critical_margin || long {
            Severity::Critical
        } else {
            Severity::Warning
        };
        Verdict::Fault {
            severity,
            since: None,
            immediate: at_risk
                && ctx
                    .cond_since
                    .is_some_and(|s| o.t_ms - s >= self.risk_grace_ms),
            form: 0,
        }
    }
    fn describe(&self, ctx: &Ctx) -> (Map<String, Value>, String) {
        let o = ctx.obs;
        let b = ctx.band;
        let dev = Self::deviation(ctx);
        let (t, high) = controlled(o, b);
        let judged = if t == o.temperature {
            "temperature"
        } else {
            "supply_air_temperature"
        };
        let ev = evidence(&[
            ("temperature", n(Some(o.temperature))),
            ("supply_air_temperature", n(o.supply)),
            ("judged_on", Some(Value::from(judged))),
            ("band_low", n(b.low)),
            ("band_high", n(Some(high))),
            ("deviation", n(Some(dev))),
            ("target_temperature", n(o.target)),
            (
                "out_of_band_s",
                ctx.cond_since.map(|s| Value::from((o.t_ms - s) / 1000)),
            ),
        ]);
        let what = if Self::product_at_risk(ctx) {
            if b.chill_below.is_some_and(|c| o.temperature < c) {
                " (chill injury)".to_string()
            } else {
                " (beyond the brief-deviation limit)".to_string()
            }
        } else {
            String::new()
        };
        let band = match b.low {
            Some(l) => format!("{l:.1} … {high:.1} °C"),
            None => format!("≤ {high:.1} °C"),
        };
        let air = if judged == "temperature" {
            "return air"
        } else {
            "supply air"
        };
        (
            ev,
            format!(
                "{}: product {} at {:.1} °C ({air}) is {} its band {band}{what}",
                o.container_id,
                o.product_id,
                t,
                if dev > 0.0 { "above" } else { "below" }
            ),
        )
    }
    fn params(&self) -> Vec<Param> {
        vec![
            Param {
                key: "grace_s",
                value: self.grace_ms as f64 / 1000.0,
                help: "outside the band this long (s) before a violation",
            },
            Param {
                key: "defrost_recovery_s",
                value: self.defrost_recovery_ms as f64 / 1000.0,
                help: "ignore this long (s) after a defrost",
            },
            Param {
                key: "critical_margin",
                value: self.critical_margin,
                help: "this far outside the band (°C) is critical",
            },
            Param {
                key: "critical_after_s",
                value: self.critical_after_ms as f64 / 1000.0,
                help: "outside the band this long (s) is critical",
            },
            Param {
                key: "risk_grace_s",
                value: self.risk_grace_ms as f64 / 1000.0,
                help: "beyond a brief-deviation or chill-injury limit this long (s) opens at once",
            },
            Param {
                key: "pull_down_slack",
                value: self.pull_down_slack,
                help: "during pull-down, warming by more than this (°C) ends the grace",
            },
        ]
    }
    fn set(&mut self, key: &str, v: f64) -> Result<(), String> {
        match key {
            "grace_s" => self.grace_ms = (v * 1000.0) as i64,
            "defrost_recovery_s" => self.defrost_recovery_ms = (v * 1000.0) as i64,
            "critical_margin" => self.critical_margin = v,
            "critical_after_s" => self.critical_after_ms = (v * 1000.0) as i64,
            "pull_down_slack" => self.pull_down_slack = v,
            "risk_grace_s" => self.risk_grace_ms = (v * 1000.0) as i64,
            _ => return Err(super::unknown_param(key, &self.params())),
        }
        Ok(())
    }
}
