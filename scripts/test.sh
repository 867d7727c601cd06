#!/usr/bin/env bash
# Front door 2: set up and run the whole test suite.
# Installs: the Python test extras (.venv), the npm packages of the real test FHIR server
# (tests/fhir_server) and of the accessibility checks (tests/axe: axe-core), Debian's chromium for
# the SMART app's browser test, Debian's postgresql for the PostgreSQL store tests (the tests start
# their own throw-away server) and Debian's nginx for the production-profile tests (started by the
# tests, on loopback, never as a system service).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh test
for npm_dir in tests/fhir_server tests/axe; do
  (cd "$npm_dir" && { [ -d node_modules ] && [ node_modules -nt package-lock.json ] || npm ci --no-audit --no-fund --loglevel=error; })
done
# apt_install PACKAGE WHY: install one of Debian's packages when we are root (else say what to do).
apt_updated=""
apt_install() {
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian's $1 for $2..." >&2
    [ -n "$apt_updated" ] || { apt-get update -qq >/dev/null; apt_updated=1; }
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1" >/dev/null
  else
    echo "$1 is missing: install Debian's '$1' package (root needed) for $2" >&2
  fi
}
command -v chromium >/dev/null 2>&1 || apt_install chromium "the SMART app's browser test"
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 \
  || apt_install postgresql "the PostgreSQL store tests"
[ -x /usr/sbin/nginx ] || command -v nginx >/dev/null 2>&1 \
  || apt_install nginx "the production-profile tests (deploy/: TLS and buffering in front of two instances)"
exec .venv/bin/python -m pytest "$@"
