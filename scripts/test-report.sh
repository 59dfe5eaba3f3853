#!/usr/bin/env bash
# The browser test of reefer-report (run by scripts/test.sh, not by plain
# `cargo test`): headless Debian Chromium, network disabled, opens a report
# made from a simulated fleet with an injected power cut and checks through the
# DOM (the page counts what it drew into #drawn's data-* attributes) that:
#   - the containers, episodes and alerts drawn equal the input's;
#   - the map has a marker per container with a position (one has none);
#   - the drill-down of the power_off container shades its episode and shows
#     the return air warming;
#   - no script error and no console error (a refused network request is one:
#     the page's Content-Security-Policy is default-src 'none');
#   - an empty input draws a "No data" page;
#   - a live page (--serve) follows its input without a reload.
# Screenshots are kept in $REEFER_ARTIFACTS (default target/report-artifacts/).
set -euo pipefail
cd "$(dirname "$0")/.."
chromium=$(scripts/setup-chromium.sh)
cargo build --quiet --bin reefer-sim --bin reefer-detect --bin reefer-act --bin reefer-report
bin=${CARGO_TARGET_DIR:-$PWD/target}/debug
art=${REEFER_ARTIFACTS:-${CARGO_TARGET_DIR:-$PWD/target}/report-artifacts}
mkdir -p "$art"
work=$(mktemp -d -t reefer-report-test.XXXXXX)
trap 'rm -rf "$work"' EXIT
fail=0
check() { # check WHAT EXPECTED ACTUAL
  if [[ $2 == "$3" ]]; then echo "ok   $1: $3"; else echo "FAIL $1: expected $2, got $3"; fail=1; fi
}

# A fleet of 30 with a power cut on container 4 (its modem reports on battery, so
# the warming is in the data), one container without a position, its events and alerts.
"$bin/reefer-sim" --containers 30 --duration 6h --seed 3 --start 2026-11-27T00:00:00Z \
  --inject 4:power_off@1h+2h --modem-battery 1 -o "$work/readings.jsonl"
echo '{"container_id":"NOPOS0000001","measurement_time":"2026-11-27T05:59:50Z","product_id":"P01","temperature":1.0,"kilowatts":3.1,"oxygen_level":20.9,"carbon_dioxide_level":0.04,"fan_1":true,"latitude":null,"longitude":null}' >>"$work/readings.jsonl"
"$bin/reefer-detect" -q "$work/readings.jsonl" >"$work/events.jsonl" || true
"$bin/reefer-act" -q --state "$work/act.db" --to - "$work/events.jsonl" >/dev/null
"$bin/reefer-report" -q --alerts "$work/act.db" "$work/readings.jsonl" "$work/events.jsonl" -o "$work/report.html"
printf '' | "$bin/reefer-report" -q -o "$work/empty.html"

# What the input holds.
read -r containers positions episodes alerts power_id < <(python3 - "$work" <<'EOF'
import json, sys, sqlite3
w = sys.argv[1]
rs = [json.loads(l) for l in open(f"{w}/readings.jsonl")]
ids = {r["container_id"] for r in rs}
pos = {r["container_id"] for r in rs if r.get("latitude") is not None}
evs = [json.loads(l) for l in open(f"{w}/events.jsonl")]
opened = [e for e in evs if e["status"] == "open"]
alerts = sqlite3.connect(f"{w}/act.db").execute("select count(*) from alerts").fetchone()[0]
power = sorted({e["container_id"] for e in opened if e["fault"] == "power_off"})
print(len(ids | {e["container_id"] for e in evs}), len(pos), len(opened), alerts, power[0] if power else "none")
EOF
)

browse() { # browse URL OUT [chromium args...]: the DOM after the script ran; stderr keeps the console
  local url=$1 out=$2
  shift 2
  local profile
  profile=$(mktemp -d -t reefer-chromium.XXXXXX)
  timeout 60 "$chromium" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$profile" --proxy-server=socks5://127.0.0.1:9 --proxy-bypass-list=127.0.0.1 \
    --host-resolver-rules='MAP * ~NOTFOUND, EXCLUDE 127.0.0.1' \
    --enable-logging=stderr --v=0 --hide-scrollbars "$@" "$url" >"$out" 2>"$out.log" || true
  drop_profile "$profile"
}
drop_profile() { # drop_profile DIR: Chromium's helper processes may still write there when it exits
  pkill -f -- "--user-data-dir=$1" 2>/dev/null || true
  local try
  for try in 1 2 3 4 5; do
    rm -rf "$1" 2>/dev/null && return 0
    sleep 0.5
  done
  echo "     note: could not remove the browser profile $1" >&2
}
attr() { # attr NAME DOMFILE
  { grep -o "id=\"drawn\"[^>]*" "$2" || true; } | { grep -o "data-$1=\"[^\"]*\"" || true; } | head -1 | sed 's/.*="\(.*\)"/\1/'
}
console_errors() { # the console's error lines of a run (Chromium logs them as CONSOLE(...))
  grep -Ei 'CONSOLE.*(error|uncaught|refused)|Uncaught|Content Security Policy' "$1" || true
}

url="file://$work/report.html"
browse "$url" "$work/dom.html" --dump-dom --virtual-time-budget=10000
check "page ready" 1 "$(attr ready "$work/dom.html")"
check "script errors" 0 "$(attr errors "$work/dom.html")"
check "containers drawn" "$containers" "$(attr containers "$work/dom.html")"
check "map markers (containers with a position)" "$positions" "$(attr markers "$work/dom.html")"
check "episodes drawn on the timeline" "$episodes" "$(attr episodes "$work/dom.html")"
check "alerts in the table" "$alerts" "$(attr alerts "$work/dom.html")"
check "console errors" "" "$(console_errors "$work/dom.html.log")"
echo "     render time in the page: $(attr ms "$work/dom.html") ms"

check "a power_off container was detected" yes "$([[ $power_id != none ]] && echo yes || echo no)"
browse "$url#c=$power_id" "$work/drill.html" --dump-dom --virtual-time-budget=10000
check "drill-down container" "$power_id" "$(attr drill "$work/drill.html")"
shaded=$(attr shaded "$work/drill.html")
check "power_off episode shaded in the drill-down" yes "$([[ ${shaded:-0} -ge 1 ]] && echo yes || echo "no ($shaded)")"
rise=$(attr rise "$work/drill.html")
check "return air warms during the power cut (> 1 °C)" yes "$(awk -v r="${rise:-0}" 'BEGIN { print (r > 1) ? "yes" : "no (" r ")" }')"
check "console errors (drill-down)" "" "$(console_errors "$work/drill.html.log")"

browse "file://$work/empty.html" "$work/empty-dom.html" --dump-dom --virtual-time-budget=10000
check "empty input says no data" 1 "$(attr nodata "$work/empty-dom.html")"
grep -q '<section id="nodata">' "$work/empty-dom.html" && check "no-data section shown" yes yes || check "no-data section shown" yes no

# Live mode: reefer-report --serve reads a FIFO fed in batches while the page is
# open; the page's counts must follow without a reload (server-sent events).
mkfifo "$work/feed"
"$bin/reefer-report" -q --serve 127.0.0.1:0 <"$work/feed" 2>"$work/serve.log" &
serve_pid=$!
exec 7>"$work/feed"
head -1000 "$work/readings.jsonl" >&7
for _ in $(seq 1 50); do grep -q 'live at' "$work/serve.log" && break; sleep 0.1; done
addr=$(grep -o '127.0.0.1:[0-9]*' "$work/serve.log" | head -1)
total=$(head -9000 "$work/readings.jsonl" | wc -l)
( for from in 1001 3001 5001 7001; do sleep 1.5; sed -n "${from},$((from + 1999))p" "$work/readings.jsonl" >&7; done ) &
feeder=$!
# --dump-dom dumps at the load event, and virtual time stops while an event
# stream is open: the page is watched over the DevTools protocol instead.
devtools=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
profile=$(mktemp -d -t reefer-chromium.XXXXXX)
"$chromium" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync --user-data-dir="$profile" \
  --proxy-server=socks5://127.0.0.1:9 --proxy-bypass-list=127.0.0.1 --host-resolver-rules='MAP * ~NOTFOUND, EXCLUDE 127.0.0.1' \
  --remote-debugging-port="$devtools" about:blank >/dev/null 2>&1 &
chromium_pid=$!
timeout 60 python3 scripts/cdp-watch.py "$devtools" "http://$addr/" 12 \
  'var d = document.getElementById("drawn"); d ? [d.dataset.readings, d.dataset.updates || 0, d.dataset.errors].join(" ") : ""' \
  >"$work/live.txt" || true
kill "$chromium_pid" 2>/dev/null || true
wait "$chromium_pid" 2>/dev/null || true
drop_profile "$profile"
wait "$feeder" || true
exec 7>&-
kill -INT "$serve_pid" 2>/dev/null || true
wait "$serve_pid" 2>/dev/null || true
echo "     live page (readings, updates, errors) as it changed: $(tr '\n' ',' <"$work/live.txt")"
read -r live_readings live_updates live_errors < <(tail -1 "$work/live.txt")
check "live page updated without reload (several updates)" yes "$([[ ${live_updates:-0} -ge 2 ]] && echo yes || echo "no (${live_updates:-0})")"
check "live page shows every reading fed" "$total" "${live_readings:-none}"
check "live page script errors" 0 "${live_errors:-none}"

browse "$url" /dev/null --virtual-time-budget=10000 --window-size=1400,2400 --screenshot="$art/report-overview.png"
browse "$url#c=$power_id" /dev/null --virtual-time-budget=10000 --window-size=1400,1300 --screenshot="$art/report-drilldown.png"
cp "$work/report.html" "$art/report.html"
echo "screenshots: $art/report-overview.png $art/report-drilldown.png"
[[ -s $art/report-overview.png && -s $art/report-drilldown.png ]] || { echo "FAIL screenshots missing"; fail=1; }
if [[ $fail -ne 0 ]]; then
  echo "test-report: FAILED" >&2
  exit 1
fi
echo "test-report: all checks passed"
