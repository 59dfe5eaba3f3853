#!/usr/bin/env bash
# Installs Debian's headless-capable Chromium for the browser test of
# reefer-report (scripts/test-report.sh) when it is missing, and prints its path.
# CI runs on a fresh machine as root: apt-get is enough; elsewhere use sudo.
set -euo pipefail
for c in chromium chromium-browser; do
  if p=$(command -v "$c"); then
    echo "$p"
    exit 0
  fi
done
sudo=()
[[ $(id -u) -eq 0 ]] || sudo=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq >&2
"${sudo[@]}" apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >&2
command -v chromium
