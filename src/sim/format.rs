//! The simulator's hot path: readings straight into a byte buffer, in the
//! field order of [`crate::record::FIELDS`], without going through serde.

use super::model::Sample;
use crate::codec::Format;
use crate::record::FIELDS;

/// Appends `x` rounded to `decimals` places, without trailing zeros (`3.2`, `-0.05`, `12.0`).
#[inline]
pub fn push_fixed(buf: &mut Vec<u8>, x: f64, decimals: u32) {
    let scale = 10i64.pow(decimals);
    let scaled = (x * scale as f64).round() as i64;
    let negative = scaled < 0;
    let abs = scaled.unsigned_abs();
    let (int, mut frac) = (abs / scale as u64, abs % scale as u64);
    if negative {
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

/// What the formatter needs besides the sample.
pub struct RowContext<'a> {
    pub container_id: &'a str,
    pub product_id: &'a str,
    /// The measurement time, already formatted.
    pub time: &'a str,
    pub labels: bool,
    /// Reporting resolution of the air temperatures, °C (`--resolution`).
    pub resolution: f64,
}

/// Appends `x` as a unit reports it: rounded to a multiple of `resolution`
/// (0.1 °C, say), with as many decimals as the resolution needs.
#[inline]
pub fn push_resolved(buf: &mut Vec<u8>, x: f64, resolution: f64) {
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
    push_fixed(buf, steps * resolution, decimals.min(4));
}

/// The CSV header row (with or without the ground-truth columns).
pub fn csv_header(labels: bool) -> String {
    let n = if labels {
        FIELDS.len()
    } else {
        FIELDS.len() - 2
    };
    let mut s = FIELDS[..n].join(",");
    s.push('\n');
    s
}

#[inline]
fn push_bool(buf: &mut Vec<u8>, b: bool) {
    buf.extend_from_slice(if b { b"true" } else { b"false" });
}

/// Appends one reading and its line ending.
pub fn write_row(buf: &mut Vec<u8>, format: Format, ctx: &RowContext<'_>, s: &Sample) {
    let json = format == Format::Jsonl;
    // Keys in FIELDS order; for CSV only the separators.
    macro_rules! key {
        ($first:expr, $name:literal) => {
            if json {
                if !$first {
                    buf.push(b',');
                }
                buf.extend_from_slice(concat!("\"", $name, "\":").as_bytes());
            } else if !$first {
                buf.push(b',');
            }
        };
    }
    if json {
        buf.push(b'{');
    }
    key!(true, "container_id");
    if json {
        buf.push(b'"');
    }
    buf.extend_from_slice(ctx.container_id.as_bytes());
    if json {
        buf.push(b'"');
    }
    key!(false, "measurement_time");
    if json {
        buf.push(b'"');
    }
    buf.extend_from_slice(ctx.time.as_bytes());
    if json {
        buf.push(b'"');
    }
    key!(false, "product_id");
    if json {
        buf.push(b'"');
    }
    buf.extend_from_slice(ctx.product_id.as_bytes());
    if json {
        buf.push(b'"');
    }
    key!(false, "temperature");
    push_resolved(buf, s.temperature, ctx.resolution);
    key!(false, "target_temperature");
    push_fixed(buf, s.target, 1);
    key!(false, "supply_air_temperature");
    push_resolved(buf, s.supply, ctx.resolution);
    key!(false, "ambient_temperature");
    push_fixed(buf, s.ambient, 1);
    key!(false, "kilowatts");
    push_fixed(buf, s.kilowatts, 2);
    key!(false, "oxygen_level");
    push_fixed(buf, s.o2, 2);
    key!(false, "carbon_dioxide_level");
    push_fixed(buf, s.co2, 2);
    key!(false, "nitrogen_level");
    push_fixed(buf, s.n2, 2);
    key!(false, "humidity_level");
    push_fixed(buf, s.humidity, 1);
    key!(false, "fan_1");
    push_bool(buf, s.fans[0]);
    key!(false, "fan_2");
    push_bool(buf, s.fans[1]);
    key!(false, "fan_3");
    push_bool(buf, s.fans[2]);
    key!(false, "defrost");
    push_bool(buf, s.defrost);
    key!(false, "door_open");
    push_bool(buf, s.door_open);
    key!(false, "operating_mode");
    if json {
        buf.push(b'"');
    }
    buf.extend_from_slice(s.mode.name().as_bytes());
    if json {
        buf.push(b'"');
    }
    match s.position {
        Some((lat, lon)) => {
            key!(false, "latitude");
            push_fixed(buf, lat, 4);
            key!(false, "longitude");
            push_fixed(buf, lon, 4);
        }
        None => {
            key!(false, "latitude");
            if json {
                buf.extend_from_slice(b"null");
            }
            key!(false, "longitude");
            if json {
                buf.extend_from_slice(b"null");
            }
        }
    }
    if ctx.labels {
        key!(false, "fault");
        match s.fault {
            Some(f) => {
                if json {
                    buf.push(b'"');
                }
                buf.extend_from_slice(f.name().as_bytes());
                if json {
                    buf.push(b'"');
                }
            }
            None => {
                if json {
                    buf.extend_from_slice(b"null");
                }
            }
        }
        key!(false, "maintenance_required");
        push_bool(buf, s.fault.is_some_and(|f| f.needs_maintenance()));
    }
    if json {
        buf.push(b'}');
    }
    buf.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;

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
