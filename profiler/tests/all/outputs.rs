//! The output files: folded stacks, flamegraph, pprof (read back by `wprof
//! report` and, when installed, by `go tool pprof`).

use std::path::{Path, PathBuf};

use crate::support::*;

fn fib_profile(test: &str) -> std::path::PathBuf {
    let guest = rust_guest("fib");
    let (out, _, dir) = run_profile(test, &[guest.to_str().unwrap(), "--", "20"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    dir
}

#[test]
fn calls_folded_holds_every_call_once() {
    let dir = fib_profile("folded");
    let text = std::fs::read_to_string(dir.join("calls.folded")).unwrap();
    let mut fib_calls = 0;
    let mut lines: Vec<&str> = text.lines().collect();
    for line in &lines {
        let (stack, n) = line.rsplit_once(' ').expect("`stack count`");
        let n: u64 = n.parse().unwrap();
        if stack.ends_with(";fib::fib") {
            fib_calls += n;
        }
    }
    assert_eq!(fib_calls, 21891);
    // Recursion depth 20: the deepest context has fib 19 levels below the first.
    assert!(lines.iter().any(|l| l.matches("fib::fib").count() == 19));
    let sorted = {
        let mut s = lines.clone();
        s.sort();
        s
    };
    lines.dedup();
    assert_eq!(lines, sorted, "one sorted line per unique stack");
}

#[test]
fn flamegraph_shows_demangled_names() {
    // Time-weighted: a guest long enough to be sampled in its hot function.
    let (out, _, dir) = run_profile("flamegraph", &[rust_guest("hot").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let svg = std::fs::read_to_string(dir.join("flamegraph.svg")).unwrap();
    assert!(svg.starts_with("<?xml"), "an SVG document");
    assert!(
        svg.contains("hot::hot_loop"),
        "demangled name in the flamegraph"
    );
    assert!(!svg.contains("_ZN3hot"), "no mangled names");
}

/// The files the closing `profile written to DIR/ (…)` line names.
fn closing_files(stderr: &str, dir: &std::path::Path) -> Vec<String> {
    let head = format!("wprof: profile written to {}/ (", dir.display());
    let line = stderr
        .lines()
        .find_map(|l| l.strip_prefix(head.as_str()))
        .unwrap_or_else(|| panic!("no closing line in:\n{stderr}"));
    let mut files: Vec<String> = line
        .trim_end_matches(')')
        .split(", ")
        .map(String::from)
        .collect();
    files.sort();
    files
}

/// The files of `dir`, without hidden ones (the run's lock).
fn files_in(dir: &std::path::Path) -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    files.sort();
    files
}

#[test]
fn closing_line_lists_exactly_the_files_written() {
    let fib = rust_guest("fib");
    let (out, _, dir) = run_profile("closing-plain", &[fib.to_str().unwrap(), "--", "20"]);
    assert_eq!(closing_files(&stderr(&out), &dir), files_in(&dir));
    assert!(files_in(&dir).contains(&"calls.folded".to_string()));

    let (out, _, dir) = run_profile(
        "closing-sample",
        &["--mode", "sample", fib.to_str().unwrap(), "--", "20"],
    );
    assert_eq!(closing_files(&stderr(&out), &dir), files_in(&dir));
    assert!(!files_in(&dir).contains(&"calls.folded".to_string()));

    // Memory outputs and the dumps taken between calls are listed too.
    let lib = rust_guest("memlib");
    let (out, _, dir) = run_profile(
        "closing-memory",
        &[
            "--invoke",
            "handle",
            "--repeat",
            "4",
            "--heap-dump-every",
            "2",
            lib.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let files = files_in(&dir);
    assert_eq!(closing_files(&stderr(&out), &dir), files);
    for f in ["memory-peak.svg", "heap-001.wheap", "heap-002.wheap"] {
        assert!(files.contains(&f.to_string()), "{f} in {files:?}");
    }
}

#[test]
fn report_reads_pprof_back() {
    let dir = fib_profile("report");
    let out = wprof(&["report", dir.to_str().unwrap(), "--top", "1000"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let row = text
        .lines()
        .find(|l| l.ends_with(" fib::fib"))
        .unwrap_or_else(|| panic!("fib::fib in the top table:\n{text}"));
    assert_eq!(
        row.split_whitespace().next(),
        Some("21891"),
        "calls column: {row}"
    );
    // The default order is total time: the hottest subtree's root comes
    // before its leaves; --sort calls puts the most-called function first.
    let first = |args: &[&str]| -> String {
        let mut full = vec!["report", dir.to_str().unwrap()];
        full.extend_from_slice(args);
        let out = wprof(&full);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        stdout(&out).lines().nth(2).unwrap_or_default().to_string()
    };
    assert!(first(&["--sort", "calls"]).ends_with(" fib::fib"));
    // Time needs a run long enough to be sampled.
    let (out, _, hot) = run_profile("report-hot", &[rust_guest("hot").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    let out = wprof(&["report", hot.to_str().unwrap()]);
    let top = stdout(&out).lines().nth(2).unwrap_or_default().to_string();
    assert!(top.contains("100.00%"), "the root of all time first: {top}");
    // A host-call frame has time, not calls: its calls column says so.
    let (out, _, io) = run_profile(
        "report-host",
        &[repo().join("tests/guests/wat/write.wat").to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(0));
    let out = wprof(&["report", io.to_str().unwrap()]);
    let text = stdout(&out);
    let row = text
        .lines()
        .find(|l| l.ends_with(" fd_write"))
        .unwrap_or_else(|| panic!("{text}"));
    assert_eq!(row.split_whitespace().next(), Some("-"), "{row}");
    // Header line, column line, then at most --top rows.
    let out = wprof(&[
        "report",
        dir.join("cpu.pb.gz").to_str().unwrap(),
        "--top",
        "2",
    ]);
    assert_eq!(stdout(&out).lines().count(), 4, "{}", stdout(&out));
}

#[test]
fn pprof_opens_in_go_tool_pprof() {
    let Some(go) = crate::support::go() else {
        // The README test command installs Go; CI sets WPROF_REQUIRE_GO so a
        // missing Go fails there instead of passing quietly.
        assert!(
            std::env::var_os("WPROF_REQUIRE_GO").is_none(),
            "Go is required but missing"
        );
        eprintln!("note: Go not installed; pprof checked only by `wprof report`");
        return;
    };
    let top = |dir: &std::path::Path, index: &str| {
        crate::support::go_pprof(
            &go,
            &["-top", "-sample_index", index],
            &dir.join("cpu.pb.gz"),
        )
    };
    let calls = top(&fib_profile("go-pprof"), "calls");
    let row = calls
        .lines()
        .find(|l| l.trim_end().ends_with(" fib::fib"))
        .unwrap_or_else(|| panic!("fib::fib in pprof -top:\n{calls}"));
    assert!(
        row.trim_start().starts_with("21891 "),
        "flat calls of fib: {row}"
    );
    // Time needs a run long enough to be sampled.
    let (out, _, hot) = run_profile("go-pprof-hot", &[rust_guest("hot").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    // Without flags pprof ranks by the default sample type: CPU time.
    let default = crate::support::go_pprof(&go, &["-top"], &hot.join("cpu.pb.gz"));
    assert!(
        default.contains("Type: cpu"),
        "pprof opens on CPU time:\n{default}"
    );
    let cpu = top(&hot, "cpu");
    let first = cpu
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("flat"))
        .nth(1)
        .unwrap_or_default();
    assert!(
        first.ends_with(" hot::hot_loop"),
        "hottest row: {first}\n{cpu}"
    );
}

#[test]
fn a_closed_pipe_is_a_quiet_exit() {
    use std::process::{Command, Stdio};
    let (out, _, dir) = run_profile(
        "closed-pipe",
        &["--memory", rust_guest("memory").to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let dump = dir.join("heap-exit.wheap");
    for args in [
        vec!["heap", "show", "--json", dump.to_str().unwrap()],
        vec!["heap", "show", dump.to_str().unwrap()],
        vec!["report", dir.to_str().unwrap()],
    ] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_wprof"))
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // No reader: the first write fails with EPIPE.
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        assert_eq!(stderr(&out), "", "{args:?}");
    }
}

#[test]
fn names_are_data() {
    // A name section can say anything: a newline would forge a folded
    // line, an escape sequence would drive the terminal of `report`.
    let dir = temp_dir("evil-names");
    let f = dir.join("evil.wat");
    std::fs::write(
        &f,
        r#"(module
             (func (@name "evil\nforged;line 1000000\1b[2J") (export "_start")))"#,
    )
    .unwrap();
    let (out, summary, dir) = run_profile("evil-names-out", &[f.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let folded = std::fs::read_to_string(dir.join("calls.folded")).unwrap();
    assert_eq!(folded.lines().count(), 1, "{folded}");
    assert!(
        folded.contains(r"evil\nforged:line 1000000\u{1b}[2J 1"),
        "{folded}"
    );
    assert_eq!(
        summary["functions"][0]["name"],
        "evil\\nforged;line 1000000\\u{1b}[2J"
    );
    let report = stdout(&wprof(&["report", dir.to_str().unwrap()]));
    assert!(!report.contains('\u{1b}'), "{report}");
}

#[test]
fn an_unusable_out_is_refused_before_the_guest_runs() {
    let dir = temp_dir("out-is-a-file");
    let file = dir.join("taken");
    std::fs::write(&file, "not a directory").unwrap();
    let out = wprof(&[
        "run",
        "--out",
        file.to_str().unwrap(),
        rust_guest("fib").to_str().unwrap(),
        "--",
        "20",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("is not a directory"),
        "{}",
        stderr(&out)
    );
    assert_eq!(stdout(&out), "", "the guest never ran");
}

#[test]
fn a_reused_out_holds_one_run() {
    let dir = temp_dir("out-reused");
    for stale in ["heap-009.wheap", "memory.svg", ".calls.folded.partial"] {
        std::fs::write(dir.join(stale), "from an earlier run").unwrap();
    }
    std::fs::write(dir.join("notes.txt"), "the user's").unwrap();
    let fib = rust_guest("fib");
    let out = wprof(&["run", "--out", dir.to_str().unwrap(), fib.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mut files = files_in(&dir);
    files.retain(|f| f != "notes.txt");
    assert_eq!(closing_files(&stderr(&out), &dir), files);
    assert!(dir.join("notes.txt").exists(), "other files are left alone");
    assert!(!dir.join(".calls.folded.partial").exists());
}

#[test]
fn an_output_that_cannot_be_written_spares_the_others() {
    let dir = temp_dir("out-blocked");
    // A directory where summary.json must go: the rename into place fails.
    std::fs::create_dir_all(dir.join("summary.json")).unwrap();
    let fib = rust_guest("fib");
    let out = wprof(&["run", "--out", dir.to_str().unwrap(), fib.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "the guest's outcome: {}",
        stderr(&out)
    );
    let err = stderr(&out);
    assert!(
        err.contains("wprof: error: failed to write") && err.contains("summary.json"),
        "{err}"
    );
    for f in ["flamegraph.svg", "cpu.pb.gz", "cpu.folded", "calls.folded"] {
        assert!(dir.join(f).is_file(), "{f} written");
    }
    assert!(!closing_files(&err, &dir).contains(&"summary.json".to_string()));
    assert!(!dir.join(".summary.json.partial").exists());
}

#[test]
fn two_runs_cannot_share_an_out() {
    let dir = temp_dir("out-locked");
    let lock = std::fs::File::create(dir.join(".wprof.lock")).unwrap();
    lock.try_lock().unwrap();
    let fib = rust_guest("fib");
    let out = wprof(&["run", "--out", dir.to_str().unwrap(), fib.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("another wprof run"),
        "{}",
        stderr(&out)
    );
    drop(lock);
}

#[test]
fn instrumented_artifacts_are_cached_between_runs() {
    let cache = temp_dir("artifact-cache");
    let fib = rust_guest("fib");
    let run = |extra: &[&str]| {
        let out_dir = temp_dir("artifact-cache-out");
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_wprof"));
        cmd.args(["run", "--out", out_dir.to_str().unwrap()])
            .args(extra)
            .args([fib.to_str().unwrap(), "--", "20"])
            .env("WPROF_CACHE_DIR", &cache);
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let summary: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out_dir.join("summary.json")).unwrap()).unwrap();
        assert_eq!(calls(&summary, "fib::fib"), Some(21891));
    };
    let entries = || -> Vec<std::path::PathBuf> {
        std::fs::read_dir(&cache)
            .map(|d| d.map(|e| e.unwrap().path()).collect())
            .unwrap_or_default()
    };
    run(&["--no-cache"]);
    assert!(entries().is_empty(), "--no-cache writes no artifact");
    run(&[]);
    let [artifact] = entries().try_into().expect("one cached artifact");
    let stamp = std::fs::metadata(&artifact).unwrap().modified().unwrap();
    run(&[]);
    assert_eq!(
        std::fs::metadata(&artifact).unwrap().modified().unwrap(),
        stamp,
        "a hit reads the artifact and rewrites nothing"
    );
    // A damaged entry costs a re-instrumentation, never a wrong profile.
    std::fs::write(&artifact, b"garbage").unwrap();
    run(&[]);
    assert!(std::fs::read(&artifact).unwrap().starts_with(b"\0asm"));
}

/// A recursion 3000 deep through a function with a 100-character name,
/// in `dir`; returns the module and the name.
fn deep_recursion(dir: &Path) -> (PathBuf, String) {
    let name = "r".repeat(100);
    let f = dir.join("deep.wat");
    std::fs::write(
        &f,
        format!(
            r#"(module
                 (func ${name} (param i32)
                   (if (local.get 0) (then (call ${name} (i32.sub (local.get 0) (i32.const 1))))))
                 (func (export "_start") (call ${name} (i32.const 2999))))"#
        ),
    )
    .unwrap();
    (f, name)
}

#[test]
fn peak_rss_counts_writing_the_outputs() {
    // Rendering this profile's outputs is most of the process's memory: the
    // summary's peak must include it (it once said 19 MB of a 51 MB peak).
    let dir = temp_dir("rss");
    let (f, _) = deep_recursion(&dir);
    let out = dir.join("out");
    let script = "import resource, subprocess, sys\n\
                  subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n\
                  print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024)";
    let measured = std::process::Command::new("python3")
        .args(["-c", script, env!("CARGO_BIN_EXE_wprof"), "run", "--out"])
        .arg(&out)
        .arg(&f)
        .output()
        .unwrap();
    let peak: u64 = String::from_utf8_lossy(&measured.stdout)
        .trim()
        .parse()
        .unwrap();
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let reported = summary["host_peak_rss_bytes"].as_u64().unwrap();
    assert!(
        reported as f64 >= 0.9 * peak as f64,
        "summary says {reported} bytes, the process peaked at {peak}"
    );
}

#[test]
fn deep_recursion_keeps_outputs_small() {
    // 3000 frames of a 100-character name: one folded line per context,
    // each as long as its stack, would be ~450 MB.
    let dir = temp_dir("deep-recursion");
    let (f, name) = deep_recursion(&dir);
    let (out, summary, dir) = run_profile("deep-recursion-out", &[f.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(calls(&summary, &name), Some(3000), "exact calls survive");
    let folded = std::fs::read_to_string(dir.join("calls.folded")).unwrap();
    assert!(
        folded.len() < 5 << 20,
        "calls.folded is {} bytes",
        folded.len()
    );
    // `_start` and 255 levels of the recursion fill 256 frames; the other
    // 2745 calls sit under one `[deeper]` frame.
    let deepest = folded.lines().last().unwrap();
    assert!(
        deepest.ends_with(";[deeper] 2745"),
        "{}",
        &deepest[deepest.len() - 40..]
    );
    for file in ["cpu.pb.gz", "flamegraph.svg", "summary.json"] {
        let size = std::fs::metadata(dir.join(file)).unwrap().len();
        assert!(size < 5 << 20, "{file} is {size} bytes");
    }
}

#[test]
fn a_full_tree_cuts_stacks_below_their_prefix() {
    // fib(20) through a 16-context tree: most calls find it full. They sit
    // in `[truncated]` frames under the contexts that made them (here
    // `fib::main`), not at the root, and their time goes there too.
    let guest = rust_guest("fib");
    let (out, summary, dir) = run_profile(
        "truncated-prefix",
        &["--max-contexts", "16", guest.to_str().unwrap(), "--", "20"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        calls(&summary, "fib::fib"),
        Some(21891),
        "exact calls survive"
    );
    let truncated = summary["contexts"]["truncated_calls"].as_u64().unwrap();
    assert!(truncated > 20_000, "{summary}");
    let folded = std::fs::read_to_string(dir.join("calls.folded")).unwrap();
    let cut: Vec<(&str, u64)> = folded
        .lines()
        .filter_map(|l| l.rsplit_once(' '))
        .filter(|(stack, _)| stack.ends_with("[truncated]"))
        .map(|(stack, n)| (stack, n.parse().unwrap()))
        .collect();
    assert_eq!(cut.iter().map(|c| c.1).sum::<u64>(), truncated, "{folded}");
    let (heaviest, _) = cut.iter().max_by_key(|c| c.1).unwrap();
    assert!(heaviest.ends_with(";fib::main;[truncated]"), "{heaviest}");
    assert!(
        !folded.lines().any(|l| l.starts_with("[truncated] ")),
        "{folded}"
    );
}
