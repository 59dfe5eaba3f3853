#!/usr/bin/env bash
# MQTT load benchmark (issue 13), all in one run against a local Mosquitto on
# 127.0.0.1 (scripts/mqtt-broker.sh starts it; installed when missing):
#
#   reefer-ship --to 'mqtt://…/bench/{container_id}/telemetry'        10,000 devices,
#       each on its own topic, QoS 1
#   reefer-ship --from 'mqtt://…/bench/+/telemetry' | reefer-window --size 1m
#
# against its anchor: mosquitto_pub -l | broker | mosquitto_sub moving the same
# messages (one topic: mosquitto_pub -l publishes every line to one topic), QoS 1.
# Prints end-to-end messages/s (first publish to last record through
# reefer-window), the reader's CPU time per message, and peak RSS of each side.
# Target: >= 20,000 messages/s end to end, reefer-ship not the bottleneck.
#
#   scripts/bench-mqtt.sh      BENCH_MQTT_MINUTES=N (default 1: 60,000 messages; at 3 the
#   anchor mosquitto_sub stalled here, 48,926 of 179,994 received in 120 s)
#
# BIN: the release binaries' directory (scripts/bench.sh builds them and sets it).
set -euo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-$PWD/target}
if [[ -z ${BIN:-} ]]; then
  cargo build --release --quiet --bin reefer-sim --bin reefer-ship --bin reefer-window
fi
bin=${BIN:-$target/release}
dir=${REEFER_BENCH_DIR:-$PWD/bench-out}
mkdir -p "$dir"
minutes=${BENCH_MQTT_MINUTES:-1}
tmp=$(mktemp -d)
REEFER_TEST_MQTT_PID=""
trap 'kill $REEFER_TEST_MQTT_PID 2>/dev/null || true; rm -rf "$tmp"' EXIT
eval "$(scripts/mqtt-broker.sh "$tmp/broker")"
port=$REEFER_TEST_MQTT_PORT
data=$tmp/devices.jsonl
"$bin/reefer-sim" --containers 10000 --duration "${minutes}m" --seed 1 \
  --start 2026-11-27T00:00:00Z -o "$data"
n=$(wc -l <"$data")
bytes=$(wc -c <"$data")
echo "== mqtt: $n messages ($((bytes / n)) bytes each) from 10,000 devices, QoS 1, Mosquitto on 127.0.0.1 =="

now() { date +%s.%N; }
# report LABEL START END READER_TIME_FILE WRITER_TIME_FILE
report() {
  local label=$1 t0=$2 t1=$3
  read -r _ ru rs rkb <"$4"
  read -r _ wu ws wkb <"$5"
  awk -v l="$label" -v n="$n" -v t0="$t0" -v t1="$t1" -v ru="$ru" -v rs="$rs" -v rkb="$rkb" \
    -v wu="$wu" -v ws="$ws" -v wkb="$wkb" 'BEGIN {
    s = t1 - t0; if (s <= 0) s = 0.001;
    printf "%-34s %7.2f s %9.0f msg/s   reader %5.1f us CPU/msg %6.1f MB RSS   writer %5.1f us CPU/msg %6.1f MB RSS\n",
      l, s, n / s, (ru + rs) / n * 1e6, rkb / 1024, (wu + ws) / n * 1e6, wkb / 1024 }'
}

# reefer-ship both ways, reefer-window after the reader (through a FIFO, so
# that /usr/bin/time measures the reader alone).
mkfifo "$tmp/pipe"
/usr/bin/time -f '%e %U %S %M' -o "$tmp/r.time" \
  "$bin/reefer-ship" -q --from "mqtt://127.0.0.1:$port/bench/+/telemetry" --max-records "$n" \
  >"$tmp/pipe" 2>"$tmp/r.err" &
reader=$!
"$bin/reefer-window" --size 1m -q <"$tmp/pipe" >"$tmp/rows.jsonl" 2>/dev/null &
window=$!
sleep 1
t0=$(now)
/usr/bin/time -f '%e %U %S %M' -o "$tmp/w.time" \
  "$bin/reefer-ship" -q --to "mqtt://127.0.0.1:$port/bench/{container_id}/telemetry" <"$data"
wait "$reader" "$window"
t1=$(now)
rows=$(wc -l <"$tmp/rows.jsonl")
report "reefer-ship | reefer-window" "$t0" "$t1" "$tmp/r.time" "$tmp/w.time"
echo "   ($rows window rows; reader exit 0)"

# The anchor: mosquitto's own clients moving the same messages.
/usr/bin/time -f '%e %U %S %M' -o "$tmp/r2.time" \
  mosquitto_sub -h 127.0.0.1 -p "$port" -t 'anchor/telemetry' -q 1 -C "$n" -W 120 >"$tmp/anchor.out" &
reader=$!
sleep 1
t0=$(now)
/usr/bin/time -f '%e %U %S %M' -o "$tmp/w2.time" \
  mosquitto_pub -h 127.0.0.1 -p "$port" -t 'anchor/telemetry' -q 1 -l <"$data"
wait "$reader" || true
t1=$(now)
report "mosquitto_pub -l | mosquitto_sub" "$t0" "$t1" "$tmp/r2.time" "$tmp/w2.time"
echo "   (mosquitto_sub received $(wc -l <"$tmp/anchor.out") of $n within its 120 s limit)"
