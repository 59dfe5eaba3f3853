#!/usr/bin/env bash
# The demo: build the tools, simulate a small fleet with injected faults, and
# run it through the pipeline.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet --bins
bin=${CARGO_TARGET_DIR:-target}/release
out=${REEFER_DEMO_DIR:-demo-out}
mkdir -p "$out"

echo "== reefer-sim: 20 containers, 2 hours, with scripted faults =="
"$bin/reefer-sim" --containers 20 --duration 2h --seed 42 --start 2026-11-27T03:00:00Z \
  --inject 3:power_off@30m+1h --inject 7:door_open@45m+10m --inject 12:compressor_failure@20m+90m \
  -o "$out/fleet.jsonl"
echo "$(wc -l <"$out/fleet.jsonl") readings in $out/fleet.jsonl; the first one:"
head -1 "$out/fleet.jsonl"
echo
echo "Fault labels (ground truth) in the simulated data:"
grep -o '"fault":"[a-z_0-9]*"' "$out/fleet.jsonl" | sort | uniq -c
echo
echo "== reefer-window: 5-minute windows per container =="
"$bin/reefer-window" --size 5m --no-default-fields --fields temperature,kilowatts,fan_1 \
  --agg mean,max "$out/fleet.jsonl" >"$out/windows.jsonl"
echo "$(wc -l <"$out/windows.jsonl") windows in $out/windows.jsonl"
# container_id is the first field of reefer-sim's lines: $4 when split on quotes.
faulty=$(awk -F'"' '/"fault":"power_off"/ { print $4; exit }' "$out/fleet.jsonl")
healthy=$(awk -F'"' '/"fault":"[a-z]/ { bad[$4] = 1 } { id[NR] = $4 }
  END { for (i = 1; i <= NR; i++) if (!(id[i] in bad)) { print id[i]; exit } }' "$out/fleet.jsonl")
echo "Container $faulty loses power at 03:30: its modem talks over the power cable, so it falls"
echo "silent until 04:30 (no windows in between) and comes back a little warmer;"
echo "container $healthy, next to it, holds its setpoint:"
for id in "$faulty" "$healthy"; do
  grep "\"container_id\":\"$id\"" "$out/windows.jsonl" | sed -n '5,9p'
done
echo
echo "The same job for Apache Flink (first lines):"
"$bin/reefer-window" --size 1m --print-sql flink | sed -n '7,12p'
echo
echo "== reefer-detect: fault events, one per episode (and its resolution) =="
"$bin/reefer-detect" "$out/fleet.jsonl" >"$out/events.jsonl"
python3 - "$out/events.jsonl" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    e = json.loads(line)
    print(f"{e['detected_at']}  {e['status']:<9} {e['severity']:<8} {e['container_id']}  {e['fault']}")
PY
echo
echo "How good is it? Scored against the simulator's ground truth (200 containers, 1 day):"
"$bin/reefer-sim" --containers 200 --duration 1d --interval 1m --seed 3 --start 2026-11-27T00:00:00Z \
  | "$bin/reefer-detect" --evaluate
echo
echo "Ad-hoc filtering like the reference design's SQL: --where 'temperature > 18' passes readings through:"
"$bin/reefer-detect" --where 'temperature > 18' "$out/fleet.jsonl" | wc -l
echo
echo "== reefer-act: alerts, deduplicated, on stdout and in SQLite =="
rm -f "$out/act.db" "$out/alerts.db"
"$bin/reefer-act" --state "$out/act.db" --to - --to "sqlite://$out/alerts.db" <"$out/events.jsonl" \
  | python3 -c 'import json, sys
for l in sys.stdin:
    a = json.loads(l)
    print(a["action"].ljust(9), a["severity"].ljust(8), a["container_id"], a["fault"], "-", a["message"])'
echo "Run it again on the same events: nothing is notified twice."
"$bin/reefer-act" --state "$out/act.db" --to - --to "sqlite://$out/alerts.db" <"$out/events.jsonl" | wc -l
echo "The alerts table in $out/alerts.db, as the downstream process would query it:"
python3 - "$out/alerts.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
for row in db.execute("select alert_id, container_id, fault, severity, status, opened_at, resolved_at from alerts order by alert_id"):
    print(*row, sep="  ")
PY

echo
echo "== reefer-ship: the fleet into a local data lake (file://), and back =="
rm -rf "$out/lake"
"$bin/reefer-ship" --to "file://$out/lake" <"$out/fleet.jsonl"
find "$out/lake" -type f | sort | head -5
"$bin/reefer-ship" --to "file://$out/lake" <"$out/fleet.jsonl" 2>/dev/null   # again: same objects, overwritten
echo "$(find "$out/lake" -type f | wc -l) objects after shipping twice"
"$bin/reefer-ship" -q --from "file://$out/lake" | sort | cmp - <(sort "$out/fleet.jsonl") \
  && echo "read back from the lake: the same $(wc -l <"$out/fleet.jsonl") readings"
echo "One hour of it, straight from the lake into the pipeline:"
"$bin/reefer-ship" -q --from "file://$out/lake" --since 2026-11-27T04:00:00Z --until 2026-11-27T05:00:00Z | wc -l

echo
echo "== reefer-report: the fleet as one page (overview, map, timeline, drill-down, alerts) =="
"$bin/reefer-report" --alerts "$out/act.db" --svg "$out/charts" \
  "$out/fleet.jsonl" "$out/events.jsonl" -o "$out/report.html"
echo "Open $(cd "$out" && pwd)/report.html in a browser (it makes no network request);"
echo "the headline charts as SVG are in $out/charts/."
