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
