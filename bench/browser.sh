#!/usr/bin/env bash
# wprof's page-side benchmark in headless Chromium: probe overhead of the
# instrumented artifact vs the plain module in a page, and time to first
# result in the demo page for a 20 MiB module (details in bench/browser.mjs).
# Usage: bench/browser.sh [ROUNDS]   (default 5; needs /usr/bin/chromium and
# `npm run build:wasm`)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --target wasm32-wasip1 --workspace \
  --manifest-path tests/guests/rust/Cargo.toml --target-dir target/guests >&2
node demo-site/build.js
exec node bench/browser.mjs "$@"
