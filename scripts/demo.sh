#!/usr/bin/env bash
# The demo: build the tools, simulate a small fleet with injected faults, and
# run it through the pipeline.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet --bins
bin=target/release
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
echo "Container $faulty loses power at 03:30 (kW drops to 0, fans stop, temperature climbs);"
echo "container $healthy, next to it, holds its setpoint:"
for id in "$faulty" "$healthy"; do
  grep "\"container_id\":\"$id\"" "$out/windows.jsonl" | sed -n '5,9p'
done
echo
echo "The same job for Apache Flink (first lines):"
"$bin/reefer-window" --size 1m --print-sql flink | sed -n '7,12p'
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
