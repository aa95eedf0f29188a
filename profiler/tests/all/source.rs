//! Source locations from DWARF: declarations in every mode, lines and
//! inlined frames in sample mode, a separate debug file for a stripped
//! module, and DWARF that survives instrumenting. Expected lines are found
//! in the guests' source text, not written down here.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::support::*;

/// The 1-based line of `path` that contains `needle`.
fn line_of(path: &Path, needle: &str) -> u32 {
    let text = std::fs::read_to_string(path).unwrap();
    let i = text
        .lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("`{needle}` not in {}", path.display()));
    i as u32 + 1
}

fn function<'a>(summary: &'a Value, name: &str) -> &'a Value {
    summary["functions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == name)
        .unwrap_or_else(|| panic!("no `{name}` in {summary}"))
}

fn declared(summary: &Value, name: &str) -> (String, u32) {
    let f = function(summary, name);
    (
        f["file"].as_str().unwrap_or_default().to_string(),
        f["line"].as_u64().unwrap_or_default() as u32,
    )
}

fn c_source() -> std::path::PathBuf {
    repo().join("tests/guests/c/inline.c")
}

fn rust_source() -> std::path::PathBuf {
    repo().join("tests/guests/rust/debuginfo/src/main.rs")
}

/// `wasm` without its `.debug_*` custom sections, written next to it.
fn stripped(wasm: &Path, dir: &Path) -> std::path::PathBuf {
    let bytes = std::fs::read(wasm).unwrap();
    let mut out = bytes[..8].to_vec();
    let mut rest = &bytes[8..];
    while !rest.is_empty() {
        let id = rest[0];
        let mut reader = wasmparser::BinaryReader::new(&rest[1..], 0);
        let size = reader.read_var_u32().unwrap() as usize;
        let header = 1 + reader.original_position();
        let section = &rest[..header + size];
        let debug = id == 0 && {
            let mut name = wasmparser::BinaryReader::new(&section[header..], 0);
            name.read_string().unwrap().starts_with(".debug_")
        };
        if !debug {
            out.extend_from_slice(section);
        }
        rest = &rest[header + size..];
    }
    let path = dir.join("stripped.wasm");
    std::fs::write(&path, out).unwrap();
    path
}

#[test]
fn functions_carry_their_declarations() {
    let Some(c) = c_guest("inline") else { return };
    let rust = rust_guest("inlined");
    for mode in ["instrument", "sample"] {
        let (out, summary, _) = run_profile(
            &format!("source-decl-c-{mode}"),
            &["--mode", mode, c.to_str().unwrap()],
        );
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let (file, line) = declared(&summary, "mix");
        assert!(file.ends_with("tests/guests/c/inline.c"), "{file}");
        assert_eq!(line, line_of(&c_source(), "static uint64_t mix("), "{mode}");
        let (_, line) = declared(&summary, "__original_main");
        assert_eq!(line, line_of(&c_source(), "int main(void)"), "{mode}");

        let (out, summary, _) = run_profile(
            &format!("source-decl-rust-{mode}"),
            &["--mode", mode, rust.to_str().unwrap()],
        );
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let (file, line) = declared(&summary, "inlined::churn");
        assert!(file.ends_with("debuginfo/src/main.rs"), "{file}");
        assert_eq!(line, line_of(&rust_source(), "fn churn("), "{mode}");
    }
}

#[test]
fn sample_mode_shows_inlined_functions_at_their_lines() {
    let Some(c) = c_guest("inline") else { return };
    let rust = rust_guest("inlined");
    for (test, wasm, source, caller, inlined, decl) in [
        (
            "source-inline-c",
            c,
            c_source(),
            "mix",
            "step",
            "static inline uint64_t step(",
        ),
        (
            "source-inline-rust",
            rust,
            rust_source(),
            "inlined::churn",
            "inlined::scramble",
            "fn scramble(",
        ),
    ] {
        let (out, summary, dir) = run_profile(test, &["--mode", "sample", wasm.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let sampled = summary["cpu"]["sampled_ns"].as_u64().unwrap();
        let f = function(&summary, inlined);
        assert_eq!(f["inlined"], true, "{f}");
        // Its body is most of the work; without inlined frames all of it
        // would sit on the caller.
        assert!(
            f["self_ns"].as_u64().unwrap() * 2 > sampled,
            "{inlined}: {f} of {sampled} ns"
        );
        let (_, line) = declared(&summary, inlined);
        let decl = line_of(&source, decl);
        assert_eq!(line, decl);
        // A frame of its own, under the function it was inlined into.
        let folded = std::fs::read_to_string(dir.join("cpu.folded")).unwrap();
        assert!(
            folded.contains(&format!(";{caller};{inlined} (inlined) ")),
            "{folded}"
        );
        // Its hottest line is in its body (the three lines after the
        // declaration), by `wprof report --lines`.
        let report = wprof(&["report", dir.to_str().unwrap(), "--lines"]);
        let text = String::from_utf8_lossy(&report.stdout);
        let row = text
            .lines()
            .find(|l| l.ends_with(&format!("  ({inlined})")))
            .unwrap_or_default();
        let hot = (decl + 1..=decl + 3).any(|l| row.contains(&format!(":{l}  (")));
        assert!(hot, "{text}");
        // go tool pprof reads the same from cpu.pb.gz: lines, and inlining.
        if let Some(go) = go() {
            let out = Command::new(&go)
                .args(["tool", "pprof", "-lines", "-top"])
                .arg(dir.join("cpu.pb.gz"))
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&out.stdout);
            let top = text
                .lines()
                .skip_while(|l| !l.contains("flat%"))
                .find(|l| l.contains(&format!(" {inlined} ")))
                .unwrap_or_default();
            assert!(
                top.contains("(inline)"),
                "go tool pprof -lines -top:\n{text}"
            );
            assert!(
                (decl + 1..=decl + 3).any(|l| top.contains(&format!(":{l} "))),
                "{text}"
            );
            // -list shows the caller's source, its inlined call costing the
            // most: the file is the source, not the module.
            let list = go_pprof(
                &go,
                &["-list", &format!("^{caller}$")],
                &dir.join("cpu.pb.gz"),
            );
            let call = std::fs::read_to_string(&source)
                .unwrap()
                .lines()
                .find(|l| {
                    l.contains(&format!("{}(", inlined.rsplit("::").next().unwrap()))
                        && l.contains("x = ")
                })
                .unwrap()
                .trim()
                .to_string();
            assert!(
                list.contains(&call),
                "-list {caller} shows `{call}`:\n{list}"
            );
        }
    }
}

#[test]
fn a_debug_file_symbolizes_a_stripped_module() {
    let Some(c) = c_guest("inline") else { return };
    let dir = temp_dir("source-stripped");
    let bare = stripped(&c, &dir);
    assert!(std::fs::metadata(&bare).unwrap().len() < std::fs::metadata(&c).unwrap().len());
    for mode in ["instrument", "sample"] {
        let (_, full, _) = run_profile(
            &format!("source-full-{mode}"),
            &["--mode", mode, c.to_str().unwrap()],
        );
        let (out, without, _) = run_profile(
            &format!("source-bare-{mode}"),
            &["--mode", mode, bare.to_str().unwrap()],
        );
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert_eq!(declared(&without, "mix"), (String::new(), 0), "{mode}");
        let (out, with, _) = run_profile(
            &format!("source-debug-file-{mode}"),
            &[
                "--mode",
                mode,
                "--debug-file",
                c.to_str().unwrap(),
                bare.to_str().unwrap(),
            ],
        );
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        for name in ["mix", "__original_main", "_start"] {
            assert_eq!(
                declared(&with, name),
                declared(&full, name),
                "{mode} {name}"
            );
        }
        if mode == "sample" {
            assert_eq!(function(&with, "step")["inlined"], true);
        }
    }
    // Found before anything runs, with its cause.
    let out_dir = temp_dir("source-debug-file-missing");
    let out = wprof(&[
        "run",
        "--out",
        out_dir.to_str().unwrap(),
        "--debug-file",
        "/nonexistent.wasm",
        bare.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.starts_with("error: failed to read --debug-file `/nonexistent.wasm`"),
        "{err}"
    );
    assert!(!out_dir.join("summary.json").exists());
    // Not a module at all: the session says so.
    let junk = dir.join("junk.wasm");
    std::fs::write(&junk, b"not wasm").unwrap();
    let out = wprof(&[
        "run",
        "--out",
        out_dir.to_str().unwrap(),
        "--debug-file",
        junk.to_str().unwrap(),
        bare.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("junk.wasm"), "{}", stderr(&out));
}

/// Module offsets of the instructions of function `index` that can never
/// run: those after an unconditional trap or branch, up to the end of their
/// block. Rewriters drop them, and their rows with them.
fn dead_code(wasm: &[u8], index: u32) -> std::collections::HashSet<u64> {
    use wasmparser::{Operator, Payload};
    let mut imports = 0;
    let mut dead = std::collections::HashSet::new();
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        match payload.unwrap() {
            Payload::ImportSection(r) => {
                for i in r.into_imports() {
                    imports += matches!(i.unwrap().ty, wasmparser::TypeRef::Func(_)) as u32;
                }
            }
            Payload::CodeSectionEntry(body) if imports == index => {
                let mut ops = body.get_operators_reader().unwrap();
                let (mut depth, mut dead_at) = (0u32, None);
                while !ops.eof() {
                    let (op, at) = ops.read_with_offset().unwrap();
                    let closes = matches!(op, Operator::End | Operator::Else);
                    if closes && dead_at == Some(depth) {
                        dead_at = None;
                    }
                    if dead_at.is_some() {
                        dead.insert(at as u64);
                    }
                    match op {
                        Operator::Block { .. }
                        | Operator::Loop { .. }
                        | Operator::If { .. }
                        | Operator::TryTable { .. } => depth += 1,
                        Operator::End => depth = depth.saturating_sub(1),
                        Operator::Unreachable
                        | Operator::Br { .. }
                        | Operator::BrTable { .. }
                        | Operator::Return
                        | Operator::ReturnCall { .. }
                        | Operator::ReturnCallIndirect { .. }
                        | Operator::Throw { .. }
                            if dead_at.is_none() =>
                        {
                            dead_at = Some(depth)
                        }
                        _ => {}
                    }
                }
                return dead;
            }
            Payload::CodeSectionEntry(_) => imports += 1,
            _ => {}
        }
    }
    dead
}

#[test]
fn instrumenting_keeps_the_live_line_rows() {
    use wprof_instrument::source::Sources;
    let Some(c) = c_guest("inline") else { return };
    let rust = rust_guest("inlined");
    for wasm in [c, rust] {
        let original = std::fs::read(&wasm).unwrap();
        let out = wprof_instrument::instrument(&original, &Default::default()).unwrap();
        let before = Sources::new(&original, &original).unwrap().unwrap();
        let after = Sources::new(&out.wasm, &out.wasm).unwrap().unwrap();
        // The artifact orders functions its own way; its name section
        // says which is which.
        let names = |w: &[u8]| {
            let symbols = wprof_instrument::symbolize::Symbols::from_module(w).unwrap();
            let mut by_name = std::collections::HashMap::new();
            for i in 0..100_000u32 {
                if let Some(n) = symbols.raw(i) {
                    by_name.entry(n.to_string()).or_insert(Vec::new()).push(i);
                }
            }
            by_name
        };
        let (old, new) = (names(&original), names(&out.wasm));
        let mut compared = 0;
        for (name, at) in &old {
            let (&[before_index], Some(&[after_index])) = (&at[..], new.get(name).map(|v| &v[..]))
            else {
                continue;
            };
            let dead = dead_code(&original, before_index);
            let rows: std::collections::BTreeSet<_> = before
                .rows(before_index)
                .into_iter()
                .filter(|(at, _)| !dead.contains(at))
                .map(|(_, l)| (l.file, l.line))
                .collect();
            if rows.is_empty() {
                continue;
            }
            let kept: std::collections::BTreeSet<_> = after
                .rows(after_index)
                .into_iter()
                .map(|(_, l)| (l.file, l.line))
                .collect();
            assert_eq!(kept, rows, "{}: line rows of {name}", wasm.display(),);
            compared += 1;
        }
        assert!(compared > 10, "{}: {compared} functions", wasm.display());
    }
}

#[test]
fn line_tables_alone_still_place_every_function() {
    // Release builds often ship line tables only: no declarations, but each
    // function's first row is its opening line.
    let Some(_) = c_guest("inline") else { return };
    let dir = temp_dir("source-line-tables");
    let wasm = dir.join("inline.wasm");
    let built = Command::new("clang")
        .args(["--target=wasm32-wasi", "-O2", "-gline-tables-only", "-o"])
        .arg(&wasm)
        .arg(c_source())
        .output()
        .unwrap();
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    for mode in ["instrument", "sample"] {
        let (out, summary, _) = run_profile(
            &format!("source-line-tables-{mode}"),
            &["--mode", mode, wasm.to_str().unwrap()],
        );
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let (file, line) = declared(&summary, "mix");
        assert!(file.ends_with("tests/guests/c/inline.c"), "{mode}: {file}");
        // The opening line, or the first statement's, never outside mix.
        let decl = line_of(&c_source(), "static uint64_t mix(");
        assert!(
            (decl..decl + 3).contains(&line),
            "{mode}: mix at {line}, declared at {decl}"
        );
    }
}

/// `wasm` with an `external_debug_info` section naming `name`.
fn naming_debug_info(wasm: &Path, name: &str) -> Vec<u8> {
    let mut bytes = std::fs::read(wasm).unwrap();
    let mut payload = Vec::new();
    for field in ["external_debug_info", name] {
        leb(&mut payload, field.len() as u32);
        payload.extend_from_slice(field.as_bytes());
    }
    bytes.push(0);
    leb(&mut bytes, payload.len() as u32);
    bytes.extend_from_slice(&payload);
    bytes
}

fn leb(out: &mut Vec<u8>, mut v: u32) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

#[test]
fn external_debug_info_is_followed_relative_to_the_module() {
    let Some(c) = c_guest("inline") else { return };
    let dir = temp_dir("source-external");
    std::fs::copy(&c, dir.join("inline.debug.wasm")).unwrap();
    let bare = stripped(&c, &dir);
    let named = dir.join("named.wasm");
    std::fs::write(&named, naming_debug_info(&bare, "inline.debug.wasm")).unwrap();
    let (out, summary, _) = run_profile("source-external-run", &[named.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (file, line) = declared(&summary, "mix");
    assert!(file.ends_with("tests/guests/c/inline.c"), "{file}");
    assert_eq!(line, line_of(&c_source(), "static uint64_t mix("));
    // A name that leads nowhere: a warning, and the run without locations.
    let lost = dir.join("lost.wasm");
    std::fs::write(&lost, naming_debug_info(&bare, "nowhere.wasm")).unwrap();
    let (out, summary, _) = run_profile("source-external-lost", &[lost.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("warning: failed to read the module's external_debug_info"),
        "{}",
        stderr(&out)
    );
    assert_eq!(declared(&summary, "mix"), (String::new(), 0));
}
