#!/usr/bin/env bash
# wprof overhead benchmark: plain wasmtime vs --mode instrument vs --mode
# sample (and --memory) on a call-heavy, a compute-heavy and an allocation-heavy guest, interleaved, in one
# invocation. Usage: bench/run.sh [ROUNDS]   (default 7)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-7}
cargo build --release --target wasm32-wasip1 --workspace \
  --manifest-path tests/guests/rust/Cargo.toml --target-dir target/guests >&2
g=target/guests/wasm32-wasip1/release
cargo run --release --example bench -- "$rounds" \
  "callheavy=$g/callheavy.wasm:35" \
  "compute=$g/hot.wasm" \
  "allocheavy=$g/allocheavy.wasm:300"
