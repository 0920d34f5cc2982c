#!/usr/bin/env bash
# Create .venv with a Python >= 3.12 and install the project (editable, with dev extras).
# Finds the interpreter by itself: python3.13/python3.12 on PATH, pyenv versions, or python3.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}

ok() { "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1; }

find_python() {
  local c
  for c in "${PYTHON:-}" python3.13 python3.12 python3; do
    [ -n "$c" ] || continue
    if command -v "$c" >/dev/null 2>&1 && ok "$c"; then command -v "$c"; return 0; fi
  done
  for c in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.1[2-9]*/bin/python3 /usr/local/bin/python3.1[2-9] /usr/bin/python3.1[2-9]; do
    if [ -x "$c" ] && ok "$c"; then echo "$c"; return 0; fi
  done
  return 1
}

if [ -x "$VENV/bin/python" ] && ok "$VENV/bin/python"; then
  :
else
  if ! PY=$(find_python); then
    echo "error: Python >= 3.12 is required (hazm 0.12 needs it) and none was found." >&2
    echo "       Install one (e.g. 'pyenv install 3.12') or set PYTHON=/path/to/python3.12." >&2
    exit 2
  fi
  echo "bootstrap: using $PY ($("$PY" -V 2>&1))"
  rm -rf "$VENV"
  "$PY" -m venv "$VENV"
fi

stamp="$VENV/.installed"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  "$VENV/bin/python" -m pip install -q --upgrade pip 2>&1 | grep -v '^WARNING: Location' || true
  "$VENV/bin/python" -m pip install -q -e '.[dev]' 2>&1 | grep -v '^WARNING: Location' || true
  "$VENV/bin/python" -c 'import pipeline, hazm, sklearn, duckdb' || { echo "error: installation failed" >&2; exit 1; }
  touch "$stamp"
fi
