#!/usr/bin/env bash
# Creates .venv (Python >= 3.11) and installs the project into it. Idempotent.
# Usage: scripts/bootstrap.sh [extras]   e.g. scripts/bootstrap.sh test
# Versions: requirements-lock.txt (what the suite last ran with) constrains every dependency, so CI
# and users run what was tested; pyproject.toml holds the floors (releases without known CVEs).
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-}"
python="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
stamp=".venv/.installed-${extras:-base}"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ requirements-lock.txt -nt "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  if [ -n "$extras" ]; then
    .venv/bin/python -m pip install --quiet -c requirements-lock.txt -e ".[${extras}]"
  else
    .venv/bin/python -m pip install --quiet -c requirements-lock.txt -e .
  fi
  touch "$stamp"
fi
