#!/usr/bin/env bash
# Scores detection on reefer-window rows, as README's "Detection on window rows"
# table shows it: for each seed, a fleet at a 10 s interval, windowed at 1 and 5
# minutes, run through reefer-detect --evaluate with the fleet's own labels
# (--labels). Usage: scripts/evaluate-rows.sh [CONTAINERS] [DURATION] [SEEDS...]
# (default 300 containers, 1d, seeds 1 2 3). Uses the release build.
# SIM_ARGS adds reefer-sim arguments (e.g. SIM_ARGS='--faults compressor_failure=0.2'
# for more episodes of a rare kind); WINDOW_ARGS adds reefer-window arguments.
set -euo pipefail
cd "$(dirname "$0")/.."
containers=${1:-300}
duration=${2:-1d}
shift 2 2>/dev/null || shift $#
seeds=("${@:-1 2 3}")
[ ${#seeds[@]} -eq 1 ] && read -r -a seeds <<<"${seeds[0]}"
cargo build --release --quiet --bin reefer-sim --bin reefer-window --bin reefer-detect
bin=${CARGO_TARGET_DIR:-target}/release
work=$(mktemp -d -t reefer-rows.XXXXXX)
trap 'rm -rf "$work"' EXIT
for seed in "${seeds[@]}"; do
  "$bin/reefer-sim" --containers "$containers" --duration "$duration" --interval 10s \
    --seed "$seed" --start 2026-11-27T00:00:00Z ${SIM_ARGS:-} -o "$work/readings.jsonl"
  for size in 1m 5m; do
    echo "== seed $seed, $containers containers, $duration at 10 s, --size $size windows"
    "$bin/reefer-window" --size "$size" ${WINDOW_ARGS:-} "$work/readings.jsonl" \
      | "$bin/reefer-detect" --evaluate --labels "$work/readings.jsonl"
  done
  echo "== seed $seed, the same readings without windows"
  "$bin/reefer-detect" --evaluate "$work/readings.jsonl"
done
