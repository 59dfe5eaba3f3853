#!/usr/bin/env bash
# Benchmark of reefer-window --size 1m (1-minute tumbling windows) against DuckDB
# (read_json + GROUP BY container_id, time_bucket), a plain line split of the same
# file (`wc -l`: the floor of any line-oriented tool) and a typed serde_json parse
# on one thread, measured in the same run on the same page-cached file, the tools
# taking turns. Prints the median of the rounds (wall clock, readings/s, MB/s, peak
# RSS, CPU), the ratios the issues set targets for, then cross-checks reefer-window's
# windows against DuckDB's.
#
#   scripts/bench-window.sh [FILE]      BIN=DIR: binaries already built
#
# FILE defaults to $REEFER_WINDOW_FILE (set by scripts/bench.sh), else
# ${REEFER_BENCH_DIR:-bench-out}/hour.jsonl; when missing, it is generated with the
# release simulator: 10,000 containers x 1 h at 10 s (3.6 M readings). Rounds: $REEFER_BENCH_ROUNDS (3).
set -euo pipefail
cd "$(dirname "$0")/.."
# BIN: binaries already built (with examples/serde_floor beside them), e.g. to
# compare two builds; else the binaries' directory as cargo reports it.
if [[ -n ${BIN:-} ]]; then
  bin=$BIN
else
  bin=$(cargo build --release --quiet --bins --example serde_floor --message-format=json |
    python3 -c 'import json, os, sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "reefer-window" and m.get("executable"):
        print(os.path.dirname(m["executable"]))')
fi
file=${1:-${REEFER_WINDOW_FILE:-${REEFER_BENCH_DIR:-bench-out}/hour.jsonl}}
if [[ ! -s "$file" ]]; then
  mkdir -p "$(dirname "$file")"
  echo "generating $file (10,000 containers x 1 h at 10 s) ..."
  "$bin/reefer-sim" --containers 10000 --duration 1h --seed 1 \
    --start 2026-11-27T00:00:00Z -o "$file"
fi
venv=$(scripts/setup-python.sh --bench)
py=$venv/bin/python
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

bytes=$(stat -c %s "$file")
echo "input: $file, $((bytes / 1000000)) MB; counting lines and warming the page cache ..."
lines=$(wc -l <"$file")
echo "$lines readings, $(nproc) cores"

# measure NAME CMD... : runs CMD under /usr/bin/time, records wall s, peak RSS and CPU s.
measure() {
  local name=$1
  shift
  /usr/bin/time -f '%e %M %U %S' -o "$tmp/time" "$@" >"$tmp/out" 2>"$tmp/err" || {
    echo "$name failed:" >&2
    cat "$tmp/err" >&2
    return 1
  }
  read -r secs rss_kb user sys <"$tmp/time"
  echo "$name|$secs|$rss_kb|$user|$sys" >>"$tmp/results"
  printf '  run %d: %-34s %6.2f s\n' "$round" "$name" "$secs"
}

cat >"$tmp/duck.py" <<'EOF'
import sys, duckdb
src, out = sys.argv[1], sys.argv[2]
con = duckdb.connect()
con.execute(f"""
COPY (
  SELECT container_id,
         time_bucket(INTERVAL '1 minute', measurement_time) AS window_start,
         first(product_id) AS product_id,
         count(*) AS count,
         min(temperature) AS temperature_min, max(temperature) AS temperature_max, avg(temperature) AS temperature_mean,
         min(kilowatts) AS kilowatts_min, max(kilowatts) AS kilowatts_max, avg(kilowatts) AS kilowatts_mean,
         min(oxygen_level) AS oxygen_level_min, max(oxygen_level) AS oxygen_level_max, avg(oxygen_level) AS oxygen_level_mean,
         min(carbon_dioxide_level) AS carbon_dioxide_level_min, max(carbon_dioxide_level) AS carbon_dioxide_level_max,
         avg(carbon_dioxide_level) AS carbon_dioxide_level_mean,
         count_if(fan_1) AS fan_1_true, count_if(fan_2) AS fan_2_true, count_if(fan_3) AS fan_3_true,
         count_if(door_open) AS door_open_true, count_if(defrost) AS defrost_true
  FROM read_json('{src}', format = 'newline_delimited', columns = {{
      container_id: 'VARCHAR', measurement_time: 'TIMESTAMP', product_id: 'VARCHAR',
      temperature: 'DOUBLE', kilowatts: 'DOUBLE', oxygen_level: 'DOUBLE', carbon_dioxide_level: 'DOUBLE',
      fan_1: 'BOOLEAN', fan_2: 'BOOLEAN', fan_3: 'BOOLEAN', door_open: 'BOOLEAN', defrost: 'BOOLEAN'}})
  GROUP BY ALL
) TO '{out}' (FORMAT parquet)
""")
EOF

window="reefer-window --size 1m"
duck="duckdb $("$py" -c 'import duckdb; print(duckdb.__version__)') read_json + GROUP BY"
split="plain line split (wc -l)"
serde="serde_json typed parse (1 thread)"
rounds=${REEFER_BENCH_ROUNDS:-3}
echo
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg); $rounds rounds, the tools taking turns"
for round in $(seq 1 "$rounds"); do
  measure "$window" "$bin/reefer-window" --size 1m "$file"
  [[ $round == 1 ]] && cp "$tmp/out" "$tmp/windows.jsonl"
  measure "$duck" "$py" "$tmp/duck.py" "$file" "$tmp/duck.parquet"
  measure "$split" wc -l "$file"
  measure "$serde" "$bin/examples/serde_floor" "$file"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "median of $rounds (wall clock; peak RSS and CPU of the median run):"
printf '%-40s %9s %22s %11s %20s %14s\n' tool "wall" throughput "" memory "user+sys"
sort -t'|' -k1,1 -k2,2n "$tmp/results" | awk -F'|' -v l="$lines" -v b="$bytes" \
  -v W="$window" -v D="$duck" -v S="$split" '
  { name[NR] = $1; secs[NR] = $2; rss[NR] = $3; cpu[NR] = $4 + $5; count[$1]++; if (!($1 in first)) { first[$1] = NR; order[n++] = $1 } }
  END {
    for (i = 0; i < n; i++) {
      t = order[i]; m = first[t] + int((count[t] - 1) / 2); med[t] = secs[m]
      printf "%-40s %7.2f s %11.0f readings/s %6.0f MB/s %7.0f MB peak RSS %7.2f s CPU\n", t, secs[m], l / secs[m], b / secs[m] / 1e6, rss[m] / 1024, cpu[m]
    }
    printf "\nreefer-window vs DuckDB: %.2fx the throughput (target: at least 3x)\n", med[D] / med[W]
    printf "reefer-window vs a plain line split: %.2fx its time (target: within 3x)\n", med[W] / med[S]
  }'

echo
echo "cross-check: reefer-window's windows against DuckDB's GROUP BY ..."
"$py" - "$tmp/windows.jsonl" "$tmp/duck.parquet" <<'EOF'
import sys, duckdb
ours, theirs = sys.argv[1], sys.argv[2]
con = duckdb.connect()
r = con.execute(f"""
WITH o AS (SELECT * FROM read_json('{ours}', format = 'newline_delimited',
             columns = {{container_id: 'VARCHAR', window_start: 'TIMESTAMP', count: 'BIGINT',
                         temperature_min: 'DOUBLE', temperature_max: 'DOUBLE', temperature_mean: 'DOUBLE',
                         kilowatts_mean: 'DOUBLE', door_open_true: 'BIGINT'}})),
     d AS (SELECT * FROM read_parquet('{theirs}'))
SELECT (SELECT count(*) FROM o), (SELECT count(*) FROM d),
       count(*) FILTER (WHERE o.container_id IS NULL OR d.container_id IS NULL),
       count(*) FILTER (WHERE o.count <> d.count OR o.temperature_min <> d.temperature_min
                        OR o.temperature_max <> d.temperature_max OR o.door_open_true <> d.door_open_true),
       max(abs(o.temperature_mean - d.temperature_mean)), max(abs(o.kilowatts_mean - d.kilowatts_mean))
FROM o FULL JOIN d USING (container_id, window_start)
""").fetchone()
print(f"windows: reefer-window {r[0]}, duckdb {r[1]}; unmatched {r[2]}; count/min/max/bool mismatches {r[3]}; "
      f"max |mean difference| temperature {r[4]:.2e}, kilowatts {r[5]:.2e}")
# reefer-window rounds means to 6 decimals by default (--precision): at most half a unit
# of the 6th decimal from DuckDB's unrounded mean.
tol = 0.5e-6 + 1e-9
sys.exit(0 if r[0] == r[1] and r[2] == 0 and r[3] == 0 and r[4] <= tol and r[5] <= tol else 1)
EOF
