//! The run session without an engine: every user error is found by
//! `Session::new` before anything runs, the plan says what to call (and
//! with data arguments, what to write into the guest first), and a finished
//! run writes exactly the output set through the sink.

use wprof_profile::values::Value;
use wprof_profile::{Exit, ExitKind};
use wprof_session::cli::{Args, Host, InvokeOptions, MemoryOptions, RunOptions};
use wprof_session::invoke::{Guest, InvokeError, ResultForm};
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
        result: None,
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
fn the_runtime_is_linked_only_for_hosts_that_can_run_it() {
    let start = wat(r#"(module (func $f) (func (export "_start") call $f))"#);
    // The native host (several memories) gets the runtime in the artifact.
    let native = RunOptions::new("m.wasm");
    assert!(native.link_runtime);
    let session = Session::new(&start, native.clone()).unwrap();
    assert!(session.runtime().unwrap().linked);
    let manifest = wprof_instrument::Manifest::from_module(session.wasm())
        .unwrap()
        .unwrap();
    assert!(manifest.linked);
    // Node 20 has one memory per module: an artifact that imports it.
    let args = Args::new("m.wasm");
    let node = RunOptions::from_args(&args, Host::Node).unwrap();
    assert!(!node.link_runtime);
    let session = Session::new(&start, node.clone()).unwrap();
    assert!(!session.runtime().unwrap().linked);
    // A linked artifact (from the native cache) is refused there, not
    // failed on at compile time.
    let linked = Session::new(&start, native).unwrap().wasm().to_vec();
    assert_eq!(memories_shared(&linked), [false, false]);
    let e = error(&linked, node.clone());
    assert!(e.contains("links the probe runtime"), "{e}");
    // A page's engine has multi-memory; its sampler is a Worker, which
    // needs the runtime's memory shared.
    let mut page = node;
    page.link_runtime = true;
    page.link_shared = true;
    let session = Session::new(&start, page).unwrap();
    assert!(session.runtime().unwrap().linked);
    assert_eq!(memories_shared(session.wasm()), [false, true]);
}

/// Whether each memory the module defines is shared.
fn memories_shared(wasm: &[u8]) -> Vec<bool> {
    wasmparser::Parser::new(0)
        .parse_all(wasm)
        .find_map(|p| match p {
            Ok(wasmparser::Payload::MemorySection(r)) => {
                Some(r.into_iter().map(|m| m.unwrap().shared).collect())
            }
            _ => None,
        })
        .unwrap_or_default()
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

/// A guest without an engine: a memory and whichever allocator export the
/// module names, handing out addresses from 256 up and logging its calls.
struct FakeGuest {
    memory: Vec<u8>,
    next: u32,
    calls: Vec<(String, Vec<Value>)>,
}

impl FakeGuest {
    fn new() -> FakeGuest {
        FakeGuest {
            memory: vec![0; 4096],
            next: 256,
            calls: Vec::new(),
        }
    }
}

impl Guest for FakeGuest {
    type Error = String;
    fn call(&mut self, name: &str, args: &[Value], results: &[&str]) -> Result<Vec<Value>, String> {
        assert_eq!(results, ["i32"], "allocators return one pointer");
        self.calls.push((name.to_string(), args.to_vec()));
        let size = match (name, args) {
            ("cabi_realloc", [_, _, _, Value::I32(n)]) => *n,
            (_, [Value::I32(n), ..]) => *n,
            _ => return Err(format!("unexpected call {name}{args:?}")),
        };
        let p = self.next;
        self.next += size as u32;
        Ok(vec![Value::I32(p as i32)])
    }
    fn write(&mut self, ptr: u32, bytes: &[u8]) -> Result<(), String> {
        let slot = self
            .memory
            .get_mut(ptr as usize..ptr as usize + bytes.len())
            .ok_or("out of bounds")?;
        slot.copy_from_slice(bytes);
        Ok(())
    }
    fn read(&mut self, ptr: u32, len: u32) -> Result<Vec<u8>, String> {
        let start = (ptr as usize).min(self.memory.len());
        let end = start.saturating_add(len as usize).min(self.memory.len());
        Ok(self.memory[start..end].to_vec())
    }
}

/// A library of string functions with the given allocator exports.
fn strings(allocators: &str) -> Vec<u8> {
    wat(&format!(
        r#"(module (memory (export "memory") 1) {allocators}
            (func (export "len") (param i32 i32) (result i32) local.get 1)
            (func (export "mixed") (param i64 i32 i32 i32 f32) (result i32 i32) i32.const 0 i32.const 0)
            (func (export "area") (param i32) (result i32) local.get 0)
            (func (export "wide") (param i64 i64) (result i64) local.get 0))"#
    ))
}

const MALLOC: &str = r#"(func (export "malloc") (param i32) (result i32) i32.const 0)"#;

#[test]
fn data_arguments_are_checked_before_any_work() {
    let lib = strings(MALLOC);
    let e = error(&lib, invoking("len", &["cstr:x"]));
    assert!(
        e.contains("takes 2 parameter(s) (i32, i32), but the --args given fill 1")
            && e.contains("`str:` and `bytes:` take two i32 parameters"),
        "{e}"
    );
    let e = error(&lib, invoking("len", &["str:x", "1"]));
    assert!(e.contains("fill 3"), "{e}");
    let e = error(&lib, invoking("wide", &["str:x"]));
    assert!(
        e.contains("bad --arg for `wide`: `str:` passes two i32 parameters (pointer, length), but parameter 1 is i64"),
        "{e}"
    );
    let e = error(&lib, invoking("len", &["bytes:abc"]));
    assert!(
        e.contains("`bytes:abc` has an odd number of hex digits"),
        "{e}"
    );
    let e = error(&lib, invoking("len", &["bytes:0g"]));
    assert!(e.contains("`bytes:0g` is not hex"), "{e}");
    let e = error(&lib, invoking("area", &["cstr:a\0b"]));
    assert!(e.contains("contains a NUL byte"), "{e}");
    // Without an allocator, or without an exported memory, data cannot be
    // passed; numbers still can.
    let e = error(&strings(""), invoking("len", &["str:x"]));
    assert!(
        e.contains("needs an exported `memory` and an exported allocator")
            && e.contains("cabi_realloc(i32, i32, i32, i32) -> i32, malloc(i32) -> i32")
            && e.contains("exports no such allocator"),
        "{e}"
    );
    let wrong = r#"(func (export "malloc") (param i64) (result i64) local.get 0)"#;
    assert!(
        error(&strings(wrong), invoking("len", &["str:x"])).contains("exports no such allocator")
    );
    let no_memory = wat(&format!(
        r#"(module {MALLOC} (func (export "len") (param i32 i32) (result i32) local.get 1))"#
    ));
    let e = error(&no_memory, invoking("len", &["str:x"]));
    assert!(e.contains("does not export its memory as `memory`"), "{e}");
    assert!(Session::new(&strings(""), invoking("len", &["1", "2"])).is_ok());
}

#[test]
fn result_forms_must_fit_the_signature() {
    let lib = strings("");
    let with = |export: &str, args: &[&str], form| {
        let mut o = invoking(export, args);
        o.invoke.as_mut().unwrap().result = Some(form);
        o
    };
    let e = error(
        &lib,
        with("mixed", &["1", "2", "3", "4", "0.5"], ResultForm::Cstr),
    );
    assert!(
        e.contains("--result cstr needs an export that returns one i32 pointing at NUL-terminated text, but `mixed` returns (i32, i32)"),
        "{e}"
    );
    let e = error(&lib, with("wide", &["1", "2"], ResultForm::Str));
    assert!(
        e.contains("--result str needs an export that returns a pointer and a length"),
        "{e}"
    );
    // Two results, or one pointing at a return area.
    for export in ["mixed", "area"] {
        let args: &[&str] = if export == "mixed" {
            &["1", "2", "3", "4", "0.5"]
        } else {
            &["1"]
        };
        let s = Session::new(&lib, with(export, args, ResultForm::Str)).unwrap();
        let Plan::Invoke { result, args, .. } = s.plan() else {
            panic!("an invoke plan")
        };
        assert_eq!(*result, Some(ResultForm::Str));
        assert!(args.is_some(), "numbers only: fixed arguments");
    }
}

#[test]
fn data_is_allocated_and_written_fresh_for_every_call() {
    let s = Session::new(
        &strings(MALLOC),
        invoking("mixed", &["-7", "bytes:00ff", "cstr:hi", "0.5"]),
    )
    .unwrap();
    let Plan::Invoke { args, .. } = s.plan() else {
        panic!("an invoke plan")
    };
    assert_eq!(*args, None, "the host must ask for each call's arguments");
    assert_eq!(
        serde_json::to_value(s.plan()).unwrap()["args"],
        serde_json::Value::Null
    );
    let mut guest = FakeGuest::new();
    let first = s.invoke_args(&mut guest).unwrap();
    assert_eq!(
        first,
        [
            Value::I64(-7),
            Value::I32(256),
            Value::I32(2),
            Value::I32(258),
            Value::F32(0.5)
        ]
    );
    assert_eq!(&guest.memory[256..261], b"\x00\xffhi\0");
    let second = s.invoke_args(&mut guest).unwrap();
    assert_eq!(second[1], Value::I32(261), "a fresh allocation per call");
    assert_eq!(second[3], Value::I32(263));
    let sizes: Vec<_> = guest
        .calls
        .iter()
        .map(|(n, a)| (n.as_str(), a.clone()))
        .collect();
    assert_eq!(sizes[0], ("malloc", vec![Value::I32(2)]));
    assert_eq!(
        sizes[1],
        ("malloc", vec![Value::I32(3)]),
        "cstr: with its NUL"
    );
    assert_eq!(sizes.len(), 4);
    // An empty string still gets a distinct, non-null allocation.
    let empty = Session::new(&strings(MALLOC), invoking("len", &["str:"])).unwrap();
    let mut guest = FakeGuest::new();
    assert_eq!(
        empty.invoke_args(&mut guest).unwrap(),
        [Value::I32(256), Value::I32(0)]
    );
    assert_eq!(guest.calls[0].1, [Value::I32(1)]);
}

#[test]
fn the_first_matching_allocator_is_used() {
    let cases = [
        (
            format!(
                r#"{MALLOC} (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32) i32.const 0)"#
            ),
            (
                "cabi_realloc",
                vec![Value::I32(0), Value::I32(0), Value::I32(1), Value::I32(3)],
            ),
        ),
        (
            r#"(func (export "__wbindgen_malloc") (param i32 i32) (result i32) i32.const 0)"#
                .to_string(),
            ("__wbindgen_malloc", vec![Value::I32(3), Value::I32(1)]),
        ),
        (
            r#"(func (export "__wbindgen_malloc") (param i32) (result i32) i32.const 0)"#
                .to_string(),
            ("__wbindgen_malloc", vec![Value::I32(3)]),
        ),
    ];
    for (exports, (name, args)) in cases {
        let s = Session::new(&strings(&exports), invoking("len", &["str:abc"])).unwrap();
        let mut guest = FakeGuest::new();
        s.invoke_args(&mut guest).unwrap();
        assert_eq!(guest.calls, [(name.to_string(), args)], "{exports}");
    }
}

#[test]
fn a_null_allocation_or_a_failing_allocator_ends_the_call() {
    let s = Session::new(&strings(MALLOC), invoking("len", &["str:abc"])).unwrap();
    struct Null;
    impl Guest for Null {
        type Error = String;
        fn call(&mut self, _: &str, _: &[Value], _: &[&str]) -> Result<Vec<Value>, String> {
            Ok(vec![Value::I32(0)])
        }
        fn write(&mut self, _: u32, _: &[u8]) -> Result<(), String> {
            unreachable!("nothing to write to at null")
        }
        fn read(&mut self, _: u32, _: u32) -> Result<Vec<u8>, String> {
            Ok(vec![])
        }
    }
    match s.invoke_args(&mut Null) {
        Err(InvokeError::Fault(why)) => {
            assert_eq!(
                why,
                "the module's allocator `malloc` returned null for 3 bytes"
            )
        }
        other => panic!("{other:?}"),
    }
    let mut guest = FakeGuest::new();
    guest.next = 4095; // the write runs past the end of memory
    assert!(
        matches!(s.invoke_args(&mut guest), Err(InvokeError::Guest(e)) if e == "out of bounds")
    );
}

#[test]
fn string_results_are_read_from_memory() {
    let lib = strings("");
    let plan = |export: &str, args: &[&str], form| {
        let mut o = invoking(export, args);
        o.invoke.as_mut().unwrap().result = Some(form);
        Session::new(&lib, o).unwrap()
    };
    let mut guest = FakeGuest::new();
    guest.memory[100..105].copy_from_slice(b"hello");
    // The return area at 16 holds (100, 5).
    guest.memory[16..24].copy_from_slice(&[100, 0, 0, 0, 5, 0, 0, 0]);
    guest.memory[200..206].copy_from_slice(b"C str\0");
    let area = plan("area", &["16"], ResultForm::Str);
    let text =
        |s: &Session, r: &[Value], g: &mut FakeGuest| s.invoke_result(r, g).unwrap().unwrap();
    assert_eq!(
        text(&area, &[Value::I32(16)], &mut guest),
        Ok(b"hello".to_vec())
    );
    let pair = plan("mixed", &["1", "2", "3", "4", "0.5"], ResultForm::Str);
    assert_eq!(
        text(&pair, &[Value::I32(101), Value::I32(3)], &mut guest),
        Ok(b"ell".to_vec())
    );
    let c = plan("area", &["0"], ResultForm::Cstr);
    assert_eq!(
        text(&c, &[Value::I32(200)], &mut guest),
        Ok(b"C str".to_vec())
    );
    // What cannot be read is said, not guessed.
    let e = text(&pair, &[Value::I32(4000), Value::I32(200)], &mut guest).unwrap_err();
    assert_eq!(
        e,
        "the result's 200 bytes at 0xfa0 run past the end of memory"
    );
    let e = text(&area, &[Value::I32(4092)], &mut guest).unwrap_err();
    assert!(
        e.contains("points at a (pointer, length) pair beyond the end of memory"),
        "{e}"
    );
    guest.memory[3000..].fill(b'x');
    let e = text(&c, &[Value::I32(3000)], &mut guest).unwrap_err();
    assert_eq!(e, "the text at 0xbb8 has no NUL before the end of memory");
    // Without --result nothing is read.
    let plain = Session::new(&lib, invoking("area", &["1"])).unwrap();
    assert_eq!(plain.invoke_result(&[Value::I32(16)], &mut guest), Ok(None));
}

#[test]
fn results_are_summarised_and_printed() {
    let finish = |o: RunOptions, results: &[Value], text: Option<Result<Vec<u8>, String>>| {
        let s = Session::new(&strings(MALLOC), o).unwrap();
        let mut rec = s.recording();
        rec.record(0, Event::CallStart);
        rec.record(0, Event::CallEnd { duration_ns: 10 });
        rec.set_results(results);
        if let Some(t) = text {
            rec.set_result_text(t);
        }
        let mut sink = MemorySink::default();
        let done = s
            .finish(rec, RunEnd::exited(0, 100), None, &mut sink)
            .unwrap();
        let summary: serde_json::Value =
            serde_json::from_slice(sink.get("summary.json").unwrap()).unwrap();
        let lines = s.closing_messages(&done, "out/");
        (summary["invoke"].clone(), done.stdout, lines)
    };
    let with = |export: &str, args: &[&str], form| {
        let mut o = invoking(export, args);
        o.invoke.as_mut().unwrap().result = form;
        o
    };
    // Numbers: one per line, as the wasmtime CLI prints them.
    let (inv, stdout, _) = finish(
        with("mixed", &["1", "2", "3", "4", "0.5"], None),
        &[Value::I32(-1), Value::I32(7)],
        None,
    );
    assert_eq!(inv["results"], serde_json::json!(["i32:-1", "i32:7"]));
    assert_eq!(stdout, b"-1\n7\n");
    // A string: as is, with a newline; the summary shows it, and the args
    // as given.
    let (inv, stdout, _) = finish(
        with("area", &["cstr:x"], Some(ResultForm::Cstr)),
        &[Value::I32(64)],
        Some(Ok(b"two\nlines".to_vec())),
    );
    assert_eq!(stdout, b"two\nlines\n");
    assert_eq!(inv["results"], serde_json::json!(["cstr:two\nlines"]));
    assert_eq!(inv["args"], serde_json::json!(["cstr:x"]));
    // One that could not be read: the raw results, and a warning.
    let (inv, stdout, lines) = finish(
        with("mixed", &["1", "2", "3", "4", "0.5"], Some(ResultForm::Str)),
        &[Value::I32(9000), Value::I32(3)],
        Some(Err(
            "the result's 3 bytes at 0x2328 run past the end of memory".into(),
        )),
    );
    assert_eq!(inv["results"], serde_json::json!(["i32:9000", "i32:3"]));
    assert_eq!(stdout, b"9000\n3\n");
    assert_eq!(
        lines[0],
        "warning: --result str: cannot read the last call's result: the result's 3 bytes at 0x2328 \
         run past the end of memory; its raw results are shown"
    );
    // No completed call: nothing to print.
    let s = Session::new(&strings(""), invoking("area", &["1"])).unwrap();
    let mut sink = MemorySink::default();
    let done = s
        .finish(s.recording(), RunEnd::exited(0, 100), None, &mut sink)
        .unwrap();
    assert!(done.stdout.is_empty());
}
