//! What the detectors see of one record: a reading (SPEC §1) or a
//! reefer-window row (SPEC §4), reduced to the values rules use.
//!
//! JSON Lines readings and window rows go through a byte-level scanner that
//! understands the flat objects every reefer tool writes (no escapes, no
//! nesting); anything else (CSV rows, escaped strings, numbers as strings)
//! takes the general path through `serde_json` and [`Reading::from_map`],
//! which also produces the error message for a line that is wrong.

use crate::record::Reading;
use crate::time::TimeParser;
use chrono::{Datelike, NaiveDate};
use serde_json::{Map, Value};

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
    /// Simulator ground truth, filled only for `--evaluate`; rules never see it.
    pub label: Option<&'a str>,
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

impl<'a> Obs<'a> {
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
    }

    /// A numeric field by its SPEC name, for threshold rules and `--where`.
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
        Obs {
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
            label: if label { r.fault.as_deref() } else { None },
        }
    }
}

/// The columns of a reefer-window row (SPEC §4) that the detectors read:
/// numbers as `<field>_min`/`_max`/`_mean`, booleans as `<field>_true` (how
/// many readings of the window had it true) next to `count`.
///
/// A row becomes an observation at `window_end`: `temperature` is the mean,
/// `temperature_min`/`_max` bound it, `kilowatts` is the window's maximum
/// (power is off only if it was off for every reading), the other numbers
/// are means, and a boolean is true when any reading had it true (a fan ran,
/// a defrost or an open door happened in the window).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Col {
    ContainerId,
    Product,
    Start,
    End,
    TempMean,
    TempMin,
    TempMax,
    KwMax,
    Oxygen,
    Co2,
    Target,
    Supply,
    Ambient,
    Humidity,
    Nitrogen,
    Fan1,
    Fan2,
    Fan3,
    Defrost,
    Door,
}

fn col(key: &[u8]) -> Option<Col> {
    Some(match key {
        b"container_id" => Col::ContainerId,
        b"product_id" => Col::Product,
        b"window_start" => Col::Start,
        b"window_end" => Col::End,
        b"temperature_mean" => Col::TempMean,
        b"temperature_min" => Col::TempMin,
        b"temperature_max" => Col::TempMax,
        b"kilowatts_max" => Col::KwMax,
        b"oxygen_level_mean" => Col::Oxygen,
        b"carbon_dioxide_level_mean" => Col::Co2,
        b"target_temperature_mean" => Col::Target,
        b"supply_air_temperature_mean" => Col::Supply,
        b"ambient_temperature_mean" => Col::Ambient,
        b"humidity_level_mean" => Col::Humidity,
        b"nitrogen_level_mean" => Col::Nitrogen,
        b"fan_1_true" => Col::Fan1,
        b"fan_2_true" => Col::Fan2,
        b"fan_3_true" => Col::Fan3,
        b"defrost_true" => Col::Defrost,
        b"door_open_true" => Col::Door,
        _ => return None,
    })
}

/// Which observation fields a window row can fill, for `--help` and `--list-rules`.
pub const WINDOW_COLUMNS: &str = "temperature_mean (required), temperature_min, temperature_max, \
kilowatts_max, oxygen_level_mean, carbon_dioxide_level_mean, target_temperature_mean, \
supply_air_temperature_mean, ambient_temperature_mean, humidity_level_mean, nitrogen_level_mean, \
fan_1_true, fan_2_true, fan_3_true, defrost_true, door_open_true";

/// A window row being read, column by column (duplicate columns: the last wins).
#[derive(Default)]
pub struct RowAcc<'a> {
    o: Obs<'a>,
    start: Option<&'a [u8]>,
    end: Option<&'a [u8]>,
    mean: Option<f64>,
    min: Option<f64>,
    max: Option<f64>,
    bad: Option<String>,
}

impl<'a> RowAcc<'a> {
    /// Takes one column; `key` is the column name.
    pub fn set(&mut self, key: &[u8], v: Val<'a>) {
        let Some(c) = col(key) else { return };
        let num = |v: Val<'a>| match v {
            Val::Num(x) => x,
            Val::Str(s) => std::str::from_utf8(s)
                .ok()
                .and_then(|s| s.trim().parse::<f64>().ok())
                .filter(|x| x.is_finite()),
            _ => None,
        };
        let any_true = |v: Val<'a>| match v {
            Val::Bool(b) => Some(b),
            other => num(other).map(|n| n > 0.0),
        };
        let text = |v: Val<'a>| match v {
            Val::Str(s) if !s.iter().all(u8::is_ascii_whitespace) => std::str::from_utf8(s).ok(),
            _ => None,
        };
        match c {
            Col::ContainerId => self.o.container_id = text(v).unwrap_or_default(),
            Col::Product => self.o.product_id = text(v).unwrap_or_default(),
            Col::Start | Col::End => {
                let t = match v {
                    Val::Str(s) => Some(s),
                    _ => None,
                };
                if c == Col::Start {
                    self.start = t;
                } else {
                    self.end = t;
                }
            }
            Col::TempMean => self.mean = num(v),
            Col::TempMin => self.min = num(v),
            Col::TempMax => self.max = num(v),
            Col::KwMax => self.o.kilowatts = num(v),
            Col::Oxygen => self.o.oxygen = num(v),
            Col::Co2 => self.o.co2 = num(v),
            Col::Target => self.o.target = num(v),
            Col::Supply => self.o.supply = num(v),
            Col::Ambient => self.o.ambient = num(v),
            Col::Humidity => self.o.humidity = num(v),
            Col::Nitrogen => self.o.nitrogen = num(v),
            Col::Fan1 => self.o.fan_1 = any_true(v),
            Col::Fan2 => self.o.fan_2 = any_true(v),
            Col::Fan3 => self.o.fan_3 = any_true(v),
            Col::Defrost => self.o.defrost = any_true(v),
            Col::Door => self.o.door_open = any_true(v),
        }
        if let (Val::Str(s), Col::ContainerId | Col::Product) = (v, c) {
            if std::str::from_utf8(s).is_err() {
                self.bad = Some("window row: an id is not valid UTF-8".into());
            }
        }
    }

    /// The observation, or what the row lacks.
    pub fn finish(self, times: &mut TimeCache, parser: &TimeParser) -> Result<Obs<'a>, String> {
        if let Some(bad) = self.bad {
            return Err(bad);
        }
        let mut o = self.o;
        if o.container_id.is_empty() {
            return Err("window row: missing container_id".into());
        }
        if o.product_id.is_empty() {
            return Err("window row: missing product_id".into());
        }
        let time = |t: Option<&[u8]>, k: &str, times: &mut TimeCache| -> Result<i64, String> {
            let t = t.ok_or_else(|| format!("window row: missing {k}"))?;
            if let Some(ms) = times.get(t) {
                return Ok(ms);
            }
            let s = std::str::from_utf8(t).map_err(|_| format!("{k}: not valid UTF-8"))?;
            parser
                .parse(s)
                .map(|t| t.timestamp_millis())
                .map_err(|e| format!("{k}: {e}"))
        };
        o.from_ms = time(self.start, "window_start", times)?;
        o.t_ms = time(self.end, "window_end", times)?;
        let mean = self.mean.ok_or(
            "window row: missing temperature_mean (aggregate temperature with reefer-window)",
        )?;
        o.window = true;
        o.temperature = mean;
        o.temp_min = self.min.unwrap_or(mean);
        o.temp_max = self.max.unwrap_or(mean);
        Ok(o)
    }
}

/// True for a reefer-window row (it has `window_start`).
pub fn is_window(map: &Map<String, Value>) -> bool {
    map.contains_key("window_start")
}

/// A window row from a JSON object or a CSV row (the general path).
pub fn window_from_map<'a>(
    map: &'a Map<String, Value>,
    times: &mut TimeCache,
    parser: &TimeParser,
) -> Result<Obs<'a>, String> {
    let mut acc = RowAcc::default();
    for (k, v) in map {
        let v = match v {
            Value::String(s) => Val::Str(s.as_bytes()),
            Value::Number(n) => Val::Num(n.as_f64()),
            Value::Bool(b) => Val::Bool(*b),
            _ => Val::Null,
        };
        acc.set(k.as_bytes(), v);
    }
    acc.finish(times, parser)
}

/// A window row straight from its bytes; `None` when the line is not a flat
/// object the scanner reads (the general path then decides).
pub fn fast_window<'a>(
    line: &'a [u8],
    times: &mut TimeCache,
    parser: &TimeParser,
) -> Option<Result<Obs<'a>, String>> {
    let mut acc = RowAcc::default();
    scan_flat(line, |k, v| acc.set(k, v))?;
    Some(acc.finish(times, parser))
}

/// A value of a flat JSON object, as the scanner found it.
#[derive(Debug, Clone, Copy)]
pub enum Val<'a> {
    /// A string without escapes, between its quotes.
    Str(&'a [u8]),
    /// A number (`None`: not a valid one).
    Num(Option<f64>),
    Bool(bool),
    Null,
}

/// Parses the JSON value starting at `line[i]` (see [`scan_flat`]); returns it
/// and the index just past it.
#[inline]
fn parse_value(line: &[u8], mut i: usize) -> Option<(Val<'_>, usize)> {
    let n = line.len();
    let v = match line[i] {
        b'"' => {
            let s = i + 1;
            let e = s + line[s..].iter().position(|&c| c == b'"' || c < 0x20)?;
            if line[e] != b'"' {
                return None;
            }
            let v = &line[s..e];
            i = e + 1;
            Val::Str(v)
        }
        b't' if line[i..].starts_with(b"true") => {
            i += 4;
            Val::Bool(true)
        }
        b'f' if line[i..].starts_with(b"false") => {
            i += 5;
            Val::Bool(false)
        }
        b'n' if line[i..].starts_with(b"null") => {
            i += 4;
            Val::Null
        }
        b'-' | b'0'..=b'9' => {
            // Scan and parse in one pass (see parse_num).
            let s = i;
            let neg = line[i] == b'-';
            if neg {
                i += 1;
            }
            let (mut m, mut digits, mut frac, mut dot) = (0u64, 0u32, 0usize, false);
            while i < n {
                match line[i] {
                    c @ b'0'..=b'9' => {
                        m = m.wrapping_mul(10).wrapping_add((c - b'0') as u64);
                        digits += 1;
                        frac += dot as usize;
                    }
                    b'.' if !dot => dot = true,
                    _ => break,
                }
                i += 1;
            }
            let mut odd = false;
            while i < n && matches!(line[i], b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9') {
                odd = true;
                i += 1;
            }
            if odd || digits == 0 || digits > 15 || (dot && frac == 0) {
                Val::Num(slow_num(&line[s..i]))
            } else {
                let x = m as f64 / POW10[frac];
                Val::Num(Some(if neg { -x } else { x }))
            }
        }
        _ => return None,
    };
    Some((v, i))
}

/// Walks the members of a flat JSON object (`{"k":v,...}`) whose strings have
/// no escapes and whose values are not objects or arrays. Returns `None` as
/// soon as the line is anything else, so that the caller can take the general path.
#[inline]
pub fn scan_flat<'a>(line: &'a [u8], mut f: impl FnMut(&'a [u8], Val<'a>)) -> Option<()> {
    if memchr::memchr(b'\\', line).is_some() {
        return None;
    }
    let n = line.len();
    let mut i = 0;
    let ws = |i: &mut usize| {
        while *i < n && matches!(line[*i], b' ' | b'\t') {
            *i += 1;
        }
    };
    ws(&mut i);
    if i >= n || line[i] != b'{' {
        return None;
    }
    i += 1;
    ws(&mut i);
    if i < n && line[i] == b'}' {
        i += 1;
        ws(&mut i);
        return (i == n).then_some(());
    }
    loop {
        ws(&mut i);
        if i >= n || line[i] != b'"' {
            return None;
        }
        let ks = i + 1;
        // Keys are short: a plain loop beats a vectorised search here.
        let ke = ks + line[ks..].iter().position(|&c| c == b'"')?;
        let key = &line[ks..ke];
        i = ke + 1;
        ws(&mut i);
        if i >= n || line[i] != b':' {
            return None;
        }
        i += 1;
        ws(&mut i);
        if i >= n {
            return None;
        }
        let (v, j) = parse_value(line, i)?;
        i = j;
        f(key, v);
        ws(&mut i);
        if i >= n {
            return None;
        }
        match line[i] {
            b',' => i += 1,
            b'}' => {
                i += 1;
                ws(&mut i);
                return (i == n).then_some(());
            }
            _ => return None,
        }
    }
}

const POW10: [f64; 19] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18,
];

/// Parses a JSON number. Short decimals (the common case) are computed as an
/// integer divided by a power of ten, which is exact and correctly rounded;
/// anything longer goes to the standard library.
#[inline]
pub fn parse_num(s: &[u8]) -> Option<f64> {
    let (neg, digits) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        _ => (false, s),
    };
    let mut m: u64 = 0;
    let mut frac: usize = 0;
    let mut seen_dot = false;
    let mut count = 0;
    for &c in digits {
        match c {
            b'0'..=b'9' => {
                m = m * 10 + (c - b'0') as u64;
                count += 1;
                if seen_dot {
                    frac += 1;
                }
            }
            b'.' if !seen_dot => seen_dot = true,
            _ => return slow_num(s),
        }
    }
    if count == 0 || count > 15 || (seen_dot && frac == 0) {
        return slow_num(s);
    }
    let x = m as f64 / POW10[frac];
    Some(if neg { -x } else { x })
}

#[cold]
fn slow_num(s: &[u8]) -> Option<f64> {
    std::str::from_utf8(s)
        .ok()?
        .parse::<f64>()
        .ok()
        .filter(|x| x.is_finite())
}

fn digits(b: &[u8]) -> Option<u32> {
    let mut v = 0u32;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + (c - b'0') as u32;
    }
    Some(v)
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.fff]Z` to epoch ms; other layouts return `None`
/// (the caller then asks the general [`TimeParser`]).
#[inline]
pub fn fast_time(s: &[u8]) -> Option<i64> {
    if s.len() < 20
        || s[4] != b'-'
        || s[7] != b'-'
        || s[10] != b'T'
        || s[13] != b':'
        || s[16] != b':'
    {
        return None;
    }
    if *s.last()? != b'Z' {
        return None;
    }
    let y = digits(&s[0..4])? as i32;
    let mo = digits(&s[5..7])?;
    let d = digits(&s[8..10])?;
    let h = digits(&s[11..13])? as i64;
    let mi = digits(&s[14..16])? as i64;
    let se = digits(&s[17..19])? as i64;
    if h > 23 || mi > 59 || se > 59 {
        return None;
    }
    let mut ms = 0i64;
    let rest = &s[19..s.len() - 1];
    if !rest.is_empty() {
        if rest[0] != b'.' || rest.len() < 2 || rest.len() > 10 {
            return None;
        }
        let f = &rest[1..];
        let v = digits(f)? as i64;
        let scale = 10i64.pow(f.len() as u32);
        ms = v * 1000 / scale;
    }
    let date = NaiveDate::from_ymd_opt(y, mo, d)?;
    let days = date.num_days_from_ce() as i64 - 719_163;
    Some(((days * 24 + h) * 60 + mi) * 60_000 + se * 1000 + ms)
}

/// Cache of the last timestamp string: readings come in time steps, so most
/// lines repeat the previous line's time.
#[derive(Default)]
pub struct TimeCache {
    last: Vec<u8>,
    ms: i64,
}

impl TimeCache {
    #[inline]
    pub fn get(&mut self, s: &[u8]) -> Option<i64> {
        if s == self.last.as_slice() {
            return Some(self.ms);
        }
        let ms = fast_time(s)?;
        self.last.clear();
        self.last.extend_from_slice(s);
        self.ms = ms;
        Some(ms)
    }
}

/// Which reading field a JSON key is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fid {
    ContainerId,
    Time,
    Product,
    Temperature,
    Kilowatts,
    Oxygen,
    Co2,
    Target,
    Supply,
    Ambient,
    Ambiant,
    Humidity,
    Nitrogen,
    Fan1,
    Fan2,
    Fan3,
    Defrost,
    Door,
    Maintenance,
    Mode,
    Fault,
    Position,
    Window,
    Other,
}

fn fid(key: &[u8]) -> Fid {
    match key {
        b"container_id" => Fid::ContainerId,
        b"measurement_time" => Fid::Time,
        b"product_id" => Fid::Product,
        b"temperature" => Fid::Temperature,
        b"kilowatts" => Fid::Kilowatts,
        b"oxygen_level" => Fid::Oxygen,
        b"carbon_dioxide_level" => Fid::Co2,
        b"target_temperature" => Fid::Target,
        b"supply_air_temperature" => Fid::Supply,
        b"ambient_temperature" => Fid::Ambient,
        b"ambiant_temperature" => Fid::Ambiant,
        b"humidity_level" => Fid::Humidity,
        b"nitrogen_level" => Fid::Nitrogen,
        b"fan_1" => Fid::Fan1,
        b"fan_2" => Fid::Fan2,
        b"fan_3" => Fid::Fan3,
        b"defrost" => Fid::Defrost,
        b"door_open" => Fid::Door,
        b"maintenance_required" => Fid::Maintenance,
        b"operating_mode" => Fid::Mode,
        b"fault" => Fid::Fault,
        b"latitude" | b"longitude" => Fid::Position,
        b"window_start" => Fid::Window,
        _ => Fid::Other,
    }
}

/// State of the fast path between lines: the last timestamp, and the keys of
/// the last line in order. Tools write their keys in a fixed order, so most
/// lines are read by checking each expected `"key":` in place instead of
/// scanning and looking up every key.
#[derive(Default)]
pub struct FastState {
    pub times: TimeCache,
    schema: Vec<(Box<[u8]>, Fid)>,
    learning: Vec<(Box<[u8]>, Fid)>,
}

/// `hay` starts with `pat` (short patterns: eight bytes at a time).
#[inline]
fn starts_with(hay: &[u8], pat: &[u8]) -> bool {
    if hay.len() < pat.len() {
        return false;
    }
    let mut k = 0;
    while k + 8 <= pat.len() {
        let a = u64::from_le_bytes(hay[k..k + 8].try_into().expect("8 bytes"));
        let b = u64::from_le_bytes(pat[k..k + 8].try_into().expect("8 bytes"));
        if a != b {
            return false;
        }
        k += 8;
    }
    hay[k..pat.len()].iter().zip(&pat[k..]).all(|(a, b)| a == b)
}

/// A reading being assembled on the fast path.
struct Acc<'a> {
    o: Obs<'a>,
    has_t: bool,
    has_temp: bool,
    has_id: bool,
    has_prod: bool,
    ok: bool,
}

impl<'a> Acc<'a> {
    fn new() -> Self {
        Acc {
            o: Obs::default(),
            has_t: false,
            has_temp: false,
            has_id: false,
            has_prod: false,
            ok: true,
        }
    }

    #[inline]
    fn num(&mut self, v: Val<'a>) -> Option<f64> {
        match v {
            Val::Num(Some(x)) => Some(x),
            Val::Null => None,
            _ => {
                self.ok = false;
                None
            }
        }
    }

    #[inline]
    fn boolean(&mut self, v: Val<'a>) -> Option<bool> {
        match v {
            Val::Bool(b) => Some(b),
            Val::Null => None,
            _ => {
                self.ok = false;
                None
            }
        }
    }

    #[inline]
    fn id(&mut self, v: Val<'a>) -> Option<&'a str> {
        match v {
            Val::Str(x) if !x.is_empty() && !x.iter().all(u8::is_ascii_whitespace) => {
                std::str::from_utf8(x).ok()
            }
            _ => {
                self.ok = false;
                None
            }
        }
    }

    #[inline]
    fn apply(&mut self, f: Fid, v: Val<'a>, times: &mut TimeCache, label: bool) {
        match f {
            Fid::ContainerId => {
                if let Some(x) = self.id(v) {
                    self.o.container_id = x;
                    self.has_id = true;
                }
            }
            Fid::Product => {
                if let Some(x) = self.id(v) {
                    self.o.product_id = x;
                    self.has_prod = true;
                }
            }
            Fid::Time => match v {
                Val::Str(x) => match times.get(x) {
                    Some(t) => {
                        self.o.t_ms = t;
                        self.has_t = true;
                    }
                    None => self.ok = false,
                },
                _ => self.ok = false,
            },
            Fid::Temperature => {
                if let Some(x) = self.num(v) {
                    self.o.temperature = x;
                    self.has_temp = true;
                }
            }
            Fid::Kilowatts => self.o.kilowatts = self.num(v),
            Fid::Oxygen => self.o.oxygen = self.num(v),
            Fid::Co2 => self.o.co2 = self.num(v),
            Fid::Target => self.o.target = self.num(v),
            Fid::Supply => self.o.supply = self.num(v),
            Fid::Ambient => self.o.ambient = self.num(v),
            Fid::Ambiant if self.o.ambient.is_none() => self.o.ambient = self.num(v),
            Fid::Humidity => self.o.humidity = self.num(v),
            Fid::Nitrogen => self.o.nitrogen = self.num(v),
            Fid::Fan1 => self.o.fan_1 = self.boolean(v),
            Fid::Fan2 => self.o.fan_2 = self.boolean(v),
            Fid::Fan3 => self.o.fan_3 = self.boolean(v),
            Fid::Defrost => self.o.defrost = self.boolean(v),
            Fid::Door => self.o.door_open = self.boolean(v),
            Fid::Maintenance => {
                let _ = self.boolean(v);
            }
            Fid::Mode => match v {
                Val::Str(b"") | Val::Null => {}
                Val::Str(x) => self.o.mode = Some(Mode::parse(x)),
                _ => self.ok = false,
            },
            Fid::Fault if label => {
                if let Val::Str(x) = v {
                    if !x.is_empty() {
                        self.o.label = std::str::from_utf8(x).ok();
                    }
                }
            }
            Fid::Position if !matches!(v, Val::Num(Some(_)) | Val::Null) => self.ok = false,
            Fid::Window => self.ok = false,
            _ => {}
        }
    }

    /// The reading, when everything SPEC §1 requires is there and well-typed;
    /// otherwise the general path says what is wrong.
    fn finish(self) -> Option<Obs<'a>> {
        let mut o = self.o;
        if !(self.ok && self.has_id && self.has_t && self.has_prod && self.has_temp) {
            return None;
        }
        if o.kilowatts.is_none_or(|k| k < 0.0)
            || o.oxygen.is_none()
            || o.co2.is_none()
            || o.fan_1.is_none()
        {
            return None;
        }
        o.from_ms = o.t_ms;
        o.temp_min = o.temperature;
        o.temp_max = o.temperature;
        Some(o)
    }
}

/// Reads a line along the keys of the previous one; `None` when it differs.
#[inline]
fn by_schema<'a>(b: &'a [u8], st: &mut FastState, label: bool) -> Option<Obs<'a>> {
    if st.schema.is_empty() || b.first() != Some(&b'{') {
        return None;
    }
    let mut acc = Acc::new();
    let mut i = 1;
    let last = st.schema.len() - 1;
    for (k, (pat, f)) in st.schema.iter().enumerate() {
        if !starts_with(&b[i..], pat) {
            return None;
        }
        let (v, j) = parse_value(b, i + pat.len())?;
        acc.apply(*f, v, &mut st.times, label);
        match (b.get(j), k == last) {
            (Some(b','), false) => i = j + 1,
            (Some(b'}'), true) if j + 1 == b.len() => return acc.finish(),
            _ => return None,
        }
    }
    None
}

/// The fast path: a flat JSON Lines reading straight from its bytes.
/// `None` means "not sure": the caller must use the general path, which also
/// explains what is wrong with a bad line.
#[inline]
pub fn fast_obs<'a>(line: &'a str, st: &mut FastState, label: bool) -> Option<Obs<'a>> {
    let b = line.as_bytes();
    if memchr::memchr(b'\\', b).is_some() {
        return None;
    }
    if let Some(o) = by_schema(b, st, label) {
        return Some(o);
    }
    // Scan key by key, and remember the keys' order for the next lines.
    let mut acc = Acc::new();
    let FastState {
        times, learning, ..
    } = st;
    learning.clear();
    scan_flat(b, |k, v| {
        let f = fid(k);
        let mut pat = Vec::with_capacity(k.len() + 3);
        pat.push(b'"');
        pat.extend_from_slice(k);
        pat.extend_from_slice(b"\":");
        learning.push((pat.into_boxed_slice(), f));
        acc.apply(f, v, times, label);
    })?;
    std::mem::swap(&mut st.schema, &mut st.learning);
    acc.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_parse_exactly() {
        for s in [
            "0",
            "-0.05",
            "13.3",
            "127.0",
            "-99.9",
            "20.93",
            "1e3",
            "0.1",
            "123456.789",
        ] {
            assert_eq!(parse_num(s.as_bytes()), s.parse::<f64>().ok(), "{s}");
        }
        assert_eq!(parse_num(b"-"), None);
        assert_eq!(parse_num(b"1.2.3"), None);
    }

    #[test]
    fn times_parse_like_chrono() {
        for s in [
            "2026-11-27T03:00:00Z",
            "2026-11-27T03:00:00.250Z",
            "1970-01-01T00:00:00Z",
            "2024-02-29T23:59:59Z",
        ] {
            let want = crate::time::parse_time(s).unwrap().timestamp_millis();
            assert_eq!(fast_time(s.as_bytes()), Some(want), "{s}");
        }
        assert_eq!(fast_time(b"2026-11-27T03:00:00+01:00"), None);
        assert_eq!(fast_time(b"2026-02-30T03:00:00Z"), None);
    }

    #[test]
    fn fast_and_general_paths_agree() {
        let line = r#"{"container_id":"MSKU1234565","measurement_time":"2026-11-27T03:00:00Z","product_id":"P01","temperature":0.5,"target_temperature":0.0,"supply_air_temperature":-1.2,"kilowatts":2.5,"oxygen_level":20.9,"carbon_dioxide_level":0.04,"fan_1":true,"fan_2":true,"defrost":false,"door_open":false,"operating_mode":"modulated_cool","latitude":null,"longitude":null,"fault":"door_open","ship":"Emma"}"#;
        let mut tc = FastState::default();
        let fast = fast_obs(line, &mut tc, true).unwrap();
        // Again, along the learnt key order.
        assert_eq!(
            format!("{:?}", fast_obs(line, &mut tc, true).unwrap()),
            format!("{fast:?}")
        );
        let r = Reading::from_json_line(line, &TimeParser::default()).unwrap();
        let slow = Obs::from_reading(&r, true);
        assert_eq!(format!("{fast:?}"), format!("{slow:?}"));
        // Missing a required field, a string number, an escape: general path.
        assert!(fast_obs(&line.replace(r#""kilowatts":2.5,"#, ""), &mut tc, false).is_none());
        assert!(fast_obs(&line.replace("2.5", "\"2.5\""), &mut tc, false).is_none());
        assert!(fast_obs(&line.replace("Emma", "E\\\"mma"), &mut tc, false).is_none());
        assert!(fast_obs(&line.replace("}", ""), &mut tc, false).is_none());
    }
}
