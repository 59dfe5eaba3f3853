#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: installs what the tests need
# (a project-local Python virtualenv with the moto AWS emulator, Mosquitto),
# starts the emulator and the broker on 127.0.0.1 on free ports, runs
# `cargo test`, and stops them.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=$(scripts/setup-python.sh)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
log=$(mktemp -t reefer-moto.XXXXXX.log)
"$venv/bin/moto_server" -H 127.0.0.1 -p "$port" >"$log" 2>&1 &
moto_pid=$!
mqtt_dir=$(mktemp -d -t reefer-mqtt.XXXXXX)
REEFER_TEST_MQTT_PID=""
trap 'kill "$moto_pid" $REEFER_TEST_MQTT_PID 2>/dev/null || true; wait "$moto_pid" 2>/dev/null || true; rm -rf "$log" "$mqtt_dir"' EXIT
for _ in $(seq 1 150); do
  if curl -sf -o /dev/null "http://127.0.0.1:$port/moto-api/"; then break; fi
  if ! kill -0 "$moto_pid" 2>/dev/null; then cat "$log" >&2; echo "moto failed to start" >&2; exit 1; fi
  sleep 0.2
done
export REEFER_TEST_AWS_ENDPOINT="http://127.0.0.1:$port"
# A real MQTT broker (Mosquitto, installed when missing) on 127.0.0.1: plain and mutual TLS.
eval "$(scripts/mqtt-broker.sh "$mqtt_dir")"
export REEFER_TEST_MQTT_PORT REEFER_TEST_MQTTS_PORT REEFER_TEST_MQTT_CERTS
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1
unset AWS_PROFILE AWS_ENDPOINT_URL
cargo test --all-targets "$@"
# The emulator-backed tests are their own target, left out of plain `cargo test`.
cargo test --test aws "$@"
# The Flink SQL that reefer-window prints, run in real Flink mini-clusters (PyFlink).
scripts/test-flink.sh "$@"
# reefer-report in headless Chromium (installs Debian chromium when missing).
scripts/test-report.sh
