//! Shared logic of the two gas-sensor rules. A real gas channel always shows
//! a little noise around any straight line drawn through its recent
//! readings; a stuck sensor (a flat line) or a drifting one (a sloped line)
//! fits its line to within the rounding of its display. A noisy sensor jumps
//! up and down between readings by far more than the box can change. Doors
//! and power cuts move the gases for real: the rules hold while and shortly
//! after they happen.

use super::{n, Ctx, Param, Verdict, MINUTE};
use crate::detect::engine::{GasHistory, GAS_RING};
use crate::detect::events::{evidence, Severity};
use serde_json::{Map, Value};

#[derive(Debug, Clone)]
pub struct GasRule {
    /// Readings in the straight-line test.
    pub line_readings: f64,
    /// The line must hold this long, ms.
    pub line_for_ms: i64,
    /// Readings all within this many display steps (the sensor's resolution)
    /// of their line have no noise at all.
    pub line_tolerance: f64,
    /// A change between two readings larger than this is a jump, %.
    pub jump: f64,
    /// Jumps (of the last 10 changes) that make a noisy sensor.
    pub jumps: f64,
    /// Sign changes between those jumps.
    pub flips: f64,
    /// Hold this long after a door opening or a power cut, ms.
    pub settle_ms: i64,
}

pub enum Finding {
    Line {
        rms: f64,
        slope_per_h: f64,
        since: i64,
    },
    Noisy {
        large: u32,
        flips: u32,
    },
}

impl GasRule {
    pub fn new(jump: f64) -> GasRule {
        GasRule {
            line_readings: 30.0,
            line_for_ms: 20 * MINUTE,
            line_tolerance: 0.75,
            jump,
            jumps: 6.0,
            flips: 3.0,
            settle_ms: 30 * MINUTE,
        }
    }

    /// What is wrong with the channel now. A straight line must also last
    /// `line_for` (the engine's `for`) before an episode opens; noise opens at once.
    pub fn finding(&self, g: &GasHistory) -> Option<Finding> {
        if let Some(f) = g.fit(self.line_readings as usize) {
            if f.max_dev <= self.line_tolerance * g.resolution {
                return Some(Finding::Line {
                    rms: f.rms,
                    slope_per_h: f.slope_per_h,
                    since: f.since,
                });
            }
        }
        let (large, flips) = g.jumps(self.jump);
        if large as f64 >= self.jumps && flips as f64 >= self.flips {
            return Some(Finding::Noisy { large, flips });
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
        // Sensor faults last hours: a healthy channel is looked at every
        // fourth reading, one under suspicion at every reading.
        if ctx.cond_since.is_none() && !ctx.open && !g.seen.is_multiple_of(4) {
            return Verdict::Hold;
        }
        match self.finding(g) {
            Some(Finding::Line { since, .. }) => Verdict::Fault {
                severity: Severity::Warning,
                since: Some(since),
                immediate: false,
            },
            Some(Finding::Noisy { .. }) => Verdict::Fault {
                severity: Severity::Warning,
                since: None,
                immediate: true,
            },
            None => {
                // Clearly healthy again: visible noise, and no run of jumps.
                let (large, _) = g.jumps(self.jump);
                let noisy_line = g
                    .fit(10)
                    .is_none_or(|f| f.max_dev > self.line_tolerance * g.resolution);
                if noisy_line && large <= 2 {
                    Verdict::Clear
                } else {
                    Verdict::Hold
                }
            }
        }
    }

    pub fn describe(
        &self,
        ctx: &Ctx,
        g: &GasHistory,
        field: &str,
        label: &str,
        value: Option<f64>,
    ) -> (Map<String, Value>, String) {
        let o = ctx.obs;
        match self.finding(g) {
            Some(Finding::Noisy { large, flips }) => (
                evidence(&[
                    (field, n(value)),
                    ("jumps_of_last_10", Some(Value::from(large))),
                    ("sign_changes", Some(Value::from(flips))),
                    ("jump_threshold", n(Some(self.jump))),
                ]),
                format!(
                    "{}: {label} sensor is noisy (jumps of more than {} % between readings)",
                    o.container_id, self.jump
                ),
            ),
            Some(Finding::Line {
                rms,
                slope_per_h,
                since,
            }) => {
                let drifting = slope_per_h.abs() >= 0.1;
                (
                    evidence(&[
                        (field, n(value)),
                        ("line_rms", n(Some(rms))),
                        ("resolution", n(Some(g.resolution))),
                        ("slope_per_h", n(Some(slope_per_h))),
                        ("line_for_s", Some(Value::from((o.t_ms - since) / 1000))),
                    ]),
                    if drifting {
                        format!("{}: {label} sensor is drifting ({slope_per_h:+.2} %/h without any noise)", o.container_id)
                    } else {
                        format!(
                            "{}: {label} sensor is stuck at {:.2} %",
                            o.container_id,
                            g.latest()
                        )
                    },
                )
            }
            None => (
                evidence(&[(field, n(value))]),
                format!("{}: {label} sensor fault", o.container_id),
            ),
        }
    }

    pub fn params(&self) -> Vec<Param> {
        vec![
            Param { key: "line_readings", value: self.line_readings, help: "readings in the straight-line (stuck/drift) test, at most 32" },
            Param { key: "line_for_s", value: self.line_for_ms as f64 / 1000.0, help: "a straight line must last this many seconds" },
            Param { key: "line_tolerance", value: self.line_tolerance, help: "readings all within this many display steps of a straight line have no real noise" },
            Param { key: "jump", value: self.jump, help: "a change between two readings larger than this (%) is a jump" },
            Param { key: "jumps", value: self.jumps, help: "jumps among the last 10 changes that make a noisy sensor" },
            Param { key: "flips", value: self.flips, help: "... with at least this many sign changes" },
            Param { key: "settle_s", value: self.settle_ms as f64 / 1000.0, help: "hold this long after a door opening or power cut" },
        ]
    }

    pub fn set(&mut self, key: &str, v: f64) -> Result<(), String> {
        match key {
            "line_readings" if (3.0..=GAS_RING as f64).contains(&v) => self.line_readings = v,
            "line_tolerance" if v > 1.0 => {
                return Err("line_tolerance must be at most 1 (display step)".into())
            }
            "line_readings" => {
                return Err(format!("line_readings must be between 3 and {GAS_RING}"))
            }
            "line_for_s" => self.line_for_ms = (v * 1000.0) as i64,
            "line_tolerance" => self.line_tolerance = v,
            "jump" => self.jump = v,
            "jumps" => self.jumps = v,
            "flips" => self.flips = v,
            "settle_s" => self.settle_ms = (v * 1000.0) as i64,
            _ => return Err(super::unknown_param(key, &self.params())),
        }
        Ok(())
    }
}
