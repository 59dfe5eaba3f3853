//! The floor reefer-window's benchmark compares with: a plain, single-threaded,
//! typed serde_json parse of every line of a JSON Lines file (all fields of
//! SPEC §1, strings borrowed), doing nothing else. Prints readings parsed.
//!
//! `cargo run --release --example serde_floor -- FILE`

use serde::Deserialize;
use std::io::{BufRead, BufReader};

#[derive(Deserialize)]
#[allow(dead_code)]
struct Reading<'a> {
    container_id: &'a str,
    measurement_time: &'a str,
    product_id: &'a str,
    temperature: f64,
    target_temperature: Option<f64>,
    supply_air_temperature: Option<f64>,
    ambient_temperature: Option<f64>,
    kilowatts: f64,
    oxygen_level: f64,
    carbon_dioxide_level: f64,
    nitrogen_level: Option<f64>,
    humidity_level: Option<f64>,
    fan_1: bool,
    fan_2: Option<bool>,
    fan_3: Option<bool>,
    defrost: Option<bool>,
    door_open: Option<bool>,
    operating_mode: Option<&'a str>,
    latitude: Option<f64>,
    longitude: Option<f64>,
    fault: Option<&'a str>,
    maintenance_required: Option<bool>,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).ok_or("usage: serde_floor FILE")?;
    let mut input = BufReader::with_capacity(1 << 20, std::fs::File::open(&path)?);
    let mut line = String::new();
    let (mut n, mut bad, mut sum) = (0u64, 0u64, 0.0f64);
    loop {
        line.clear();
        if input.read_line(&mut line)? == 0 {
            break;
        }
        match serde_json::from_str::<Reading>(line.trim_end()) {
            Ok(r) => {
                n += 1;
                sum += r.temperature;
            }
            Err(_) => bad += 1,
        }
    }
    println!(
        "{n} readings parsed, {bad} unparsable, mean temperature {:.3}",
        sum / n.max(1) as f64
    );
    Ok(())
}
