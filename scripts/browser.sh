#!/usr/bin/env bash
# Makes sure Debian's Chromium is installed for the browser test of the sandbox
# (test/browser/, driven by playwright-core), with an emoji font for its screenshots (best
# effort). Idempotent; needs root and apt-get to install. Set CHROMIUM_PATH to use a Chromium
# elsewhere instead.
set -euo pipefail
log() { printf 'browser: %s\n' "$*"; }
emoji_font() {
  [ -e /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ] && return 0
  [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1 || return 0
  apt-get install -y -qq fonts-noto-color-emoji >/dev/null 2>&1 || log "no emoji font; screenshots show boxes for emoji"
}
if [ -n "${CHROMIUM_PATH:-}" ] && [ -x "${CHROMIUM_PATH}" ]; then exit 0; fi
if command -v chromium >/dev/null 2>&1; then
  emoji_font
  exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  log "Chromium is missing and cannot be installed here (needs root and apt-get): install it, or set CHROMIUM_PATH"
  exit 1
fi
log "installing chromium from Debian's packages"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq chromium >/dev/null
emoji_font
