#!/usr/bin/env bash
# reefer-ship benchmark against the local AWS emulator (moto), beside the AWS
# CLI's `kinesis put-records` in 500-record batches, in the same run.
#
# Input: the 10,000-container fleet over one hour. moto keeps every record in
# Python memory, so the default interval is 5 minutes (12 readings a container,
# 120,000 records, ~45 MB); REEFER_BENCH_INTERVAL=10s gives the full 3.6 million.
# Prints records/s, requests per record, batch fill, Firehose packing, where the
# time goes (reefer-ship CPU vs emulator CPU vs wall clock) and peak RSS.
set -euo pipefail
cd "$(dirname "$0")/.."
interval=${REEFER_BENCH_INTERVAL:-5m}
containers=${REEFER_BENCH_CONTAINERS:-10000}
cli_records=${REEFER_BENCH_CLI_RECORDS:-20000}
out=${REEFER_BENCH_DIR:-bench-out/ship}
mkdir -p "$out"

venv=$(scripts/setup-python.sh)
if [[ ! -x "$venv/bin/aws" ]]; then
  "$venv/bin/pip" install --quiet --disable-pip-version-check awscli
fi
cargo build --release --quiet --bin reefer-ship --bin reefer-sim
bin=${CARGO_TARGET_DIR:-target}/release

port=$("$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
"$venv/bin/moto_server" -H 127.0.0.1 -p "$port" >"$out/moto.log" 2>&1 &
moto_pid=$!
trap 'kill "$moto_pid" 2>/dev/null || true; wait "$moto_pid" 2>/dev/null || true' EXIT
endpoint="http://127.0.0.1:$port"
until curl -sf -o /dev/null "$endpoint/moto-api/"; do sleep 0.2; done
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
unset AWS_PROFILE AWS_ENDPOINT_URL
admin() { "$venv/bin/python" tests/fixtures/ship/aws_admin.py "$endpoint" "$@"; }

input="$out/hour.jsonl"
"$bin/reefer-sim" --containers "$containers" --duration 1h --interval "$interval" --seed 1 \
  --start 2026-11-27T03:00:00Z -o "$input"
records=$(wc -l <"$input")
bytes=$(stat -c %s "$input")
echo "input: $containers containers, 1 h at $interval: $records records, $((bytes / 1024 / 1024)) MiB"
echo

# CPU seconds (user+sys) a process has used so far.
cpu_of() { awk -v hz="$(getconf CLK_TCK)" '{print ($14 + $15) / hz}' "/proc/$1/stat"; }

# run NAME CMD...: times CMD (stdin from $input), keeps its stderr, prints a row.
run() {
  local name=$1; shift
  local f before after
  f="$out/$(printf '%s' "$name" | tr -c 'a-zA-Z0-9' '_')"
  before=$(cpu_of "$moto_pid")
  /usr/bin/time -v -o "$f.time" "$@" <"${src:-$input}" >"$f.out" 2>"$f.err" || {
    echo "$name failed:"; cat "$f.err"; return 1; }
  after=$(cpu_of "$moto_pid")
  local wall user sys rss
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$f.time")
  user=$(awk -F': ' '/User time/ {print $2}' "$f.time")
  sys=$(awk -F': ' '/System time/ {print $2}' "$f.time")
  rss=$(awk -F': ' '/Maximum resident/ {print $2}' "$f.time")
  local reqs
  reqs=$(grep -o '; [0-9]* requests' "$f.err" | grep -o '[0-9]*' || echo 0)
  local n
  n=$(wc -l <"${src:-$input}")
  printf '%-28s %9.2f s %11.0f rec/s %8.4f req/rec   ship CPU %6.2f s   emulator CPU %6.2f s   peak RSS %6.1f MiB\n' \
    "$name" "$wall" "$(echo "$n / $wall" | bc -l)" "$(echo "$reqs / $n" | bc -l)" \
    "$(echo "$user + $sys" | bc -l)" "$(echo "$after - $before" | bc -l)" "$(echo "$rss / 1024" | bc -l)"
  grep -E 'batched calls|Firehose records|objects written' "$f.err" | sed 's/^/    /' || true
}

admin create-stream bench-ship 4
admin create-stream bench-cli 4
admin create-stream bench-ship-first 4
admin create-bucket bench-lake
admin create-firehose bench-fh bench-lake firehose/

echo "== reefer-ship (release) =="
run "stdin -> stdout" "$bin/reefer-ship" -q
run "stdin -> file://" "$bin/reefer-ship" --to "file://$out/lake"
run "stdin -> kinesis (4 shards)" "$bin/reefer-ship" --endpoint-url "$endpoint" --to kinesis://bench-ship
run "stdin -> s3" "$bin/reefer-ship" --endpoint-url "$endpoint" --to s3://bench-lake/telemetry
run "stdin -> firehose" "$bin/reefer-ship" --endpoint-url "$endpoint" --to firehose://bench-fh
run "kinesis -> stdout" "$bin/reefer-ship" --endpoint-url "$endpoint" --from kinesis://bench-ship
run "s3 -> stdout" "$bin/reefer-ship" --endpoint-url "$endpoint" --from s3://bench-lake/telemetry
echo

echo "== AWS CLI: aws kinesis put-records, 500-record batches, first $cli_records records =="
rm -rf "$out/cli" && mkdir -p "$out/cli"
head -n "$cli_records" "$input" | "$venv/bin/python" -c '
import json, sys
lines = [l.rstrip("\n") for l in sys.stdin if l.strip()]
for i in range(0, len(lines), 500):
    recs = [{"Data": l, "PartitionKey": json.loads(l)["container_id"]} for l in lines[i:i + 500]]
    json.dump(recs, open(sys.argv[1] + "/%06d.json" % (i // 500), "w"))
' "$out/cli"
calls=$(ls "$out/cli" | wc -l)
before=$(cpu_of "$moto_pid")
start=$(date +%s.%N)
for f in "$out/cli"/*.json; do
  "$venv/bin/aws" --endpoint-url "$endpoint" kinesis put-records --stream-name bench-cli \
    --records "file://$f" --output json --query FailedRecordCount >>"$out/cli.failed"
done
end=$(date +%s.%N)
after=$(cpu_of "$moto_pid")
wall=$(echo "$end - $start" | bc -l)
failed=$(paste -sd+ "$out/cli.failed" | bc)
printf '%-28s %9.2f s %11.0f rec/s %8.4f req/rec   emulator CPU %6.2f s   failed entries not retried: %s\n' \
  "aws kinesis put-records" "$wall" "$(echo "$cli_records / $wall" | bc -l)" "$(echo "$calls / $cli_records" | bc -l)" \
  "$(echo "$after - $before" | bc -l)" "$failed"
src="$out/first.jsonl"
head -n "$cli_records" "$input" >"$src"
run "reefer-ship, same records" "$bin/reefer-ship" --endpoint-url "$endpoint" --to kinesis://bench-ship-first
unset src
echo "(moto's PutRecords slows down as a shard fills, so compare rows of the same size.)"
echo
echo "Details (stderr summaries, /usr/bin/time -v) are in $out/."
