//! Lean field extraction: from each input line only the fields a window
//! needs (time, keys, carried `product_id`, aggregated fields).
//!
//! A hand-rolled scanner handles the common shape of a JSON Lines record
//! (flat object, strings without `\u` escapes in needed fields) and validates
//! the JSON grammar as it goes. Anything it is unsure about falls back to a
//! full `serde_json` parse, which also writes every error message, so both
//! paths accept exactly the same lines and agree on their values.

use crate::record::{value_bool, value_f64};
use crate::time::{parse_time_ms as rfc3339_ms, TimeParser};
use serde_json::{Map, Value};

use super::agg::KEY_SEPARATOR;

/// What a field of the input is used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Time,
    Key(usize),
    Product,
    Number(usize),
    Bool(usize),
}

/// The fields to extract, and how.
#[derive(Debug, Clone)]
pub struct Needs {
    /// `None` in processing-time mode.
    pub time_field: Option<String>,
    pub keys: Vec<String>,
    /// The carried field (`product_id`), unless it is a key.
    pub product: Option<String>,
    pub numbers: Vec<String>,
    pub bools: Vec<String>,
    table: Vec<(Box<[u8]>, Slot)>,
    times: TimeParser,
    /// RFC 3339 is parsed by hand unless a `--time-format` pattern takes precedence.
    fast_time: bool,
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
        fast_time: bool,
    ) -> Result<Needs, String> {
        let mut table: Vec<(Box<[u8]>, Slot)> = Vec::new();
        let mut put = |name: &str, slot: Slot| -> Result<(), String> {
            if let Some((_, other)) = table.iter().find(|(n, _)| &**n == name.as_bytes()) {
                return Err(format!(
                    "field {name:?} cannot be both {} and {}",
                    role(*other),
                    role(slot)
                ));
            }
            table.push((name.as_bytes().into(), slot));
            Ok(())
        };
        if let Some(t) = &time_field {
            put(t, Slot::Time)?;
        }
        for (i, k) in keys.iter().enumerate() {
            put(k, Slot::Key(i))?;
        }
        if let Some(p) = &product {
            put(p, Slot::Product)?;
        }
        for (i, f) in numbers.iter().enumerate() {
            put(f, Slot::Number(i))?;
        }
        for (i, f) in bools.iter().enumerate() {
            put(f, Slot::Bool(i))?;
        }
        Ok(Needs {
            time_field,
            keys,
            product,
            numbers,
            bools,
            table,
            times,
            fast_time,
        })
    }

    /// Most names in a line are not needed: the length and the first and
    /// last bytes rule them out before any full comparison.
    #[inline]
    fn lookup(&self, name: &[u8]) -> Option<Slot> {
        let (first, last) = match name {
            [] => {
                return self
                    .table
                    .iter()
                    .find(|(n, _)| n.is_empty())
                    .map(|(_, s)| *s)
            }
            [f, .., l] => (*f, *l),
            [f] => (*f, *f),
        };
        self.table
            .iter()
            .find(|(n, _)| {
                n.len() == name.len() && n[0] == first && n[n.len() - 1] == last && same(n, name)
            })
            .map(|(_, s)| *s)
    }
}

/// Equality of two byte strings of equal length, eight bytes at a time
/// (cheaper than a `memcmp` call for field names).
#[inline(always)]
pub(crate) fn same(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n < 8 {
        return a.iter().zip(b).all(|(x, y)| x == y);
    }
    let word = |s: &[u8], i: usize| u64::from_le_bytes(s[i..i + 8].try_into().expect("8 bytes"));
    let mut i = 0;
    while i + 8 <= n {
        if word(a, i) != word(b, i) {
            return false;
        }
        i += 8;
    }
    word(a, n - 8) == word(b, n - 8)
}

fn role(s: Slot) -> &'static str {
    match s {
        Slot::Time => "the time field",
        Slot::Key(_) => "a key (--by)",
        Slot::Product => "the carried product_id",
        Slot::Number(_) | Slot::Bool(_) => "an aggregated field",
    }
}

/// One input line, parsed or rejected. Ranges point into the [`Batch`]'s buffers.
#[derive(Debug, Clone)]
pub struct Parsed {
    /// Line number within the chunk (1-based); the driver adds the chunk's offset.
    pub line: u64,
    /// The raw line in `Batch::data`.
    pub raw: (u32, u32),
    /// Event time in epoch ms (0 in processing-time mode).
    pub time: i64,
    /// The group key in `Batch::text`.
    pub key: (u32, u32),
    /// The carried product in `Batch::text`, `None` when absent or null.
    pub product: Option<(u32, u32)>,
    pub error: Option<Box<str>>,
}

/// A run of parsed lines.
#[derive(Debug, Default)]
pub struct Batch {
    pub data: Vec<u8>,
    pub recs: Vec<Parsed>,
    /// Keys and products as JSON text.
    pub text: Vec<u8>,
    /// `needs.numbers.len()` values per record, NaN for null or missing.
    pub numbers: Vec<f64>,
    /// `needs.bools.len()` values per record: 0 null or missing, 1 false, 2 true.
    pub bools: Vec<u8>,
    /// Lines in `data` (including blank ones), to number the next chunk.
    pub lines: u64,
    memo: Memo,
}

/// What the fast path remembers from line to line.
#[derive(Debug, Default)]
struct Memo {
    /// Consecutive readings mostly share their time text ...
    last_time: TimeCache,
    /// ... and their field order.
    schema: Schema,
}

/// The field names of a recent line, in order, with what each is used for:
/// the next line's keys are checked against them with a few word compares
/// instead of being scanned and looked up.
#[derive(Debug, Default)]
struct Schema {
    names: Vec<u8>,
    fields: Vec<(u32, u32, Option<Slot>)>,
    /// A prediction failed: learn again from the next line.
    relearn: bool,
    scratch: Vec<(u32, u32, Option<Slot>)>,
}

/// The last time string parsed and its value.
#[derive(Debug, Default)]
struct TimeCache {
    text: [u8; 32],
    len: usize,
    ms: i64,
}

impl TimeCache {
    #[inline]
    fn get(&self, raw: &[u8]) -> Option<i64> {
        (self.len != 0 && raw.len() == self.len && same(&self.text[..self.len], raw))
            .then_some(self.ms)
    }

    #[inline]
    fn put(&mut self, raw: &[u8], ms: i64) {
        if raw.len() <= self.text.len() {
            self.text[..raw.len()].copy_from_slice(raw);
            self.len = raw.len();
            self.ms = ms;
        }
    }
}

impl Batch {
    /// An empty batch around a read buffer.
    pub fn with_data(data: Vec<u8>) -> Batch {
        Batch {
            data,
            ..Batch::default()
        }
    }

    pub fn raw(&self, p: &Parsed) -> &[u8] {
        &self.data[p.raw.0 as usize..p.raw.1 as usize]
    }

    pub fn key(&self, p: &Parsed) -> &[u8] {
        &self.text[p.key.0 as usize..p.key.1 as usize]
    }

    pub fn product(&self, p: &Parsed) -> Option<&[u8]> {
        p.product.map(|(a, b)| &self.text[a as usize..b as usize])
    }

    /// Appends the parse of one line, already in `data` at `raw`; `ascii`
    /// says the whole chunk is known to be ASCII (so valid UTF-8).
    pub fn push_line(&mut self, needs: &Needs, line: u64, raw: (u32, u32), ascii: bool) {
        let (nn, nb) = (needs.numbers.len(), needs.bools.len());
        let text_mark = self.text.len();
        let num_base = self.numbers.len();
        let bool_base = self.bools.len();
        self.numbers.resize(num_base + nn, f64::NAN);
        self.bools.resize(bool_base + nb, 0);
        let bytes = &self.data[raw.0 as usize..raw.1 as usize];
        let mut p = Parsed {
            line,
            raw,
            time: 0,
            key: (0, 0),
            product: None,
            error: None,
        };
        let utf8 = if ascii {
            Ok(())
        } else {
            std::str::from_utf8(bytes).map(|_| ())
        };
        let result = match utf8 {
            Err(e) => Err(format!("not valid UTF-8 (byte {})", e.valid_up_to())),
            Ok(()) => {
                let nums = &mut self.numbers[num_base..];
                let bools = &mut self.bools[bool_base..];
                match fast(
                    bytes,
                    needs,
                    &mut self.text,
                    nums,
                    bools,
                    &mut p,
                    &mut self.memo,
                ) {
                    Some(()) => Ok(()),
                    None => {
                        self.text.truncate(text_mark);
                        nums.fill(f64::NAN);
                        bools.fill(0);
                        let s = std::str::from_utf8(bytes).expect("checked above");
                        match crate::codec::parse_json_object_str(s) {
                            Ok(map) => extract(&map, needs, &mut self.text, nums, bools, &mut p),
                            Err(e) => Err(e),
                        }
                    }
                }
            }
        };
        if let Err(e) = result {
            self.text.truncate(text_mark);
            p.error = Some(e.into());
        }
        self.recs.push(p);
    }

    /// Appends a record that is already a JSON object (a CSV row), its raw text at `raw`.
    pub fn push_map(
        &mut self,
        needs: &Needs,
        line: u64,
        raw: (u32, u32),
        map: &Map<String, Value>,
    ) {
        let text_mark = self.text.len();
        let num_base = self.numbers.len();
        let bool_base = self.bools.len();
        self.numbers
            .resize(num_base + needs.numbers.len(), f64::NAN);
        self.bools.resize(bool_base + needs.bools.len(), 0);
        let mut p = Parsed {
            line,
            raw,
            time: 0,
            key: (0, 0),
            product: None,
            error: None,
        };
        let nums = &mut self.numbers[num_base..];
        let bools = &mut self.bools[bool_base..];
        if let Err(e) = extract(map, needs, &mut self.text, nums, bools, &mut p) {
            self.text.truncate(text_mark);
            p.error = Some(e.into());
        }
        self.recs.push(p);
    }

    /// Appends a line that could not be read at all.
    pub fn push_error(&mut self, line: u64, raw: (u32, u32), msg: String, needs: &Needs) {
        self.numbers
            .resize(self.numbers.len() + needs.numbers.len(), f64::NAN);
        self.bools.resize(self.bools.len() + needs.bools.len(), 0);
        self.recs.push(Parsed {
            line,
            raw,
            time: 0,
            key: (0, 0),
            product: None,
            error: Some(msg.into()),
        });
    }
}

/// Parses the first `len` bytes of `data`: whole lines (`\n`-separated,
/// `\r\n` accepted). The batch keeps `data` for raw lines.
pub fn parse_chunk(data: Vec<u8>, len: usize, needs: &Needs) -> Batch {
    let mut batch = Batch {
        data,
        ..Batch::default()
    };
    parse_into(&mut batch, len, needs);
    batch
}

/// Like [`parse_chunk`], reusing the vectors of a batch parsed before.
pub fn parse_into(batch: &mut Batch, len: usize, needs: &Needs) {
    batch.recs.clear();
    batch.numbers.clear();
    batch.bools.clear();
    batch.text.clear();
    let approx = len / 300 + 1;
    batch.recs.reserve(approx);
    batch.numbers.reserve(approx * needs.numbers.len());
    batch.bools.reserve(approx * needs.bools.len());
    batch.text.reserve(approx * 24);
    let ascii = batch.data[..len].is_ascii();
    let mut pos = 0usize;
    let mut line = 0u64;
    while pos < len {
        let nl = memchr::memchr(b'\n', &batch.data[pos..len]).map_or(len, |i| pos + i);
        line += 1;
        let mut end = nl;
        if end > pos && batch.data[end - 1] == b'\r' {
            end -= 1;
        }
        if !batch.data[pos..end].iter().all(|b| b.is_ascii_whitespace()) {
            batch.push_line(needs, line, (pos as u32, end as u32), ascii);
        }
        pos = nl + 1;
    }
    batch.lines = line;
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
#[inline]
fn scan_string(b: &[u8], mut i: usize) -> Option<(usize, bool)> {
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
            _ => i += 1,
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

/// From `i`, eight bytes at a time: the index of the first `"`, `\` or
/// control character (or a point near the end where the caller continues
/// byte by byte). Most of a line is key names and short strings.
#[inline]
fn skip_plain(b: &[u8], mut i: usize) -> usize {
    while i + 8 <= b.len() {
        let w = u64::from_le_bytes(b[i..i + 8].try_into().expect("8 bytes"));
        let m = bytes_below(w ^ (ONES * u64::from(b'"')), 1)
            | bytes_below(w ^ (ONES * u64::from(b'\\')), 1)
            | bytes_below(w, 0x20);
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

/// The fast path. `None` means "not sure": the caller re-parses with serde.
fn fast(
    b: &[u8],
    needs: &Needs,
    text: &mut Vec<u8>,
    nums: &mut [f64],
    bools: &mut [u8],
    p: &mut Parsed,
    memo: &mut Memo,
) -> Option<()> {
    let Memo { last_time, schema } = memo;
    // Learn the field order from this line, or predict it from the last one.
    let collect = schema.relearn || schema.fields.is_empty();
    let mut predict = !collect;
    if collect {
        schema.scratch.clear();
    }
    let mut j = 0usize;
    let mut time: Option<i64> = None;
    let mut keys: [Option<(usize, usize)>; 8] = [None; 8];
    if needs.keys.len() > keys.len() {
        return None;
    }
    let mut product: Option<(usize, usize)> = None;
    let mut i = skip_ws(b, 0);
    if b.get(i) != Some(&b'{') {
        return None;
    }
    i = skip_ws(b, i + 1);
    loop {
        if b.get(i) != Some(&b'"') {
            return None;
        }
        let mut hit = None;
        if predict {
            if let Some(&(a, l, slot)) = schema.fields.get(j) {
                let (a, l) = (a as usize, l as usize);
                let ke = i + 1 + l;
                // The learned names have no escapes, so equal bytes followed
                // by a quote are the same, valid key.
                if b.get(ke) == Some(&b'"') && same(&b[i + 1..ke], &schema.names[a..a + l]) {
                    hit = Some((ke, slot));
                }
            }
            if hit.is_none() {
                predict = false;
                schema.relearn = true;
            }
        }
        let (ke, slot) = match hit {
            Some(h) => h,
            None => {
                let (ke, kesc) = scan_string(b, i + 1)?;
                if kesc {
                    return None;
                }
                (ke, needs.lookup(&b[i + 1..ke]))
            }
        };
        if collect {
            schema
                .scratch
                .push((i as u32 + 1, (ke - i - 1) as u32, slot));
        }
        j += 1;
        i = skip_ws(b, ke + 1);
        if b.get(i) != Some(&b':') {
            return None;
        }
        i = skip_ws(b, i + 1);
        match *b.get(i)? {
            b'"' => {
                let (e, esc) = scan_string(b, i + 1)?;
                match slot {
                    None => {}
                    Some(_) if esc => return None,
                    Some(Slot::Time) => {
                        let raw = &b[i + 1..e];
                        time = Some(match last_time.get(raw) {
                            Some(t) => t,
                            None => {
                                // The whole line is UTF-8 and quotes are ASCII.
                                let s = std::str::from_utf8(raw).ok()?;
                                let t = parse_time_ms(s, needs)?;
                                last_time.put(raw, t);
                                t
                            }
                        });
                    }
                    Some(Slot::Key(k)) => {
                        // Blank keys are errors and non-ASCII ones may be blank
                        // in Unicode terms: both are left to serde.
                        let v = &b[i + 1..e];
                        if v.iter().all(|c| c.is_ascii_whitespace()) || !v.is_ascii() {
                            return None;
                        }
                        keys[k] = Some((i, e + 1));
                    }
                    Some(Slot::Product) => product = Some((i, e + 1)),
                    Some(Slot::Number(_) | Slot::Bool(_)) => return None,
                }
                i = e + 1;
            }
            b't' | b'f' | b'n' => {
                // Four bytes at once (`true`, `null`, `fals`+`e`), no memcmp call.
                let four = u32::from_le_bytes(b.get(i..i + 4)?.try_into().expect("4 bytes"));
                let (len, value) = match four {
                    x if x == u32::from_le_bytes(*b"true") => (4, 2u8),
                    x if x == u32::from_le_bytes(*b"null") => (4, 0),
                    x if x == u32::from_le_bytes(*b"fals") && b.get(i + 4) == Some(&b'e') => (5, 1),
                    _ => return None,
                };
                match slot {
                    None => {}
                    Some(Slot::Bool(k)) => bools[k] = value,
                    Some(Slot::Number(k)) if value == 0 => nums[k] = f64::NAN,
                    Some(Slot::Product) if value == 0 => product = None,
                    Some(_) => return None,
                }
                i += len;
            }
            b'-' | b'0'..=b'9' => {
                let (e, value) = if matches!(slot, Some(Slot::Number(_))) {
                    scan_decimal(b, i)?
                } else {
                    (scan_number(b, i)?, None)
                };
                match slot {
                    None => {}
                    Some(Slot::Number(k)) => {
                        let x = match value {
                            Some(x) => x,
                            // ASCII digits, signs and exponents only.
                            None => std::str::from_utf8(&b[i..e]).ok()?.parse().ok()?,
                        };
                        if !x.is_finite() {
                            return None;
                        }
                        nums[k] = x;
                    }
                    Some(_) => return None,
                }
                i = e;
            }
            _ => return None,
        }
        i = skip_ws(b, i);
        match b.get(i) {
            Some(b',') => i = skip_ws(b, i + 1),
            Some(b'}') => {
                i += 1;
                break;
            }
            _ => return None,
        }
    }
    if skip_ws(b, i) != b.len() {
        return None;
    }
    if collect {
        schema.names.clear();
        schema.fields.clear();
        for &(a, l, slot) in &schema.scratch {
            let at = schema.names.len() as u32;
            schema
                .names
                .extend_from_slice(&b[a as usize..(a + l) as usize]);
            schema.fields.push((at, l, slot));
        }
        schema.relearn = false;
    }
    if needs.time_field.is_some() {
        p.time = time?;
    }
    let start = text.len();
    for (n, k) in keys.iter().take(needs.keys.len()).enumerate() {
        let (a, z) = (*k)?;
        if n > 0 {
            text.push(KEY_SEPARATOR);
        }
        text.extend_from_slice(&b[a..z]);
    }
    p.key = (start as u32, text.len() as u32);
    p.product = product.map(|(a, z)| {
        let s = text.len();
        text.extend_from_slice(&b[a..z]);
        (s as u32, text.len() as u32)
    });
    Some(())
}

/// Like [`scan_number`], also giving the value of a plain decimal
/// (`-?digits[.digits]`) of at most 15 digits by Clinger's fast path: the
/// digits and the power of ten are exact in f64, so one division rounds
/// correctly, to the value `str::parse` gives. `None` as the value means
/// "use `str::parse`" (exponents, long mantissas).
#[inline]
fn scan_decimal(b: &[u8], start: usize) -> Option<(usize, Option<f64>)> {
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
        return Some((i, None));
    }
    let x = m as f64 / POW10[frac];
    Some((i, Some(if neg { -x } else { x })))
}

/// Exact powers of ten as f64.
const POW10: [f64; 16] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
];

/// Event time in epoch ms: RFC 3339 by hand when possible, else the shared parser.
#[inline]
fn parse_time_ms(s: &str, needs: &Needs) -> Option<i64> {
    if needs.fast_time {
        if let Some(t) = rfc3339_ms(s.as_bytes()) {
            return Some(t);
        }
    }
    needs.times.parse(s).ok().map(|t| t.timestamp_millis())
}

/// The slow path (and CSV): the fields from a parsed JSON object, with
/// messages for what is wrong.
fn extract(
    map: &Map<String, Value>,
    needs: &Needs,
    text: &mut Vec<u8>,
    nums: &mut [f64],
    bools: &mut [u8],
    p: &mut Parsed,
) -> Result<(), String> {
    if let Some(tf) = &needs.time_field {
        p.time = match map.get(tf) {
            Some(Value::String(s)) => {
                match needs.fast_time.then(|| rfc3339_ms(s.as_bytes())).flatten() {
                    Some(t) => t,
                    None => needs
                        .times
                        .parse(s)
                        .map_err(|e| format!("{tf}: {e}"))?
                        .timestamp_millis(),
                }
            }
            Some(Value::Null) | None => return Err(format!("missing required field {tf}")),
            Some(other) => return Err(format!("{tf}: expected an RFC 3339 string, found {other}")),
        };
    }
    let start = text.len();
    for (n, k) in needs.keys.iter().enumerate() {
        let v = match map.get(k) {
            None | Some(Value::Null) => return Err(format!("missing required field {k}")),
            Some(Value::String(s)) if s.trim().is_empty() => return Err(format!("{k} is empty")),
            Some(v @ (Value::Object(_) | Value::Array(_))) => {
                return Err(format!("{k}: expected a string or number, found {v}"))
            }
            Some(v) => v,
        };
        if n > 0 {
            text.push(KEY_SEPARATOR);
        }
        serde_json::to_writer(&mut *text, v).map_err(|e| e.to_string())?;
    }
    p.key = (start as u32, text.len() as u32);
    if let Some(pf) = &needs.product {
        p.product = match map.get(pf) {
            None | Some(Value::Null) => None,
            Some(v) => {
                let s = text.len();
                serde_json::to_writer(&mut *text, v).map_err(|e| e.to_string())?;
                Some((s as u32, text.len() as u32))
            }
        };
    }
    for (k, f) in needs.numbers.iter().enumerate() {
        nums[k] = match map.get(f) {
            None | Some(Value::Null) => f64::NAN,
            Some(v) => value_f64(v).ok_or_else(|| format!("{f}: expected a number, found {v}"))?,
        };
    }
    for (k, f) in needs.bools.iter().enumerate() {
        bools[k] = match map.get(f) {
            None | Some(Value::Null) => 0,
            Some(v) => match value_bool(v) {
                Some(true) => 2,
                Some(false) => 1,
                None => return Err(format!("{f}: expected true or false, found {v}")),
            },
        };
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn needs() -> Needs {
        Needs::new(
            Some("measurement_time".into()),
            vec!["container_id".into()],
            Some("product_id".into()),
            vec!["temperature".into(), "kilowatts".into()],
            vec!["fan_1".into(), "door_open".into()],
            TimeParser::default(),
            true,
        )
        .unwrap()
    }

    /// (time, key, product, numbers, bools) or the error, via one path.
    type Out = Result<(i64, String, Option<String>, Vec<String>, Vec<u8>), String>;

    fn summarize(b: &Batch, needs: &Needs) -> Out {
        summarize_rec(b, needs, 0)
    }

    fn summarize_rec(b: &Batch, needs: &Needs, r: usize) -> Out {
        let p = &b.recs[r];
        if let Some(e) = &p.error {
            return Err(e.to_string());
        }
        let (nn, nb) = (needs.numbers.len(), needs.bools.len());
        Ok((
            p.time,
            String::from_utf8(b.key(p).to_vec()).unwrap(),
            b.product(p).map(|x| String::from_utf8(x.to_vec()).unwrap()),
            b.numbers[r * nn..(r + 1) * nn]
                .iter()
                .map(|x| format!("{x:?}"))
                .collect(),
            b.bools[r * nb..(r + 1) * nb].to_vec(),
        ))
    }

    /// Lines parsed together in one chunk (so the field order learned from
    /// one line is predicted for the next) agree with serde line by line.
    fn assert_chunk_agrees(lines: &[String]) {
        let n = needs();
        let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
        let b = parse_chunk(text.clone().into_bytes(), text.len(), &n);
        assert_eq!(b.recs.len(), lines.len());
        for (r, l) in lines.iter().enumerate() {
            assert_eq!(summarize_rec(&b, &n, r), via_serde(l), "line {r}: {l}");
        }
    }

    fn via_fast(line: &str) -> Out {
        let n = needs();
        let b = parse_chunk(line.as_bytes().to_vec(), line.len(), &n);
        summarize(&b, &n)
    }

    fn via_serde(line: &str) -> Out {
        let n = needs();
        let mut b = Batch {
            data: line.as_bytes().to_vec(),
            ..Default::default()
        };
        match crate::codec::parse_json_object_str(line) {
            Ok(map) => b.push_map(&n, 1, (0, line.len() as u32), &map),
            Err(e) => b.push_error(1, (0, line.len() as u32), e, &n),
        }
        summarize(&b, &n)
    }

    const LINE: &str = r#"{"container_id":"MSKU9690622","measurement_time":"2026-11-27T03:00:00Z","product_id":"P04","temperature":5.92,"kilowatts":2.24,"oxygen_level":3.48,"fan_1":true,"door_open":false,"operating_mode":"modulated_cool","latitude":3.7237,"fault":null}"#;

    #[test]
    fn fast_path_reads_a_sim_line() {
        let out = via_fast(LINE).unwrap();
        assert_eq!(out.0, 1_795_748_400_000);
        assert_eq!(out.1, "\"MSKU9690622\"");
        assert_eq!(out.2.as_deref(), Some("\"P04\""));
        assert_eq!(out.3, vec!["5.92", "2.24"]);
        assert_eq!(out.4, vec![2, 1]);
        assert_eq!(via_fast(LINE), via_serde(LINE));
    }

    #[test]
    fn both_paths_agree_on_odd_lines() {
        let cases = [
            LINE.replace("5.92", "\"5.92\""),
            LINE.replace("5.92", "null"),
            LINE.replace("5.92", "\"warm\""),
            LINE.replace("5.92", "true"),
            LINE.replace("5.92", "1e999"),
            LINE.replace("5.92", "05"),
            LINE.replace("5.92", "-0.5e-3"),
            LINE.replace("5.92", "1E+2"),
            LINE.replace("5.92", "-0"),
            LINE.replace("5.92", "-"),
            LINE.replace("5.92", "5."),
            LINE.replace("5.92", ".5"),
            LINE.replace("5.92", "1234567890123.25"),
            LINE.replace("5.92", "0.000000000000000001"),
            LINE.replace("\"MSKU9690622\"", "42"),
            LINE.replace("\"MSKU9690622\"", "\"\""),
            LINE.replace("\"MSKU9690622\"", "null"),
            LINE.replace("\"MSKU9690622\"", "\"MS\\u004bU\""),
            LINE.replace("\"MSKU9690622\"", "\"MS\\\"U\""),
            LINE.replace("\"container_id\":\"MSKU9690622\",", ""),
            LINE.replace("\"measurement_time\":\"2026-11-27T03:00:00Z\",", ""),
            LINE.replace("2026-11-27T03:00:00Z", "2026-11-27T04:00:00.250+01:00"),
            LINE.replace("2026-11-27T03:00:00Z", "2026-11-27 03:00:00"),
            LINE.replace("2026-11-27T03:00:00Z", "2026-02-30T03:00:00Z"),
            LINE.replace("2026-11-27T03:00:00Z", "yesterday"),
            LINE.replace("true", "\"yes\""),
            LINE.replace("true", "1"),
            LINE.replace("\"P04\"", "null"),
            LINE.replace("null}", "{\"a\":[1,2]}}"),
            LINE.replace("null}", "null,}"),
            LINE.replace("null}", "nul}"),
            LINE.replace("}", "} x"),
            format!("{LINE},"),
            format!("  {LINE}  "),
            LINE.replace(",", " , "),
            LINE.replace("\"fault\":null", "\"fault\":\"caf\\u00e9\""),
            LINE.replace("\"fault\":null", "\"fault\":\"a\\qb\""),
            LINE.replace("\"fault\":null", "\"temperature\":7"),
            "[1,2]".to_string(),
            "{}".to_string(),
            "{".to_string(),
        ];
        for c in &cases {
            assert_eq!(via_fast(c), via_serde(c), "{c}");
        }
        // The same lines between ordinary ones, in one chunk.
        let mut mixed = Vec::new();
        for c in &cases {
            mixed.extend([LINE.to_string(), LINE.to_string(), c.clone()]);
        }
        mixed.push(LINE.to_string());
        assert_chunk_agrees(&mixed);
        // Fields in another order, one missing, one extra, renamed prefixes.
        assert_chunk_agrees(&[
            LINE.to_string(),
            LINE.replace("\"kilowatts\"", "\"kilowattz\""),
            LINE.replace("\"temperature\":5.92,", ""),
            LINE.replace("{", "{\"extra\":1,"),
            LINE.replace("\"fan_1\"", "\"fan_1 \""),
            LINE.replace("\"fan_1\":true", "\"fan_1\":false"),
            LINE.replace("\"product_id\":\"P04\",", "")
                .replace("}", ",\"product_id\":\"P09\"}"),
            LINE.to_string(),
            LINE.replace("\"temperature\"", "\"temperatur\\u0065\""),
            LINE.to_string(),
        ]);
        assert!(via_fast(&cases[2])
            .unwrap_err()
            .starts_with("temperature: expected a number"));
        assert_eq!(
            via_fast(&LINE.replace("\"container_id\":\"MSKU9690622\",", "")).unwrap_err(),
            "missing required field container_id"
        );
    }

    #[test]
    fn a_final_line_without_newline_stops_at_len_in_a_reused_buffer() {
        let n = needs();
        let stale = format!("{LINE}\n{LINE}\n");
        // Only the first line (without its newline) is this chunk's data.
        let b = parse_chunk(stale.into_bytes(), LINE.len(), &n);
        assert_eq!(b.recs.len(), 1);
        assert_eq!(b.lines, 1);
        assert!(b.recs[0].error.is_none());
        assert_eq!(b.raw(&b.recs[0]), LINE.as_bytes());
    }

    proptest! {
        #[test]
        fn word_scan_finds_the_first_special_byte(v in proptest::collection::vec(any::<u8>(), 0..40), start in 0usize..40) {
            let start = start.min(v.len());
            let i = skip_plain(&v, start);
            let expect = v[start..].iter().position(|&c| c == b'"' || c == b'\\' || c < 0x20).map(|p| start + p);
            match expect {
                Some(p) => prop_assert!(i == p || (i <= p && i + 8 > v.len())),
                None => prop_assert!(i + 8 > v.len() || i == v.len()),
            }
            prop_assert!(v[start..i].iter().all(|&c| c != b'"' && c != b'\\' && c >= 0x20));
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
        fn both_paths_agree_on_mangled_lines(cut in 0usize..300, junk in "[ -~]{0,3}") {
            let cut = cut.min(LINE.len());
            if LINE.is_char_boundary(cut) {
                let line = format!("{}{}{}", &LINE[..cut], junk, &LINE[cut..]);
                prop_assert_eq!(via_fast(&line), via_serde(&line), "{}", line);
                // Also after a line that set up the field-order prediction.
                assert_chunk_agrees(&[LINE.to_string(), line, LINE.to_string()]);
            }
        }
    }
}
