#!/usr/bin/env bash
# Makes sure Debian's Chromium is installed for the browser test of the sandbox
# (test/browser/, driven by playwright-core). Idempotent; needs root and apt-get to install.
# Set CHROMIUM_PATH to use a Chromium elsewhere instead.
set -euo pipefail
log() { printf 'browser: %s\n' "$*"; }
if [ -n "${CHROMIUM_PATH:-}" ] && [ -x "${CHROMIUM_PATH}" ]; then exit 0; fi
if command -v chromium >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  log "Chromium is missing and cannot be installed here (needs root and apt-get): install it, or set CHROMIUM_PATH"
  exit 1
fi
log "installing chromium from Debian's packages"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq chromium >/dev/null
