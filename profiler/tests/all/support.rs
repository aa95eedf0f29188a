//! Shared test plumbing: the repository layout, guest builds (once per test
//! binary), running the `wprof` binary and reading its outputs.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use serde_json::Value;

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Builds the Rust guests (`tests/guests/rust`) for wasm32-wasip1, once.
pub fn rust_guests() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let manifest = repo().join("tests/guests/rust/Cargo.toml");
        let target = repo().join("target/guests");
        let status = Command::new(env!("CARGO"))
            .args([
                "build",
                "--release",
                "--target",
                "wasm32-wasip1",
                "--workspace",
                "--manifest-path",
            ])
            .arg(&manifest)
            .arg("--target-dir")
            .arg(&target)
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building the Rust guests failed");
        target.join("wasm32-wasip1/release")
    })
}

/// Path of a built Rust guest, e.g. `rust_guest("fib")`.
pub fn rust_guest(name: &str) -> PathBuf {
    let p = rust_guests().join(format!("{name}.wasm"));
    assert!(p.exists(), "guest {} was not built", p.display());
    p
}

/// A fresh temporary directory under the target dir (kept for inspection).
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = repo().join("target/test-out").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `wprof ARGS`.
pub fn wprof(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wprof"))
        .args(args)
        .output()
        .expect("wprof runs")
}

/// Runs `wprof run --out OUT <args>` and returns the output and summary.json.
pub fn run_profile(test: &str, args: &[&str]) -> (Output, Value, PathBuf) {
    let out = temp_dir(test);
    let mut full = vec!["run", "--out", out.to_str().unwrap()];
    full.extend_from_slice(args);
    let output = wprof(&full);
    let summary = std::fs::read_to_string(out.join("summary.json")).unwrap_or_else(|e| {
        panic!(
            "no summary.json ({e}); stderr:\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (output, serde_json::from_str(&summary).unwrap(), out)
}

/// Exact calls per function name from a summary.
pub fn calls(summary: &Value, name: &str) -> Option<u64> {
    summary["functions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == name)
        .and_then(|f| f["calls"].as_u64())
}

/// stderr as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// stdout as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}
