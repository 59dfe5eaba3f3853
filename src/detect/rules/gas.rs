//! Shared logic of the two gas-sensor rules. A real gas channel always shows
//! a little noise; a stuck sensor repeats itself and a drifting one moves in
//! a straight line, so their second differences stay within display rounding
//! for many readings. A noisy sensor jumps up and down by far more than the
//! box can change. Doors and power cuts move the gases for real: the rules
//! hold while and shortly after they happen.

use super::{n, Ctx, Param, Verdict, MINUTE};
use crate::detect::engine::GasHistory;
use crate::detect::events::{evidence, Severity};
use serde_json::{Map, Value};

#[derive(Debug, Clone)]
pub struct GasRule {
    pub smooth_readings: f64,
    pub smooth_for_ms: f64,
    /// A jump between two readings larger than this is noise, %.
    pub jump: f64,
    /// Jumps (of the last 10 differences) that make a noisy sensor.
    pub jumps: f64,
    /// Sign changes between those jumps.
    pub flips: f64,
    /// Hold this long after a door opening or a power cut, ms.
    pub settle_ms: i64,
}

pub enum Finding {
    Smooth,
    Noisy,
}

impl GasRule {
    pub fn new(jump: f64) -> GasRule {
        GasRule {
            smooth_readings: 20.0,
            smooth_for_ms: 15.0 * MINUTE as f64,
            jump,
            jumps: 6.0,
            flips: 3.0,
            settle_ms: 30 * MINUTE,
        }
    }

    pub fn finding(&self, g: &GasHistory, t: i64) -> Option<Finding> {
        if g.smooth as f64 >= self.smooth_readings && (t - g.smooth_since) as f64 >= self.smooth_for_ms {
            return Some(Finding::Smooth);
        }
        let (large, flips) = g.jumps(self.jump);
        if large as f64 >= self.jumps && flips as f64 >= self.flips {
            return Some(Finding::Noisy);
        }
        None
    }

    pub fn check(&self, ctx: &Ctx, g: &GasHistory, value: Option<f64>) -> Verdict {
        let o = ctx.obs;
        if value.is_none() || o.window {
            return Verdict::Hold;
        }
        let h = ctx.hist;
        if o.t_ms - h.last_door < self.settle_ms || o.t_ms - h.last_power_off < self.settle_ms {
            return Verdict::Hold;
        }
        match self.finding(g, o.t_ms) {
            Some(Finding::Smooth) => Verdict::Fault {
                severity: Severity::Warning,
                since: Some(g.smooth_since),
                immediate: false,
            },
            Some(Finding::Noisy) => Verdict::fault(Severity::Warning),
            None => {
                let (large, _) = g.jumps(self.jump);
                if g.smooth < 3 && large <= 2 {
                    Verdict::Clear
                } else {
                    Verdict::Hold
                }
            }
        }
    }

    pub fn describe(&self, ctx: &Ctx, g: &GasHistory, field: &str, label: &str, value: Option<f64>) -> (Map<String, Value>, String) {
        let o = ctx.obs;
        let (large, flips) = g.jumps(self.jump);
        match self.finding(g, o.t_ms) {
            Some(Finding::Noisy) => (
                evidence(&[
                    (field, n(value)),
                    ("jumps_of_last_10", Some(Value::from(large))),
                    ("sign_changes", Some(Value::from(flips))),
                    ("jump_threshold", n(Some(self.jump))),
                ]),
                format!("{}: {label} sensor is noisy (jumps of more than {} % between readings)", o.container_id, self.jump),
            ),
            _ => {
                (
                    evidence(&[
                        (field, n(value)),
                        ("smooth_readings", Some(Value::from(g.smooth))),
                        ("smooth_for_s", Some(Value::from((o.t_ms - g.smooth_since) / 1000))),
                        ("last_step", n(Some(g.prev_diff))),
                    ]),
                    format!(
                        "{}: {label} sensor is stuck or drifting ({} readings without any noise)",
                        o.container_id, g.smooth
                    ),
                )
            }
        }
    }

    pub fn params(&self) -> Vec<Param> {
        vec![
            Param { key: "smooth_readings", value: self.smooth_readings, help: "readings without noise that make a stuck or drifting sensor" },
            Param { key: "smooth_for_s", value: self.smooth_for_ms / 1000.0, help: "... lasting at least this many seconds" },
            Param { key: "jump", value: self.jump, help: "a change between two readings larger than this (%) is a jump" },
            Param { key: "jumps", value: self.jumps, help: "jumps among the last 10 changes that make a noisy sensor" },
            Param { key: "flips", value: self.flips, help: "... with at least this many sign changes" },
            Param { key: "settle_s", value: self.settle_ms as f64 / 1000.0, help: "hold this long after a door opening or power cut" },
        ]
    }

    pub fn set(&mut self, key: &str, v: f64) -> Result<(), String> {
        match key {
            "smooth_readings" => self.smooth_readings = v,
            "smooth_for_s" => self.smooth_for_ms = v * 1000.0,
            "jump" => self.jump = v,
            "jumps" => self.jumps = v,
            "flips" => self.flips = v,
            "settle_s" => self.settle_ms = (v * 1000.0) as i64,
            _ => return Err(super::unknown_param(key, &self.params())),
        }
        Ok(())
    }
}
