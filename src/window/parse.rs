//! What a window needs from each record (time, keys, carried `product_id`,
//! aggregated fields), read by the shared scanner ([`crate::codec::scan`])
//! on the parser threads, one chunk at a time.

use crate::codec::scan::{Fields, Kind, Record, Scanner, Slot, Value};
use crate::codec::Chunk;
use crate::time::{TimeParser, MAX_MILLIS, MIN_MILLIS};
use serde_json::{Map, Value as Json};
use std::sync::Arc;

use super::agg::KEY_SEPARATOR;
use super::assign::Assigner;

/// The fields to read, and the window grid (to refuse times whose windows
/// could not be written).
#[derive(Debug, Clone)]
pub struct Needs {
    /// `None` in processing-time mode.
    pub time_field: Option<String>,
    pub keys: Vec<String>,
    /// The carried field (`product_id`), unless it is a key.
    pub product: Option<String>,
    pub numbers: Vec<String>,
    pub bools: Vec<String>,
    fields: Arc<Fields>,
    time_slot: Option<Slot>,
    key_slots: Vec<Slot>,
    /// Per key: whether the schema types it as text (`container_id`).
    key_is_text: Vec<bool>,
    product_slot: Option<Slot>,
    number_slots: Vec<Slot>,
    bool_slots: Vec<Slot>,
    assigner: Assigner,
}

/// What a field of the input is used for (for the "two roles" message).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Time,
    Key,
    Product,
    Aggregated,
}

impl Role {
    fn name(self) -> &'static str {
        match self {
            Role::Time => "the time field",
            Role::Key => "a key (--by)",
            Role::Product => "the carried product_id",
            Role::Aggregated => "an aggregated field",
        }
    }
}

impl Needs {
    /// Errors when one field would play two roles.
    pub fn new(
        time_field: Option<String>,
        keys: Vec<String>,
        product: Option<String>,
        numbers: Vec<String>,
        bools: Vec<String>,
        times: TimeParser,
        assigner: Assigner,
    ) -> Result<Needs, String> {
        let mut roles: Vec<(String, Role)> = Vec::new();
        let mut put = |name: &str, role: Role| -> Result<(), String> {
            if let Some((_, other)) = roles.iter().find(|(n, _)| n == name) {
                return Err(format!(
                    "field {name:?} cannot be both {} and {}",
                    other.name(),
                    role.name()
                ));
            }
            roles.push((name.to_string(), role));
            Ok(())
        };
        let mut fields = Fields::new(times);
        let time_slot = match &time_field {
            Some(t) => {
                put(t, Role::Time)?;
                Some(fields.add(t, Kind::Time))
            }
            None => None,
        };
        let mut key_slots = Vec::new();
        for k in &keys {
            put(k, Role::Key)?;
            key_slots.push(fields.add(k, Kind::Json));
        }
        let product_slot = match &product {
            Some(p) => {
                put(p, Role::Product)?;
                Some(fields.add(p, Kind::Json))
            }
            None => None,
        };
        let mut number_slots = Vec::new();
        for f in &numbers {
            put(f, Role::Aggregated)?;
            number_slots.push(fields.add(f, Kind::Num));
        }
        let mut bool_slots = Vec::new();
        for f in &bools {
            put(f, Role::Aggregated)?;
            bool_slots.push(fields.add(f, Kind::Bool));
        }
        let key_is_text = keys
            .iter()
            .map(|k| crate::record::STRING_FIELDS.contains(&k.as_str()))
            .collect();
        Ok(Needs {
            time_field,
            key_is_text,
            keys,
            product,
            numbers,
            bools,
            fields: fields.into(),
            time_slot,
            key_slots,
            product_slot,
            number_slots,
            bool_slots,
            assigner,
        })
    }

    /// Whether every window of a record at `t` starts and ends at a time
    /// every tool can write and read back (years 0000 to 9999).
    #[inline]
    fn windows_in_range(&self, t: i64) -> bool {
        let size = self.assigner.size;
        if t >= MIN_MILLIS + size && t <= MAX_MILLIS - size {
            return true;
        }
        let mut all = self.assigner.windows(t);
        let first = all.next();
        let last = all.last().or(first);
        matches!((first, last), (Some((s, _)), Some((_, e))) if s >= MIN_MILLIS && e <= MAX_MILLIS)
    }
}

/// One input line, parsed or rejected. Ranges point into the chunk (raw)
/// and the [`Batch`]'s text.
#[derive(Debug, Clone)]
pub struct Parsed {
    /// Physical line number in its input.
    pub line: u64,
    /// The raw line (ending included) in the chunk's bytes.
    pub raw: (u32, u32),
    /// Event time in epoch ms (0 in processing-time mode).
    pub time: i64,
    /// The group key in `Batch::text`.
    pub key: (u32, u32),
    /// The carried product in `Batch::text`, `None` when absent or null.
    pub product: Option<(u32, u32)>,
    pub error: Option<Box<str>>,
}

/// The parse of one chunk; reused from chunk to chunk (with its scanner,
/// which keeps the field order it learnt).
#[derive(Debug, Default)]
pub struct Batch {
    pub recs: Vec<Parsed>,
    /// Keys and products as JSON text.
    pub text: Vec<u8>,
    /// `needs.numbers.len()` values per record, NaN for null or missing.
    pub numbers: Vec<f64>,
    /// `needs.bools.len()` values per record: 0 null or missing, 1 false, 2 true.
    pub bools: Vec<u8>,
    scanner: Option<Scanner>,
}

impl crate::codec::ordered::Renumber for Batch {
    fn renumber(&mut self, by: u64) {
        for p in &mut self.recs {
            p.line += by;
        }
    }
}

impl Batch {
    pub fn key(&self, p: &Parsed) -> &[u8] {
        &self.text[p.key.0 as usize..p.key.1 as usize]
    }

    pub fn product(&self, p: &Parsed) -> Option<&[u8]> {
        p.product.map(|(a, b)| &self.text[a as usize..b as usize])
    }

    fn clear(&mut self) {
        self.recs.clear();
        self.numbers.clear();
        self.bools.clear();
        self.text.clear();
    }

    /// Parses the JSON Lines of one chunk.
    pub fn parse(&mut self, chunk: &Chunk, needs: &Needs) {
        self.clear();
        let approx = chunk.bytes().len() / 300 + 1;
        self.recs.reserve(approx);
        self.numbers.reserve(approx * needs.numbers.len());
        self.bools.reserve(approx * needs.bools.len());
        self.text.reserve(approx * 24);
        let mut scanner = self
            .scanner
            .take()
            .unwrap_or_else(|| Scanner::new(Arc::clone(&needs.fields)));
        for line in chunk.lines() {
            let raw = (line.offset as u32, (line.offset + line.raw.len()) as u32);
            let result = scanner.scan(line.text);
            self.push(needs, line.no, raw, result);
        }
        self.scanner = Some(scanner);
    }

    /// Parses one record that is already a JSON object (a CSV row); `raw`
    /// is empty (the caller keeps the row's bytes).
    pub fn parse_map(&mut self, needs: &Needs, line: u64, map: &Map<String, Json>) {
        self.clear();
        let mut scanner = self
            .scanner
            .take()
            .unwrap_or_else(|| Scanner::new(Arc::clone(&needs.fields)));
        let result = scanner.scan_map(map);
        self.push(needs, line, (0, 0), result);
        self.scanner = Some(scanner);
    }

    /// A line that could not be read at all (not UTF-8, a ragged CSV row).
    pub fn push_error(&mut self, needs: &Needs, line: u64, why: String) {
        self.clear();
        self.push_failed(needs, line, (0, 0), why);
    }

    fn push_failed(&mut self, needs: &Needs, line: u64, raw: (u32, u32), why: String) {
        self.numbers
            .resize(self.numbers.len() + needs.numbers.len(), f64::NAN);
        self.bools.resize(self.bools.len() + needs.bools.len(), 0);
        self.recs.push(Parsed {
            line,
            raw,
            time: 0,
            key: (0, 0),
            product: None,
            error: Some(why.into()),
        });
    }

    fn push(&mut self, needs: &Needs, line: u64, raw: (u32, u32), result: Result<&Record, String>) {
        let text_mark = self.text.len();
        let (nb, bb) = (self.numbers.len(), self.bools.len());
        let done = result.and_then(|rec| self.take(needs, rec));
        match done {
            Ok((time, key, product)) => self.recs.push(Parsed {
                line,
                raw,
                time,
                key,
                product,
                error: None,
            }),
            Err(why) => {
                self.text.truncate(text_mark);
                self.numbers.truncate(nb);
                self.bools.truncate(bb);
                self.push_failed(needs, line, raw, why);
            }
        }
    }

    /// The window's checks and values of one scanned record.
    #[allow(clippy::type_complexity)]
    fn take(
        &mut self,
        needs: &Needs,
        rec: &Record,
    ) -> Result<(i64, (u32, u32), Option<(u32, u32)>), String> {
        let mut time = 0;
        if let (Some(slot), Some(tf)) = (needs.time_slot, &needs.time_field) {
            time = rec
                .time(slot)
                .ok_or_else(|| format!("missing required field {tf}"))?;
            if !needs.windows_in_range(time) {
                return Err(format!(
                    "{tf}: {} has windows outside the times every tool can write (years 0000 to 9999)",
                    crate::time::format_millis(time)
                ));
            }
        }
        let start = self.text.len();
        for (n, ((&slot, k), &text)) in needs
            .key_slots
            .iter()
            .zip(&needs.keys)
            .zip(&needs.key_is_text)
            .enumerate()
        {
            let v = match rec.get(slot) {
                Value::Json(v) => v,
                _ => return Err(format!("missing required field {k}")),
            };
            if v.starts_with('{') || v.starts_with('[') {
                return Err(format!("{k}: expected a string or number, found {v}"));
            }
            // A key the schema types as text (container_id) must be text, as in
            // every other tool; other keys may be numbers (`--by zone`).
            if text && !v.starts_with('"') {
                return Err(format!("{k}: expected a string, found {v}"));
            }
            if v.starts_with('"') && blank_string(v) {
                return Err(format!("{k} is empty"));
            }
            if n > 0 {
                self.text.push(KEY_SEPARATOR);
            }
            self.text.extend_from_slice(v.as_bytes());
        }
        let key = (start as u32, self.text.len() as u32);
        let product = needs.product_slot.and_then(|slot| {
            rec.json(slot).map(|v| {
                let s = self.text.len();
                self.text.extend_from_slice(v.as_bytes());
                (s as u32, self.text.len() as u32)
            })
        });
        for &slot in &needs.number_slots {
            self.numbers.push(rec.num(slot).unwrap_or(f64::NAN));
        }
        for &slot in &needs.bool_slots {
            self.bools.push(match rec.bool(slot) {
                None => 0,
                Some(false) => 1,
                Some(true) => 2,
            });
        }
        Ok((time, key, product))
    }
}

/// Whether a JSON string literal holds only white space.
#[inline]
fn blank_string(lit: &str) -> bool {
    // Most keys start with a letter or digit: not blank, no trimming needed.
    if let Some(&c) = lit.as_bytes().get(1) {
        if c.is_ascii_graphic() && c != b'\\' && c != b'"' {
            return false;
        }
    }
    let inner = &lit[1..lit.len().saturating_sub(1).max(1)];
    if !inner.contains('\\') {
        return inner.trim().is_empty();
    }
    serde_json::from_str::<String>(lit).is_ok_and(|s| s.trim().is_empty())
}
