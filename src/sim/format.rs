//! The simulator's hot path: readings straight into a byte buffer, in the
//! field order of [`crate::record::FIELDS`], without going through serde.

use super::model::{Mode, Sample};
use crate::codec::Format;
use crate::record::FIELDS;

/// `f64::round` (half away from zero) straight to an integer, saturating like
/// `as i64`. On baseline x86-64 (no SSE4.1 `roundsd`) `f64::round` is a libm
/// call, and the simulator rounds a dozen numbers per reading; truncation is
/// one instruction, and `v - trunc(v)` is exact, so this gives the same
/// integer for every input (NaN 0, ±∞ saturated, as `round() as i64` does).
#[inline]
pub fn round_to_i64(v: f64) -> i64 {
    const EXACT: f64 = 4_503_599_627_370_496.0; // 2^52: from here on every f64 is whole
    if v.abs() < EXACT {
        let t = v as i64;
        let frac = v - t as f64;
        // Comparisons added as 0/1 rather than branches: the fraction's side
        // of one half is a coin toss the branch predictor cannot learn.
        t + i64::from(frac >= 0.5) - i64::from(frac <= -0.5)
    } else {
        v as i64
    }
}

/// `f64::round`, bit for bit (the sign of a zero included), without the libm call.
#[inline]
pub fn round_f64(v: f64) -> f64 {
    if v.abs() < 4_503_599_627_370_496.0 {
        (round_to_i64(v) as f64).copysign(v)
    } else {
        v
    }
}

/// The last decimal digit of `n` as ASCII.
const fn digit(n: usize) -> u8 {
    b'0' + (n % 10) as u8
}

/// Digits of 0..=999, their count in the last byte.
static INTS: [[u8; 4]; 1000] = {
    let mut t = [[0u8; 4]; 1000];
    let mut i = 0;
    while i < 1000 {
        t[i] = if i >= 100 {
            [digit(i / 100), digit(i / 10), digit(i), 3]
        } else if i >= 10 {
            [digit(i / 10), digit(i), 0, 2]
        } else {
            [digit(i), 0, 0, 1]
        };
        i += 1;
    }
    t
};

/// Where the fractions of `decimals` places start in [`FRACTIONS`].
const FRACTION_AT: [usize; 5] = [0, 1, 11, 111, 1111];

/// Every fraction of 0 to 4 places as written: the point, the digits without
/// trailing zeros (at least one), their length with the point in the last byte.
static FRACTIONS: [[u8; 8]; 11111] = {
    let mut t = [[0u8; 8]; 11111];
    let mut decimals = 0;
    while decimals <= 4 {
        let count = 10usize.pow(decimals);
        let mut f = 0;
        while f < count {
            let e = &mut t[FRACTION_AT[decimals as usize] + f];
            e[0] = b'.';
            // f's digits, zero-padded to `decimals`, then the trailing zeros dropped.
            let mut width = decimals as usize;
            let mut v = f;
            while width > 0 && v % 10 == 0 {
                v /= 10;
                width -= 1;
            }
            if width == 0 {
                e[1] = b'0';
                e[7] = 2;
            } else {
                let mut i = width;
                while i > 0 {
                    e[i] = b'0' + (v % 10) as u8;
                    v /= 10;
                    i -= 1;
                }
                e[7] = 1 + width as u8;
            }
            f += 1;
        }
        decimals += 1;
    }
    t
};

/// Writes `x` rounded to `decimals` places (`scale` = 10^decimals) into
/// `out` at `pos`, without trailing zeros (`3.2`, `-0.05`, `12.0`); returns
/// the end. Readings have at most 4 places and under 1000 before the point:
/// two table look-ups and two fixed-size copies. `out` needs 12 bytes of room
/// from `pos` (the copies write past the number's end), and at most 22 bytes
/// are the number (sign, 19 digits of an `i64`, point, one more).
#[inline(always)]
fn put_fixed(out: &mut [u8], pos: usize, x: f64, decimals: u32, scale: f64) -> usize {
    put_scaled(out, pos, round_to_i64(x * scale), decimals)
}

/// [`put_fixed`] of `scaled` / 10^`decimals`, already rounded.
#[inline(always)]
fn put_scaled(out: &mut [u8], pos: usize, scaled: i64, decimals: u32) -> usize {
    let v = scaled.unsigned_abs();
    if decimals <= 4 {
        let pow = 10u64.pow(decimals);
        let (int, frac) = (v / pow, v % pow);
        if int < 1000 {
            out[pos] = b'-';
            let mut p = pos + usize::from(scaled < 0);
            let digits = &INTS[int as usize];
            out[p..p + 4].copy_from_slice(digits);
            p += usize::from(digits[3]);
            let fraction = &FRACTIONS[FRACTION_AT[decimals as usize] + frac as usize];
            out[p..p + 8].copy_from_slice(fraction);
            return p + usize::from(fraction[7]);
        }
    }
    put_fixed_any(out, pos, scaled, decimals)
}

/// [`put_fixed`] for any number of places and any size, digit by digit.
#[cold]
#[inline(never)]
fn put_fixed_any(out: &mut [u8], pos: usize, scaled: i64, decimals: u32) -> usize {
    let mut v = scaled.unsigned_abs();
    // The fraction's trailing zeros go; `width` digits of it remain.
    let mut width = decimals;
    while width > 0 && v.is_multiple_of(10) {
        v /= 10;
        width -= 1;
    }
    let digits = if v == 0 { 1 } else { v.ilog10() + 1 };
    let int_digits = digits.saturating_sub(width).max(1);
    let len = usize::from(scaled < 0) + int_digits as usize + 1 + width.max(1) as usize;
    let out = &mut out[pos..pos + len];
    // Right to left: fraction, point, integer part.
    let mut i = len;
    if width == 0 {
        i -= 1;
        out[i] = b'0';
    }
    for _ in 0..width {
        i -= 1;
        out[i] = b'0' + (v % 10) as u8;
        v /= 10;
    }
    i -= 1;
    out[i] = b'.';
    for _ in 0..int_digits {
        i -= 1;
        out[i] = b'0' + (v % 10) as u8;
        v /= 10;
    }
    if scaled < 0 {
        out[0] = b'-';
    }
    pos + len
}

/// Appends `x` rounded to `decimals` places, without trailing zeros (`3.2`, `-0.05`, `12.0`).
#[inline]
pub fn push_fixed(buf: &mut Vec<u8>, x: f64, decimals: u32) {
    let mut tmp = [0u8; 24];
    let end = put_fixed(&mut tmp, 0, x, decimals, 10i64.pow(decimals) as f64);
    buf.extend_from_slice(&tmp[..end]);
}

/// A reporting resolution (`--resolution`) with its decimals worked out once.
#[derive(Debug, Clone, Copy)]
pub struct Resolution {
    step: f64,
    decimals: u32,
    /// The step is one unit of the last place (0.1 with one decimal, 0.01
    /// with two): the multiple of the step is then the written digits.
    unit: bool,
}

impl Resolution {
    /// As many decimals as `step` needs (0.1 → 1, 0.25 → 2, 0.005 → 4 at most).
    pub fn new(step: f64) -> Resolution {
        let decimals = if step >= 1.0 {
            1
        } else if step >= 0.1 {
            1 + u32::from((step * 10.0).fract() > 1e-9)
        } else if step >= 0.01 {
            2 + u32::from((step * 100.0).fract() > 1e-9)
        } else {
            4
        }
        .min(4);
        let unit = (step * 10f64.powi(decimals as i32) - 1.0).abs() < 1e-12;
        Resolution {
            step,
            decimals,
            unit,
        }
    }

    /// `x` as a unit reports it: the nearest multiple of the step.
    #[inline]
    fn resolve(&self, x: f64) -> f64 {
        round_f64(x / self.step) * self.step
    }
}

/// The parts of a container's rows that never change: what comes before the
/// measurement time (`{"container_id":"ID","measurement_time":"` or `ID,`)
/// and between it and the first number (`","product_id":"P02","temperature":`
/// or `,P02,`), built once instead of piece by piece for every reading.
pub struct RowHead {
    before_time: Piece,
    after_time: Piece,
}

impl RowHead {
    pub fn new(format: Format, container_id: &str, product_id: &str) -> RowHead {
        let (before_time, after_time) = if format == Format::Jsonl {
            (
                format!("{{\"container_id\":\"{container_id}\",\"measurement_time\":\""),
                format!("\",\"product_id\":\"{product_id}\",\"temperature\":"),
            )
        } else {
            (format!("{container_id},"), format!(",{product_id},"))
        };
        RowHead {
            before_time: Piece::new(before_time.as_bytes()),
            after_time: Piece::new(after_time.as_bytes()),
        }
    }
}

/// Size of a [`Piece`]'s array.
const PIECE: usize = 64;

/// Bytes that go into many rows (a container's head, a step's time). Up to
/// 64 bytes (an ISO 6346 id with its keys is 50, a time 20 to 30) they are
/// kept in an array and copied whole, a few moves instead of a `memcpy`
/// call; the row is then cut at their length.
pub struct Piece {
    fixed: [u8; PIECE],
    len: usize,
    /// Longer bytes (no id, product or time is), copied as they are.
    long: Vec<u8>,
}

impl Piece {
    pub fn new(bytes: &[u8]) -> Piece {
        let mut fixed = [0u8; PIECE];
        let long = match fixed.get_mut(..bytes.len()) {
            Some(head) => {
                head.copy_from_slice(bytes);
                Vec::new()
            }
            None => bytes.to_vec(),
        };
        Piece {
            fixed,
            len: bytes.len(),
            long,
        }
    }
}

/// What the formatter needs besides the sample.
pub struct RowContext<'a> {
    pub head: &'a RowHead,
    /// The measurement time, already formatted (shared by a whole time step).
    pub time: &'a Piece,
    pub labels: bool,
    /// Reporting resolution of the air temperatures (`--resolution`).
    pub resolution: Resolution,
    /// Every optional field (`--sensors precise`), or only what a basic unit
    /// reports (no supply air, ambient, nitrogen or humidity).
    pub full: bool,
}

/// Room for the longest row: the head and time (under 200 bytes: an
/// 11-character id, a catalog product id, an RFC 3339 time, each copied as 64
/// bytes before the row is cut at their length), 13 numbers of at
/// most 22 bytes, the keys (under 400 bytes) and the longest mode and fault
/// names. A test writes the worst case.
pub const ROW_CAPACITY: usize = 1024;

/// A row being written: a reused stack buffer with a cursor. The keys are
/// fixed-size copies, which compile to a few moves where a `Vec` would check
/// its capacity and call `memcpy` for each piece; the row then goes into the
/// output block in one copy.
pub struct Row {
    bytes: [u8; ROW_CAPACITY],
}

impl Default for Row {
    fn default() -> Self {
        Row {
            bytes: [0; ROW_CAPACITY],
        }
    }
}

impl Row {
    /// One reading with its line ending, in `format`.
    pub fn write(&mut self, format: Format, ctx: &RowContext<'_>, s: &Sample) -> &[u8] {
        let len = write_row(&mut self.bytes, format, ctx, s);
        &self.bytes[..len]
    }
}

/// One reading with its line ending, in `format`, at the start of `out`
/// (room in an output block, so that the row is not written once and then
/// copied); returns its length.
#[inline]
pub fn write_row(
    out: &mut [u8; ROW_CAPACITY],
    format: Format,
    ctx: &RowContext<'_>,
    s: &Sample,
) -> usize {
    // The cursor is a local, so its position stays in a register rather
    // than being stored and reloaded around every byte written.
    let mut cursor = Cursor { out, len: 0 };
    if format == Format::Jsonl {
        cursor.write_as::<true>(ctx, s);
    } else {
        cursor.write_as::<false>(ctx, s);
    }
    cursor.len
}

/// Where the next byte of a row goes.
struct Cursor<'a> {
    out: &'a mut [u8; ROW_CAPACITY],
    len: usize,
}

impl Cursor<'_> {
    #[inline(always)]
    fn lit<const N: usize>(&mut self, s: &[u8; N]) {
        self.out[self.len..self.len + N].copy_from_slice(s);
        self.len += N;
    }

    #[inline(always)]
    fn piece(&mut self, p: &Piece) {
        if p.len <= PIECE {
            self.out[self.len..self.len + PIECE].copy_from_slice(&p.fixed);
            self.len += p.len;
        } else {
            self.slice(&p.long);
        }
    }

    #[inline(always)]
    fn slice(&mut self, s: &[u8]) {
        self.out[self.len..self.len + s.len()].copy_from_slice(s);
        self.len += s.len();
    }

    #[inline(always)]
    fn fixed<const DECIMALS: u32>(&mut self, x: f64) {
        let scale = 10i64.pow(DECIMALS) as f64;
        self.len = put_fixed(self.out, self.len, x, DECIMALS, scale);
    }

    #[inline(always)]
    fn resolved(&mut self, x: f64, r: &Resolution) {
        let units = x / r.step;
        if r.unit && units.abs() < 1e15 {
            // round(x / step) is the number in units of the last place; the
            // general path below would multiply it back by the step and
            // round it again to the same integer (exact below 10^15).
            self.len = put_scaled(self.out, self.len, round_to_i64(units), r.decimals);
            return;
        }
        // A constant number of places divides by a constant.
        let x = r.resolve(x);
        match r.decimals {
            1 => self.fixed::<1>(x),
            2 => self.fixed::<2>(x),
            3 => self.fixed::<3>(x),
            _ => self.fixed::<4>(x),
        }
    }

    #[inline(always)]
    fn boolean(&mut self, b: bool) {
        if b {
            self.lit(b"true");
        } else {
            self.lit(b"false");
        }
    }

    /// The row in FIELDS order; `JSON` picks keys and quotes, or CSV's bare
    /// separators (a null is empty in CSV).
    #[inline(always)]
    fn write_as<const JSON: bool>(&mut self, ctx: &RowContext<'_>, s: &Sample) {
        // The separator before a field: `,"name":` in JSON, `,` in CSV.
        macro_rules! key {
            ($json:literal) => {
                if JSON {
                    self.lit($json)
                } else {
                    self.lit(b",")
                }
            };
        }
        macro_rules! null {
            () => {
                if JSON {
                    self.lit(b"null")
                }
            };
        }
        macro_rules! quoted {
            ($json:literal, $csv:literal) => {
                if JSON {
                    self.lit($json)
                } else {
                    self.lit($csv)
                }
            };
        }
        self.piece(&ctx.head.before_time);
        self.piece(ctx.time);
        self.piece(&ctx.head.after_time);
        self.resolved(s.temperature, &ctx.resolution);
        key!(b",\"target_temperature\":");
        self.fixed::<1>(s.target);
        if ctx.full {
            key!(b",\"supply_air_temperature\":");
            self.resolved(s.supply, &ctx.resolution);
            key!(b",\"ambient_temperature\":");
            self.fixed::<1>(s.ambient);
        }
        key!(b",\"kilowatts\":");
        self.fixed::<2>(s.kilowatts);
        key!(b",\"oxygen_level\":");
        self.fixed::<2>(s.o2);
        key!(b",\"carbon_dioxide_level\":");
        self.fixed::<2>(s.co2);
        if ctx.full {
            key!(b",\"nitrogen_level\":");
            self.fixed::<2>(s.n2);
            key!(b",\"humidity_level\":");
            self.fixed::<1>(s.humidity);
        }
        // The five flags as one of 32 prepared runs of bytes.
        let flags = usize::from(s.fans[0])
            | usize::from(s.fans[1]) << 1
            | usize::from(s.fans[2]) << 2
            | usize::from(s.defrost) << 3
            | usize::from(s.door_open) << 4;
        let run = if JSON {
            &FLAGS_JSON[flags]
        } else {
            &FLAGS_CSV[flags]
        };
        self.lit(run);
        self.len -= FLAGS_LEN - usize::from(run[FLAGS_LEN - 1]);
        key!(b",\"operating_mode\":");
        match s.mode {
            Mode::FullCool => quoted!(b"\"full_cool\"", b"full_cool"),
            Mode::ModulatedCool => quoted!(b"\"modulated_cool\"", b"modulated_cool"),
            Mode::FansOnly => quoted!(b"\"fans_only\"", b"fans_only"),
            Mode::Defrost => quoted!(b"\"defrost\"", b"defrost"),
            Mode::Heat => quoted!(b"\"heat\"", b"heat"),
            Mode::Off => quoted!(b"\"off\"", b"off"),
            Mode::Other => quoted!(b"\"other\"", b"other"),
        }
        key!(b",\"latitude\":");
        match s.position {
            Some((lat, _)) => self.fixed::<4>(lat),
            None => null!(),
        }
        key!(b",\"longitude\":");
        match s.position {
            Some((_, lon)) => self.fixed::<4>(lon),
            None => null!(),
        }
        if ctx.labels {
            key!(b",\"fault\":");
            match s.fault {
                Some(f) => {
                    if JSON {
                        self.lit(b"\"");
                    }
                    self.slice(f.name().as_bytes());
                    if JSON {
                        self.lit(b"\"");
                    }
                }
                None => null!(),
            }
            key!(b",\"maintenance_required\":");
            self.boolean(s.fault.is_some_and(|f| f.needs_maintenance()));
        }
        if JSON {
            self.lit(b"}\n");
        } else {
            self.lit(b"\n");
        }
    }
}

/// Bytes of a [`FLAGS_JSON`] entry; the last one holds its length.
const FLAGS_LEN: usize = 80;

/// The flags' keys in field order, as JSON writes them before a value.
const FLAG_KEYS: [&[u8]; 5] = [
    b",\"fan_1\":",
    b",\"fan_2\":",
    b",\"fan_3\":",
    b",\"defrost\":",
    b",\"door_open\":",
];

/// fan_1, fan_2, fan_3, defrost and door_open written for each of their 32
/// combinations (bit i = flag i), with keys (JSON) or bare separators (CSV):
/// one fixed-size copy per row instead of ten pieces and five branches.
const fn flag_runs(json: bool) -> [[u8; FLAGS_LEN]; 32] {
    let mut t = [[0u8; FLAGS_LEN]; 32];
    let mut combo = 0;
    while combo < 32 {
        let mut len = 0;
        let mut flag = 0;
        while flag < 5 {
            let key: &[u8] = if json { FLAG_KEYS[flag] } else { b"," };
            let value: &[u8] = if combo >> flag & 1 == 1 {
                b"true"
            } else {
                b"false"
            };
            let mut i = 0;
            while i < key.len() {
                t[combo][len] = key[i];
                len += 1;
                i += 1;
            }
            i = 0;
            while i < value.len() {
                t[combo][len] = value[i];
                len += 1;
                i += 1;
            }
            flag += 1;
        }
        // Fails the build if a run outgrew its entry.
        assert!(len < FLAGS_LEN);
        t[combo][FLAGS_LEN - 1] = len as u8;
        combo += 1;
    }
    t
}

static FLAGS_JSON: [[u8; FLAGS_LEN]; 32] = flag_runs(true);
static FLAGS_CSV: [[u8; FLAGS_LEN]; 32] = flag_runs(false);

/// Fields a basic unit (`--sensors basic`) does not report.
pub const BASIC_ABSENT: [&str; 4] = [
    "supply_air_temperature",
    "ambient_temperature",
    "nitrogen_level",
    "humidity_level",
];

/// The CSV header row (with or without the ground-truth columns, with every
/// optional field or only a basic unit's).
pub fn csv_header(labels: bool, full: bool) -> String {
    let n = if labels {
        FIELDS.len()
    } else {
        FIELDS.len() - 2
    };
    let names: Vec<&str> = FIELDS[..n]
        .iter()
        .copied()
        .filter(|f| full || !BASIC_ABSENT.contains(f))
        .collect();
    let mut s = names.join(",");
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::faults::FaultKind;
    use rand::rngs::SmallRng;
    use rand::{Rng, SeedableRng};

    /// Appends `x` as a unit reports it at `resolution`.
    fn push_resolved(buf: &mut Vec<u8>, x: f64, resolution: f64) {
        let r = Resolution::new(resolution);
        let mut out = [0u8; ROW_CAPACITY];
        let mut cursor = Cursor {
            out: &mut out,
            len: 0,
        };
        cursor.resolved(x, &r);
        let end = cursor.len;
        buf.extend_from_slice(&out[..end]);
    }

    /// The formatter before the speed-up (libm `round`, itoa), kept as the
    /// reference the output must match byte for byte.
    fn reference_fixed(buf: &mut Vec<u8>, x: f64, decimals: u32) {
        let scale = 10i64.pow(decimals);
        let scaled = (x * scale as f64).round() as i64;
        let abs = scaled.unsigned_abs();
        let (int, mut frac) = (abs / scale as u64, abs % scale as u64);
        if scaled < 0 {
            buf.push(b'-');
        }
        let mut ib = itoa::Buffer::new();
        buf.extend_from_slice(ib.format(int).as_bytes());
        buf.push(b'.');
        if frac == 0 {
            buf.push(b'0');
            return;
        }
        let mut width = decimals;
        while frac % 10 == 0 {
            frac /= 10;
            width -= 1;
        }
        let digits = ib.format(frac);
        for _ in digits.len() as u32..width {
            buf.push(b'0');
        }
        buf.extend_from_slice(digits.as_bytes());
    }

    fn reference_resolved(buf: &mut Vec<u8>, x: f64, resolution: f64) {
        let steps = (x / resolution).round();
        let decimals = if resolution >= 1.0 {
            1
        } else if resolution >= 0.1 {
            1 + u32::from((resolution * 10.0).fract() > 1e-9)
        } else if resolution >= 0.01 {
            2 + u32::from((resolution * 100.0).fract() > 1e-9)
        } else {
            4
        };
        reference_fixed(buf, steps * resolution, decimals.min(4));
    }

    /// Values the simulator writes, half-way cases, and the extremes.
    fn awkward_values() -> Vec<f64> {
        let mut rng = SmallRng::seed_from_u64(18);
        let mut v = vec![
            0.0,
            -0.0,
            0.5,
            -0.5,
            1.5,
            -1.5,
            2.5,
            0.05,
            -0.05,
            0.049999999999999996,
            0.49999999999999994,
            -0.49999999999999994,
            4_503_599_627_370_495.5,
            4_503_599_627_370_496.0,
            -4_503_599_627_370_497.0,
            9.3e18,
            -9.3e18,
            1e300,
            -1e300,
            f64::MAX,
            f64::MIN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            f64::MIN_POSITIVE,
            -99.9,
            127.0,
            20.9,
            99.07,
        ];
        for _ in 0..200_000 {
            let x: f64 = rng.gen_range(-130.0..130.0);
            v.push(x);
            // Exact multiples of a step and its half-way points.
            let k = rng.gen_range(-200_000i64..200_000) as f64;
            v.push(k / 100.0);
            v.push((k + 0.5) / 1000.0);
            v.push(f64::from_bits(rng.gen()));
        }
        v
    }

    #[test]
    fn fast_rounding_equals_f64_round_bit_for_bit() {
        for x in awkward_values() {
            let r = round_f64(x);
            assert!(
                r.to_bits() == x.round().to_bits() || (r.is_nan() && x.is_nan()),
                "round({x:e}) = {r:e}, not {:e}",
                x.round()
            );
            assert_eq!(round_to_i64(x), x.round() as i64, "round_to_i64({x:e})");
        }
    }

    #[test]
    fn fixed_point_output_equals_the_reference_formatter() {
        for x in awkward_values() {
            for d in 0..=4 {
                let (mut fast, mut reference) = (Vec::new(), Vec::new());
                push_fixed(&mut fast, x, d);
                reference_fixed(&mut reference, x, d);
                assert_eq!(
                    String::from_utf8(fast).unwrap(),
                    String::from_utf8(reference).unwrap(),
                    "{x:e} to {d} places"
                );
            }
        }
    }

    #[test]
    fn resolved_output_equals_the_reference_formatter() {
        let resolutions = [0.1, 0.01, 0.25, 0.5, 1.0, 2.0, 0.005, 0.3, 0.05, 10.0];
        for x in awkward_values().into_iter().step_by(7) {
            for &r in &resolutions {
                let (mut fast, mut reference) = (Vec::new(), Vec::new());
                push_resolved(&mut fast, x, r);
                reference_resolved(&mut reference, x, r);
                assert_eq!(fast, reference, "{x:e} at {r}");
            }
        }
    }

    fn sample() -> Sample {
        Sample {
            reported: true,
            temperature: 13.26,
            target: 13.3,
            supply: 11.04,
            ambient: 27.55,
            kilowatts: 4.321,
            o2: 20.85,
            co2: 0.1,
            n2: 78.12,
            humidity: 90.04,
            fans: [true, false, true],
            defrost: false,
            door_open: true,
            mode: Mode::FansOnly,
            position: None,
            fault: Some(FaultKind::DoorOpen),
        }
    }

    #[test]
    fn a_row_reads_as_json_and_as_csv() {
        let time = Piece::new(b"2026-11-27T00:00:10Z");
        let mut row = Row::default();
        for (format, expected) in [
            (
                Format::Jsonl,
                "{\"container_id\":\"MSKU1234565\",\"measurement_time\":\"2026-11-27T00:00:10Z\",\
                 \"product_id\":\"P01\",\"temperature\":13.3,\"target_temperature\":13.3,\
                 \"supply_air_temperature\":11.0,\"ambient_temperature\":27.6,\"kilowatts\":4.32,\
                 \"oxygen_level\":20.85,\"carbon_dioxide_level\":0.1,\"nitrogen_level\":78.12,\
                 \"humidity_level\":90.0,\"fan_1\":true,\"fan_2\":false,\"fan_3\":true,\
                 \"defrost\":false,\"door_open\":true,\"operating_mode\":\"fans_only\",\
                 \"latitude\":null,\"longitude\":null,\"fault\":\"door_open\",\
                 \"maintenance_required\":false}\n",
            ),
            (
                Format::Csv,
                "MSKU1234565,2026-11-27T00:00:10Z,P01,13.3,13.3,11.0,27.6,4.32,20.85,0.1,78.12,\
                 90.0,true,false,true,false,true,fans_only,,,door_open,false\n",
            ),
        ] {
            let head = RowHead::new(format, "MSKU1234565", "P01");
            let ctx = RowContext {
                head: &head,
                time: &time,
                labels: true,
                resolution: Resolution::new(0.1),
                full: true,
            };
            let written = String::from_utf8(row.write(format, &ctx, &sample()).to_vec()).unwrap();
            assert_eq!(written, expected);
        }
    }

    #[test]
    fn pieces_longer_than_their_array_are_written_whole() {
        let product = "P".repeat(100);
        let head = RowHead::new(Format::Csv, "MSKU1234565", &product);
        let time = Piece::new(&[b'9'; 70]);
        let ctx = RowContext {
            head: &head,
            time: &time,
            labels: false,
            resolution: Resolution::new(0.1),
            full: true,
        };
        let mut row = Row::default();
        let written = String::from_utf8(row.write(Format::Csv, &ctx, &sample()).to_vec()).unwrap();
        let expected_start = format!("MSKU1234565,{},{product},13.3,", "9".repeat(70));
        assert!(written.starts_with(&expected_start), "{written}");
        assert!(written.ends_with(",fans_only,,\n"), "{written}");
    }

    #[test]
    fn the_longest_possible_row_fits_the_row_buffer() {
        let head = RowHead::new(Format::Jsonl, "MSKU1234565", "P08");
        let time = &Piece::new("+262143-12-31T23:59:59.999Z".as_bytes());
        let s = Sample {
            reported: true,
            temperature: f64::MIN,
            target: f64::MIN,
            supply: f64::MIN,
            ambient: f64::MIN,
            kilowatts: f64::MIN,
            o2: f64::MIN,
            co2: f64::MIN,
            n2: f64::MIN,
            humidity: f64::MIN,
            fans: [false; 3],
            defrost: false,
            door_open: false,
            mode: Mode::ModulatedCool,
            position: Some((f64::MIN, f64::MIN)),
            fault: Some(FaultKind::CompressorFailure),
        };
        let ctx = RowContext {
            head: &head,
            time,
            labels: true,
            resolution: Resolution::new(0.005),
            full: true,
        };
        let mut row = Row::default();
        let len = row.write(Format::Jsonl, &ctx, &s).len();
        assert!(len < ROW_CAPACITY / 2 + 200, "{len} bytes");
    }

    fn fixed(x: f64, d: u32) -> String {
        let mut b = Vec::new();
        push_fixed(&mut b, x, d);
        String::from_utf8(b).unwrap()
    }

    #[test]
    fn fixed_point_numbers() {
        assert_eq!(fixed(3.14659, 2), "3.15");
        assert_eq!(fixed(-0.049, 2), "-0.05");
        assert_eq!(fixed(-0.004, 2), "0.0");
        assert_eq!(fixed(12.0, 2), "12.0");
        assert_eq!(fixed(12.1, 2), "12.1");
        assert_eq!(fixed(0.05, 2), "0.05");
        assert_eq!(fixed(-20.304, 1), "-20.3");
        assert_eq!(fixed(51.95004, 4), "51.95");
        assert_eq!(fixed(4.00012, 4), "4.0001");
    }

    #[test]
    fn readings_are_rounded_to_the_reporting_resolution() {
        let r = |x: f64, res: f64| {
            let mut b = Vec::new();
            push_resolved(&mut b, x, res);
            String::from_utf8(b).unwrap()
        };
        assert_eq!(r(13.34, 0.1), "13.3");
        assert_eq!(r(13.36, 0.1), "13.4");
        assert_eq!(r(-20.04, 0.1), "-20.0");
        assert_eq!(r(13.37, 0.01), "13.37");
        assert_eq!(r(13.37, 0.5), "13.5");
        assert_eq!(r(13.37, 0.25), "13.25");
        assert_eq!(r(13.6, 1.0), "14.0");
        assert_eq!(r(-99.9, 0.1), "-99.9");
    }
}
