//! The gases in the box: a CA system holding O2 and CO2 inside a control
//! band, respiring fruit changing a sealed box when the CA system is off, and
//! vented boxes near air.

use super::products::ProductModel;
use rand::rngs::SmallRng;
use rand::Rng;

pub const AIR_O2: f64 = 20.9;
pub const AIR_CO2: f64 = 0.04;

/// CA control band: the system lets O2 and CO2 wander this far either side of
/// their setpoints before it acts (the issue's ± 0.5 %, from Carrier's CA guide).
pub const CA_BAND: f64 = 0.5;
/// Fresh-air inlet of the CA system when open: O2 climbs toward air at this
/// rate constant, 1/h (about 5 %/h at 3 % O2, so a correction takes a quarter of an
/// hour; model value). Respiration moves the gases slowly (0.2–0.25 %/h), the
/// system corrects them in short bursts: a saw-tooth inside the band.
const CA_INLET_PER_H: f64 = 0.3;
/// CO2 scrubbing when on, 1/h of the CO2 present (about 5 %/h at 5 %; model value).
const CA_SCRUB_PER_H: f64 = 1.0;
/// Nitrogen flushing when O2 is above its band (after an open door): O2 falls
/// toward its setpoint with this rate constant, 1/h (back in the band within
/// about 2.5 hours; model value).
const CA_FLUSH_PER_H: f64 = 1.5;
/// A sealed box without its CA system leaks to outside air slowly, 1/h (model value).
const SEALED_LEAK_PER_H: f64 = 0.005;
/// Michaelis constant of respiration in O2, %: respiration slows as O2 runs out.
const RESPIRATION_O2_K: f64 = 2.0;

/// What the unit does to the box's atmosphere during one interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Regime {
    /// The CA system (or the fresh-air vent of a vented box) works.
    Controlled,
    /// The door is open: outside air replaces the box's.
    DoorOpen,
    /// No power: the CA system stops, the box is sealed, the fruit keeps respiring.
    Unpowered,
}

/// The atmosphere of one box.
#[derive(Debug, Clone)]
pub struct Atmosphere {
    pub o2: f64,
    pub co2: f64,
    inlet_open: bool,
    scrubbing: bool,
    /// Per-reading smoothing of a vented box and of an open door.
    alpha_vented: f64,
    alpha_door: f64,
    dt_h: f64,
}

#[inline(always)]
fn normal(rng: &mut SmallRng) -> f64 {
    super::normal::standard_normal(rng)
}

/// O2/CO2 a vented box settles at: air shifted by the load's respiration.
pub fn vented_targets(p: &ProductModel) -> (f64, f64) {
    (AIR_O2 - p.vented_gas * 0.6, AIR_CO2 + p.vented_gas * 0.4)
}

impl Atmosphere {
    pub fn new(p: &ProductModel, interval_s: f64, rng: &mut SmallRng) -> Atmosphere {
        let alpha = |tau_s: f64| 1.0 - (-interval_s / tau_s).exp();
        let (o2, co2) = match p.ca {
            // Somewhere inside the control band, and heading somewhere.
            Some((o, c)) => (
                o + rng.gen_range(-CA_BAND..CA_BAND),
                c + rng.gen_range(-CA_BAND..CA_BAND),
            ),
            None => vented_targets(p),
        };
        Atmosphere {
            o2,
            co2,
            inlet_open: rng.gen::<bool>(),
            scrubbing: rng.gen::<bool>(),
            alpha_vented: alpha(1200.0),
            alpha_door: alpha(180.0),
            dt_h: interval_s / 3600.0,
        }
    }

    /// Advances the atmosphere by one interval.
    pub fn step(&mut self, p: &ProductModel, regime: Regime, rng: &mut SmallRng) {
        let dt = self.dt_h;
        match (regime, p.ca) {
            (Regime::DoorOpen, _) => {
                self.o2 += (AIR_O2 - self.o2) * self.alpha_door + 0.05 * normal(rng);
                self.co2 += (AIR_CO2 - self.co2) * self.alpha_door + 0.01 * normal(rng);
            }
            (Regime::Controlled, Some((o2_set, co2_set))) => {
                // Relay control inside the band: respiration pulls O2 down and
                // CO2 up; the inlet and the scrubber push them back.
                let resp = self.respiration(p, o2_set) * dt;
                if self.o2 <= o2_set - CA_BAND {
                    self.inlet_open = true;
                } else if self.o2 >= o2_set + CA_BAND {
                    self.inlet_open = false;
                }
                if self.co2 >= co2_set + CA_BAND {
                    self.scrubbing = true;
                } else if self.co2 <= co2_set - CA_BAND {
                    self.scrubbing = false;
                }
                self.o2 -= resp;
                self.co2 += resp;
                if self.o2 > o2_set + CA_BAND {
                    self.o2 -= (self.o2 - o2_set) * CA_FLUSH_PER_H * dt;
                }
                if self.inlet_open {
                    self.o2 += (AIR_O2 - self.o2) * CA_INLET_PER_H * dt;
                }
                if self.scrubbing {
                    self.co2 -= self.co2 * CA_SCRUB_PER_H * dt;
                }
                self.o2 += 0.01 * dt.sqrt() * normal(rng);
                self.co2 += 0.01 * dt.sqrt() * normal(rng);
            }
            (Regime::Unpowered, Some((o2_set, _))) => {
                // Sealed: the fruit keeps breathing (O2 down, CO2 up), a little air leaks in.
                let resp = self.respiration(p, o2_set) * dt;
                self.o2 += -resp + (AIR_O2 - self.o2) * SEALED_LEAK_PER_H * dt;
                self.co2 += resp + (AIR_CO2 - self.co2) * SEALED_LEAK_PER_H * dt;
            }
            (_, None) => {
                // A vented box sits near air, shifted by its load's breathing;
                // an Ornstein-Uhlenbeck process discretised exactly, so its
                // spread is the same whatever the interval.
                let (o_t, c_t) = vented_targets(p);
                let a = self.alpha_vented;
                let ou = |spread: f64| spread * (a * (2.0 - a)).sqrt();
                self.o2 += (o_t - self.o2) * a + ou(0.03) * normal(rng);
                self.co2 += (c_t - self.co2) * a + ou(0.004 + 0.008 * c_t) * normal(rng);
            }
        }
        self.o2 = self.o2.clamp(0.0, 21.0);
        self.co2 = self.co2.max(0.0);
    }

    /// Respiration rate, %/h of O2 used, slowing as O2 runs out.
    fn respiration(&self, p: &ProductModel, o2_set: f64) -> f64 {
        let f = |o: f64| o / (o + RESPIRATION_O2_K);
        p.respiration_gas_per_h * f(self.o2.max(0.0)) / f(o2_set)
    }
}
