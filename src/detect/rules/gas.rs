//! Shared logic of the two gas-sensor rules.
//!
//! - *Stuck*: a real gas channel carries measurement noise, so it repeats its
//!   displayed value only so often. The share of repeats is learnt per channel
//!   (near air, CO2 noise is smaller than the display step and repeats are
//!   common); a run of equal readings that a healthy channel would produce
//!   with odds below 2.88 × 10⁻⁶ per day of its readings (10⁻⁸ for one
//!   5-minute reading), lasting at least `stuck_for`, is a stuck sensor.
//! - *Drifting*: in a closed, powered box the vent or the CA controller holds
//!   the atmosphere, so its 10-minute means wander around a level but do not
//!   trend for long: a CA system lets respiration move O2 down and CO2 up
//!   slowly (0.2–0.25 %/h) inside its ± 0.5 % band and corrects them in
//!   bursts shorter than the trend window. A trend of at least `drift_per_h`
//!   (O2 0.5, CO2 0.35 %/h: above respiration) over 70 minutes (eight
//!   10-minute means, at most one step against it, no step carrying half of
//!   it, and no jump between readings inside it) is a drifting sensor. The
//!   thresholds sit below the slowest sensor drift worth reporting and above
//!   how fast a held atmosphere moves; a drift slower than threshold plus
//!   respiration (O2 0.75, CO2 0.6 %/h) can hide behind the saw-tooth for hours.
//! - *Noisy*: jumps between readings far larger than the box can change.
//! - *Above air* (O2): a 10-minute mean and latest reading above 22 %. Air
//!   holds 20.95 % and nothing in a box adds oxygen, so a channel reading
//!   more is off; this finds a drift upward in a vented box in 20–50 min,
//!   before its trend is long enough for the drift test.
//! - *Left its level in a vented box*: fresh-air exchange holds a vented
//!   box's atmosphere near air, and what moves it (respiration, a door, a
//!   wider vent) moves both gases; one channel leaving its own level while
//!   the other holds is the sensor, found in 25–40 min (see
//!   [`GasRule::vented`]).
//!
//! Doors and power cuts move the gases for real, and a CA box takes a few
//! hours to pull them back: the rules hold while and shortly after (stuck,
//! noisy) or for hours after (drift) they happen.

use super::{n, Ctx, Param, Verdict, MINUTE};
use crate::detect::engine::{GasHistory, GAS_BINS, GAS_BIN_MS};
use crate::detect::events::{evidence, Severity};
use crate::detect::history::{range_d2, LEVEL_SHIFT_WARM, LEVEL_WARM};
use serde_json::{Map, Value};

#[derive(Debug, Clone)]
pub struct GasRule {
    /// A stuck run must last this long, ms.
    pub stuck_for_ms: i64,
    /// ... and this many equal readings at least.
    pub stuck_readings: f64,
    /// A trend at least this steep is a drift, % per hour.
    pub drift_per_h: f64,
    /// A change between two readings larger than this is a jump, %.
    pub jump: f64,
    /// Jumps (of the last 10 changes) that make a noisy sensor.
    pub jumps: f64,
    /// Sign changes between those jumps.
    pub flips: f64,
    /// Hold this long after a door opening or a power cut, ms.
    pub settle_ms: i64,
    /// The drift test only looks at trends that began this long after one (a
    /// CA box pulls its gases back over a few hours: a recovery is a trend).
    pub drift_settle_ms: i64,
    /// The other gas channel's drift threshold, %/h: a drift is one channel
    /// trending while the other holds (under half its threshold); a real
    /// change of the atmosphere (a leak, a recovery) moves both.
    pub other_drift_per_h: f64,
    /// In a CA box, the other channel reading like air (O2 above, or CO2
    /// below, this) means outside air got in (a door without a door switch):
    /// the atmosphere is recovering, not holding, so hold.
    pub other_air_above: Option<f64>,
    pub other_air_below: Option<f64>,
    /// A channel whose 10-minute mean and latest reading lie above this
    /// reads more of the gas than any box can hold (O2: air has 20.95 %, and
    /// nothing in a reefer adds oxygen): the sensor is off, however slowly it
    /// got there. Infinite: no such limit.
    pub above: f64,
    /// A channel whose last three 10-minute means sit further than this (%)
    /// outside the envelope of its own learnt level (and than three of the
    /// level's spreads, plus three standard errors of their mean) has shifted.
    pub shift: f64,
    /// In a vented box (not a CA product, and the channel's level inside
    /// `vented_levels`), a channel whose last two 10-minute means lie outside
    /// its level's envelope, the latter and the latest reading by this much
    /// (%) or more (and three spreads, plus three standard errors), while the
    /// other gas holds its own level, has left it: see [`GasRule::vented`].
    /// Infinite: no such test.
    pub vent_shift: f64,
    /// The levels (%) at which the channel reads a vented box's air.
    pub vented_levels: (f64, f64),
}

/// On window rows, a noisy channel spreads (max − min) wider than this many
/// jumps in each of the last [`ROW_NOISY`] rows: a held atmosphere changes a
/// few tenths of a percent in minutes, a noisy sensor scatters by percents ...
pub const ROW_SPREAD: f64 = 2.0;
pub const ROW_NOISY: u64 = 3;
/// ... and wider than its peers' readings would spread: the mean range of
/// that many readings ([`range_d2`]) plus this many of their standard
/// deviations (a cheap cell's rows of six 10-second readings at CA levels
/// spread past the fixed limit now and then). Simulated, a row of six
/// normal readings spreads that wide 1.2 times in 1,000, of two 3.5, of
/// sixty 0.1: three rows in a row, a few times in 10⁹.
const ROW_PEER_SDS: f64 = 3.0;

/// Changes between readings the noisy test looks at: the last 10, or at
/// long intervals those of the last half hour (at least 5), so that a
/// 5-minute channel is judged on 30 minutes, not 50; the counts it needs
/// (`jumps`, `flips` of 10) shrink in proportion.
pub fn noisy_window(interval_ms: i64) -> u64 {
    if interval_ms <= 0 {
        return 10;
    }
    (30 * MINUTE / interval_ms).clamp(5, 10) as u64
}

/// A drift's fitted slope stands this many standard errors above its threshold.
const FIT_SES: f64 = 2.5;

/// A jump is this many of the peers' standard deviations at least.
const PEER_SIGMAS: f64 = 4.0;

/// The drift test looks only at trends that began this long after a
/// container's first reading, ms.
const FIRST_SETTLE_MS: i64 = 60 * MINUTE;

pub enum Finding {
    Above {
        mean: f64,
    },
    Stuck {
        run: u32,
        since: i64,
        needed: u32,
    },
    Drift {
        slope_per_h: f64,
        since: i64,
    },
    Noisy {
        large: u32,
        flips: u32,
    },
    Shift {
        base: f64,
        mean: f64,
        needed: f64,
        since: i64,
    },
    /// A vented box's channel left its level alone ([`GasRule::vented`]).
    Vented {
        base: f64,
        mean: f64,
        needed: f64,
        since: i64,
    },
}

/// The forms of a gas-sensor fault (bits of [`super::Verdict::Fault::form`]):
/// a form new to an open episode escalates it. Drifting, shifted and above
/// air are one form, the channel reading a wrong level: a drift that has
/// gone far is not a second anomaly.
pub const FORM_STUCK: u8 = 1;
pub const FORM_LEVEL: u8 = 2;
pub const FORM_NOISY: u8 = 4;

/// The names of the forms in `forms`, for evidence.
pub fn form_names(forms: u8) -> Vec<Value> {
    [
        (FORM_STUCK, "stuck"),
        (FORM_LEVEL, "level"),
        (FORM_NOISY, "noisy"),
    ]
    .iter()
    .filter(|(bit, _)| forms & bit != 0)
    .map(|(_, name)| Value::from(*name))
    .collect()
}

impl Finding {
    pub fn form(&self) -> u8 {
        match self {
            Finding::Stuck { .. } => FORM_STUCK,
            Finding::Noisy { .. } => FORM_NOISY,
            Finding::Above { .. }
            | Finding::Drift { .. }
            | Finding::Shift { .. }
            | Finding::Vented { .. } => FORM_LEVEL,
        }
    }
}

/// Whether an open episode that has shown `forms` makes its channel's level
/// a suspect that learns nothing ([`crate::detect::history::Level::suspect`]):
/// a stuck channel or one away from its level reads something else than the
/// gas, and learning it would drag the level along (a slow drift's episode
/// would then resolve while the sensor is still off); a noisy one still
/// scatters around the gas, and its means keep teaching the level how far
/// they wander (a later step must clear that to escalate).
pub fn suspect(forms: u8) -> bool {
    forms & !FORM_NOISY != 0
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// A drift must take the channel this many spreads away from its own level.
const DRIFT_LEVEL_SPREADS: f64 = 3.0;

/// A CA box's level is young until this many settled means (6 h) are learnt:
/// its controller holds each gas within ± 0.5 % of the set point, a saw-tooth
/// that respiration (0.2–0.35 %/h) takes 3–5 h to run across, so a younger
/// level may have seen only one end of the band (a basic box's O2 held at the
/// top after the inlet for an hour, then let down at 0.6 %/h, read as a drift).
const CA_YOUNG: u32 = 36;
/// ... and until then a drift must take the channel further from it than the
/// band is wide, %.
const CA_BAND_WIDTH: f64 = 1.0;

/// A channel out of its level by this many times what a step must be out
/// needs no step: a CA box's climb too jumpy for the drift test (a basic
/// cell's noise grows with its reading: CO2 5 → 15 % over 6 h) has left its
/// level all the same, and nothing in a held atmosphere goes that far while
/// the other gas holds (1, no step at all, changed nothing in the evaluation
/// sets; twice is the margin).
const FAR_SHIFTS: f64 = 2.0;

/// 10-minute means the shift test looks at (half an hour).
const SHIFT_BINS: usize = 3;
/// ... and the vented test (20 minutes).
const VENT_BINS: usize = 2;

/// Readings in one 10-minute bin of `g` (1 for rows: each is a mean already).
fn per_bin(g: &GasHistory, interval_ms: i64) -> f64 {
    if g.rows || interval_ms <= 0 {
        1.0
    } else {
        (GAS_BIN_MS / interval_ms).max(1) as f64
    }
}

/// Whether the other gas channel `o` knows its level and stayed inside it
/// from the bin before `g` left its own (at `left`) until `g`'s last bin.
fn held_level(o: &GasHistory, g: &GasHistory, left: i64) -> bool {
    o.level.known(LEVEL_SHIFT_WARM).is_some()
        && o.level.outside_t < left - GAS_BIN_MS
        && o.level.inside_t >= g.bins_since(1)
}

impl GasRule {
    pub fn new(jump: f64, drift_per_h: f64, other_drift_per_h: f64) -> GasRule {
        GasRule {
            stuck_for_ms: 10 * MINUTE,
            stuck_readings: 6.0,
            drift_per_h,
            jump,
            jumps: 6.0,
            flips: 3.0,
            settle_ms: 30 * MINUTE,
            drift_settle_ms: 180 * MINUTE,
            other_drift_per_h,
            other_air_above: None,
            other_air_below: None,
            above: f64::INFINITY,
            shift: 2.5 * jump,
            vent_shift: f64::INFINITY,
            vented_levels: (f64::INFINITY, f64::NEG_INFINITY),
        }
    }

    /// What is wrong with the channel `g` now, at time `t`; `other` is the
    /// other gas channel, if the readings have it; a trend must begin at
    /// `drift_from` or later; `ca`: the product travels under controlled
    /// atmosphere (else the box is vented).
    #[allow(clippy::too_many_arguments)]
    pub fn finding(
        &self,
        g: &GasHistory,
        other: Option<&GasHistory>,
        t: i64,
        drift_from: i64,
        interval_ms: i64,
        peer_sigma: f64,
        ca: bool,
    ) -> Option<Finding> {
        let jump = self.jump_over(peer_sigma);
        let k = noisy_window(interval_ms);
        let share = k as f64 / 10.0;
        let (large, flips) = if g.rows { (0, 0) } else { g.jumps(jump, k) };
        // A noisy channel's mean wanders above air by chance: that is noise, not a level.
        let jumpy = large as f64 >= (0.5 * self.jumps * share).ceil();
        if let Some(mean) = g.last_mean() {
            if !jumpy && mean > self.above && g.latest() > self.above {
                return Some(Finding::Above { mean });
            }
        }
        let shift = self.shift(g, other, drift_from, interval_ms);
        let min_run = self.stuck_readings as u32 - 1;
        if g.rows {
            // Rows: the run of still rows must be one this channel's rows would
            // not make (learnt per row), and long in readings and time.
            // As on readings: a channel whose rows mostly stand or repeat at 0 %
            // reads the bottom of its range (a cell biased low near air), not a
            // stuck value.
            if g.run >= min_run
                && !g.short_of_stuck(g.row_run)
                && t - g.run_since >= self.stuck_for_ms
                && !g.at_floor()
            {
                return Some(Finding::Stuck {
                    run: g.run + 1,
                    since: g.run_since,
                    // In rows (see `describe`).
                    needed: g.stuck_run() + 1,
                });
            }
            if shift.is_some() {
                return shift;
            }
            if !ca {
                if let Some(f) = self.vented(g, other, drift_from, interval_ms) {
                    return Some(f);
                }
            }
            let wide = g.wide_rows(ROW_NOISY, self.row_spread(g, peer_sigma));
            if u64::from(wide) >= ROW_NOISY {
                return Some(Finding::Noisy {
                    large: wide,
                    flips: 0,
                });
            }
        } else {
            // A channel that lives at 0 % (half its readings of the last 12 h
            // are 0 %, or most of them repeat: a cell biased low near air)
            // reads the bottom of its range, not a stuck value; one that came
            // down to 0 % and stays is judged.
            if g.run >= min_run
                && !g.short_of_stuck(g.run)
                && t - g.run_since >= self.stuck_for_ms
                && !g.at_floor()
            {
                return Some(Finding::Stuck {
                    run: g.run + 1,
                    since: g.run_since,
                    needed: g.stuck_run().max(min_run) + 1,
                });
            }
            if shift.is_some() {
                return shift;
            }
            if !ca && !jumpy {
                if let Some(f) = self.vented(g, other, drift_from, interval_ms) {
                    return Some(f);
                }
            }
            if large as f64 >= (self.jumps * share).ceil()
                && flips as f64 >= (self.flips * share).ceil()
            {
                return Some(Finding::Noisy { large, flips });
            }
        }
        // (A shorter trend, four means at twice the threshold, was tried: it
        // took a CA box's corrections for drifts, 4-7 false alerts per 2,000
        // container-days at 5 min, for a few minutes less delay.)
        self.drift(g, other, drift_from, GAS_BINS, ca)
    }

    /// A step away from the channel's own level ([`crate::detect::history::Level`]):
    /// the mean of its last three 10-minute means lies further outside the
    /// envelope of the level than `shift`, three spreads, and three standard errors of
    /// that mean from the channel's current noise (a noisy sensor must step
    /// further to show it), all three on the same side, beginning after
    /// `drift_from`, while the other gas stays at its own level (a real
    /// change of the atmosphere, a leak or the CA system, moves both).
    fn shift(
        &self,
        g: &GasHistory,
        other: Option<&GasHistory>,
        drift_from: i64,
        interval_ms: i64,
    ) -> Option<Finding> {
        let (base, spread) = g.level.known(LEVEL_SHIFT_WARM)?;
        let (low, high) = (g.level.low, g.level.high);
        let (mean, one_side) = g.recent_level(SHIFT_BINS, base)?;
        let since = g.bins_since(SHIFT_BINS);
        // The channel stepped out of its level (from a 10-minute mean inside
        // it) once the last door or power cut had settled, and has stayed out.
        // It stepped: its first mean outside lay half `shift` or more from the
        // one before (a slow climb across the edge is the drift test's, until
        // it lies FAR_SHIFTS times as far out).
        let left = g.level.left_t;
        let stepped = g.level.left_step.abs() >= 0.5 * self.shift;
        if !one_side || !self.left_settled(left, drift_from) || left > since {
            return None;
        }
        let se = g.reading_sd() / (per_bin(g, interval_ms) * SHIFT_BINS as f64).sqrt();
        let needed = self.shift.max(3.0 * spread) + 3.0 * se;
        let outside = if mean > base { mean - high } else { low - mean };
        // Without a step, twice as far out (see FAR_SHIFTS).
        if outside <= needed || (!stepped && outside <= FAR_SHIFTS * needed) {
            return None;
        }
        // The other gas, when the readings have it, must have held its level
        // (a door or the CA system moves both gases).
        let other_holds = other.is_none_or(|o| held_level(o, g, left));
        other_holds.then_some(Finding::Shift {
            base,
            mean,
            needed,
            since,
        })
    }

    /// A vented box's channel that left its own level alone. Fresh-air
    /// exchange holds a vented box's atmosphere near air, and what moves it
    /// moves both gases together: respiration (a warmer load) takes O2 down
    /// and CO2 up in step, a door or a wider vent brings both back toward
    /// air, a power cut (which seals the box) shows as a gap and is settled
    /// like a door. So a channel whose last two 10-minute means lie outside
    /// its level's envelope (it left it then, after the last door or power
    /// cut had settled, and has not come back), the latest mean and reading
    /// `vent_shift` or more beyond it (and three spreads, plus three standard
    /// errors of that mean), while the other gas stayed inside its own level
    /// all along, is off. It needs no step: a drift is found as soon as it
    /// has left the level, not after 70 minutes of trend (see the drift test).
    fn vented(
        &self,
        g: &GasHistory,
        other: Option<&GasHistory>,
        drift_from: i64,
        interval_ms: i64,
    ) -> Option<Finding> {
        // Until then every settled mean is learnt, a drift's too.
        let (base, spread) = g.level.known(LEVEL_SHIFT_WARM)?;
        let (lo, hi) = self.vented_levels;
        if !self.vent_shift.is_finite() || base < lo || base > hi {
            return None;
        }
        let (_, one_side) = g.recent_level(VENT_BINS, base)?;
        let since = g.bins_since(VENT_BINS);
        let left = g.level.left_t;
        // Outside since it left, and for the last two means at least.
        let away = left <= since && g.level.inside_t < left;
        if !one_side || !away || !self.left_settled(left, drift_from) {
            return None;
        }
        // (0 on rows: their means are of many readings already.)
        let se = g.reading_sd() / per_bin(g, interval_ms).sqrt();
        let needed = self.vent_shift.max(3.0 * spread) + 3.0 * se;
        let mean = g.last_mean()?;
        let (low, high) = (g.level.low, g.level.high);
        let beyond = |v: f64| {
            if mean > base {
                v - high
            } else {
                low - v
            }
        };
        if beyond(mean) <= needed || beyond(g.latest()) <= needed {
            return None;
        }
        // The other gas is in the readings and held its level.
        let other_holds = other.is_some_and(|o| held_level(o, g, left));
        other_holds.then_some(Finding::Vented {
            base,
            mean,
            needed,
            since: left,
        })
    }

    /// Whether a channel that left its level at `left` did so once the last
    /// door or power cut (`drift_from` less the drift settle time) had
    /// settled (`settle_ms`).
    fn left_settled(&self, left: i64, drift_from: i64) -> bool {
        left >= drift_from - self.drift_settle_ms + self.settle_ms
    }

    /// A drift over the last `bins` 10-minute means, every step but one going its way.
    fn drift(
        &self,
        g: &GasHistory,
        other: Option<&GasHistory>,
        drift_from: i64,
        bins: usize,
        ca: bool,
    ) -> Option<Finding> {
        let tr = g.trend_over(bins)?;
        // The fitted trend must stand above the threshold by 2.5 standard
        // errors of its own fit: noisy sensors (readings to 0.1 %, 0.15 %
        // noise) and the CA saw-tooth make trends of 0.5 %/h by chance.
        let significant = tr.fit_per_h.abs() - FIT_SES * tr.fit_se >= self.drift_per_h
            && tr.fit_per_h * tr.slope_per_h > 0.0;
        let steady = tr.since >= drift_from
            && significant
            && tr.slope_per_h.abs() >= self.drift_per_h
            && tr.steps_with + 2 >= bins as u32
            && tr.largest_step <= 0.5
            && tr.largest_jump <= self.jump;
        if !steady {
            return None;
        }
        // The other gas holds (a real change of the atmosphere moves both).
        let other_holds = other
            .and_then(|o| o.trend_over(bins))
            .is_none_or(|o| o.slope_per_h.abs() < 0.5 * self.other_drift_per_h);
        // Once the channel's own level is known, the trend must have taken it
        // outside that level's band (3 spreads, the way it trends): a CA box
        // moves its gases up and down inside its band all day, and a cheap
        // cell's noise makes those swings look like 70-minute trends.
        // ... and beyond the envelope the level had when the trend began (a
        // CO2 scrub, blurred by a noisy cell over an hour, ends at the bottom
        // of the box's saw-tooth, not below it).
        let left_level = match (g.level.known(LEVEL_WARM), g.last_mean()) {
            (Some((base, spread)), Some(last)) => {
                let beyond = g.envelope_before(bins).is_none_or(|(low, high)| {
                    if tr.slope_per_h > 0.0 {
                        last > high
                    } else {
                        last < low
                    }
                });
                let young = ca && g.level.learnt < CA_YOUNG;
                (last - base) * tr.slope_per_h > 0.0
                    && (last - base).abs() > DRIFT_LEVEL_SPREADS * spread
                    && (!young || (last - base).abs() > CA_BAND_WIDTH)
                    && beyond
            }
            _ => true,
        };
        (other_holds && left_level).then_some(Finding::Drift {
            slope_per_h: tr.slope_per_h,
            since: tr.since,
        })
    }

    /// The jump threshold against the peers: a change larger than `jump` and
    /// than 4 standard deviations of the peers' changes (estimated from their
    /// median change, which readings to 0.1 % understate; 3 gave noisy alerts
    /// on healthy CA boxes of the basic profile).
    pub fn jump_over(&self, peer_sigma: f64) -> f64 {
        self.jump.max(PEER_SIGMAS * peer_sigma)
    }

    /// The spread of a row of `g` that counts as wide ([`ROW_SPREAD`],
    /// [`ROW_PEER_SDS`]); `peer_sigma` is that of a change between two
    /// readings (√2 a reading's; infinite while the segment's noise is being
    /// learnt, when no row is wide, as no reading jumps then).
    pub fn row_spread(&self, g: &GasHistory, peer_sigma: f64) -> f64 {
        let sd = peer_sigma / std::f64::consts::SQRT_2;
        (ROW_SPREAD * self.jump).max((range_d2(g.row_count) + ROW_PEER_SDS) * sd)
    }

    fn drift_from(&self, ctx: &Ctx) -> i64 {
        let h = ctx.hist;
        // Without a door switch, a jump of the air (≥ 2 °C in 3 min) is the door.
        // In a CA box the first hour of data is like the end of a door: the
        // CA system may still be pulling the atmosphere down after loading
        // (O2 falling 0.5 %/h in the first hour and a half, seeds 1-5 at 5 min).
        // A vented box holds air from the start.
        let since_door = h.last_door.max(h.last_power_off).max(h.last_jump);
        let first = if ctx.band.ca {
            h.first_t + FIRST_SETTLE_MS
        } else {
            i64::MIN
        };
        (since_door + self.drift_settle_ms).max(first)
    }

    pub fn check(
        &self,
        ctx: &Ctx,
        g: &GasHistory,
        other: Option<&GasHistory>,
        value: Option<f64>,
        peer_sigma: f64,
    ) -> Verdict {
        let o = ctx.obs;
        if value.is_none() {
            return Verdict::Hold;
        }
        let h = ctx.hist;
        if o.t_ms - h.last_door < self.settle_ms || o.t_ms - h.last_power_off < self.settle_ms {
            return Verdict::Hold;
        }
        let air_got_in = ctx.band.ca
            && other.is_some_and(|other| {
                let v = other.latest();
                self.other_air_above.is_some_and(|a| v > a)
                    || self.other_air_below.is_some_and(|b| v < b)
            });
        if air_got_in {
            return Verdict::Hold;
        }
        // Sensor faults last hours: at short intervals a healthy channel is
        // looked at every fourth reading, one under suspicion at every reading.
        // (Rows are few, readings a minute apart or more too: every one is looked at.)
        let interval = o.t_ms.saturating_sub(h.prev_t);
        if ctx.cond_since.is_none()
            && !ctx.open
            && !o.window
            && interval < MINUTE
            && !g.seen.is_multiple_of(4)
        {
            return Verdict::Hold;
        }
        let ca = ctx.band.ca;
        match self.finding(
            g,
            other,
            o.t_ms,
            self.drift_from(ctx),
            interval,
            peer_sigma,
            ca,
        ) {
            // Two 10-minute means away from the level already: no further wait.
            Some(f @ Finding::Vented { since, .. }) => Verdict::Fault {
                severity: Severity::Warning,
                since: Some(since),
                immediate: true,
                form: f.form(),
            },
            Some(
                f @ (Finding::Stuck { since, .. }
                | Finding::Drift { since, .. }
                | Finding::Shift { since, .. }),
            ) => Verdict::Fault {
                severity: Severity::Warning,
                since: Some(since),
                immediate: false,
                form: f.form(),
            },
            Some(f @ (Finding::Noisy { .. } | Finding::Above { .. })) => Verdict::Fault {
                severity: Severity::Warning,
                since: None,
                immediate: true,
                form: f.form(),
            },
            None => {
                // Clearly healthy again: moving, and no run of jumps; with an
                // episode open, of jumps half the size that opens one (a noisy
                // cell clamped at 0 % jumps less often than one that is not).
                let calm_jump = self.jump_over(peer_sigma) * if ctx.open { 0.5 } else { 1.0 };
                let (large, _) = g.jumps(calm_jump, 10);
                let calm = if g.rows {
                    g.run == 0 && g.wide_rows(ROW_NOISY, self.row_spread(g, peer_sigma)) == 0
                } else {
                    g.run < 3 && large <= 2
                };
                // An open episode ends only with the channel back at the level
                // it kept before (which learns nothing while the episode is
                // open): a drift that slowed or stopped is still off.
                let away = ctx.open
                    && g.level.known(LEVEL_WARM).is_some()
                    && g.level.inside_t < g.bins_since(1);
                if calm && !away {
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
        other: Option<&GasHistory>,
        field: &str,
        label: &str,
        value: Option<f64>,
    ) -> (Map<String, Value>, String) {
        let o = ctx.obs;
        let peer_sigma = if field == "oxygen_level" {
            ctx.peer_noise.0
        } else {
            ctx.peer_noise.1
        };
        let interval = o.t_ms.saturating_sub(ctx.hist.prev_t);
        let drift_from = self.drift_from(ctx);
        let finding = self.finding(
            g,
            other,
            o.t_ms,
            drift_from,
            interval,
            peer_sigma,
            ctx.band.ca,
        );
        let forms = ctx.forms | finding.as_ref().map_or(0, Finding::form);
        let (mut ev, msg) = self.explain(ctx, g, finding, field, label, value, peer_sigma);
        // An episode that has shown more than one form lists them all (an
        // escalation's evidence is the new form's, and what came before).
        if forms.count_ones() > 1 {
            ev.insert("findings".into(), Value::Array(form_names(forms)));
        }
        (ev, msg)
    }

    #[allow(clippy::too_many_arguments)]
    fn explain(
        &self,
        ctx: &Ctx,
        g: &GasHistory,
        finding: Option<Finding>,
        field: &str,
        label: &str,
        value: Option<f64>,
        peer_sigma: f64,
    ) -> (Map<String, Value>, String) {
        let o = ctx.obs;
        let jump = self.jump_over(peer_sigma);
        let r2 = |x: f64| (x * 100.0).round() / 100.0;
        // A channel away from its own level (shifted, or left it in a vented box).
        let away = |mean_key, mean: f64, base: f64, needed_key, needed: f64, since: i64| {
            evidence(&[
                (field, n(value)),
                (mean_key, n(Some(r2(mean)))),
                ("own_level", n(Some(r2(base)))),
                ("shift", n(Some(r2(mean - base)))),
                (needed_key, n(Some(r2(needed)))),
                ("shifted_for_s", Some(Value::from((o.t_ms - since) / 1000))),
            ])
        };
        match finding {
            Some(Finding::Shift {
                base,
                mean,
                needed,
                since,
            }) => (
                away("mean_30_min", mean, base, "shift_needed", needed, since),
                format!(
                    "{}: {label} sensor reads {mean:.2} %, away from its own level of {base:.2} % for half an hour (beyond {needed:.2} %), with no door, power cut or change of the other gas",
                    o.container_id
                ),
            ),
            Some(Finding::Vented {
                base,
                mean,
                needed,
                since,
            }) => (
                away("mean_10_min", mean, base, "beyond_envelope_needed", needed, since),
                format!(
                    "{}: {label} sensor reads {mean:.2} %, away from its own level of {base:.2} % in a vented box while the other gas held its level (a vented box's gases move together): the sensor is off",
                    o.container_id
                ),
            ),
            Some(Finding::Above { mean }) => (
                evidence(&[
                    (field, n(value)),
                    ("mean_10_min", n(Some((mean * 100.0).round() / 100.0))),
                    ("highest_possible", n(Some(self.above))),
                ]),
                format!(
                    "{}: {label} sensor reads {mean:.2} %, more than air holds (above {} %): it is off",
                    o.container_id, self.above
                ),
            ),
            Some(Finding::Noisy { large, .. }) if g.rows => {
                let spread = round3(self.row_spread(g, peer_sigma));
                (
                    evidence(&[
                        (field, n(value)),
                        ("wide_windows", Some(Value::from(large))),
                        ("spread_threshold", n(Some(spread))),
                        ("peer_sigma", n(Some(round3(peer_sigma)))),
                    ]),
                    format!(
                        "{}: {label} sensor is noisy (its readings spread over more than {spread} % within each of the last {large} windows, beyond its peers')",
                        o.container_id
                    ),
                )
            }
            Some(Finding::Noisy { large, flips }) => (
                evidence(&[
                    (field, n(value)),
                    ("jumps_of_last_10", Some(Value::from(large))),
                    ("sign_changes", Some(Value::from(flips))),
                    ("jump_threshold", n(Some((jump * 1000.0).round() / 1000.0))),
                    ("peer_sigma", n(Some((peer_sigma * 1000.0).round() / 1000.0))),
                ]),
                format!(
                    "{}: {label} sensor is noisy (jumps of more than {:.2} % between readings, beyond its peers')",
                    o.container_id, jump
                ),
            ),
            Some(Finding::Stuck { run, since, needed }) => (
                evidence(&[
                    (field, n(value)),
                    ("equal_readings", Some(Value::from(run))),
                    // Rows: the run is judged in rows whose readings were all equal.
                    (
                        if g.rows {
                            "still_windows_needed"
                        } else {
                            "equal_readings_needed"
                        },
                        Some(Value::from(needed)),
                    ),
                    ("still_windows", g.rows.then(|| Value::from(g.row_run + 1))),
                    ("repeat_share", n(Some((g.p_same() * 1000.0).round() / 1000.0))),
                    ("stuck_for_s", Some(Value::from((o.t_ms - since) / 1000))),
                ]),
                format!(
                    "{}: {label} sensor is stuck at {} % ({run} equal readings)",
                    o.container_id,
                    g.latest()
                ),
            ),
            Some(Finding::Drift { slope_per_h, since }) => (
                evidence(&[
                    (field, n(value)),
                    ("slope_per_h", n(Some((slope_per_h * 1000.0).round() / 1000.0))),
                    ("drift_threshold_per_h", n(Some(self.drift_per_h))),
                    ("own_level", g.level.known(LEVEL_WARM).map(|(b, _)| r2(b)).and_then(|b| n(Some(b)))),
                    ("level_spread", g.level.known(LEVEL_WARM).and_then(|(_, s)| n(Some((s * 1000.0).round() / 1000.0)))),
                    ("trend_for_s", Some(Value::from((o.t_ms - since) / 1000))),
                ]),
                format!(
                    "{}: {label} sensor is drifting ({slope_per_h:+.2} %/h, steadily for over an hour, with no door or power cut)",
                    o.container_id
                ),
            ),
            None => (
                evidence(&[(field, n(value))]),
                format!("{}: {label} sensor fault", o.container_id),
            ),
        }
    }

    pub fn params(&self) -> Vec<Param> {
        let above = self.above.is_finite().then_some(Param {
            key: "above",
            value: self.above,
            help: "a 10-minute mean and latest reading above this (%) is more than air holds: the sensor is off",
        });
        let mut params = vec![
            Param { key: "stuck_for_s", value: self.stuck_for_ms as f64 / 1000.0, help: "a stuck value must last this many seconds (and be a run a healthy channel would not make)" },
            Param { key: "stuck_readings", value: self.stuck_readings, help: "... and at least this many equal readings" },
            Param { key: "drift_per_h", value: self.drift_per_h, help: "a steady trend of the 10-minute means over 70 min at least this steep (%/h) is a drift" },
            Param { key: "jump", value: self.jump, help: "a change between two readings larger than this (%) is a jump" },
            Param { key: "jumps", value: self.jumps, help: "jumps among the last 10 changes that make a noisy sensor" },
            Param { key: "flips", value: self.flips, help: "... with at least this many sign changes" },
            Param { key: "settle_s", value: self.settle_ms as f64 / 1000.0, help: "hold this long after a door opening or power cut" },
            Param { key: "drift_settle_s", value: self.drift_settle_ms as f64 / 1000.0, help: "the drift test looks only at trends that began this long after a door opening or power cut" },
            Param { key: "shift", value: self.shift, help: "the last 30 min of 10-minute means this far (%) outside the envelope of the channel's own learnt level (and 3 of its spreads, plus 3 standard errors of their mean) is a shifted sensor" },
        ];
        params.extend(above);
        if self.vent_shift.is_finite() {
            params.push(Param {
                key: "vent_shift",
                value: self.vent_shift,
                help: "in a vented box, a channel whose last two 10-minute means left its own level, the latest this far (%) beyond its envelope, while the other gas held, is off",
            });
        }
        params
    }

    pub fn set(&mut self, key: &str, v: f64) -> Result<(), String> {
        match key {
            "stuck_for_s" => self.stuck_for_ms = (v * 1000.0) as i64,
            "stuck_readings" if v >= 2.0 => self.stuck_readings = v,
            "stuck_readings" => return Err("stuck_readings must be at least 2".into()),
            "drift_per_h" => self.drift_per_h = v,
            "jump" => self.jump = v,
            "jumps" => self.jumps = v,
            "flips" => self.flips = v,
            "settle_s" => self.settle_ms = (v * 1000.0) as i64,
            "drift_settle_s" => self.drift_settle_ms = (v * 1000.0) as i64,
            "shift" => self.shift = v,
            "above" if self.above.is_finite() => self.above = v,
            "vent_shift" if self.vent_shift.is_finite() => self.vent_shift = v,
            _ => return Err(super::unknown_param(key, &self.params())),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic wobble, like a held atmosphere's noise.
    fn wobble(i: i64, amp: f64) -> f64 {
        amp * (((i * 7919) % 13) as f64 / 6.0 - 1.0)
    }

    fn feed(o2: impl Fn(i64) -> f64, co2: impl Fn(i64) -> f64, n: i64) -> (GasHistory, GasHistory) {
        let (mut g, mut c) = (GasHistory::default(), GasHistory::default());
        for i in 0..n {
            let r = |x: f64| (x * 100.0).round() / 100.0;
            g.update(r(o2(i)), i * MINUTE);
            c.update(r(co2(i)), i * MINUTE);
        }
        (g, c)
    }

    #[test]
    fn a_slow_drift_of_one_channel_is_found_and_a_held_atmosphere_is_not() {
        let rule = GasRule::new(0.6, 0.6, 0.25);
        // O2 drifts at 0.8 %/h from its CA setpoint, CO2 holds.
        let (g, c) = feed(
            |i| {
                3.0 + wobble(i, 0.1)
                    + if i > 60 {
                        0.8 * (i - 60) as f64 / 60.0
                    } else {
                        0.0
                    }
            },
            |i| 5.0 + wobble(i + 3, 0.05),
            160,
        );
        assert!(matches!(
            rule.finding(&g, Some(&c), 160 * MINUTE, 0, MINUTE, 0.0, true),
            Some(Finding::Drift { slope_per_h, .. }) if (slope_per_h - 0.8).abs() < 0.15
        ));
        // Near miss: a held atmosphere wanders, but does not trend.
        let (g, c) = feed(|i| 3.0 + wobble(i, 0.1), |i| 5.0 + wobble(i, 0.05), 160);
        assert!(rule
            .finding(&g, Some(&c), 160 * MINUTE, 0, MINUTE, 0.0, true)
            .is_none());
        // Near miss: a CA box pulling both gases back after a door opening.
        let back = |i: i64| (-(i as f64) / 40.0).exp();
        let (g, c) = feed(|i| 3.0 + 17.0 * back(i), |i| 5.0 - 4.5 * back(i), 160);
        assert!(rule
            .finding(&g, Some(&c), 160 * MINUTE, 0, MINUTE, 0.0, true)
            .is_none());
        // ... and the trend must begin well after the door.
        let (g, _) = feed(|i| 3.0 + 17.0 * back(i), |_| 5.0, 160);
        assert!(rule
            .finding(&g, None, 160 * MINUTE, 180 * MINUTE, MINUTE, 0.0, true)
            .is_none());
    }

    #[test]
    fn a_young_ca_level_does_not_take_the_saw_tooth_for_a_drift_until_it_leaves_the_band() {
        let rule = GasRule::new(0.6, 0.5, 0.25);
        // O2 held at the top of its band for 2 h (the level learns that
        // much), then let down by respiration and the controller at 0.6 %/h
        // for 80 min (3.0 -> 2.2 %), CO2 held.
        let fall = |from: i64, per_h: f64| {
            move |i: i64| 3.0 + wobble(i, 0.02) - per_h * (i - from).max(0) as f64 / 60.0
        };
        let co2 = |i: i64| 5.0 + wobble(i + 3, 0.02);
        let (g, c) = learnt(fall(120, 0.6), co2, 200);
        assert!(g.level.known(LEVEL_WARM).is_some() && g.level.learnt < CA_YOUNG);
        assert!(!matches!(
            rule.finding(&g, Some(&c), 200 * MINUTE, 0, MINUTE, 0.0, true),
            Some(Finding::Drift { .. })
        ));
        // ... in a vented box (no control band) the same fall is a drift ...
        assert!(matches!(
            rule.finding(&g, Some(&c), 200 * MINUTE, 0, MINUTE, 0.0, false),
            Some(Finding::Drift { .. })
        ));
        // ... and a fall past the band's width (1 %) is a drift in a CA box too.
        let (g, c) = learnt(fall(120, 1.2), co2, 200);
        assert!(matches!(
            rule.finding(&g, Some(&c), 200 * MINUTE, 0, MINUTE, 0.0, true),
            Some(Finding::Drift { .. })
        ));
    }

    /// 8 h of a settled CA box (O2 3 %, CO2 5 %), then `o2` and `co2` (minute → %) for 1 h.
    fn settled_then(o2: impl Fn(i64) -> f64, co2: impl Fn(i64) -> f64) -> (GasHistory, GasHistory) {
        settled_for(o2, co2, 60)
    }

    /// [`settled_then`] for `after` minutes.
    fn settled_for(
        o2: impl Fn(i64) -> f64,
        co2: impl Fn(i64) -> f64,
        after: i64,
    ) -> (GasHistory, GasHistory) {
        held_then(480, (3.0, 0.1), (5.0, 0.05), o2, co2, after)
    }

    /// `held` minutes of a box whose O2 and CO2 wobble around their levels
    /// ((level, amplitude), one reading a minute, levels learnt), then `o2(k)`
    /// and `co2(k)` for the `after` minutes that follow.
    fn held_then(
        held: i64,
        (o2_level, o2_amp): (f64, f64),
        (co2_level, co2_amp): (f64, f64),
        o2: impl Fn(i64) -> f64,
        co2: impl Fn(i64) -> f64,
        after: i64,
    ) -> (GasHistory, GasHistory) {
        learnt(
            |i| {
                if i < held {
                    o2_level + wobble(i, o2_amp)
                } else {
                    o2(i - held)
                }
            },
            |i| {
                if i < held {
                    co2_level + wobble(i + 3, co2_amp)
                } else {
                    co2(i - held)
                }
            },
            held + after,
        )
    }

    /// `n` minutes of readings (to 0.01 %), every mean settled and learnt by the levels.
    fn learnt(
        o2: impl Fn(i64) -> f64,
        co2: impl Fn(i64) -> f64,
        n: i64,
    ) -> (GasHistory, GasHistory) {
        let (mut g, mut c) = (GasHistory::default(), GasHistory::default());
        for i in 0..n {
            let r = |x: f64| (x * 100.0).round() / 100.0;
            g.update(r(o2(i)), i * MINUTE);
            c.update(r(co2(i)), i * MINUTE);
            g.learn_level(true, 0.0);
            c.learn_level(true, 0.0);
        }
        (g, c)
    }

    #[test]
    fn a_step_out_of_the_channel_s_own_level_is_a_shift_and_a_door_or_slow_climb_is_not() {
        let rule = GasRule::new(0.6, 0.5, 0.7);
        let t = 540 * MINUTE;
        let (g, c) = settled_then(|i| 5.0 + wobble(i, 0.1), |i| 5.0 + wobble(i, 0.05));
        assert!(matches!(
            rule.finding(&g, Some(&c), t, 0, MINUTE, 0.0, true),
            Some(Finding::Shift { base, mean, .. }) if (base - 3.0).abs() < 0.1 && (mean - 5.0).abs() < 0.1
        ));
        // Near miss: both gases step at once (a door, the CA system).
        let (g, c) = settled_then(|i| 5.0 + wobble(i, 0.1), |i| 3.0 + wobble(i, 0.05));
        assert!(rule
            .finding(&g, Some(&c), t, 0, MINUTE, 0.0, true)
            .is_none());
        // Near miss: a slow climb (0.3 %/h) is no step, and under the drift threshold.
        let (g, c) = settled_then(|i| 3.0 + 0.005 * i as f64, |i| 5.0 + wobble(i, 0.05));
        assert!(!matches!(
            rule.finding(&g, Some(&c), t, 0, MINUTE, 0.0, true),
            Some(Finding::Shift { .. })
        ));
        // A climb of 2 %/h, too jumpy for the drift test (a cell whose noise
        // grows with its reading), is no step either, but once it lies twice
        // as far out as a step must, it has left its level all the same.
        let climb = |k: i64| 3.0 + 2.0 * k as f64 / 60.0 + wobble(k, 0.5);
        let (g, c) = settled_for(climb, |i| 5.0 + wobble(i, 0.05), 180);
        assert!(matches!(
            rule.finding(&g, Some(&c), (480 + 180) * MINUTE, 0, MINUTE, 0.0, true),
            Some(Finding::Shift { mean, .. }) if mean > 7.0
        ));
        // Near miss: the same climb an hour and a quarter in, out by less than that.
        let (g, c) = settled_for(climb, |i| 5.0 + wobble(i, 0.05), 75);
        assert!(!matches!(
            rule.finding(&g, Some(&c), (480 + 75) * MINUTE, 0, MINUTE, 0.0, true),
            Some(Finding::Shift { .. })
        ));
    }

    /// Seven hours of a vented box (O2 near 20.6 %, CO2 near 0.3 %, one
    /// reading a minute, levels learnt), then `o2(k)` and `co2(k)` for the
    /// minutes after.
    fn vented_then(
        o2: impl Fn(i64) -> f64,
        co2: impl Fn(i64) -> f64,
        after: i64,
    ) -> (GasHistory, GasHistory) {
        held_then(420, (20.6, 0.05), (0.3, 0.02), o2, co2, after)
    }

    #[test]
    fn a_vented_box_s_o2_leaving_its_level_alone_is_found_before_a_drift_could_be() {
        let rule = GasRule {
            vent_shift: 0.2,
            vented_levels: (15.0, 23.0),
            ..GasRule::new(0.6, 0.5, 0.7)
        };
        // The O2 cell drifts down 2.4 %/h while CO2 holds: found within 35
        // minutes (the 70-minute drift test would take twice as long), in both
        // directions, and only in a vented box.
        for sign in [-1.0, 1.0] {
            let drift = |k: i64| 20.6 + wobble(k, 0.05) + sign * 0.04 * k as f64;
            let co2 = |k: i64| 0.3 + wobble(k + 3, 0.02);
            let (g, c) = vented_then(drift, co2, 35);
            let t = 455 * MINUTE;
            assert!(
                matches!(
                    rule.finding(&g, Some(&c), t, 0, MINUTE, 0.0, false),
                    Some(Finding::Vented { base, mean, .. }) if (base - 20.6).abs() < 0.1 && (mean - 20.6) * sign > 0.6
                ),
                "sign {sign}"
            );
            assert!(rule
                .finding(&g, Some(&c), t, 0, MINUTE, 0.0, true)
                .is_none());
            // Near miss: CO2 moves with it (respiration, a vent opened wider).
            let (g, c) = vented_then(drift, |k| 0.3 - sign * 0.04 * k as f64, 35);
            assert!(rule
                .finding(&g, Some(&c), t, 0, MINUTE, 0.0, false)
                .is_none());
        }
        // Near miss: twenty minutes after a door or power cut (drift_from is
        // three hours after it) the box is still settling.
        let drift = |k: i64| 20.6 - 0.04 * k as f64;
        let (g, c) = vented_then(drift, |k| 0.3 + wobble(k + 3, 0.02), 35);
        let door = 400 * MINUTE;
        let from = door + rule.drift_settle_ms;
        assert!(rule
            .finding(&g, Some(&c), 455 * MINUTE, from, MINUTE, 0.0, false)
            .is_none());
        // Near miss: a box that keeps its level.
        let (g, c) = vented_then(
            |k| 20.6 + wobble(k, 0.05),
            |k| 0.3 + wobble(k + 3, 0.02),
            35,
        );
        assert!(rule
            .finding(&g, Some(&c), 455 * MINUTE, 0, MINUTE, 0.0, false)
            .is_none());
    }

    #[test]
    fn an_o2_reading_above_air_is_found_before_a_drift_could_be() {
        let rule = GasRule {
            above: 21.5,
            ..GasRule::new(0.6, 0.5, 0.7)
        };
        // A vented box at air, then the sensor drifts up at 2 %/h for 40 min:
        // too short for the 70-minute drift test, but above air.
        let up = |i: i64| 20.9 + wobble(i, 0.03) + 2.0 * (i - 60).max(0) as f64 / 60.0;
        let (g, c) = feed(up, |i| 0.04 + wobble(i, 0.01), 100);
        assert!(matches!(
            rule.finding(&g, Some(&c), 100 * MINUTE, 0, MINUTE, 0.0, true),
            Some(Finding::Above { mean }) if mean > 21.5
        ));
        // Near miss: the same box at air all along.
        let (g, c) = feed(|i| 20.9 + wobble(i, 0.03), |i| 0.04 + wobble(i, 0.01), 100);
        assert!(rule
            .finding(&g, Some(&c), 100 * MINUTE, 0, MINUTE, 0.0, true)
            .is_none());
    }
}
