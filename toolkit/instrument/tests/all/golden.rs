//! `.wat` in, checked `.wat` out: each fixture is instrumented, printed as
//! text and compared with its golden under `tests/golden/`, so every change
//! to where the probes go shows up as a reviewable diff.
//!
//! - `tests/cli/*.wat` (repository root; one per way of leaving a function)
//!   with `Options::default()` → `tests/golden/NAME.wprof.wat`;
//! - `tests/rewrite/*.wat` (this crate; rewrite cases the CLI fixtures do not
//!   reach) with `Options::default()` → `tests/golden/rewrite/NAME.wprof.wat`;
//! - `tests/memory/*.wat` (this crate) with `Options::memory` →
//!   `tests/golden/memory/NAME.wprof.wat`;
//! - `tests/linked/*.wat`, and the CLI and rewrite fixtures again, with
//!   `Options::link_runtime` → `tests/golden/linked/[cli/|rewrite/]NAME.wprof.wat`.
//!
//! The `wprof.abi` custom section is cut out of the printed module and shown
//! as pretty JSON in the golden's leading comment, where a reviewer can read
//! it. `WPROF_BLESS=1` rewrites the goldens (and deletes stale ones) instead
//! of comparing.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use wprof_instrument::{Manifest, Options, abi, instrument};

/// Lines of unchanged text shown around a difference.
const CONTEXT: usize = 3;
/// Changed lines shown before eliding the rest.
const MAX_CHANGES: usize = 40;

fn crate_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn goldens() -> PathBuf {
    crate_dir().join("tests/golden")
}

fn bless() -> bool {
    std::env::var("WPROF_BLESS").is_ok_and(|v| !v.is_empty() && v != "0")
}

#[test]
fn cli_fixtures() {
    check_all(
        &crate_dir().join("../../tests/cli"),
        "tests/cli",
        &goldens(),
        &Options::default(),
        "Options::default()",
    );
}

#[test]
fn rewrite_fixtures() {
    check_all(
        &crate_dir().join("tests/rewrite"),
        "toolkit/instrument/tests/rewrite",
        &goldens().join("rewrite"),
        &Options::default(),
        "Options::default()",
    );
}

#[test]
fn memory_fixtures() {
    let mut options = Options::default();
    options.memory = true;
    check_all(
        &crate_dir().join("tests/memory"),
        "toolkit/instrument/tests/memory",
        &goldens().join("memory"),
        &options,
        "Options { memory: true, .. }",
    );
}

#[test]
fn linked_fixtures() {
    let mut options = Options::default();
    options.link_runtime = true;
    let described = "Options { link_runtime: true, .. }";
    check_all(
        &crate_dir().join("tests/linked"),
        "toolkit/instrument/tests/linked",
        &goldens().join("linked"),
        &options,
        described,
    );
    // Every way of leaving a function, and every landing site, again with
    // the probes the streaming instrumenter writes for a linked runtime.
    check_all(
        &crate_dir().join("../../tests/cli"),
        "tests/cli",
        &goldens().join("linked/cli"),
        &options,
        described,
    );
    check_all(
        &crate_dir().join("tests/rewrite"),
        "toolkit/instrument/tests/rewrite",
        &goldens().join("linked/rewrite"),
        &options,
        described,
    );
}

/// Compares (or with `WPROF_BLESS`, rewrites) the golden of every `.wat` in
/// `sources`; `shown` is how the golden's header names that directory.
fn check_all(sources: &Path, shown: &str, goldens: &Path, options: &Options, described: &str) {
    let fixtures = files(sources, ".wat");
    assert!(!fixtures.is_empty(), "no fixtures in {}", sources.display());
    let bless = bless();
    if bless {
        std::fs::create_dir_all(goldens).unwrap();
    }
    let mut failures = Vec::new();
    let mut expected_goldens = Vec::new();
    for (name, path) in &fixtures {
        let golden = goldens.join(format!("{name}.wprof.wat"));
        expected_goldens.push(golden.clone());
        let header = format!("{shown}/{name}.wat instrumented with {described}");
        let actual = match render(path, options, &header) {
            Ok(text) => text,
            Err(e) => {
                failures.push(format!("{name}.wat: {e}"));
                continue;
            }
        };
        let expected = std::fs::read_to_string(&golden).ok();
        if expected.as_deref() == Some(actual.as_str()) {
            continue;
        }
        if bless {
            std::fs::write(&golden, &actual).unwrap();
            eprintln!("blessed {}", golden.display());
            continue;
        }
        failures.push(match expected {
            None => format!("{name}.wat: no golden {}", golden.display()),
            Some(expected) => format!(
                "{name}.wat: instrumented text differs from {}\n{}",
                golden.display(),
                diff(&expected, &actual)
            ),
        });
    }
    // A golden without a fixture documents a rewrite nobody checks anymore.
    for (_, golden) in files(goldens, ".wprof.wat") {
        if expected_goldens.contains(&golden) {
            continue;
        }
        if bless {
            std::fs::remove_file(&golden).unwrap();
            eprintln!("removed stale {}", golden.display());
        } else {
            failures.push(format!("stale golden {} has no fixture", golden.display()));
        }
    }
    assert!(
        failures.is_empty(),
        "{}\n\nIf the change is intended, rerun with WPROF_BLESS=1 and review \
         `git diff toolkit/instrument/tests/golden`.",
        failures.join("\n\n")
    );
}

/// `(stem, path)` of the files in `dir` whose name ends in `suffix`, sorted.
/// A missing directory has none.
fn files(dir: &Path, suffix: &str) -> Vec<(String, PathBuf)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<(String, PathBuf)> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .filter_map(|p| {
            let stem = p.file_name()?.to_str()?.strip_suffix(suffix)?.to_string();
            Some((stem, p))
        })
        .collect();
    out.sort();
    out
}

/// The golden text of fixture `path`: a comment naming the input and showing
/// the manifest, then the instrumented module without its manifest section.
fn render(path: &Path, options: &Options, header: &str) -> Result<String, String> {
    let wasm = wat::parse_file(path).map_err(|e| format!("does not parse: {e}"))?;
    let out = instrument(&wasm, options).map_err(|e| format!("instrumenting failed: {e}"))?;
    // Goldens are only useful if the same input always gives the same bytes.
    let again = instrument(&wasm, options).map_err(|e| format!("instrumenting failed: {e}"))?;
    if again.wasm != out.wasm {
        return Err("instrumenting twice gave different bytes".into());
    }
    let (module, section) = cut_manifest(&out.wasm)?;
    let manifest: Manifest = serde_json::from_slice(section)
        .map_err(|e| format!("`{}` section does not decode: {e}", abi::SECTION))?;
    if manifest != out.manifest {
        return Err(format!(
            "`{}` section says {manifest:?}, instrument returned {:?}",
            abi::SECTION,
            out.manifest
        ));
    }
    let text = wasmprinter::print_bytes(&module).map_err(|e| format!("does not print: {e:#}"))?;
    let json = serde_json::to_string_pretty(&manifest).unwrap();

    let mut golden = format!(
        ";; {header}.\n\
         ;; Generated by toolkit/instrument/tests/all/golden.rs; WPROF_BLESS=1 rewrites it.\n\
         ;;\n\
         ;; `{}` section (cut from the module below):\n",
        abi::SECTION
    );
    for line in json.lines() {
        golden.push_str(";; ");
        golden.push_str(line);
        golden.push('\n');
    }
    golden.push_str(&text);
    if !golden.ends_with('\n') {
        golden.push('\n');
    }
    Ok(golden)
}

/// Splits `wasm` into the module without its one `wprof.abi` custom section
/// and that section's payload.
fn cut_manifest(wasm: &[u8]) -> Result<(Vec<u8>, &[u8]), String> {
    use wasmparser::{Chunk, Parser, Payload};
    let mut parser = Parser::new(0);
    let mut offset = 0;
    let mut found = None;
    loop {
        let (consumed, payload) = match parser.parse(&wasm[offset..], true) {
            Ok(Chunk::Parsed { consumed, payload }) => (consumed, payload),
            Ok(Chunk::NeedMoreData(_)) => unreachable!("eof is set"),
            Err(e) => return Err(format!("instrumented module does not parse: {e}")),
        };
        let mut skip = 0;
        match payload {
            // Function bodies are of no interest here.
            Payload::CodeSectionStart { size, .. } => {
                parser.skip_section();
                skip = size as usize;
            }
            Payload::CustomSection(c) if c.name() == abi::SECTION => {
                if found.is_some() {
                    return Err(format!("two `{}` sections", abi::SECTION));
                }
                // A section arrives whole: `consumed` spans its id and size too.
                found = Some((offset..offset + consumed, c.data()));
            }
            Payload::End(_) => break,
            _ => {}
        }
        offset += consumed + skip;
    }
    let (range, data) = found.ok_or_else(|| format!("no `{}` section", abi::SECTION))?;
    let mut module = wasm[..range.start].to_vec();
    module.extend_from_slice(&wasm[range.end..]);
    Ok((module, data))
}

/// The first differing lines of `expected` and `actual` in unified-diff
/// style: hunks with a few lines of context, golden line numbers, and at most
/// `MAX_CHANGES` changed lines.
fn diff(expected: &str, actual: &str) -> String {
    let e: Vec<&str> = expected.lines().collect();
    let a: Vec<&str> = actual.lines().collect();
    let ops = edits(&e, &a);
    let changed: Vec<usize> = (0..ops.len()).filter(|&k| ops[k].0 != ' ').collect();
    if changed.is_empty() {
        return "  (the texts differ only in line endings or the final newline)".into();
    }
    let near = |k: usize| {
        changed
            .iter()
            .any(|&c| c.saturating_sub(CONTEXT) <= k && k <= c + CONTEXT)
    };
    let mut out = String::new();
    let mut shown = 0;
    let mut previous = None;
    for (k, &(sign, line, text)) in ops.iter().enumerate() {
        if !near(k) {
            continue;
        }
        if sign != ' ' && shown == MAX_CHANGES {
            let _ = writeln!(out, "  … {} more changed lines", changed.len() - shown);
            break;
        }
        if previous.is_none_or(|p| p + 1 != k) {
            let _ = writeln!(out, "  @@ golden line {} @@", line + 1);
        }
        previous = Some(k);
        shown += usize::from(sign != ' ');
        let _ = writeln!(out, "  {sign} {text}");
    }
    out
}

/// A shortest edit script from `e` to `a` as `(' ' | '-' | '+', line of e,
/// text)`, by longest common subsequence.
fn edits<'t>(e: &[&'t str], a: &[&'t str]) -> Vec<(char, usize, &'t str)> {
    let prefix = e.iter().zip(a).take_while(|(x, y)| x == y).count();
    let suffix = e[prefix..]
        .iter()
        .rev()
        .zip(a[prefix..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (em, am) = (&e[prefix..e.len() - suffix], &a[prefix..a.len() - suffix]);
    // lcs[i][j] is the LCS length of em[i..] and am[j..]. Goldens are a few
    // hundred lines; past a few million cells, show the middle as replaced.
    let small = em.len().saturating_mul(am.len()) <= 4_000_000;
    let mut lcs = vec![vec![0u32; am.len() + 1]; if small { em.len() + 1 } else { 1 }];
    if small {
        for i in (0..em.len()).rev() {
            for j in (0..am.len()).rev() {
                lcs[i][j] = if em[i] == am[j] {
                    lcs[i + 1][j + 1] + 1
                } else {
                    lcs[i + 1][j].max(lcs[i][j + 1])
                };
            }
        }
    }
    let mut ops: Vec<(char, usize, &str)> = (0..prefix).map(|i| (' ', i, e[i])).collect();
    let (mut i, mut j) = (0, 0);
    while i < em.len() || j < am.len() {
        if small && i < em.len() && j < am.len() && em[i] == am[j] {
            ops.push((' ', prefix + i, em[i]));
            i += 1;
            j += 1;
        } else if i < em.len() && (j == am.len() || !small || lcs[i + 1][j] >= lcs[i][j + 1]) {
            ops.push(('-', prefix + i, em[i]));
            i += 1;
        } else {
            ops.push(('+', prefix + i, am[j]));
            j += 1;
        }
    }
    ops.extend((e.len() - suffix..e.len()).map(|i| (' ', i, e[i])));
    ops
}
