#!/usr/bin/env bash
# Scores detection on readings, as README's "Evaluation (--evaluate)" tables show
# it: for each seed, a fleet at a 5-minute interval and one at 10 s, each run
# through reefer-detect --evaluate with all fields and degraded (without the
# fields IBM-style data lacks), the seeds' scores summed per table.
# Usage: scripts/evaluate.sh [N_5M] [DURATION_5M] [N_10S] [DURATION_10S] [SEEDS...]
# (default 1000 2d 100 1d, seeds 1 2 3 4 5). Uses the release build.
# SIM_ARGS adds reefer-sim arguments (e.g. SIM_ARGS='--faults o2_sensor=0.3');
# DETECT_ARGS adds reefer-detect arguments (e.g. DETECT_ARGS=--json);
# KEEP=DIR keeps the readings there (DIR/s5m-SEED.jsonl, DIR/s10s-SEED.jsonl).
set -euo pipefail
cd "$(dirname "$0")/.."
n5=${1:-1000}
d5=${2:-2d}
n10=${3:-100}
d10=${4:-1d}
shift 4 2>/dev/null || shift $#
seeds=("${@:-1 2 3 4 5}")
[ ${#seeds[@]} -eq 1 ] && read -r -a seeds <<<"${seeds[0]}"
degraded=door_open,defrost,operating_mode,supply_air_temperature
cargo build --release --quiet --bin reefer-sim --bin reefer-detect
bin=${CARGO_TARGET_DIR:-target}/release
if [ -n "${KEEP:-}" ]; then
  work=$KEEP
  mkdir -p "$work"
else
  work=$(mktemp -d -t reefer-evaluate.XXXXXX)
  trap 'rm -rf "$work"' EXIT
fi
# interval, containers, duration, file prefix
for run in "5m $n5 $d5 s5m" "10s $n10 $d10 s10s"; do
  read -r interval n duration prefix <<<"$run"
  files=()
  for seed in "${seeds[@]}"; do
    "$bin/reefer-sim" --containers "$n" --duration "$duration" --interval "$interval" \
      --seed "$seed" --start 2026-11-27T00:00:00Z ${SIM_ARGS:-} -o "$work/$prefix-$seed.jsonl"
    files+=("$work/$prefix-$seed.jsonl")
  done
  echo "== $n containers x $duration at $interval, seeds ${seeds[*]}, all fields"
  "$bin/reefer-detect" --evaluate ${DETECT_ARGS:-} "${files[@]}"
  echo "== the same, degraded: --ignore-field $degraded"
  "$bin/reefer-detect" --evaluate --ignore-field "$degraded" ${DETECT_ARGS:-} "${files[@]}"
done
