//! Aggregates of one window: what is computed per field, and how a closed
//! window becomes one JSON line.

use std::fmt;
use std::str::FromStr;

/// One aggregate function, named `<field>_<agg>` in the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Agg {
    /// Non-null values of the field (the row's `count` counts readings).
    Count,
    Min,
    Max,
    Mean,
    Sum,
    /// The value of the first reading in input order.
    First,
    /// The value of the last reading in input order.
    Last,
    /// Sample standard deviation (SQL `STDDEV_SAMP`); null below two values.
    Stddev,
}

impl Agg {
    pub const ALL: [Agg; 8] = [
        Agg::Count,
        Agg::Min,
        Agg::Max,
        Agg::Mean,
        Agg::Sum,
        Agg::First,
        Agg::Last,
        Agg::Stddev,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Agg::Count => "count",
            Agg::Min => "min",
            Agg::Max => "max",
            Agg::Mean => "mean",
            Agg::Sum => "sum",
            Agg::First => "first",
            Agg::Last => "last",
            Agg::Stddev => "stddev",
        }
    }
}

impl fmt::Display for Agg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Agg {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim().to_ascii_lowercase();
        let alias = match s.as_str() {
            "avg" | "average" => "mean",
            "std" | "stddev_samp" => "stddev",
            other => other,
        };
        Agg::ALL
            .into_iter()
            .find(|a| a.name() == alias)
            .ok_or_else(|| {
                format!(
                    "unknown aggregate {s:?} (expected {})",
                    Agg::ALL.map(Agg::name).join(", ")
                )
            })
    }
}

/// The schema's boolean fields: aggregated as a count of `true`.
pub const BOOL_FIELDS: [&str; 6] = [
    "fan_1",
    "fan_2",
    "fan_3",
    "defrost",
    "door_open",
    "maintenance_required",
];

/// Numeric fields aggregated by default: what reefer-detect's detectors read
/// on rows (supply air tells a compressor that does not cool; a reading
/// without it leaves its aggregates null).
pub const DEFAULT_NUMBERS: [&str; 5] = [
    "temperature",
    "supply_air_temperature",
    "kilowatts",
    "oxygen_level",
    "carbon_dioxide_level",
];

/// Decimals computed aggregates (mean, sum, stddev) are rounded to by default
/// (`--precision`): far below any sensor's resolution, and it writes
/// `6.0`, not `6.000000000000001`.
pub const DEFAULT_PRECISION: u32 = 6;

/// `x` rounded to `decimals` places (half away from zero), as the double
/// nearest that decimal, so that the shortest representation that reads
/// back as it (serde_json's) has at most `decimals` decimals. Numbers already
/// coarser than that (beyond 2^52 in units of the last place) are left as they are.
#[inline]
pub fn round_to(x: f64, decimals: u32) -> f64 {
    let p = POW10_ROUND[decimals.min(MAX_PRECISION) as usize];
    let y = x * p;
    if !y.is_finite() || y.abs() >= 4.5e15 {
        return x;
    }
    let r = y.round();
    // A negative mean that rounds to nothing is 0.0, not -0.0.
    if r == 0.0 {
        0.0
    } else {
        r / p
    }
}

/// The largest `--precision`: beyond it rounding changes nothing a double holds.
pub const MAX_PRECISION: u32 = 17;

const POW10_ROUND: [f64; 18] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17,
];

/// Boolean fields aggregated by default (count of true).
/// All three fans: reefer-detect takes any running fan as power (a frozen
/// unit between compressor runs draws little, and a failed fan_1 alone says
/// nothing), so rows without fan_2 and fan_3 made false power cuts.
pub const DEFAULT_BOOLS: [&str; 5] = ["fan_1", "fan_2", "fan_3", "door_open", "defrost"];

/// What each window computes: numeric fields with the chosen aggregates, and
/// boolean fields as counts of true.
#[derive(Debug, Clone, PartialEq)]
pub struct AggPlan {
    pub numbers: Vec<String>,
    pub bools: Vec<String>,
    pub aggs: Vec<Agg>,
    /// Welford's running variance is only kept when `stddev` is asked for.
    track_variance: bool,
    /// Decimals of the computed aggregates (mean, sum, stddev); None: unrounded.
    pub precision: Option<u32>,
}

impl AggPlan {
    /// Fields in the order given; the schema's boolean fields count trues,
    /// every other field is numeric. Duplicates are dropped.
    pub fn new(fields: &[String], aggs: &[Agg]) -> AggPlan {
        let mut numbers: Vec<String> = Vec::new();
        let mut bools: Vec<String> = Vec::new();
        for f in fields {
            if numbers.contains(f) || bools.contains(f) {
                continue;
            }
            if BOOL_FIELDS.contains(&f.as_str()) {
                bools.push(f.clone());
            } else {
                numbers.push(f.clone());
            }
        }
        let mut uniq: Vec<Agg> = Vec::new();
        for a in aggs {
            if !uniq.contains(a) {
                uniq.push(*a);
            }
        }
        AggPlan {
            numbers,
            bools,
            track_variance: uniq.contains(&Agg::Stddev),
            aggs: uniq,
            precision: Some(DEFAULT_PRECISION),
        }
    }

    /// The plan with computed aggregates rounded to `decimals` (None: not at all).
    pub fn with_precision(mut self, decimals: Option<u32>) -> AggPlan {
        self.precision = decimals.map(|d| d.min(MAX_PRECISION));
        self
    }

    /// Whether `stddev` needs Welford's running variance.
    pub fn track_variance(&self) -> bool {
        self.track_variance
    }

    /// An empty accumulator for one key in one window.
    pub fn new_acc(&self) -> Acc {
        Acc {
            count: 0,
            product: None,
            numbers: vec![NumAcc::default(); self.numbers.len()],
            bools: vec![BoolAcc::default(); self.bools.len()],
        }
    }
}

/// Running aggregates of one numeric field.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct NumAcc {
    pub n: u64,
    pub sum: f64,
    pub min: f64,
    pub max: f64,
    pub first: f64,
    pub last: f64,
    /// Neumaier's compensation of `sum`: the low-order bits the running sum
    /// lost, so that sums and means of many readings are exact to the last digit.
    comp: f64,
    mean: f64,
    m2: f64,
}

impl Default for NumAcc {
    fn default() -> Self {
        NumAcc {
            n: 0,
            sum: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            first: f64::NAN,
            last: f64::NAN,
            comp: 0.0,
            mean: 0.0,
            m2: 0.0,
        }
    }
}

impl NumAcc {
    #[inline]
    fn add(&mut self, x: f64, track_variance: bool) {
        if self.n == 0 {
            self.first = x;
        }
        self.n += 1;
        let t = self.sum + x;
        // Neumaier's variant of Kahan summation: keeps what the larger addend
        // rounds away, whichever of the two it is.
        if self.sum.abs() >= x.abs() {
            self.comp += (self.sum - t) + x;
        } else {
            self.comp += (x - t) + self.sum;
        }
        self.sum = t;
        self.min = self.min.min(x);
        self.max = self.max.max(x);
        self.last = x;
        if track_variance {
            let d = x - self.mean;
            self.mean += d / self.n as f64;
            self.m2 += d * (x - self.mean);
        }
    }

    /// The aggregate's value, `None` where SQL gives NULL (no values, or
    /// fewer than two for the standard deviation).
    pub fn value(&self, agg: Agg) -> Option<f64> {
        if self.n == 0 && agg != Agg::Count {
            return None;
        }
        Some(match agg {
            Agg::Count => self.n as f64,
            Agg::Min => self.min,
            Agg::Max => self.max,
            Agg::Mean => (self.sum + self.comp) / self.n as f64,
            Agg::Sum => self.sum + self.comp,
            Agg::First => self.first,
            Agg::Last => self.last,
            Agg::Stddev => {
                if self.n < 2 {
                    return None;
                }
                (self.m2 / (self.n - 1) as f64).sqrt()
            }
        })
    }
}

/// Counts of one boolean field.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BoolAcc {
    /// Non-null values.
    pub n: u64,
    pub trues: u64,
}

/// The values one reading contributes: numbers (NaN for null or missing) and
/// booleans (0 null or missing, 1 false, 2 true), in [`AggPlan`] order.
#[derive(Debug, Clone, Copy)]
pub struct Values<'a> {
    pub numbers: &'a [f64],
    pub bools: &'a [u8],
    /// The carried `product_id` as JSON text, if the reading has one.
    pub product: Option<&'a [u8]>,
}

/// Adds one reading's values to the accumulators of one key in one window.
#[inline]
pub fn accumulate(
    numbers: &mut [NumAcc],
    bools: &mut [BoolAcc],
    v: &Values<'_>,
    track_variance: bool,
) {
    for (acc, &x) in numbers.iter_mut().zip(v.numbers) {
        if !x.is_nan() {
            acc.add(x, track_variance);
        }
    }
    for (acc, &b) in bools.iter_mut().zip(v.bools) {
        if b != 0 {
            acc.n += 1;
            acc.trues += u64::from(b == 2);
        }
    }
}

/// What one key accumulated in one window, as the row writer reads it.
#[derive(Debug, Clone, Copy)]
pub struct AccView<'a> {
    pub count: u64,
    /// The carried `product_id` (JSON text) of the first reading that had one.
    pub product: Option<&'a [u8]>,
    pub numbers: &'a [NumAcc],
    pub bools: &'a [BoolAcc],
}

/// An owned accumulator (one key, one window), for tests and small uses.
#[derive(Debug, Clone, PartialEq)]
pub struct Acc {
    pub count: u64,
    pub product: Option<Box<[u8]>>,
    pub numbers: Vec<NumAcc>,
    pub bools: Vec<BoolAcc>,
}

impl Acc {
    pub fn add(&mut self, v: &Values<'_>, plan: &AggPlan) {
        self.count += 1;
        if self.product.is_none() {
            self.product = v.product.map(Into::into);
        }
        accumulate(&mut self.numbers, &mut self.bools, v, plan.track_variance);
    }

    pub fn view(&self) -> AccView<'_> {
        AccView {
            count: self.count,
            product: self.product.as_deref(),
            numbers: &self.numbers,
            bools: &self.bools,
        }
    }
}

/// Writes closed windows as JSON lines, with the column names prepared once.
pub struct RowWriter {
    /// `,"<key>":` for each group key.
    key_names: Vec<Vec<u8>>,
    carry_product: bool,
    /// `,"<field>_<agg>":` per numeric field and aggregate, field-major.
    number_names: Vec<Vec<u8>>,
    /// `,"<field>_true":` (and `,"<field>_count":` when asked) per boolean field.
    bool_names: Vec<(Vec<u8>, Option<Vec<u8>>)>,
    aggs: Vec<Agg>,
    precision: Option<u32>,
}

fn json_name(prefix: &str, name: &str) -> Vec<u8> {
    let mut v = prefix.as_bytes().to_vec();
    serde_json::to_writer(&mut v, name).expect("writing to a Vec");
    v.push(b':');
    v
}

impl RowWriter {
    pub fn new(keys: &[String], carry_product: bool, plan: &AggPlan) -> RowWriter {
        let key_names = keys.iter().map(|k| json_name(",", k)).collect();
        let mut number_names = Vec::new();
        for f in &plan.numbers {
            for a in &plan.aggs {
                number_names.push(json_name(",", &format!("{f}_{a}")));
            }
        }
        let bool_names = plan
            .bools
            .iter()
            .map(|f| {
                (
                    json_name(",", &format!("{f}_true")),
                    plan.aggs
                        .contains(&Agg::Count)
                        .then(|| json_name(",", &format!("{f}_count"))),
                )
            })
            .collect();
        RowWriter {
            key_names,
            carry_product,
            number_names,
            bool_names,
            aggs: plan.aggs.clone(),
            precision: plan.precision,
        }
    }

    /// Appends one window row and its newline. `start` and `end` are the
    /// formatted times; `key` is the group key as JSON values separated by
    /// [`KEY_SEPARATOR`].
    pub fn write(&self, buf: &mut Vec<u8>, start: &str, end: &str, key: &[u8], acc: &AccView<'_>) {
        buf.extend_from_slice(b"{\"window_start\":\"");
        buf.extend_from_slice(start.as_bytes());
        buf.extend_from_slice(b"\",\"window_end\":\"");
        buf.extend_from_slice(end.as_bytes());
        buf.push(b'"');
        for (name, value) in self
            .key_names
            .iter()
            .zip(key.split(|&b| b == KEY_SEPARATOR))
        {
            buf.extend_from_slice(name);
            buf.extend_from_slice(value);
        }
        if self.carry_product {
            buf.extend_from_slice(b",\"product_id\":");
            buf.extend_from_slice(acc.product.unwrap_or(b"null"));
        }
        buf.extend_from_slice(b",\"count\":");
        buf.extend_from_slice(itoa::Buffer::new().format(acc.count).as_bytes());
        let mut names = self.number_names.iter();
        for field in acc.numbers {
            for &agg in &self.aggs {
                buf.extend_from_slice(names.next().expect("a name per aggregate"));
                match field.value(agg) {
                    Some(x) if agg == Agg::Count => {
                        buf.extend_from_slice(itoa::Buffer::new().format(x as u64).as_bytes())
                    }
                    // Minimums, maximums, firsts and lasts are input values:
                    // written as read. Computed ones are rounded.
                    Some(x) if x.is_finite() => match (self.precision, agg) {
                        (Some(d), Agg::Mean | Agg::Sum | Agg::Stddev) => {
                            push_f64(buf, round_to(x, d))
                        }
                        _ => push_f64(buf, x),
                    },
                    _ => buf.extend_from_slice(b"null"),
                }
            }
        }
        for (field, (true_name, count_name)) in acc.bools.iter().zip(&self.bool_names) {
            buf.extend_from_slice(true_name);
            // No reading of the window had the field (a unit without fan_2):
            // unknown, not "never true", as the numbers' aggregates are null.
            if field.n == 0 {
                buf.extend_from_slice(b"null");
            } else {
                buf.extend_from_slice(itoa::Buffer::new().format(field.trues).as_bytes());
            }
            if let Some(count_name) = count_name {
                buf.extend_from_slice(count_name);
                buf.extend_from_slice(itoa::Buffer::new().format(field.n).as_bytes());
            }
        }
        buf.extend_from_slice(b"}\n");
    }
}

/// Appends a finite number as serde_json writes it (shortest round-trip
/// digits, always with a `.` or an exponent), by serde_json's own formatter
/// (zmij): a decimal shortcut for input values, tried before, ran no fewer
/// instructions.
#[inline]
pub fn push_f64(buf: &mut Vec<u8>, x: f64) {
    serde_json::to_writer(&mut *buf, &x).expect("writing to a Vec");
}

/// Separates the JSON values of a multi-field key. Raw control characters
/// cannot occur in JSON text, so this byte never appears inside a value.
pub const KEY_SEPARATOR: u8 = 0x1f;

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> AggPlan {
        AggPlan::new(&["temperature".into(), "door_open".into()], &Agg::ALL)
    }

    #[test]
    fn aggregates_skip_nulls_like_sql() {
        let plan = plan();
        let mut acc = plan.new_acc();
        for (x, b) in [(1.0, 2u8), (f64::NAN, 0), (3.0, 1), (5.0, 2)] {
            acc.add(
                &Values {
                    numbers: &[x],
                    bools: &[b],
                    product: Some(b"\"P01\""),
                },
                &plan,
            );
        }
        let t = &acc.numbers[0];
        assert_eq!(acc.count, 4);
        assert_eq!(t.value(Agg::Count), Some(3.0));
        assert_eq!(t.value(Agg::Min), Some(1.0));
        assert_eq!(t.value(Agg::Max), Some(5.0));
        assert_eq!(t.value(Agg::Mean), Some(3.0));
        assert_eq!(t.value(Agg::Sum), Some(9.0));
        assert_eq!(t.value(Agg::First), Some(1.0));
        assert_eq!(t.value(Agg::Last), Some(5.0));
        assert_eq!(t.value(Agg::Stddev), Some(2.0));
        assert_eq!(acc.bools[0], BoolAcc { n: 3, trues: 2 });
    }

    #[test]
    fn empty_and_single_values_are_null() {
        let a = NumAcc::default();
        assert_eq!(a.value(Agg::Mean), None);
        assert_eq!(a.value(Agg::Count), Some(0.0));
        let mut b = NumAcc::default();
        b.add(2.0, true);
        assert_eq!(b.value(Agg::Stddev), None);
    }

    #[test]
    fn writes_a_row() {
        let plan = AggPlan::new(
            &["temperature".into(), "fan_1".into()],
            &[Agg::Min, Agg::Mean],
        );
        let mut acc = plan.new_acc();
        acc.add(
            &Values {
                numbers: &[2.5],
                bools: &[2],
                product: Some(b"\"P01\""),
            },
            &plan,
        );
        let w = RowWriter::new(&["container_id".into()], true, &plan);
        let mut buf = Vec::new();
        w.write(
            &mut buf,
            "2026-11-27T03:00:00Z",
            "2026-11-27T03:01:00Z",
            b"\"C1\"",
            &acc.view(),
        );
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            "{\"window_start\":\"2026-11-27T03:00:00Z\",\"window_end\":\"2026-11-27T03:01:00Z\",\"container_id\":\"C1\",\"product_id\":\"P01\",\"count\":1,\"temperature_min\":2.5,\"temperature_mean\":2.5,\"fan_1_true\":1}\n"
        );
    }

    #[test]
    fn short_decimals_are_written_like_serde_json() {
        let serde = |x: f64| serde_json::to_string(&x).unwrap();
        let ours = |x: f64| {
            let mut b = Vec::new();
            push_f64(&mut b, x);
            String::from_utf8(b).unwrap()
        };
        for x in [
            0.0,
            -0.0,
            1.0,
            -1.0,
            5.92,
            -80.5,
            0.1,
            0.0001,
            0.001,
            20.95,
            1e-5,
            1.5e-5,
            0.000123,
            0.00012,
            -0.000101,
            4.386667,
            -62.281634,
            0.000001,
            123456.789012,
            999_999_999.999_999,
            123456.7891,
            999_999_999.999_9,
            1e9,
            2.5e-7,
            1.0 / 3.0,
            0.30000000000000004,
            13.3,
            -0.05,
            100.0,
            // Halves and the float just below one half (rounding edges).
            0.5,
            -2.5,
            0.049_999_999_999_999_996,
            0.499_999_999_999_999_94,
            -0.499_999_999_999_999_94,
            999_999_999.5,
        ] {
            assert_eq!(ours(x), serde(x), "{x}");
        }
    }

    proptest::proptest! {
        #[test]
        fn decimals_of_any_scale_are_written_like_serde_json(m in -10_000_000_000_000i64..10_000_000_000_000, k in 0i32..9) {
            let x = m as f64 / 10f64.powi(k);
            let mut b = Vec::new();
            push_f64(&mut b, x);
            proptest::prop_assert_eq!(String::from_utf8(b).unwrap(), serde_json::to_string(&x).unwrap());
        }

        #[test]
        fn rounded_aggregates_are_written_like_serde_json(x in -1e9f64..1e9, scale in -12i32..3, d in 0u32..9) {
            let y = round_to(x * 10f64.powi(scale), d);
            let mut b = Vec::new();
            push_f64(&mut b, y);
            proptest::prop_assert_eq!(String::from_utf8(b).unwrap(), serde_json::to_string(&y).unwrap());
        }
    }

    #[test]
    fn rounding_keeps_what_it_cannot_improve_and_never_writes_minus_zero() {
        assert_eq!(round_to(6.000000000000001, 6), 6.0);
        assert_eq!(round_to(1.0 / 3.0, 6), 0.333333);
        assert_eq!(round_to(-2.5e-7, 6).to_bits(), 0.0f64.to_bits());
        assert_eq!(round_to(-2.6e-6, 6), -0.000003);
        assert_eq!(round_to(1e300, 6), 1e300);
        assert!(round_to(f64::NAN, 6).is_nan());
        assert_eq!(round_to(0.1 + 0.2, 17), 0.1 + 0.2);
    }

    #[test]
    fn compensated_sums_keep_the_digits_a_running_sum_drops() {
        let mut a = NumAcc::default();
        a.add(1e16, false);
        for _ in 0..10 {
            a.add(1.0, false);
        }
        a.add(-1e16, false);
        assert_eq!(a.value(Agg::Sum), Some(10.0));
    }

    #[test]
    fn agg_names_parse() {
        assert_eq!("avg".parse::<Agg>(), Ok(Agg::Mean));
        assert_eq!("STDDEV".parse::<Agg>(), Ok(Agg::Stddev));
        assert!("median".parse::<Agg>().is_err());
    }
}
