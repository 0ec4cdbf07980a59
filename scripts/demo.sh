#!/usr/bin/env bash
# Quick start on a fresh machine: local PostgreSQL and Redis, dependencies, Chromium for the
# browser test, then the sandbox (a page at http://127.0.0.1:3001/sandbox that plays Slack).
# `bash scripts/demo.sh --text` runs the text walk-through (`npm run demo`) instead.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/services.sh
[ -d node_modules ] || npm ci --no-audit --no-fund
bash scripts/browser.sh || echo "demo: no Chromium; the sandbox runs anyway (only the browser test needs it)"
if [ "${1:-}" = "--text" ]; then
  shift
  exec npm run demo -- "$@"
fi
exec npm run sandbox
