//! The physics of one reefer: the box's air and its load as two thermal
//! nodes, the unit's controller (supply-air modulation for chilled cargo,
//! return-air on/off cycling for frozen), defrost by coil condition, the
//! atmosphere, a voyage with port calls, and faults applied to their physical
//! cause (power, compressor, fans, door, sensors) rather than painted over the
//! output. Sources of the numbers: beside each constant, and in the README's
//! realism table (`scripts/realism.sh` re-measures it).

use super::atmosphere::{Atmosphere, Regime};
use super::faults::FaultKind;
use super::fleet::Track;
use super::format::round_f64;
pub use super::products::{ProductModel, PRODUCT_MODELS, PRODUCT_WEIGHTS};
use rand::rngs::SmallRng;
use rand::Rng;

pub use super::atmosphere::{AIR_CO2, AIR_O2};

/// Heat capacity of the box's air together with the surfaces that follow it
/// closely (T-floor, lining, pallets), J/K (model value): after a door opening
/// the return air is back within about 20 minutes.
const AIR_HEAT_CAPACITY: f64 = 4.0e5;
/// Air moved through the cargo by the evaporator fans at high speed, as W/K
/// (mass flow × c_p; about 0.75 kg/s, model value). It sets how far return air
/// sits above supply air: with supply-air control the return runs ≈ 2 K above
/// for a respiring load (the issue quotes 2–2.6 K, Container Handbook §7.2.7.2;
/// the Handbook §8.4.2.3: return air is higher than supply air while the cargo
/// temperature is maintained).
const AIRFLOW_HIGH: f64 = 750.0;
/// Frozen cargo: fans at low speed (Container Handbook §7.2.7.1), less air.
const AIRFLOW_LOW: f64 = 550.0;
/// Evaporator fans' draw at high speed, kW (model value), and at low speed:
/// "reducing their power consumption by a factor of 8" (Container Handbook §7.2.7.1).
const FAN_KW_HIGH: f64 = 0.9;
const FAN_KW_LOW: f64 = FAN_KW_HIGH / 8.0;
/// Controller, sensors and modem while powered, kW (model value).
const CONTROLLER_KW: f64 = 0.05;
/// Share of the moving air's capacity that the cargo exchanges heat with:
/// vented cartons of fruit let air through (high), a frozen block stowed
/// tight only lets it round the outside (low). Model values; with them a
/// warm chilled load takes days to pull down, as Defraeye et al. 2015
/// (Biosystems Eng. 134:20–30) found: under 5 days in theory, slower in practice.
const LOAD_EFFECTIVENESS_CHILLED: f64 = 0.92;
const LOAD_EFFECTIVENESS_FROZEN: f64 = 0.55;
/// Air–load exchange with the fans stopped (natural convection), W/K (model value).
const NATURAL_COUPLING: f64 = 600.0;
/// An open door swaps the box's air in about 2.5 minutes: W/K of exchange.
const DOOR_EXCHANGE: f64 = AIR_HEAT_CAPACITY / 150.0;
/// Frozen control: compressor on above setpoint + 0.2 K, off below − 0.2 K
/// (Container Handbook §7.2.7.1, "e.g. 0.2 °C"), with a minimum time between
/// two switchings (ibid.; the minutes are model values).
const FROZEN_HYSTERESIS: f64 = 0.2;
const MIN_OFF_MS: i64 = 3 * 60_000;
const MIN_ON_MS: i64 = 3 * 60_000;
/// Electric heaters: in heat mode, and during a defrost (W, kW; model values).
const HEATER_W: f64 = 3_000.0;
const DEFROST_KW_CHILLED: f64 = 3.0;
const DEFROST_KW_FROZEN: f64 = 4.0;
/// Heater warmth that reaches the box air during a defrost, W (model value):
/// most of the heaters' 3-4 kW melts the frost and warms the coil, and the
/// evaporator fans are stopped, so little reaches the cargo space. At 600 W a
/// frozen-fish box's return air rose above its brief-deviation limit (-15 °C)
/// in a 40-minute defrost, which a real unit's defrost does not do.
const DEFROST_HEAT_TO_AIR: f64 = 300.0;
/// The coil only frosts, and the defrost timer only runs, below this supply
/// (coil) temperature, °C (Container Handbook §7.2.7.3 "approximately +10 °C";
/// Carrier PrimeLINE manual §4.3.21: defrost sensor below 10 °C).
const DEFROST_COIL_BELOW: f64 = 10.0;
/// A tripping compressor (a unit's high-pressure cutout switch opens when the
/// discharge pressure becomes excessive and stops the unit, Thermo King
/// operator's manuals, "Unit Protection Devices", alarm code 10; a motor
/// overload relay does the same) restarts only after a delay:
/// it runs about a minute, trips, and stays locked out for the rest of a
/// quarter of an hour (model values).
const TRIP_RUN_MS: i64 = 60_000;
const TRIP_CYCLE_MS: i64 = 15 * 60_000;
/// Share of its capacity a short run delivers (model value): each start
/// first pulls the warm coil and the refrigerant down, and the cut-out opens
/// at full head pressure before the circuit reaches a steady state. With it a
/// tripping unit removes ≈ 2 % of its capacity on average (≈ 110 W for a
/// frozen box's 5.5 kW unit), far below the ≈ 2 kW that leak through a 40'
/// box's walls at −20 °C in a 25 °C ambient (44 W/K, CINS Tech test, see
/// `products.rs`): the box warms at about the rate of a dead unit. At 1 run
/// in 15 at full capacity (before this) a frozen box stayed cold.
const TRIP_RUN_EFFECTIVENESS: f64 = 0.3;
/// Process noise of the box air, °C per √s.
const PROCESS_NOISE: f64 = 0.004;
/// Substep of the thermal integration, seconds.
const MAX_SUBSTEP_S: f64 = 20.0;
/// Relative humidity of the outside air, % (model value).
const OUTSIDE_RH: f64 = 80.0;

pub use crate::record::Mode;

/// One reading's values, before formatting.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    /// False when the modem cannot send (no power and no modem battery): no line.
    pub reported: bool,
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
    /// Cosine of the season's phase: the same for every container at this
    /// step, so it is worked out once per step, not once per reading.
    season_cos: f64,
}

impl Clock {
    pub fn new(t_ms: i64, day_of_year: f64, utc_hour: f64) -> Clock {
        let phase = std::f64::consts::TAU * (day_of_year - 20.0) / 365.25;
        Clock {
            t_ms,
            day_of_year,
            utc_hour,
            season_cos: phase.cos(),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Episode {
    kind: FaultKind,
    start_ms: i64,
    end_ms: i64,
    /// Which form the fault takes (stuck/open/short, stuck/drift/noisy,
    /// compressor dead/not pumping/tripping).
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

/// What the compressor can do during a compressor failure.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Compressor {
    Healthy,
    /// Will not start (motor, contactor): draws nothing.
    Dead,
    /// Runs without pumping (valves, lost charge): draws a little, cools nothing.
    NoPump,
    /// Trips on high pressure after short runs and stays locked out.
    Tripping,
}

/// How the unit runs during one interval.
#[derive(Debug, Clone, Copy)]
struct Drive {
    powered: bool,
    door: bool,
    defrost: bool,
    fan_failed: bool,
    compressor: Compressor,
    /// Time since the fault began at the end of the interval (for a
    /// tripping compressor), ms.
    fault_age_ms: i64,
}

/// What the unit did, for the reading.
#[derive(Debug, Clone, Copy, Default)]
struct Effort {
    /// Heat removed from the air (W, negative: heating).
    q: f64,
    /// What the controller asked for (W).
    asked: f64,
    /// Capacity at this ambient (W).
    capacity: f64,
    /// The compressor is drawing power.
    compressor_on: bool,
    /// Share of the interval a tripping compressor ran (1 otherwise): what
    /// the kW meter, averaging over the interval, sees of it.
    run_share: f64,
    /// Supply air as the unit blew it (fans running), °C.
    supply: f64,
}

pub struct Container {
    pub id: String,
    pub product: &'static ProductModel,
    /// How its readings reach the monitoring system (`--delivery realistic`).
    pub delivery: Option<super::delivery::Delivery>,
    /// Its instruments under `--sensors basic` (None: the precise profile).
    pub sensors: Option<super::sensors::BasicSensors>,
    rng: SmallRng,
    dt_s: f64,
    /// Integration substeps of one interval ([`substeps`] of `dt_s`).
    substeps: usize,
    // Voyage.
    track: &'static Track,
    km: f64,
    speed_kmh: f64,
    segment: usize,
    /// Hours until the ship sails from the port of loading (≤ 0: under way or arrived).
    depart_in_h: f64,
    // Unit.
    heat_leak: f64,
    capacity: f64,
    compressor_kw: f64,
    load_capacity: f64,
    respiration_w: f64,
    modem_battery: bool,
    // State.
    t_air: f64,
    t_load: f64,
    atmos: Atmosphere,
    humidity: f64,
    weather: f64,
    compressor_on: bool,
    last_switch_ms: i64,
    defrost_run_s: f64,
    defrost_every_s: f64,
    defrost_start_ms: i64,
    defrost_end_ms: i64,
    last_reported: f64,
    last_o2: f64,
    last_co2: f64,
    gps_gap: u32,
    /// A power cut went unreported: the next reading is the first after it.
    outage_unreported: bool,
    alpha_humidity: f64,
    alpha_humidity_door: f64,
    // Faults.
    rates_per_ms: [f64; 7],
    next_onset_ms: [i64; 7],
    /// The earliest of `next_onset_ms`: most steps have no onset due and
    /// skip the loop over the kinds.
    next_onset_any_ms: i64,
    episode: Option<Episode>,
    scripted: Vec<Scripted>,
}

#[inline(always)]
fn normal(rng: &mut SmallRng) -> f64 {
    super::normal::standard_normal(rng)
}

fn exp_wait_ms(rng: &mut SmallRng, rate_per_ms: f64) -> i64 {
    if rate_per_ms <= 0.0 {
        return i64::MAX / 4;
    }
    let u: f64 = rng.gen_range(f64::EPSILON..1.0);
    (-u.ln() / rate_per_ms).min((i64::MAX / 4) as f64) as i64
}

/// Substeps of the thermal integration over `dt` seconds: `ceil(dt / 20 s)`,
/// at least one, in integer arithmetic (`f64::ceil` is a libm call on
/// baseline x86-64, and this runs for every reading).
fn substeps(dt: f64) -> usize {
    let x = dt / MAX_SUBSTEP_S;
    let whole = x as usize;
    let ceil = if (whole as f64) < x { whole + 1 } else { whole };
    ceil.max(1)
}

/// Time a tripping compressor has run between `from_ms` and `to_ms` of its
/// fault's age, ms: it runs the first `TRIP_RUN_MS` of every `TRIP_CYCLE_MS`.
fn trip_run_ms(from_ms: i64, to_ms: i64) -> i64 {
    let ran = |age: i64| {
        let age = age.max(0);
        age / TRIP_CYCLE_MS * TRIP_RUN_MS + (age % TRIP_CYCLE_MS).min(TRIP_RUN_MS)
    };
    ran(to_ms) - ran(from_ms)
}

/// Saturation vapour pressure over water, hPa (Magnus formula).
fn vapour_pressure(t: f64) -> f64 {
    6.112 * (17.62 * t / (243.12 + t)).exp()
}

/// 1/15!, 1/13!, …, 1/3!: the sine's Taylor coefficients after its first term.
const SIN_TAYLOR: [f64; 7] = [
    1.0 / 1_307_674_368_000.0,
    1.0 / 6_227_020_800.0,
    1.0 / 39_916_800.0,
    1.0 / 362_880.0,
    1.0 / 5_040.0,
    1.0 / 120.0,
    1.0 / 6.0,
];
/// 1/16!, 1/14!, …, 1/2!: the cosine's after its first term.
const COS_TAYLOR: [f64; 8] = [
    1.0 / 20_922_789_888_000.0,
    1.0 / 87_178_291_200.0,
    1.0 / 479_001_600.0,
    1.0 / 3_628_800.0,
    1.0 / 40_320.0,
    1.0 / 720.0,
    1.0 / 24.0,
    0.5,
];

/// `sin(2π·turns)` without libm's call (a reading's ambient needs one, and
/// libm's `sin` was 4 % of the simulator's instructions): the turn is cut to
/// an eighth around a quarter turn, then Taylor series to the 15th/16th power,
/// whose first left-out term is under 5·10⁻¹⁷ there. Within 4·10⁻¹⁵ of
/// `f64::sin` of the same angle (a test checks), far below the 0.1 °C the ambient is written to.
#[inline]
fn sin_turns(turns: f64) -> f64 {
    // Adding and taking away 1.5·2^52 rounds to a whole number of quarter
    // turns (to even at a tie) in two additions, where `round` is a call.
    const ROUND: f64 = 6_755_399_441_055_744.0;
    let quarters = (4.0 * turns + ROUND) - ROUND;
    let y = std::f64::consts::TAU * (turns - quarters / 4.0);
    let q = quarters as i64;
    let y2 = y * y;
    // Horner in -y², highest power first: sin y = y·(1 − y²/3! + …),
    // cos y = 1 − y²·(1/2! − y²/4! + …).
    let series = |coefficients: &[f64]| {
        coefficients
            .iter()
            .skip(1)
            .fold(coefficients[0], |p, &c| p * -y2 + c)
    };
    let sin = || y - y * y2 * series(&SIN_TAYLOR);
    let cos = || 1.0 - y2 * series(&COS_TAYLOR);
    match q & 3 {
        0 => sin(),
        1 => cos(),
        2 => -sin(),
        _ => -cos(),
    }
}

/// Ambient air temperature at sea: warmer near the equator, seasonal by
/// hemisphere, a daily cycle peaking mid-afternoon local time, plus weather.
pub fn ambient_temperature(lat: f64, lon: f64, clock: &Clock, weather: f64) -> f64 {
    let abs_lat = lat.abs();
    let annual_mean = 28.0 - 0.45 * (abs_lat - 12.0).max(0.0);
    let amplitude = 0.12 * abs_lat;
    let seasonal = if lat >= 0.0 { -amplitude } else { amplitude } * clock.season_cos;
    let solar_hour = clock.utc_hour + lon / 15.0;
    let daily = 2.5 * sin_turns((solar_hour - 9.0) / 24.0);
    annual_mean + seasonal + daily + weather
}

pub struct ContainerSetup<'a> {
    pub id: String,
    pub product: &'static ProductModel,
    pub track: &'static Track,
    pub rng: SmallRng,
    pub start: &'a Clock,
    pub interval_s: f64,
    /// Episodes per container per day, per fault kind (door_open: per day in port).
    pub rates: [f64; 7],
    pub scripted: Vec<Scripted>,
    /// Share of the fleet whose modem reports on its own battery during a power cut.
    pub modem_battery_share: f64,
}

/// Hours a box waits in port: at the port of loading before the ship sails
/// (up to this long), and at the port of discharge after it arrives.
const ORIGIN_DWELL_MAX_H: f64 = 48.0;
const DESTINATION_DWELL_H: f64 = 48.0;

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
            modem_battery_share,
        } = setup;
        let spread = |rng: &mut SmallRng, x: f64| x * rng.gen_range(0.9..1.1);
        let knots = rng.gen_range(15.0..21.0);
        let speed_kmh = knots * 1.852;
        // Somewhere in the box's trip: waiting to sail, at sea, or arrived.
        let origin_dwell_h = rng.gen_range(6.0..ORIGIN_DWELL_MAX_H);
        let sail_h = track.length_km() / speed_kmh;
        let trip_h = rng.gen_range(0.0..origin_dwell_h + sail_h + DESTINATION_DWELL_H);
        let (km, depart_in_h) = if trip_h < origin_dwell_h {
            (0.0, origin_dwell_h - trip_h)
        } else {
            (
                ((trip_h - origin_dwell_h) * speed_kmh).min(track.length_km()),
                0.0,
            )
        };
        let rates_per_ms = rates.map(|r| r / 86_400_000.0);
        let mut next_onset_ms = [0i64; 7];
        for (next, rate) in next_onset_ms.iter_mut().zip(rates_per_ms) {
            *next = start.t_ms.saturating_add(exp_wait_ms(&mut rng, rate));
        }
        let defrost_every_s = product.defrost_every_h * 3600.0 * rng.gen_range(0.9..1.1);
        let atmos = Atmosphere::new(product, interval_s, &mut rng);
        let alpha = |tau_s: f64| 1.0 - (-interval_s / tau_s).exp();
        let mut c = Container {
            id,
            product,
            delivery: None,
            sensors: None,
            dt_s: interval_s,
            substeps: substeps(interval_s),
            track,
            km,
            speed_kmh,
            segment: 0,
            depart_in_h,
            heat_leak: spread(&mut rng, product.heat_leak_w_per_k),
            capacity: spread(&mut rng, product.capacity_w),
            compressor_kw: spread(&mut rng, product.compressor_kw),
            load_capacity: spread(&mut rng, product.load_heat_capacity()),
            respiration_w: spread(&mut rng, product.respiration_w()),
            modem_battery: rng.gen::<f64>() < modem_battery_share,
            t_air: product.setpoint,
            t_load: product.setpoint,
            last_o2: atmos.o2,
            last_co2: atmos.co2,
            atmos,
            humidity: product.humidity,
            weather: 0.0,
            compressor_on: false,
            last_switch_ms: i64::MIN / 2,
            defrost_run_s: rng.gen_range(0.0..defrost_every_s),
            defrost_every_s,
            defrost_start_ms: i64::MIN / 2,
            defrost_end_ms: i64::MIN / 2,
            last_reported: product.setpoint,
            gps_gap: 0,
            outage_unreported: false,
            alpha_humidity: alpha(1800.0),
            alpha_humidity_door: alpha(300.0),
            rates_per_ms,
            next_onset_ms,
            next_onset_any_ms: next_onset_ms.iter().copied().min().unwrap_or(i64::MAX),
            episode: None,
            scripted,
            rng,
        };
        c.weather = 2.0 * normal(&mut c.rng);
        c.settle_load(trip_h.min(origin_dwell_h + sail_h), start);
        c
    }

    /// Puts the load where `hours` since stuffing left it: most cargo is
    /// precooled close to its setpoint; some fruit is loaded warm and takes
    /// days to come down (Defraeye et al. 2015). Then an hour of the unit's
    /// control settles the air and the controller.
    fn settle_load(&mut self, hours: f64, start: &Clock) {
        let p = self.product;
        let warm_loaded =
            !p.frozen() && p.respiration_w_per_t > 0.0 && self.rng.gen::<f64>() < 0.15;
        let offset0 = if warm_loaded {
            self.rng.gen_range(3.0..8.0)
        } else {
            self.rng.gen_range(0.0..1.0)
        };
        let coupling = self.coupling(true, false);
        let tau_h = self.load_capacity / coupling / 3600.0;
        // Respiration keeps the load a little above the air that cools it.
        self.t_load = p.setpoint + offset0 * (-hours / tau_h).exp() + self.respiration_w / coupling;
        self.t_air = self.t_load;
        let (lat, lon) = self.track.position(self.km, &mut self.segment);
        let ambient = ambient_temperature(lat, lon, start, self.weather);
        let drive = Drive {
            powered: true,
            door: false,
            defrost: false,
            fan_failed: false,
            compressor: Compressor::Healthy,
            fault_age_ms: 0,
        };
        for i in 0..60 {
            self.integrate(60.0, start.t_ms - (60 - i) * 60_000, ambient, &drive);
        }
    }

    fn setpoint(&self) -> f64 {
        self.product.setpoint
    }

    fn in_port(&self) -> bool {
        self.depart_in_h > 0.0 || self.km >= self.track.length_km()
    }

    /// Air moved through the cargo, W/K.
    fn airflow(&self, fans: bool, fan_failed: bool) -> f64 {
        if !fans {
            return 0.0;
        }
        let base = if self.product.frozen() {
            AIRFLOW_LOW
        } else {
            AIRFLOW_HIGH
        };
        if fan_failed {
            base * 2.0 / 3.0
        } else {
            base
        }
    }

    /// Heat exchange between the air and the load, W/K.
    fn coupling(&self, fans: bool, fan_failed: bool) -> f64 {
        if !fans {
            return NATURAL_COUPLING;
        }
        let e = if self.product.frozen() {
            LOAD_EFFECTIVENESS_FROZEN
        } else {
            LOAD_EFFECTIVENESS_CHILLED
        };
        e * self.airflow(true, fan_failed)
    }

    /// Capacity falls as the ambient (condensing temperature) rises, W.
    fn capacity_at(&self, ambient: f64, fan_failed: bool) -> f64 {
        let c = self.capacity * (1.0 - 0.015 * (ambient - 30.0)).clamp(0.6, 1.3);
        if fan_failed {
            0.8 * c
        } else {
            c
        }
    }

    /// The controller: how much heat it asks the unit to remove (W, negative
    /// heats). Chilled: supply-air control, i.e. whatever brings supply air to
    /// the setpoint, heaters when it must warm (Container Handbook §7.2.7.2).
    /// Frozen: the compressor on above setpoint + 0.2 K and off below − 0.2 K
    /// of return air, with minimum on and off times (§7.2.7.1).
    fn control(&mut self, t_ms: i64, airflow: f64, capacity: f64, fan_heat: f64) -> f64 {
        let sp = self.setpoint();
        if self.product.frozen() {
            let since = t_ms - self.last_switch_ms;
            if !self.compressor_on && self.t_air > sp + FROZEN_HYSTERESIS && since >= MIN_OFF_MS {
                self.compressor_on = true;
                self.last_switch_ms = t_ms;
            } else if self.compressor_on
                && self.t_air < sp - FROZEN_HYSTERESIS
                && since >= MIN_ON_MS
            {
                self.compressor_on = false;
                self.last_switch_ms = t_ms;
            }
            if self.compressor_on {
                capacity
            } else {
                0.0
            }
        } else {
            airflow * (self.t_air - sp) + fan_heat
        }
    }

    /// Evaporator fans' draw, kW: high speed for chilled cargo, low for frozen.
    fn fan_kw(&self, fan_failed: bool) -> f64 {
        let kw = if self.product.frozen() {
            FAN_KW_LOW
        } else {
            FAN_KW_HIGH
        };
        if fan_failed {
            kw * 2.0 / 3.0
        } else {
            kw
        }
    }

    /// Advances the box by `dt` seconds ending at `t_ms`; returns what the unit did.
    ///
    /// Two thermal nodes: the air (what the return-air sensor reads: the walls,
    /// an open door and the unit act on it) and the load (most of the heat
    /// capacity, warmed by respiration). The unit cools the air it blows
    /// (supply = return − q / airflow); the load exchanges heat with that air.
    fn integrate(&mut self, dt: f64, t_ms: i64, ambient: f64, d: &Drive) -> Effort {
        // A reading's interval always gives the same count, worked out once.
        let substeps = if dt == self.dt_s {
            self.substeps
        } else {
            substeps(dt)
        };
        let h = dt / substeps as f64;
        let fans = d.powered && !d.defrost;
        let airflow = self.airflow(fans, d.fan_failed);
        let coupling = self.coupling(fans, d.fan_failed);
        let capacity = self.capacity_at(ambient, d.fan_failed);
        // The evaporator fans' motors heat the air they move; the coil takes
        // that heat out again before the supply-air sensor.
        let fan_heat = if fans {
            1000.0 * self.fan_kw(d.fan_failed)
        } else {
            0.0
        };
        let mut effort = Effort {
            capacity,
            ..Effort::default()
        };
        let mut ran = 0.0;
        for i in 0..substeps {
            let now = t_ms - ((substeps - 1 - i) as f64 * h * 1000.0) as i64;
            let asked = if fans {
                self.control(now, airflow, capacity, fan_heat)
            } else {
                0.0
            };
            // A tripping compressor runs part of the substep, and a short
            // run cools at a fraction of the capacity (TRIP_RUN_EFFECTIVENESS).
            let run_share = if d.compressor == Compressor::Tripping && fans && asked > 0.0 {
                let h_ms = ((h * 1000.0) as i64).max(1);
                let age = d.fault_age_ms - (t_ms - now);
                trip_run_ms(age - h_ms, age) as f64 / h_ms as f64
            } else {
                0.0
            };
            ran += run_share * h;
            let q = match d.compressor {
                _ if !fans => 0.0,
                Compressor::Healthy => asked.clamp(-HEATER_W, capacity),
                Compressor::Dead | Compressor::NoPump => asked.clamp(-HEATER_W, 0.0),
                Compressor::Tripping if asked > 0.0 => {
                    asked.min(capacity) * run_share * TRIP_RUN_EFFECTIVENESS
                }
                Compressor::Tripping => asked.max(-HEATER_W),
            };
            let supply = if fans {
                self.t_air - (q - fan_heat) / airflow
            } else {
                self.t_air
            };
            let to_load = if fans {
                coupling * (self.t_load - supply)
            } else {
                coupling * (self.t_load - self.t_air)
            };
            let mut leak = self.heat_leak * (ambient - self.t_air);
            if d.door {
                leak += DOOR_EXCHANGE * (ambient - self.t_air);
            }
            let heater = if d.defrost { DEFROST_HEAT_TO_AIR } else { 0.0 };
            let to_air = to_load + leak + heater + fan_heat - q;
            self.t_air +=
                to_air / AIR_HEAT_CAPACITY * h + PROCESS_NOISE * h.sqrt() * normal(&mut self.rng);
            self.t_load += (self.respiration_w - to_load) / self.load_capacity * h;
            effort.q = q;
            effort.asked = asked;
            effort.supply = supply;
            effort.compressor_on = match d.compressor {
                Compressor::Healthy => q > 0.0,
                Compressor::Dead => false,
                Compressor::NoPump => asked > 0.0,
                Compressor::Tripping => ran > 0.0 && asked > 0.0,
            };
        }
        effort.run_share = match d.compressor {
            Compressor::Tripping => ran / dt,
            _ => 1.0,
        };
        effort
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
            // The end of an episode is its repair (or the power coming back,
            // the door shut): nothing heals by itself in between.
            self.episode = None;
        }
        if t_ms < self.next_onset_any_ms {
            return self.episode;
        }
        let in_port = self.in_port();
        for k in FaultKind::ALL {
            let i = k as usize;
            while self.next_onset_ms[i] <= t_ms {
                let onset = self.next_onset_ms[i];
                self.next_onset_ms[i] =
                    onset.saturating_add(exp_wait_ms(&mut self.rng, self.rates_per_ms[i]));
                // Doors open at port calls (stuffing, inspection, discharge), not at sea.
                let possible = k != FaultKind::DoorOpen || in_port;
                if possible && self.episode.is_none() && scripted.is_none() {
                    let (lo, hi) = k.duration_range_s();
                    let secs = (lo.ln() + self.rng.gen::<f64>() * (hi / lo).ln()).exp();
                    let e = self.begin(k, t_ms, t_ms + (secs * 1000.0) as i64);
                    self.episode = Some(e);
                }
            }
        }
        self.next_onset_any_ms = self.next_onset_ms.iter().copied().min().unwrap_or(i64::MAX);
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
        let mut sign = if self.rng.gen::<bool>() { 1.0 } else { -1.0 };
        let mut variant = variant;
        // A gas cell that reports 0.0 % (a basic cell biased low near air)
        // would report what it reports healthy if it stuck there, and one
        // within a display step of 0 % if it drifted down: readings stop at
        // 0 %, where such a cell sits anyway. Nothing in the data could reveal
        // those faults, so the cell drifts up instead: every labelled fault
        // changes what the unit reports.
        let step = if self.sensors.is_some() { 0.1 } else { 0.01 };
        let gas = matches!(kind, FaultKind::O2Sensor | FaultKind::Co2Sensor);
        let hidden =
            (variant == 0 && stuck <= 0.0) || (variant == 1 && sign < 0.0 && stuck <= step + 1e-9);
        if gas && hidden {
            variant = 1;
            sign = 1.0;
        }
        let drift_per_h = sign
            * match kind {
                // Drifts a CA box's own saw-tooth (respiration, 0.2–0.25 %/h)
                // could not hide: see the gas rules' thresholds.
                FaultKind::O2Sensor => self.rng.gen_range(0.8..2.5),
                _ => self.rng.gen_range(0.6..1.5),
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

    /// Voyage: the ship waits in the port of loading, sails, and waits at the
    /// port of discharge. Returns the position and the ambient temperature.
    fn sail(&mut self, clock: &Clock) -> (f64, f64, f64) {
        let dt = self.dt_s;
        let (lat, lon) = self.track.position(self.km, &mut self.segment);
        if self.depart_in_h > 0.0 {
            self.depart_in_h -= dt / 3600.0;
        } else {
            self.km = (self.km + self.speed_kmh * dt / 3600.0).min(self.track.length_km());
        }
        self.weather += -self.weather * dt / 43_200.0 + 0.0136 * dt.sqrt() * normal(&mut self.rng);
        (lat, lon, ambient_temperature(lat, lon, clock, self.weather))
    }

    /// Defrost by coil condition: the timer counts compressor running time
    /// while the coil (supply air) is below +10 °C; a defrost then runs until
    /// the coil is clear (10–25 min chilled, 20–40 min frozen; model values).
    fn defrost_due(&mut self, clock: &Clock, fault: Option<FaultKind>) -> bool {
        let can_defrost = !matches!(
            fault,
            Some(FaultKind::PowerOff | FaultKind::CompressorFailure | FaultKind::DoorOpen)
        );
        if clock.t_ms < self.defrost_end_ms {
            if !can_defrost {
                // Interrupted (the door opened, the power went): it does not resume.
                self.defrost_end_ms = clock.t_ms;
            }
            return can_defrost;
        }
        if can_defrost && self.defrost_run_s >= self.defrost_every_s {
            let minutes = if self.product.frozen() {
                self.rng.gen_range(20.0..40.0)
            } else {
                self.rng.gen_range(10.0..25.0)
            };
            self.defrost_start_ms = clock.t_ms;
            self.defrost_end_ms = clock.t_ms + (minutes * 60_000.0) as i64;
            self.defrost_run_s = 0.0;
            return true;
        }
        false
    }

    /// Produces this container's reading at `clock`, advancing its state by one interval.
    pub fn step(&mut self, clock: &Clock) -> Sample {
        let dt = self.dt_s;
        let episode = self.fault_at(clock.t_ms);
        let fault = episode.map(|e| e.kind);
        let (lat, lon, ambient) = self.sail(clock);
        let defrost = self.defrost_due(clock, fault);
        let powered = fault != Some(FaultKind::PowerOff);
        let door = fault == Some(FaultKind::DoorOpen);
        let compressor = match (fault, episode.map(|e| e.variant)) {
            (Some(FaultKind::CompressorFailure), Some(0)) => Compressor::Dead,
            (Some(FaultKind::CompressorFailure), Some(1)) => Compressor::NoPump,
            (Some(FaultKind::CompressorFailure), _) => Compressor::Tripping,
            _ => Compressor::Healthy,
        };
        let drive = Drive {
            powered,
            door,
            defrost,
            fan_failed: fault == Some(FaultKind::FanFailure),
            compressor,
            fault_age_ms: episode.map_or(0, |e| clock.t_ms - e.start_ms),
        };
        let effort = self.integrate(dt, clock.t_ms, ambient, &drive);
        let supply_true = if powered && !defrost {
            effort.supply
        } else {
            self.t_air
        };
        if effort.compressor_on && supply_true < DEFROST_COIL_BELOW {
            self.defrost_run_s += dt;
        }
        self.atmos.step(
            self.product,
            if door {
                Regime::DoorOpen
            } else if powered {
                Regime::Controlled
            } else {
                Regime::Unpowered
            },
            &mut self.rng,
        );
        self.update_humidity(door, ambient);
        let mut sample = self.read(clock, episode, &drive, &effort, supply_true, ambient);
        sample.position = self.gps(lat, lon);
        sample
    }

    /// Humidity: the product's own level in a closed box; an open door lets in
    /// outside air, which a cold box makes wetter (warm humid air) or a warm one drier.
    fn update_humidity(&mut self, door: bool, ambient: f64) {
        let (target, alpha) = if door {
            let rh = OUTSIDE_RH * vapour_pressure(ambient) / vapour_pressure(self.t_air);
            (rh.clamp(20.0, 100.0), self.alpha_humidity_door)
        } else {
            (self.product.humidity, self.alpha_humidity)
        };
        let ou = alpha * (2.0 - alpha);
        self.humidity += (target - self.humidity) * alpha + ou.sqrt() * normal(&mut self.rng);
        self.humidity = self.humidity.clamp(5.0, 100.0);
    }

    /// What the unit reports: its mode and draw, and the box as its sensors see it.
    fn read(
        &mut self,
        clock: &Clock,
        episode: Option<Episode>,
        d: &Drive,
        effort: &Effort,
        supply_true: f64,
        ambient: f64,
    ) -> Sample {
        let fault = episode.map(|e| e.kind);
        let fans_on = d.powered && !d.defrost;
        let fans = [fans_on && !d.fan_failed, fans_on, fans_on];
        let frozen = self.product.frozen();
        let mode = self.mode(d, effort);
        let kw = if !d.powered {
            0.0
        } else {
            let fan_kw = if fans_on {
                self.fan_kw(d.fan_failed)
            } else {
                0.0
            };
            let lift = (1.0 + 0.012 * (ambient - 30.0)).clamp(0.7, 1.3);
            let duty = (effort.q / effort.capacity).clamp(0.0, 1.0);
            let compressor = match d.compressor {
                _ if !effort.compressor_on => 0.0,
                // A compressor spinning without compressing draws little.
                Compressor::NoPump => 0.15 * self.compressor_kw * lift,
                // Drawing more than a healthy one while it runs against a
                // rising head pressure; the meter sees the share it ran.
                Compressor::Tripping => 1.1 * self.compressor_kw * lift * effort.run_share,
                // Frozen: on/off at full load. Chilled: runs continuously,
                // throttled by the suction modulation valve, so its draw
                // falls far less than its duty.
                _ if frozen => self.compressor_kw * lift,
                _ => self.compressor_kw * (0.45 + 0.55 * duty) * lift,
            };
            let heater = if d.defrost {
                if frozen {
                    DEFROST_KW_FROZEN
                } else {
                    DEFROST_KW_CHILLED
                }
            } else {
                (-effort.q).max(0.0) / 1000.0
            };
            let kw = (CONTROLLER_KW + fan_kw + compressor + heater + 0.03 * normal(&mut self.rng))
                .clamp(0.0, 15.0);
            match self.sensors.as_mut() {
                Some(b) => b.kilowatts(kw),
                None => kw,
            }
        };

        let supply = if d.defrost {
            self.t_air + 8.0 + 2.0 * self.rng.gen::<f64>()
        } else {
            supply_true
        } + 0.05 * normal(&mut self.rng);
        // Warm air rising from the heaters reaches the return-air sensor
        // (Container Handbook §7.2.7.3: it reads high during a defrost).
        let defrost_bias = if d.defrost {
            1.5 * ((clock.t_ms - self.defrost_start_ms) as f64 / 300_000.0).min(1.0)
        } else {
            0.0
        };
        let mut true_temp = self.t_air + defrost_bias + 0.05 * normal(&mut self.rng);
        if let Some(b) = self.sensors.as_mut() {
            true_temp = b.temperature(true_temp);
        }
        let temperature = match episode {
            Some(e) if e.kind == FaultKind::TemperatureSensor => match e.variant {
                0 => e.stuck,
                1 => -99.9,
                _ => 127.0,
            },
            _ => true_temp,
        };
        let (o2, co2) = self.gas_readings(clock, episode);
        if fault != Some(FaultKind::TemperatureSensor) {
            self.last_reported = temperature;
        }
        if fault != Some(FaultKind::O2Sensor) {
            self.last_o2 = o2;
        }
        if fault != Some(FaultKind::Co2Sensor) {
            self.last_co2 = co2;
        }
        // No power and no modem battery: nothing is sent. The first reading
        // after the power returns carries the label, since the outage itself
        // left no reading to carry it.
        let reported = d.powered || self.modem_battery;
        let label = if !reported {
            self.outage_unreported = true;
            fault
        } else if std::mem::take(&mut self.outage_unreported) && fault.is_none() {
            Some(FaultKind::PowerOff)
        } else {
            fault
        };
        Sample {
            reported,
            temperature,
            target: self.setpoint(),
            supply,
            ambient,
            kilowatts: kw,
            o2,
            co2,
            // Nitrogen by difference from the gases the unit reports (argon 0.93 %).
            n2: (100.0 - o2 - co2 - 0.93).max(0.0),
            humidity: self.humidity,
            fans,
            defrost: d.defrost,
            door_open: d.door,
            mode,
            position: None,
            fault: label,
        }
    }

    fn mode(&self, d: &Drive, e: &Effort) -> Mode {
        if !d.powered {
            return Mode::Off;
        }
        if d.defrost {
            return Mode::Defrost;
        }
        if d.compressor != Compressor::Healthy && e.asked > 0.0 {
            // The controller calls for cooling it does not get.
            return Mode::FullCool;
        }
        if self.product.frozen() {
            return if e.q > 0.0 {
                Mode::FullCool
            } else {
                Mode::FansOnly
            };
        }
        if e.q > 0.95 * e.capacity {
            Mode::FullCool
        } else if e.q > 0.02 * e.capacity {
            Mode::ModulatedCool
        } else if e.q < -0.02 * HEATER_W {
            Mode::Heat
        } else {
            Mode::FansOnly
        }
    }

    /// The gas sensors: a stuck one repeats one value; a drifting one still
    /// sees the gas, with a growing offset and its usual noise; a noisy one
    /// scatters around it. Values are rounded to the 0.01 % the unit reports
    /// (0.1 % for a basic unit),
    /// so that nitrogen by difference adds up for every reading alike.
    fn gas_readings(&mut self, clock: &Clock, episode: Option<Episode>) -> (f64, f64) {
        let hours_in = |e: &Episode| (clock.t_ms - e.start_ms) as f64 / 3_600_000.0;
        let mut o2_true = self.atmos.o2 + 0.02 * normal(&mut self.rng);
        if let Some(b) = self.sensors.as_mut() {
            o2_true = b.o2(o2_true);
        }
        let o2 = match episode {
            Some(e) if e.kind == FaultKind::O2Sensor => match e.variant {
                0 => e.stuck,
                1 => (o2_true + e.drift_per_h * hours_in(&e)).clamp(0.0, 25.0),
                _ => (o2_true + 1.5 * normal(&mut self.rng)).clamp(0.0, 25.0),
            },
            _ => o2_true,
        };
        let mut co2_true =
            (self.atmos.co2 + (0.004 + 0.004 * self.atmos.co2) * normal(&mut self.rng)).max(0.0);
        if let Some(b) = self.sensors.as_mut() {
            co2_true = b.co2(co2_true);
        }
        let co2 = match episode {
            Some(e) if e.kind == FaultKind::Co2Sensor => match e.variant {
                0 => e.stuck,
                1 => (co2_true + e.drift_per_h * hours_in(&e)).clamp(0.0, 25.0),
                _ => (co2_true + 0.8 * normal(&mut self.rng)).clamp(0.0, 25.0),
            },
            _ => co2_true,
        };
        // A basic unit reports tenths (the fault forms included: a drift in
        // hundredths would give the faulty channel away).
        let scale = if self.sensors.is_some() { 10.0 } else { 100.0 };
        let round = |x: f64| round_f64(x * scale) / scale;
        (round(o2), round(co2))
    }

    /// GPS: an occasional lost fix below deck.
    fn gps(&mut self, lat: f64, lon: f64) -> Option<(f64, f64)> {
        if self.gps_gap > 0 {
            self.gps_gap -= 1;
        } else if self.rng.gen::<f64>() < 0.0005 {
            self.gps_gap = self.rng.gen_range(1..6);
        }
        if self.gps_gap > 0 {
            None
        } else {
            Some((
                lat + 0.000_3 * normal(&mut self.rng),
                lon + 0.000_3 * normal(&mut self.rng),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substeps_are_the_ceiling_of_the_interval_over_20_seconds() {
        for dt in [
            0.001, 1.0, 10.0, 19.999, 20.0, 20.001, 60.0, 300.0, 86_400.0, 1e9,
        ] {
            let expected = (dt / MAX_SUBSTEP_S).ceil().max(1.0) as usize;
            assert_eq!(substeps(dt), expected, "{dt} s");
        }
    }

    /// A frozen-fish box (P06) on an Asia–Europe track, settled at its setpoint.
    fn frozen_box(interval_s: f64, seed: u64) -> Container {
        use rand::SeedableRng;
        let track: &'static Track =
            Box::leak(Box::new(Track::new(&super::super::fleet::ROUTES[3])));
        let product = PRODUCT_MODELS.iter().find(|p| p.id == "P06").unwrap();
        Container::new(ContainerSetup {
            id: "MSKU1234565".into(),
            product,
            track,
            rng: SmallRng::seed_from_u64(seed),
            start: &Clock::new(0, 330.0, 0.0),
            interval_s,
            rates: [0.0; 7],
            scripted: Vec::new(),
            modem_battery_share: 0.0,
        })
    }

    /// Runs `hours` of a compressor failure in form `variant` (None: healthy)
    /// from t = 0; returns (heat the box gained, heat that leaked in through
    /// its walls), J.
    fn run_compressor_fault(variant: Option<u8>, interval_s: f64, hours: f64) -> (f64, f64) {
        let mut c = frozen_box(interval_s, 11);
        let end_ms = (hours * 3_600_000.0) as i64;
        if let Some(v) = variant {
            c.scripted = vec![Scripted {
                kind: FaultKind::CompressorFailure,
                start_ms: 0,
                end_ms,
            }];
            let mut e = c.begin(FaultKind::CompressorFailure, 0, end_ms);
            e.variant = v;
            c.episode = Some(e);
        }
        let (air0, load0) = (c.t_air, c.t_load);
        let mut leaked = 0.0;
        let step_ms = (interval_s * 1000.0) as i64;
        let mut t_ms = 0;
        while t_ms < end_ms {
            let clock = Clock::new(t_ms, 330.0 + t_ms as f64 / 86_400_000.0, 0.0);
            let before = c.t_air;
            let sample = c.step(&clock);
            leaked += c.heat_leak * (sample.ambient - before) * interval_s;
            t_ms += step_ms;
        }
        let gained = (c.t_air - air0) * AIR_HEAT_CAPACITY + (c.t_load - load0) * c.load_capacity;
        (gained, leaked)
    }

    #[test]
    fn a_frozen_box_warms_with_every_form_of_compressor_failure_at_the_rate_of_its_heat_leak() {
        // Dead, not pumping, tripping; at 10 s and at 5 min (a 5-minute step
        // once sampled a tripping compressor always in its running minute).
        for interval_s in [10.0, 300.0] {
            let (healthy, _) = run_compressor_fault(None, interval_s, 4.0);
            for variant in 0..3 {
                let (gained, leaked) = run_compressor_fault(Some(variant), interval_s, 4.0);
                assert!(leaked > 0.0);
                assert!(
                    gained > 0.8 * leaked,
                    "form {variant} at {interval_s} s: gained {gained:.3e} J of {leaked:.3e} J leaked in"
                );
                assert!(
                    gained - healthy > 0.8 * leaked,
                    "form {variant} at {interval_s} s: no warmer than a healthy box"
                );
            }
        }
    }

    #[test]
    fn a_gas_cell_at_0_percent_gets_no_fault_that_would_read_like_its_healthy_self() {
        // (last reported CO2, basic unit): the forms seen over 400 onsets.
        let forms = |last: f64, basic: bool| {
            let mut c = frozen_box(300.0, 5);
            if basic {
                c.sensors = Some(super::super::sensors::BasicSensors::new(5));
            }
            let mut seen = std::collections::BTreeSet::new();
            for _ in 0..400 {
                c.last_co2 = last;
                let e = c.begin(FaultKind::Co2Sensor, 0, 3_600_000);
                let form = match e.variant {
                    0 => "stuck",
                    1 if e.drift_per_h < 0.0 => "down",
                    1 => "up",
                    _ => "noisy",
                };
                seen.insert(form);
            }
            seen.into_iter().collect::<Vec<_>>()
        };
        // Stuck at 0 % or drifting below it: readings the healthy cell gives.
        assert_eq!(forms(0.0, true), ["noisy", "up"]);
        assert_eq!(forms(0.1, true), ["noisy", "stuck", "up"]);
        assert_eq!(forms(0.1, false), ["down", "noisy", "stuck", "up"]);
        assert_eq!(forms(5.0, true), ["down", "noisy", "stuck", "up"]);
    }

    #[test]
    fn a_tripping_compressor_runs_the_first_minute_of_every_quarter_hour() {
        assert_eq!(trip_run_ms(0, 10_000), 10_000);
        assert_eq!(trip_run_ms(50_000, 70_000), 10_000);
        assert_eq!(trip_run_ms(60_000, 900_000), 0);
        assert_eq!(trip_run_ms(0, 300_000), 60_000);
        assert_eq!(trip_run_ms(600_000, 900_000), 0);
        assert_eq!(trip_run_ms(0, 3_600_000), 4 * 60_000);
        assert_eq!(trip_run_ms(-20_000, 0), 0);
    }

    #[test]
    fn the_daily_sine_is_libms_to_the_last_bits() {
        let mut worst = 0.0f64;
        for i in -200_000..=200_000 {
            // Solar hours from -12 to 48, the range lon/15 and the clock give.
            let hour = 18.0 + i as f64 * 0.000_15 + (i as f64 * 0.37).sin() * 1e-4;
            let turns = (hour - 9.0) / 24.0;
            let libm = (std::f64::consts::TAU * (hour - 9.0) / 24.0).sin();
            worst = worst.max((sin_turns(turns) - libm).abs());
        }
        for turns in [0.0, 0.125, 0.25, 0.375, 0.5, -0.25, 1.0, 1.75] {
            let libm = (std::f64::consts::TAU * turns).sin();
            worst = worst.max((sin_turns(turns) - libm).abs());
        }
        // libm is handed 2π·turns rounded to a double (an ulp of 10 is
        // 1.8e-15); the reduced turn here is exact, so the two differ by that.
        assert!(worst < 4e-15, "largest difference {worst:e}");
    }

    #[test]
    fn the_season_is_worked_out_once_per_step_as_before() {
        for day in [0.0, 19.5, 20.0, 100.25, 364.99] {
            let clock = Clock::new(0, day, 12.0);
            let phase = std::f64::consts::TAU * (day - 20.0) / 365.25;
            assert_eq!(clock.season_cos.to_bits(), phase.cos().to_bits());
        }
    }
}
