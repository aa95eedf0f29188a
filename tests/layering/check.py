#!/usr/bin/env python3
"""Layering guard for what `cargo tree` cannot see (run by tests/run-all.sh).

1. One definition of the output set: every output file name of the session's
   table (toolkit/session/src/outputs.rs) appears as a string literal in
   exactly one non-test source file.
2. No import cycle between the modules of a Rust crate (`crate::a` used in
   b and `crate::b` used in a, or longer loops).
3. JS: the WASI polyfill (@wprof/wasi, polyfill-js/wasi/src) imports no
   other package and, outside its src/node, no Node built-in; the profiler's
   browser-loaded code (polyfill-js/src/probe, src/browser) imports no Node
   built-in and no package (a worker has no import map; Node built-ins live
   in polyfill-js/src/node); the demo site's page and workers import no Node
   built-in.

Exits 1 with one `error:` line per violation.
"""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ["toolkit/profile/src", "toolkit/instrument/src", "toolkit/session/src",
           "toolkit/browser/src", "profiler/src", "polyfill-js/src", "polyfill-js/bin",
           "polyfill-js/wasi/src", "demo-site/src"]


def source_files(exts):
    for d in SOURCES:
        base = ROOT / d
        if base.is_dir():
            yield from (p for p in base.rglob("*") if p.suffix in exts and p.is_file())


def output_names(errors):
    table = (ROOT / "toolkit/session/src/outputs.rs").read_text()
    names = re.findall(r'(?:name:|&str =)\s*"([^"]+\.[a-z.]+)"', table)
    if len(names) < 5:
        errors.append(f"found only {names} in the output table; this check needs updating")
    for name in names:
        literal = re.compile(r"[\"'`]" + re.escape(name) + r"[\"'`]")
        where = [p for p in source_files({".rs", ".js", ".mjs", ".ts"})
                 if any(literal.search(line) and not line.lstrip().startswith(("//", "*"))
                        for line in p.read_text().splitlines())]
        if len(where) != 1:
            rel = ", ".join(str(p.relative_to(ROOT)) for p in where) or "nowhere"
            errors.append(f"output file name `{name}` is written in {len(where)} source files: {rel}")


def rust_cycles(errors):
    for krate in ["toolkit/profile", "toolkit/instrument", "toolkit/session", "toolkit/browser", "profiler"]:
        src = ROOT / krate / "src"
        mods = {}
        for p in src.rglob("*.rs"):
            rel = p.relative_to(src).with_suffix("")
            parts = [x for x in rel.parts if x not in ("mod", "lib", "main")]
            if parts:
                mods.setdefault(parts[0], set()).update(
                    re.findall(r"crate::(\w+)", p.read_text()))
        graph = {m: {d for d in deps if d in mods and d != m} for m, deps in mods.items()}
        state = {}

        def visit(m, path):
            state[m] = 1
            for d in sorted(graph[m]):
                if state.get(d) == 1:
                    cycle = path[path.index(d):] + [d]
                    errors.append(f"{krate}: module import cycle {' -> '.join(cycle)}")
                elif d not in state:
                    visit(d, path + [d])
            state[m] = 2

        for m in sorted(graph):
            if m not in state:
                visit(m, [m])


def js_layers(errors):
    imports = re.compile(r"""(?:import|export)\s[^;]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]|^\s*import\s+['"]([^'"]+)['"]|new URL\(\s*['"]([^'"]+)['"]""", re.M)
    package = r"^(?![./])(?!node:)"
    for layer, skip, forbidden, why in [
        ("polyfill-js/wasi/src", "node", re.compile(r"^node:|" + package + r"|^\.\./\.\."),
         "the WASI polyfill knows no Node (outside src/node), no profiler and no other package"),
        ("polyfill-js/wasi/src/node", None, re.compile(package + r"|^\.\./\.\./"),
         "the WASI polyfill imports no other package"),
        ("polyfill-js/src/probe", None, re.compile(r"^(node:|\.\./node)|" + package),
         "the probe host runs in browsers: no Node built-ins (src/node), no packages (workers have no import map)"),
        ("polyfill-js/src/browser", None, re.compile(r"^(node:|\.\./node)|" + package),
         "the browser sampler runs in browsers: no Node built-ins, no packages"),
        ("demo-site/src", None, re.compile(r"^node:|" + package), "the demo page and its workers run in browsers, without an import map"),
    ]:
        base = ROOT / layer
        if not base.is_dir():
            errors.append(f"{layer} is missing; this check needs updating")
            continue
        for p in base.rglob("*.js"):
            if skip and (base / skip) in p.parents:
                continue
            for m in imports.finditer(p.read_text()):
                spec = m.group(1) or m.group(2) or m.group(3) or m.group(4)
                if forbidden.search(spec):
                    errors.append(f"{p.relative_to(ROOT)} imports `{spec}`: {why}")


def main():
    errors = []
    output_names(errors)
    rust_cycles(errors)
    js_layers(errors)
    for e in errors:
        print(f"error: {e}", file=sys.stderr)
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
