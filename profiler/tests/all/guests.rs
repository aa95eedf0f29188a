//! Rust guests with known call counts: exact counts across loops, recursion,
//! early returns, panics and `process::exit`, plus sampling and long runs.

use serde_json::Value;

use crate::support::*;

#[test]
fn fib_recursion_counts_exactly() {
    let guest = rust_guest("fib");
    let (out, summary, _) = run_profile("fib", &[guest.to_str().unwrap(), "--", "20"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("fib(20) = 6765"),
        "guest stdout passes through"
    );
    // calls(n) = 1 + calls(n-1) + calls(n-2), calls(0) = calls(1) = 1.
    assert_eq!(calls(&summary, "fib::fib"), Some(21891));
    assert_eq!(summary["exit"]["kind"], "exit");
    assert_eq!(summary["exit"]["code"], 0);
    assert_eq!(summary["mode"], "instrument");
}

#[test]
fn loops_and_early_returns_match_expected_file() {
    let guest = rust_guest("calls");
    let expected: Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("tests/guests/rust/expected/calls.json")).unwrap(),
    )
    .unwrap();
    let (out, summary, _) = run_profile("calls", &[guest.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let expected = expected["calls"].as_object().unwrap();
    assert!(!expected.is_empty());
    for (name, n) in expected {
        assert_eq!(calls(&summary, name), n.as_u64(), "calls of {name}");
    }
}

#[test]
fn panic_is_a_trap_and_counts_survive() {
    let guest = rust_guest("panic");
    let (out, summary, dir) = run_profile("panic", &[guest.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(134),
        "trap exit code; {}",
        stderr(&out)
    );
    assert_eq!(summary["exit"]["kind"], "trap");
    assert!(
        summary["exit"]["message"]
            .as_str()
            .unwrap()
            .contains("unreachable")
    );
    for f in ["panic::a", "panic::b", "panic::c"] {
        assert_eq!(calls(&summary, f), Some(1), "calls of {f}");
    }
    for file in ["flamegraph.svg", "cpu.pb.gz", "cpu.folded", "calls.folded"] {
        assert!(dir.join(file).exists(), "{file} written after a trap");
    }
}

#[test]
fn process_exit_code_is_mirrored() {
    let guest = rust_guest("exit");
    let (out, summary, _) = run_profile("exit", &[guest.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert_eq!(summary["exit"]["kind"], "exit");
    assert_eq!(summary["exit"]["code"], 3);
    assert_eq!(calls(&summary, "exit::work"), Some(5));
    assert_eq!(calls(&summary, "exit::quit"), Some(1));
}

fn hottest(summary: &Value, key: &str) -> String {
    summary["functions"]
        .as_array()
        .unwrap()
        .iter()
        .max_by_key(|f| f[key].as_u64().unwrap())
        .unwrap()["name"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn sample_mode_finds_the_hot_function() {
    let guest = rust_guest("hot");
    let (out, summary, _) =
        run_profile("hot-sample", &["--mode", "sample", guest.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(summary["mode"], "sample");
    assert!(
        summary["cpu"]["samples"].as_u64().unwrap() > 20,
        "enough samples: {summary}"
    );
    assert_eq!(hottest(&summary, "self_samples"), "hot::hot_loop");
    assert!(
        summary["functions"][0]["calls"].is_null(),
        "sample mode has no call counts"
    );
}

#[test]
fn instrument_mode_times_the_hot_function() {
    let guest = rust_guest("hot");
    let (out, summary, _) = run_profile("hot-instrument", &[guest.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(hottest(&summary, "self_ns"), "hot::hot_loop");
    // 19 calls of hot_loop and one of cold_loop, equal work per call.
    assert_eq!(calls(&summary, "hot::hot_loop"), Some(19));
    assert_eq!(calls(&summary, "hot::cold_loop"), Some(1));
}

#[test]
fn hundred_million_calls_stay_bounded() {
    let guest = rust_guest("many_calls");
    let (out, summary, _) = run_profile("many-calls", &[guest.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(calls(&summary, "many_calls::tick"), Some(100_000_000));
    // Aggregation, not an event log: the tree holds contexts, not calls.
    let nodes = summary["contexts"]["nodes"].as_u64().unwrap();
    assert!(
        nodes < 1_000,
        "{nodes} contexts for a loop calling one function"
    );
    let rss = summary["host_peak_rss_bytes"].as_u64().unwrap();
    assert!(rss < 300 << 20, "peak RSS {rss} bytes");
}

#[test]
fn reactor_invoke_repeats_and_reports_latency() {
    let guest = rust_guest("reactor");
    let (out, summary, _) = run_profile(
        "reactor",
        &[
            "--invoke",
            "fib",
            "--arg",
            "15",
            "--repeat",
            "20",
            guest.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let inv = &summary["invoke"];
    assert_eq!(inv["export"], "fib");
    assert_eq!(inv["results"][0], "i32:610");
    assert_eq!(inv["latency"]["count"], 20);
    let p50 = inv["latency"]["p50_ns"].as_u64().unwrap();
    let p99 = inv["latency"]["p99_ns"].as_u64().unwrap();
    let max = inv["latency"]["max_ns"].as_u64().unwrap();
    assert!(0 < p50 && p50 <= p99 && p99 <= max);
    // fib_rec(15) makes 1973 calls; 20 calls of the export.
    assert_eq!(calls(&summary, "reactor::fib_rec"), Some(20 * 1973));
    assert_eq!(calls(&summary, "fib"), Some(20));
}

/// Every run of `expected/reactor.json`: numbers, strings and buffers
/// passed through the module's allocator, string results, what is printed
/// after the guest's output, and the exact calls (one `cabi_realloc` per
/// data argument per call).
#[test]
fn reactor_invocations_match_expected_file() {
    let guest = rust_guest("reactor");
    let expected: Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("tests/guests/rust/expected/reactor.json")).unwrap(),
    )
    .unwrap();
    let invocations = expected["invocations"].as_array().unwrap();
    assert!(invocations.len() >= 8);
    for (i, inv) in invocations.iter().enumerate() {
        let mut args = vec![
            "--invoke".to_string(),
            inv["invoke"].as_str().unwrap().into(),
        ];
        for a in inv["args"].as_array().unwrap() {
            args.extend(["--arg".to_string(), a.as_str().unwrap().into()]);
        }
        if let Some(form) = inv["result"].as_str() {
            args.extend(["--result".to_string(), form.into()]);
        }
        let repeat = inv["repeat"].as_u64().unwrap_or(1);
        args.extend(["--repeat".to_string(), repeat.to_string()]);
        args.push(guest.to_str().unwrap().into());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (out, summary, _) = run_profile(&format!("reactor-expected-{i}"), &args);
        let what = format!("{args:?}: {}", stderr(&out));
        assert_eq!(
            out.status.code(),
            inv["exit_code"].as_i64().map(|c| c as i32),
            "{what}"
        );
        assert_eq!(summary["exit"]["kind"], inv["exit_kind"], "{what}");
        assert_eq!(stdout(&out), inv["stdout"].as_str().unwrap(), "{what}");
        if inv["results"].is_array() {
            assert_eq!(summary["invoke"]["results"], inv["results"], "{what}");
            assert_eq!(summary["invoke"]["latency"]["count"], repeat, "{what}");
        }
        assert_eq!(summary["invoke"]["args"], inv["args"], "{what}");
        for (name, n) in inv["calls"].as_object().unwrap() {
            assert_eq!(calls(&summary, name), n.as_u64(), "calls of {name}: {what}");
        }
    }
}

/// A module that returns its string as two results and allocates with
/// `malloc`, data mixed with a number, and a result that points outside
/// memory: shown raw, with a warning, and the run still succeeds.
#[test]
fn string_results_from_two_results_and_from_outside_memory() {
    let wat = repo().join("tests/guests/wat/strings.wat");
    let (out, summary, dir) = run_profile(
        "strings-repeat",
        &[
            "--invoke",
            "repeat",
            "--arg",
            "str:ab",
            "--arg",
            "3",
            "--result",
            "str",
            "--repeat",
            "4",
            wat.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "ababab\n");
    assert_eq!(
        summary["invoke"]["results"],
        serde_json::json!(["str:ababab"])
    );
    // Per call: wprof's allocation of the argument, and `repeat`'s own.
    assert_eq!(calls(&summary, "malloc"), Some(8));
    assert_eq!(calls(&summary, "repeat"), Some(4));
    // Allocator calls are made at the root, outside the export's stacks.
    let folded = std::fs::read_to_string(dir.join("calls.folded")).unwrap();
    assert!(folded.lines().any(|l| l == "malloc 4"), "{folded}");
    assert!(folded.lines().any(|l| l == "repeat;malloc 4"), "{folded}");

    let (out, summary, _) = run_profile(
        "strings-lost",
        &["--invoke", "lost", "--result", "str", wat.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "65000\n1000\n");
    assert_eq!(
        summary["invoke"]["results"],
        serde_json::json!(["i32:65000", "i32:1000"])
    );
    assert!(
        stderr(&out).contains(
            "wprof: warning: --result str: cannot read the last call's result: the result's 1000 \
             bytes at 0xfde8 run past the end of memory; its raw results are shown"
        ),
        "{}",
        stderr(&out)
    );
}

#[test]
fn reactor_trap_in_export() {
    let guest = rust_guest("reactor");
    let (out, summary, _) = run_profile(
        "reactor-trap",
        &["--invoke", "boom", guest.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(134));
    assert_eq!(summary["exit"]["kind"], "trap");
    assert_eq!(summary["invoke"]["latency"]["count"], 0);
}

#[test]
fn timeout_still_writes_the_profile() {
    let guest = rust_guest("callheavy");
    let (out, summary, dir) = run_profile(
        "timeout",
        &["--timeout", "0.3", guest.to_str().unwrap(), "--", "45"],
    );
    assert_eq!(out.status.code(), Some(124), "{}", stderr(&out));
    assert_eq!(summary["exit"]["kind"], "timeout");
    assert!(calls(&summary, "callheavy::fib").unwrap() > 1000);
    assert!(dir.join("flamegraph.svg").exists());
}

#[test]
fn sample_mode_stops_without_epoch_checks() {
    // Sample mode compiles no epoch checks: a stop writes the profile from
    // the watching thread and the process ends without the guest.
    let guest = rust_guest("callheavy");
    let (out, summary, dir) = run_profile(
        "timeout-sample",
        &[
            "--mode",
            "sample",
            "--timeout",
            "0.3",
            guest.to_str().unwrap(),
            "--",
            "45",
        ],
    );
    assert_eq!(out.status.code(), Some(124), "{}", stderr(&out));
    assert_eq!(summary["exit"]["kind"], "timeout");
    assert_eq!(summary["cpu"]["sampler"]["name"], "signal");
    assert!(
        summary["cpu"]["samples"].as_u64().unwrap() > 50,
        "{summary}"
    );
    let fib = summary["functions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "callheavy::fib")
        .expect("fib sampled");
    assert!(fib["self_ns"].as_u64().unwrap() > 0);
    assert!(dir.join("flamegraph.svg").exists());
    assert!(
        stderr(&out).contains("profile written to"),
        "{}",
        stderr(&out)
    );

    let summary = stopped_by("INT", "sample");
    assert_eq!(summary["exit"]["kind"], "interrupted");
    assert!(
        summary["cpu"]["samples"].as_u64().unwrap() > 50,
        "{summary}"
    );
}

#[test]
fn a_guest_blocked_in_a_host_call_is_stopped() {
    // Spins, then waits for stdin that never comes.
    let dir = temp_dir("blocked-read");
    let wat = dir.join("read.wat");
    std::fs::write(
        &wat,
        r#"(module
             (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
             (memory (export "memory") 1)
             (func $spin (param $n i32)
               (loop $l (local.set $n (i32.sub (local.get $n) (i32.const 1))) (br_if $l (local.get $n))))
             (func (export "_start")
               (call $spin (i32.const 100000000))
               (i32.store (i32.const 0) (i32.const 64))
               (i32.store (i32.const 4) (i32.const 100))
               (drop (call $read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))))"#,
    )
    .unwrap();
    for mode in ["sample", "instrument"] {
        blocked_read_stops(&wat, &dir.join(mode), mode);
    }
}

#[test]
fn a_guest_sleeping_in_poll_oneoff_times_out() {
    // poll_oneoff on a 30 s clock under --timeout 1: stopped, and reported
    // as a timeout, in both modes.
    let dir = temp_dir("sleep");
    let wat = dir.join("sleep.wat");
    std::fs::write(
        &wat,
        r#"(module
             (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
             (memory (export "memory") 1)
             (func (export "_start")
               ;; one relative clock subscription: 30 s on the monotonic clock
               (i32.store8 (i32.const 8) (i32.const 0))
               (i32.store (i32.const 16) (i32.const 1))
               (i64.store (i32.const 24) (i64.const 30000000000))
               (drop (call $poll (i32.const 0) (i32.const 64) (i32.const 1) (i32.const 128)))))"#,
    )
    .unwrap();
    for mode in ["sample", "instrument"] {
        let started = std::time::Instant::now();
        let (out, summary, _) = run_profile(
            &format!("sleep-{mode}"),
            &["--mode", mode, "--timeout", "1", wat.to_str().unwrap()],
        );
        assert!(
            started.elapsed() < std::time::Duration::from_secs(15),
            "{mode}: waited for the sleep"
        );
        assert_eq!(out.status.code(), Some(124), "{mode}: {}", stderr(&out));
        assert_eq!(summary["exit"]["kind"], "timeout", "{mode}");
    }
}

/// Runs `wat` (which waits for stdin) with `--timeout` in `mode`, stdin
/// held open, and checks that the profile arrives anyway.
fn blocked_read_stops(wat: &std::path::Path, out: &std::path::Path, mode: &str) {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_wprof"))
        .args(["run", "--mode", mode, "--timeout", "0.5", "--out"])
        .arg(out)
        .arg(wat)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Holding stdin open: the read never returns.
    let _stdin = child.stdin.take();
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > std::time::Duration::from_secs(20) {
            child.kill().unwrap();
            panic!("{mode}: wprof did not stop a guest blocked in fd_read");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(124), "{mode}");
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["exit"]["kind"], "timeout", "{mode}");
    let spin = summary["functions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "spin")
        .unwrap_or_else(|| panic!("{mode}: {summary}"));
    if mode == "instrument" {
        // Exact calls, from the runtime's memory, and the wait as a
        // host-call frame.
        assert_eq!(spin["calls"], 1, "{summary}");
        assert!(
            summary["functions"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["name"] == "fd_read"),
            "{summary}"
        );
    }
}

/// The profile after stopping a long guest with `signal`.
fn stopped_by(signal: &str, mode: &str) -> Value {
    let guest = rust_guest("callheavy");
    let out = temp_dir(&format!("signal-{signal}-{mode}"));
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_wprof"))
        .args([
            "run",
            "--mode",
            mode,
            "--out",
            out.to_str().unwrap(),
            guest.to_str().unwrap(),
            "--",
            "45",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(700));
    let status = std::process::Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(child.wait().unwrap().code(), Some(130), "{signal}");
    serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap()
}

#[test]
fn ctrl_c_writes_the_partial_profile() {
    let summary = stopped_by("INT", "instrument");
    assert_eq!(summary["exit"]["kind"], "interrupted");
    assert!(calls(&summary, "callheavy::fib").unwrap() > 1000);
}

#[test]
fn sigterm_and_sighup_write_the_partial_profile() {
    // What `timeout`, CI cancellation and `docker stop` send.
    for signal in ["TERM", "HUP"] {
        let summary = stopped_by(signal, "instrument");
        assert_eq!(summary["exit"]["kind"], "interrupted", "{signal}");
        assert!(
            calls(&summary, "callheavy::fib").unwrap() > 1000,
            "{signal}"
        );
    }
}

#[test]
fn proc_exit_codes_above_125_are_exits() {
    let dir = temp_dir("exit-200");
    let f = dir.join("exit.wat");
    std::fs::write(
        &f,
        r#"(module (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
             (memory (export "memory") 1)
             (func (export "_start") (call $exit (i32.const 200))))"#,
    )
    .unwrap();
    let (out, summary, _) = run_profile("exit-200-out", &[f.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(200), "{}", stderr(&out));
    assert_eq!(summary["exit"]["kind"], "exit");
    assert_eq!(summary["exit"]["code"], 200);
}
