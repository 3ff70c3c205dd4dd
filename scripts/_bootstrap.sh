# Sourced by scripts/certify and scripts/test: make .venv and Debian's chromium ready, once.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# The interpreter: $PYTHON if set; else the distribution's /usr/bin/python3 when it is 3.11 or
# newer, else the first python3 on PATH. Debian's CPython is built with PGO and LTO and links
# the interpreter statically; a pyenv-built one (shared libpython, no PGO, as on these machines)
# runs the same code 15-35% slower, which decides the simulator's cycles/s (BENCHMARKS.md).
SYSTEM_PY=/usr/bin/python3
system_py_ok() { "$SYSTEM_PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; }
if [ -n "${PYTHON:-}" ]; then
  PY="$PYTHON"
elif [ -x "$SYSTEM_PY" ] && system_py_ok; then
  PY="$SYSTEM_PY"
else
  PY=python3
fi
STAMP=.venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)
need_apt=()
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
command -v npm >/dev/null 2>&1 || need_apt+=(npm)
if [ ! -x .venv/bin/python ] && [ "$PY" = "$SYSTEM_PY" ] \
    && ! "$PY" -c 'import ensurepip' 2>/dev/null; then
  need_apt+=(python3-venv)  # Debian splits venv's pip bootstrap into its own package
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${need_apt[*]}" >&2
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >&2
fi
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv with $PY ($("$PY" -c 'import sys; print(sys.version.split()[0])'))" >&2
  "$PY" -m venv .venv
fi
if [ ! -f "$STAMP" ]; then
  echo "setup: installing the package and its test tools into .venv" >&2
  .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip >&2
  .venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test,bench]' >&2
  rm -f .venv/.installed-*
  touch "$STAMP"
fi
export PATH="$ROOT/.venv/bin:$PATH"
