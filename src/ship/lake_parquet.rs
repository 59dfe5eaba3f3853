//! `--format parquet`: lake objects as Parquet files with a typed schema from
//! the record contract (docs/contract.md §1), read back to the same records.
//!
//! One row per record, one row group per object (the object is one hour
//! buffer, cut at `--buffer-size` like the JSON objects), zstd level 15.
//! Columns, in the order reefer-sim writes the fields: the 22 contract fields
//! typed (strings and booleans; `measurement_time` as `TIMESTAMP(MILLIS, UTC)`;
//! the numbers as fixed-scale `DECIMAL(9, s)` in INT32, see [`COLUMNS`]), then
//! two JSON text columns that make the round trip exact:
//!
//! - `extra_fields`: a JSON object with every field the typed columns cannot
//!   give back exactly: fields outside the contract (unknown fields are kept,
//!   contract §1), and contract fields whose value does not print back the
//!   same from its typed column (an integer `5` in a decimal column, a number
//!   with more decimals than the column's scale, a time with an offset or in
//!   another spelling, a value of the wrong type). A value that fits the
//!   column's type is still put in the column too (`5` as 5.00, `8.345` as
//!   8.35 in a scale-2 column, the instant of `…+02:00`), so queries see it;
//!   one too large for the column is null there. The reader takes
//!   `extra_fields` first. Null when there is nothing extra.
//! - `field_order`: a JSON array of the record's keys when they are not the
//!   22 contract fields in column order followed by the extra ones (a record
//!   without some optional fields, or in another order); null otherwise.
//!
//! A JSON `null` is a null in its column (and its key stays in the record);
//! a field that is absent is known by `field_order`. So reading a Parquet
//! object gives back every record with every field value equal (serde_json
//! value equality; byte for byte when the record was written by the toolkit,
//! whose numbers and times print one way).
//!
//! Size (the lake's bytes are what Athena bills): rows are sorted by
//! (`product_id`, `container_id`, `measurement_time`) before writing, a
//! stable sort, so the same records give the same file. A column then holds
//! runs of one container's slowly changing readings, next to containers of
//! the same product (same setpoint and atmosphere, often the same trade):
//! the strings are dictionary pages with long RLE runs, `measurement_time` is
//! DELTA_BINARY_PACKED (constant steps cost almost nothing), and the decimals
//! are PLAIN by default (`--parquet-numbers portable`). Trino, and so Athena
//! engine v3, decodes INT32 and INT64 columns as PLAIN or DELTA_BINARY_PACKED
//! (and dictionary pages), BOOLEAN as PLAIN or RLE, BYTE_ARRAY as PLAIN,
//! dictionary or the DELTA byte-array encodings (`ValueDecoders.java` in
//! trinodb/trino); the default writer uses only those (a unit test checks).
//! DELTA_BINARY_PACKED decimals were measured larger than PLAIN + zstd on
//! every decimal column: a container's run in an object (about 27 readings)
//! is shorter than a 128-value delta block, whose one minimum delta, set by
//! the jump between two containers, widens all its miniblocks.
//! `--parquet-numbers compact` writes the decimals BYTE_STREAM_SPLIT (each
//! byte of the integers in its own stream, so the high bytes, which barely
//! change, compress to nearly nothing): smaller, for DuckDB, pyarrow or
//! Spark, but not Athena. Reading sorts an object's records back by event
//! time (stable), so `--from` gives them in time order as the lake merge
//! expects; the round trip is by multiset.

use super::lake::ParquetNumbers;
use crate::time::{format_millis, parse_time};
use bytes::Bytes;
use parquet::basic::{Compression, Encoding, ZstdLevel};
use parquet::data_type::{BoolType, ByteArray, ByteArrayType, Decimal, Int32Type, Int64Type};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::file::writer::SerializedFileWriter;
use parquet::record::Field;
use parquet::schema::parser::parse_message_type;
use parquet::schema::types::ColumnPath;
use serde_json::{Map, Value};
use std::sync::Arc;

/// The type of a contract column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Str,
    Time,
    /// A number as `DECIMAL(9, scale)` in INT32: `scale` decimal digits.
    Dec(u32),
    Bool,
}

/// Digits of every decimal column: the most an INT32 holds.
const PRECISION: u32 = 9;

/// The contract's fields (§1), in the order reefer-sim writes them. Scales:
/// temperatures, gas levels and humidity to 0.01 (°C, %), twice as fine as
/// reefer controllers and data loggers report them (0.1 °C, 0.1 %);
/// kilowatts to 0.001 kW (1 W); positions to 0.00001° (about 1.1 m, the
/// accuracy of a GPS fix at sea; reefer-sim writes 4 decimals). A reading
/// with more decimals keeps them in `extra_fields`. The scale of positions
/// is what costs most: at 0.000001° the two position columns took 5.3 bytes
/// per reading of the fleet hour, at 0.00001° 3.3 (each step's few metres
/// then change one low byte of the integer, not two, and zstd matches the
/// rest).
const COLUMNS: &[(&str, Kind)] = &[
    ("container_id", Kind::Str),
    ("measurement_time", Kind::Time),
    ("product_id", Kind::Str),
    ("temperature", Kind::Dec(2)),
    ("target_temperature", Kind::Dec(2)),
    ("supply_air_temperature", Kind::Dec(2)),
    ("ambient_temperature", Kind::Dec(2)),
    ("kilowatts", Kind::Dec(3)),
    ("oxygen_level", Kind::Dec(2)),
    ("carbon_dioxide_level", Kind::Dec(2)),
    ("nitrogen_level", Kind::Dec(2)),
    ("humidity_level", Kind::Dec(2)),
    ("fan_1", Kind::Bool),
    ("fan_2", Kind::Bool),
    ("fan_3", Kind::Bool),
    ("defrost", Kind::Bool),
    ("door_open", Kind::Bool),
    ("operating_mode", Kind::Str),
    ("latitude", Kind::Dec(5)),
    ("longitude", Kind::Dec(5)),
    ("fault", Kind::Str),
    ("maintenance_required", Kind::Bool),
];

/// The JSON text columns after the contract's.
pub const EXTRA_FIELDS: &str = "extra_fields";
pub const FIELD_ORDER: &str = "field_order";

/// File metadata key that marks a reefer lake object, and its layout version
/// (1: double columns, rows in input order; 2: decimals, rows sorted by
/// container; 3: positions at 5 decimals, rows sorted by product first). The
/// reader takes each column's scale from the file, so it reads all three.
const MARK: &str = "reefer.lake.schema";
const LAYOUT: &str = "3";

/// The decimal columns written DELTA_BINARY_PACKED by default (the others
/// PLAIN): the gas levels whose delta + zstd is smaller than PLAIN + zstd
/// once rows are sorted by product (0.66 against 0.68 bytes per reading for
/// oxygen, 0.69 against 0.76 for nitrogen on an object of the fleet hour;
/// delta is larger on every other decimal column, 1.4 times PLAIN on the
/// positions). Trino reads DELTA_BINARY_PACKED on INT32 (`getInt32Decoder`).
const DELTA_DECIMALS: &[&str] = &["oxygen_level", "nitrogen_level"];

/// zstd level: 15 takes 0.91 of the bytes of level 9 and 0.82 of level 3 on
/// the fleet hour (measured; BYTE_STREAM_SPLIT streams gain most), for about
/// 5 s of CPU per million readings; reading costs the same at any level.
const ZSTD_LEVEL: i32 = 15;

/// The Athena type of each column, for the DDL (`measurement_time` a timestamp).
pub fn athena_columns() -> Vec<(&'static str, &'static str)> {
    let mut cols: Vec<(&str, &str)> = COLUMNS
        .iter()
        .map(|(name, kind)| {
            let ty = match kind {
                Kind::Str => "string",
                Kind::Time => "timestamp",
                Kind::Dec(2) => "decimal(9,2)",
                Kind::Dec(3) => "decimal(9,3)",
                Kind::Dec(5) => "decimal(9,5)",
                // Every scale in COLUMNS is listed above (a test checks).
                Kind::Dec(_) => "decimal",
                Kind::Bool => "boolean",
            };
            (*name, ty)
        })
        .collect();
    cols.push((EXTRA_FIELDS, "string"));
    cols.push((FIELD_ORDER, "string"));
    cols
}

fn schema_text() -> String {
    let mut s = String::from("message reefer_reading {\n");
    for (name, kind) in COLUMNS {
        let (ty, logical) = match kind {
            Kind::Str => ("BYTE_ARRAY", " (STRING)".to_string()),
            Kind::Time => ("INT64", " (TIMESTAMP(MILLIS,true))".to_string()),
            Kind::Dec(scale) => ("INT32", format!(" (DECIMAL({PRECISION},{scale}))")),
            Kind::Bool => ("BOOLEAN", String::new()),
        };
        s += &format!("  OPTIONAL {ty} {name}{logical};\n");
    }
    s += &format!("  OPTIONAL BYTE_ARRAY {EXTRA_FIELDS} (STRING);\n");
    s += &format!("  OPTIONAL BYTE_ARRAY {FIELD_ORDER} (STRING);\n}}\n");
    s
}

/// `x` in a column of `scale` decimals: the nearest value it holds (None when
/// too large for it), and whether that value prints back as `x` (the same
/// bits: `-0.0` stays `-0.0`).
fn to_decimal(x: f64, scale: u32) -> (Option<i32>, bool) {
    let unit = 10f64.powi(scale as i32);
    let v = (x * unit).round();
    let limit = 10f64.powi(PRECISION as i32);
    if !v.is_finite() || v.abs() >= limit {
        return (None, false);
    }
    let v = v as i32;
    (
        Some(v),
        from_decimal(i64::from(v), scale).to_bits() == x.to_bits(),
    )
}

/// The number a decimal column's integer stands for (correctly rounded: the
/// double a JSON reader makes of the same digits).
fn from_decimal(v: i64, scale: u32) -> f64 {
    v as f64 / 10f64.powi(scale as i32)
}

/// Values of one column and their definition levels (1 = a value, 0 = null).
enum Values {
    Str(Vec<ByteArray>),
    Time(Vec<i64>),
    Dec(Vec<i32>, u32),
    Bool(Vec<bool>),
}

struct Column {
    values: Values,
    defs: Vec<i16>,
}

impl Column {
    fn new(kind: Kind) -> Self {
        let values = match kind {
            Kind::Str => Values::Str(Vec::new()),
            Kind::Time => Values::Time(Vec::new()),
            Kind::Dec(scale) => Values::Dec(Vec::new(), scale),
            Kind::Bool => Values::Bool(Vec::new()),
        };
        Column {
            values,
            defs: Vec::new(),
        }
    }

    fn null(&mut self) {
        self.defs.push(0);
    }

    /// Puts the value in the column if it fits its type; true when the
    /// column gives it back exactly (as the same JSON value).
    fn push(&mut self, v: &Value) -> bool {
        let (fits, exact) = match (&mut self.values, v) {
            (_, Value::Null) => (false, true),
            (Values::Str(col), Value::String(s)) => {
                col.push(ByteArray::from(s.as_str()));
                (true, true)
            }
            (Values::Time(col), Value::String(s)) => match parse_time(s) {
                Ok(t) => {
                    let ms = t.timestamp_millis();
                    col.push(ms);
                    (true, format_millis(ms) == *s)
                }
                Err(_) => (false, false),
            },
            (Values::Dec(col, scale), Value::Number(n)) => match n.as_f64() {
                Some(x) => match to_decimal(x, *scale) {
                    (Some(d), exact) => {
                        col.push(d);
                        // An integer (`5`) would come back as `5.0`.
                        (true, exact && n.is_f64())
                    }
                    (None, _) => (false, false),
                },
                None => (false, false),
            },
            (Values::Bool(col), Value::Bool(b)) => {
                col.push(*b);
                (true, true)
            }
            _ => (false, false),
        };
        self.defs.push(i16::from(fits));
        exact
    }

    /// For each row, the index of its value in `values` (None: null).
    fn slots(&self) -> Vec<Option<u32>> {
        let mut next = 0u32;
        self.defs
            .iter()
            .map(|&d| {
                (d == 1).then(|| {
                    next += 1;
                    next - 1
                })
            })
            .collect()
    }

    /// The column with its rows in the order `perm` gives (row indices).
    fn permuted(&self, perm: &[u32]) -> Column {
        let slots = self.slots();
        fn pick<T: Clone>(v: &[T], slots: &[Option<u32>], perm: &[u32]) -> Vec<T> {
            perm.iter()
                .filter_map(|&r| slots[r as usize].map(|i| v[i as usize].clone()))
                .collect()
        }
        let values = match &self.values {
            Values::Str(v) => Values::Str(pick(v, &slots, perm)),
            Values::Time(v) => Values::Time(pick(v, &slots, perm)),
            Values::Dec(v, s) => Values::Dec(pick(v, &slots, perm), *s),
            Values::Bool(v) => Values::Bool(pick(v, &slots, perm)),
        };
        let defs = perm.iter().map(|&r| self.defs[r as usize]).collect();
        Column { values, defs }
    }
}

/// One object's records as columns, filled record by record.
pub struct Columns {
    typed: Vec<Column>,
    extra: Column,
    order: Column,
    rows: usize,
    /// The decimal columns' encoding (`--parquet-numbers`).
    numbers: ParquetNumbers,
}

impl Default for Columns {
    fn default() -> Self {
        Columns {
            typed: COLUMNS.iter().map(|(_, k)| Column::new(*k)).collect(),
            extra: Column::new(Kind::Str),
            order: Column::new(Kind::Str),
            numbers: ParquetNumbers::Portable,
            rows: 0,
        }
    }
}

impl Columns {
    /// Empty columns whose decimals will be written with `numbers`.
    pub fn with_numbers(numbers: ParquetNumbers) -> Columns {
        Columns {
            numbers,
            ..Columns::default()
        }
    }
}

impl Columns {
    /// Adds one record (a JSON object on one line), or says why it cannot be
    /// stored (then nothing of it is added).
    pub fn push(&mut self, line: &str) -> Result<(), String> {
        let rec: Map<String, Value> =
            serde_json::from_str(line).map_err(|e| format!("cannot be stored in Parquet: {e}"))?;
        let mut extra = Map::new();
        for ((name, _), col) in COLUMNS.iter().zip(&mut self.typed) {
            match rec.get(*name) {
                None => col.null(),
                Some(v) => {
                    if !col.push(v) {
                        extra.insert((*name).to_string(), v.clone());
                    }
                }
            }
        }
        for (k, v) in &rec {
            if column_of(k).is_none() {
                extra.insert(k.clone(), v.clone());
            }
        }
        let canonical = rec.len() == COLUMNS.len() + unknown_count(&extra)
            && rec.keys().zip(default_order(&extra)).all(|(a, b)| a == b);
        push_json(
            &mut self.extra,
            (!extra.is_empty()).then(|| Value::Object(extra)),
        );
        let order =
            (!canonical).then(|| Value::Array(rec.keys().cloned().map(Value::String).collect()));
        push_json(&mut self.order, order);
        self.rows += 1;
        Ok(())
    }

    /// The row order of the file: by (`product_id`, `container_id`,
    /// `measurement_time`), nulls first, ties in the order pushed. Product
    /// first: containers of one product hold the same setpoint, the same
    /// atmosphere and often the same trade, so the jump from one container's
    /// run to the next is small in every column (0.86 bytes per reading less
    /// than by container alone on the fleet hour).
    fn sorted_rows(&self) -> Vec<u32> {
        let (Some(products), Some(ids), Some(times)) = (
            column_of("product_id").map(|i| &self.typed[i]),
            column_of("container_id").map(|i| &self.typed[i]),
            column_of("measurement_time").map(|i| &self.typed[i]),
        ) else {
            return (0..self.rows as u32).collect();
        };
        let (product_slots, id_slots, time_slots) = (products.slots(), ids.slots(), times.slots());
        fn text<'a>(col: &'a Column, slots: &[Option<u32>], r: u32) -> Option<&'a [u8]> {
            match (&col.values, slots[r as usize]) {
                (Values::Str(v), Some(i)) => Some(v[i as usize].data()),
                _ => None,
            }
        }
        let time = |r: u32| match (&times.values, time_slots[r as usize]) {
            (Values::Time(v), Some(i)) => Some(v[i as usize]),
            _ => None,
        };
        let mut perm: Vec<u32> = (0..self.rows as u32).collect();
        // Stable: the same records in the same order give the same file.
        perm.sort_by(|&a, &b| {
            text(products, &product_slots, a)
                .cmp(&text(products, &product_slots, b))
                .then_with(|| text(ids, &id_slots, a).cmp(&text(ids, &id_slots, b)))
                .then_with(|| time(a).cmp(&time(b)))
        });
        perm
    }

    fn properties(&self) -> parquet::errors::Result<WriterProperties> {
        let mut props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::try_new(ZSTD_LEVEL)?))
            // One row group per object: the object is already one buffer.
            .set_max_row_group_row_count(Some(self.rows.max(1)))
            .set_created_by(format!("reefer-ship {}", env!("CARGO_PKG_VERSION")))
            .set_key_value_metadata(Some(vec![KeyValue::new(
                MARK.to_string(),
                LAYOUT.to_string(),
            )]));
        for (name, kind) in COLUMNS {
            let encoding = match kind {
                Kind::Time => Encoding::DELTA_BINARY_PACKED,
                Kind::Dec(_) => match self.numbers {
                    ParquetNumbers::Portable if DELTA_DECIMALS.contains(name) => {
                        Encoding::DELTA_BINARY_PACKED
                    }
                    ParquetNumbers::Portable => Encoding::PLAIN,
                    ParquetNumbers::Compact => Encoding::BYTE_STREAM_SPLIT,
                },
                // Strings: dictionary + RLE; booleans: bit-packed.
                Kind::Str | Kind::Bool => continue,
            };
            let path = ColumnPath::from(*name);
            props = props
                .set_column_dictionary_enabled(path.clone(), false)
                .set_column_encoding(path, encoding);
        }
        Ok(props.build())
    }

    /// The Parquet file.
    pub fn write(self) -> parquet::errors::Result<Vec<u8>> {
        let schema = Arc::new(parse_message_type(&schema_text())?);
        let props = self.properties()?;
        let perm = self.sorted_rows();
        let mut writer = SerializedFileWriter::new(Vec::new(), schema, Arc::new(props))?;
        let mut group = writer.next_row_group()?;
        let mut columns = self.typed.iter().chain([&self.extra, &self.order]);
        while let Some(mut out) = group.next_column()? {
            let Some(col) = columns.next() else {
                return Err(parquet::errors::ParquetError::General(
                    "more columns in the schema than filled".into(),
                ));
            };
            let col = col.permuted(&perm);
            let defs = Some(&col.defs[..]);
            match &col.values {
                Values::Str(v) => out.typed::<ByteArrayType>().write_batch(v, defs, None)?,
                Values::Time(v) => out.typed::<Int64Type>().write_batch(v, defs, None)?,
                Values::Dec(v, _) => out.typed::<Int32Type>().write_batch(v, defs, None)?,
                Values::Bool(v) => out.typed::<BoolType>().write_batch(v, defs, None)?,
            };
            out.close()?;
        }
        group.close()?;
        writer.into_inner()
    }
}

fn push_json(col: &mut Column, v: Option<Value>) {
    match v {
        Some(v) => {
            col.push(&Value::String(v.to_string()));
        }
        None => col.null(),
    }
}

fn column_of(name: &str) -> Option<usize> {
    COLUMNS.iter().position(|(n, _)| *n == name)
}

fn unknown_count(extra: &Map<String, Value>) -> usize {
    extra.keys().filter(|k| column_of(k).is_none()).count()
}

/// The key order a record has when `field_order` is null: the contract's
/// fields in column order, then the unknown fields in their order.
fn default_order(extra: &Map<String, Value>) -> impl Iterator<Item = &str> {
    COLUMNS.iter().map(|(n, _)| *n).chain(
        extra
            .keys()
            .map(String::as_str)
            .filter(|k| column_of(k).is_none()),
    )
}

/// True when an object's bytes are a Parquet file (they start with `PAR1`).
pub fn is_parquet(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PAR1")
}

/// A Parquet object as JSON Lines: for a reefer lake object, its records
/// as they were written, in event-time order (stable); for any other Parquet
/// file, each row as a JSON object (parquet's own mapping), in file order.
/// On an error part way, the lines before it and the error (reported where
/// reading stopped).
pub fn to_json_lines(bytes: Vec<u8>) -> (Vec<u8>, Option<String>) {
    let mut out = Vec::new();
    let err = read_into(Bytes::from(bytes), &mut out).err();
    (out, err.map(|e| e.to_string()))
}

fn read_into(bytes: Bytes, out: &mut Vec<u8>) -> parquet::errors::Result<()> {
    let reader = SerializedFileReader::new(bytes)?;
    let ours = reader
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .is_some_and(|kv| kv.iter().any(|k| k.key == MARK));
    let json_err = |e: serde_json::Error| parquet::errors::ParquetError::General(e.to_string());
    if !ours {
        for row in reader.get_row_iter(None)? {
            serde_json::to_writer(&mut *out, &row?.to_json_value()).map_err(json_err)?;
            out.push(b'\n');
        }
        return Ok(());
    }
    // Lines in file order (`text`), then out in time order, even after an error.
    let mut text = Vec::new();
    let mut lines: Vec<(Option<i64>, usize, usize)> = Vec::new();
    let mut read = || -> parquet::errors::Result<()> {
        for g in 0..reader.num_row_groups() {
            let group = reader.get_row_group(g)?;
            let rows = usize::try_from(group.metadata().num_rows()).unwrap_or(0);
            // Column by column: parquet's row reader builds a named Field per cell.
            if let Some(mut cols) = read_group(&*group)? {
                group_lines(&mut cols, rows, &mut text, &mut lines)?;
                continue;
            }
            for row in group.get_row_iter(None)? {
                let (rec, time) = record_of(row?.get_column_iter());
                let start = text.len();
                serde_json::to_writer(&mut text, &rec).map_err(json_err)?;
                text.push(b'\n');
                lines.push((time, start, text.len()));
            }
        }
        Ok(())
    };
    let result = read();
    lines.sort_by_key(|l| l.0);
    out.reserve(text.len());
    for (_, start, end) in lines {
        out.extend_from_slice(&text[start..end]);
    }
    result
}

/// A record back from one of our rows (see the module doc), and the instant
/// in its `measurement_time` column.
fn record_of<'a>(cells: impl Iterator<Item = (&'a String, &'a Field)>) -> (Value, Option<i64>) {
    let mut typed: Vec<Option<Value>> = vec![None; COLUMNS.len()];
    let (mut extra, mut order, mut time) = (None, None, None);
    for (name, field) in cells {
        let text = match field {
            Field::Str(s) => Some(s.as_str()),
            _ => None,
        };
        if name == EXTRA_FIELDS {
            extra = text;
        } else if name == FIELD_ORDER {
            order = text;
        } else if let Some(i) = column_of(name) {
            if let Field::TimestampMillis(ms) = field {
                time = Some(*ms);
            }
            typed[i] = Some(value_of(field));
        }
    }
    (assemble(typed, extra, order), time)
}

/// A record from its typed columns' values (None: no such column) and the
/// texts of `extra_fields` and `field_order`.
fn assemble(mut typed: Vec<Option<Value>>, extra: Option<&str>, order: Option<&str>) -> Value {
    let extra = match extra.map(serde_json::from_str) {
        Some(Ok(Value::Object(m))) => m,
        _ => Map::new(),
    };
    let keys: Vec<String> = match order.map(serde_json::from_str::<Vec<String>>) {
        Some(Ok(keys)) => keys,
        _ => default_order(&extra).map(str::to_string).collect(),
    };
    let mut rec = Map::new();
    for k in keys {
        let v = match extra.get(&k) {
            Some(v) => v.clone(),
            None => match column_of(&k) {
                Some(i) => typed[i].take().unwrap_or(Value::Null),
                None => continue,
            },
        };
        rec.insert(k, v);
    }
    Value::Object(rec)
}

/// One column of a row group, read whole: definition levels and values.
enum Cells {
    Str(Vec<ByteArray>),
    Time(Vec<i64>),
    Dec(Vec<i32>, u32),
    F64(Vec<f64>),
    Bool(Vec<bool>),
}

struct ReadColumn {
    /// Index in [`COLUMNS`]; None for `extra_fields` and `field_order`.
    typed: Option<usize>,
    name: String,
    defs: Vec<i16>,
    cells: Cells,
    /// The next value to take.
    next: usize,
}

impl ReadColumn {
    /// The next row's value (None: null).
    fn take(&mut self, row: usize) -> Option<usize> {
        (self.defs.get(row) == Some(&1)).then(|| {
            self.next += 1;
            self.next - 1
        })
    }
}

fn read_whole<T: parquet::data_type::DataType>(
    mut reader: parquet::column::reader::ColumnReaderImpl<T>,
    rows: usize,
) -> parquet::errors::Result<(Vec<i16>, Vec<T::T>)> {
    let (mut defs, mut values) = (Vec::with_capacity(rows), Vec::with_capacity(rows));
    let mut got = 0;
    while got < rows {
        let (records, _, _) =
            reader.read_records(rows - got, Some(&mut defs), None, &mut values)?;
        if records == 0 {
            return Err(parquet::errors::ParquetError::General(
                "a column ended before its row group".into(),
            ));
        }
        got += records;
    }
    Ok((defs, values))
}

/// A row group of one of our objects, column by column; None when a column
/// is not what this layout writes (then the row reader takes the file).
fn read_group(
    group: &dyn parquet::file::reader::RowGroupReader,
) -> parquet::errors::Result<Option<Vec<ReadColumn>>> {
    use parquet::column::reader::ColumnReader as R;
    let rows = usize::try_from(group.metadata().num_rows()).unwrap_or(0);
    let mut out = Vec::new();
    for j in 0..group.num_columns() {
        let descr = group.metadata().column(j).column_descr();
        let name = descr.name().to_string();
        let typed = column_of(&name);
        let kind = typed.map(|i| COLUMNS[i].1);
        let text = name == EXTRA_FIELDS || name == FIELD_ORDER;
        let (defs, cells) = match (kind, group.get_column_reader(j)?) {
            (Some(Kind::Str), R::ByteArrayColumnReader(r))
            | (None, R::ByteArrayColumnReader(r))
                if typed.is_some() || text =>
            {
                let (d, v) = read_whole(r, rows)?;
                (d, Cells::Str(v))
            }
            (Some(Kind::Time), R::Int64ColumnReader(r)) => {
                let (d, v) = read_whole(r, rows)?;
                (d, Cells::Time(v))
            }
            (Some(Kind::Dec(_)), R::Int32ColumnReader(r)) => {
                let scale = u32::try_from(descr.type_scale()).unwrap_or(0);
                let (d, v) = read_whole(r, rows)?;
                (d, Cells::Dec(v, scale))
            }
            // Layout 1: doubles.
            (Some(Kind::Dec(_)), R::DoubleColumnReader(r)) => {
                let (d, v) = read_whole(r, rows)?;
                (d, Cells::F64(v))
            }
            (Some(Kind::Bool), R::BoolColumnReader(r)) => {
                let (d, v) = read_whole(r, rows)?;
                (d, Cells::Bool(v))
            }
            _ => return Ok(None),
        };
        if defs.len() != rows {
            return Err(parquet::errors::ParquetError::General(format!(
                "column {name}: {} levels for {rows} rows",
                defs.len()
            )));
        }
        out.push(ReadColumn {
            typed,
            name,
            defs,
            cells,
            next: 0,
        });
    }
    Ok(Some(out))
}

/// Our row group's records, each as a line in `text` with its
/// `measurement_time` (see [`record_of`]). A record as reefer-sim writes it
/// (no `extra_fields`, no `field_order`: nearly every row) is written
/// straight from the columns, the bytes serde_json would print for the same
/// record; the others are assembled as a JSON value first.
fn group_lines(
    cols: &mut [ReadColumn],
    rows: usize,
    text: &mut Vec<u8>,
    lines: &mut Vec<(Option<i64>, usize, usize)>,
) -> parquet::errors::Result<()> {
    let n = COLUMNS.len();
    let ours = cols.len() == n + 2
        && cols
            .iter()
            .take(n)
            .enumerate()
            .all(|(i, c)| c.typed == Some(i))
        && cols[n].name == EXTRA_FIELDS
        && cols[n + 1].name == FIELD_ORDER;
    let mut slots = vec![None; cols.len()];
    for row in 0..rows {
        for (slot, col) in slots.iter_mut().zip(cols.iter_mut()) {
            *slot = col.take(row);
        }
        let start = text.len();
        let time = if ours && slots[n].is_none() && slots[n + 1].is_none() {
            write_canonical(cols, &slots, text)?
        } else {
            let (rec, time) = assembled(cols, &slots)?;
            serde_json::to_writer(&mut *text, &rec).map_err(json_error)?;
            time
        };
        text.push(b'\n');
        lines.push((time, start, text.len()));
    }
    Ok(())
}

fn json_error(e: serde_json::Error) -> parquet::errors::ParquetError {
    parquet::errors::ParquetError::General(e.to_string())
}

fn utf8(b: &ByteArray) -> parquet::errors::Result<&str> {
    std::str::from_utf8(b.data()).map_err(|e| parquet::errors::ParquetError::General(e.to_string()))
}

/// A record whose fields are the contract's in column order, from its
/// cells (`slots`: each column's value index, None for null), written as
/// serde_json writes the same object (its escaping, its shortest
/// round-trip numbers); and the instant of its `measurement_time`.
fn write_canonical(
    cols: &[ReadColumn],
    slots: &[Option<usize>],
    out: &mut Vec<u8>,
) -> parquet::errors::Result<Option<i64>> {
    let mut time = None;
    for (i, ((name, _), col)) in COLUMNS.iter().zip(cols).enumerate() {
        out.extend_from_slice(if i == 0 { b"{\"" } else { b",\"" });
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b"\":");
        let written = match (slots[i], &col.cells) {
            (None, _) => {
                out.extend_from_slice(b"null");
                Ok(())
            }
            (Some(j), Cells::Str(v)) => serde_json::to_writer(&mut *out, utf8(&v[j])?),
            (Some(j), Cells::Time(v)) => {
                time = Some(v[j]);
                serde_json::to_writer(&mut *out, &format_millis(v[j]))
            }
            (Some(j), Cells::Dec(v, s)) => {
                serde_json::to_writer(&mut *out, &from_decimal(i64::from(v[j]), *s))
            }
            (Some(j), Cells::F64(v)) => serde_json::to_writer(&mut *out, &v[j]),
            (Some(j), Cells::Bool(v)) => {
                out.extend_from_slice(if v[j] { b"true" } else { b"false" });
                Ok(())
            }
        };
        written.map_err(json_error)?;
    }
    out.push(b'}');
    Ok(time)
}

/// A record from its cells (see [`write_canonical`]) through [`assemble`].
fn assembled(
    cols: &[ReadColumn],
    slots: &[Option<usize>],
) -> parquet::errors::Result<(Value, Option<i64>)> {
    let mut typed: Vec<Option<Value>> = vec![None; COLUMNS.len()];
    let (mut extra, mut order, mut time) = (None, None, None);
    for (col, slot) in cols.iter().zip(slots) {
        let v = match (*slot, &col.cells) {
            (None, _) => Value::Null,
            (Some(i), Cells::Str(v)) => Value::String(utf8(&v[i])?.to_string()),
            (Some(i), Cells::Time(v)) => {
                time = Some(v[i]);
                Value::String(format_millis(v[i]))
            }
            (Some(i), Cells::Dec(v, s)) => number(from_decimal(i64::from(v[i]), *s)),
            (Some(i), Cells::F64(v)) => number(v[i]),
            (Some(i), Cells::Bool(v)) => Value::Bool(v[i]),
        };
        match col.typed {
            Some(i) => typed[i] = Some(v),
            None if col.name == EXTRA_FIELDS => extra = v.as_str().map(str::to_string),
            None => order = v.as_str().map(str::to_string),
        }
    }
    Ok((assemble(typed, extra.as_deref(), order.as_deref()), time))
}

fn number(x: f64) -> Value {
    serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number)
}

fn value_of(field: &Field) -> Value {
    match field {
        Field::Null => Value::Null,
        Field::Bool(b) => Value::Bool(*b),
        // Layout 1 objects.
        Field::Double(x) => number(*x),
        Field::Decimal(Decimal::Int32 { value, scale, .. }) => number(from_decimal(
            i64::from(i32::from_be_bytes(*value)),
            (*scale).max(0) as u32,
        )),
        Field::Str(s) => Value::String(s.clone()),
        Field::TimestampMillis(ms) => Value::String(format_millis(*ms)),
        other => other.to_json_value(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(lines: &[&str]) -> Vec<String> {
        let mut cols = Columns::default();
        for l in lines {
            cols.push(l).unwrap();
        }
        let bytes = cols.write().unwrap();
        assert!(is_parquet(&bytes));
        let (out, err) = to_json_lines(bytes);
        assert_eq!(err, None);
        String::from_utf8(out)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// Every record comes back once, equal value by value and in key order
    /// (the round trip is by multiset: rows come back in time order).
    fn assert_same_records(want: &[&str], got: &[String]) {
        assert_eq!(want.len(), got.len(), "{got:#?}");
        let parse = |s: &str| -> (Value, Vec<String>) {
            let v: Value = serde_json::from_str(s).unwrap();
            let keys = v.as_object().unwrap().keys().cloned().collect();
            (v, keys)
        };
        let mut left: Vec<(Value, Vec<String>)> = got.iter().map(|g| parse(g)).collect();
        for w in want {
            let w = parse(w);
            let Some(i) = left.iter().position(|g| *g == w) else {
                panic!("\nwant {}\n not in {got:#?}", w.0);
            };
            left.remove(i);
        }
    }

    const SIM: &str = r#"{"container_id":"MSKU9690622","measurement_time":"2026-11-30T08:41:57Z","product_id":"P04","temperature":8.3,"target_temperature":6.0,"supply_air_temperature":6.0,"ambient_temperature":22.5,"kilowatts":4.23,"oxygen_level":3.11,"carbon_dioxide_level":5.72,"nitrogen_level":90.24,"humidity_level":90.0,"fan_1":true,"fan_2":true,"fan_3":true,"defrost":false,"door_open":false,"operating_mode":"modulated_cool","latitude":7.1991,"longitude":-79.592,"fault":null,"maintenance_required":false}"#;

    fn sim_with(field: &str, value: &str) -> String {
        let mut rec: Map<String, Value> = serde_json::from_str(SIM).unwrap();
        rec.insert(field.to_string(), serde_json::from_str(value).unwrap());
        serde_json::to_string(&rec).unwrap()
    }

    fn dec_column(cols: &Columns, field: &str) -> (Vec<i32>, Vec<i16>) {
        let c = &cols.typed[column_of(field).unwrap()];
        match &c.values {
            Values::Dec(v, _) => (v.clone(), c.defs.clone()),
            _ => panic!("{field} is not a decimal column"),
        }
    }

    #[test]
    fn a_simulator_record_comes_back_byte_for_byte_with_nothing_extra() {
        assert_eq!(round_trip(&[SIM]), vec![SIM.to_string()]);
        let mut cols = Columns::default();
        cols.push(SIM).unwrap();
        assert_eq!(cols.extra.defs, vec![0], "no extra_fields");
        assert_eq!(cols.order.defs, vec![0], "no field_order");
        assert_eq!(dec_column(&cols, "latitude").0, vec![719_910]);
        assert_eq!(dec_column(&cols, "kilowatts").0, vec![4_230]);
    }

    #[test]
    fn unknown_fields_integers_offsets_wrong_types_and_absent_fields_come_back_equal() {
        let lines = [
            // Unknown fields (nested too), at the end and in the middle.
            &SIM.replace("}", r#","site":{"port":"RTM","berth":[1,2]},"note":"x"}"#)[..],
            &SIM.replace(r#""product_id""#, r#""zone":7,"product_id""#),
            // An integer in a decimal column, a time with an offset and millis.
            &SIM.replace("8.3", "8")
                .replace("08:41:57Z", "10:41:57.250+02:00"),
            // Wrong types, nulls, absent optional fields, another key order.
            r#"{"measurement_time":"2026-11-30T08:00:00Z","container_id":"A","temperature":"warm","fan_1":1,"latitude":null}"#,
            // A time that is not a time, a huge integer.
            r#"{"container_id":"B","measurement_time":"yesterday","kilowatts":123456789012345678901}"#,
        ];
        assert_same_records(&lines, &round_trip(&lines));
    }

    #[test]
    fn numbers_at_the_edge_of_each_scale_negative_zero_and_null_come_back_exactly() {
        let lines: Vec<String> = [
            ("temperature", "-99.99"),
            ("temperature", "9999999.99"),
            ("temperature", "-9999999.99"),
            ("temperature", "0.01"),
            ("temperature", "null"),
            ("kilowatts", "0.001"),
            ("kilowatts", "999999.999"),
            ("latitude", "-89.99999"),
            ("longitude", "179.99999"),
            ("longitude", "-180.0"),
            ("latitude", "0.00001"),
        ]
        .iter()
        .map(|(f, v)| sim_with(f, v))
        .collect();
        let mut cols = Columns::default();
        for l in &lines {
            cols.push(l).unwrap();
        }
        for (l, d) in lines.iter().zip(&cols.extra.defs) {
            assert_eq!(*d, 0, "in its column: {l}");
        }
        let want: Vec<&str> = lines.iter().map(String::as_str).collect();
        let got = round_trip(&want);
        // Byte for byte, as the toolkit prints them.
        let mut sorted_want = want.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let mut sorted_got = got.clone();
        sorted_want.sort();
        sorted_got.sort();
        assert_eq!(sorted_want, sorted_got);
    }

    #[test]
    fn more_decimals_than_the_scale_or_too_large_go_to_extra_fields_exactly() {
        let cases = [
            ("temperature", "8.345", Some(835)),
            ("temperature", "-0.005", Some(-1)),
            ("latitude", "51.92250061035156", Some(5_192_250)),
            // A position from a GPS that writes 6 decimals.
            ("longitude", "4.479012", Some(447_901)),
            ("latitude", "-0.000006", Some(-1)),
            ("kilowatts", "1e-9", Some(0)),
            ("temperature", "10000000.0", None),
            ("longitude", "1e300", None),
            ("humidity_level", "-1.7976931348623157e308", None),
            ("kilowatts", "18446744073709551615", None),
            ("temperature", "5", Some(500)),
            // A decimal has no negative zero.
            ("temperature", "-0.0", Some(0)),
        ];
        let lines: Vec<String> = cases.iter().map(|(f, v, _)| sim_with(f, v)).collect();
        for ((field, _, column), line) in cases.iter().zip(&lines) {
            let mut cols = Columns::default();
            cols.push(line).unwrap();
            let (values, defs) = dec_column(&cols, field);
            match column {
                // The nearest value is in the column, for queries.
                Some(v) => assert_eq!((values, defs), (vec![*v], vec![1]), "{line}"),
                None => assert_eq!((values, defs), (vec![], vec![0]), "{line}"),
            }
            assert_eq!(cols.extra.defs, vec![1], "{line}");
        }
        let want: Vec<&str> = lines.iter().map(String::as_str).collect();
        assert_same_records(&want, &round_trip(&want));
    }

    #[test]
    fn a_value_that_fits_its_column_is_in_the_column_even_when_kept_exactly_elsewhere() {
        let mut cols = Columns::default();
        cols.push(
            &SIM.replace("8.3", "8")
                .replace("08:41:57Z", "10:41:57+02:00"),
        )
        .unwrap();
        assert_eq!(dec_column(&cols, "temperature").0, vec![800]);
        let m = column_of("measurement_time").unwrap();
        let want = parse_time("2026-11-30T08:41:57Z")
            .unwrap()
            .timestamp_millis();
        assert!(matches!(&cols.typed[m].values, Values::Time(v) if v == &[want]));
    }

    /// Records of four containers, interleaved in time as a fleet sends
    /// them; product order is not container order.
    fn fleet() -> Vec<String> {
        let mut lines = Vec::new();
        for minute in 0..5 {
            for (id, product, temp) in [
                ("CCCU0000003", "P01", 1.5),
                ("AAAU0000001", "P06", -20.1),
                ("BBBU0000002", "P02", 13.3),
                ("DDDU0000004", "P01", 0.7),
            ] {
                let rec = SIM
                    .replace("MSKU9690622", id)
                    .replace("P04", product)
                    .replace("08:41:57Z", &format!("08:4{minute}:00Z"))
                    .replace("8.3", &format!("{:.1}", temp + f64::from(minute) / 10.0));
                lines.push(rec);
            }
        }
        lines
    }

    fn file_rows(bytes: Vec<u8>) -> Vec<(String, String, i64)> {
        let reader = SerializedFileReader::new(Bytes::from(bytes)).unwrap();
        reader
            .get_row_iter(None)
            .unwrap()
            .map(|r| {
                let r = r.unwrap();
                let (mut product, mut id) = (String::new(), String::new());
                let mut t = 0;
                for (name, f) in r.get_column_iter() {
                    match (name.as_str(), f) {
                        ("product_id", Field::Str(s)) => product = s.clone(),
                        ("container_id", Field::Str(s)) => id = s.clone(),
                        ("measurement_time", Field::TimestampMillis(ms)) => t = *ms,
                        _ => {}
                    }
                }
                (product, id, t)
            })
            .collect()
    }

    #[test]
    fn rows_are_stored_by_product_container_and_time_and_read_back_in_time_order() {
        let lines = fleet();
        let mut cols = Columns::default();
        for l in &lines {
            cols.push(l).unwrap();
        }
        let bytes = cols.write().unwrap();
        let rows = file_rows(bytes.clone());
        let mut sorted = rows.clone();
        sorted.sort();
        assert_eq!(rows, sorted, "stored by (product, container, time)");
        assert_eq!((&rows[0].0[..], &rows[0].1[..]), ("P01", "CCCU0000003"));
        assert_eq!(rows[19].1, "AAAU0000001", "P06 last");
        let (out, err) = to_json_lines(bytes);
        assert_eq!(err, None);
        let got: Vec<String> = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(String::from)
            .collect();
        let times: Vec<String> = got
            .iter()
            .map(|l| serde_json::from_str::<Value>(l).unwrap()["measurement_time"].to_string())
            .collect();
        let mut in_order = times.clone();
        in_order.sort();
        assert_eq!(times, in_order, "read back in event-time order");
        let want: Vec<&str> = lines.iter().map(String::as_str).collect();
        assert_same_records(&want, &got);
    }

    #[test]
    fn our_objects_are_read_column_by_column_not_by_the_row_reader() {
        let mut cols = Columns::default();
        for l in fleet() {
            cols.push(&l).unwrap();
        }
        let reader = SerializedFileReader::new(Bytes::from(cols.write().unwrap())).unwrap();
        let group = reader.get_row_group(0).unwrap();
        let read = read_group(&*group).unwrap().expect("our layout");
        assert_eq!(read.len(), COLUMNS.len() + 2);
        assert!(read.iter().all(|c| c.defs.len() == 20));
    }

    /// The direct writer gives the bytes the JSON value path gives, row for
    /// row: escapes, non-ASCII text, nulls in every column, negative and
    /// whole numbers, both booleans.
    #[test]
    fn canonical_rows_are_written_straight_as_serde_json_would_write_them() {
        let mut lines = fleet();
        lines.push(sim_with("container_id", r#""Q\"uote\\ \u0001 Zoë 🚢""#));
        lines.push(sim_with("operating_mode", r#""line\nbreak""#));
        lines.push(sim_with("temperature", "-0.01"));
        lines.push(sim_with("longitude", "-179.5"));
        lines.push(sim_with("fan_2", "false"));
        for (name, _) in COLUMNS {
            lines.push(sim_with(name, "null"));
        }
        let mut cols = Columns::default();
        for l in &lines {
            cols.push(l).unwrap();
        }
        let reader = SerializedFileReader::new(Bytes::from(cols.write().unwrap())).unwrap();
        let group = reader.get_row_group(0).unwrap();
        let mut read = read_group(&*group).unwrap().expect("our layout");
        let mut direct = 0;
        for row in 0..lines.len() {
            let slots: Vec<Option<usize>> = read.iter_mut().map(|c| c.take(row)).collect();
            let (rec, time) = assembled(&read, &slots).unwrap();
            if slots[COLUMNS.len()].is_some() || slots[COLUMNS.len() + 1].is_some() {
                continue;
            }
            let mut out = Vec::new();
            let t = write_canonical(&read, &slots, &mut out).unwrap();
            assert_eq!(String::from_utf8(out).unwrap(), rec.to_string());
            assert_eq!(t, time);
            direct += 1;
        }
        assert_eq!(direct, lines.len(), "every row is canonical");
        let want: Vec<&str> = lines.iter().map(String::as_str).collect();
        assert_same_records(&want, &round_trip(&want));
    }

    #[test]
    fn the_same_records_give_the_same_bytes() {
        let write = || {
            let mut cols = Columns::default();
            for l in fleet() {
                cols.push(&l).unwrap();
            }
            cols.write().unwrap()
        };
        assert_eq!(write(), write());
    }

    /// Portable decimals are PLAIN, or DELTA_BINARY_PACKED for the gas levels
    /// in [`DELTA_DECIMALS`] (Trino, and so Athena, reads INT32 only as PLAIN
    /// or DELTA_BINARY_PACKED), compact ones BYTE_STREAM_SPLIT; times are delta
    /// encoded and strings dictionary encoded either way.
    #[test]
    fn decimals_are_plain_delta_or_byte_stream_split_and_times_delta_encoded() {
        for (numbers, dec) in [
            (ParquetNumbers::Portable, Encoding::PLAIN),
            (ParquetNumbers::Compact, Encoding::BYTE_STREAM_SPLIT),
        ] {
            let mut cols = Columns::with_numbers(numbers);
            for l in fleet() {
                cols.push(&l).unwrap();
            }
            let reader = SerializedFileReader::new(Bytes::from(cols.write().unwrap())).unwrap();
            let group = reader.metadata().row_group(0);
            for c in group.columns() {
                let name = c.column_path().string();
                let encodings = c.encodings().collect::<Vec<_>>();
                let want = match column_of(&name).map(|i| COLUMNS[i].1) {
                    Some(Kind::Dec(_))
                        if numbers == ParquetNumbers::Portable
                            && DELTA_DECIMALS.contains(&name.as_str()) =>
                    {
                        Some(Encoding::DELTA_BINARY_PACKED)
                    }
                    Some(Kind::Dec(_)) => Some(dec),
                    Some(Kind::Time) => Some(Encoding::DELTA_BINARY_PACKED),
                    Some(Kind::Str) => Some(Encoding::RLE_DICTIONARY),
                    _ => None,
                };
                if let Some(want) = want {
                    assert!(encodings.contains(&want), "{name}: {encodings:?}");
                }
                if matches!(column_of(&name).map(|i| COLUMNS[i].1), Some(Kind::Dec(_))) {
                    assert!(!encodings.contains(&Encoding::RLE_DICTIONARY), "{name}");
                }
                assert!(matches!(c.compression(), Compression::ZSTD(_)), "{name}");
            }
        }
    }

    /// The encodings Trino (Athena engine v3) decodes, per physical type
    /// (trinodb/trino, lib/trino-parquet, `reader/decoders/ValueDecoders.java`:
    /// `getInt32Decoder` and `getLongDecoder` take PLAIN and
    /// DELTA_BINARY_PACKED, `getBooleanDecoder` PLAIN and RLE, `getBinaryDecoder`
    /// PLAIN and the two DELTA byte-array encodings; dictionary pages of any
    /// type go through its dictionary reader; RLE is also the levels').
    fn trino_reads(physical: parquet::basic::Type, encoding: Encoding) -> bool {
        use parquet::basic::Type as T;
        use Encoding as E;
        match encoding {
            E::RLE | E::PLAIN | E::PLAIN_DICTIONARY | E::RLE_DICTIONARY => true,
            E::DELTA_BINARY_PACKED => matches!(physical, T::INT32 | T::INT64),
            E::DELTA_LENGTH_BYTE_ARRAY | E::DELTA_BYTE_ARRAY => physical == T::BYTE_ARRAY,
            _ => false,
        }
    }

    /// Every column chunk's encodings, for the fleet plus records with nulls,
    /// unknown fields and values that go to `extra_fields`.
    fn chunk_encodings(numbers: ParquetNumbers) -> Vec<(String, parquet::basic::Type, Encoding)> {
        let mut cols = Columns::with_numbers(numbers);
        let mut lines = fleet();
        lines.push(SIM.replace("}", r#","site":{"port":"RTM"}}"#));
        lines.push(sim_with("latitude", "null"));
        lines.push(sim_with("temperature", "8.345"));
        for l in &lines {
            cols.push(l).unwrap();
        }
        let reader = SerializedFileReader::new(Bytes::from(cols.write().unwrap())).unwrap();
        let mut out = Vec::new();
        for c in reader.metadata().row_group(0).columns() {
            for e in c.encodings() {
                out.push((c.column_path().string(), c.column_type(), e));
            }
            assert!(matches!(c.compression(), Compression::ZSTD(_)));
        }
        out
    }

    #[test]
    fn the_default_writer_uses_only_encodings_athena_reads() {
        let all = chunk_encodings(ParquetNumbers::default());
        assert_eq!(
            all.iter()
                .map(|c| &c.0)
                .collect::<std::collections::BTreeSet<_>>()
                .len(),
            COLUMNS.len() + 2
        );
        for (name, physical, encoding) in &all {
            assert!(
                trino_reads(*physical, *encoding),
                "{name}: {physical} {encoding}"
            );
        }
        // The check can fail: compact decimals are what Trino refuses.
        let compact = chunk_encodings(ParquetNumbers::Compact);
        assert!(compact.iter().any(|(_, p, e)| !trino_reads(*p, *e)));
    }

    #[test]
    fn every_decimal_column_has_an_athena_decimal_type_with_its_scale() {
        for ((name, kind), (col, ty)) in COLUMNS.iter().zip(athena_columns()) {
            assert_eq!(*name, col);
            if let Kind::Dec(scale) = kind {
                assert_eq!(ty, format!("decimal({PRECISION},{scale})"), "{name}");
            }
        }
    }

    #[test]
    fn a_line_serde_cannot_read_is_refused_not_half_stored() {
        let mut cols = Columns::default();
        assert!(cols.push(r#"{"temperature":1e400}"#).is_err());
        assert_eq!(cols.rows, 0);
        assert!(cols.typed.iter().all(|c| c.defs.is_empty()));
    }

    #[test]
    fn a_truncated_file_is_an_error_not_an_empty_object() {
        let mut cols = Columns::default();
        cols.push(SIM).unwrap();
        let mut bytes = cols.write().unwrap();
        bytes.truncate(bytes.len() - 10);
        let (_, err) = to_json_lines(bytes);
        assert!(err.is_some());
    }
}
