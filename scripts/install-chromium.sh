#!/usr/bin/env bash
# Installs Debian's chromium (for the headless-browser test of the HTML system card) unless a
# Chromium is already there ($CHROMIUM or /usr/bin/chromium). Needs root or passwordless sudo.
set -euo pipefail
if [ -n "${CHROMIUM:-}" ] && [ -x "$CHROMIUM" ]; then exit 0; fi
if [ -x /usr/bin/chromium ]; then exit 0; fi
sudo=""
if [ "$(id -u)" != 0 ]; then sudo="sudo -n"; fi
echo "install-chromium: apt-get install chromium" >&2
$sudo apt-get update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium >/dev/null
/usr/bin/chromium --version >&2
