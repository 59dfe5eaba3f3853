#!/usr/bin/env bash
# Starts a local Eclipse Mosquitto broker for the tests and benchmarks, on
# 127.0.0.1 only, on two free ports: plain MQTT and TLS with client
# certificates (mutual TLS, as AWS IoT Core requires). Installs the Debian
# packages `mosquitto` and `mosquitto-clients` when they are missing. Generates, in DIR, a test CA, a
# server certificate for localhost/127.0.0.1, a client certificate signed by
# that CA and a "rogue" client certificate signed by another CA.
#
#   scripts/mqtt-broker.sh DIR     prints shell assignments to eval:
#     REEFER_TEST_MQTT_PORT, REEFER_TEST_MQTTS_PORT, REEFER_TEST_MQTT_CERTS,
#     REEFER_TEST_MQTT_PID (kill it to stop the broker)
set -euo pipefail
dir=${1:?usage: scripts/mqtt-broker.sh DIR}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

if ! { command -v mosquitto >/dev/null || [[ -x /usr/sbin/mosquitto ]]; } \
  || ! command -v mosquitto_pub >/dev/null; then
  echo "installing mosquitto and mosquitto-clients (Debian packages)" >&2
  export DEBIAN_FRONTEND=noninteractive
  sudo=""
  [[ $(id -u) -eq 0 ]] || sudo=sudo
  $sudo apt-get install -y -qq mosquitto mosquitto-clients >&2 || {
    $sudo apt-get update -qq >&2
    $sudo apt-get install -y -qq mosquitto mosquitto-clients >&2
  }
fi
broker=$(command -v mosquitto || echo /usr/sbin/mosquitto)

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

cert() { # NAME CA-NAME SUBJECT [EXTFILE]
  openssl req -new -newkey rsa:2048 -nodes -keyout "$dir/$1.key" -subj "/CN=$3" \
    -out "$dir/$1.csr" 2>/dev/null
  openssl x509 -req -in "$dir/$1.csr" -CA "$dir/$2.pem" -CAkey "$dir/$2.key" \
    -CAcreateserial -days 30 -sha256 ${4:+-extfile "$4"} -out "$dir/$1.pem" 2>/dev/null
}
if [[ ! -f "$dir/client.pem" ]]; then
  for ca in ca rogue-ca; do
    openssl req -x509 -new -newkey rsa:2048 -nodes -keyout "$dir/$ca.key" -days 30 \
      -subj "/CN=reefer test $ca" -out "$dir/$ca.pem" 2>/dev/null
  done
  # X.509 v3 certificates (extensions given): rustls refuses v1 ones.
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$dir/server.ext"
  printf 'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n' >"$dir/client.ext"
  cert server ca localhost "$dir/server.ext"
  cert client ca reefer-test-device "$dir/client.ext"
  cert rogue rogue-ca reefer-rogue-device "$dir/client.ext"
fi

port=$(free_port)
tls_port=$(free_port)
while [[ $tls_port == "$port" ]]; do tls_port=$(free_port); done
cat >"$dir/mosquitto.conf" <<EOF
per_listener_settings false
# As root mosquitto would switch to the user "mosquitto", who cannot read DIR.
user $(id -un)
allow_anonymous true
persistence false
# Enough room for the tests' queued QoS 1 messages and the load benchmark.
max_inflight_messages 1000
max_queued_messages 1000000
listener $port 127.0.0.1
listener $tls_port 127.0.0.1
cafile $dir/ca.pem
certfile $dir/server.pem
keyfile $dir/server.key
require_certificate true
EOF
"$broker" -c "$dir/mosquitto.conf" >"$dir/broker.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && (exec 3<>"/dev/tcp/127.0.0.1/$tls_port") 2>/dev/null; then
    break
  fi
  if ! kill -0 "$pid" 2>/dev/null; then
    cat "$dir/broker.log" >&2
    echo "mosquitto failed to start" >&2
    exit 1
  fi
  sleep 0.05
done
echo "REEFER_TEST_MQTT_PORT=$port REEFER_TEST_MQTTS_PORT=$tls_port REEFER_TEST_MQTT_CERTS=$dir REEFER_TEST_MQTT_PID=$pid"
