#!/usr/bin/env bash
# Quick start on a fresh machine: local PostgreSQL and Redis, dependencies, then the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/services.sh
[ -d node_modules ] || npm ci --no-audit --no-fund
exec npm run demo -- "$@"
