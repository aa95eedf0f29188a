//! `.wat` fixtures under `tests/cli/`: each states how to run it (`;; RUN:`),
//! wprof's exit code (`;; EXIT:`), how the guest ended (`;; KIND:`) and the
//! exact calls per function (`;; CALLS:`); a sibling `.results` file holds
//! what the uninstrumented module returns, which the instrumented run must
//! return too. The instrumented artifact must validate.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::*;

#[derive(Debug, Default)]
struct Fixture {
    run: Vec<String>,
    exit: Option<i32>,
    kind: Option<String>,
    calls: BTreeMap<String, u64>,
}

fn parse(path: &Path) -> Fixture {
    let text = std::fs::read_to_string(path).unwrap();
    let mut f = Fixture::default();
    for line in text.lines() {
        let Some(d) = line.trim().strip_prefix(";;") else {
            continue;
        };
        let d = d.trim();
        if let Some(rest) = d.strip_prefix("RUN:") {
            f.run = rest
                .split_whitespace()
                .map(|a| {
                    if a == "%" {
                        path.to_str().unwrap().to_string()
                    } else {
                        a.to_string()
                    }
                })
                .collect();
        } else if let Some(rest) = d.strip_prefix("EXIT:") {
            f.exit = Some(rest.trim().parse().unwrap());
        } else if let Some(rest) = d.strip_prefix("KIND:") {
            f.kind = Some(rest.trim().to_string());
        } else if let Some(rest) = d.strip_prefix("CALLS:") {
            for pair in rest.split_whitespace() {
                let (name, n) = pair
                    .split_once('=')
                    .unwrap_or_else(|| panic!("bad CALLS {pair}"));
                f.calls
                    .insert(name.trim_start_matches('$').to_string(), n.parse().unwrap());
            }
        }
    }
    assert_eq!(
        f.run.first().map(String::as_str),
        Some("run"),
        "{}: needs `;; RUN: run …`",
        path.display()
    );
    f
}

fn fixtures() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(repo().join("tests/cli"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "wat"))
        .collect();
    v.sort();
    v
}

#[test]
fn wat_fixtures() {
    let all = fixtures();
    assert!(all.len() >= 8, "fixtures present: {all:?}");
    let mut failures = Vec::new();
    for path in &all {
        if let Err(e) = check(path) {
            failures.push(format!("{}: {e}", path.display()));
        }
    }
    assert!(
        failures.is_empty(),
        "fixture failures:\n{}",
        failures.join("\n")
    );
}

fn check(path: &Path) -> Result<(), String> {
    let f = parse(path);
    let name = path.file_stem().unwrap().to_str().unwrap();
    let out = temp_dir(&format!("cli-{name}"));
    let mut args: Vec<&str> = vec!["run", "--out", out.to_str().unwrap()];
    args.extend(f.run.iter().skip(1).map(String::as_str));
    let o = wprof(&args);
    let err = stderr(&o);
    if let Some(code) = f.exit
        && o.status.code() != Some(code)
    {
        return Err(format!(
            "exit {:?}, expected {code}\n{err}",
            o.status.code()
        ));
    }
    let summary: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("summary.json"))
            .map_err(|e| format!("summary: {e}\n{err}"))?,
    )
    .unwrap();
    if let Some(kind) = &f.kind
        && summary["exit"]["kind"] != kind.as_str()
    {
        return Err(format!(
            "exit kind {}, expected {kind}",
            summary["exit"]["kind"]
        ));
    }
    for (func, n) in &f.calls {
        let got = calls(&summary, func).unwrap_or(0);
        if got != *n {
            return Err(format!("calls of {func}: {got}, expected {n}"));
        }
    }
    // Same results as the original module (recorded in `.results`).
    let results_file = path.with_extension("results");
    if let Ok(expected) = std::fs::read_to_string(&results_file) {
        let expected = expected.trim();
        let got = if summary["exit"]["kind"] == "trap" {
            "trap".to_string()
        } else if summary["exit"]["code"] != 0 {
            format!("exit:{}", summary["exit"]["code"])
        } else {
            summary["invoke"]["results"]
                .as_array()
                .map(|r| {
                    r.iter()
                        .map(|v| v.as_str().unwrap().to_string())
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .unwrap_or_default()
        };
        if got != expected {
            return Err(format!(
                "results `{got}`, original module gives `{expected}`"
            ));
        }
    }
    // The artifact `wprof instrument` writes validates.
    let artifact = out.join("instrumented.wasm");
    let o = wprof(&[
        "instrument",
        path.to_str().unwrap(),
        "-o",
        artifact.to_str().unwrap(),
    ]);
    if !o.status.success() {
        return Err(format!("wprof instrument failed: {}", stderr(&o)));
    }
    wprof_instrument::validate(&std::fs::read(&artifact).unwrap())
        .map_err(|e| format!("artifact invalid: {e}"))?;
    Ok(())
}

/// A module whose instrumenting takes a noticeable moment: 100,000
/// functions.
fn many_functions(dir: &Path) -> PathBuf {
    let mut wat = String::from("(module (memory 1)\n");
    for i in 0..100_000 {
        let callee = if i == 0 {
            "(i32.const 0)".to_string()
        } else {
            format!("(call $f{} (local.get 0))", i - 1)
        };
        wat.push_str(&format!(
            "(func $f{i} (param i32) (result i32) (i32.add (local.get 0) {callee}))\n"
        ));
    }
    wat.push_str("(func (export \"_start\") (drop (call $f99999 (i32.const 1)))))");
    let path = dir.join("many.wat");
    std::fs::write(&path, wat).unwrap();
    path
}

#[test]
fn progress_shows_on_a_terminal_only() {
    let dir = temp_dir("progress");
    let module = many_functions(&dir);
    let out = dir.join("out.wasm");
    let args = [
        "instrument",
        module.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ];
    // Not a terminal (captured): the step's line never appears, even when
    // it is due at once.
    let plain = Command::new(env!("CARGO_BIN_EXE_wprof"))
        .args(args)
        .env("WPROF_PROGRESS_AFTER_MS", "0")
        .output()
        .unwrap();
    assert!(plain.status.success(), "{}", stderr(&plain));
    let err = stderr(&plain);
    assert!(!err.contains("instrumenting ("), "{err}");
    assert!(!err.contains('\r'), "{err:?}");
    assert!(
        err.starts_with("wprof: instrumented 100001 functions"),
        "{err}"
    );
    // On a terminal (a pseudo-terminal from Python's pty module), it does.
    let tty = Command::new("python3")
        .args(["-c", "import pty, sys; pty.spawn(sys.argv[1:])"])
        .arg(env!("CARGO_BIN_EXE_wprof"))
        .args(args)
        .env("WPROF_PROGRESS_AFTER_MS", "0")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&tty.stdout);
    assert!(text.contains("wprof: instrumenting (2.3 MB)"), "{text:?}");
    assert!(
        text.contains("wprof: instrumented 100001 functions"),
        "{text:?}"
    );
}
