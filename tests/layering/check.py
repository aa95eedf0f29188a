#!/usr/bin/env python3
"""Layering guard for what `cargo tree` cannot see (run by tests/run-all.sh).

1. One definition of the output set: every output file name of the session's
   table (toolkit/session/src/outputs.rs) appears as a string literal in
   exactly one non-test source file.
2. No import cycle between the modules of a Rust crate (`crate::a` used in
   b and `crate::b` used in a, or longer loops).
3. JS: the WASI polyfill (polyfill-js/src/wasi) imports nothing from the
   probe host; the probe host (polyfill-js/src/probe) imports no Node
   built-in (those live in polyfill-js/src/node).

Exits 1 with one `error:` line per violation.
"""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ["toolkit/profile/src", "toolkit/instrument/src", "toolkit/session/src",
           "toolkit/browser/src", "profiler/src", "polyfill-js/src", "polyfill-js/bin",
           "demo-site/src"]


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
    imports = re.compile(r"""(?:import|export)\s[^;]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]""")
    for layer, forbidden, why in [
        ("polyfill-js/src/wasi", re.compile(r"^(node:|\.\./probe|\.\./node)"), "the WASI polyfill knows no probe host and no Node"),
        ("polyfill-js/src/probe", re.compile(r"^(node:|\.\./node)"), "the probe host runs in browsers: Node built-ins live in src/node"),
    ]:
        for p in (ROOT / layer).rglob("*.js"):
            for m in imports.finditer(p.read_text()):
                spec = m.group(1) or m.group(2)
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
