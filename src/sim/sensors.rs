//! Sensor profiles (`--sensors`): how well a unit measures and how much it
//! reports. `precise` is the simulator's own well-instrumented unit (every
//! field, 0.05 °C probe noise, 0.01 % gas readings, a 10 s interval). `basic`
//! is a fleet with cheaper instruments and a thinner telemetry record, so that
//! detectors are judged on more than one kind of fleet (issue 16): noisier
//! probes, each with its own calibration error, gas readings to 0.1 %, a kW
//! meter with a gain error, no supply-air, ambient, humidity or nitrogen
//! fields, and a reading every 5 minutes.
//!
//! The numbers (model values, in the range of common instrument specs):
//! - return-air probe: a per-unit bias drawn from N(0, 0.3 °C) and clipped to
//!   ±0.5 °C (the ±0.5 °C accuracy class of NTC probes in monitoring
//!   devices), plus N(0, 0.2 °C) noise per reading;
//! - O2 (an electrochemical cell): bias N(0, 0.3 %) clipped to ±0.5 %, noise
//!   N(0, 0.15 %), reported to 0.1 %;
//! - CO2 (NDIR): bias N(0, 0.1 %) clipped to ±0.2 %, noise N(0, 0.05 % + 2 % of
//!   the reading), reported to 0.1 %;
//! - kW meter: a gain error N(0, 3 %) clipped to ±5 %, noise N(0, 0.1 kW).
//!
//! The sensor errors come from their own random stream, so a `basic` fleet
//! has the same boxes, voyages and faults as the `precise` one at the same
//! seed and interval, and `precise` output is what it was before profiles.

use rand::rngs::SmallRng;
use rand::SeedableRng;

/// What the `--sensors` flag names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SensorProfile {
    /// Every field, fine resolution, low noise (10 s default interval).
    Precise,
    /// Noisier, biased sensors; no supply_air_temperature, ambient_temperature,
    /// humidity_level or nitrogen_level; 5 min default interval.
    Basic,
}

impl SensorProfile {
    /// The interval a fleet of this profile reports at unless `--interval` says otherwise.
    pub fn default_interval_ms(self) -> i64 {
        match self {
            SensorProfile::Precise => 10_000,
            SensorProfile::Basic => 300_000,
        }
    }

    /// Whether rows carry the optional fields a basic unit does not report.
    pub fn full_record(self) -> bool {
        self == SensorProfile::Precise
    }
}

const TEMP_BIAS_SD: f64 = 0.3;
const TEMP_BIAS_MAX: f64 = 0.5;
const TEMP_NOISE_SD: f64 = 0.2;
const O2_BIAS_SD: f64 = 0.3;
const O2_BIAS_MAX: f64 = 0.5;
const O2_NOISE_SD: f64 = 0.15;
const CO2_BIAS_SD: f64 = 0.1;
const CO2_BIAS_MAX: f64 = 0.2;
const CO2_NOISE_SD: f64 = 0.05;
const CO2_NOISE_SHARE: f64 = 0.02;
const KW_GAIN_SD: f64 = 0.03;
const KW_GAIN_MAX: f64 = 0.05;
const KW_NOISE_SD: f64 = 0.1;

/// One basic unit's instruments: their calibration errors, and the random
/// stream of their noise.
#[derive(Debug, Clone)]
pub struct BasicSensors {
    rng: SmallRng,
    temp_bias: f64,
    o2_bias: f64,
    co2_bias: f64,
    kw_gain: f64,
}

fn normal(rng: &mut SmallRng) -> f64 {
    super::normal::standard_normal(rng)
}

impl BasicSensors {
    /// The instruments of the unit whose own seed is `seed`.
    pub fn new(seed: u64) -> BasicSensors {
        // A stream apart from the unit's physics (odd constant: the golden ratio's bits).
        let mut rng = SmallRng::seed_from_u64(seed ^ 0x9E37_79B9_7F4A_7C15);
        let mut bias = |sd: f64, max: f64| (sd * normal(&mut rng)).clamp(-max, max);
        let temp_bias = bias(TEMP_BIAS_SD, TEMP_BIAS_MAX);
        let o2_bias = bias(O2_BIAS_SD, O2_BIAS_MAX);
        let co2_bias = bias(CO2_BIAS_SD, CO2_BIAS_MAX);
        let kw_gain = 1.0 + bias(KW_GAIN_SD, KW_GAIN_MAX);
        BasicSensors {
            rng,
            temp_bias,
            o2_bias,
            co2_bias,
            kw_gain,
        }
    }

    /// The return-air probe's reading of `t`, °C.
    pub fn temperature(&mut self, t: f64) -> f64 {
        t + self.temp_bias + TEMP_NOISE_SD * normal(&mut self.rng)
    }

    /// The O2 cell's reading of `o2`, %, before it is rounded to the 0.1 % it reports.
    pub fn o2(&mut self, o2: f64) -> f64 {
        (o2 + self.o2_bias + O2_NOISE_SD * normal(&mut self.rng)).clamp(0.0, 25.0)
    }

    /// The CO2 sensor's reading of `co2`, %, before it is rounded to 0.1 %.
    pub fn co2(&mut self, co2: f64) -> f64 {
        let sd = CO2_NOISE_SD + CO2_NOISE_SHARE * co2;
        (co2 + self.co2_bias + sd * normal(&mut self.rng)).clamp(0.0, 25.0)
    }

    /// The meter's reading of a draw of `kw` (0 stays 0: no power, no reading to err).
    pub fn kilowatts(&mut self, kw: f64) -> f64 {
        if kw <= 0.0 {
            return 0.0;
        }
        (kw * self.kw_gain + KW_NOISE_SD * normal(&mut self.rng)).clamp(0.0, 15.0)
    }

    /// The unit's calibration errors (for tests).
    #[cfg(test)]
    pub fn biases(&self) -> (f64, f64, f64, f64) {
        (self.temp_bias, self.o2_bias, self.co2_bias, self.kw_gain)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_unit_has_its_own_calibration_errors_within_their_bounds() {
        let mut seen = Vec::new();
        for seed in 0..200u64 {
            let s = BasicSensors::new(seed);
            let (t, o2, co2, gain) = s.biases();
            assert!(t.abs() <= TEMP_BIAS_MAX && o2.abs() <= O2_BIAS_MAX);
            assert!(co2.abs() <= CO2_BIAS_MAX && (gain - 1.0).abs() <= KW_GAIN_MAX + 1e-12);
            seen.push(t);
        }
        let spread = seen.iter().fold(0.0f64, |m, t| m.max(t.abs()));
        assert!(spread > 0.3, "biases barely vary: {spread}");
    }

    #[test]
    fn an_unpowered_meter_reads_zero_and_a_powered_one_scatters() {
        let mut s = BasicSensors::new(3);
        let readings: Vec<f64> = (0..1000).map(|_| s.kilowatts(4.0)).collect();
        assert!(readings.iter().all(|&kw| kw > 3.0 && kw < 5.0));
        assert!(readings.windows(2).any(|w| w[0] != w[1]));
        assert_eq!(s.kilowatts(0.0), 0.0);
    }
}
