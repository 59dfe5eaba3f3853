#!/usr/bin/env bash
# Speed of reefer-detect (issue 9's targets), all in one run on one file, alternating, medians:
#   - readings: reefer-detect (all detectors) and --where 'temperature > 18' against a plain
#     typed serde_json parse of every line (a 30-line program built here); target >= 2x;
#   - window rows: reefer-detect on reefer-window's 1-minute rows of the same file, CPU time
#     per row (user + system); target <= 1 us;
#   - peak RSS of each.
# The file (default): 10,000 containers x 1 h at 10 s (3.6 M readings), made once in
# $REEFER_BENCH_DIR (bench-out/). DuckDB's filter (scripts/setup-python.sh --bench) and jq
# (BENCH_JQ=1) are measured once when available.
# Usage: scripts/bench-detect.sh [FILE]      BENCH_ROUNDS=N (default 3) rounds.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-$PWD/target}
# BIN: binaries already built (scripts/bench.sh builds them first).
if [[ -z ${BIN:-} ]]; then
  cargo build --release --quiet --bin reefer-detect --bin reefer-sim --bin reefer-window
fi
bin=${BIN:-$target/release}
dir=${REEFER_BENCH_DIR:-$PWD/bench-out}
mkdir -p "$dir"
data=${1:-$dir/hour.jsonl}
if [[ ! -s $data ]]; then
  "$bin/reefer-sim" --containers 10000 --duration 1h --seed 1 --start 2026-11-27T00:00:00Z -o "$data"
fi
rows=$dir/$(basename "$data" .jsonl).rows.jsonl
if [[ ! -s $rows || $rows -ot $data ]]; then
  "$bin/reefer-window" "$data" >"$rows"
fi
readings=$(wc -l <"$data")
nrows=$(wc -l <"$rows")
rounds=${BENCH_ROUNDS:-3}
echo "file: $data ($readings readings, $(du -h "$data" | cut -f1)); rows: $nrows 1-minute window rows; $(nproc) cores, $rounds rounds"

# run LABEL ITEMS COMMAND...: one timed run; prints it and appends "label wall cpu rss_mb" to $log.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
run() {
  local label=$1 items=$2
  shift 2
  local t
  t=$(mktemp)
  /usr/bin/time -f "%e %U %S %M" -o "$t" "$@" >/dev/null
  read -r secs user sys kb <"$t"
  rm -f "$t"
  awk -v l="$label" -v s="$secs" -v u="$user" -v y="$sys" -v k="$kb" -v n="$items" -v logf="$log" \
    'BEGIN { if (s <= 0) s = 0.001
             printf "  %-40s %6.2f s wall %10.0f items/s %6.2f s CPU %7.1f MB peak RSS\n", l, s, n / s, u + y, k / 1024
             printf "%s\t%s\t%s\t%s\n", l, s, u + y, k / 1024 >> logf }'
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
# Its own target dir: an exported CARGO_TARGET_DIR would mix it with reefer's.
(cd "$base" && env -u CARGO_TARGET_DIR cargo build --release --quiet --offline 2>/dev/null ||
  env -u CARGO_TARGET_DIR cargo build --release --quiet)

cat "$data" "$rows" >/dev/null # warm the page cache so that every run reads from memory
for ((r = 1; r <= rounds; r++)); do
  echo "round $r"
  run "serde_json typed parse (baseline)" "$readings" "$base/target/release/serde-baseline" "$data"
  run "reefer-detect (all detectors)" "$readings" "$bin/reefer-detect" -q "$data"
  run "reefer-detect --where 'temperature > 18'" "$readings" "$bin/reefer-detect" --where 'temperature > 18' "$data"
  run "reefer-detect on window rows" "$nrows" "$bin/reefer-detect" -q "$rows"
done

# Medians per label, then the issue's ratios.
awk -F'\t' -v readings="$readings" -v nrows="$nrows" '
  { n[$1]++; wall[$1, n[$1]] = $2; cpu[$1, n[$1]] = $3; rss[$1, n[$1]] = $4 }
  function median(a, l,   k, i, j, v, t) {
    k = n[l]; for (i = 1; i <= k; i++) v[i] = a[l, i]
    for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
    return k % 2 ? v[(k + 1) / 2] : (v[k / 2] + v[k / 2 + 1]) / 2
  }
  END {
    b = "serde_json typed parse (baseline)"; d = "reefer-detect (all detectors)"
    w = "reefer-detect --where '\''temperature > 18'\''"; r = "reefer-detect on window rows"
    print "medians:"
    for (l in n) printf "  %-40s %6.2f s wall %10.0f items/s %6.2f s CPU %7.1f MB peak RSS\n", l, median(wall, l), (l == r ? nrows : readings) / median(wall, l), median(cpu, l), median(rss, l)
    printf "reefer-detect vs typed serde_json parse: %.2fx readings/s (target >= 2x; CPU time ratio %.2fx)\n", median(wall, b) / median(wall, d), median(cpu, b) / median(cpu, d)
    printf "reefer-detect --where vs typed serde_json parse: %.2fx readings/s\n", median(wall, b) / median(wall, w)
    printf "reefer-detect on window rows: %.2f us CPU per row (target <= 1 us), peak RSS %.1f MB\n", median(cpu, r) / nrows * 1e6, median(rss, r)
  }' "$log"

venv=$(scripts/setup-python.sh --bench 2>/dev/null || true)
if [[ -x "$venv/bin/python" ]] && "$venv/bin/python" -c 'import duckdb' 2>/dev/null; then
  out=$(mktemp --suffix=.json)
  run "duckdb WHERE temperature > 18 (baseline)" "$readings" "$venv/bin/python" -c "
import duckdb, sys
duckdb.sql(\"COPY (SELECT * FROM read_ndjson_auto('$data') WHERE temperature > 18) TO '$out' (FORMAT JSON)\")"
  rm -f "$out"
else
  echo "duckdb: not available (scripts/setup-python.sh --bench)"
fi
if [[ "${BENCH_JQ:-0}" == 1 ]] && command -v jq >/dev/null; then
  run "jq 'select(.temperature > 18)' (baseline)" "$readings" jq -c 'select(.temperature > 18)' "$data"
fi
