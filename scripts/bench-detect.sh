#!/usr/bin/env bash
# Speed of reefer-detect: readings/s and peak RSS on the benchmark fleet file
# (default $REEFER_DAY_FILE, which scripts/bench.sh makes: 10,000 containers x 864 steps at 10 s,
# 8.64 M readings), for
#   - the full detector set (reefer-detect FILE > /dev/null),
#   - --where 'temperature > 18' (the reference's faulty-reefers stream),
# next to the baselines the issue names: a plain typed serde_json parse of every
# line (built here from a 30-line program), DuckDB's filter on the same file
# (scripts/setup-python.sh --bench), and jq when installed (BENCH_JQ=1; slow).
# Usage: scripts/bench-detect.sh [FILE]     Runs one job at a time.
set -euo pipefail
cd "$(dirname "$0")/.."
data="${1:-${REEFER_DAY_FILE:?give the day file as an argument, or run scripts/bench.sh detect}}"
[[ -f "$data" ]] || { echo "bench-detect: no $data (make one with reefer-sim, see the header)" >&2; exit 2; }
cargo build --release --quiet --bin reefer-detect
readings=$(wc -l <"$data")
echo "file: $data ($readings readings, $(du -h "$data" | cut -f1))"

# Prints "label  wall seconds  readings/s  CPU seconds  peak RSS" for a command whose
# stdout is discarded. On a shared machine wall time moves with the load; CPU time
# (user + system) is the steadier comparison.
measure() {
  local label=$1; shift
  local t
  t=$(mktemp)
  /usr/bin/time -f "%e %U %S %M" -o "$t" "$@" >/dev/null
  read -r secs user sys kb <"$t"
  rm -f "$t"
  awk -v l="$label" -v s="$secs" -v u="$user" -v y="$sys" -v k="$kb" -v n="$readings" \
    'BEGIN { printf "%-42s %6.2f s wall %10.0f readings/s %6.2f s CPU %7.1f MB peak RSS\n", l, s, n / s, u + y, k / 1024 }'
}

# Baseline 1: a plain typed serde_json parse (the issue's 3.4 s for 5 M readings).
base=target/bench-detect-baseline
mkdir -p "$base/src"
cat >"$base/Cargo.toml" <<'TOML'
[package]
name = "serde-baseline"
version = "0.1.0"
edition = "2021"
[workspace]
[dependencies]
serde = { version = "1", features = ["derive"] }
serde_json = "1"
[profile.release]
lto = "thin"
codegen-units = 4
TOML
cat >"$base/src/main.rs" <<'RS'
use serde::Deserialize;
use std::io::{BufRead, BufReader};
#[allow(dead_code)]
#[derive(Deserialize)]
struct Reading {
    container_id: String, measurement_time: String, product_id: String,
    temperature: f64, target_temperature: Option<f64>, supply_air_temperature: Option<f64>,
    ambient_temperature: Option<f64>, kilowatts: f64, oxygen_level: f64, carbon_dioxide_level: f64,
    nitrogen_level: Option<f64>, humidity_level: Option<f64>, fan_1: bool, fan_2: Option<bool>,
    fan_3: Option<bool>, defrost: Option<bool>, door_open: Option<bool>, operating_mode: Option<String>,
    latitude: Option<f64>, longitude: Option<f64>, fault: Option<String>, maintenance_required: Option<bool>,
}
fn main() {
    let f = std::fs::File::open(std::env::args().nth(1).unwrap()).unwrap();
    let mut r = BufReader::with_capacity(1 << 20, f);
    let (mut line, mut n, mut hot) = (String::new(), 0u64, 0u64);
    while r.read_line(&mut line).unwrap() > 0 {
        let x: Reading = serde_json::from_str(&line).unwrap();
        n += 1;
        hot += (x.temperature > 18.0) as u64;
        line.clear();
    }
    println!("{n} {hot}");
}
RS
(cd "$base" && cargo build --release --quiet --offline 2>/dev/null || cargo build --release --quiet)

cat "$data" >/dev/null # warm the page cache so that every run reads from memory
measure "serde_json typed parse (baseline)" "$base/target/release/serde-baseline" "$data"
measure "reefer-detect (all detectors)" target/release/reefer-detect "$data"
measure "reefer-detect --where 'temperature > 18'" target/release/reefer-detect --where 'temperature > 18' "$data"
venv=$(scripts/setup-python.sh --bench 2>/dev/null || true)
if [[ -x "$venv/bin/python" ]] && "$venv/bin/python" -c 'import duckdb' 2>/dev/null; then
  out=$(mktemp --suffix=.json)
  measure "duckdb WHERE temperature > 18 (baseline)" "$venv/bin/python" -c "
import duckdb, sys
duckdb.sql(\"COPY (SELECT * FROM read_ndjson_auto('$data') WHERE temperature > 18) TO '$out' (FORMAT JSON)\")"
  rm -f "$out"
else
  echo "duckdb: not available (scripts/setup-python.sh --bench)"
fi
if [[ "${BENCH_JQ:-0}" == 1 ]] && command -v jq >/dev/null; then
  measure "jq 'select(.temperature > 18)' (baseline)" jq -c 'select(.temperature > 18)' "$data"
fi
