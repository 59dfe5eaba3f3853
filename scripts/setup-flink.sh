#!/usr/bin/env bash
# Installs PyFlink (the `apache-flink` wheel, which bundles a local Flink
# mini-cluster) into one project-local virtualenv per Flink line, for the tests
# that run the SQL of `reefer-window --print-sql flink` in a real Flink
# (tests/flink/run.py). Needs Java 17 (installed from Debian packages when
# missing) and a Python the wheel supports (3.9-3.12). Idempotent: a stamp file
# per venv records what was installed, so a second run only checks it.
#
#   scripts/setup-flink.sh            all lines; prints one "VERSION VENV" a line
#   scripts/setup-flink.sh 1.20       one line
#
# Venvs live in .venv-flink-VERSION (or under $REEFER_FLINK_VENVS).
set -euo pipefail
cd "$(dirname "$0")/.."

# The Flink lines the tests cover: the 1.x line Managed Flink runs by default
# and the newest 2.x line on PyPI. Pinned so a new release cannot change results.
declare -A pins=([1.20]=1.20.5 [2.3]=2.3.0)
lines=("${@:-1.20 2.3}")
read -r -a lines <<<"${lines[*]}"
root="${REEFER_FLINK_VENVS:-$PWD}"

if ! command -v java >/dev/null 2>&1; then
  echo "setup-flink: installing Java 17 (openjdk-17-jre-headless)" >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >&2
fi

# The wheel supports CPython 3.9-3.12: prefer 3.11, else any supported one.
python=""
for cand in python3.11 python3.12 python3.10 python3.9 python3; do
  if command -v "$cand" >/dev/null 2>&1 &&
    "$cand" -c 'import sys; sys.exit(not (3, 9) <= sys.version_info[:2] <= (3, 12))' 2>/dev/null; then
    python="$cand"
    break
  fi
done
if [[ -z "$python" ]]; then
  echo "setup-flink: no Python 3.9-3.12 found (apache-flink has no wheel for others)" >&2
  exit 1
fi

for line in "${lines[@]}"; do
  pin="${pins[$line]:-}"
  if [[ -z "$pin" ]]; then
    echo "setup-flink: unknown Flink line '$line' (known: ${!pins[*]})" >&2
    exit 2
  fi
  venv="$root/.venv-flink-$line"
  stamp="$venv/.reefer-installed"
  key="apache-flink==$pin"
  if [[ ! -f "$stamp" ]] || ! grep -qxF "$key" "$stamp"; then
    if [[ ! -x "$venv/bin/python" ]]; then
      "$python" -m venv "$venv"
    fi
    echo "setup-flink: installing $key into $venv" >&2
    "$venv/bin/pip" install --quiet --disable-pip-version-check "$key" >&2
    printf '%s\n' "$key" >"$stamp"
  fi
  echo "$line $venv"
done
