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

/// Runs `wprof ARGS`, with its artifact cache under the target dir rather
/// than the user's.
pub fn wprof(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wprof"))
        .args(args)
        .env("WPROF_CACHE_DIR", repo().join("target/test-cache"))
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

/// The Go toolchain, when the README's test command installed it.
pub fn go() -> Option<PathBuf> {
    let candidates = ["/usr/lib/go-1.23/bin/go", "/usr/lib/go/bin/go"];
    candidates.iter().map(PathBuf::from).find(|p| p.exists())
}

/// `go tool pprof ARGS FILE`'s stdout; fails the test if pprof does.
pub fn go_pprof(go: &Path, args: &[&str], file: &Path) -> String {
    let out = Command::new(go)
        .args(["tool", "pprof"])
        .args(args)
        .arg(file)
        // pprof keeps its history under $HOME.
        .env("HOME", file.parent().unwrap())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Guests of other languages, built once per test binary into
/// `target/guests/<lang>/`. `None` (with a note) when the toolchain is
/// missing, unless `require` names an environment variable that is set — the
/// README's test command sets them all, so CI never skips quietly.
fn built(
    lang: &str,
    name: &str,
    require: &str,
    build: impl FnOnce(&Path) -> Option<Command>,
) -> Option<PathBuf> {
    use std::collections::HashMap;
    use std::sync::Mutex;
    static CACHE: OnceLock<Mutex<HashMap<String, Option<PathBuf>>>> = OnceLock::new();
    // A failed build in one test must not poison the others' lookups.
    let mut cache = CACHE
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let key = format!("{lang}/{name}");
    if let Some(p) = cache.get(&key) {
        return p.clone();
    }
    let out = repo().join("target/guests").join(lang);
    std::fs::create_dir_all(&out).unwrap();
    let wasm = out.join(format!("{name}.wasm"));
    let result = match build(&wasm) {
        None => {
            assert!(
                std::env::var_os(require).is_none(),
                "{require} is set but the {lang} toolchain is missing"
            );
            eprintln!("note: no {lang} toolchain; skipping the {name} guest");
            None
        }
        Some(mut cmd) => {
            let o = cmd.output().expect("guest build runs");
            assert!(
                o.status.success(),
                "building {lang} guest {name} failed:\n{}",
                String::from_utf8_lossy(&o.stderr)
            );
            Some(wasm)
        }
    };
    cache.insert(key, result.clone());
    result
}

/// `tests/guests/c/NAME.c`, compiled with clang for wasm32-wasi.
pub fn c_guest(name: &str) -> Option<PathBuf> {
    built("c", name, "WPROF_REQUIRE_CLANG", |wasm| {
        let ok = Command::new("clang").arg("--version").output().is_ok()
            && Path::new("/usr/include/wasm32-wasi").exists();
        ok.then(|| {
            let mut c = Command::new("clang");
            // As users build them: optimised, with DWARF.
            c.args(["--target=wasm32-wasi", "-O2", "-g", "-o"])
                .arg(wasm)
                .arg(repo().join(format!("tests/guests/c/{name}.c")));
            c
        })
    })
}

/// `tests/guests/as/NAME.ts`, compiled by the npm workspace's AssemblyScript,
/// optimised, keeping the name section (`--debug`): a WASI command through
/// the WASI shim, or (`shim = false`) a library with no imports at all.
pub fn as_guest(name: &str, shim: bool) -> Option<PathBuf> {
    built("as", name, "WPROF_REQUIRE_AS", |wasm| {
        let asc = repo().join("node_modules/assemblyscript/bin/asc.js");
        asc.exists().then(|| {
            let mut c = Command::new("node");
            // A relative source path: AssemblyScript names functions after
            // it (`tests/guests/as/leak/rememberRequest`).
            c.arg(asc).arg(format!("tests/guests/as/{name}.ts"));
            if shim {
                // Relative, as the shim's own `lib` entries are resolved
                // against the config file's spelling.
                c.args([
                    "--config",
                    "./node_modules/@assemblyscript/wasi-shim/asconfig.json",
                ]);
            } else {
                // No `env.abort` import: an abort traps instead.
                c.args(["--use", "abort="]);
            }
            c.args(["-O2", "--debug", "-o"])
                .arg(wasm)
                .current_dir(repo());
            c
        })
    })
}

/// `tests/guests/go` (one package main), built for GOOS=wasip1 as `NAME`.
pub fn go_guest(name: &str) -> Option<PathBuf> {
    built("go", name, "WPROF_REQUIRE_GO", |wasm| {
        go().map(|go| {
            let mut c = Command::new(go);
            c.args(["build", "-o"])
                .arg(wasm)
                .arg(".")
                .current_dir(repo().join("tests/guests/go"))
                .env("GOOS", "wasip1")
                .env("GOARCH", "wasm")
                .env("GOTOOLCHAIN", "local")
                .env("GOFLAGS", "-mod=mod")
                .env("GOCACHE", repo().join("target/guests/go/cache"))
                .env("HOME", repo().join("target/guests/go"));
            c
        })
    })
}

/// `tests/guests/zig/NAME.zig`, built by the PyPI `ziglang` package that the
/// README's test command installs into `target/zig-venv`.
pub fn zig_guest(name: &str) -> Option<PathBuf> {
    built("zig", name, "WPROF_REQUIRE_ZIG", |wasm| {
        let python = repo().join("target/zig-venv/bin/python");
        python.exists().then(|| {
            let mut c = Command::new(python);
            c.args(["-m", "ziglang", "build-exe"])
                .arg(repo().join(format!("tests/guests/zig/{name}.zig")))
                .args(["-target", "wasm32-wasi", "-O", "ReleaseSafe"])
                .arg(format!("-femit-bin={}", wasm.display()))
                .env(
                    "ZIG_GLOBAL_CACHE_DIR",
                    repo().join("target/guests/zig/cache"),
                )
                .env(
                    "ZIG_LOCAL_CACHE_DIR",
                    repo().join("target/guests/zig/cache"),
                );
            c
        })
    })
}
