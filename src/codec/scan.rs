//! The one field-projection scanner: a tool declares the top-level fields it
//! needs, each with a [`Kind`], and gets, per JSON Lines line, a typed value
//! for exactly those fields (or the reason the line is bad).
//!
//! A hand-rolled pass handles the common shape of a record (a flat object,
//! no `\u` escapes or exponents where it matters), validating the JSON
//! grammar as it goes and predicting the field order from the line before.
//! A compact line (no white space, as every JSON Lines writer makes them)
//! with the same keys as the line it learnt from takes the quickest road:
//! the bytes between its values are compared with the learnt line's in one
//! comparison per key, and only the values are scanned.
//! Anything it is unsure about falls back to a full `serde_json` parse, which
//! also writes every error message, so both paths accept exactly the same
//! lines and give the same values (property-tested below).
//!
//! Decisions every tool shares:
//! - duplicate keys: the last one wins (serde_json's behaviour, both paths);
//! - a time must be a string: a number is a bad line (`expected an RFC 3339 time`);
//! - `NaN`, `Infinity` and numbers out of f64 range (`1e400`) make a bad line,
//!   wherever they are in the line;
//! - null and absent are told apart ([`Value::Null`], [`Value::Missing`]);
//!   whether a field is required is the tool's business.
//!
//! ```
//! use reefer::codec::scan::{Fields, Kind, Scanner};
//! let mut fields = Fields::new(Default::default());
//! let time = fields.add("measurement_time", Kind::Time);
//! let id = fields.add("container_id", Kind::Str);
//! let temp = fields.add("temperature", Kind::Num);
//! let mut scanner = Scanner::new(fields.into());
//! let line = br#"{"container_id":"C1","measurement_time":"2026-11-27T03:00:00Z","temperature":5.5}"#;
//! let rec = scanner.scan(line).unwrap();
//! assert_eq!(rec.time(time), Some(1_795_748_400_000));
//! assert_eq!(rec.str(id), Some("C1"));
//! assert_eq!(rec.num(temp), Some(5.5));
//! ```

use crate::record::{value_bool, value_f64};
use crate::time::TimeParser;
use serde_json::{Map, Value as Json};
use std::sync::Arc;

/// What a declared field is read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An event time: a string read by the one time parser, to epoch ms.
    Time,
    /// A string (anything else but null is a bad line).
    Str,
    /// A number, also accepted as a numeric string (`"5.2"`).
    Num,
    /// A boolean, also accepted as `0`/`1` or `"true"`/`"yes"`/`"on"`… .
    Bool,
    /// Whatever is there: null, bool, number, string, or an object/array as JSON text.
    Any,
    /// The value's canonical JSON text (strings with their quotes), to echo it.
    Json,
}

/// A declared field's handle: where its value is in a [`Record`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Slot(u32);

impl Slot {
    /// The position in declaration order (0-based).
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// A field's value in one record.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    Missing,
    Null,
    Time(i64),
    Num(f64),
    Bool(bool),
    Str(&'a str),
    /// [`Kind::Json`] values, and objects or arrays under [`Kind::Any`].
    Json(&'a str),
}

/// The fields a tool needs. Build once, share between threads (`Arc`).
#[derive(Debug, Clone, Default)]
pub struct Fields {
    /// Declared slots in order: (name, kind).
    slots: Vec<(Box<str>, Kind)>,
    /// Distinct names, each with the slots that read it.
    names: Vec<(Box<[u8]>, Vec<u32>)>,
    times: TimeParser,
}

impl Fields {
    /// No fields yet; times are read with `times` (`--time-format`).
    pub fn new(times: TimeParser) -> Fields {
        Fields {
            times,
            ..Fields::default()
        }
    }

    /// Declares a field. One name may be declared more than once (e.g. as
    /// [`Kind::Num`] for a detector and [`Kind::Any`] for `--where`).
    pub fn add(&mut self, name: &str, kind: Kind) -> Slot {
        let slot = self.slots.len() as u32;
        self.slots.push((name.into(), kind));
        match self.names.iter_mut().find(|(n, _)| &**n == name.as_bytes()) {
            Some((_, slots)) => slots.push(slot),
            None => self.names.push((name.as_bytes().into(), vec![slot])),
        }
        Slot(slot)
    }

    /// The slot of a field already declared with this name and kind.
    pub fn find(&self, name: &str, kind: Kind) -> Option<Slot> {
        self.slots
            .iter()
            .position(|(n, k)| &**n == name && *k == kind)
            .map(|i| Slot(i as u32))
    }

    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    pub fn name(&self, slot: Slot) -> &str {
        &self.slots[slot.index()].0
    }

    pub fn times(&self) -> &TimeParser {
        &self.times
    }

    /// Most names in a line are not needed: the length and the first and
    /// last bytes rule them out before any full comparison.
    #[inline]
    fn lookup(&self, name: &[u8]) -> Option<u32> {
        let (first, last) = match name {
            [] => {
                return self
                    .names
                    .iter()
                    .position(|(n, _)| n.is_empty())
                    .map(|i| i as u32)
            }
            [f, .., l] => (*f, *l),
            [f] => (*f, *f),
        };
        self.names
            .iter()
            .position(|(n, _)| {
                n.len() == name.len() && n[0] == first && n[n.len() - 1] == last && same(n, name)
            })
            .map(|i| i as u32)
    }
}

/// What one field holds, strings as ranges of [`Record::text`].
#[derive(Debug, Clone, Copy, PartialEq)]
enum Got {
    Missing,
    Null,
    Time(i64),
    Num(f64),
    Bool(bool),
    Str(u32, u32),
    Json(u32, u32),
}

/// The declared fields of one line.
#[derive(Debug, Clone, Default)]
pub struct Record {
    got: Vec<Got>,
    text: String,
}

impl Record {
    fn reset(&mut self, n: usize) {
        self.got.clear();
        self.got.resize(n, Got::Missing);
        self.text.clear();
    }

    #[inline]
    pub fn get(&self, slot: Slot) -> Value<'_> {
        match self.got[slot.index()] {
            Got::Missing => Value::Missing,
            Got::Null => Value::Null,
            Got::Time(t) => Value::Time(t),
            Got::Num(x) => Value::Num(x),
            Got::Bool(b) => Value::Bool(b),
            Got::Str(a, z) => Value::Str(&self.text[a as usize..z as usize]),
            Got::Json(a, z) => Value::Json(&self.text[a as usize..z as usize]),
        }
    }

    /// Epoch ms of a [`Kind::Time`] field; `None` when null or absent.
    #[inline]
    pub fn time(&self, slot: Slot) -> Option<i64> {
        match self.got[slot.index()] {
            Got::Time(t) => Some(t),
            _ => None,
        }
    }

    /// A number (`Kind::Num`, or a number under `Kind::Any`); `None` when null or absent.
    #[inline]
    pub fn num(&self, slot: Slot) -> Option<f64> {
        match self.got[slot.index()] {
            Got::Num(x) => Some(x),
            _ => None,
        }
    }

    #[inline]
    pub fn bool(&self, slot: Slot) -> Option<bool> {
        match self.got[slot.index()] {
            Got::Bool(b) => Some(b),
            _ => None,
        }
    }

    /// A string (`Kind::Str`, or a string under `Kind::Any`).
    #[inline]
    pub fn str(&self, slot: Slot) -> Option<&str> {
        match self.get(slot) {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The JSON text of a [`Kind::Json`] field (`None` when null or absent).
    #[inline]
    pub fn json(&self, slot: Slot) -> Option<&str> {
        match self.get(slot) {
            Value::Json(s) => Some(s),
            _ => None,
        }
    }

    fn push_text(&mut self, s: &str) -> (u32, u32) {
        let a = self.text.len() as u32;
        self.text.push_str(s);
        (a, self.text.len() as u32)
    }
}

/// A scanner for one stream of lines (one per thread): it remembers the last
/// line's field order and time text.
#[derive(Debug)]
pub struct Scanner {
    fields: Arc<Fields>,
    rec: Record,
    schema: Schema,
    last_time: TimeCache,
}

/// The field names of a recent line, in order, each with its entry in
/// `Fields::names`: the next line's keys are checked against them with a few
/// word compares instead of being scanned and looked up.
#[derive(Debug, Default)]
struct Schema {
    /// Each learnt key as it followed its opening quote: the name, its
    /// closing quote and, when the colon came right after, the colon.
    names: Vec<u8>,
    /// Per key: where its pattern is in `names`, the pattern's length, and
    /// its entry in `Fields::names`.
    fields: Vec<(u32, u32, Option<u32>)>,
    /// A prediction failed: learn again from the next line.
    relearn: bool,
    scratch: Vec<(u32, u32, Option<u32>)>,
    /// The learnt line's shape when it was compact (no white space).
    template: Template,
}

/// A compact line's shape (`{"a":1,"b":2}`, as every writer of JSON Lines
/// makes it): per key, the bytes before its value (`{"a":`, then `,"b":`),
/// so that the next line's structure is checked with one comparison per key
/// and only the values are scanned. Any difference (white space, another
/// key, one key more or less) sends the line to the general fast path.
#[derive(Debug, Default)]
struct Template {
    /// Every step's bytes, one after the other.
    bytes: Vec<u8>,
    /// Per key: where its bytes are in `bytes`, their length, and what to
    /// do with its value.
    steps: Vec<(u32, u32, Act)>,
    /// Whether the learnt line was compact (else there is no template).
    usable: bool,
}

/// What the compact path does with a key's value, decided when the template
/// is learnt: skip it, fill the one slot that reads it (the common case, with
/// its kind at hand), or fill every slot of a name declared more than once.
#[derive(Debug, Clone, Copy)]
enum Act {
    Skip,
    /// A number's one slot: most of a record's fields, read without the
    /// general token dispatch.
    Num(u32),
    /// A flag's one slot, likewise.
    Bool(u32),
    One(u32, Kind),
    /// The name's entry in `Fields::names`.
    Many(u32),
}

impl Schema {
    /// The key whose opening quote is at `b[i]`, the `j`-th of its line: the
    /// index just past it (past the colon too when the learnt pattern ends
    /// with one) and its entry in `Fields::names`. Checked against the learnt
    /// order while `predict` holds (a miss turns it off and asks to learn
    /// again), else scanned and looked up.
    #[inline]
    fn key(
        &mut self,
        b: &[u8],
        i: usize,
        j: usize,
        predict: &mut bool,
        fields: &Fields,
        non_ascii: &mut bool,
    ) -> Option<(usize, Option<u32>)> {
        if *predict {
            if let Some(&(a, l, entry)) = self.fields.get(j) {
                let (a, l) = (a as usize, l as usize);
                // The learnt names have no escapes, so equal bytes ending in
                // a quote are the same, valid key (valid UTF-8 too: it was
                // learnt from a line that was).
                if let Some(k) = b.get(i + 1..i + 1 + l) {
                    if same(k, &self.names[a..a + l]) {
                        return Some((i + 1 + l, entry));
                    }
                }
            }
            *predict = false;
            self.relearn = true;
        }
        let (ke, escaped) = scan_string(b, i + 1, non_ascii)?;
        if escaped {
            return None;
        }
        Some((ke + 1, fields.lookup(&b[i + 1..ke])))
    }

    /// Keeps the key order collected from line `b` for the next lines: each
    /// key's name, closing quote and colon if it came right after.
    fn learn(&mut self, b: &[u8], fields: &Fields) {
        self.names.clear();
        self.fields.clear();
        for &(a, l, entry) in &self.scratch {
            let at = self.names.len() as u32;
            let (a, mut z) = (a as usize, (a + l) as usize + 1);
            if b.get(z) == Some(&b':') {
                z += 1;
            }
            self.names.extend_from_slice(&b[a..z]);
            self.fields.push((at, (z - a) as u32, entry));
        }
        self.relearn = false;
        self.learn_template(b, fields);
    }

    /// The template of line `b` (whose keys are in `scratch`), if compact:
    /// each key's quote right after `{` or `,`, its colon right after it.
    fn learn_template(&mut self, b: &[u8], fields: &Fields) {
        let t = &mut self.template;
        t.bytes.clear();
        t.steps.clear();
        t.usable = false;
        // A template is its keys: `{}` has none to check the `{` with (the
        // fuzzer's `{}` then `}`), so an empty object takes the general path.
        if self.scratch.is_empty() {
            return;
        }
        for (n, &(a, l, entry)) in self.scratch.iter().enumerate() {
            // `a` is just past the key's opening quote; `l` the name's length.
            let (a, l) = (a as usize, l as usize);
            let before = if n == 0 { b'{' } else { b',' };
            let z = a + l + 2; // past the closing quote and the colon
            if a < 2 || b[a - 2] != before || b.get(z - 1) != Some(&b':') {
                return;
            }
            if n == 0 && a != 2 {
                return;
            }
            let at = t.bytes.len() as u32;
            t.bytes.extend_from_slice(&b[a - 2..z]);
            let act = match entry {
                None => Act::Skip,
                Some(e) => match fields.names[e as usize].1[..] {
                    [slot] => match fields.slots[slot as usize].1 {
                        Kind::Num => Act::Num(slot),
                        Kind::Bool => Act::Bool(slot),
                        kind => Act::One(slot, kind),
                    },
                    _ => Act::Many(e),
                },
            };
            t.steps.push((at, (z - a + 2) as u32, act));
        }
        t.usable = true;
    }
}

/// The last two time strings parsed and their values: readings come in time
/// steps, and a window row has two times (`window_start`, `window_end`),
/// which a one-entry cache would see alternate and always miss.
#[derive(Debug, Default)]
struct TimeCache {
    entries: [CachedTime; 2],
    /// The entry the next miss replaces.
    next: usize,
}

#[derive(Debug, Default)]
struct CachedTime {
    text: [u8; 32],
    len: usize,
    ms: i64,
}

impl CachedTime {
    #[inline]
    fn get(&self, raw: &[u8]) -> Option<i64> {
        (self.len != 0 && raw.len() == self.len && same(&self.text[..self.len], raw))
            .then_some(self.ms)
    }
}

impl TimeCache {
    #[inline]
    fn get(&self, raw: &[u8]) -> Option<i64> {
        // The latest first: readings hit it, rows alternate.
        let latest = self.next ^ 1;
        self.entries[latest]
            .get(raw)
            .or_else(|| self.entries[self.next].get(raw))
    }

    #[inline]
    fn put(&mut self, raw: &[u8], ms: i64) {
        let e = &mut self.entries[self.next];
        if raw.len() <= e.text.len() {
            e.text[..raw.len()].copy_from_slice(raw);
            e.len = raw.len();
            e.ms = ms;
            self.next ^= 1;
        }
    }
}

/// A token of the fast path: a value it read without doubt.
#[derive(Clone, Copy)]
enum Tok {
    /// A string without escapes, between its quotes (`a..z`), quotes at `a-1` and `z`.
    Str(usize, usize),
    Bool(bool),
    Null,
    /// A plain decimal and its exact value.
    Num(f64),
}

impl Scanner {
    pub fn new(fields: Arc<Fields>) -> Scanner {
        Scanner {
            fields,
            rec: Record::default(),
            schema: Schema::default(),
            last_time: TimeCache::default(),
        }
    }

    pub fn fields(&self) -> &Fields {
        &self.fields
    }

    /// The declared fields of one line (without its line ending), or why
    /// the line is bad.
    pub fn scan(&mut self, line: &[u8]) -> Result<&Record, String> {
        self.rec.reset(self.fields.len());
        if self.fast_text(line) {
            return Ok(&self.rec);
        }
        let text = std::str::from_utf8(line)
            .map_err(|e| format!("not valid UTF-8 (byte {})", e.valid_up_to()))?;
        let map = super::parse_json_object_str(text)?;
        self.scan_map(&map)
    }

    /// The declared fields of a record that is already a JSON object (a CSV
    /// row, a line parsed for another reason): the slow path's conversions.
    pub fn scan_map(&mut self, map: &Map<String, Json>) -> Result<&Record, String> {
        let fields = Arc::clone(&self.fields);
        self.rec.reset(fields.len());
        for (i, (name, kind)) in fields.slots.iter().enumerate() {
            let got = match map.get(&**name) {
                None => Got::Missing,
                Some(Json::Null) => Got::Null,
                Some(v) => convert(&mut self.rec, name, *kind, v, &fields.times)?,
            };
            self.rec.got[i] = got;
        }
        Ok(&self.rec)
    }

    /// The fast path, with the strings it keeps gathered in one buffer that
    /// is checked to be UTF-8 once, at the end, and becomes the record's text.
    /// `false` means "not sure": the caller re-parses with serde.
    fn fast_text(&mut self, b: &[u8]) -> bool {
        let mut text = std::mem::take(&mut self.rec.text).into_bytes();
        text.clear();
        let mut ok = self.schema.template.usable
            && !self.schema.relearn
            && self.compact(b, &mut text).is_some();
        if !ok {
            text.clear();
            self.rec.reset(self.fields.len());
            ok = self.fast(b, &mut text).is_some();
        }
        // Only string contents go to `text`, and the line they came from was
        // valid UTF-8 when `fast` succeeded, so this check never fails then.
        // Ids, products and modes are ASCII: checked a word at a time, which
        // costs a fraction of `from_utf8`'s byte-wise walk over short text.
        if text.is_ascii() {
            // SAFETY: every byte is ASCII, and ASCII is valid UTF-8.
            self.rec.text = unsafe { String::from_utf8_unchecked(text) };
            return ok;
        }
        match String::from_utf8(text) {
            Ok(t) => {
                self.rec.text = t;
                ok
            }
            Err(e) => {
                let mut v = e.into_bytes();
                v.clear();
                self.rec.text = String::from_utf8(v).unwrap_or_default();
                false
            }
        }
    }

    /// The compact path: the line has the learnt template's shape. `None`
    /// means "not that shape, or not sure": the general fast path takes it.
    fn compact(&mut self, b: &[u8], text: &mut Vec<u8>) -> Option<()> {
        let fields = &*self.fields;
        let t = &self.schema.template;
        let mut non_ascii = false;
        let mut i = 0usize;
        for &(at, len, act) in &t.steps {
            let (at, len) = (at as usize, len as usize);
            if !same(b.get(i..i + len)?, &t.bytes[at..at + len]) {
                return None;
            }
            i += len;
            i = match act {
                Act::Skip => skip_value(b, i, &mut non_ascii)?,
                Act::Num(slot) => match short_decimal(b, i) {
                    Some((end, x)) => {
                        self.rec.got[slot as usize] = Got::Num(x);
                        end
                    }
                    None => {
                        let (tok, end) = token(b, i, &mut non_ascii)?;
                        let got =
                            fill(text, &mut self.last_time, fields, Kind::Num, b, i, end, tok)?;
                        self.rec.got[slot as usize] = got;
                        end
                    }
                },
                Act::Bool(slot) => {
                    let (got, end) = match word(b, i)? {
                        Tok::Bool(false) => (Got::Bool(false), i + 5),
                        Tok::Bool(true) => (Got::Bool(true), i + 4),
                        _ => (Got::Null, i + 4),
                    };
                    self.rec.got[slot as usize] = got;
                    end
                }
                Act::One(slot, kind) => {
                    let (tok, end) = token(b, i, &mut non_ascii)?;
                    let got = fill(text, &mut self.last_time, fields, kind, b, i, end, tok)?;
                    self.rec.got[slot as usize] = got;
                    end
                }
                Act::Many(e) => {
                    let (tok, end) = token(b, i, &mut non_ascii)?;
                    for &slot in &fields.names[e as usize].1 {
                        let kind = fields.slots[slot as usize].1;
                        let got = fill(text, &mut self.last_time, fields, kind, b, i, end, tok)?;
                        self.rec.got[slot as usize] = got;
                    }
                    end
                }
            };
        }
        if b.len() != i + 1 || b[i] != b'}' {
            return None;
        }
        if non_ascii && std::str::from_utf8(b).is_err() {
            return None;
        }
        Some(())
    }

    /// The fast path. `None` means "not sure": the caller re-parses with serde.
    ///
    /// Every byte of the line is looked at: structure and numbers must be
    /// ASCII to pass, so the line is valid UTF-8 when its strings are; strings
    /// are scanned eight bytes at a time and only a line with a non-ASCII
    /// byte in a string is checked as a whole. The expected byte (`:` after
    /// a key, `"` after a comma) is tested before any white space is skipped.
    fn fast(&mut self, b: &[u8], text: &mut Vec<u8>) -> Option<()> {
        let fields = &*self.fields;
        let schema = &mut self.schema;
        // Learn the field order from this line, or predict it from the last one.
        let collect = schema.relearn || schema.fields.is_empty();
        let mut predict = !collect;
        if collect {
            schema.scratch.clear();
        }
        let mut non_ascii = false;
        let mut j = 0usize;
        let mut i = skip_ws(b, 0);
        if at(b, i) != b'{' {
            return None;
        }
        i = skip_ws(b, i + 1);
        if at(b, i) == b'}' {
            i += 1;
        } else {
            loop {
                if at(b, i) != b'"' {
                    return None;
                }
                let (past, entry) = schema.key(b, i, j, &mut predict, fields, &mut non_ascii)?;
                if collect {
                    schema
                        .scratch
                        .push((i as u32 + 1, (past - i - 2) as u32, entry));
                }
                j += 1;
                i = past;
                // Already past the colon when the learnt key matched with it.
                if b[i - 1] != b':' {
                    if at(b, i) != b':' {
                        i = skip_ws(b, i);
                        if at(b, i) != b':' {
                            return None;
                        }
                    }
                    i += 1;
                }
                if at(b, i) <= b' ' {
                    i = skip_ws(b, i);
                }
                i = match entry {
                    None => skip_value(b, i, &mut non_ascii)?,
                    Some(e) => {
                        let (tok, end) = token(b, i, &mut non_ascii)?;
                        for &slot in &fields.names[e as usize].1 {
                            let kind = fields.slots[slot as usize].1;
                            let got =
                                fill(text, &mut self.last_time, fields, kind, b, i, end, tok)?;
                            self.rec.got[slot as usize] = got;
                        }
                        end
                    }
                };
                let mut c = at(b, i);
                if c <= b' ' {
                    i = skip_ws(b, i);
                    c = at(b, i);
                }
                match c {
                    b',' => {
                        i += 1;
                        if at(b, i) != b'"' {
                            i = skip_ws(b, i);
                        }
                    }
                    b'}' => {
                        i += 1;
                        break;
                    }
                    _ => return None,
                }
            }
        }
        if i != b.len() && skip_ws(b, i) != b.len() {
            return None;
        }
        if non_ascii && std::str::from_utf8(b).is_err() {
            return None;
        }
        if collect {
            schema.learn(b, fields);
        }
        Some(())
    }
}

/// The byte at `b[i]`, or 0 past the end (0 is never valid where a byte is
/// expected, so one comparison covers both).
#[inline(always)]
fn at(b: &[u8], i: usize) -> u8 {
    b.get(i).copied().unwrap_or(0)
}

/// Skips a value no field needs, checking it as serde would: the index just
/// past it, `None` for what the fast path leaves to serde (nested values,
/// `\u` escapes, exponents, numbers long enough to overflow).
#[inline(always)]
fn skip_value(b: &[u8], i: usize, non_ascii: &mut bool) -> Option<usize> {
    match at(b, i) {
        b'"' => Some(scan_string(b, i + 1, non_ascii)?.0 + 1),
        b'-' | b'0'..=b'9' => skip_number(b, i),
        b't' | b'f' | b'n' => match word(b, i)? {
            Tok::Bool(false) => Some(i + 5),
            _ => Some(i + 4),
        },
        _ => None,
    }
}

/// `true`, `false` or `null` at `b[i]`, four bytes at a time.
#[inline(always)]
fn word(b: &[u8], i: usize) -> Option<Tok> {
    let four = u32::from_le_bytes(b.get(i..i + 4)?.try_into().ok()?);
    match four {
        x if x == u32::from_le_bytes(*b"true") => Some(Tok::Bool(true)),
        x if x == u32::from_le_bytes(*b"null") => Some(Tok::Null),
        x if x == u32::from_le_bytes(*b"fals") && at(b, i + 4) == b'e' => Some(Tok::Bool(false)),
        _ => None,
    }
}

/// An unneeded number from `b[i]`: the index just past it, per the JSON
/// grammar; `None` for an exponent (`1e400` is out of range for serde) or
/// more than 300 characters (an integer part that overflows).
#[inline]
fn skip_number(b: &[u8], start: usize) -> Option<usize> {
    let mut i = start + usize::from(at(b, start) == b'-');
    match at(b, i) {
        b'0' => i += 1,
        b'1'..=b'9' => {
            i += 1;
            while at(b, i).is_ascii_digit() {
                i += 1;
            }
        }
        _ => return None,
    }
    if at(b, i) == b'.' {
        i += 1;
        if !at(b, i).is_ascii_digit() {
            return None;
        }
        i += 1;
        while at(b, i).is_ascii_digit() {
            i += 1;
        }
    }
    if matches!(at(b, i), b'e' | b'E') || i - start > 300 {
        return None;
    }
    Some(i)
}

/// The value at `b[i]` and the index just past it; `None` for anything the
/// fast path leaves to serde (nested values, escapes in needed strings,
/// exponents, long numbers).
#[inline(always)]
fn token(b: &[u8], i: usize, non_ascii: &mut bool) -> Option<(Tok, usize)> {
    match at(b, i) {
        b'"' => {
            let (e, esc) = scan_string(b, i + 1, non_ascii)?;
            if esc {
                return None;
            }
            Some((Tok::Str(i + 1, e), e + 1))
        }
        b't' | b'f' | b'n' => {
            let w = word(b, i)?;
            Some((w, i + if matches!(w, Tok::Bool(false)) { 5 } else { 4 }))
        }
        b'-' | b'0'..=b'9' => {
            // Exact by Clinger's fast path, as serde computes it; others to serde.
            let (e, x) = scan_decimal(b, i)?;
            Some((Tok::Num(x?), e))
        }
        _ => None,
    }
}

/// One field's value from a fast-path token, strings copied to `text`;
/// `None` leaves the line to serde (which also writes any error).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn fill(
    text: &mut Vec<u8>,
    cache: &mut TimeCache,
    fields: &Fields,
    kind: Kind,
    b: &[u8],
    start: usize,
    end: usize,
    tok: Tok,
) -> Option<Got> {
    let mut push = |s: &[u8]| {
        let a = text.len() as u32;
        text.extend_from_slice(s);
        (a, text.len() as u32)
    };
    Some(match (kind, tok) {
        (_, Tok::Null) => Got::Null,
        (Kind::Time, Tok::Str(a, z)) => {
            let raw = &b[a..z];
            match cache.get(raw) {
                Some(t) => Got::Time(t),
                None => {
                    let t = fields.times.parse_ms(std::str::from_utf8(raw).ok()?).ok()?;
                    cache.put(raw, t);
                    Got::Time(t)
                }
            }
        }
        (Kind::Str | Kind::Any, Tok::Str(a, z)) => {
            let (a, z) = push(&b[a..z]);
            Got::Str(a, z)
        }
        (Kind::Json, Tok::Str(..)) => {
            // No escapes and no control characters: serde writes it back the same.
            let (a, z) = push(&b[start..end]);
            Got::Json(a, z)
        }
        (Kind::Json, Tok::Bool(v)) => {
            let (a, z) = push(if v { b"true" } else { b"false" });
            Got::Json(a, z)
        }
        (Kind::Num | Kind::Any, Tok::Num(x)) => Got::Num(x),
        (Kind::Bool | Kind::Any, Tok::Bool(v)) => Got::Bool(v),
        _ => return None,
    })
}

/// The slow path's conversion of one non-null value, with the message for a
/// wrong type.
fn convert(
    rec: &mut Record,
    name: &str,
    kind: Kind,
    v: &Json,
    times: &TimeParser,
) -> Result<Got, String> {
    Ok(match kind {
        Kind::Time => match v {
            Json::String(s) => Got::Time(times.parse_ms(s).map_err(|e| format!("{name}: {e}"))?),
            other => return Err(format!("{name}: expected an RFC 3339 time, found {other}")),
        },
        Kind::Str => match v {
            Json::String(s) => {
                let (a, z) = rec.push_text(s);
                Got::Str(a, z)
            }
            other => return Err(format!("{name}: expected a string, found {other}")),
        },
        Kind::Num => {
            Got::Num(value_f64(v).ok_or_else(|| format!("{name}: expected a number, found {v}"))?)
        }
        Kind::Bool => Got::Bool(
            value_bool(v).ok_or_else(|| format!("{name}: expected true or false, found {v}"))?,
        ),
        Kind::Any => match v {
            Json::Bool(b) => Got::Bool(*b),
            Json::Number(n) => Got::Num(
                n.as_f64()
                    .ok_or_else(|| format!("{name}: {n} is out of range"))?,
            ),
            Json::String(s) => {
                let (a, z) = rec.push_text(s);
                Got::Str(a, z)
            }
            other => {
                let (a, z) = rec.push_text(&other.to_string());
                Got::Json(a, z)
            }
        },
        Kind::Json => {
            let (a, z) = rec.push_text(&v.to_string());
            Got::Json(a, z)
        }
    })
}

/// Equality of two byte strings of equal length, eight bytes at a time
/// (cheaper than a `memcmp` call for field names).
#[inline(always)]
pub fn same(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    if n < 8 {
        return a.iter().zip(b).all(|(x, y)| x == y);
    }
    let word = |s: &[u8], i: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&s[i..i + 8]);
        u64::from_le_bytes(w)
    };
    // Most keys (`,"temperature":`) are 8 to 16 bytes: the first and the
    // last word, overlapping, with no loop.
    if n <= 16 {
        return word(a, 0) == word(b, 0) && word(a, n - 8) == word(b, n - 8);
    }
    // The longer keys of a reading (`,"supply_air_temperature":` is 27 bytes):
    // at most four words, still without a loop.
    if n <= 32 {
        return word(a, 0) == word(b, 0)
            && word(a, 8) == word(b, 8)
            && word(a, (n - 8).min(16)) == word(b, (n - 8).min(16))
            && word(a, n - 8) == word(b, n - 8);
    }
    let mut i = 0;
    while i + 8 <= n {
        if word(a, i) != word(b, i) {
            return false;
        }
        i += 8;
    }
    word(a, n - 8) == word(b, n - 8)
}

#[inline]
fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\n' | b'\r') {
        i += 1;
    }
    i
}

/// From just after an opening quote: the index of the closing quote and
/// whether the string had escapes. `None` for `\u` escapes (left to serde,
/// which checks surrogates), control characters or an unterminated string.
/// A byte above ASCII sets `non_ascii` (the line is then checked as UTF-8).
#[inline]
fn scan_string(b: &[u8], mut i: usize, non_ascii: &mut bool) -> Option<(usize, bool)> {
    let mut escaped = false;
    while i < b.len() {
        i = skip_plain(b, i);
        if i >= b.len() {
            break;
        }
        match b[i] {
            b'"' => return Some((i, escaped)),
            b'\\' => {
                escaped = true;
                match b.get(i + 1)? {
                    b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => i += 2,
                    _ => return None,
                }
            }
            c if c < 0x20 => return None,
            c => {
                *non_ascii |= c >= 0x80;
                i += 1;
            }
        }
    }
    None
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Bit 7 of each byte of `w` that is below `n` (`n` ≤ 128); only the lowest
/// flagged byte is exact, which is all [`skip_plain`] needs.
#[inline]
fn bytes_below(w: u64, n: u8) -> u64 {
    w.wrapping_sub(ONES * u64::from(n)) & !w & HIGHS
}

/// Bit 7 of each byte of `w` that is `"`, `\`, a control character or
/// not ASCII; only the lowest flagged byte is exact.
#[inline(always)]
fn special_bytes(w: u64) -> u64 {
    bytes_below(w ^ (ONES * u64::from(b'"')), 1)
        | bytes_below(w ^ (ONES * u64::from(b'\\')), 1)
        | bytes_below(w, 0x20)
        | (w & HIGHS)
}

/// From `i`, eight bytes at a time: the index of the first `"`, `\`,
/// control character or non-ASCII byte (or a point near the end where the
/// caller continues byte by byte). Most of a line is key names and short strings.
#[inline]
fn skip_plain(b: &[u8], mut i: usize) -> usize {
    while i + 8 <= b.len() {
        let mut w = [0u8; 8];
        w.copy_from_slice(&b[i..i + 8]);
        let m = special_bytes(u64::from_le_bytes(w));
        if m != 0 {
            return i + (m.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    i
}

/// A JSON number from `i`: the index just past it, per the JSON grammar.
#[inline]
fn scan_number(b: &[u8], mut i: usize) -> Option<usize> {
    let digit = |b: &[u8], i: usize| b.get(i).is_some_and(|c| c.is_ascii_digit());
    if b.get(i) == Some(&b'-') {
        i += 1;
    }
    match b.get(i)? {
        b'0' => i += 1,
        b'1'..=b'9' => {
            while digit(b, i) {
                i += 1;
            }
        }
        _ => return None,
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        if !digit(b, i) {
            return None;
        }
        while digit(b, i) {
            i += 1;
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if !digit(b, i) {
            return None;
        }
        while digit(b, i) {
            i += 1;
        }
    }
    Some(i)
}

/// Like [`scan_number`], also giving the value of a plain decimal
/// (`-?digits[.digits]`) of at most 15 digits by Clinger's fast path: the
/// digits and the power of ten are exact in f64, so one division rounds
/// correctly, to the value serde_json and `str::parse` give. `None` as the
/// value means "not sure" (exponents, long mantissas).
#[inline]
fn scan_decimal(b: &[u8], start: usize) -> Option<(usize, Option<f64>)> {
    match short_decimal(b, start) {
        Some((end, x)) => Some((end, Some(x))),
        None => scan_decimal_bytewise(b, start),
    }
}

/// [`scan_decimal`] a byte at a time.
#[inline]
fn scan_decimal_bytewise(b: &[u8], start: usize) -> Option<(usize, Option<f64>)> {
    let mut i = start;
    let neg = b.get(i) == Some(&b'-');
    if neg {
        i += 1;
    }
    let (mut m, mut digits, mut frac) = (0u64, 0usize, 0usize);
    match b.get(i)? {
        b'0' => {
            i += 1;
            digits = 1;
        }
        b'1'..=b'9' => {
            while let Some(c @ b'0'..=b'9') = b.get(i) {
                m = m.wrapping_mul(10).wrapping_add(u64::from(c - b'0'));
                digits += 1;
                i += 1;
            }
        }
        _ => return None,
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        let f0 = i;
        while let Some(c @ b'0'..=b'9') = b.get(i) {
            m = m.wrapping_mul(10).wrapping_add(u64::from(c - b'0'));
            i += 1;
        }
        frac = i - f0;
        if frac == 0 {
            return None;
        }
        digits += frac;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        return Some((scan_number(b, start)?, None));
    }
    if digits > 15 {
        // Past f64's exact integers (reefer-window's means carry 17 digits): the
        // correctly rounded parse, which serde_json's `float_roundtrip` matches.
        // Out of range (a 400-digit integer) takes the full parse, which rejects it.
        let x = std::str::from_utf8(&b[start..i]).ok()?.parse::<f64>().ok();
        return Some((i, x.filter(|x| x.is_finite())));
    }
    let x = m as f64 / POW10[frac];
    Some((i, Some(if neg { -x } else { x })))
}

/// The eight bytes at `b[i..i + 8]` as a little-endian word (the first byte lowest).
#[inline(always)]
fn load8(b: &[u8], i: usize) -> Option<u64> {
    let s = b.get(i..i + 8)?;
    let mut w = [0u8; 8];
    w.copy_from_slice(s);
    Some(u64::from_le_bytes(w))
}

/// Bit 7 of each byte of `w` that is not an ASCII digit; only the lowest
/// flagged byte is exact (a carry can flag a byte above it), which is all
/// the callers need: the number of digits the word starts with.
#[inline(always)]
fn non_digits(w: u64) -> u64 {
    // Digits become 0..=9; any other byte becomes 10 or more, and adding
    // 0x76 (128 - 10) sets its bit 7, unless bit 7 was set already.
    let t = w ^ (ONES * u64::from(b'0'));
    (t.wrapping_add(ONES * 0x76) | t) & HIGHS
}

/// The value of the first `k` (1..=8) bytes of `w`, all ASCII digits, the
/// first byte the most significant: three multiplications instead of a
/// loop (the digits are shifted to the top so that the bytes below read as
/// leading zeros).
#[inline(always)]
fn eight_digits(w: u64, k: u32) -> u64 {
    let v = (w & (ONES * 0x0F)) << (8 * (8 - k));
    let v = (v.wrapping_mul(10) + (v >> 8)) & 0x00FF_00FF_00FF_00FF;
    let v = (v.wrapping_mul(100) + (v >> 16)) & 0x0000_FFFF_0000_FFFF;
    (v.wrapping_mul(10_000) + (v >> 32)) & 0xFFFF_FFFF
}

/// The common number of a reading (`-?d{1,7}(.d{1,7})?`, no leading zero
/// before a digit, no exponent after it) read a word at a time: the index
/// just past it and its exact value (Clinger's fast path, as in
/// [`scan_decimal`]). `None` means "not this shape, or too near the end of
/// the line to read whole words": the byte-wise scan takes it.
#[inline(always)]
fn short_decimal(b: &[u8], start: usize) -> Option<(usize, f64)> {
    let neg = at(b, start) == b'-';
    let i = start + usize::from(neg);
    let w = load8(b, i)?;
    let k = non_digits(w).trailing_zeros() / 8;
    // No digit, eight or more, or a leading zero before another digit.
    if k == 0 || k == 8 || (k > 1 && w as u8 == b'0') {
        return None;
    }
    let int = eight_digits(w, k);
    let j = i + k as usize;
    let (end, x) = match b[j] {
        b'.' => {
            let f = load8(b, j + 1)?;
            let n = non_digits(f).trailing_zeros() / 8;
            if n == 0 || n == 8 {
                return None;
            }
            // At most 7 + 7 digits: exact in f64 (Clinger), as is 10^n.
            let m = int * POW10_U64[n as usize] + eight_digits(f, n);
            (j + 1 + n as usize, m as f64 / POW10[n as usize])
        }
        _ => (j, int as f64),
    };
    if matches!(at(b, end), b'e' | b'E') {
        return None;
    }
    Some((end, if neg { -x } else { x }))
}

/// Powers of ten as integers, for [`short_decimal`]'s mantissas.
const POW10_U64: [u64; 8] = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000];

/// Exact powers of ten as f64.
const POW10: [f64; 16] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
];

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const LINE: &str = r#"{"container_id":"MSKU9690622","measurement_time":"2026-11-27T03:00:00Z","product_id":"P04","temperature":5.92,"kilowatts":2.24,"oxygen_level":3.48,"fan_1":true,"door_open":false,"operating_mode":"modulated_cool","latitude":3.7237,"fault":null}"#;

    fn fields() -> Arc<Fields> {
        let mut f = Fields::new(TimeParser::default());
        f.add("measurement_time", Kind::Time);
        f.add("container_id", Kind::Json);
        f.add("product_id", Kind::Json);
        f.add("temperature", Kind::Num);
        f.add("kilowatts", Kind::Num);
        f.add("fan_1", Kind::Bool);
        f.add("door_open", Kind::Bool);
        f.add("operating_mode", Kind::Str);
        f.add("temperature", Kind::Any);
        f.add("fault", Kind::Any);
        f.add("a", Kind::Any);
        f.into()
    }

    /// Every slot as comparable text (numbers by their bits), or the error.
    fn summary(r: Result<&Record, String>, n: usize) -> Result<Vec<String>, String> {
        let r = r?;
        Ok((0..n)
            .map(|i| match r.get(Slot(i as u32)) {
                Value::Num(x) => format!("Num({:x})", x.to_bits()),
                v => format!("{v:?}"),
            })
            .collect())
    }

    fn via_scan(s: &mut Scanner, line: impl AsRef<[u8]>) -> Result<Vec<String>, String> {
        let n = s.fields().len();
        summary(s.scan(line.as_ref()), n)
    }

    fn via_serde(line: impl AsRef<[u8]>) -> Result<Vec<String>, String> {
        let mut s = Scanner::new(fields());
        let n = s.fields().len();
        let line = std::str::from_utf8(line.as_ref())
            .map_err(|e| format!("not valid UTF-8 (byte {})", e.valid_up_to()))?;
        let map = crate::codec::parse_json_object_str(line)?;
        summary(s.scan_map(&map), n)
    }

    /// Lines scanned one after the other (so the field order learnt from one
    /// line is predicted for the next) agree with serde line by line.
    fn assert_agree(lines: &[String]) {
        let mut s = Scanner::new(fields());
        for l in lines {
            assert_eq!(via_scan(&mut s, l), via_serde(l), "{l}");
        }
    }

    #[test]
    fn the_fast_path_reads_a_sim_line() {
        let mut s = Scanner::new(fields());
        let f = fields();
        let r = s.scan(LINE.as_bytes()).unwrap();
        assert_eq!(
            r.time(f.find("measurement_time", Kind::Time).unwrap()),
            Some(1_795_748_400_000)
        );
        assert_eq!(
            r.json(f.find("container_id", Kind::Json).unwrap()),
            Some("\"MSKU9690622\"")
        );
        assert_eq!(r.num(f.find("temperature", Kind::Num).unwrap()), Some(5.92));
        assert_eq!(r.num(f.find("temperature", Kind::Any).unwrap()), Some(5.92));
        assert_eq!(
            r.bool(f.find("door_open", Kind::Bool).unwrap()),
            Some(false)
        );
        assert_eq!(
            r.str(f.find("operating_mode", Kind::Str).unwrap()),
            Some("modulated_cool")
        );
        assert_eq!(r.get(f.find("fault", Kind::Any).unwrap()), Value::Null);
        assert_eq!(r.get(f.find("a", Kind::Any).unwrap()), Value::Missing);
        assert_agree(&[LINE.to_string()]);
    }

    #[test]
    fn long_decimals_such_as_window_means_agree_with_serde_bit_for_bit() {
        let lines: Vec<String> = [
            "-0.016666666666666666",
            "6.000000000000001",
            "12345678901234567.5",
            "0.30000000000000004",
            "1000000000000000000000000000000000000000",
        ]
        .iter()
        .map(|x| LINE.replace("\"temperature\":5.92", &format!("\"temperature\":{x}")))
        .collect();
        assert_agree(&lines);
        let mut s = Scanner::new(fields());
        let f = fields();
        let r = s.scan(lines[0].as_bytes()).unwrap();
        assert_eq!(
            r.num(f.find("temperature", Kind::Num).unwrap()),
            Some(-0.016666666666666666)
        );
    }

    #[test]
    fn duplicate_keys_take_the_last_value_on_both_paths() {
        let line = LINE.replace("\"fault\":null", "\"temperature\":7");
        let mut s = Scanner::new(fields());
        let f = fields();
        let r = s.scan(line.as_bytes()).unwrap();
        assert_eq!(r.num(f.find("temperature", Kind::Num).unwrap()), Some(7.0));
        assert_eq!(via_scan(&mut s, &line), via_serde(&line));
    }

    #[test]
    fn numeric_times_and_out_of_range_numbers_are_bad_lines() {
        let mut s = Scanner::new(fields());
        let numeric = LINE.replace("\"2026-11-27T03:00:00Z\"", "1795748400000");
        assert_eq!(
            s.scan(numeric.as_bytes()).unwrap_err(),
            "measurement_time: expected an RFC 3339 time, found 1795748400000"
        );
        for bad in ["NaN", "Infinity", "-Infinity", "1e400", "-1e999"] {
            for line in [LINE.replace("5.92", bad), LINE.replace("3.7237", bad)] {
                assert!(s.scan(line.as_bytes()).is_err(), "{line}");
                assert_eq!(via_scan(&mut s, &line), via_serde(&line));
            }
        }
    }

    #[test]
    fn a_learnt_lines_numbers_and_flags_in_any_form_agree_with_serde() {
        // After LINE teaches the compact template, the same keys with values
        // the number and flag slots read by their own shortcuts, or leave to
        // the general path: null, the other type, exponents, long and
        // negative numbers, a number or flag last on the line.
        let values = [
            "null",
            "true",
            "false",
            "0",
            "-0",
            "7",
            "-3.25",
            "1e3",
            "1.5E-2",
            "0.1234567",
            "12345678.9",
            "1.23456789012345678",
            "-",
            "01",
            "1.",
            "\"5\"",
            "nul",
            "fals",
            "falsey",
            "[1]",
        ];
        let mut lines = vec![LINE.to_string()];
        for v in values {
            lines.push(LINE.replace("\"kilowatts\":2.24", &format!("\"kilowatts\":{v}")));
            lines.push(LINE.replace("\"fan_1\":true", &format!("\"fan_1\":{v}")));
            lines.push(LINE.to_string());
            let last = format!("{{\"kilowatts\":{v},\"fan_1\":{v}}}");
            lines.extend([last.clone(), last]);
        }
        assert_agree(&lines);
    }

    #[test]
    fn both_paths_agree_on_odd_lines() {
        let cases = [
            LINE.replace("5.92", "\"5.92\""),
            LINE.replace("5.92", "null"),
            LINE.replace("5.92", "\"warm\""),
            LINE.replace("5.92", "true"),
            LINE.replace("5.92", "05"),
            LINE.replace("5.92", "-0.5e-3"),
            LINE.replace("5.92", "1E+2"),
            LINE.replace("5.92", "-0"),
            LINE.replace("5.92", "-"),
            LINE.replace("5.92", "5."),
            LINE.replace("5.92", ".5"),
            LINE.replace("5.92", "1234567890123.25"),
            LINE.replace("5.92", "0.000000000000000001"),
            LINE.replace("3.7237", "1e-400"),
            LINE.replace("3.7237", "12345678901234567890123"),
            LINE.replace("\"MSKU9690622\"", "42"),
            LINE.replace("\"MSKU9690622\"", "\"\""),
            LINE.replace("\"MSKU9690622\"", "null"),
            LINE.replace("\"MSKU9690622\"", "\"MS\\u004bU\""),
            LINE.replace("\"MSKU9690622\"", "\"MS\\\"U\""),
            LINE.replace("\"MSKU9690622\"", "\"caf\u{e9}\""),
            LINE.replace("\"container_id\":\"MSKU9690622\",", ""),
            LINE.replace("\"measurement_time\":\"2026-11-27T03:00:00Z\",", ""),
            LINE.replace("2026-11-27T03:00:00Z", "2026-11-27T04:00:00.250+01:00"),
            LINE.replace("2026-11-27T03:00:00Z", "2026-11-27 03:00:00"),
            LINE.replace("2026-11-27T03:00:00Z", "2026-02-30T03:00:00Z"),
            LINE.replace("2026-11-27T03:00:00Z", "2016-12-31T23:59:60Z"),
            LINE.replace("2026-11-27T03:00:00Z", "yesterday"),
            LINE.replace("true", "\"yes\""),
            LINE.replace("true", "1"),
            LINE.replace("\"P04\"", "null"),
            LINE.replace("\"P04\"", "[1,{\"b\":2}]"),
            LINE.replace("null}", "{\"a\":[1,2]}}"),
            LINE.replace("null}", "null,}"),
            LINE.replace("null}", "nul}"),
            LINE.replace("}", "} x"),
            LINE.replace("\"modulated_cool\"", "\"tab\\there\""),
            LINE.replace("\"modulated_cool\"", "7"),
            format!("{LINE},"),
            format!("  {LINE}  "),
            LINE.replace(',', " , "),
            LINE.replace("\"fault\":null", "\"fault\":\"caf\\u00e9\""),
            LINE.replace("\"fault\":null", "\"fault\":\"a\\qb\""),
            LINE.replace("\"fault\":null", "\"a\":\"\\ud800\""),
            "[1,2]".to_string(),
            "{}".to_string(),
            "{".to_string(),
            "garbage".to_string(),
            // Each case below also comes right after the learnt compact line
            // (`mixed`): same keys and shape take the compact path; white
            // space, a key more or less, another order, trailing bytes or an
            // unsure value send it to the general path.
            LINE.replace("5.92", "-0.5").replace("true", "false"),
            LINE.replace("\"fault\":null", "\"fault\":\"door_open\""),
            LINE.replace("3.48", "null"),
            LINE.replace(",\"kilowatts\":", ", \"kilowatts\" : "),
            LINE.replace("}", ",\"extra\":[1,2]}"),
            LINE.replace(",\"latitude\":3.7237", ""),
            LINE.replace(
                "\"temperature\":5.92,\"kilowatts\":2.24",
                "\"kilowatts\":2.24,\"temperature\":5.92",
            ),
            format!("{LINE} "),
            format!("{LINE}x"),
            LINE.replace("}", ",\"temperature\":7}"),
            LINE.replace("5.92", "5.92e1"),
            LINE.replace("2.24", "02.24"),
            LINE.replace("P04", "P\\u0034"),
            LINE.replace("modulated_cool", "modulé"),
            LINE[..LINE.len() - 1].to_string(),
        ];
        let mut mixed = Vec::new();
        for c in &cases {
            assert_agree(std::slice::from_ref(c));
            mixed.extend([LINE.to_string(), LINE.to_string(), c.clone()]);
        }
        mixed.push(LINE.to_string());
        assert_agree(&mixed);
        // Learnt from an empty object (found by the fuzzer: `}` was accepted).
        assert_agree(&["{}", "}", "{}", "{} ", "{\"a\":1}", "}", ""].map(String::from));
        // Fields in another order, one missing, one extra, renamed.
        assert_agree(&[
            LINE.to_string(),
            LINE.replace("\"kilowatts\"", "\"kilowattz\""),
            LINE.replace("\"temperature\":5.92,", ""),
            LINE.replace('{', "{\"extra\":1,"),
            LINE.replace("\"fan_1\"", "\"fan_1 \""),
            LINE.replace("\"product_id\":\"P04\",", "")
                .replace('}', ",\"product_id\":\"P09\"}"),
            LINE.to_string(),
            LINE.replace("\"temperature\"", "\"temperatur\\u0065\""),
            LINE.to_string(),
        ]);
    }

    #[test]
    fn a_learnt_key_order_holds_with_or_without_white_space_around_colons() {
        let spaced = LINE.replace("\":", "\" : ");
        let half = LINE.replacen("\":", "\" :", 3);
        let no_colon = LINE.replacen("\":", "\" ", 1);
        let colon_in_name = LINE.replace("\"fan_1\":", "\"fan_1:\":");
        for order in [
            [LINE, &spaced, &half, LINE, &no_colon, LINE],
            [&spaced, LINE, &half, &spaced, &colon_in_name, LINE],
            [&half, &colon_in_name, LINE, &spaced, &no_colon, &half],
        ] {
            let lines: Vec<String> = order.iter().map(|l| l.to_string()).collect();
            assert_agree(&lines);
        }
    }

    #[test]
    fn invalid_utf8_is_a_bad_line() {
        let mut s = Scanner::new(fields());
        let mut line = LINE.as_bytes().to_vec();
        line[20] = 0xff;
        assert_eq!(s.scan(&line).unwrap_err(), "not valid UTF-8 (byte 20)");
    }

    #[test]
    fn invalid_utf8_in_a_value_or_key_no_field_needs_is_still_a_bad_line() {
        // `latitude` is not declared: the fast path skips its value unparsed.
        let unneeded_value = LINE.replace("\"latitude\":3.7237", "\"latitude\":\"x\u{e9}y\"");
        let mut bad_value = unneeded_value.clone().into_bytes();
        let at = unneeded_value.find('\u{e9}').unwrap();
        bad_value[at + 1] = b'(';
        let mut bad_key = LINE.replace("\"latitude\"", "\"lat\u{e9}\"").into_bytes();
        let key_at = LINE.find("\"latitude\"").unwrap() + 4;
        bad_key[key_at + 1] = 0xff;
        for warm in [false, true] {
            let mut s = Scanner::new(fields());
            if warm {
                // Along a learnt field order, and cold.
                s.scan(LINE.as_bytes()).unwrap();
            }
            assert!(s.scan(unneeded_value.as_bytes()).is_ok());
            assert_eq!(
                s.scan(&bad_value).unwrap_err(),
                format!("not valid UTF-8 (byte {at})")
            );
            assert_eq!(
                s.scan(&bad_key).unwrap_err(),
                format!("not valid UTF-8 (byte {key_at})")
            );
            assert!(s.scan(LINE.as_bytes()).is_ok());
        }
    }

    fn json_value() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("null".to_string()),
            Just("true".to_string()),
            Just("false".to_string()),
            any::<f64>().prop_map(|x| format!("{x}")),
            any::<i64>().prop_map(|x| x.to_string()),
            (0u64..100_000, 0u32..6, -400i32..400).prop_map(|(m, f, e)| format!("{m}.{f}e{e}")),
            Just("1e400".to_string()),
            Just("NaN".to_string()),
            "[a-zA-Z0-9 :.+-]{0,12}".prop_map(|s| format!("\"{s}\"")),
            "[\\PC]{0,6}".prop_map(|s| serde_json::to_string(&s).unwrap()),
            Just("\"2026-11-27T03:00:00Z\"".to_string()),
            Just("\"2026-11-27 03:00:00.5+01:30\"".to_string()),
            Just("\"a\\u00e9\\n\"".to_string()),
            Just("[1,{\"x\":null}]".to_string()),
            Just("{\"temperature\":1}".to_string()),
        ]
    }

    fn json_line() -> impl Strategy<Value = String> {
        let key = prop_oneof![
            Just("measurement_time"),
            Just("container_id"),
            Just("product_id"),
            Just("temperature"),
            Just("kilowatts"),
            Just("fan_1"),
            Just("door_open"),
            Just("operating_mode"),
            Just("fault"),
            Just("a"),
            Just("other"),
        ];
        proptest::collection::vec((key, json_value(), "[ ]{0,1}"), 0..10).prop_map(|kv| {
            let body: Vec<String> = kv
                .iter()
                .map(|(k, v, ws)| format!("{ws}\"{k}\"{ws}:{ws}{v}"))
                .collect();
            format!("{{{}}}", body.join(","))
        })
    }

    #[test]
    fn word_at_a_time_numbers_read_a_readings_numbers() {
        assert_eq!(short_decimal(b"25.8572,\"a\":1}", 0), Some((7, 25.8572)));
        assert_eq!(
            short_decimal(b"-62.2816,\"f\":null}", 0),
            Some((8, -62.2816))
        );
        // Too near the end for whole words: the byte-wise scan's.
        assert_eq!(short_decimal(b"-62.2816}", 0), None);
        assert_eq!(scan_decimal(b"-62.2816}", 0), Some((8, Some(-62.2816))));
        assert_eq!(short_decimal(b"6,\"fan\":true", 0), Some((1, 6.0)));
        assert_eq!(short_decimal(b"012,\"a\":0}", 0), None);
        assert_eq!(short_decimal(b"1.5e3,\"a\":0}", 0), None);
    }

    proptest! {
        #[test]
        fn scanner_agrees_with_serde_on_arbitrary_lines(lines in proptest::collection::vec(json_line(), 1..6)) {
            let mut s = Scanner::new(fields());
            for l in &lines {
                prop_assert_eq!(via_scan(&mut s, l), via_serde(l), "{}", l);
            }
        }

        #[test]
        fn scanner_agrees_with_serde_on_mangled_lines(line in json_line(), cut in 0usize..400, del in 0usize..3, junk in "[ -~]{0,3}") {
            // Byte-wise, so a cut may split a character (invalid UTF-8).
            let b = line.as_bytes();
            let cut = cut.min(b.len());
            let end = (cut + del).min(b.len());
            let mangled = [&b[..cut], junk.as_bytes(), &b[end..]].concat();
            let mut s = Scanner::new(fields());
            // After a good line that set up the field-order prediction, and cold.
            prop_assert_eq!(via_scan(&mut s, &line), via_serde(&line));
            prop_assert_eq!(via_scan(&mut s, &mangled), via_serde(&mangled), "{}", String::from_utf8_lossy(&mangled));
            prop_assert_eq!(via_scan(&mut Scanner::new(fields()), &mangled), via_serde(&mangled));
        }

        #[test]
        fn scanner_agrees_with_serde_on_mangled_sim_lines(cut in 0usize..300, junk in "[ -~]{0,3}") {
            let cut = cut.min(LINE.len());
            let line = format!("{}{}{}", &LINE[..cut], junk, &LINE[cut..]);
            assert_agree(&[LINE.to_string(), line.clone(), LINE.to_string()]);
            assert_agree(&[line]);
        }

        #[test]
        fn plain_decimals_parse_like_std(m in 0u64..1_000_000_000_000_000, frac in 0usize..16, neg in any::<bool>()) {
            let digits = m.to_string();
            let frac = frac.min(digits.len());
            let (int, dec) = digits.split_at(digits.len() - frac);
            let text = format!("{}{}{}{}", if neg { "-" } else { "" }, if int.is_empty() { "0" } else { int }, if dec.is_empty() { "" } else { "." }, dec);
            let std: f64 = text.parse().unwrap();
            match scan_decimal(text.as_bytes(), 0) {
                Some((end, Some(x))) => {
                    prop_assert_eq!(end, text.len());
                    prop_assert_eq!(x.to_bits(), std.to_bits(), "{}", text)
                }
                Some((end, None)) => {
                    prop_assert_eq!(end, text.len());
                    prop_assert!(text.bytes().filter(u8::is_ascii_digit).count() > 15)
                }
                None => prop_assert!(false, "{} rejected", text),
            }
        }

        #[test]
        fn word_at_a_time_numbers_agree_with_the_bytewise_scan(text in "-?[0-9.eE]{0,18}[,}\\]x eE.0-9]{0,10}", pad in 0usize..12) {
            // Some lines end right after a number, others have bytes to spare.
            let line = format!("{text}{}", "}".repeat(pad));
            let b = line.as_bytes();
            if let Some((end, x)) = short_decimal(b, 0) {
                let (e2, x2) = scan_decimal_bytewise(b, 0).expect("the byte-wise scan rejects it");
                prop_assert_eq!(end, e2, "{}", line);
                prop_assert_eq!(Some(x.to_bits()), x2.map(f64::to_bits), "{}", line);
                prop_assert_eq!(Some(end), skip_number(b, 0), "{}", line);
                let std: f64 = line[..end].parse().unwrap();
                prop_assert_eq!(x.to_bits(), std.to_bits(), "{}", line);
            }
        }

        #[test]
        fn word_scan_finds_the_first_special_byte(v in proptest::collection::vec(any::<u8>(), 0..40), start in 0usize..40) {
            let start = start.min(v.len());
            let i = skip_plain(&v, start);
            let special = |c: u8| c == b'"' || c == b'\\' || !(0x20..0x80).contains(&c);
            let expect = v[start..].iter().position(|&c| special(c)).map(|p| start + p);
            match expect {
                Some(p) => prop_assert!(i == p || (i <= p && i + 8 > v.len())),
                None => prop_assert!(i + 8 > v.len() || i == v.len()),
            }
            prop_assert!(v[start..i].iter().all(|&c| !special(c)));
        }

        #[test]
        fn same_agrees_with_slice_equality(a in proptest::collection::vec(any::<u8>(), 0..48), at in 0usize..48, flip in 1u8..=255) {
            let mut b = a.clone();
            prop_assert!(same(&a, &b));
            if !b.is_empty() {
                let i = at % b.len();
                b[i] ^= flip;
                prop_assert!(!same(&a, &b), "differs at {} of {}", i, a.len());
            }
            prop_assert!(!same(&a, &a[..a.len().saturating_sub(1)]) || a.is_empty());
        }
    }
}
