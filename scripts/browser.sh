#!/usr/bin/env bash
# Makes sure Debian's Chromium is installed for the browser test of the sandbox
# (test/browser/, driven by playwright-core), with an emoji font for its screenshots (best
# effort). Idempotent; needs root and apt-get to install. Set CHROMIUM_PATH to use a Chromium
# elsewhere instead.
set -euo pipefail
log() { printf 'browser: %s\n' "$*"; }
# shellcheck source=debian-packages.sh
. "$(dirname "${BASH_SOURCE[0]}")/debian-packages.sh"
emoji_font() {
  [ -e /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ] && return 0
  can_apt || return 0
  apt_install fonts-noto-color-emoji 2>/dev/null || log "no emoji font; screenshots show boxes for emoji"
}
if [ -n "${CHROMIUM_PATH:-}" ] && [ -x "${CHROMIUM_PATH}" ]; then exit 0; fi
if ! command -v chromium >/dev/null 2>&1; then
  if ! can_apt; then
    log "Chromium is missing and cannot be installed here (needs root and apt-get): install it, or set CHROMIUM_PATH"
    exit 1
  fi
  log "installing chromium from Debian's packages"
  apt_install chromium
fi
emoji_font
