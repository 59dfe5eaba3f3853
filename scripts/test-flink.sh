#!/usr/bin/env bash
# Checks that the Flink SQL `reefer-window --print-sql flink` prints gives
# reefer-window's windows in a real Flink: installs PyFlink for each tested
# Flink line (scripts/setup-flink.sh; fast once installed), then runs the CLI
# test tests/cli/flink.rs, which prints the SQL of each case, runs it in a
# local mini-cluster per Flink version (tests/flink/run.py) and compares the
# rows with reefer-window's. A runner or comparison failure fails the script.
#
#   scripts/test-flink.sh [CARGO TEST ARGS...]
set -euo pipefail
cd "$(dirname "$0")/.."
start=$SECONDS
venvs=$(scripts/setup-flink.sh)
pythons=""
while read -r _line venv; do
  pythons="${pythons:+$pythons:}$venv/bin/python"
done <<<"$venvs"
echo "test-flink: PyFlink ready in $((SECONDS - start)) s: $pythons" >&2
REEFER_TEST_FLINK_PYTHON="$pythons" cargo test --test cli "$@" -- flink::
echo "test-flink: done in $((SECONDS - start)) s" >&2
