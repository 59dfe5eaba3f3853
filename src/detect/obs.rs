//! What the detectors see of one record: a reading (contract §1) or a
//! reefer-window row (contract §4), reduced to the values rules use.
//!
//! Both are read with the shared field-projection scanner
//! ([`crate::codec::scan`]), JSON Lines and CSV rows alike, for exactly the
//! fields below. A reading the scanner cannot complete (a required field
//! missing or mistyped) goes to [`Reading::from_map`], which says what is
//! wrong with it in the words every tool uses.

use super::band::{PLAUSIBLE_HIGH, PLAUSIBLE_LOW};
use crate::codec::scan::{Fields, Kind, Record, Scanner, Slot};
use crate::record::Reading;
use crate::time::TimeParser;
use serde_json::{Map, Value};
use std::sync::Arc;

pub use crate::record::Mode;

/// One observation of one container.
#[derive(Debug, Clone, Default)]
pub struct Obs<'a> {
    pub container_id: &'a str,
    pub product_id: &'a str,
    /// Event time, epoch ms (a window row: its `window_end`).
    pub t_ms: i64,
    /// A window row: the time its window began; a reading: `t_ms`.
    pub from_ms: i64,
    /// True for a reefer-window row (aggregates, not a single reading).
    pub window: bool,
    pub temperature: f64,
    pub temp_min: f64,
    pub temp_max: f64,
    pub kilowatts: Option<f64>,
    pub oxygen: Option<f64>,
    pub co2: Option<f64>,
    pub target: Option<f64>,
    pub supply: Option<f64>,
    pub ambient: Option<f64>,
    pub humidity: Option<f64>,
    pub nitrogen: Option<f64>,
    pub fan_1: Option<bool>,
    pub fan_2: Option<bool>,
    pub fan_3: Option<bool>,
    pub defrost: Option<bool>,
    pub door_open: Option<bool>,
    pub mode: Option<Mode>,
    /// What a window row adds to its means (None for a reading).
    pub row: Option<RowAggs>,
    /// Simulator ground truth, filled only for `--evaluate`; rules never see it.
    pub label: Option<&'a str>,
    /// Channels whose value in this record was implausible (bits of
    /// [`IMPLAUSIBLE`]), see [`Obs::mark_implausible`].
    pub implausible: u8,
}

/// The channels a well-formed record can carry an implausible value in, the
/// bits of [`Obs::implausible`] in this order, and what makes the value
/// implausible. Such a value is data, not a bad line: the record is kept,
/// the channel is marked for that record and counted (the end-of-run note),
/// and the rules judge the record without it, except the sensor rule of that
/// channel, for which it is evidence:
/// - `kilowatts` below 0: a meter drawing nothing reads a little either side of 0;
///   the rules that read the draw see none for that reading;
/// - `oxygen_level` below 0 or above 22 % (air holds 20.95 %, nothing in a box adds
///   oxygen, and a cell within its class reads at most 0.5 % high, with 0.15 % noise), `carbon_dioxide_level`
///   below 0 or above 100 %: kept in the gas channel's history, where o2_sensor's
///   above-air test and the stuck/noisy/drift tests judge the sensor; the door
///   fallback, which reads the gases as the box's atmosphere, holds on them;
/// - `humidity_level` below 0 or above 100 %, `supply_air_temperature` and
///   `ambient_temperature` outside −100…+100 °C (no reefer's coil nor any
///   climate gets there; an open or shorted probe does; a deep-frozen unit's
///   supply air reaches −83 °C): dropped for that reading;
/// - `temperature` outside −80…+80 °C: kept (it is required), judged by
///   temperature_sensor as an open or shorted probe; every other rule already
///   ignores such a temperature.
pub const IMPLAUSIBLE: [&str; 7] = [
    "kilowatts",
    "oxygen_level",
    "carbon_dioxide_level",
    "humidity_level",
    "temperature",
    "supply_air_temperature",
    "ambient_temperature",
];
pub const BAD_KW: u8 = 1;
pub const BAD_O2: u8 = 1 << 1;
pub const BAD_CO2: u8 = 1 << 2;
pub const BAD_HUMIDITY: u8 = 1 << 3;
pub const BAD_TEMPERATURE: u8 = 1 << 4;
pub const BAD_SUPPLY: u8 = 1 << 5;
pub const BAD_AMBIENT: u8 = 1 << 6;
/// Supply and ambient air beyond ± this, °C, is a probe open or shorted.
pub const AIR_LIMIT: f64 = 100.0;
/// Highest plausible O2 reading, %: air holds 20.95 %; an electrochemical
/// cell within its class may read up to 0.5 % high, with noise of 0.15 %.
pub const O2_HIGHEST: f64 = 22.0;

/// Per channel of [`IMPLAUSIBLE`]: how many records had an implausible value.
#[derive(Debug, Clone, Default)]
pub struct Implausible {
    counts: [u64; 7],
}

impl Implausible {
    pub fn count(&mut self, o: &Obs) {
        if o.implausible != 0 {
            for (i, n) in self.counts.iter_mut().enumerate() {
                *n += u64::from(o.implausible >> i & 1);
            }
        }
    }

    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// `implausible values kept as data: kilowatts 3 (below 0), ...`, or
    /// `None` when there was none.
    pub fn note(&self) -> Option<String> {
        const WHY: [&str; 7] = [
            "below 0",
            "below 0 or above 22 %",
            "below 0 or above 100 %",
            "below 0 or above 100 %",
            "outside -80..80 °C",
            "outside -100..100 °C",
            "outside -100..100 °C",
        ];
        let list: Vec<String> = (0..IMPLAUSIBLE.len())
            .filter(|&i| self.counts[i] > 0)
            .map(|i| format!("{} {} ({})", IMPLAUSIBLE[i], self.counts[i], WHY[i]))
            .collect();
        (!list.is_empty()).then(|| {
            format!(
                "implausible values kept as data and marked for their reading: {}",
                list.join(", ")
            )
        })
    }

    /// For `--stats-json`: channel name → count, the channels that had any.
    pub fn to_json(&self) -> serde_json::Value {
        let mut m = Map::new();
        for (name, n) in IMPLAUSIBLE.iter().zip(self.counts) {
            if n > 0 {
                m.insert((*name).into(), n.into());
            }
        }
        Value::Object(m)
    }
}

/// The aggregates of a reefer-window row that the rules read beyond the
/// means: how many readings it summarises, the mean draw (`kilowatts` is the
/// maximum), and the spread of each gas channel (`<field>_min`/`_max`), which
/// tells a channel that stood still (min = max) or scattered within the window.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RowAggs {
    /// Readings in the window (`count`).
    pub count: u32,
    /// `kilowatts_mean`.
    pub kw_mean: Option<f64>,
    /// `oxygen_level_min`, `oxygen_level_max`.
    pub o2_span: Option<(f64, f64)>,
    /// `carbon_dioxide_level_min`, `carbon_dioxide_level_max`.
    pub co2_span: Option<(f64, f64)>,
    /// `supply_air_temperature_min`, `supply_air_temperature_max`.
    pub supply_span: Option<(f64, f64)>,
}

impl RowAggs {
    /// The span of a gas channel's readings in the window.
    pub fn span(&self, oxygen: bool) -> Option<(f64, f64)> {
        if oxygen {
            self.o2_span
        } else {
            self.co2_span
        }
    }
}

/// Whether an id is empty or white space only (ids start with a letter or
/// digit, which settles it without `trim`'s Unicode walk).
#[inline]
fn blank(s: &str) -> bool {
    !s.as_bytes().first().is_some_and(u8::is_ascii_alphanumeric) && s.trim().is_empty()
}

/// Fields a threshold rule can compare (numbers, and booleans as 0/1).
pub const RULE_FIELDS: [&str; 14] = [
    "temperature",
    "kilowatts",
    "oxygen_level",
    "carbon_dioxide_level",
    "target_temperature",
    "supply_air_temperature",
    "ambient_temperature",
    "humidity_level",
    "nitrogen_level",
    "fan_1",
    "fan_2",
    "fan_3",
    "defrost",
    "door_open",
];

/// Optional fields the detectors can be told to ignore (`--ignore-field`),
/// to see how they do on telemetry that lacks them.
pub const IGNORABLE: [&str; 12] = [
    "target_temperature",
    "supply_air_temperature",
    "ambient_temperature",
    "humidity_level",
    "nitrogen_level",
    "fan_1",
    "fan_2",
    "fan_3",
    "defrost",
    "door_open",
    "operating_mode",
    "kilowatts",
];

/// The optional fields whose presence is counted, in [`Obs::carries`] order:
/// one that some observations have and others lack is reported at the end
/// (a field that disappears mid-stream leaves the rules that need it blind
/// for those readings; the user should know).
pub const COUNTED: [&str; 14] = [
    "kilowatts",
    "oxygen_level",
    "carbon_dioxide_level",
    "target_temperature",
    "supply_air_temperature",
    "ambient_temperature",
    "humidity_level",
    "nitrogen_level",
    "fan_1",
    "fan_2",
    "fan_3",
    "defrost",
    "door_open",
    "operating_mode",
];

/// Per field of [`COUNTED`]: observations that carried it, and that did not.
#[derive(Debug, Clone, Default)]
pub struct Presence {
    with: [u64; 14],
    without: [u64; 14],
    /// Observations mostly carry the same fields as the one before: a run of
    /// equal field sets is counted as one (bit i: field i carried), and added
    /// to `with`/`without` when the set changes or a note is asked for.
    run_mask: u16,
    run: u64,
}

impl Presence {
    pub fn count(&mut self, o: &Obs) {
        let mask = o
            .carries()
            .into_iter()
            .enumerate()
            .fold(0u16, |m, (i, has)| m | u16::from(has) << i);
        if mask != self.run_mask {
            self.flush();
            self.run_mask = mask;
        }
        self.run += 1;
    }

    fn flush(&mut self) {
        for i in 0..COUNTED.len() {
            if self.run_mask >> i & 1 == 1 {
                self.with[i] += self.run;
            } else {
                self.without[i] += self.run;
            }
        }
        self.run = 0;
    }

    /// `kilowatts in 120 of 3600 observations, ...` for the fields some
    /// observations had and others lacked; `None` when there is none.
    pub fn note(&self) -> Option<String> {
        let mut all = self.clone();
        all.flush();
        let Presence { with, without, .. } = all;
        let list: Vec<String> = (0..COUNTED.len())
            .filter(|&i| with[i] > 0 && without[i] > 0)
            .map(|i| {
                format!(
                    "{} in {} of {}",
                    COUNTED[i],
                    without[i],
                    with[i] + without[i]
                )
            })
            .collect();
        (!list.is_empty()).then(|| {
            format!(
                "fields without a value (absent or null) in some observations: {}; \
                 the rules judged those observations without them",
                list.join(", ")
            )
        })
    }
}

impl<'a> Obs<'a> {
    /// Which of the [`COUNTED`] fields this observation carries.
    pub fn carries(&self) -> [bool; 14] {
        // A channel dropped as implausible was there all the same.
        let bad = |bit: u8| self.implausible & bit != 0;
        [
            self.kilowatts.is_some() || bad(BAD_KW),
            self.oxygen.is_some(),
            self.co2.is_some(),
            self.target.is_some(),
            self.supply.is_some() || bad(BAD_SUPPLY),
            self.ambient.is_some() || bad(BAD_AMBIENT),
            self.humidity.is_some() || bad(BAD_HUMIDITY),
            self.nitrogen.is_some(),
            self.fan_1.is_some(),
            self.fan_2.is_some(),
            self.fan_3.is_some(),
            self.defrost.is_some(),
            self.door_open.is_some(),
            self.mode.is_some(),
        ]
    }

    /// Forgets a field, as if the reading did not carry it (see [`IGNORABLE`]).
    pub fn forget(&mut self, field: &str) {
        match field {
            "target_temperature" => self.target = None,
            "supply_air_temperature" => self.supply = None,
            "ambient_temperature" => self.ambient = None,
            "humidity_level" => self.humidity = None,
            "nitrogen_level" => self.nitrogen = None,
            "fan_1" => self.fan_1 = None,
            "fan_2" => self.fan_2 = None,
            "fan_3" => self.fan_3 = None,
            "defrost" => self.defrost = None,
            "door_open" => self.door_open = None,
            "operating_mode" => self.mode = None,
            "kilowatts" => self.kilowatts = None,
            _ => {}
        }
        // A row's own columns of those fields go with them.
        if let Some(r) = &mut self.row {
            match field {
                "supply_air_temperature" => r.supply_span = None,
                "kilowatts" => r.kw_mean = None,
                _ => {}
            }
        }
    }

    /// Marks the channels whose value is implausible (see [`IMPLAUSIBLE`]) and
    /// drops from the observation those no rule may read.
    pub fn mark_implausible(&mut self) {
        let mut bad = 0;
        let temp_ok = |v: f64| (PLAUSIBLE_LOW..=PLAUSIBLE_HIGH).contains(&v);
        let air_ok = |v: f64| (-AIR_LIMIT..=AIR_LIMIT).contains(&v);
        if self.kilowatts.is_some_and(|k| k < 0.0) {
            bad |= BAD_KW;
            self.kilowatts = None;
        }
        if let Some(r) = &mut self.row {
            if r.kw_mean.is_some_and(|k| k < 0.0) {
                bad |= BAD_KW;
                r.kw_mean = None;
            }
        }
        if self
            .oxygen
            .is_some_and(|v| !(0.0..=O2_HIGHEST).contains(&v))
        {
            bad |= BAD_O2;
        }
        if self.co2.is_some_and(|v| !(0.0..=100.0).contains(&v)) {
            bad |= BAD_CO2;
        }
        if self.humidity.is_some_and(|v| !(0.0..=100.0).contains(&v)) {
            bad |= BAD_HUMIDITY;
            self.humidity = None;
        }
        if !temp_ok(self.temperature) {
            bad |= BAD_TEMPERATURE;
        }
        if self.supply.is_some_and(|v| !air_ok(v)) {
            bad |= BAD_SUPPLY;
            self.supply = None;
            if let Some(r) = &mut self.row {
                r.supply_span = None;
            }
        }
        if self.ambient.is_some_and(|v| !air_ok(v)) {
            bad |= BAD_AMBIENT;
            self.ambient = None;
        }
        self.implausible = bad;
    }

    /// A numeric field by its schema name (docs/contract.md §1), for threshold rules and `--where`.
    pub fn field(&self, name: &str) -> Option<f64> {
        let b = |x: Option<bool>| x.map(|v| if v { 1.0 } else { 0.0 });
        match name {
            "temperature" => Some(self.temperature),
            "kilowatts" => self.kilowatts,
            "oxygen_level" => self.oxygen,
            "carbon_dioxide_level" => self.co2,
            "target_temperature" => self.target,
            "supply_air_temperature" => self.supply,
            "ambient_temperature" => self.ambient,
            "humidity_level" => self.humidity,
            "nitrogen_level" => self.nitrogen,
            "fan_1" => b(self.fan_1),
            "fan_2" => b(self.fan_2),
            "fan_3" => b(self.fan_3),
            "defrost" => b(self.defrost),
            "door_open" => b(self.door_open),
            _ => None,
        }
    }

    /// A window row that summarises a single reading (readings sparser
    /// than the window: 5-minute data in 1-minute windows).
    pub fn single_reading(&self) -> bool {
        self.row.is_some_and(|r| r.count == 1)
    }

    /// Whether the unit shows it has power, whatever its meter reads: a fan
    /// runs, or the controller reports a mode other than `off` (a frozen
    /// unit between compressor runs draws a few hundred watts, which a cheap
    /// meter may read as 0).
    pub fn shows_power(&self) -> bool {
        [self.fan_1, self.fan_2, self.fan_3].contains(&Some(true))
            || self.mode.is_some_and(|m| m != Mode::Off)
    }

    /// True when the unit is defrosting: by its flag or its mode, or, when
    /// the reading has neither (IBM-style data), by the signature of a
    /// defrost: every fan reported stopped while the heaters draw power.
    pub fn defrosting(&self) -> bool {
        match (self.defrost, self.mode) {
            (Some(d), _) => d || self.mode == Some(Mode::Defrost),
            (None, Some(m)) => m == Mode::Defrost,
            (None, None) => {
                self.fan_1 == Some(false)
                    && self.fan_2 != Some(true)
                    && self.fan_3 != Some(true)
                    && self.kilowatts.is_some_and(|k| k > 1.0)
            }
        }
    }

    /// Builds an observation from a parsed reading (the general path).
    pub fn from_reading(r: &'a Reading, label: bool) -> Obs<'a> {
        let t = r.measurement_time.timestamp_millis();
        let mut o = Obs {
            container_id: &r.container_id,
            product_id: &r.product_id,
            t_ms: t,
            from_ms: t,
            window: false,
            temperature: r.temperature,
            temp_min: r.temperature,
            temp_max: r.temperature,
            kilowatts: Some(r.kilowatts),
            oxygen: Some(r.oxygen_level),
            co2: Some(r.carbon_dioxide_level),
            target: r.target_temperature,
            supply: r.supply_air_temperature,
            ambient: r.ambient_temperature,
            humidity: r.humidity_level,
            nitrogen: r.nitrogen_level,
            fan_1: Some(r.fan_1),
            fan_2: r.fan_2,
            fan_3: r.fan_3,
            defrost: r.defrost,
            door_open: r.door_open,
            mode: r
                .operating_mode
                .as_deref()
                .map(|m| Mode::parse(m.as_bytes())),
            row: None,
            label: if label { r.fault.as_deref() } else { None },
            implausible: 0,
        };
        o.mark_implausible();
        o
    }
}

/// The fields reefer-detect reads, declared once for the scanner.
///
/// Window rows (contract §4, recognised by `window_start`) are read by
/// reefer-window's column names: numbers as `<field>_min`/`_max`/`_mean`,
/// booleans as `<field>_true` (how many readings of the window had it true)
/// next to `count`. A row becomes an observation at `window_end`:
/// `temperature` is the mean, `temperature_min`/`_max` bound it, `kilowatts`
/// is the window's maximum (power is off only when every reading was off),
/// the other numbers are means, and a boolean is true when any reading had it
/// true (a fan ran, a defrost or an open door happened in the window). Beyond
/// those, [`RowAggs`] keeps `count`, `kilowatts_mean` and the gas channels'
/// (and supply air's) `_min`/`_max`.
pub struct ObsFields {
    pub fields: Arc<Fields>,
    id: Slot,
    time: Slot,
    product: Slot,
    temperature: Slot,
    kilowatts: Slot,
    oxygen: Slot,
    co2: Slot,
    target: Slot,
    supply: Slot,
    ambient: Slot,
    ambiant: Slot,
    humidity: Slot,
    nitrogen: Slot,
    fans: [Slot; 3],
    defrost: Slot,
    door: Slot,
    mode: Slot,
    fault: Slot,
    row: RowSlots,
}

/// The window-row columns (see [`ObsFields`]).
struct RowSlots {
    start: Slot,
    end: Slot,
    mean: Slot,
    min: Slot,
    max: Slot,
    kw_max: Slot,
    kw_mean: Slot,
    count: Slot,
    oxygen: Slot,
    o2_span: (Slot, Slot),
    co2_span: (Slot, Slot),
    supply_span: (Slot, Slot),
    co2: Slot,
    target: Slot,
    supply: Slot,
    ambient: Slot,
    humidity: Slot,
    nitrogen: Slot,
    fans: [Slot; 3],
    defrost: Slot,
    door: Slot,
}

impl ObsFields {
    pub fn new(times: TimeParser) -> ObsFields {
        let mut f = Fields::new(times);
        let num = |f: &mut Fields, n: &str| f.add(n, Kind::Num);
        // Row-only columns a reading of the user's own may carry with another
        // type (`"count":"n/a"`): read whatever is there, use only numbers.
        let any = |f: &mut Fields, n: &str| f.add(n, Kind::Any);
        let id = f.add("container_id", Kind::Str);
        let time = f.add("measurement_time", Kind::Time);
        let product = f.add("product_id", Kind::Str);
        let temperature = num(&mut f, "temperature");
        let kilowatts = num(&mut f, "kilowatts");
        let oxygen = num(&mut f, "oxygen_level");
        let co2 = num(&mut f, "carbon_dioxide_level");
        let target = num(&mut f, "target_temperature");
        let supply = num(&mut f, "supply_air_temperature");
        let ambient = num(&mut f, "ambient_temperature");
        let ambiant = num(&mut f, "ambiant_temperature");
        let humidity = num(&mut f, "humidity_level");
        let nitrogen = num(&mut f, "nitrogen_level");
        let fans = ["fan_1", "fan_2", "fan_3"].map(|n| f.add(n, Kind::Bool));
        let defrost = f.add("defrost", Kind::Bool);
        let door = f.add("door_open", Kind::Bool);
        let mode = f.add("operating_mode", Kind::Str);
        let fault = f.add("fault", Kind::Any);
        let row = RowSlots {
            start: f.add("window_start", Kind::Time),
            end: f.add("window_end", Kind::Time),
            mean: num(&mut f, "temperature_mean"),
            min: num(&mut f, "temperature_min"),
            max: num(&mut f, "temperature_max"),
            kw_max: num(&mut f, "kilowatts_max"),
            kw_mean: any(&mut f, "kilowatts_mean"),
            count: any(&mut f, "count"),
            o2_span: (
                any(&mut f, "oxygen_level_min"),
                any(&mut f, "oxygen_level_max"),
            ),
            co2_span: (
                any(&mut f, "carbon_dioxide_level_min"),
                any(&mut f, "carbon_dioxide_level_max"),
            ),
            supply_span: (
                any(&mut f, "supply_air_temperature_min"),
                any(&mut f, "supply_air_temperature_max"),
            ),
            oxygen: num(&mut f, "oxygen_level_mean"),
            co2: num(&mut f, "carbon_dioxide_level_mean"),
            target: num(&mut f, "target_temperature_mean"),
            supply: num(&mut f, "supply_air_temperature_mean"),
            ambient: num(&mut f, "ambient_temperature_mean"),
            humidity: num(&mut f, "humidity_level_mean"),
            nitrogen: num(&mut f, "nitrogen_level_mean"),
            fans: ["fan_1_true", "fan_2_true", "fan_3_true"].map(|n| num(&mut f, n)),
            defrost: num(&mut f, "defrost_true"),
            door: num(&mut f, "door_open_true"),
        };
        ObsFields {
            fields: Arc::new(f),
            id,
            time,
            product,
            temperature,
            kilowatts,
            oxygen,
            co2,
            target,
            supply,
            ambient,
            ambiant,
            humidity,
            nitrogen,
            fans,
            defrost,
            door,
            mode,
            fault,
            row,
        }
    }

    /// A scanner for one thread.
    pub fn scanner(&self) -> Scanner {
        Scanner::new(Arc::clone(&self.fields))
    }

    /// The observation in a scanned record. `None`: a reading the scanner
    /// could not complete (the caller asks [`Reading::from_map`] why).
    pub fn obs<'r>(&self, r: &'r Record, label: bool) -> Option<Result<Obs<'r>, String>> {
        if !matches!(r.get(self.row.start), crate::codec::scan::Value::Missing) {
            return Some(self.row(r));
        }
        let id = r.str(self.id).filter(|s| !blank(s))?;
        let product = r.str(self.product).filter(|s| !blank(s))?;
        let t = r.time(self.time)?;
        let temperature = r.num(self.temperature)?;
        let kilowatts = r.num(self.kilowatts)?;
        let fan_1 = r.bool(self.fans[0])?;
        let mut o = Obs {
            container_id: id,
            product_id: product,
            t_ms: t,
            from_ms: t,
            window: false,
            temperature,
            temp_min: temperature,
            temp_max: temperature,
            kilowatts: Some(kilowatts),
            oxygen: Some(r.num(self.oxygen)?),
            co2: Some(r.num(self.co2)?),
            target: r.num(self.target),
            supply: r.num(self.supply),
            ambient: r.num(self.ambient).or_else(|| r.num(self.ambiant)),
            humidity: r.num(self.humidity),
            nitrogen: r.num(self.nitrogen),
            fan_1: Some(fan_1),
            fan_2: r.bool(self.fans[1]),
            fan_3: r.bool(self.fans[2]),
            defrost: r.bool(self.defrost),
            door_open: r.bool(self.door),
            mode: r
                .str(self.mode)
                .filter(|m| !m.is_empty())
                .map(|m| Mode::parse(m.as_bytes())),
            row: None,
            label: if label {
                r.str(self.fault).filter(|l| !l.is_empty())
            } else {
                None
            },
            implausible: 0,
        };
        o.mark_implausible();
        Some(Ok(o))
    }

    /// A reefer-window row, or what it lacks.
    fn row<'r>(&self, r: &'r Record) -> Result<Obs<'r>, String> {
        let w = &self.row;
        let text = |s: Slot, k: &str| {
            r.str(s)
                .filter(|s| !blank(s))
                .ok_or_else(|| format!("window row: missing {k}"))
        };
        let time = |s: Slot, k: &str| r.time(s).ok_or_else(|| format!("window row: missing {k}"));
        let any_true = |s: Slot| r.num(s).map(|n| n > 0.0);
        let span = |(lo, hi): (Slot, Slot)| Some((r.num(lo)?, r.num(hi)?));
        let mean = r.num(w.mean).ok_or(
            "window row: missing temperature_mean (aggregate temperature with reefer-window)",
        )?;
        let mut o = Obs {
            container_id: text(self.id, "container_id")?,
            product_id: text(self.product, "product_id")?,
            t_ms: time(w.end, "window_end")?,
            from_ms: time(w.start, "window_start")?,
            window: true,
            temperature: mean,
            temp_min: r.num(w.min).unwrap_or(mean),
            temp_max: r.num(w.max).unwrap_or(mean),
            kilowatts: r.num(w.kw_max),
            oxygen: r.num(w.oxygen),
            co2: r.num(w.co2),
            target: r.num(w.target),
            supply: r.num(w.supply),
            ambient: r.num(w.ambient),
            humidity: r.num(w.humidity),
            nitrogen: r.num(w.nitrogen),
            fan_1: any_true(w.fans[0]),
            fan_2: any_true(w.fans[1]),
            fan_3: any_true(w.fans[2]),
            defrost: any_true(w.defrost),
            door_open: any_true(w.door),
            mode: None,
            row: Some(RowAggs {
                count: r
                    .num(w.count)
                    .map_or(0, |c| c.clamp(0.0, u32::MAX as f64) as u32),
                kw_mean: r.num(w.kw_mean),
                o2_span: span(w.o2_span),
                co2_span: span(w.co2_span),
                supply_span: span(w.supply_span),
            }),
            label: None,
            implausible: 0,
        };
        o.mark_implausible();
        Ok(o)
    }
}

/// Why a line is not an observation, in the words of [`Reading::from_map`]
/// (only for lines the scanner read but could not complete: rare).
pub fn why_not_a_reading(map: Map<String, Value>, times: &TimeParser) -> String {
    match Reading::from_map(map, times) {
        Err(why) => why,
        // The scanner and the record disagree: say so rather than guess.
        Ok(_) => "a reading the scanner could not read".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str = r#"{"container_id":"MSKU1234565","measurement_time":"2026-11-27T03:00:00Z","product_id":"P01","temperature":0.5,"target_temperature":0.0,"supply_air_temperature":-1.2,"kilowatts":2.5,"oxygen_level":20.9,"carbon_dioxide_level":0.04,"fan_1":true,"fan_2":true,"defrost":false,"door_open":false,"operating_mode":"modulated_cool","latitude":null,"longitude":null,"fault":"door_open","ship":"Emma"}"#;

    fn scanned(f: &ObsFields, sc: &mut Scanner, line: &str) -> Option<String> {
        let r = sc.scan(line.as_bytes()).ok()?;
        Some(format!("{:?}", f.obs(r, true)?.ok()?))
    }

    #[test]
    fn scanner_and_record_paths_agree_on_a_reading() {
        let f = ObsFields::new(TimeParser::default());
        let mut sc = f.scanner();
        let fast = scanned(&f, &mut sc, LINE).unwrap();
        // Again, along the learnt key order.
        assert_eq!(scanned(&f, &mut sc, LINE).unwrap(), fast);
        let r = Reading::from_json_line(LINE, &TimeParser::default()).unwrap();
        assert_eq!(fast, format!("{:?}", Obs::from_reading(&r, true)));
        // An escaped id is still the same reading.
        assert!(scanned(&f, &mut sc, &LINE.replace("Emma", "E\\\"mma")).is_some());
        // Missing a required field: the record path says why.
        assert!(scanned(&f, &mut sc, &LINE.replace(r#""kilowatts":2.5,"#, "")).is_none());
    }

    #[test]
    fn duplicate_keys_take_the_last_value() {
        let f = ObsFields::new(TimeParser::default());
        let mut sc = f.scanner();
        let line = LINE.replace(
            r#""temperature":0.5,"#,
            r#""temperature":0.5,"temperature":7.5,"#,
        );
        let r = sc.scan(line.as_bytes()).unwrap();
        assert_eq!(f.obs(r, false).unwrap().unwrap().temperature, 7.5);
    }

    #[test]
    fn window_rows_are_read_by_reefer_window_column_names() {
        let f = ObsFields::new(TimeParser::default());
        let mut sc = f.scanner();
        let row = r#"{"window_start":"2026-11-27T03:00:00Z","window_end":"2026-11-27T03:01:00Z","container_id":"C1","product_id":"P01","count":2,"temperature_min":2.0,"temperature_max":4.0,"temperature_mean":3.0,"kilowatts_max":0.0,"fan_1_true":0,"fan_2_true":2,"door_open_true":1,"defrost_true":0}"#;
        let r = sc.scan(row.as_bytes()).unwrap();
        let o = f.obs(r, false).unwrap().unwrap();
        assert!(o.window);
        assert_eq!((o.from_ms + 60_000, o.temperature), (o.t_ms, 3.0));
        assert_eq!((o.temp_min, o.temp_max, o.kilowatts), (2.0, 4.0, Some(0.0)));
        assert_eq!(
            (o.fan_1, o.fan_2, o.fan_3, o.door_open, o.defrost),
            (Some(false), Some(true), None, Some(true), Some(false))
        );
        let r = sc
            .scan(row.replace(r#""temperature_mean":3.0,"#, "").as_bytes())
            .unwrap();
        assert!(f
            .obs(r, false)
            .unwrap()
            .unwrap_err()
            .contains("temperature_mean"));
    }

    #[test]
    fn presence_counts_runs_of_equal_field_sets_as_each_observation() {
        let mut p = Presence::default();
        let with_kw = Obs {
            kilowatts: Some(4.0),
            fan_1: Some(true),
            ..Obs::default()
        };
        let without = Obs {
            fan_1: Some(true),
            ..Obs::default()
        };
        for o in [&with_kw, &with_kw, &without, &without, &without, &with_kw] {
            p.count(o);
        }
        let note = p.note().unwrap();
        assert!(note.contains("kilowatts in 3 of 6"), "{note}");
        assert!(
            !note.contains("oxygen_level") && !note.contains("fan_1"),
            "{note}"
        );
        // Asking does not change the count.
        p.count(&without);
        assert!(p.note().unwrap().contains("kilowatts in 4 of 7"));
    }
}
