//! Bad input gets one clear `error:` line with its cause and exit code 1
//! (2 for a bad command line), never a panic.

use std::process::Output;

use crate::support::*;

fn assert_error(out: &Output, code: i32, first_line: &str) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(code), "exit code; stderr:\n{err}");
    assert!(
        err.lines().next().unwrap_or("").contains(first_line),
        "expected first line to contain {first_line:?}, got:\n{err}"
    );
    assert!(!err.contains("panicked"), "no panic:\n{err}");
}

fn run_with(test: &str, args: &[&str]) -> Output {
    let out = temp_dir(test);
    let mut full = vec!["run", "--out", out.to_str().unwrap()];
    full.extend_from_slice(args);
    wprof(&full)
}

#[test]
fn missing_file() {
    let out = run_with("err-missing", &["/nonexistent/app.wasm"]);
    assert_error(
        &out,
        1,
        "error: failed to read module `/nonexistent/app.wasm`",
    );
    assert!(stderr(&out).contains("No such file or directory"));
}

#[test]
fn not_wasm() {
    let dir = temp_dir("err-not-wasm");
    let f = dir.join("notes.txt");
    std::fs::write(&f, "hello, not a module\n").unwrap();
    let out = run_with("err-not-wasm-out", &[f.to_str().unwrap()]);
    assert_error(&out, 1, "error: cannot profile");
    assert!(
        stderr(&out).contains("is not a WebAssembly module"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn truncated_module() {
    let bytes = std::fs::read(rust_guest("fib")).unwrap();
    let dir = temp_dir("err-truncated");
    let f = dir.join("trunc.wasm");
    std::fs::write(&f, &bytes[..bytes.len() / 2]).unwrap();
    let out = run_with("err-truncated-out", &[f.to_str().unwrap()]);
    assert_error(&out, 1, "error: cannot profile");
    assert!(
        stderr(&out).contains("invalid WebAssembly module"),
        "{}",
        stderr(&out)
    );
    // Found from the section headers, before instrumenting or compiling,
    // in both modes.
    let out = run_with(
        "err-truncated-sample",
        &["--mode", "sample", f.to_str().unwrap()],
    );
    assert_error(&out, 1, "error: cannot profile");
    assert!(
        stderr(&out).contains("invalid WebAssembly module")
            && stderr(&out).contains("unexpected end-of-file"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn invalid_module() {
    let dir = temp_dir("err-invalid");
    let f = dir.join("bad.wasm");
    // Valid header and a type section whose declared size overruns the file.
    std::fs::write(&f, b"\0asm\x01\0\0\0\x01\x7f\x01\x60").unwrap();
    let out = run_with("err-invalid-out", &[f.to_str().unwrap()]);
    assert_error(&out, 1, "error: cannot profile");
    let bad_text = dir.join("bad.wat");
    std::fs::write(
        &bad_text,
        r#"(module (func (export "_start") (result i32) i64.const 1))"#,
    )
    .unwrap();
    let out = run_with("err-invalid-text", &[bad_text.to_str().unwrap()]);
    assert_error(&out, 1, "error: cannot profile");
    assert!(stderr(&out).contains("type mismatch"), "{}", stderr(&out));
}

#[test]
fn no_start_lists_exports() {
    let out = run_with("err-no-start", &[rust_guest("reactor").to_str().unwrap()]);
    assert_error(&out, 1, "error: cannot profile");
    let err = stderr(&out);
    assert!(
        err.contains("no `_start` export") && err.contains("--invoke") && err.contains("fib"),
        "{err}"
    );
}

#[test]
fn unknown_export() {
    let out = run_with(
        "err-unknown-export",
        &["--invoke", "nope", rust_guest("reactor").to_str().unwrap()],
    );
    assert_error(&out, 1, "error: cannot profile");
    assert!(
        stderr(&out).contains("no exported function `nope`"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn wrong_argument_count() {
    let out = run_with(
        "err-args",
        &["--invoke", "fib", rust_guest("reactor").to_str().unwrap()],
    );
    assert_error(&out, 1, "error: cannot profile");
    assert!(
        stderr(&out).contains("takes 1 argument(s) (i32), but 0 were given"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn bad_flag() {
    let out = wprof(&["run", "--frobnicate", "x.wasm"]);
    assert_error(&out, 2, "error: unexpected argument '--frobnicate'");
    let out = wprof(&["run", "--mode", "psychic", "x.wasm"]);
    assert_error(&out, 2, "error: invalid value 'psychic'");
}

#[test]
fn missing_import_is_named() {
    let dir = temp_dir("err-import");
    let f = dir.join("imp.wat");
    std::fs::write(
        &f,
        r#"(module (import "env" "host_fn" (func)) (func (export "_start") call 0))"#,
    )
    .unwrap();
    let out = run_with("err-import-out", &[f.to_str().unwrap()]);
    assert_error(&out, 1, "error: cannot profile");
    assert!(stderr(&out).contains("env::host_fn"), "{}", stderr(&out));
}

#[test]
fn report_and_heap_refuse_what_is_not_their_input() {
    let dir = temp_dir("err-report");
    let empty = dir.join("cpu.pb.gz");
    std::fs::write(&empty, b"").unwrap();
    let out = wprof(&["report", empty.to_str().unwrap()]);
    assert_error(&out, 1, "error: `");
    assert!(stderr(&out).contains("empty"), "{}", stderr(&out));
    // A device would be read forever.
    for args in [
        vec!["report", "/dev/zero"],
        vec!["heap", "show", "/dev/zero"],
        vec!["run", "/dev/zero"],
    ] {
        let out = wprof(&args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(
            stderr(&out).contains("is not a regular file"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
    // A gzip bomb: 2 GiB of zeros in a few MB is refused, not inflated.
    let bomb = dir.join("bomb.pb.gz");
    {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(
            std::fs::File::create(&bomb).unwrap(),
            flate2::Compression::best(),
        );
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..1100 {
            gz.write_all(&zeros).unwrap();
        }
        gz.finish().unwrap();
    }
    let out = wprof(&["report", bomb.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("decompresses to more than"),
        "{}",
        stderr(&out)
    );
}

/// Data arguments that cannot be passed are refused before the module is
/// instrumented or run: nothing is written.
#[test]
fn data_arguments_that_cannot_be_passed() {
    let reactor = rust_guest("reactor");
    let reactor = reactor.to_str().unwrap();
    let dir = temp_dir("err-data");
    let no_alloc = dir.join("noalloc.wat");
    std::fs::write(
        &no_alloc,
        r#"(module (memory (export "memory") 1)
             (func (export "len") (param i32 i32) (result i32) local.get 1))"#,
    )
    .unwrap();
    let cases: [(&[&str], &str); 5] = [
        (
            &[
                "--invoke",
                "len",
                "--arg",
                "str:x",
                no_alloc.to_str().unwrap(),
            ],
            "needs an exported `memory` and an exported allocator",
        ),
        (
            &["--invoke", "count_vowels", "--arg", "cstr:x", reactor],
            "export `count_vowels` takes 2 parameter(s) (i32, i32), but the --args given fill 1",
        ),
        (
            &["--invoke", "fib", "--arg", "str:x", reactor],
            "`str:` and `bytes:` take two i32 parameters (pointer, length)",
        ),
        (
            &["--invoke", "checksum", "--arg", "bytes:0g", reactor],
            "bad --arg for `checksum`: `bytes:0g` is not hex",
        ),
        (
            &[
                "--invoke", "add", "--arg", "1", "--arg", "2", "--result", "cstr", reactor,
            ],
            "--result cstr needs an export that returns one i32 pointing at NUL-terminated text, but `add` returns (i64)",
        ),
    ];
    for (i, (args, message)) in cases.into_iter().enumerate() {
        let out_dir = dir.join(format!("out-{i}"));
        let mut full = vec!["run", "--out", out_dir.to_str().unwrap()];
        full.extend_from_slice(args);
        let out = wprof(&full);
        assert_error(&out, 1, "error: cannot profile");
        assert!(stderr(&out).contains(message), "{args:?}: {}", stderr(&out));
        assert!(stdout(&out).is_empty(), "nothing ran");
        assert!(
            !out_dir.join("summary.json").exists(),
            "nothing was profiled"
        );
    }
    // A bad --result form is a bad command line.
    let out = run_with(
        "err-result-form",
        &["--invoke", "fib", "--arg", "1", "--result", "utf8", reactor],
    );
    assert_error(&out, 2, "error: invalid value 'utf8' for '--result <FORM>'");
}
