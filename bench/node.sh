#!/usr/bin/env bash
# wprof's Node benchmark: probe overhead of the instrumented artifact vs the
# plain module in Node, and the WASI polyfill's fd_write/fd_read throughput
# vs node:wasi; ratios against baselines measured in the same invocation.
# Usage: bench/node.sh [ROUNDS]   (default 7; needs `npm run build:wasm`)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --target wasm32-wasip1 --workspace \
  --manifest-path tests/guests/rust/Cargo.toml --target-dir target/guests >&2
exec node bench/node.mjs "$@"
