//! `.wat` fixtures under `tests/cli/`: each states how to run it (`;; RUN:`),
//! wprof's exit code (`;; EXIT:`), how the guest ended (`;; KIND:`) and the
//! exact calls per function (`;; CALLS:`); a sibling `.results` file holds
//! what the uninstrumented module returns, which the instrumented run must
//! return too. The instrumented artifact must validate.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

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
