#!/usr/bin/env bash
# Installs what wprof's tests need (idempotent: quick when already present),
# then runs every check and test. This is the README's test command and what
# .ci/run calls.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

step "rust targets"
rustup target list --installed | grep -qx wasm32-wasip1 || rustup target add wasm32-wasip1
rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy rustfmt

step "Go (for go tool pprof), from Debian bookworm-backports"
GO=/usr/lib/go-1.23/bin/go
if [ ! -x "$GO" ]; then
  src=/etc/apt/sources.list.d/debian.sources
  if [ -f "$src" ] && ! grep -q bookworm-backports "$src"; then
    as_root sed -i 's/^Suites: bookworm bookworm-updates$/& bookworm-backports/' "$src"
  fi
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -t bookworm-backports golang-1.23-go >/dev/null
fi
"$GO" version

step "format"
cargo fmt --all -- --check

step "clippy"
cargo clippy --workspace --all-targets --release -- -D warnings

step "layering: the profile model depends on no walrus/wasmtime/clap/wasm-bindgen"
if cargo tree -p wprof-profile -e normal --prefix none | grep -E '^(walrus|wasmtime|wasmtime-wasi|clap|wasm-bindgen|js-sys|web-sys) '; then
  echo "error: wprof-profile depends on a crate of a higher layer" >&2; exit 1
fi
if cargo tree -p wprof-instrument -e normal --prefix none | grep -E '^(wasmtime|wasmtime-wasi|clap|wasm-bindgen|js-sys|web-sys) '; then
  echo "error: wprof-instrument depends on a crate of a higher layer" >&2; exit 1
fi

step "toolkit for wasm32-unknown-unknown (the browser build)"
cargo build --release -p wprof-profile -p wprof-instrument -p wprof-browser --target wasm32-unknown-unknown

step "tests"
WPROF_REQUIRE_GO=1 cargo test --release --workspace
