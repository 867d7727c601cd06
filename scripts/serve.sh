#!/usr/bin/env bash
# Front door 1: set up and start the service on embedded defaults (http://127.0.0.1:8080).
# --dev turns CDS client authentication OFF for local demos; see README "Security" for production.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
exec .venv/bin/salvage-cds serve --dev "$@"
