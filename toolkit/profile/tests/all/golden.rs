//! The golden-file mechanism: compare with `tests/golden/<name>`, or rewrite
//! it under `WPROF_BLESS=1`.

use std::path::PathBuf;

/// Lines of a mismatch shown before the rest is summarised.
const SHOWN: usize = 12;

/// Whether this run rewrites goldens instead of checking them.
pub fn blessing() -> bool {
    std::env::var_os("WPROF_BLESS").is_some_and(|v| v == "1")
}

fn path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name)
}

/// Checks `actual` against the golden `name`; under `WPROF_BLESS=1` writes
/// it instead.
#[track_caller]
pub fn golden(name: &str, actual: &[u8]) {
    if blessing() {
        let p = path(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, actual).unwrap_or_else(|e| panic!("writing {}: {e}", p.display()));
        return;
    }
    if let Err(e) = compare(name, actual) {
        panic!("{e}");
    }
}

/// Compares `actual` with the golden `name`, never writing it.
pub fn compare(name: &str, actual: &[u8]) -> Result<(), String> {
    let p = path(name);
    let expected = std::fs::read(&p).map_err(|e| {
        format!(
            "golden {} cannot be read ({e}); create it with WPROF_BLESS=1 \
             and review it before committing",
            p.display()
        )
    })?;
    if expected == actual {
        return Ok(());
    }
    Err(format!(
        "output differs from golden {}:\n{}\
         if the change is intended, rerun with WPROF_BLESS=1 and review `git diff`",
        p.display(),
        diff(
            &String::from_utf8_lossy(&expected),
            &String::from_utf8_lossy(actual)
        )
    ))
}

/// The differing lines, position by position (`-` golden, `+` actual): the
/// first few in full, then how many more. Positional rather than a minimal
/// edit script: goldens are small, and the first difference is what a
/// reviewer needs to find.
pub fn diff(expected: &str, actual: &str) -> String {
    let e: Vec<&str> = expected.lines().collect();
    let a: Vec<&str> = actual.lines().collect();
    let mut out = format!(
        "  (- golden: {} lines, + actual: {} lines)\n",
        e.len(),
        a.len()
    );
    let mut differing = 0;
    for i in 0..e.len().max(a.len()) {
        let (x, y) = (e.get(i), a.get(i));
        if x == y {
            continue;
        }
        differing += 1;
        if differing > SHOWN {
            continue;
        }
        if let Some(x) = x {
            out.push_str(&format!("  {:>5} - {x}\n", i + 1));
        }
        if let Some(y) = y {
            out.push_str(&format!("  {:>5} + {y}\n", i + 1));
        }
    }
    if differing > SHOWN {
        out.push_str(&format!(
            "  … and {} more differing lines\n",
            differing - SHOWN
        ));
    }
    if differing == 0 {
        // Same lines, different bytes: line endings or the final newline.
        out.push_str("  (lines are equal; line endings or the final newline differ)\n");
    }
    out
}
