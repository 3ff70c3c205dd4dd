#!/usr/bin/env bash
# Install production builds of popular npm packages for the scanner's zero-false-positive
# test and benchmark. Not committed: they land in .cache/ (git-ignored), once per version set.
# Usage: tests/scan/setup_thirdparty.sh [DIR]   (prints DIR/node_modules on success)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DIR="${1:-${SCAN_THIRDPARTY_DIR:-$ROOT/.cache/scan-thirdparty}}"
PACKAGES=(
  react@18.3.1 react-dom@18.3.1 lodash@4.17.21 moment@2.30.1 jquery@3.7.1
  vue@3.5.13 three@0.170.0 d3@7.9.0 rxjs@7.8.1 chart.js@4.4.7
)
STAMP="$DIR/.installed-$(printf '%s\n' "${PACKAGES[@]}" | sha256sum | cut -c1-16)"
if [ -f "$STAMP" ] && [ -d "$DIR/node_modules" ]; then
  echo "$DIR/node_modules"
  exit 0
fi
command -v npm >/dev/null 2>&1 || { echo "setup_thirdparty: npm is not installed (apt-get install npm)" >&2; exit 3; }
mkdir -p "$DIR"
rm -f "$DIR"/.installed-*
# --ignore-scripts: nothing from these packages runs here; we only read their files.
npm install --no-save --no-audit --no-fund --ignore-scripts --loglevel=error \
  --prefix "$DIR" "${PACKAGES[@]}" >&2
touch "$STAMP"
echo "$DIR/node_modules"
