#!/usr/bin/env bash
# Installs Debian's bubblewrap (the agent harness's sandbox, /usr/bin/bwrap) unless a bwrap is
# already there ($REDLINE_BWRAP or /usr/bin/bwrap). Needs root or passwordless sudo.
set -euo pipefail
if [ -n "${REDLINE_BWRAP:-}" ] && [ -x "$REDLINE_BWRAP" ]; then exit 0; fi
if [ -x /usr/bin/bwrap ]; then exit 0; fi
sudo=""
if [ "$(id -u)" != 0 ]; then sudo="sudo -n"; fi
echo "install-bubblewrap: apt-get install bubblewrap" >&2
$sudo apt-get update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends bubblewrap >/dev/null
/usr/bin/bwrap --version >&2
