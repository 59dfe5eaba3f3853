//! What a container's recent readings tell the rules: each gas channel's
//! learnt noise, trend and jumps, and the slow temperature and power history
//! the fallbacks for data without a door switch or operating mode use.

use super::band::{Band, PLAUSIBLE_HIGH, PLAUSIBLE_LOW};
use super::obs::{Mode, Obs};

/// Readings of a gas channel kept per container (the door fallback looks at the last few).
pub const GAS_RING: usize = 8;
const GAS_MASK: usize = GAS_RING - 1;
/// Length of a trend bin, ms: the drift test compares 10-minute means, which
/// averages the sensor's own noise away at any reading interval.
pub const GAS_BIN_MS: i64 = 10 * 60_000;
/// Trend bins kept (80 minutes).
pub const GAS_BINS: usize = 8;

/// Recent behaviour of one gas channel. A real gas channel shows measurement
/// noise, so it repeats its displayed value only so often (learnt per
/// channel, as the share of readings equal to the one before); a stuck sensor
/// repeats it for ever. A real atmosphere in a closed, powered box is held by
/// the vent or the CA controller, so its 10-minute means wander but do not
/// trend for an hour; a drifting sensor's offset grows steadily. A noisy one jumps.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub struct GasHistory {
    pub seen: u64,
    /// Readings after the first of the current run of exactly equal values.
    pub run: u32,
    /// Time of the first reading of that run.
    pub run_since: i64,
    /// Learnt repeats and changes (pseudo-counts, decayed), from runs that ended
    /// before they could be called stuck.
    sames: f64,
    changes: f64,
    /// Share of the channel's readings (or rows) at 0 %, over about the last
    /// 12 hours (a plain mean until then): a channel that mostly reads 0 %
    /// lives at the bottom of its range (a cell biased low near air), and
    /// its long runs there are not learnt as repeats (they could be stuck).
    #[serde(default)]
    pub zero_share: f64,
    #[serde(default)]
    zero_n: u32,
    /// The last 16 changes between readings, newest at `diffs[(seen - 2) & 15]`.
    diffs: [f64; 16],
    t: [i64; GAS_RING],
    v: [f64; GAS_RING],
    next: usize,
    /// The 10-minute bin being filled: index, sum, count, largest change between readings.
    bin: (i64, f64, u32, f64),
    /// Means of the last complete, consecutive bins, oldest first.
    bins: [f64; GAS_BINS],
    /// Largest change between two readings in each of those bins.
    bins_jump: [f64; GAS_BINS],
    /// The envelope of the channel's level (low, high) when each of those bins
    /// completed: a trend is judged against the level as it was before it began.
    bins_env: [(f64, f64); GAS_BINS],
    nbins: usize,
    /// Fed by window rows ([`GasHistory::update_row`]): `run` counts the
    /// readings of consecutive rows that stood still at one value, and the
    /// learnt repeats are rows repeating the previous row's value.
    pub rows: bool,
    /// Rows after the first of the current run of still rows.
    pub row_run: u32,
    /// The value the current run of still rows stands at (NaN: none).
    flat_value: f64,
    /// The spread (max − min) of the last 4 rows, newest at `spreads[(seen - 1) & 3]`.
    spreads: [f64; 4],
    /// Readings in the last row.
    #[serde(default)]
    pub row_count: u32,
    /// The start and mean of the 10-minute bin that just completed, until the level learns it.
    pending: Option<(i64, f64)>,
    /// The channel's own level, learnt from its settled 10-minute means.
    pub level: Level,
}

/// A gas channel's own level: a robust running estimate of where this
/// container's channel reads when nothing happens (a biased but steady cell
/// is normal for its container), learnt from its 10-minute means while the
/// box is settled (3 h after a door, power cut or jump of the air, 1 h after
/// the first reading): an EWMA of the means (6-hour time constant: a slow
/// drift must not drag the level along), of their absolute deviation from it
/// (the spread, a mean absolute deviation), and the envelope the means keep
/// (lowest and highest, relaxing toward the level over a day): a CA box's
/// CO2 builds up with respiration and is scrubbed in a step, a saw-tooth
/// whose whole range is normal for that box. After the first 6 hours of
/// means, a mean outside the envelope is not learnt (a sensor fault or a
/// passing disturbance must not teach the level, and a drift must not drag
/// the envelope along mean by mean): how far the channel went joins the
/// envelope once it comes back inside (a saw-tooth peak) or has scattered to
/// both sides of the level (a noisy cell), and in a CA box the envelope
/// follows a channel moving out of it at up to 0.4 %/h ([`LEVEL_CREEP`]: CO2
/// rebuilding by respiration after loading). A channel whose means stay 4
/// spreads outside for 12 hours (a new CA set point) has its level learnt
/// anew. Medians
/// would need a window of means per channel; with this outlier rejection
/// the EWMA is as robust and costs a dozen numbers per channel.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub struct Level {
    /// The level, % (meaningless while `learnt` is 0).
    pub base: f64,
    /// Mean absolute deviation of a settled 10-minute mean from it, %.
    pub spread: f64,
    /// The envelope of the settled means, %.
    pub low: f64,
    pub high: f64,
    /// Settled means learnt since the level (re)started.
    pub learnt: u32,
    /// Consecutive settled means too far from the level to be learnt.
    pub outside: u32,
    /// Start of the last 10-minute bin whose mean lay inside the envelope
    /// (3 spreads around it), of the last that lay outside, and of the
    /// first outside bin after an inside one (the channel left its level
    /// then): a shift is a channel leaving its level, not one still coming
    /// back to it (a CA box's CO2 takes most of a day to build up again
    /// after a door), and a door moves both gases in the same bin.
    pub inside_t: i64,
    pub outside_t: i64,
    pub left_t: i64,
    /// How far the first outside mean lay from the inside one before it, %:
    /// a step, or a slow climb (a CA box rebuilding its CO2 after a door
    /// nobody saw) that crossed the edge.
    pub left_step: f64,
    /// The lowest and highest settled means of the current excursion beyond
    /// the envelope (after warm-up): they join the envelope only once the
    /// channel comes back inside it (a CA box's saw-tooth peak that a scrub
    /// ends is the box's own; a drift, which never comes back, must not
    /// widen the envelope mean by mean as it creeps out).
    #[serde(default)]
    reach: Option<(f64, f64)>,
    /// The last mean seen, %.
    last_mean: f64,
    /// An episode of this channel's sensor fault is open, stuck or away from
    /// its level (set by the engine from its track before each observation,
    /// so not kept in a state file; see [`crate::detect::rules::gas::suspect`]):
    /// the level learns nothing from a channel under suspicion, else a slow
    /// drift drags the envelope along and the episode resolves while the
    /// sensor is still off.
    #[serde(skip)]
    pub suspect: bool,
}

/// Means learnt before the level bounds a drift (2 h) ...
pub const LEVEL_WARM: u32 = 12;
/// ... and before a step away from it is judged (6 h: a CA box's CO2
/// saw-tooth, built up by respiration and scrubbed in a step, takes 2–3 h).
pub const LEVEL_SHIFT_WARM: u32 = 36;
/// The spread never falls below this, %: a channel reported to 0.1 % (or
/// 0.01 % and near air) would otherwise look perfectly steady.
pub const LEVEL_SPREAD_FLOOR: f64 = 0.05;
/// The box is settled this long after a door, a power cut or a jump of the air, ms.
pub const LEVEL_SETTLE_MS: i64 = 180 * 60_000;
/// A CA box's envelope widens by at most this much per 10-minute mean once
/// warm, %: respiration moves its gases at 0.2–0.35 %/h (CO2 rebuilding
/// after loading), a drifting cell faster (0.6 %/h and more).
pub const LEVEL_CREEP: f64 = 0.4 / 6.0;
/// Means outside the level for this long (12 h of 10-minute means) start it over.
const LEVEL_RELEARN: u32 = 72;

impl Default for Level {
    fn default() -> Self {
        Level {
            base: 0.0,
            spread: LEVEL_SPREAD_FLOOR,
            low: f64::INFINITY,
            high: f64::NEG_INFINITY,
            learnt: 0,
            outside: 0,
            inside_t: i64::MIN / 2,
            outside_t: i64::MIN / 2,
            left_t: i64::MIN / 2,
            left_step: 0.0,
            reach: None,
            last_mean: f64::NAN,
            suspect: false,
        }
    }
}

impl Level {
    /// Notes whether the mean of the bin starting at `t` lies inside the envelope.
    fn see(&mut self, m: f64, t: i64) {
        let last = std::mem::replace(&mut self.last_mean, m);
        if self.learnt == 0 {
            return;
        }
        let margin = 3.0 * self.spread;
        if m >= self.low - margin && m <= self.high + margin {
            self.inside_t = t;
        } else {
            if self.inside_t == t - GAS_BIN_MS {
                self.left_t = t;
                self.left_step = m - last;
            }
            self.outside_t = t;
        }
    }

    /// Learns the settled mean `m`; once warm, the envelope widens by at
    /// most `creep` (%) per mean (see [`LEVEL_CREEP`]).
    fn learn(&mut self, m: f64, creep: f64) {
        if self.suspect && self.learnt < LEVEL_SHIFT_WARM {
            return;
        }
        if self.learnt < LEVEL_WARM / 2 {
            // Warm-up: the plain mean and mean absolute deviation of the first hour.
            let k = f64::from(self.learnt + 1);
            if self.learnt == 0 {
                self.base = m;
            } else {
                self.base += (m - self.base) / k;
                self.spread += ((m - self.base).abs() - self.spread) / k;
            }
            self.spread = self.spread.max(LEVEL_SPREAD_FLOOR);
            self.low = self.low.min(m);
            self.high = self.high.max(m);
            self.learnt += 1;
            return;
        }
        // The first 6 hours learn every settled mean (a CA box's saw-tooth
        // takes hours to show its whole range, and a scrub is not an outlier).
        let warm = self.learnt >= LEVEL_SHIFT_WARM;
        if self.suspect {
            // What a faulty channel reached is not the box's.
            self.reach = None;
        }
        let beyond = (m - self.high).max(self.low - m);
        if warm && beyond > creep {
            // Beyond the envelope, faster than a box moves its gases by
            // itself: held until the channel comes back, while the envelope
            // follows at that pace (a CA box rebuilding its CO2 after loading).
            if !self.suspect {
                let (lo, hi) = self.reach.unwrap_or((m, m));
                let (lo, hi) = (lo.min(m), hi.max(m));
                self.reach = Some((lo, hi));
                if m > self.high {
                    self.high += creep;
                } else {
                    self.low -= creep;
                }
                // Out on both sides of the level: the channel scatters
                // around it (a noisy cell), it has not left it. Learnt.
                let scatters = lo < self.base && hi > self.base;
                if scatters {
                    return self.learn_inside(m);
                }
            }
            // Away for good (a new CA set point): counted from 4 spreads out.
            if beyond > 4.0 * self.spread {
                self.outside += 1;
            }
            if self.outside >= LEVEL_RELEARN {
                *self = Level {
                    inside_t: self.inside_t,
                    outside_t: self.outside_t,
                    left_t: self.left_t,
                    left_step: self.left_step,
                    last_mean: self.last_mean,
                    suspect: self.suspect,
                    ..Level::default()
                };
            }
            return;
        }
        // Under suspicion, only a channel away for 12 hours (above) moves the level.
        if self.suspect {
            return;
        }
        self.learn_inside(m);
    }

    /// Learns a mean that is (or, back inside, whose excursion was) the box's own.
    fn learn_inside(&mut self, m: f64) {
        self.outside = 0;
        // Back inside: the excursion was the box's own.
        if let Some((lo, hi)) = self.reach.take() {
            self.low = self.low.min(lo);
            self.high = self.high.max(hi);
        }
        let dev = m - self.base;
        self.base += dev / 36.0;
        self.spread = (self.spread + (dev.abs() - self.spread) / 36.0).max(LEVEL_SPREAD_FLOOR);
        // The envelope takes in every learnt mean and forgets over about a day.
        self.low = self.low.min(m);
        self.high = self.high.max(m);
        self.low += (self.base.min(m) - self.low) / 144.0;
        self.high += (self.base.max(m) - self.high) / 144.0;
        self.learnt = self.learnt.saturating_add(1);
    }

    /// The level and its spread once `warm` settled means were learnt.
    pub fn known(&self, warm: u32) -> Option<(f64, f64)> {
        (self.learnt >= warm).then_some((self.base, self.spread))
    }
}

impl Default for GasHistory {
    fn default() -> Self {
        GasHistory {
            seen: 0,
            run: 0,
            run_since: 0,
            // A cautious prior: 9 repeats in 10 until the channel shows its noise.
            sames: 9.0,
            changes: 1.0,
            zero_share: 0.0,
            zero_n: 0,
            diffs: [0.0; 16],
            t: [0; GAS_RING],
            v: [0.0; GAS_RING],
            next: 0,
            bin: (i64::MIN, 0.0, 0, 0.0),
            bins: [0.0; GAS_BINS],
            bins_jump: [0.0; GAS_BINS],
            bins_env: [(f64::INFINITY, f64::NEG_INFINITY); GAS_BINS],
            nbins: 0,
            rows: false,
            row_run: 0,
            flat_value: f64::NAN,
            spreads: [0.0; 4],
            row_count: 0,
            pending: None,
            level: Level::default(),
        }
    }
}

/// A steady trend in a gas channel's 10-minute means.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GasTrend {
    /// Change from the first to the last bin mean, % per hour.
    pub slope_per_h: f64,
    /// Steps between consecutive bins that go the trend's way.
    pub steps_with: u32,
    /// Largest step between consecutive bins, as a share of the whole change
    /// (a drift is gradual; a sensor coming back to the truth is one step).
    pub largest_step: f64,
    /// Largest change between two readings within the trend, %.
    pub largest_jump: f64,
    /// Start of the first bin.
    pub since: i64,
    /// The least-squares slope of the means, % per hour, and its standard
    /// error from the residuals: how far the channel's own noise and the CA
    /// saw-tooth could have made the trend.
    pub fit_per_h: f64,
    pub fit_se: f64,
}

impl GasHistory {
    /// Counts a reading (or row) of `v` at `t` into [`Self::zero_share`].
    fn see_zero(&mut self, v: f64, t: i64) {
        const ZERO_TAU_MS: f64 = 12.0 * 3_600_000.0;
        let gap = if self.seen > 0 { t - self.back(0).0 } else { 0 };
        self.zero_n = self.zero_n.saturating_add(1);
        let w = (gap as f64 / ZERO_TAU_MS)
            .max(1.0 / f64::from(self.zero_n))
            .min(1.0);
        self.zero_share += (f64::from(u8::from(v <= 0.0)) - self.zero_share) * w;
    }

    /// Whether the channel reads 0 % now and lives there (most of its
    /// readings are 0 %, or most of them repeat): the bottom of its range,
    /// not a stuck value.
    pub fn at_floor(&self) -> bool {
        self.latest() <= 0.0 && (self.p_same() >= 0.6 || self.zero_share >= 0.5)
    }

    pub(crate) fn update(&mut self, v: f64, t: i64) {
        self.see_zero(v, t);
        if self.seen > 0 {
            let diff = v - self.latest();
            if diff == 0.0 {
                self.run += 1;
            } else {
                if self.short_of_stuck(self.run) {
                    self.learn(self.run as f64, 1.0);
                }
                self.run = 0;
                self.run_since = t;
            }
            self.diffs[((self.seen - 1) & 15) as usize] = diff;
        } else {
            self.run_since = t;
        }
        self.t[self.next] = t;
        self.v[self.next] = v;
        self.next = (self.next + 1) & GAS_MASK;
        self.seen += 1;
        let jump = if self.seen > 1 {
            (v - self.back(1).1).abs()
        } else {
            0.0
        };
        self.bin_add(t.div_euclid(GAS_BIN_MS), v, 1, jump);
    }

    /// Adds `n` readings summing to `sum` to the 10-minute bin `idx`; `jump`
    /// is the largest change between two of them.
    fn bin_add(&mut self, idx: i64, sum: f64, n: u32, jump: f64) {
        if idx != self.bin.0 {
            if self.bin.2 > 0 {
                if idx == self.bin.0 + 1 {
                    if self.nbins == GAS_BINS {
                        self.bins.copy_within(1.., 0);
                        self.bins_jump.copy_within(1.., 0);
                        self.bins_env.copy_within(1.., 0);
                        self.nbins -= 1;
                    }
                    self.bins[self.nbins] = self.bin.1 / self.bin.2 as f64;
                    self.bins_jump[self.nbins] = self.bin.3;
                    self.bins_env[self.nbins] = (self.level.low, self.level.high);
                    self.nbins += 1;
                } else {
                    // A gap in the data: the trend starts over.
                    self.nbins = 0;
                }
                self.pending = Some((self.bin.0 * GAS_BIN_MS, self.bin.1 / self.bin.2 as f64));
            }
            self.bin = (idx, 0.0, 0, 0.0);
        }
        self.bin.3 = self.bin.3.max(jump);
        self.bin.1 += sum;
        self.bin.2 += n;
    }

    /// One reefer-window row of this channel: its mean, the spread of its
    /// readings (`_min`, `_max`) when the row has it, the window's start and
    /// end and its reading count. What a row can show of the three findings:
    /// *stuck*, a run of rows whose readings were all equal (min = max) at one
    /// value, long in readings and unlikely for this channel (its learnt share
    /// of rows repeating the previous one); *noisy*, rows whose readings
    /// scatter far more than the box can change; *drifting*, the 10-minute
    /// means, count-weighted, with a row's spread standing for its largest jump.
    pub(crate) fn update_row(
        &mut self,
        mean: f64,
        span: Option<(f64, f64)>,
        from: i64,
        t: i64,
        count: u32,
    ) {
        self.see_zero(mean, t);
        self.rows = true;
        let n = count.max(1);
        self.row_count = n;
        let spread = span.map_or(f64::NAN, |(lo, hi)| hi - lo);
        // A row of one reading (5-minute readings in 1-minute windows) is a
        // reading: its change from the row before is a change between
        // readings, which the drift test must see (a CA box's CO2 scrub, a
        // 0.6 % step, read as a trend otherwise).
        let from_last = if n == 1 && self.seen > 0 {
            (mean - self.latest()).abs()
        } else {
            0.0
        };
        match span {
            Some((lo, hi)) if lo == hi => {
                if self.seen > 0 && lo == self.flat_value {
                    self.run += n;
                    self.row_run += 1;
                } else {
                    self.end_row_run();
                    self.run = n - 1;
                    self.run_since = from;
                    self.flat_value = lo;
                }
            }
            _ => {
                self.end_row_run();
                self.run = 0;
                self.run_since = t;
                self.flat_value = f64::NAN;
            }
        }
        self.spreads[(self.seen & 3) as usize] = spread;
        self.t[self.next] = t;
        self.v[self.next] = mean;
        self.next = (self.next + 1) & GAS_MASK;
        self.seen += 1;
        let jump = if spread.is_nan() { 0.0 } else { spread };
        self.bin_add(
            from.div_euclid(GAS_BIN_MS),
            mean * n as f64,
            n,
            jump.max(from_last),
        );
    }

    /// A run of still rows ended: learn it, unless it was long enough to be stuck.
    fn end_row_run(&mut self) {
        if self.seen > 0 && self.short_of_stuck(self.row_run) {
            self.learn(self.row_run as f64, 1.0);
        }
        self.row_run = 0;
    }

    /// How many of the last `k` (≤ 4) rows spread wider than `threshold`.
    pub fn wide_rows(&self, k: u64, threshold: f64) -> u32 {
        (0..k.min(4).min(self.seen))
            .filter(|i| self.spreads[((self.seen - 1 - i) & 3) as usize] > threshold)
            .count() as u32
    }

    /// Teaches the level the 10-minute mean that just completed, if the box
    /// was settled through it.
    /// `creep`: how far the envelope may follow a channel moving out of it
    /// per mean ([`LEVEL_CREEP`] in a CA box, 0 in a vented one).
    pub(crate) fn learn_level(&mut self, settled: bool, creep: f64) {
        if let Some((t, m)) = self.pending.take() {
            // The envelope follows only a channel moving away from it (a CA
            // box rebuilding its CO2), not one coming back (after a door).
            let prev = self.level.last_mean;
            let outward = if m > self.level.high {
                m > prev
            } else {
                m < prev
            };
            self.level.see(m, t);
            if settled {
                self.level.learn(m, if outward { creep } else { 0.0 });
            }
        }
    }

    /// The mean of the last `n` complete, consecutive 10-minute means, and
    /// whether every one of them lies on the same side of `base` (None until
    /// there are that many).
    pub fn recent_level(&self, n: usize, base: f64) -> Option<(f64, bool)> {
        if n == 0 || self.nbins < n {
            return None;
        }
        let b = &self.bins[self.nbins - n..self.nbins];
        let mean = b.iter().sum::<f64>() / n as f64;
        let side = (mean - base).signum();
        Some((mean, b.iter().all(|m| (m - base).signum() == side)))
    }

    /// The envelope of the level (low, high) when the oldest of the last `n`
    /// complete 10-minute bins completed (None until there are that many).
    pub fn envelope_before(&self, n: usize) -> Option<(f64, f64)> {
        (n > 0 && self.nbins >= n).then(|| self.bins_env[self.nbins - n])
    }

    /// Start of the oldest of the last `n` complete 10-minute bins.
    pub fn bins_since(&self, n: usize) -> i64 {
        (self.bin.0 - n as i64) * GAS_BIN_MS
    }

    /// The standard deviation of a reading about its neighbours, from the
    /// last 10 changes (a change of white noise has √2 its SD); 0 before that.
    pub fn reading_sd(&self) -> f64 {
        if self.rows || self.seen < 11 {
            return 0.0;
        }
        let newest = self.seen - 2;
        let ss: f64 = (0..10)
            .map(|k| self.diffs[((newest - k) & 15) as usize].powi(2))
            .sum();
        (ss / 10.0 / 2.0).sqrt()
    }

    fn learn(&mut self, sames: f64, changes: f64) {
        self.sames += sames;
        self.changes += changes;
        // Forget slowly (about the last 400 readings), so the estimate follows
        // the channel's level (near air, CO2 noise is smaller than its display step).
        let total = self.sames + self.changes;
        if total > 400.0 {
            let k = 400.0 / total;
            self.sames *= k;
            self.changes *= k;
        }
    }

    /// Share of readings equal to the one before, on a healthy stretch of this
    /// channel (fed by rows: share of rows repeating the previous one).
    pub fn p_same(&self) -> f64 {
        (self.sames / (self.sames + self.changes)).clamp(0.01, 0.99)
    }

    /// Whether a run of `run` equal readings (or still rows) is shorter than
    /// [`Self::stuck_run`]: most runs are a reading or two, below any stuck
    /// run, and skip its logarithms.
    #[inline]
    pub fn short_of_stuck(&self, run: u32) -> bool {
        run < SHORTEST_STUCK_RUN || run < self.stuck_run()
    }

    /// Equal readings (or still rows) in a row that a healthy channel makes
    /// with odds below [`STUCK_ODDS_PER_DAY`] scaled to its interval (the
    /// last one: 1 s before there are two readings).
    pub fn stuck_run(&self) -> u32 {
        let gap = if self.seen >= 2 {
            (self.back(0).0 - self.back(1).0).max(1_000)
        } else {
            1_000
        };
        let odds = (STUCK_ODDS_PER_DAY * gap as f64 / 86_400_000.0).min(STUCK_ODDS_MAX);
        (odds.ln() / self.p_same().ln()).ceil() as u32
    }

    /// The change from the reading before to the latest (None before two readings).
    pub fn last_diff(&self) -> Option<f64> {
        (self.seen >= 2 && !self.rows).then(|| self.diffs[((self.seen - 2) & 15) as usize])
    }

    /// The `k`-th most recent reading (0 = the latest).
    pub fn back(&self, k: usize) -> (i64, f64) {
        let i = (self.next + GAS_RING - 1 - k) & GAS_MASK;
        (self.t[i], self.v[i])
    }

    pub fn latest(&self) -> f64 {
        self.back(0).1
    }

    /// Mean of the last complete 10-minute bin (None until one is complete,
    /// and again after a gap in the data).
    pub fn last_mean(&self) -> Option<f64> {
        self.nbins.checked_sub(1).map(|i| self.bins[i])
    }

    /// The trend over the last `GAS_BINS` complete 10-minute bins (None until there are that many).
    pub fn trend(&self) -> Option<GasTrend> {
        self.trend_over(GAS_BINS)
    }

    /// The trend over the last `n` (2..=`GAS_BINS`) complete 10-minute bins
    /// (None until there are that many).
    pub fn trend_over(&self, n: usize) -> Option<GasTrend> {
        let n = n.clamp(2, GAS_BINS);
        if self.nbins < n {
            return None;
        }
        let b = &self.bins[self.nbins - n..self.nbins];
        let net = b[n - 1] - b[0];
        let steps_with = b.windows(2).filter(|w| (w[1] - w[0]) * net > 0.0).count() as u32;
        let largest = b
            .windows(2)
            .map(|w| (w[1] - w[0]).abs())
            .fold(0.0, f64::max);
        let span_h = (n - 1) as f64 * GAS_BIN_MS as f64 / 3_600_000.0;
        let jumps = &self.bins_jump[self.nbins - n..self.nbins];
        let (fit_per_h, fit_se) = fit(b, GAS_BIN_MS as f64 / 3_600_000.0);
        Some(GasTrend {
            fit_per_h,
            fit_se,
            slope_per_h: net / span_h,
            steps_with,
            largest_jump: jumps.iter().skip(1).fold(0.0, |a, &b| a.max(b)),
            largest_step: if net == 0.0 { 1.0 } else { largest / net.abs() },
            since: (self.bin.0 - n as i64) * GAS_BIN_MS,
        })
    }

    /// (jumps larger than `threshold` among the last `k` (≤ 10) changes,
    /// sign changes between consecutive large jumps).
    pub fn jumps(&self, threshold: f64, k: u64) -> (u32, u32) {
        let k = k.clamp(1, 10);
        if self.seen < k + 1 {
            return (0, 0);
        }
        let mut large = 0;
        let mut flips = 0;
        let mut last_sign = 0i8;
        let newest = self.seen - 2;
        for back in (0..k).rev() {
            let d = self.diffs[((newest - back) & 15) as usize];
            if d.abs() > threshold {
                large += 1;
                let s = if d > 0.0 { 1 } else { -1 };
                if last_sign != 0 && s != last_sign {
                    flips += 1;
                }
                last_sign = s;
            }
        }
        (large, flips)
    }
}

/// Least-squares slope of `y` sampled every `dx`, and its standard error.
fn fit(y: &[f64], dx: f64) -> (f64, f64) {
    let n = y.len() as f64;
    let xm = (n - 1.0) / 2.0 * dx;
    let ym = y.iter().sum::<f64>() / n;
    let (mut sxx, mut sxy) = (0.0, 0.0);
    for (i, v) in y.iter().enumerate() {
        let dxi = i as f64 * dx - xm;
        sxx += dxi * dxi;
        sxy += dxi * (v - ym);
    }
    let slope = sxy / sxx;
    let sse: f64 = y
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let r = v - (ym + slope * (i as f64 * dx - xm));
            r * r
        })
        .sum();
    let se = if n > 2.0 {
        (sse / (n - 2.0) / sxx).sqrt()
    } else {
        0.0
    };
    (slope, se)
}

/// The fleet's baseline of a gas channel's noise, per segment (a product in
/// this input): a running median of the change between two readings (a
/// sign-driven quantile estimate, moved 2 % up or down per reading, so a
/// minority of noisy sensors or doors does not move it). A channel is noisy
/// when it jumps far beyond its peers, not beyond a fixed size: a fleet of
/// cheap sensors is as noisy as its peers, and normal.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub struct PeerNoise {
    median: [f64; 2],
    seen: u64,
}

/// The median change kept never falls below this, %: readings to 0.01 %
/// repeat often, and a median of 0 would say nothing.
const PEER_FLOOR: f64 = 0.005;
/// Readings of a segment learnt with large steps.
const PEER_FAST: u64 = 300;
/// Readings a segment has shown when its noise counts as known.
const PEER_KNOWN: u64 = 40;

impl Default for PeerNoise {
    fn default() -> Self {
        PeerNoise {
            median: [PEER_FLOOR; 2],
            seen: 0,
        }
    }
}

impl PeerNoise {
    /// Learns the latest change of each gas channel of one container (readings only).
    pub fn learn(&mut self, o2: Option<f64>, co2: Option<f64>) {
        for (m, d) in self.median.iter_mut().zip([o2, co2]) {
            if let Some(d) = d {
                let d = d.abs();
                // Large steps while the segment is new, so that the estimate
                // climbs from the floor to a cheap cell's noise (0.005 to
                // 0.15 %) in some 25 changes; small ones after.
                let step = if self.seen < PEER_FAST { 1.15 } else { 1.02 };
                *m = if d > *m {
                    *m * step
                } else {
                    (*m / step).max(PEER_FLOOR)
                };
            }
        }
        self.seen += 1;
    }

    /// Learns from one window row of `n` readings whose channels spread
    /// (max − min) as given: the range of n readings is d2(n) standard
    /// deviations of a reading on average ([`range_d2`]), and a change
    /// between two readings has √2 that: the estimate of a change it stands
    /// for is learnt like one. Rows of one reading are readings ([`Self::learn`]).
    pub fn learn_row(&mut self, n: u32, o2: Option<f64>, co2: Option<f64>) {
        if n >= 2 {
            let change = |spread: f64| spread / range_d2(n) * std::f64::consts::SQRT_2 * 0.674;
            self.learn(o2.map(change), co2.map(change));
        }
    }

    /// The standard deviation of a peer's change between two readings, from
    /// the median change (|N(0, σ)| has median 0.674 σ). 0 for a segment
    /// that learns nothing (window rows without `_min`/`_max`: the rule's
    /// own limits apply);
    /// infinite while a segment of readings is still young, so that no
    /// jump counts before the fleet's noise is known: with the fixed jump
    /// alone, a small fleet of cheap cells (`reefer-sim --sensors basic
    /// --containers 5`) had its CO2 called noisy 0.2-0.6 times a
    /// container-day in its first day.
    pub fn sigma(&self) -> (f64, f64) {
        match self.seen {
            0 => (0.0, 0.0),
            n if n < PEER_KNOWN => (f64::INFINITY, f64::INFINITY),
            _ => (self.median[0] / 0.674, self.median[1] / 0.674),
        }
    }
}

/// The mean range of `n` normal readings in standard deviations (Tippett's
/// d2: 1.128 for 2, 2.534 for 6, 3.078 for 10, 4.639 for 60), interpolated
/// in ln n between the tabulated sizes; 0 for fewer than 2.
pub fn range_d2(n: u32) -> f64 {
    const D2: [(f64, f64); 20] = [
        (2.0, 1.128),
        (3.0, 1.693),
        (4.0, 2.059),
        (5.0, 2.326),
        (6.0, 2.534),
        (7.0, 2.704),
        (8.0, 2.847),
        (9.0, 2.970),
        (10.0, 3.078),
        (15.0, 3.472),
        (20.0, 3.735),
        (25.0, 3.931),
        (30.0, 4.086),
        (40.0, 4.322),
        (50.0, 4.498),
        (60.0, 4.639),
        (100.0, 5.015),
        (200.0, 5.492),
        (500.0, 6.073),
        (1000.0, 6.483),
    ];
    if n < 2 {
        return 0.0;
    }
    let x = f64::from(n).min(1000.0);
    let i = D2.iter().position(|&(k, _)| k >= x).unwrap_or(D2.len() - 1);
    if i == 0 || D2[i].0 == x {
        return D2[i].1;
    }
    let ((k0, d0), (k1, d1)) = (D2[i - 1], D2[i]);
    d0 + (d1 - d0) * (x / k0).ln() / (k1 / k0).ln()
}

/// A draw under this, kW, is the fans alone (a chilled unit's three fans draw
/// about 1 kW; its compressor at work, 3 kW and more).
pub const FANS_ONLY_KW: f64 = 1.5;
/// A gap in a container's data longer than this is taken for a power cut, ms.
pub const POWER_GAP_MS: i64 = 15 * 60_000;
/// Odds that a healthy channel repeats its value for a whole stuck-length
/// run, per day of readings: a run may begin at any reading, so the odds of
/// one run scale with the interval (10⁻⁸ for a 5-minute reading, 3.3 × 10⁻¹⁰
/// for a 10-second one), and false alerts per container-day do not grow with
/// the reading rate ...
const STUCK_ODDS_PER_DAY: f64 = 2.88e-6;
/// ... but never above this for one run (a channel's repeats are not quite
/// independent: the true level wanders across the display step).
const STUCK_ODDS_MAX: f64 = 1e-8;

/// A lower bound of [`GasHistory::stuck_run`]: odds of at most 10^-8 at a
/// repeat share of at most 0.99 take ln(10^-8) / ln(0.01) = 4 readings or more.
const SHORTEST_STUCK_RUN: u32 = 3;
/// A gas channel, for the rules that judge one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gas {
    O2,
    Co2,
}

/// What the rules may know of a container's past.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct History {
    pub readings: u64,
    /// Time of the container's first observation (of this session).
    #[serde(default)]
    pub first_t: i64,
    pub last_t: i64,
    /// Time of the observation before this one (`i64::MIN`: none): the
    /// length of a gap in the data.
    pub prev_t: i64,
    /// Consecutive readings with exactly the same temperature, and since when.
    pub temp_same: u32,
    pub temp_same_since: i64,
    /// The supply-air sensor moved while the temperature stood still.
    pub supply_moved: bool,
    prev_temp: f64,
    prev_supply: Option<f64>,
    pub o2: GasHistory,
    pub co2: GasHistory,
    /// Last time a defrost, an open door, a powerless unit was seen.
    pub last_defrost: i64,
    pub last_door: i64,
    pub last_power_off: i64,
    /// The box has been inside its band at least once (pull-down is over).
    pub reached_band: bool,
    /// Lowest (for a box above its band) temperature seen while pulling down.
    pub pull_down_best: f64,
    /// Since when the box has been well inside its band while pulling down
    /// (`i64::MIN`: it is not): it must stay there 10 minutes to have arrived.
    inside_band_since: i64,
    /// Temperatures sampled at least 20 s apart, the last 8 (a few minutes at any interval).
    recent: [(i64, f64); 8],
    recent_next: usize,
    /// The return air's extremes over the last 6 minutes, at any interval
    /// (the door fallback's window).
    #[serde(default)]
    span: Span,
    /// Temperatures sampled at least 5 min apart, the last 8 (about 40 min).
    slow: [(i64, f64); 8],
    /// Humidity at those samples (NaN when absent).
    slow_rh: [f64; 8],
    slow_next: usize,
    /// Draw averaged over about 10 min (exponentially), kW.
    pub kw_avg: Option<f64>,
    /// Share of readings at a fans-only draw (under [`FANS_ONLY_KW`]),
    /// averaged the same way: a tripping compressor runs one reading in three.
    #[serde(default)]
    pub low_kw_share: f64,
    /// Last time the return air jumped by 2 °C or more within 3 min (a door, most likely).
    pub last_jump: i64,
}

impl Default for History {
    fn default() -> Self {
        History {
            readings: 0,
            first_t: 0,
            last_t: i64::MIN,
            prev_t: i64::MIN,
            temp_same: 0,
            temp_same_since: 0,
            supply_moved: false,
            prev_temp: f64::NAN,
            prev_supply: None,
            o2: GasHistory::default(),
            co2: GasHistory::default(),
            last_defrost: i64::MIN / 2,
            last_door: i64::MIN / 2,
            last_power_off: i64::MIN / 2,
            reached_band: false,
            pull_down_best: f64::INFINITY,
            inside_band_since: i64::MIN,
            recent: [(i64::MIN / 2, f64::NAN); 8],
            recent_next: 0,
            span: Span::default(),
            slow: [(i64::MIN / 2, f64::NAN); 8],
            slow_rh: [f64::NAN; 8],
            slow_next: 0,
            kw_avg: None,
            low_kw_share: 0.0,
            last_jump: i64::MIN / 2,
        }
    }
}

impl History {
    fn update_fallback(&mut self, o: &Obs) {
        let t = o.t_ms;
        let last_slow = self.slow[(self.slow_next + 7) & 7].0;
        if t - last_slow >= 300_000 {
            self.slow[self.slow_next] = (t, o.temperature);
            self.slow_rh[self.slow_next] = o.humidity.unwrap_or(f64::NAN);
            self.slow_next = (self.slow_next + 1) & 7;
        }
        // A row's draw is its mean (`kilowatts` is its maximum, for power_off).
        let kw = match o.row {
            Some(r) => r.kw_mean.or(o.kilowatts),
            None => o.kilowatts,
        };
        if let Some(kw) = kw {
            let dt = t.saturating_sub(self.last_t).clamp(0, 600_000);
            let a = if self.readings == 0 {
                1.0
            } else {
                kw_weight(dt)
            };
            self.kw_avg = Some(self.kw_avg.map_or(kw, |m| m + a * (kw - m)));
            let low = if kw < FANS_ONLY_KW { 1.0 } else { 0.0 };
            self.low_kw_share += a * (low - self.low_kw_share);
        }
        if (PLAUSIBLE_LOW..=PLAUSIBLE_HIGH).contains(&o.temperature)
            && self
                .low_since(t, 3 * 60_000)
                .is_some_and(|(_, low)| o.temperature - low >= 2.0)
        {
            self.last_jump = t;
        }
    }
}

/// The lowest plausible sample of `samples` taken within `window_ms` before
/// `now`, and its time (the earliest of equal lows).
fn lowest_since(samples: &[(i64, f64)], now: i64, window_ms: i64) -> Option<(i64, f64)> {
    let mut best: Option<(i64, f64)> = None;
    for &(t, v) in samples {
        if t >= now || now - t > window_ms || !(PLAUSIBLE_LOW..=PLAUSIBLE_HIGH).contains(&v) {
            continue;
        }
        if best.is_none_or(|(_, b)| v < b) {
            best = Some((t, v));
        }
    }
    best
}

/// How far back [`Span`] keeps the return air's extremes, ms.
pub const SPAN_MS: i64 = 6 * 60_000;
/// A [`Span`] bucket's length: eight whole ones cover [`SPAN_MS`], a ninth
/// holds the latest readings.
const SPAN_BUCKET_MS: i64 = SPAN_MS / 8;

/// The return air's lowest and highest reading per 45-second bucket, the
/// last nine buckets (started at a reading): a window's extremes at any
/// interval. Eight readings sampled 20 s apart span only 2 min 40 s at 10 s.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub struct Span {
    /// (first reading's time, lowest, highest), oldest overwritten first.
    buckets: [(i64, f64, f64); 9],
    next: usize,
}

impl Default for Span {
    fn default() -> Self {
        Span {
            buckets: [(i64::MIN / 2, f64::NAN, f64::NAN); 9],
            next: 0,
        }
    }
}

impl Span {
    fn add(&mut self, t: i64, v: f64) {
        let last = (self.next + 8) % 9;
        let b = &mut self.buckets[last];
        if (0..SPAN_BUCKET_MS).contains(&(t - b.0)) {
            b.1 = b.1.min(v);
            b.2 = b.2.max(v);
        } else {
            self.buckets[self.next] = (t, v, v);
            self.next = (self.next + 1) % 9;
        }
    }

    /// Extremes of the buckets begun within `window_ms` up to `now`.
    fn since(&self, now: i64, window_ms: i64) -> Option<(f64, f64)> {
        let mut out: Option<(f64, f64)> = None;
        for &(t, lo, hi) in &self.buckets {
            if t > now || now - t > window_ms {
                continue;
            }
            out = Some(out.map_or((lo, hi), |(a, b)| (a.min(lo), b.max(hi))));
        }
        out
    }
}

/// Weight of a new reading in the 10-minute mean of the draw, for a gap of
/// `dt` ms (cached: the interval rarely changes).
fn kw_weight(dt: i64) -> f64 {
    thread_local! {
        static LAST: std::cell::Cell<(i64, f64)> = const { std::cell::Cell::new((-1, 0.0)) };
    }
    LAST.with(|c| {
        let (d, w) = c.get();
        if d == dt {
            return w;
        }
        let w = 1.0 - (-(dt as f64) / 600_000.0).exp();
        c.set((dt, w));
        w
    })
}

impl History {
    /// The slow sample (5 min apart) closest to `ago_ms` before `now`, within 3 min of it.
    pub fn slow_at(&self, now: i64, ago_ms: i64) -> Option<f64> {
        self.slow
            .iter()
            .filter(|(t, v)| {
                (now - t - ago_ms).abs() <= 180_000 && (PLAUSIBLE_LOW..=PLAUSIBLE_HIGH).contains(v)
            })
            .min_by_key(|(t, _)| (now - t - ago_ms).abs())
            .map(|(_, v)| *v)
    }

    /// Largest change of humidity between now (`rh`) and the samples of the last `window_ms`.
    pub fn humidity_swing(&self, now: i64, rh: f64, window_ms: i64) -> f64 {
        self.slow
            .iter()
            .zip(&self.slow_rh)
            .filter(|((t, _), h)| *t < now && now - t <= window_ms && h.is_finite())
            .map(|(_, h)| (rh - h).abs())
            .fold(0.0, f64::max)
    }

    /// Lowest plausible temperature sampled (5 min apart) within `window_ms` before `now`.
    pub fn slow_low_since(&self, now: i64, window_ms: i64) -> Option<(i64, f64)> {
        lowest_since(&self.slow, now, window_ms)
    }

    /// The lowest and highest plausible return air of the readings within
    /// `window_ms` up to `now` (the latest included), exact at any interval
    /// for windows up to [`SPAN_MS`].
    pub fn span_since(&self, now: i64, window_ms: i64) -> Option<(f64, f64)> {
        self.span.since(now, window_ms)
    }

    /// Lowest plausible temperature sampled within `window_ms` before `now`, and its time.
    pub fn low_since(&self, now: i64, window_ms: i64) -> Option<(i64, f64)> {
        lowest_since(&self.recent, now, window_ms)
    }

    /// A window row's temperature: a row whose readings were all equal
    /// (`temperature_min` = `_max`) continues a run of equal readings at that
    /// value by its `count`; any other row ends it. The supply air moved when
    /// its own spread or its mean did.
    fn update_row_temperature(&mut self, o: &Obs, count: u32) {
        let supply_spread = o
            .row
            .and_then(|r| r.supply_span)
            .is_some_and(|(lo, hi)| lo != hi);
        if o.temp_min == o.temp_max {
            if self.temp_same > 0 && o.temp_min == self.prev_temp {
                self.temp_same += count;
                let mean_moved = o.supply.is_some() && o.supply != self.prev_supply;
                self.supply_moved |= supply_spread || mean_moved;
            } else {
                self.temp_same = count;
                self.temp_same_since = o.from_ms;
                self.supply_moved = supply_spread;
            }
        } else {
            self.temp_same = 0;
            self.supply_moved = false;
        }
        self.prev_temp = o.temp_min;
    }

    /// The history of one gas channel.
    pub fn gas_mut(&mut self, gas: Gas) -> &mut GasHistory {
        match gas {
            Gas::O2 => &mut self.o2,
            Gas::Co2 => &mut self.co2,
        }
    }

    /// Whether `o`'s gases are judged as a reading: a reading, or a window
    /// row of a single reading (readings sparser than the window: 5-minute
    /// data in 1-minute windows) while the container's gases have not come
    /// in rows of several. The row tests cannot see a row of one's changes,
    /// repeats and noise between readings; a dense stream keeps them.
    pub fn gas_as_readings(&self, o: &Obs) -> bool {
        o.row.is_none() || (o.single_reading() && !self.o2.rows && !self.co2.rows)
    }

    pub(super) fn update(&mut self, o: &Obs, band: &Band) {
        let t = o.t_ms;
        if let Some(row) = o.row {
            self.update_row_temperature(o, row.count.max(1));
        } else {
            if o.temperature == self.prev_temp {
                self.temp_same += 1;
                if o.supply.is_some() && o.supply != self.prev_supply {
                    self.supply_moved = true;
                }
            } else {
                self.temp_same = 1;
                self.temp_same_since = t;
                self.supply_moved = false;
            }
            self.prev_temp = o.temperature;
        }
        self.prev_supply = o.supply;
        match o.row {
            Some(row) if !self.gas_as_readings(o) => {
                if let Some(v) = o.oxygen {
                    self.o2.update_row(v, row.o2_span, o.from_ms, t, row.count);
                }
                if let Some(v) = o.co2 {
                    self.co2
                        .update_row(v, row.co2_span, o.from_ms, t, row.count);
                }
            }
            _ => {
                if let Some(v) = o.oxygen {
                    self.o2.update(v, t);
                }
                if let Some(v) = o.co2 {
                    self.co2.update(v, t);
                }
            }
        }
        if o.defrosting() {
            self.last_defrost = t;
        }
        if o.door_open == Some(true) {
            self.last_door = t;
        }
        // A unit without power mostly falls silent (its modem talks over the
        // power cable): a long gap is as much a power cut as a reading of 0 kW.
        // (A row's gap runs from the last row's end to its start.)
        // A low draw is a cut only when nothing shows power, as for the
        // power_off rule: a basic meter reads a frozen unit's fans-only draw
        // as 0.0 kW now and then, and took every such reading for a cut
        // (its gas channels were then never settled).
        let gap = self.readings > 0 && o.from_ms - self.last_t > POWER_GAP_MS;
        let dead = o.kilowatts.is_some_and(|k| k <= 0.05) || o.mode == Some(Mode::Off);
        if gap || (dead && !o.shows_power()) {
            self.last_power_off = t;
        }
        // The gas levels learn only from a settled box (after the fallbacks
        // below have seen this reading's jump of the air: learnt next reading).
        let disturbed = self.last_door.max(self.last_power_off).max(self.last_jump);
        let settled = t - disturbed >= LEVEL_SETTLE_MS
            && self.readings > 0
            && t - self.first_t >= 60 * 60_000;
        // A CA box's atmosphere moves by itself (its CO2 builds up for a
        // day after loading); a vented box's is held near air.
        let creep = if band.ca { LEVEL_CREEP } else { 0.0 };
        self.o2.learn_level(settled, creep);
        self.co2.learn_level(settled, creep);
        let plausible = (PLAUSIBLE_LOW..=PLAUSIBLE_HIGH).contains(&o.temperature);
        if !self.reached_band && band.known && plausible && !o.defrosting() {
            // Judged on the sensor the unit controls (supply air for chilled cargo).
            let (t, high) = crate::detect::rules::controlled(o, band);
            // Well inside (by 0.5 °C): a warm load pulling down for days
            // hovers at the edge of the band, in and out with the noise.
            // For 10 minutes and two readings: a noisy probe (0.2 °C) on a
            // load hovering near its band reads 0.5 °C inside now and then.
            if t <= high - 0.5 && band.low.is_none_or(|l| t >= l) {
                if self.inside_band_since == i64::MIN {
                    self.inside_band_since = o.t_ms;
                } else if o.t_ms - self.inside_band_since >= 10 * 60_000 {
                    self.reached_band = true;
                }
            } else {
                self.inside_band_since = i64::MIN;
                self.pull_down_best = self.pull_down_best.min(t);
            }
        }
        // The door and compressor fallbacks' history, kept only for readings
        // that lack what the direct tests use (it costs time on every reading).
        let compressor_fallback = o.mode.is_none() || o.supply.is_none();
        if compressor_fallback {
            self.update_fallback(o);
        }
        if compressor_fallback || o.door_open.is_none() {
            let last = self.recent[(self.recent_next + 7) & 7].0;
            if t - last >= 20_000 {
                self.recent[self.recent_next] = (t, o.temperature);
                self.recent_next = (self.recent_next + 1) & 7;
            }
            if (PLAUSIBLE_LOW..=PLAUSIBLE_HIGH).contains(&o.temperature) {
                self.span.add(t, o.temperature);
            }
        }
        if self.readings == 0 {
            self.first_t = t;
        }
        self.readings += 1;
        self.prev_t = if self.readings > 1 {
            self.last_t
        } else {
            i64::MIN
        };
        self.last_t = t;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_stuck_run_is_as_short_as_the_bound_that_skips_it() {
        // The shortest stuck run: the lowest repeat share (0.01) and the
        // highest odds (any gap of a day or more hits the cap).
        for (sames, changes) in [(0.0, 1e6), (1e6, 0.0), (1.0, 1.0)] {
            for gap in [1_000, 10_000, 300_000, 86_400_000 * 30] {
                let mut g = GasHistory {
                    sames,
                    changes,
                    ..GasHistory::default()
                };
                g.update(5.0, 0);
                g.update(5.1, gap);
                assert!(
                    g.stuck_run() > SHORTEST_STUCK_RUN,
                    "{sames} {changes} {gap}"
                );
            }
        }
    }

    #[test]
    fn a_row_of_one_reading_counts_its_change_from_the_row_before_as_a_jump() {
        // 5-minute readings in 1-minute windows: one reading per row, and a
        // CA scrub takes CO2 from 6.2 % to 5.4 % between two of them.
        let mut g = GasHistory::default();
        let min = 60_000;
        for k in 0..20i64 {
            let v = if k < 10 { 6.2 } else { 5.4 };
            let t = k * 5 * min;
            g.update_row(v, Some((v, v)), t, t + min, 1);
        }
        let tr = g.trend_over(8).expect("eight bins");
        assert!((tr.largest_jump - 0.8).abs() < 1e-9, "{}", tr.largest_jump);
        // Near miss: rows of six readings each keep their own spread (the
        // change between two means is not a change between readings).
        let mut g = GasHistory::default();
        for k in 0..100i64 {
            let v = if k < 50 { 6.2 } else { 5.4 };
            g.update_row(v, Some((v - 0.05, v + 0.05)), k * min, (k + 1) * min, 6);
        }
        let tr = g.trend_over(8).expect("eight bins");
        assert!(tr.largest_jump < 0.2, "{}", tr.largest_jump);
    }

    #[test]
    fn a_channel_that_mostly_reads_zero_lives_at_the_floor_and_one_that_came_down_does_not() {
        // A cheap CO2 cell biased low near air: 0.0 % with a rare 0.1 %, every
        // 10 s, long runs at 0 never learnt as repeats.
        let mut g = GasHistory::default();
        for i in 0..3000 {
            let v = if i % 700 == 350 { 0.1 } else { 0.0 };
            g.update(v, i * 10_000);
        }
        assert!(g.zero_share > 0.9, "{g:?}");
        assert!(g.at_floor());
        // A CA box's CO2 at 5 % that comes down to 0 % and stays there.
        let mut g = GasHistory::default();
        for i in 0..3000 {
            g.update(if i % 2 == 0 { 5.0 } else { 5.1 }, i * 10_000);
        }
        for i in 3000..3060 {
            g.update(0.0, i * 10_000);
        }
        assert!(g.zero_share < 0.1, "{}", g.zero_share);
        assert!(!g.at_floor());
    }

    #[test]
    fn the_mean_range_of_n_readings_follows_tippett_s_table() {
        assert_eq!(range_d2(1), 0.0);
        assert_eq!(range_d2(2), 1.128);
        assert_eq!(range_d2(6), 2.534);
        assert_eq!(range_d2(60), 4.639);
        // Between tabulated sizes, in ln n: d2(12) is 3.258.
        assert!((range_d2(12) - 3.258).abs() < 0.01, "{}", range_d2(12));
        assert_eq!(range_d2(5000), 6.483);
        // A row learnt by the peers stands for changes of √2 a reading's SD.
        let mut p = PeerNoise::default();
        for _ in 0..2000 {
            p.learn_row(6, Some(2.534 * 0.2), Some(0.0));
        }
        let (o2, co2) = p.sigma();
        assert!((o2 - 0.2 * std::f64::consts::SQRT_2).abs() < 0.01, "{o2}");
        assert!(co2 < 0.01, "{co2}");
    }

    #[test]
    fn a_zero_kw_reading_is_a_power_cut_only_when_nothing_shows_power() {
        let band = Band::default();
        let reading = |t: i64, kw: f64, fan: bool, mode: Option<Mode>| Obs {
            container_id: "C1",
            product_id: "P08",
            t_ms: t,
            from_ms: t,
            temperature: -70.0,
            kilowatts: Some(kw),
            fan_1: Some(fan),
            mode,
            ..Obs::default()
        };
        let mut h = History::default();
        h.update(&reading(0, 7.1, true, Some(Mode::FullCool)), &band);
        // A frozen unit between compressor runs: its fans run and its
        // controller says fans_only, while a cheap meter reads 0.01 kW.
        h.update(&reading(300_000, 0.01, true, Some(Mode::FansOnly)), &band);
        assert!(h.last_power_off < 0, "{}", h.last_power_off);
        // Near misses: 0 kW with nothing running, or the controller reporting off.
        h.update(&reading(600_000, 0.01, false, None), &band);
        assert_eq!(h.last_power_off, 600_000);
        h.update(&reading(900_000, 0.3, false, Some(Mode::Off)), &band);
        assert_eq!(h.last_power_off, 900_000);
    }

    #[test]
    fn rows_of_a_moving_channel_teach_that_still_rows_are_rare_and_a_stuck_run_is_counted_in_readings(
    ) {
        let mut g = GasHistory::default();
        let row = |i: i64| (i * 60_000, (i + 1) * 60_000);
        for i in 0..100 {
            let (from, t) = row(i);
            let m = 3.0 + 0.01 * (i % 5) as f64;
            g.update_row(m, Some((m - 0.05, m + 0.05)), from, t, 6);
        }
        assert!(g.rows && g.stuck_run() <= 12, "{}", g.stuck_run());
        assert_eq!(g.wide_rows(3, 0.5), 0);
        for i in 100..115 {
            let (from, t) = row(i);
            g.update_row(4.2, Some((4.2, 4.2)), from, t, 6);
        }
        assert_eq!((g.row_run, g.run, g.run_since), (14, 89, 100 * 60_000));
        // A noisy one scatters within each row.
        for i in 115..118 {
            let (from, t) = row(i);
            g.update_row(4.0, Some((2.5, 5.5)), from, t, 6);
        }
        assert_eq!((g.wide_rows(3, 1.2), g.run), (3, 0));
    }

    #[test]
    fn a_channel_s_level_learns_its_settled_means_keeps_a_step_out_and_notes_when_it_left() {
        let mut g = GasHistory::default();
        let min = 60_000;
        // 8 h of a CA box's CO2 saw-tooth between 5.0 and 6.5 %, every minute, settled.
        let tooth = |i: i64| 5.0 + 1.5 * ((i % 180) as f64 / 180.0);
        for i in 0..480 {
            g.update(tooth(i), i * min);
            g.learn_level(true, 0.0);
        }
        let (base, spread) = g.level.known(LEVEL_SHIFT_WARM).unwrap();
        assert!((base - 5.75).abs() < 0.3 && spread > 0.1, "{:?}", g.level);
        assert!(g.level.low < 5.15 && g.level.high > 6.3, "{:?}", g.level);
        // Near miss: a scrub to the bottom of the tooth stays inside.
        assert!(g.level.left_t < 0, "{:?}", g.level);
        // A step to 2 % leaves it, is not learnt, and is noted as a step.
        for i in 480..520 {
            g.update(2.0, i * min);
            g.learn_level(true, 0.0);
        }
        assert_eq!(g.level.left_t, 480 * min, "{:?}", g.level);
        assert!(
            g.level.left_step < -3.0 && g.level.outside > 0,
            "{:?}",
            g.level
        );
        // (the last tooth mean is learnt at the first reading after it; a step mean would move it 0.1)
        assert!((g.level.base - base).abs() < 0.03, "{:?}", g.level);
        let (mean, one_side) = g.recent_level(3, base).unwrap();
        assert!((mean - 2.0).abs() < 1e-9 && one_side);
    }

    #[test]
    fn a_drift_does_not_drag_the_envelope_a_ca_rebuild_and_a_saw_tooth_peak_do() {
        let min = 60_000;
        // 8 h of a channel steady around 5 % (±0.1), every minute, settled.
        let settle = |g: &mut GasHistory, creep: f64| {
            for i in 0..480 {
                g.update(5.0 + 0.1 * ((i % 20) as f64 / 10.0 - 1.0), i * min);
                g.learn_level(true, creep);
            }
            g.level.high
        };
        // Then 4 h climbing at `per_h` %/h.
        let climb = |g: &mut GasHistory, creep: f64, per_h: f64| {
            for i in 480..720 {
                g.update(5.0 + per_h * (i - 480) as f64 / 60.0, i * min);
                g.learn_level(true, creep);
            }
        };
        // A vented box: a slow drift (0.3 %/h) does not widen the envelope,
        // so the channel has left its level, 1.2 % above it after 4 h.
        let mut g = GasHistory::default();
        let high = settle(&mut g, 0.0);
        climb(&mut g, 0.0, 0.3);
        assert!(g.level.high <= high + 1e-9, "{high} {:?}", g.level);
        assert!(g.level.left_t > 480 * min, "{:?}", g.level);
        // A CA box: its CO2 rebuilding at 0.3 %/h is followed (0.4 %/h) ...
        let mut g = GasHistory::default();
        settle(&mut g, LEVEL_CREEP);
        climb(&mut g, LEVEL_CREEP, 0.3);
        assert!(g.level.high > 6.0, "{:?}", g.level);
        assert!(g.level.left_t < 0, "{:?}", g.level);
        // ... a drift at 1.2 %/h is not: it leaves the envelope behind.
        let mut g = GasHistory::default();
        settle(&mut g, LEVEL_CREEP);
        climb(&mut g, LEVEL_CREEP, 1.2);
        assert!(g.level.high < 7.0, "{:?}", g.level);
        assert!(g.level.left_t > 480 * min, "{:?}", g.level);
        // A peak that comes back joins the envelope once it is back.
        let mut g = GasHistory::default();
        let high = settle(&mut g, 0.0);
        for i in 480..600 {
            let v = if i < 540 { 5.6 } else { 5.0 };
            g.update(v, i * min);
            g.learn_level(true, 0.0);
        }
        assert!(g.level.high > high + 0.4, "{high} {:?}", g.level);
    }

    #[test]
    fn gas_history_learns_repeats_trends_and_jumps() {
        // A channel that changes at every other reading learns p_same ≈ 0.5.
        let mut g = GasHistory::default();
        for i in 0..400 {
            g.update(3.0 + 0.01 * ((i / 2) % 3) as f64, i * 60_000);
        }
        assert!((g.p_same() - 0.5).abs() < 0.05, "{}", g.p_same());
        assert!((30..=36).contains(&g.stuck_run()), "{}", g.stuck_run());
        // Then it sticks: the run grows, the estimate does not learn from it.
        for i in 400..450 {
            g.update(4.2, i * 60_000);
        }
        assert_eq!((g.run, g.run_since), (49, 400 * 60_000));
        assert!(g.p_same() < 0.55);
        // A steady climb of 1.2 %/h shows in the 10-minute means.
        let mut g = GasHistory::default();
        for i in 0..100 {
            g.update(
                5.0 + 0.02 * i as f64 + 0.05 * ((i % 3) as f64 - 1.0),
                i * 60_000,
            );
        }
        let tr = g.trend().unwrap();
        assert!(
            (tr.slope_per_h - 1.2).abs() < 0.05 && tr.steps_with == 7,
            "{tr:?}"
        );
        let mut g = GasHistory::default();
        g.update(3.01, -60_000);
        for i in 0..30 {
            g.update(if i % 2 == 0 { 3.0 } else { 5.0 }, i * 60_000);
        }
        assert!(g.trend().is_none());
        assert_eq!(g.jumps(0.5, 10), (10, 9));
        assert_eq!(g.jumps(0.5, 6), (6, 5));
    }
}
