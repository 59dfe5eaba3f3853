//! reefer-detect's input, on the shared reader: every input is a
//! [`codec::Source`]; JSON Lines chunks are parsed on the worker pool
//! ([`codec::ordered::parse_in_order`]) into owned observations and taken
//! back in input order on the calling thread, which runs the rules; CSV rows
//! come one by one through [`codec::Input`]. A reader that fails or a worker
//! that panics is a fatal error that says how far the input was read, never
//! the end of input.

use super::obs::{Mode, Obs, ObsFields, RowAggs};
use super::text::Text;
use crate::codec::ordered::{parse_in_order, Job, Next};
use crate::codec::scan::Scanner;
use crate::codec::{parse_json_object_str, Chunk, Format, FormatChoice, Input, Rejects, Source};
use crate::record::Reading;
use crate::time::TimeParser;
use serde_json::{Map, Value};
use std::time::Duration;

/// An observation that owns its strings, to cross from a worker thread and
/// to wait in the `--lateness` buffer (a minute of a fleet's readings: 60,000
/// of them for 10,000 containers at 10 s). It is packed: the optional
/// numbers as values with a presence mask, the optional flags two bits each,
/// and `--evaluate`'s label behind a box: 264 bytes instead of the 344 of an
/// [`Obs`]'s fields. A window row's aggregates are inline: boxed, they made
/// a reading 152 bytes but cost each row a malloc and a free (7 % of the CPU
/// on rows), and readings measured no faster (10,000 containers x 1 h,
/// alternating: 2.61-2.91 s inline, 3.00-3.39 s boxed; peak RSS 110 MB, 95 MB).
#[derive(Clone)]
pub struct Owned {
    id: Text,
    product: Text,
    t_ms: i64,
    from_ms: i64,
    temperature: f64,
    /// kilowatts, oxygen, co2, target, supply, ambient, humidity, nitrogen,
    /// valid where bit i of `present` is set.
    nums: [f64; 8],
    present: u8,
    /// fan_1, fan_2, fan_3, defrost, door_open: bit 2i set when present,
    /// bit 2i+1 its value.
    flags: u16,
    mode: Option<Mode>,
    implausible: u8,
    window: bool,
    /// A window row's temperature span (a reading's is its temperature).
    temp_min: f64,
    temp_max: f64,
    /// A window row's aggregates, inline: a box per row cost a malloc on
    /// the parser thread and a free on the main one, 7 % of the CPU on rows.
    row: Option<RowAggs>,
    /// A labelled reading's label (`--evaluate`), behind a box.
    label: Option<Box<Text>>,
}

impl Owned {
    pub fn pack(o: &Obs) -> Owned {
        let opts = [
            o.kilowatts,
            o.oxygen,
            o.co2,
            o.target,
            o.supply,
            o.ambient,
            o.humidity,
            o.nitrogen,
        ];
        let mut nums = [0.0; 8];
        let mut present = 0u8;
        for (i, v) in opts.into_iter().enumerate() {
            if let Some(v) = v {
                nums[i] = v;
                present |= 1 << i;
            }
        }
        let mut flags = 0u16;
        for (i, v) in [o.fan_1, o.fan_2, o.fan_3, o.defrost, o.door_open]
            .into_iter()
            .enumerate()
        {
            if let Some(v) = v {
                flags |= (1 | u16::from(v) << 1) << (2 * i);
            }
        }
        Owned {
            id: Text::new(o.container_id),
            product: Text::new(o.product_id),
            t_ms: o.t_ms,
            from_ms: o.from_ms,
            temperature: o.temperature,
            nums,
            present,
            flags,
            mode: o.mode,
            implausible: o.implausible,
            window: o.window,
            temp_min: o.temp_min,
            temp_max: o.temp_max,
            row: o.row,
            label: o.label.map(|l| Box::new(Text::new(l))),
        }
    }

    /// The observation, moved out: what is behind its box goes with it
    /// (no copy), and `self` keeps the rest, unboxed parts only.
    pub fn take(&mut self) -> Owned {
        let label = self.label.take();
        let mut o = self.clone();
        o.label = label;
        o
    }

    /// The observation's event time (epoch ms).
    pub fn t_ms(&self) -> i64 {
        self.t_ms
    }

    pub fn container_id(&self) -> &str {
        self.id.as_str()
    }

    pub fn obs(&self) -> Obs<'_> {
        let num = |i: usize| (self.present >> i & 1 == 1).then_some(self.nums[i]);
        let flag = |i: usize| {
            let f = self.flags >> (2 * i);
            (f & 1 == 1).then_some(f & 2 == 2)
        };
        Obs {
            container_id: self.id.as_str(),
            product_id: self.product.as_str(),
            t_ms: self.t_ms,
            from_ms: self.from_ms,
            window: self.window,
            temperature: self.temperature,
            temp_min: self.temp_min,
            temp_max: self.temp_max,
            kilowatts: num(0),
            oxygen: num(1),
            co2: num(2),
            target: num(3),
            supply: num(4),
            ambient: num(5),
            humidity: num(6),
            nitrogen: num(7),
            fan_1: flag(0),
            fan_2: flag(1),
            fan_3: flag(2),
            defrost: flag(3),
            door_open: flag(4),
            mode: self.mode,
            row: self.row,
            label: self.label.as_deref().map(Text::as_str),
            implausible: self.implausible,
        }
    }
}

/// What a worker made of one line of a chunk.
pub struct Parsed<T> {
    /// Physical line number.
    pub no: u64,
    /// The line's raw bytes in its chunk: `offset..offset + len`.
    pub offset: usize,
    pub len: usize,
    /// The line's text (without ending) is `offset..offset + text_len`.
    pub text_len: usize,
    pub res: Result<T, String>,
}

/// A parsed chunk: one entry per non-blank line, and the worker's scanner
/// (it learns the field order of the lines it reads).
pub struct Batch<T> {
    pub lines: Vec<Parsed<T>>,
    scanner: Option<Scanner>,
}

impl<T> crate::codec::ordered::Renumber for Batch<T> {
    fn renumber(&mut self, by: u64) {
        for p in &mut self.lines {
            p.no += by;
        }
    }
}

impl<T> Default for Batch<T> {
    fn default() -> Self {
        Batch {
            lines: Vec::new(),
            scanner: None,
        }
    }
}

/// How one line (on a worker) or one CSV row (on the calling thread) is read.
pub trait LineParser: Send + Sync + 'static {
    type Out: Send + 'static;
    /// A scanner for the fields this parser reads.
    fn scanner(&self) -> Scanner;
    /// A JSON Lines line, without its ending.
    fn parse(&self, text: &[u8], sc: &mut Scanner) -> Result<Self::Out, String>;
    /// A CSV row, as a typed object.
    fn parse_map(&self, map: &Map<String, Value>, sc: &mut Scanner) -> Result<Self::Out, String>;
}

/// Reads readings and window rows into observations (`label`: keep the
/// simulator's fault label, for `--evaluate`).
pub struct ObsParser {
    fields: ObsFields,
    times: TimeParser,
    label: bool,
}

impl ObsParser {
    pub fn new(times: TimeParser, label: bool) -> ObsParser {
        ObsParser {
            fields: ObsFields::new(times.clone()),
            times,
            label,
        }
    }

    /// A reading the scanner could not complete: the record type reads it
    /// (it may accept what the scanner's projection does not) or says why not.
    #[cold]
    fn by_record(&self, map: Map<String, Value>) -> Result<Owned, String> {
        let r = Reading::from_map(map, &self.times)?;
        Ok(Owned::pack(&Obs::from_reading(&r, self.label)))
    }
}

impl LineParser for ObsParser {
    type Out = Owned;

    fn scanner(&self) -> Scanner {
        self.fields.scanner()
    }

    fn parse(&self, text: &[u8], sc: &mut Scanner) -> Result<Owned, String> {
        let rec = sc.scan(text)?;
        match self.fields.obs(rec, self.label) {
            Some(o) => o.map(|o| Owned::pack(&o)),
            None => {
                let text = std::str::from_utf8(text).map_err(|e| e.to_string())?;
                self.by_record(parse_json_object_str(text)?)
            }
        }
    }

    fn parse_map(&self, map: &Map<String, Value>, sc: &mut Scanner) -> Result<Owned, String> {
        let rec = sc.scan_map(map)?;
        match self.fields.obs(rec, self.label) {
            Some(o) => o.map(|o| Owned::pack(&o)),
            None => self.by_record(map.clone()),
        }
    }
}

/// What a caller makes of a record: `Ok(Err(why))` refuses it (the line is
/// rejected), `Err` stops the run (an output error).
pub type Outcome = anyhow::Result<Result<(), String>>;

/// The caller's side of [`for_each`]: a record and its text (raw bytes for CSV).
pub type Sink<'a, T> = dyn FnMut(Step<T>, &[u8]) -> Outcome + 'a;

/// What the input loop hands to its caller.
pub enum Step<'s, T> {
    /// A line parsed on a worker (JSON Lines).
    Parsed(&'s mut T),
    /// A CSV row, as a typed object, and what the parser made of it.
    Row(&'s Map<String, Value>, &'s mut T),
    /// The first record of the next input file follows (for `--evaluate`).
    NextInput,
}

/// Why reading stopped early.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("reading {path} failed before its first line: {source}")]
    Open {
        path: String,
        source: std::io::Error,
    },
    #[error("reading {input} stopped after line {line}: {source}")]
    Failed {
        input: String,
        line: u64,
        source: std::io::Error,
    },
}

/// The end of a run over the inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// Every input was read to its end.
    Done,
    /// Ctrl-C.
    Interrupted,
}

/// Walks every input in order. JSON Lines lines are parsed by `parser` on
/// `threads` workers; each result (or CSV row) goes to `f`, which may refuse
/// it with a reason (the line is then rejected with its raw bytes), as is
/// every line the parser refused. `flush` is called whenever the input is
/// idle (a live pipe), so events leave promptly.
pub fn for_each<P: LineParser>(
    files: &[String],
    choice: FormatChoice,
    threads: usize,
    parser: P,
    rejects: &mut Rejects,
    f: &mut Sink<P::Out>,
    flush: &mut dyn FnMut() -> anyhow::Result<()>,
) -> anyhow::Result<Ended> {
    let stdin = ["-".to_string()];
    let files = if files.is_empty() { &stdin[..] } else { files };
    let parser = std::sync::Arc::new(parser);
    for (i, path) in files.iter().enumerate() {
        let source = Source::open(path, choice).map_err(|e| ReadError::Open {
            path: path.clone(),
            source: e,
        })?;
        if i > 0 {
            let _ = f(Step::NextInput, &[])?;
        }
        let ended = if source.format() == Format::Csv {
            csv_rows(source, &*parser, rejects, f, flush)?
        } else {
            json_lines(
                source,
                threads,
                std::sync::Arc::clone(&parser),
                rejects,
                f,
                flush,
            )?
        };
        if ended == Ended::Interrupted {
            return Ok(ended);
        }
    }
    Ok(Ended::Done)
}

fn csv_rows<P: LineParser>(
    source: Source,
    parser: &P,
    rejects: &mut Rejects,
    f: &mut Sink<P::Out>,
    flush: &mut dyn FnMut() -> anyhow::Result<()>,
) -> anyhow::Result<Ended> {
    let name = source.name().to_string();
    let mut input = Input::from_source(source);
    let mut sc = parser.scanner();
    let mut last = 0;
    loop {
        let next = input.next_rec().map_err(|e| ReadError::Failed {
            input: name.clone(),
            line: last,
            source: e,
        })?;
        match next {
            None => return Ok(Ended::Done),
            Some(Err(bad)) => {
                last = bad.line;
                rejects.reject(bad.input, bad.line, bad.raw, &bad.why)?;
            }
            Some(Ok(rec)) => {
                last = rec.line;
                let map = rec.csv.as_ref().cloned().unwrap_or_default();
                let res = match parser.parse_map(&map, &mut sc) {
                    Ok(mut out) => f(Step::Row(&map, &mut out), rec.raw)?,
                    Err(why) => Err(why),
                };
                if let Err(why) = res {
                    rejects.reject(rec.input, rec.line, rec.raw, &why)?;
                }
            }
        }
        if input.would_block() {
            flush()?;
        }
        if crate::app::interrupted() {
            return Ok(Ended::Interrupted);
        }
    }
}

fn json_lines<P: LineParser>(
    source: Source,
    threads: usize,
    parser: std::sync::Arc<P>,
    rejects: &mut Rejects,
    f: &mut Sink<P::Out>,
    flush: &mut dyn FnMut() -> anyhow::Result<()>,
) -> anyhow::Result<Ended> {
    let name = source.name().to_string();
    let mut ordered = parse_in_order(
        source,
        threads,
        move |chunk: &Chunk, out: &mut Batch<P::Out>| parse_chunk(&*parser, chunk, out),
    )?;
    // The last line handed on, for the message when reading fails.
    let mut last = 0;
    loop {
        let mut job = match ordered.next(Duration::from_millis(200)) {
            Ok(Next::Job(job)) => job,
            Ok(Next::Idle) => {
                flush()?;
                if crate::app::interrupted() {
                    return Ok(Ended::Interrupted);
                }
                continue;
            }
            Ok(Next::End) => return Ok(Ended::Done),
            Err(e) => {
                return Err(ReadError::Failed {
                    input: name,
                    line: last,
                    source: e,
                }
                .into())
            }
        };
        last = job.chunk.first_line + job.chunk.lines.saturating_sub(1);
        deliver(&name, &mut job, rejects, f)?;
        let idle = job.chunk.idle;
        ordered.recycle(job);
        if idle {
            flush()?;
        }
        if crate::app::interrupted() {
            return Ok(Ended::Interrupted);
        }
    }
}

/// Runs on a worker: every non-blank line of the chunk through the parser.
fn parse_chunk<P: LineParser>(parser: &P, chunk: &Chunk, out: &mut Batch<P::Out>) {
    out.lines.clear();
    let sc = out.scanner.get_or_insert_with(|| parser.scanner());
    for line in chunk.lines() {
        let res = parser.parse(line.text, sc);
        out.lines.push(Parsed {
            no: line.no,
            offset: line.offset,
            len: line.raw.len(),
            text_len: line.text.len(),
            res,
        });
    }
}

/// Hands a parsed chunk's lines to `f` in order, rejecting what was refused.
fn deliver<T>(
    name: &str,
    job: &mut Job<Batch<T>>,
    rejects: &mut Rejects,
    f: &mut Sink<T>,
) -> anyhow::Result<()> {
    let bytes = job.chunk.bytes();
    for p in &mut job.out.lines {
        let raw = &bytes[p.offset..p.offset + p.len];
        let text = &raw[..p.text_len];
        let res = match &mut p.res {
            Ok(v) => f(Step::Parsed(v), text)?,
            Err(why) => Err(why.clone()),
        };
        if let Err(why) = res {
            rejects.reject(name, p.no, raw, &why)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_ids_survive_the_trip_between_threads() {
        let long = "X".repeat(40);
        let o = Obs {
            container_id: &long,
            product_id: "P01",
            label: Some("door_open"),
            ..Obs::default()
        };
        let owned = Owned::pack(&o);
        let back = owned.obs();
        assert_eq!(
            (back.container_id, back.product_id, back.label),
            (long.as_str(), "P01", Some("door_open"))
        );
    }

    #[test]
    fn packing_gives_back_every_field() {
        let row = RowAggs {
            count: 6,
            kw_mean: Some(4.2),
            o2_span: Some((3.0, 3.5)),
            co2_span: None,
            supply_span: Some((-0.5, 0.25)),
        };
        for k in 0..32u32 {
            let bit = |i: u32| k >> i & 1 == 1;
            let num = |i: u32, v: f64| bit(i % 5).then_some(v + f64::from(i));
            let flag = |i: u32| bit(i).then_some(bit((i + 1) % 5));
            let o = Obs {
                container_id: "MSKU1234565",
                product_id: "P04",
                t_ms: 1_000 * i64::from(k),
                from_ms: 500,
                window: bit(0),
                temperature: -0.0,
                temp_min: if bit(1) { -1.5 } else { -0.0 },
                temp_max: if bit(2) { 2.5 } else { -0.0 },
                kilowatts: num(0, 4.4),
                oxygen: num(1, 20.9),
                co2: num(2, 0.04),
                target: num(3, -18.0),
                supply: num(4, -19.5),
                ambient: num(5, 31.0),
                humidity: num(6, 88.0),
                nitrogen: num(7, 79.0),
                fan_1: flag(0),
                fan_2: flag(1),
                fan_3: flag(2),
                defrost: flag(3),
                door_open: flag(4),
                mode: bit(3).then_some(Mode::FansOnly),
                row: bit(4).then_some(row),
                label: bit(0).then_some("o2_sensor"),
                implausible: k as u8,
            };
            assert_eq!(format!("{:?}", Owned::pack(&o).obs()), format!("{o:?}"));
        }
    }
}
