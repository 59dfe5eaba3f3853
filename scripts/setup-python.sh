#!/usr/bin/env bash
# Creates the project-local Python virtualenv (.venv, or $REEFER_VENV) and installs
# what the tests and benchmarks need from PyPI: moto (the local AWS emulator) and
# DuckDB (the independent reader that checks reefer-ship's Parquet lake, and the
# engine of the comparison benchmarks). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${REEFER_VENV:-$PWD/.venv}"
want=('moto[server,s3,kinesis,firehose,dynamodb,sns]==5.*' 'duckdb')
# --bench is accepted for the benchmark scripts; DuckDB is now always installed.
if [[ ! -x "$venv/bin/python" ]]; then
  python3 -m venv "$venv"
fi
stamp="$venv/.reefer-installed"
key="${want[*]}"
if [[ ! -f "$stamp" ]] || ! grep -qxF "$key" "$stamp"; then
  "$venv/bin/pip" install --quiet --disable-pip-version-check "${want[@]}"
  printf '%s\n' "$key" >"$stamp"
fi
echo "$venv"
