#!/usr/bin/env bash
# The data lake analysts query: the same fleet hour shipped to a file:// lake as
# gzipped JSON Lines and as Parquet, then bytes on disk and the same DuckDB query
# (average temperature by product and hour) over each lake, alternating, in the
# same run; the query results are checked equal. Also the write and read-back
# (reefer-ship --from) times.
#
# Input: 10,000 containers over one hour at 10 s (3.6 million readings, ~1.7 GB;
# issue 12's hour: --seed 1 --start 2026-11-27T00:00:00Z),
# REEFER_BENCH_CONTAINERS / REEFER_BENCH_INTERVAL / REEFER_BENCH_START to change
# it. Also each Parquet lake's bytes per column (DuckDB's parquet_metadata),
# to see where the bytes are. Lakes go to
# $REEFER_BENCH_DIR/lake (bench-out/lake) and are removed at the end unless
# REEFER_BENCH_KEEP=1.
set -euo pipefail
cd "$(dirname "$0")/.."
containers=${REEFER_BENCH_CONTAINERS:-10000}
interval=${REEFER_BENCH_INTERVAL:-10s}
start=${REEFER_BENCH_START:-2026-11-27T00:00:00Z}
runs=${REEFER_BENCH_RUNS:-5}
out=${REEFER_BENCH_DIR:-$PWD/bench-out}/lake
mkdir -p "$out"
venv=$(scripts/setup-python.sh)
if [[ -n ${BIN:-} ]]; then
  bin=$BIN
else
  cargo build --release --quiet --bin reefer-ship --bin reefer-sim
  bin=${CARGO_TARGET_DIR:-$PWD/target}/release
fi

input=$out/hour.jsonl
"$bin/reefer-sim" --containers "$containers" --duration 1h --interval "$interval" --seed 1 \
  --start "$start" -o "$input" 2>/dev/null
records=$(wc -l <"$input")
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== lake: $containers containers, 1 h at $interval from $start: $records records, $(($(stat -c %s "$input") / 1024 / 1024)) MiB of JSON Lines ($(nproc) cores) =="

# ship LABEL DIR ARGS...: writes the lake and prints the time, objects and bytes.
ship() {
  local label=$1 dir=$2
  shift 2
  rm -rf "$dir"
  local t
  t=$(mktemp)
  /usr/bin/time -f '%e %U %M' -o "$t" "$bin/reefer-ship" -q --to "file://$dir" "$@" <"$input"
  read -r secs user rss <"$t"
  rm -f "$t"
  local objects bytes
  objects=$(find "$dir" -type f | wc -l)
  bytes=$(find "$dir" -type f -printf '%s\n' | awk '{ s += $1 } END { print s }')
  printf '%-34s write %6.1f s (%5.1f s CPU, %4.0f MB RSS)  %4d objects  %12d bytes\n' \
    "$label" "$secs" "$user" "$((rss / 1024))" "$objects" "$bytes"
  echo "$bytes" >"$dir.bytes"
}
ship "gzip JSON Lines (default)" "$out/json"
ship "Parquet (--format parquet)" "$out/parquet" --format parquet
# Decimals BYTE_STREAM_SPLIT: smaller, but not for Athena/Trino.
ship "Parquet --parquet-numbers compact" "$out/compact" --format parquet --parquet-numbers compact
# Parquet objects as small as the JSON default (one 10-second step of the fleet each).
ship "Parquet --buffer-size 5MiB" "$out/parquet5" --format parquet --buffer-size 5MiB

for lake in json parquet; do
  t=$(mktemp)
  /usr/bin/time -f '%e %U' -o "$t" "$bin/reefer-ship" -q --from "file://$out/$lake" >/dev/null
  read -r secs user <"$t"
  rm -f "$t"
  printf '%-34s read back (reefer-ship --from) %6.1f s (%5.1f s CPU)\n' "$lake" "$secs" "$user"
done

# The same query over each lake, alternating, $runs times each; medians.
"$venv/bin/python" - "$out" "$runs" <<'PY'
import duckdb, statistics, sys, time
out, runs = sys.argv[1], int(sys.argv[2])
# Explicit columns for JSON: what a table definition gives Athena; no sampling.
json_cols = "{'product_id': 'VARCHAR', 'measurement_time': 'TIMESTAMPTZ', 'temperature': 'DOUBLE'}"
sources = {
    "gzip JSON": f"read_json('{out}/json/**/*.jsonl.gz', format='newline_delimited', columns={json_cols})",
    "Parquet": f"read_parquet('{out}/parquet/**/*.parquet')",
    "Parquet compact": f"read_parquet('{out}/compact/**/*.parquet')",
    "Parquet 5MiB": f"read_parquet('{out}/parquet5/**/*.parquet')",
}
query = ("SELECT product_id, date_trunc('hour', measurement_time AT TIME ZONE 'UTC') AS hour, "
         "avg(temperature) AS avg_temperature, count(*) AS n FROM {src} GROUP BY ALL ORDER BY ALL")
con = duckdb.connect()
con.sql("SET TimeZone = 'UTC'")
times = {k: [] for k in sources}
results = {}
for _ in range(runs):
    for name, src in sources.items():
        t0 = time.perf_counter()
        rows = con.sql(query.format(src=src)).fetchall()
        times[name].append(time.perf_counter() - t0)
        results[name] = rows
base = results["gzip JSON"]
for name, rows in results.items():
    same = len(rows) == len(base) and all(
        a[0] == b[0] and a[1] == b[1] and a[3] == b[3] and abs(a[2] - b[2]) < 1e-9
        for a, b in zip(rows, base))
    if not same:
        sys.exit(f"{name}: the query's result differs from gzip JSON's")
print(f"DuckDB {duckdb.__version__}, {len(base)} groups (product x hour), {sum(r[3] for r in base)} readings; "
      f"median of {runs} runs, alternating:")
med = {k: statistics.median(v) for k, v in times.items()}
for name in sources:
    size = int(open(f"{out}/{ {'gzip JSON': 'json', 'Parquet': 'parquet', 'Parquet compact': 'compact', 'Parquet 5MiB': 'parquet5'}[name] }.bytes").read())
    print(f"  {name:<16} {med[name]:8.3f} s  ({med['gzip JSON'] / med[name]:5.1f}x gzip JSON)  "
          f"{size / 1e6:8.1f} MB on disk ({size / int(open(out + '/json.bytes').read()):.3f} of gzip JSON)")
print("bytes per column (sum of total_compressed_size over the objects), bytes per reading:")
lakes = {"Parquet": "parquet", "Parquet compact": "compact"}
per = {}
for name, d in lakes.items():
    per[name] = dict(con.sql(
        f"SELECT path_in_schema, sum(total_compressed_size) FROM parquet_metadata('{out}/{d}/**/*.parquet') "
        "GROUP BY 1").fetchall())
    encs = dict(con.sql(
        f"SELECT path_in_schema, string_agg(DISTINCT encodings, ' / ') FROM parquet_metadata('{out}/{d}/**/*.parquet') "
        "GROUP BY 1").fetchall())
    per[name + " encodings"] = encs
n = sum(r[3] for r in base)
print(f"  {'column':<24} {'Parquet':>12} {'B/reading':>9} {'compact':>12} {'B/reading':>9}  Parquet encodings")
for col in sorted(per["Parquet"], key=lambda c: -per["Parquet"][c]):
    a, b = per["Parquet"][col], per["Parquet compact"].get(col, 0)
    print(f"  {col:<24} {a:12d} {a / n:9.3f} {b:12d} {b / n:9.3f}  {per['Parquet encodings'][col]}")
a, b = sum(per["Parquet"].values()), sum(per["Parquet compact"].values())
print(f"  {'all columns':<24} {a:12d} {a / n:9.3f} {b:12d} {b / n:9.3f}")
PY
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
if [[ -z ${REEFER_BENCH_KEEP:-} ]]; then
  rm -rf "$out/json" "$out/parquet" "$out/compact" "$out/parquet5" "$out"/*.bytes "$input"
fi
