#!/usr/bin/env bash
# Benchmark of the README's main pipeline (issue 10's target), all in one run:
#
#   reefer-sim | reefer-window --size 1m | reefer-detect
#
# on 10,000 containers x 1 h at 10 s (3.6 M readings), against its anchors: the
# same three stages run one after the other on files (sim to a file, window on
# that file, detect on the window rows), the two taking turns, medians of the
# rounds. Prints the pipeline's wall time against the sum of the stages' wall
# times (target: at most 1.1x), each stage's share of the pipeline's CPU time,
# throughput (readings/s) and each stage's peak RSS.
#
#   scripts/bench-pipeline.sh          BENCH_ROUNDS=N (default 3) rounds
#
# BIN: the release binaries' directory (scripts/bench.sh builds them and sets it).
# Files go to $REEFER_BENCH_DIR (default bench-out/).
set -euo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-$PWD/target}
if [[ -z ${BIN:-} ]]; then
  cargo build --release --quiet --bin reefer-sim --bin reefer-window --bin reefer-detect
fi
bin=${BIN:-$target/release}
dir=${REEFER_BENCH_DIR:-$PWD/bench-out}
mkdir -p "$dir"
rounds=${BENCH_ROUNDS:-3}
readings=$((10000 * 360))
sim=("$bin/reefer-sim" --containers 10000 --duration 1h --seed 1 --start 2026-11-27T00:00:00Z)
window=("$bin/reefer-window" --size 1m)
detect=("$bin/reefer-detect" -q)
readings_file=$dir/pipeline.readings.jsonl
rows_file=$dir/pipeline.rows.jsonl
tmp=$(mktemp -d)
trap 'rm -rf "$tmp" "$readings_file" "$rows_file"' EXIT
log=$tmp/log

# timed LABEL STAGE CMD... : runs CMD under /usr/bin/time into $tmp/STAGE.time (wall user sys KB).
timed() {
  local stage=$1
  shift
  /usr/bin/time -f '%e %U %S %M' -o "$tmp/$stage.time" "$@"
}

# One round of the stages on files: each stage's wall, CPU and RSS, and their sum.
separate() {
  timed sim "${sim[@]}" -o "$readings_file"
  timed window "${window[@]}" -o "$rows_file" "$readings_file"
  timed detect "${detect[@]}" -o /dev/null "$rows_file"
  local s
  for s in sim window detect; do
    read -r wall user sys kb <"$tmp/$s.time"
    printf 'separate\t%s\t%s\t%s\t%s\n' "$s" "$wall" "$(echo "$user + $sys" | bc)" "$kb" >>"$log"
  done
}

# One round of the pipeline: its wall time (one clock around the whole pipe)
# and each stage's CPU and RSS (each stage under its own /usr/bin/time).
pipeline() {
  local t0 t1
  t0=$(date +%s.%N)
  timed sim "${sim[@]}" | timed window "${window[@]}" | timed detect "${detect[@]}" -o /dev/null
  t1=$(date +%s.%N)
  printf 'pipeline\tall\t%s\t0\t0\n' "$(echo "$t1 - $t0" | bc)" >>"$log"
  local s
  for s in sim window detect; do
    read -r wall user sys kb <"$tmp/$s.time"
    printf 'pipeline\t%s\t%s\t%s\t%s\n' "$s" "$wall" "$(echo "$user + $sys" | bc)" "$kb" >>"$log"
  done
}

echo "== pipeline: reefer-sim | reefer-window --size 1m | reefer-detect, 10,000 containers x 1 h ($readings readings), $(nproc) cores, $rounds rounds =="
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for ((r = 1; r <= rounds; r++)); do
  separate
  pipeline
  awk -F'\t' -v r="$r" '
    $1 == "separate" { sep[$2] = $3 } $1 == "pipeline" && $2 == "all" { p = $3 }
    END { printf "  round %d: stages on files %.2f + %.2f + %.2f = %.2f s; pipeline %.2f s\n", r,
          sep["sim"], sep["window"], sep["detect"], sep["sim"] + sep["window"] + sep["detect"], p }' \
    <(tail -n 8 "$log")
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

# Medians per (mode, stage) over the rounds; the separate sum is the median of the per-round sums.
awk -F'\t' -v n="$readings" '
  function median(key,   k, i, j, v, t) {
    k = cnt[key]; for (i = 1; i <= k; i++) v[i] = val[key, i]
    for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
    return k % 2 ? v[(k + 1) / 2] : (v[k / 2] + v[k / 2 + 1]) / 2
  }
  function put(key, x) { cnt[key]++; val[key, cnt[key]] = x }
  {
    put($1 "/" $2 "/wall", $3); put($1 "/" $2 "/cpu", $4); put($1 "/" $2 "/rss", $5 / 1024)
    if ($1 == "separate") { round_sum[++rs_i_sep[$2]] += $3 }
  }
  END {
    for (i = 1; i <= rs_i_sep["sim"]; i++) put("separate/sum/wall", round_sum[i])
    sum = median("separate/sum/wall"); p = median("pipeline/all/wall")
    printf "\nmedian of %d rounds:\n", cnt["pipeline/all/wall"]
    printf "  %-44s %6.2f s wall %10.0f readings/s\n", "stages on files, one after the other (sum)", sum, n / sum
    split("sim window detect", st, " ")
    for (i = 1; i <= 3; i++) {
      s = st[i]
      printf "    %-42s %6.2f s wall %6.2f s CPU %7.1f MB peak RSS\n", s, median("separate/" s "/wall"), median("separate/" s "/cpu"), median("separate/" s "/rss")
    }
    printf "  %-44s %6.2f s wall %10.0f readings/s\n", "pipeline (sim | window | detect)", p, n / p
    total = 0
    for (i = 1; i <= 3; i++) total += median("pipeline/" st[i] "/cpu")
    for (i = 1; i <= 3; i++) {
      s = st[i]; c = median("pipeline/" s "/cpu")
      printf "    %-42s %6.2f s CPU (%4.1f%% of the pipeline CPU) %7.1f MB peak RSS\n", s, c, (total > 0 ? 100 * c / total : 0), median("pipeline/" s "/rss")
    }
    printf "pipeline vs the stages run separately: %.2fx their summed wall time (target: at most 1.1x)\n", p / sum
  }' "$log"
