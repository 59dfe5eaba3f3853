//! Per-container time series, downsampled while they stream in.
//!
//! A series is at most [`MAX_BUCKETS`] time buckets of equal width, aligned to
//! the epoch; when a value falls outside them, the width doubles (neighbouring
//! buckets merge) until it fits. Memory per container is therefore fixed,
//! whatever the length of the input, and a bucket keeps min/max/mean of the
//! return air and the mean of every other channel: what a chart of a few
//! hundred pixels can show anyway.

/// Buckets a container keeps in memory (a day of input: 16-minute buckets).
pub const MAX_BUCKETS: usize = 128;

/// The width of the first bucket: one minute.
const FIRST_WIDTH_MS: i64 = 60_000;

/// A running mean.
#[derive(Debug, Clone, Copy, Default)]
pub struct Mean {
    sum: f32,
    n: f32,
}

impl Mean {
    fn add(&mut self, v: Option<f64>, weight: f32) {
        if let Some(v) = v.filter(|v| v.is_finite()) {
            self.sum += v as f32 * weight;
            self.n += weight;
        }
    }

    fn merge(&mut self, o: &Mean) {
        self.sum += o.sum;
        self.n += o.n;
    }

    pub fn get(&self) -> Option<f32> {
        (self.n > 0.0).then(|| self.sum / self.n)
    }
}

/// One bucket of a container's series.
#[derive(Debug, Clone, Copy)]
pub struct Bucket {
    pub temp_min: f32,
    pub temp_max: f32,
    pub temp: Mean,
    pub supply: Mean,
    pub ambient: Mean,
    pub kilowatts: Mean,
    pub oxygen: Mean,
    pub carbon_dioxide: Mean,
    /// Readings with the door open / a defrost running in this bucket.
    pub door: u16,
    pub defrost: u16,
}

impl Default for Bucket {
    fn default() -> Self {
        Bucket {
            temp_min: f32::INFINITY,
            temp_max: f32::NEG_INFINITY,
            temp: Mean::default(),
            supply: Mean::default(),
            ambient: Mean::default(),
            kilowatts: Mean::default(),
            oxygen: Mean::default(),
            carbon_dioxide: Mean::default(),
            door: 0,
            defrost: 0,
        }
    }
}

impl Bucket {
    fn merge(&mut self, o: &Bucket) {
        self.temp_min = self.temp_min.min(o.temp_min);
        self.temp_max = self.temp_max.max(o.temp_max);
        self.temp.merge(&o.temp);
        self.supply.merge(&o.supply);
        self.ambient.merge(&o.ambient);
        self.kilowatts.merge(&o.kilowatts);
        self.oxygen.merge(&o.oxygen);
        self.carbon_dioxide.merge(&o.carbon_dioxide);
        self.door = self.door.saturating_add(o.door);
        self.defrost = self.defrost.saturating_add(o.defrost);
    }
}

/// What one reading or window row adds to a bucket.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sample {
    /// Readings it stands for (a window row's `count`).
    pub weight: f32,
    pub temp: Option<f64>,
    pub temp_min: Option<f64>,
    pub temp_max: Option<f64>,
    pub supply: Option<f64>,
    pub ambient: Option<f64>,
    pub kilowatts: Option<f64>,
    pub oxygen: Option<f64>,
    pub carbon_dioxide: Option<f64>,
    pub door: u16,
    pub defrost: u16,
}

/// A container's downsampled series.
#[derive(Debug, Clone, Default)]
pub struct Series {
    /// Start of the first bucket, ms since the epoch.
    pub start_ms: i64,
    pub width_ms: i64,
    pub buckets: Vec<Bucket>,
}

impl Series {
    pub fn add(&mut self, t: i64, s: &Sample) {
        let i = self.slot(t);
        let b = &mut self.buckets[i];
        let lo = s.temp_min.or(s.temp).filter(|v| v.is_finite());
        let hi = s.temp_max.or(s.temp).filter(|v| v.is_finite());
        if let Some(lo) = lo {
            b.temp_min = b.temp_min.min(lo as f32);
        }
        if let Some(hi) = hi {
            b.temp_max = b.temp_max.max(hi as f32);
        }
        b.temp.add(s.temp, s.weight);
        b.supply.add(s.supply, s.weight);
        b.ambient.add(s.ambient, s.weight);
        b.kilowatts.add(s.kilowatts, s.weight);
        b.oxygen.add(s.oxygen, s.weight);
        b.carbon_dioxide.add(s.carbon_dioxide, s.weight);
        b.door = b.door.saturating_add(s.door);
        b.defrost = b.defrost.saturating_add(s.defrost);
    }

    /// The index of the bucket holding `t`, widening or extending the buckets as needed.
    fn slot(&mut self, t: i64) -> usize {
        if self.buckets.is_empty() {
            self.width_ms = FIRST_WIDTH_MS;
            self.start_ms = t.div_euclid(FIRST_WIDTH_MS) * FIRST_WIDTH_MS;
            self.buckets.push(Bucket::default());
            return 0;
        }
        if t >= self.start_ms {
            let i = ((t - self.start_ms) / self.width_ms) as usize;
            if i < self.buckets.len() {
                return i;
            }
            if i < MAX_BUCKETS {
                self.buckets.resize(i + 1, Bucket::default());
                return i;
            }
        }
        let end = self.start_ms + self.width_ms * self.buckets.len() as i64;
        let (lo, hi) = (self.start_ms.min(t), end.max(t + 1));
        let mut width = self.width_ms;
        while (hi - lo.div_euclid(width) * width + width - 1) / width > MAX_BUCKETS as i64 {
            width *= 2;
        }
        self.rebucket(lo.div_euclid(width) * width, width);
        let i = ((t - self.start_ms) / self.width_ms) as usize;
        if i >= self.buckets.len() {
            self.buckets.resize(i + 1, Bucket::default());
        }
        i
    }

    /// Re-lays the buckets from `start` at `width` (a multiple of the old width).
    fn rebucket(&mut self, start: i64, width: i64) {
        let mut out: Vec<Bucket> = Vec::with_capacity(MAX_BUCKETS);
        for (i, b) in self.buckets.iter().enumerate() {
            let t = self.start_ms + i as i64 * self.width_ms;
            let j = ((t - start) / width) as usize;
            if out.len() <= j {
                out.resize(j + 1, Bucket::default());
            }
            out[j].merge(b);
        }
        self.start_ms = start;
        self.width_ms = width;
        self.buckets = out;
    }

    /// Forgets the buckets that end before `t` (`--horizon`).
    pub fn drop_before(&mut self, t: i64) {
        if self.buckets.is_empty() || t <= self.start_ms {
            return;
        }
        let k = (((t - self.start_ms) / self.width_ms) as usize).min(self.buckets.len());
        self.buckets.drain(..k);
        self.start_ms += k as i64 * self.width_ms;
    }

    /// A copy with at most `points` buckets (neighbours merged), for output.
    pub fn reduced(&self, points: usize) -> Series {
        let points = points.max(1);
        let k = self.buckets.len().div_ceil(points).max(1);
        if k == 1 {
            return self.clone();
        }
        let width = self.width_ms * k as i64;
        // Keep the grid aligned to the epoch at the new width.
        let start = self.start_ms.div_euclid(width) * width;
        let mut s = self.clone();
        s.rebucket(start, width);
        s
    }
}

/// The channels of an encoded series, in order, with their scale (value ×
/// scale is stored as an i16; [`MISSING`] is a gap).
pub const CHANNELS: [(&str, f32); 9] = [
    ("temp_min", 10.0),
    ("temp_max", 10.0),
    ("temp", 10.0),
    ("supply", 10.0),
    ("ambient", 10.0),
    ("kilowatts", 100.0),
    ("oxygen", 100.0),
    ("carbon_dioxide", 100.0),
    ("marks", 1.0),
];

/// The i16 that stands for "no value in this bucket".
pub const MISSING: i16 = i16::MIN;

fn quantize(v: Option<f32>, scale: f32) -> i16 {
    match v.filter(|v| v.is_finite()) {
        Some(v) => (v * scale).round().clamp(-32767.0, 32767.0) as i16,
        None => MISSING,
    }
}

impl Bucket {
    /// The bucket's value of channel `c` (see [`CHANNELS`]).
    fn channel(&self, c: usize) -> Option<f32> {
        let finite = |v: f32| v.is_finite().then_some(v);
        match c {
            0 => finite(self.temp_min),
            1 => finite(self.temp_max),
            2 => self.temp.get(),
            3 => self.supply.get(),
            4 => self.ambient.get(),
            5 => self.kilowatts.get(),
            6 => self.oxygen.get(),
            7 => self.carbon_dioxide.get(),
            _ => {
                let marks = u8::from(self.door > 0) | (u8::from(self.defrost > 0) << 1);
                (marks != 0).then_some(f32::from(marks))
            }
        }
    }
}

/// The series as (bit mask of the channels present, base64 of their i16
/// little-endian values, channel after channel): about 2.7 characters a value
/// against 5 to 7 for JSON numbers, and decoded by the page with one
/// `Int16Array` view.
pub fn encode(s: &Series) -> (u32, String) {
    let mut mask = 0u32;
    let mut bytes = Vec::with_capacity(s.buckets.len() * CHANNELS.len() * 2);
    for (c, &(_, scale)) in CHANNELS.iter().enumerate() {
        if s.buckets.iter().all(|b| b.channel(c).is_none()) {
            continue;
        }
        mask |= 1 << c;
        for b in &s.buckets {
            bytes.extend_from_slice(&quantize(b.channel(c), scale).to_le_bytes());
        }
    }
    (mask, base64(&bytes))
}

/// Standard base64 with padding (what `atob` reads).
pub fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = match chunk {
            [a, b, c] => u32::from(*a) << 16 | u32::from(*b) << 8 | u32::from(*c),
            [a, b] => u32::from(*a) << 16 | u32::from(*b) << 8,
            [a] => u32::from(*a) << 16,
            _ => unreachable!("chunks(3) yields one to three bytes"),
        };
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ABC[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(t: f64) -> Sample {
        Sample {
            weight: 1.0,
            temp: Some(t),
            ..Sample::default()
        }
    }

    #[test]
    fn a_day_of_readings_stays_within_the_bucket_limit_and_keeps_extremes() {
        let mut s = Series::default();
        let start = 1_795_000_000_000_i64;
        for i in 0..8640 {
            let t = if i == 5000 { 30.0 } else { 5.0 };
            s.add(start + i * 10_000, &reading(t));
        }
        assert!(s.buckets.len() <= MAX_BUCKETS);
        assert_eq!(s.width_ms % FIRST_WIDTH_MS, 0);
        let max = s
            .buckets
            .iter()
            .map(|b| b.temp_max)
            .fold(f32::MIN, f32::max);
        assert_eq!(max, 30.0);
        let n: f32 = s.buckets.iter().map(|b| b.temp.n).sum();
        assert_eq!(n, 8640.0, "every reading is counted once");
    }

    #[test]
    fn a_reading_before_the_first_bucket_extends_the_series_backwards() {
        let mut s = Series::default();
        s.add(600_000, &reading(1.0));
        s.add(0, &reading(2.0));
        assert_eq!(s.start_ms, 0);
        assert_eq!(s.buckets.first().and_then(|b| b.temp.get()), Some(2.0));
        assert_eq!(s.buckets.last().and_then(|b| b.temp.get()), Some(1.0));
    }

    #[test]
    fn reducing_merges_neighbours_and_keeps_the_mean() {
        let mut s = Series::default();
        for i in 0..100 {
            s.add(i * 60_000, &reading(i as f64));
        }
        let r = s.reduced(10);
        assert!(r.buckets.len() <= 11);
        let n: f32 = r.buckets.iter().map(|b| b.temp.n).sum();
        assert_eq!(n, 100.0);
        assert_eq!(r.buckets[0].temp_min, 0.0);
    }

    #[test]
    fn encoding_skips_absent_channels_and_marks_gaps() {
        let mut s = Series::default();
        s.add(0, &reading(-1.5));
        s.add(120_000, &reading(3.0));
        let (mask, b64) = encode(&s);
        assert_eq!(mask, 0b111, "temp_min, temp_max and temp only");
        assert_eq!(b64.len(), (3 * 3 * 2_usize).div_ceil(3) * 4);
        assert_eq!(base64(b"Man"), "TWFu");
        assert_eq!(base64(b"Ma"), "TWE=");
        assert_eq!(base64(&MISSING.to_le_bytes()), "AIA=");
    }
}
