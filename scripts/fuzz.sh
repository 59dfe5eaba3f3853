#!/usr/bin/env bash
# Runs every fuzz target (fuzz/fuzz_targets/) for a bounded time each and prints
# how many executions ran clean. Usage: scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
# Needs cargo-fuzz (installed here with `cargo install cargo-fuzz` when missing).
# The toolchain is stable; RUSTC_BOOTSTRAP lets cargo-fuzz pass its sanitizer flags.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(scan reader time)
command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz
export RUSTC_BOOTSTRAP=1
mkdir -p fuzz/corpus fuzz/artifacts
# Seed each corpus with real lines so the fuzzer starts from the shape of a record.
for t in "${targets[@]}"; do
  mkdir -p "fuzz/corpus/$t"
  if [ -z "$(ls -A "fuzz/corpus/$t")" ]; then
    head -c 4096 samples/small.csv >"fuzz/corpus/$t/small.csv"
    head -n 3 samples/fleet.jsonl | tail -n 1 >"fuzz/corpus/$t/reading.jsonl"
    # Two readings: the scanner reads the second with the keys it learnt from the first.
    head -n 3 samples/fleet.jsonl | tail -n 2 >"fuzz/corpus/$t/readings.jsonl"
    head -n 1 tests/fixtures/detect/fleet.events.jsonl >"fuzz/corpus/$t/event.jsonl"
    printf '2026-11-27T03:00:00.250+05:30' >"fuzz/corpus/$t/time.txt"
  fi
done
for t in "${targets[@]}"; do
  log=$(mktemp)
  if ! cargo fuzz run --sanitizer none "$t" "fuzz/corpus/$t" -- \
      -max_total_time="$secs" -print_final_stats=1 >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    echo "fuzz: $t FAILED (crash input in fuzz/artifacts/$t/)" >&2
    exit 1
  fi
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
  echo "fuzz: $t ran clean: $runs executions in ${secs}s"
  rm -f "$log"
done
