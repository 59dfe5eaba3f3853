//! The physics of one reefer: a first-order thermal model of the box, a
//! setpoint controller, defrost cycles, controlled atmosphere, a voyage, and
//! faults applied to their physical cause (power, compressor, fans, door,
//! sensors) rather than painted over the output.

use super::faults::FaultKind;
use super::fleet::Track;
use rand::rngs::SmallRng;
use rand::Rng;
use rand_distr::StandardNormal;

/// Physical traits of a product's load and the unit that carries it.
#[derive(Debug, Clone, Copy)]
pub struct ProductModel {
    pub id: &'static str,
    pub setpoint: f64,
    /// Respiration heat of the load, °C/s of box temperature with no cooling.
    pub respiration: f64,
    /// Relative humidity the box settles at, %.
    pub humidity: f64,
    /// Controlled-atmosphere setpoints (O2 %, CO2 %), if the product travels under CA.
    pub ca: Option<(f64, f64)>,
    /// How much the load's respiration moves O2/CO2 away from air in a vented box, %.
    pub vented_gas: f64,
    /// Cooling capacity at full duty, °C/s.
    pub capacity: f64,
    /// Heat-leak time constant of the insulated box with its load, hours (a frozen
    /// load holds far more cold than a chilled one, so it drifts more slowly).
    pub leak_hours: f64,
    /// Compressor power at full duty, kW.
    pub compressor_kw: f64,
    /// Hours between defrost cycles.
    pub defrost_every_h: f64,
}

pub const PRODUCT_MODELS: [ProductModel; 8] = [
    ProductModel {
        id: "P01",
        setpoint: 0.0,
        respiration: 0.000_02,
        humidity: 95.0,
        ca: None,
        vented_gas: 0.4,
        capacity: 0.0035,
        leak_hours: 10.0,
        compressor_kw: 6.5,
        defrost_every_h: 8.0,
    },
    ProductModel {
        id: "P02",
        setpoint: 13.3,
        respiration: 0.000_08,
        humidity: 90.0,
        ca: Some((3.0, 5.0)),
        vented_gas: 0.8,
        capacity: 0.0035,
        leak_hours: 10.0,
        compressor_kw: 6.5,
        defrost_every_h: 12.0,
    },
    ProductModel {
        id: "P03",
        setpoint: 0.0,
        respiration: 0.000_03,
        humidity: 96.0,
        ca: None,
        vented_gas: 0.5,
        capacity: 0.0035,
        leak_hours: 10.0,
        compressor_kw: 6.5,
        defrost_every_h: 8.0,
    },
    ProductModel {
        id: "P04",
        setpoint: 6.0,
        respiration: 0.000_06,
        humidity: 90.0,
        ca: Some((3.5, 6.0)),
        vented_gas: 0.7,
        capacity: 0.0035,
        leak_hours: 10.0,
        compressor_kw: 6.5,
        defrost_every_h: 12.0,
    },
    ProductModel {
        id: "P05",
        setpoint: 13.0,
        respiration: 0.000_05,
        humidity: 90.0,
        ca: None,
        vented_gas: 0.6,
        capacity: 0.0035,
        leak_hours: 10.0,
        compressor_kw: 6.5,
        defrost_every_h: 12.0,
    },
    ProductModel {
        id: "P06",
        setpoint: -20.0,
        respiration: 0.0,
        humidity: 80.0,
        ca: None,
        vented_gas: 0.0,
        capacity: 0.000_75,
        leak_hours: 40.0,
        compressor_kw: 9.0,
        defrost_every_h: 12.0,
    },
    ProductModel {
        id: "P07",
        setpoint: 5.0,
        respiration: 0.0,
        humidity: 55.0,
        ca: None,
        vented_gas: 0.0,
        capacity: 0.0035,
        leak_hours: 12.0,
        compressor_kw: 6.5,
        defrost_every_h: 12.0,
    },
    ProductModel {
        id: "P08",
        setpoint: -70.0,
        respiration: 0.0,
        humidity: 40.0,
        ca: None,
        vented_gas: 0.0,
        capacity: 0.001,
        leak_hours: 60.0,
        compressor_kw: 11.0,
        defrost_every_h: 24.0,
    },
];

/// Mix of products in a typical reefer fleet (weights).
pub const PRODUCT_WEIGHTS: [f64; 8] = [10.0, 25.0, 10.0, 15.0, 10.0, 15.0, 10.0, 5.0];

pub const AIR_O2: f64 = 20.9;
pub const AIR_CO2: f64 = 0.04;

/// Share of a chilled box's heat capacity in its air (the rest is the load).
/// A frozen load holds more cold, so its air share is smaller in proportion
/// (see [`Container::air_share`]).
const CHILLED_AIR_SHARE: f64 = 1.0 / 11.0;
/// Heat-leak time constant, hours, of the chilled box that `CHILLED_AIR_SHARE` describes.
const CHILLED_LEAK_HOURS: f64 = 10.0;
/// The air follows the load in about 3 minutes.
const AIR_LOAD_SECONDS: f64 = 180.0;
/// Open doors replace the air in about 2.5 minutes.
const DOOR_EXCHANGE_SECONDS: f64 = 150.0;
/// Controller gain: how fast a temperature error is corrected (1/s).
const GAIN: f64 = 1.0 / 900.0;
/// Process noise of the box temperature, °C per √s.
const PROCESS_NOISE: f64 = 0.012;
/// Substep of the thermal integration, seconds.
const MAX_SUBSTEP_S: f64 = 20.0;

pub use crate::record::Mode;

/// One reading's values, before formatting.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub temperature: f64,
    pub target: f64,
    pub supply: f64,
    pub ambient: f64,
    pub kilowatts: f64,
    pub o2: f64,
    pub co2: f64,
    pub n2: f64,
    pub humidity: f64,
    pub fans: [bool; 3],
    pub defrost: bool,
    pub door_open: bool,
    pub mode: Mode,
    pub position: Option<(f64, f64)>,
    pub fault: Option<FaultKind>,
}

/// What is shared by every container at one time step.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    pub t_ms: i64,
    /// Day of the year, fractional (0 = 1 January 00:00 UTC).
    pub day_of_year: f64,
    /// Hour of the day in UTC, fractional.
    pub utc_hour: f64,
}

#[derive(Debug, Clone, Copy)]
struct Episode {
    kind: FaultKind,
    start_ms: i64,
    end_ms: i64,
    /// Which form the fault takes (stuck/open/short, stuck/drift/noisy, high/cycling).
    variant: u8,
    /// The reading a stuck sensor repeats.
    stuck: f64,
    /// Drift of a drifting gas sensor, % per hour.
    drift_per_h: f64,
}

/// A scripted fault window for this container.
#[derive(Debug, Clone, Copy)]
pub struct Scripted {
    pub kind: FaultKind,
    pub start_ms: i64,
    pub end_ms: i64,
}

pub struct Container {
    pub id: String,
    pub product: &'static ProductModel,
    rng: SmallRng,
    dt_s: f64,
    // Voyage.
    track: &'static Track,
    km: f64,
    speed_kmh: f64,
    segment: usize,
    // Unit.
    k_leak: f64,
    /// Share of the box's heat capacity in its air: whole-box units make a heavier
    /// (frozen) load show up as a smaller air share and a slower leak alike.
    air_share: f64,
    capacity: f64,
    compressor_kw: f64,
    alpha_gas_ctrl: f64,
    alpha_gas_door: f64,
    alpha_gas_off: f64,
    alpha_humidity: f64,
    // State.
    t_air: f64,
    t_load: f64,
    o2: f64,
    co2: f64,
    humidity: f64,
    weather: f64,
    last_reported: f64,
    last_o2: f64,
    last_co2: f64,
    defrost_next_ms: i64,
    defrost_end_ms: i64,
    gps_gap: u32,
    // Faults.
    rates_per_ms: [f64; 7],
    next_onset_ms: [i64; 7],
    episode: Option<Episode>,
    scripted: Vec<Scripted>,
}

fn normal(rng: &mut SmallRng) -> f64 {
    rng.sample::<f64, _>(StandardNormal)
}

fn exp_wait_ms(rng: &mut SmallRng, rate_per_ms: f64) -> i64 {
    if rate_per_ms <= 0.0 {
        return i64::MAX / 4;
    }
    let u: f64 = rng.gen_range(f64::EPSILON..1.0);
    (-u.ln() / rate_per_ms).min((i64::MAX / 4) as f64) as i64
}

/// Ambient air temperature at sea: warmer near the equator, seasonal by
/// hemisphere, a daily cycle peaking mid-afternoon local time, plus weather.
pub fn ambient_temperature(lat: f64, lon: f64, clock: &Clock, weather: f64) -> f64 {
    let abs_lat = lat.abs();
    let annual_mean = 28.0 - 0.45 * (abs_lat - 12.0).max(0.0);
    let amplitude = 0.12 * abs_lat;
    let phase = std::f64::consts::TAU * (clock.day_of_year - 20.0) / 365.25;
    let seasonal = if lat >= 0.0 { -amplitude } else { amplitude } * phase.cos();
    let solar_hour = clock.utc_hour + lon / 15.0;
    let daily = 2.5 * (std::f64::consts::TAU * (solar_hour - 9.0) / 24.0).sin();
    annual_mean + seasonal + daily + weather
}

pub struct ContainerSetup<'a> {
    pub id: String,
    pub product: &'static ProductModel,
    pub track: &'static Track,
    pub rng: SmallRng,
    pub start: &'a Clock,
    pub interval_s: f64,
    /// Episodes per container per day, per fault kind.
    pub rates: [f64; 7],
    pub scripted: Vec<Scripted>,
}

impl Container {
    pub fn new(setup: ContainerSetup<'_>) -> Container {
        let ContainerSetup {
            id,
            product,
            track,
            mut rng,
            start,
            interval_s,
            rates,
            scripted,
        } = setup;
        let spread = |rng: &mut SmallRng, x: f64| x * rng.gen_range(0.9..1.1);
        let km = rng.gen_range(0.0..track.length_km());
        let knots = rng.gen_range(15.0..21.0);
        let speed_kmh = knots * 1.852;
        let leak_hours = spread(&mut rng, product.leak_hours);
        let capacity = spread(&mut rng, product.capacity);
        let compressor_kw = spread(&mut rng, product.compressor_kw);
        let alpha = |tau_s: f64| 1.0 - (-interval_s / tau_s).exp();
        let rates_per_ms = rates.map(|r| r / 86_400_000.0);
        let mut next_onset_ms = [0i64; 7];
        for (next, rate) in next_onset_ms.iter_mut().zip(rates_per_ms) {
            *next = start.t_ms.saturating_add(exp_wait_ms(&mut rng, rate));
        }
        let period_ms = (product.defrost_every_h * 3_600_000.0) as i64;
        let defrost_next_ms = start.t_ms + rng.gen_range(0..period_ms);
        let (o2, co2) = gas_targets(product, true, false);
        let mut c = Container {
            id,
            product,
            rng,
            dt_s: interval_s,
            track,
            km,
            speed_kmh,
            segment: 0,
            k_leak: 1.0 / (leak_hours * 3600.0),
            air_share: CHILLED_AIR_SHARE * CHILLED_LEAK_HOURS / product.leak_hours,
            capacity,
            compressor_kw,
            alpha_gas_ctrl: alpha(if product.ca.is_some() { 2400.0 } else { 1200.0 }),
            alpha_gas_door: alpha(180.0),
            alpha_gas_off: alpha(6.0 * 3600.0),
            alpha_humidity: alpha(1800.0),
            t_air: product.setpoint,
            t_load: product.setpoint,
            o2,
            co2,
            humidity: product.humidity,
            weather: 0.0,
            last_reported: product.setpoint,
            last_o2: o2,
            last_co2: co2,
            defrost_next_ms,
            defrost_end_ms: i64::MIN,
            gps_gap: 0,
            rates_per_ms,
            next_onset_ms,
            episode: None,
            scripted,
        };
        c.weather = 2.0 * normal(&mut c.rng);
        c.t_load = product.setpoint + 0.1 * normal(&mut c.rng);
        c.t_air = c.t_load;
        // A container loaded in the last 12 hours is still pulling down from
        // the temperature it was loaded at: replay those hours.
        let hours_since_loading = c.km / speed_kmh;
        if hours_since_loading < 12.0 {
            c.t_load = product.setpoint + c.rng.gen_range(3.0..10.0);
            c.t_air = c.t_load;
            let (lat, lon) = track.position(c.km, &mut c.segment);
            let ambient = ambient_temperature(lat, lon, start, c.weather);
            let steps = (hours_since_loading * 60.0) as usize;
            for _ in 0..steps {
                c.integrate(60.0, ambient, None, false);
            }
        }
        c
    }

    fn setpoint(&self) -> f64 {
        self.product.setpoint
    }

    /// Cooling duty the controller asks for: positive cools, negative heats.
    fn demand(&self, ambient: f64) -> f64 {
        let need = self.k_leak * (ambient - self.t_air)
            + self.product.respiration
            + GAIN * (self.t_air - self.setpoint());
        (need / self.capacity).clamp(-0.6, 1.0)
    }

    /// Advances the box by `dt` seconds; returns the duty used.
    ///
    /// Two thermal nodes: the air (what the return-air sensor reads, a small
    /// heat capacity that the unit, the door and the walls act on) and the load
    /// (most of the heat capacity, warmed by respiration). Units are °C/s of the
    /// whole box, so `k_leak` and `capacity` keep their whole-box meaning.
    fn integrate(&mut self, dt: f64, ambient: f64, fault: Option<FaultKind>, defrost: bool) -> f64 {
        let substeps = (dt / MAX_SUBSTEP_S).ceil().max(1.0) as usize;
        let h = dt / substeps as f64;
        let powered = fault != Some(FaultKind::PowerOff);
        let door = fault == Some(FaultKind::DoorOpen);
        let effectiveness = match fault {
            Some(FaultKind::CompressorFailure) => 0.0,
            Some(FaultKind::FanFailure) => 0.35,
            _ => 1.0,
        };
        let mut duty = 0.0;
        for _ in 0..substeps {
            duty = if !powered || defrost {
                0.0
            } else if door {
                1.0
            } else {
                self.demand(ambient)
            };
            let share = self.air_share;
            let exchange = share / AIR_LOAD_SECONDS;
            let leak = if door {
                share / DOOR_EXCHANGE_SECONDS
            } else {
                self.k_leak
            };
            let mut to_air = leak * (ambient - self.t_air) + exchange * (self.t_load - self.t_air);
            if duty > 0.0 {
                to_air -= self.capacity * effectiveness * duty;
            } else {
                // Electric heaters: about half the cooling capacity.
                to_air -= 0.5 * self.capacity * duty;
            }
            if defrost {
                // Heater warmth that reaches the return air while fans stand still.
                // (Whole-box units: the same heater warms a heavier box less.)
                to_air += 0.000_2 * share / CHILLED_AIR_SHARE;
            }
            let to_load = exchange * (self.t_air - self.t_load) + self.product.respiration;
            self.t_air += to_air / share * h + PROCESS_NOISE * h.sqrt() * normal(&mut self.rng);
            self.t_load += to_load / (1.0 - share) * h;
        }
        duty
    }

    fn fault_at(&mut self, t_ms: i64) -> Option<Episode> {
        // Scripted faults win over random ones.
        let scripted = self
            .scripted
            .iter()
            .find(|s| s.start_ms <= t_ms && t_ms < s.end_ms)
            .copied();
        if let Some(s) = scripted {
            if !matches!(self.episode, Some(e) if e.kind == s.kind && e.start_ms == s.start_ms) {
                let e = self.begin(s.kind, s.start_ms, s.end_ms);
                self.episode = Some(e);
            }
        } else if matches!(self.episode, Some(e) if t_ms >= e.end_ms) {
            self.episode = None;
        }
        for k in FaultKind::ALL {
            let i = k as usize;
            while self.next_onset_ms[i] <= t_ms {
                let onset = self.next_onset_ms[i];
                self.next_onset_ms[i] =
                    onset.saturating_add(exp_wait_ms(&mut self.rng, self.rates_per_ms[i]));
                if self.episode.is_none() && scripted.is_none() {
                    let (lo, hi) = k.duration_range_s();
                    let secs = (lo.ln() + self.rng.gen::<f64>() * (hi / lo).ln()).exp();
                    let e = self.begin(k, t_ms, t_ms + (secs * 1000.0) as i64);
                    self.episode = Some(e);
                }
            }
        }
        self.episode
    }

    fn begin(&mut self, kind: FaultKind, start_ms: i64, end_ms: i64) -> Episode {
        let variant = self.rng.gen_range(0..3u8);
        let stuck = match kind {
            FaultKind::TemperatureSensor => self.last_reported,
            FaultKind::O2Sensor => self.last_o2,
            FaultKind::Co2Sensor => self.last_co2,
            _ => 0.0,
        };
        let sign = if self.rng.gen::<bool>() { 1.0 } else { -1.0 };
        let drift_per_h = sign
            * match kind {
                FaultKind::O2Sensor => self.rng.gen_range(0.8..2.5),
                _ => self.rng.gen_range(0.4..1.5),
            };
        Episode {
            kind,
            start_ms,
            end_ms,
            variant,
            stuck,
            drift_per_h,
        }
    }

    /// Produces this container's reading at `clock`, advancing its state by one interval.
    pub fn step(&mut self, clock: &Clock) -> Sample {
        let dt = self.dt_s;
        let episode = self.fault_at(clock.t_ms);
        let fault = episode.map(|e| e.kind);

        // Voyage: the ship moves on; at the end of the route the box waits in port.
        let (lat, lon) = self.track.position(self.km, &mut self.segment);
        self.km = (self.km + self.speed_kmh * dt / 3600.0).min(self.track.length_km());
        self.weather += -self.weather * dt / 43_200.0 + 0.0136 * dt.sqrt() * normal(&mut self.rng);
        let ambient = ambient_temperature(lat, lon, clock, self.weather);

        // Defrost: periodic, suspended while the unit has no power or cannot cool.
        let can_defrost = !matches!(
            fault,
            Some(FaultKind::PowerOff | FaultKind::CompressorFailure | FaultKind::DoorOpen)
        );
        if clock.t_ms >= self.defrost_next_ms && clock.t_ms >= self.defrost_end_ms {
            if can_defrost {
                let minutes = self.rng.gen_range(20.0..40.0);
                self.defrost_end_ms = clock.t_ms + (minutes * 60_000.0) as i64;
            }
            let period_h = self.product.defrost_every_h * self.rng.gen_range(0.9..1.1);
            self.defrost_next_ms = clock.t_ms + (period_h * 3_600_000.0) as i64;
        }
        let defrost = clock.t_ms < self.defrost_end_ms && can_defrost;

        let powered = fault != Some(FaultKind::PowerOff);
        let door = fault == Some(FaultKind::DoorOpen);
        let duty = self.integrate(dt, ambient, fault, defrost);

        // Gases and humidity move toward what the box's state dictates.
        let (o2_t, co2_t, alpha) = if door {
            (AIR_O2, AIR_CO2, self.alpha_gas_door)
        } else if !powered && self.product.ca.is_some() {
            (AIR_O2, AIR_CO2, self.alpha_gas_off)
        } else {
            let (o, c) = gas_targets(self.product, powered, door);
            (o, c, self.alpha_gas_ctrl)
        };
        // Each is an Ornstein-Uhlenbeck process discretised exactly, so its spread
        // around the target is the same whatever the reading interval.
        let o2_spread = if self.product.ca.is_some() { 0.1 } else { 0.03 };
        let co2_spread = 0.004 + 0.008 * co2_t;
        let ou = |alpha: f64, spread: f64| spread * (alpha * (2.0 - alpha)).sqrt();
        self.o2 += (o2_t - self.o2) * alpha + ou(alpha, o2_spread) * normal(&mut self.rng);
        self.co2 += (co2_t - self.co2) * alpha + ou(alpha, co2_spread) * normal(&mut self.rng);
        self.o2 = self.o2.clamp(0.0, 21.0);
        self.co2 = self.co2.max(0.0);
        let rh_target = if door { 75.0 } else { self.product.humidity };
        self.humidity += (rh_target - self.humidity) * self.alpha_humidity
            + ou(self.alpha_humidity, 1.0) * normal(&mut self.rng);
        self.humidity = self.humidity.clamp(5.0, 100.0);

        let fan_failed = fault == Some(FaultKind::FanFailure);
        let fans_on = powered && !defrost;
        let fans = [fans_on && !fan_failed, fans_on, fans_on];

        // Supply air: colder than the return air by the coil's pull, wider
        // when a fan is out (less air over the coil).
        let cooling = duty.max(0.0);
        let supply = if !powered {
            self.t_air + 0.1
        } else if defrost {
            self.t_air + 8.0 + 2.0 * self.rng.gen::<f64>()
        } else if fault == Some(FaultKind::CompressorFailure) {
            self.t_air + 0.3
        } else if duty < 0.0 {
            self.t_air + 3.0 * -duty
        } else {
            let spread = if self.product.setpoint < -10.0 {
                3.0
            } else {
                4.0
            };
            self.t_air - spread * cooling * if fan_failed { 2.5 } else { 1.0 }
        } + 0.05 * normal(&mut self.rng);

        let mut mode = if !powered {
            Mode::Off
        } else if defrost {
            Mode::Defrost
        } else if duty > 0.9 {
            Mode::FullCool
        } else if duty > 0.02 {
            Mode::ModulatedCool
        } else if duty < -0.02 {
            Mode::Heat
        } else {
            Mode::FansOnly
        };

        let kw = if !powered {
            0.0
        } else {
            let fan_kw = if !fans_on {
                0.0
            } else if fan_failed {
                0.8
            } else {
                1.1
            };
            let lift = (0.85 + 0.006 * (ambient - self.t_air)).clamp(0.7, 1.4);
            let compressor = match (fault, episode.map(|e| e.variant)) {
                (Some(FaultKind::CompressorFailure), Some(v)) => {
                    mode = Mode::FullCool;
                    // Running without pumping, or tripping on high pressure and restarting.
                    let on = v != 0 || (clock.t_ms / 300_000) % 2 == 0;
                    if on {
                        0.95 * self.compressor_kw * lift
                    } else {
                        0.0
                    }
                }
                _ => cooling * self.compressor_kw * lift,
            };
            let heater = if defrost {
                if self.product.setpoint < -10.0 {
                    5.0
                } else {
                    3.5
                }
            } else if duty < 0.0 {
                4.0 * -duty
            } else {
                0.0
            };
            (fan_kw + compressor + heater + 0.04 * normal(&mut self.rng)).clamp(0.0, 15.0)
        };

        // Sensors: what the box is, as its sensors report it.
        let true_temp = self.t_air + 0.05 * normal(&mut self.rng);
        let temperature = match episode {
            Some(e) if e.kind == FaultKind::TemperatureSensor => match e.variant {
                0 => e.stuck,
                1 => -99.9,
                _ => 127.0,
            },
            _ => true_temp,
        };
        let hours_in = |e: &Episode| (clock.t_ms - e.start_ms) as f64 / 3_600_000.0;
        let o2_true = self.o2 + 0.02 * normal(&mut self.rng);
        // A stuck sensor repeats one value; a drifting one still sees the gas, with
        // a growing offset and its usual noise; a noisy one scatters around it.
        let o2 = match episode {
            Some(e) if e.kind == FaultKind::O2Sensor => match e.variant {
                0 => e.stuck,
                1 => (o2_true + e.drift_per_h * hours_in(&e)).clamp(0.0, 25.0),
                _ => (o2_true + 1.5 * normal(&mut self.rng)).clamp(0.0, 25.0),
            },
            _ => o2_true,
        };
        let co2_true = (self.co2 + (0.004 + 0.004 * self.co2) * normal(&mut self.rng)).max(0.0);
        let co2 = match episode {
            Some(e) if e.kind == FaultKind::Co2Sensor => match e.variant {
                0 => e.stuck,
                1 => (co2_true + e.drift_per_h * hours_in(&e)).clamp(0.0, 25.0),
                _ => (co2_true + 0.8 * normal(&mut self.rng)).clamp(0.0, 25.0),
            },
            _ => co2_true,
        };
        if fault != Some(FaultKind::TemperatureSensor) {
            self.last_reported = temperature;
        }
        if fault != Some(FaultKind::O2Sensor) {
            self.last_o2 = o2;
        }
        if fault != Some(FaultKind::Co2Sensor) {
            self.last_co2 = co2;
        }

        // GPS: an occasional lost fix below deck.
        if self.gps_gap > 0 {
            self.gps_gap -= 1;
        } else if self.rng.gen::<f64>() < 0.0005 {
            self.gps_gap = self.rng.gen_range(1..6);
        }
        let position = if self.gps_gap > 0 {
            None
        } else {
            Some((
                lat + 0.000_3 * normal(&mut self.rng),
                lon + 0.000_3 * normal(&mut self.rng),
            ))
        };

        Sample {
            temperature,
            target: self.setpoint(),
            supply,
            ambient,
            kilowatts: kw,
            o2,
            co2,
            n2: (100.0 - self.o2 - self.co2 - 0.93).max(0.0),
            humidity: self.humidity,
            fans,
            defrost,
            door_open: door,
            mode,
            position,
            fault,
        }
    }
}

/// O2/CO2 the box settles at: CA setpoints when the CA system runs, otherwise
/// air shifted by the load's respiration through the fresh-air vent.
fn gas_targets(p: &ProductModel, powered: bool, door: bool) -> (f64, f64) {
    match p.ca {
        Some((o2, co2)) if powered && !door => (o2, co2),
        _ => (AIR_O2 - p.vented_gas * 0.6, AIR_CO2 + p.vented_gas * 0.4),
    }
}
