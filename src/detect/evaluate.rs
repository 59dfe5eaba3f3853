//! `--evaluate`: score the detectors against the simulator's ground truth.
//!
//! An episode is a maximal run of consecutive readings of one container with
//! the same non-null `fault` label. An episode is detected when an `open`
//! event of the same fault for the same container has `detected_at` within
//! the episode (onset to last labelled reading) or up to the tolerance after
//! it. An open event that matches no episode is a false alert. Episodes that
//! the input cuts off (still running at the container's last reading) after
//! less than 30 minutes are left out and counted as `truncated`.
//!
//! `temperature_excursion` (a cold-chain violation) is a consequence, not a
//! fault kind: it is reported on its own row, and an excursion that opens
//! while a fault episode is running for that container, or within 6 hours
//! after it ended (the box needs time to recover), is explained; any other
//! counts as a false alert. Events of threshold rules are counted under
//! their own fault name and not scored.

use super::engine::FxMap;
use super::events::{FaultEvent, Status};
use super::obs::Obs;
use crate::time::Span;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::Write;

pub const KINDS: [&str; 7] = [
    "power_off",
    "compressor_failure",
    "fan_failure",
    "door_open",
    "temperature_sensor",
    "co2_sensor",
    "o2_sensor",
];
pub const EXCURSION: &str = "temperature_excursion";
const TRUNCATED_MIN_MS: i64 = 30 * 60_000;
const EXPLAINED_AFTER_MS: i64 = 6 * 3_600_000;
const DEFROST_WINDOW_MS: i64 = 60 * 60_000;

#[derive(Debug, Clone)]
struct Episode {
    kind: String,
    start: i64,
    end: i64,
    detected: Option<i64>,
}

#[derive(Debug, Default)]
struct ContainerTruth {
    first: i64,
    last: i64,
    readings: u64,
    current: Option<(String, i64)>,
    episodes: Vec<Episode>,
    last_defrost: Option<i64>,
    events: Vec<(String, i64, bool)>,
}

#[derive(Debug, Default, Clone)]
pub struct KindScore {
    pub episodes: u64,
    pub detected: u64,
    pub false_alerts: u64,
    pub duplicates: u64,
    pub truncated: u64,
    pub delays_ms: Vec<i64>,
}

/// Scores of one or more inputs.
#[derive(Debug, Default)]
pub struct Scores {
    pub kinds: BTreeMap<String, KindScore>,
    pub excursions: u64,
    pub excursions_explained: u64,
    pub other_events: BTreeMap<String, u64>,
    pub container_days: f64,
    pub containers: u64,
    pub readings: u64,
    pub defrost_alerts: u64,
    pub inputs: Vec<String>,
    pub tolerance_ms: i64,
}

/// Collects ground truth and events of one input.
#[derive(Default)]
pub struct Evaluator {
    truth: FxMap<Box<str>, ContainerTruth>,
}

impl Evaluator {
    pub fn observe(&mut self, o: &Obs) {
        let c = match self.truth.get_mut(o.container_id) {
            Some(c) => c,
            None => self
                .truth
                .entry(o.container_id.into())
                .or_insert_with(|| ContainerTruth {
                    first: o.t_ms,
                    ..ContainerTruth::default()
                }),
        };
        let same = match (&c.current, o.label) {
            (Some((k, _)), Some(l)) => k == l,
            (None, None) => true,
            _ => false,
        };
        if !same {
            if let Some((kind, start)) = c.current.take() {
                c.episodes.push(Episode {
                    kind,
                    start,
                    end: c.last,
                    detected: None,
                });
            }
            if let Some(l) = o.label {
                c.current = Some((l.to_string(), o.t_ms));
            }
        }
        if o.defrosting() {
            c.last_defrost = Some(o.t_ms);
        }
        c.last = o.t_ms;
        c.readings += 1;
    }

    pub fn event(&mut self, e: &FaultEvent) {
        if e.status != Status::Open {
            return;
        }
        if let Some(c) = self.truth.get_mut(e.container_id.as_str()) {
            let near_defrost = c
                .last_defrost
                .is_some_and(|d| e.detected_at_ms - d <= DEFROST_WINDOW_MS);
            c.events
                .push((e.fault.clone(), e.detected_at_ms, near_defrost));
        }
    }

    /// Scores this input into `s` and forgets it.
    pub fn finish(&mut self, s: &mut Scores) {
        for k in KINDS {
            s.kinds.entry(k.to_string()).or_default();
        }
        let tol = s.tolerance_ms;
        for (_, mut c) in self.truth.drain() {
            s.containers += 1;
            s.readings += c.readings;
            let span = if c.readings > 1 {
                let step = (c.last - c.first) / (c.readings as i64 - 1);
                c.last - c.first + step
            } else {
                0
            };
            s.container_days += span as f64 / 86_400_000.0;
            let mut truncated = None;
            if let Some((kind, start)) = c.current.take() {
                let ep = Episode {
                    kind,
                    start,
                    end: c.last,
                    detected: None,
                };
                if c.last - start < TRUNCATED_MIN_MS {
                    truncated = Some(ep);
                } else {
                    c.episodes.push(ep);
                }
            }
            for (fault, t, near_defrost) in &c.events {
                let fault = fault.as_str();
                if fault == EXCURSION {
                    s.excursions += 1;
                    let explained = c
                        .episodes
                        .iter()
                        .chain(truncated.iter())
                        .any(|e| e.start <= *t && *t <= e.end + EXPLAINED_AFTER_MS);
                    if explained {
                        s.excursions_explained += 1;
                    } else if *near_defrost {
                        s.defrost_alerts += 1;
                    }
                    continue;
                }
                if !KINDS.contains(&fault) {
                    *s.other_events.entry(fault.to_string()).or_default() += 1;
                    continue;
                }
                let score = s.kinds.get_mut(fault).expect("every kind is present");
                let hit = c
                    .episodes
                    .iter_mut()
                    .chain(truncated.iter_mut())
                    .find(|e| e.kind == fault && e.start <= *t && *t <= e.end + tol);
                match hit {
                    Some(e) if e.detected.is_none() => e.detected = Some(*t),
                    Some(_) => score.duplicates += 1,
                    None => {
                        score.false_alerts += 1;
                        if *near_defrost {
                            s.defrost_alerts += 1;
                        }
                    }
                }
            }
            for e in &c.episodes {
                let score = s.kinds.entry(e.kind.clone()).or_default();
                score.episodes += 1;
                if let Some(t) = e.detected {
                    score.detected += 1;
                    score.delays_ms.push(t - e.start);
                }
            }
            if let Some(e) = truncated {
                s.kinds.entry(e.kind.clone()).or_default().truncated += 1;
            }
        }
    }
}

fn pct(mut v: Vec<i64>, q: f64) -> Option<i64> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable();
    let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
    Some(v[rank - 1])
}

impl KindScore {
    pub fn precision(&self) -> Option<f64> {
        let d = self.detected + self.false_alerts;
        (d > 0).then(|| self.detected as f64 / d as f64)
    }
    pub fn recall(&self) -> Option<f64> {
        (self.episodes > 0).then(|| self.detected as f64 / self.episodes as f64)
    }
}

impl Scores {
    pub fn false_alerts(&self) -> u64 {
        self.kinds.values().map(|k| k.false_alerts).sum::<u64>()
            + (self.excursions - self.excursions_explained)
    }

    pub fn false_per_container_day(&self) -> f64 {
        if self.container_days > 0.0 {
            self.false_alerts() as f64 / self.container_days
        } else {
            0.0
        }
    }

    pub fn to_json(&self) -> Value {
        let kinds: serde_json::Map<String, Value> = self
            .kinds
            .iter()
            .map(|(k, s)| {
                (
                    k.clone(),
                    json!({
                        "episodes": s.episodes,
                        "detected": s.detected,
                        "precision": s.precision(),
                        "recall": s.recall(),
                        "delay_median_s": pct(s.delays_ms.clone(), 0.5).map(|x| x as f64 / 1000.0),
                        "delay_p95_s": pct(s.delays_ms.clone(), 0.95).map(|x| x as f64 / 1000.0),
                        "false_alerts": s.false_alerts,
                        "duplicates": s.duplicates,
                        "truncated": s.truncated,
                    }),
                )
            })
            .collect();
        json!({
            "inputs": self.inputs,
            "containers": self.containers,
            "readings": self.readings,
            "container_days": (self.container_days * 1000.0).round() / 1000.0,
            "tolerance_s": self.tolerance_ms / 1000,
            "faults": kinds,
            "temperature_excursion": {
                "events": self.excursions,
                "explained_by_a_fault": self.excursions_explained,
                "unexplained": self.excursions - self.excursions_explained,
            },
            "other_events": self.other_events,
            "false_alerts": self.false_alerts(),
            "false_alerts_per_container_day": self.false_per_container_day(),
            "false_alerts_near_defrost": self.defrost_alerts,
        })
    }

    pub fn write_table(&self, out: &mut impl Write) -> std::io::Result<()> {
        let d = |x: Option<i64>| {
            x.map_or("-".to_string(), |ms| {
                Span::from_millis(ms / 1000 * 1000).to_string()
            })
        };
        let f = |x: Option<f64>| x.map_or("-".to_string(), |v| format!("{v:.3}"));
        writeln!(
            out,
            "{:<22} {:>8} {:>8} {:>9} {:>7} {:>9} {:>9} {:>6} {:>5}",
            "fault",
            "episodes",
            "detected",
            "precision",
            "recall",
            "delay_p50",
            "delay_p95",
            "false",
            "trunc"
        )?;
        for k in KINDS {
            let s = &self.kinds[k];
            writeln!(
                out,
                "{:<22} {:>8} {:>8} {:>9} {:>7} {:>9} {:>9} {:>6} {:>5}",
                k,
                s.episodes,
                s.detected,
                f(s.precision()),
                f(s.recall()),
                d(pct(s.delays_ms.clone(), 0.5)),
                d(pct(s.delays_ms.clone(), 0.95)),
                s.false_alerts,
                s.truncated
            )?;
        }
        writeln!(
            out,
            "{:<22} {:>8} events: {} explained by a fault episode, {} unexplained (counted as false alerts)",
            EXCURSION,
            self.excursions,
            self.excursions_explained,
            self.excursions - self.excursions_explained
        )?;
        for (k, n) in &self.other_events {
            writeln!(out, "{k:<22} {n:>8} events (threshold rule, not scored)")?;
        }
        writeln!(
            out,
            "false alerts: {} over {:.1} container-days = {:.4} per container-day; near a defrost: {}",
            self.false_alerts(),
            self.container_days,
            self.false_per_container_day(),
            self.defrost_alerts
        )?;
        writeln!(
            out,
            "{} containers, {} readings, {} input(s); detection counts up to {} after an episode ends",
            self.containers,
            self.readings,
            self.inputs.len(),
            Span::from_millis(self.tolerance_ms)
        )
    }
}
