//! The run session without an engine: every user error is found by
//! `Session::new` before anything runs, the plan says what to call, and a
//! finished run writes exactly the output set through the sink.

use wprof_profile::{Exit, ExitKind};
use wprof_session::cli::{Args, Host, InvokeOptions, MemoryOptions, RunOptions};
use wprof_session::outputs::MemorySink;
use wprof_session::{Event, Plan, RunEnd, Session};

fn wat(src: &str) -> Vec<u8> {
    wat::parse_str(src).unwrap()
}

fn error(bytes: &[u8], options: RunOptions) -> String {
    wprof_session::error_chain(&Session::new(bytes, options).unwrap_err())
}

fn invoking(export: &str, args: &[&str]) -> RunOptions {
    let mut o = RunOptions::new("lib.wasm");
    o.invoke = Some(InvokeOptions {
        export: export.into(),
        args: args.iter().map(|s| s.to_string()).collect(),
        repeat: 3,
    });
    o
}

const LIB: &str = r#"(module
    (func (export "add") (param i64 f64) (result i64) local.get 0)
    (func (export "_initialize")))"#;

#[test]
fn user_errors_are_found_before_any_work() {
    let lib = wat(LIB);
    let e = error(&lib, RunOptions::new("lib.wasm"));
    assert!(
        e.contains("no `_start` export") && e.contains("add, _initialize"),
        "{e}"
    );
    let e = error(&lib, invoking("nope", &[]));
    assert!(e.contains("no exported function `nope`"), "{e}");
    let e = error(&lib, invoking("add", &["1"]));
    assert!(
        e.contains("takes 2 argument(s) (i64, f64), but 1 were given"),
        "{e}"
    );
    let e = error(&lib, invoking("add", &["x", "1"]));
    assert!(e.contains("bad --arg for `add`"), "{e}");

    let foreign = wat(r#"(module (import "env" "f" (func)) (func (export "_start")))"#);
    let e = error(&foreign, RunOptions::new("m.wasm"));
    assert!(
        e.contains("unsupported import") && e.contains("env::f"),
        "{e}"
    );

    let e = error(b"\0asm\x01\0\0\0\x01\x7f", RunOptions::new("t.wasm"));
    assert!(e.contains("invalid WebAssembly module"), "{e}");
}

#[test]
fn conflicting_options_are_refused() {
    let start = wat(r#"(module (func (export "_start")))"#);
    let mut sample = RunOptions::new("m.wasm");
    sample.mode = wprof_profile::Mode::Sample;
    sample.memory = Some(MemoryOptions::default());
    assert!(error(&start, sample).contains("--memory needs --mode instrument"));

    let artifact = Session::new(&start, RunOptions::new("m.wasm")).unwrap();
    let mut sample = RunOptions::new("m.wasm");
    sample.mode = wprof_profile::Mode::Sample;
    assert!(error(artifact.wasm(), sample).contains("already instrumented"));

    let mut mem = RunOptions::new("m.wasm");
    mem.memory = Some(MemoryOptions::default());
    assert!(error(artifact.wasm(), mem).contains("without memory probes"));

    let mut args = Args::new("lib.wasm");
    args.push("invoke", "add");
    args.push("arg", "1");
    args.push("arg", "2");
    args.push("heap-dump-at", "other:2");
    let o = RunOptions::from_args(&args, Host::Native).unwrap();
    assert!(error(&wat(LIB), o).contains("must be the --invoke export (`add`)"));
}

#[test]
fn the_plan_says_what_to_call() {
    let s = Session::new(&wat(LIB), invoking("add", &["-5", "0.5"])).unwrap();
    let Plan::Invoke {
        export,
        repeat,
        initialize,
        results,
        ..
    } = s.plan()
    else {
        panic!("an invoke plan");
    };
    assert_eq!((export.as_str(), *repeat, *initialize), ("add", 3, true));
    assert_eq!(results, &["i64"]);
    let json = serde_json::to_value(s.plan()).unwrap();
    assert_eq!(
        json["args"][0],
        serde_json::json!({"type": "i64", "value": "-5"})
    );
    assert_eq!(
        json["args"][1],
        serde_json::json!({"type": "f64", "value": "0.5"})
    );
    // Instrument mode: the probe runtime is sized for the module's functions.
    assert_eq!(s.runtime().unwrap().functions, 2);
}

#[test]
fn a_run_that_never_started_still_writes_every_file() {
    let s = Session::new(&wat(LIB), invoking("add", &["1", "2"])).unwrap();
    let mut rec = s.recording();
    rec.record(0, Event::CallStart);
    rec.record(0, Event::CallEnd { duration_ns: 900 });
    let end = RunEnd {
        exit: Exit {
            kind: ExitKind::Trap,
            code: None,
            message: Some("wasm trap: unreachable".into()),
        },
        ..RunEnd::exited(0, 5_000)
    };
    let mut sink = MemorySink::default();
    let done = s.finish(rec, end, None, &mut sink).unwrap();
    let names: Vec<&str> = sink.files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(done.files, names);
    assert_eq!(
        names,
        [
            "flamegraph.svg",
            "cpu.pb.gz",
            "cpu.folded",
            "calls.folded",
            "summary.json"
        ]
    );
    assert_eq!(done.exit_code, 134);
    let summary: serde_json::Value =
        serde_json::from_slice(sink.get("summary.json").unwrap()).unwrap();
    assert_eq!(summary["invoke"]["latency"]["count"], 1);
    assert_eq!(summary["exit"]["kind"], "trap");
    let lines = s.closing_messages(&done, "out/");
    assert_eq!(lines[0], "guest trapped: wasm trap: unreachable");
    assert_eq!(
        lines.last().unwrap(),
        "profile written to out/ (flamegraph.svg, cpu.pb.gz, cpu.folded, calls.folded, summary.json)"
    );
}

#[test]
fn a_host_call_seen_with_a_probes_context_is_probe_time() {
    // The sampler read the probe context, then the host-call word of the
    // call that began right after the probe.
    const HOST: &str = r#"(module
        (import "wasi_snapshot_preview1" "sched_yield" (func (result i32)))
        (func (export "_start") (drop (call 0))))"#;
    let s = Session::new(&wat(HOST), RunOptions::new("host.wasm")).unwrap();
    let mut rec = s.recording();
    rec.add_host_time(wprof_instrument::abi::PROBE_CONTEXT, 0, 700, 7);
    let mut sink = MemorySink::default();
    s.finish(rec, RunEnd::exited(0, 5_000), None, &mut sink)
        .unwrap();
    let summary: serde_json::Value =
        serde_json::from_slice(sink.get("summary.json").unwrap()).unwrap();
    let names: Vec<&str> = summary["functions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert!(!names.contains(&"[truncated]"), "{names:?}");
    assert_eq!(summary["cpu"]["probe_ns"], 700);
    assert_eq!(summary["cpu"]["probe_samples"], 7);
}
