#!/usr/bin/env bash
# Cost of DWARF source locations on a big real module: wprof's own browser
# toolkit built for wasm32 (release, line tables: ~30 MB), read and 10,000
# sampled offsets resolved. Usage: bench/symbolize.sh [ROUNDS]   (default 5)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p wprof-browser --target wasm32-unknown-unknown >&2
exec cargo run --release --example symbolize -- \
  target/wasm32-unknown-unknown/release/wprof_browser.wasm "${1:-5}"
