#!/usr/bin/env bash
# The realism table of reefer-sim, re-measured from a simulated fleet: runs the
# simulator (a default-mix fleet plus scripted power cuts and compressor
# failures, in chilled and in frozen boxes) and prints the table of the README (quantity / simulator /
# published reference with its source) on stdout. Needs python3 (standard
# library only).
# Usage: scripts/realism.sh [CONTAINERS] [DURATION]   (default 200 2d)
#        BIN=DIR to use reefer-sim from DIR instead of building it.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-200}
duration=${2:-2d}
if [[ -z ${BIN:-} ]]; then
  cargo build --quiet --bin reefer-sim
fi
sim=${BIN:-${CARGO_TARGET_DIR:-target}/debug}/reefer-sim
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
start=2026-11-27T00:00:00Z
"$sim" --containers "$n" --duration "$duration" --interval 5m --seed 3 --start $start -o "$dir/fleet.jsonl"
# Power cuts reported on a modem battery, to see the box warm during the cut.
"$sim" --containers 1 --products P02 --duration 16h --interval 5m --seed 11 --start $start --no-faults \
  --modem-battery 1 --inject 1:power_off@1h+14h -o "$dir/cut-chilled.jsonl"
"$sim" --containers 1 --products P06 --duration 10h --interval 5m --seed 12 --start $start --no-faults \
  --modem-battery 1 --inject 1:power_off@1h+8h -o "$dir/cut-frozen.jsonl"
"$sim" --containers 1 --products P02 --duration 4h --interval 1m --seed 13 --start $start --no-faults \
  --inject 1:power_off@1h+2h -o "$dir/cut-gap.jsonl"
inject=()
for i in 1 2 3 4 5 6 7 8 9; do inject+=(--inject "$i:compressor_failure@2h+6h"); done
"$sim" --containers 9 --duration 10h --interval 5m --seed 14 --start $start --no-faults "${inject[@]}" \
  -o "$dir/compressor.jsonl"
# The same failures in frozen-fish boxes: each form (will not start, does not
# pump, trips) must let the box warm at the rate its walls leak heat.
"$sim" --containers 9 --products P06 --duration 10h --interval 5m --seed 15 --start $start --no-faults \
  "${inject[@]}" -o "$dir/compressor-frozen.jsonl"
python3 scripts/realism.py "$dir"
