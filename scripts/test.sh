#!/usr/bin/env bash
# Front door 2: set up and run the whole test suite.
# Installs: the Python test extras (.venv), the real test FHIR server's npm packages
# (tests/fhir_server), Debian's chromium for the SMART app's browser test and Debian's postgresql
# for the PostgreSQL store tests (the tests start their own throw-away server).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh test
(cd tests/fhir_server && { [ -d node_modules ] && [ node_modules -nt package-lock.json ] || npm ci --no-audit --no-fund --loglevel=error; })
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian's chromium for the browser test..." >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "chromium is missing: install Debian's 'chromium' package (root needed)" >&2
  fi
fi
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian's postgresql for the PostgreSQL store tests..." >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  else
    echo "postgresql is missing: install Debian's 'postgresql' package (root needed)" >&2
  fi
fi
exec .venv/bin/python -m pytest "$@"
