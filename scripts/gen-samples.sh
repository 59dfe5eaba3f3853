#!/usr/bin/env bash
# Regenerates samples/ byte for byte (tests/cli/sim.rs checks that it still does).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet --bin reefer-sim
sim=${CARGO_TARGET_DIR:-target}/debug/reefer-sim
# 20 containers, 2 hours at 30 s, the default random fault mix plus one scripted
# episode of every fault kind.
SAMPLE_ARGS=(--containers 20 --duration 2h --interval 30s --seed 7 --start 2026-11-27T03:00:00Z
  --inject 2:power_off@20m+1h --inject 5:door_open@30m+15m --inject 8:compressor_failure@30m+80m
  --inject 11:fan_failure@30m+1h --inject 14:temperature_sensor@1h+30m
  --inject 17:o2_sensor@20m+1h --inject 19:co2_sensor@50m+1h)
"$sim" "${SAMPLE_ARGS[@]}" -o samples/fleet.jsonl
"$sim" --containers 5 --duration 30m --interval 1m --seed 7 --start 2026-11-27T03:00:00Z \
  --inject 2:power_off@10m+15m --modem-battery 1 -o samples/small.csv
