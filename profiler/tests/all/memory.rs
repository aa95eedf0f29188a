//! `wprof run --memory` on real guests of every supported language, with
//! expectations from the guests' sources (see each guest's header comment),
//! plus heap dumps, `wprof heap diff` and the heap pprof in `go tool pprof`.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::support::*;

fn memory(summary: &Value) -> &Value {
    &summary["memory"]
}

/// Sites whose stack contains `frame`, summed: (allocs, frees, live, live_bytes).
fn sites_through(summary: &Value, frame: &str) -> (u64, u64, u64, u64) {
    let mut t = (0, 0, 0, 0);
    for s in memory(summary)["top_sites"].as_array().unwrap() {
        if s["stack"].as_str().unwrap().split(';').any(|f| f == frame) {
            t.0 += s["allocs"].as_u64().unwrap();
            t.1 += s["frees"].as_u64().unwrap();
            t.2 += s["live"].as_u64().unwrap();
            t.3 += s["live_bytes"].as_u64().unwrap();
        }
    }
    t
}

/// The site whose stack ends in `leaf`.
fn site<'a>(summary: &'a Value, leaf: &str) -> &'a Value {
    memory(summary)["top_sites"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["stack"].as_str().unwrap().rsplit(';').next() == Some(leaf))
        .unwrap_or_else(|| panic!("no site ending in {leaf}: {:#}", memory(summary)))
}

fn hooked(summary: &Value, name: &str) -> bool {
    memory(summary)["hooks"]["found"]
        .as_array()
        .unwrap()
        .iter()
        .any(|h| h["name"] == name)
}

#[test]
fn rust_leak_churn_and_raw_grow() {
    let guest = rust_guest("memory");
    let (out, summary, dir) = run_profile("mem-rust", &["--memory", guest.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "memory guest done\n",
        "profiling changed the output"
    );
    let m = memory(&summary);
    assert!(
        hooked(&summary, "__rustc::__rust_alloc"),
        "{:#}",
        m["hooks"]
    );
    // The leak: 100 blocks of 1000 bytes, live on memory::leak's stack.
    assert_eq!(
        sites_through(&summary, "memory::leak"),
        (100, 0, 100, 100_000)
    );
    // Churn: 1000 allocations, all freed.
    assert_eq!(sites_through(&summary, "memory::churn"), (1000, 1000, 0, 0));
    assert_eq!(m["live_bytes"], 100_000, "only the leak is live at exit");
    // The raw grow is the untracked growth, exactly, and the alarm names it.
    assert_eq!(m["untracked_growth_bytes"], 3 * 65536);
    let alarm = m["alarm"].as_str().expect("alarm fires");
    assert!(alarm.contains("memory::raw_grow"), "{alarm}");
    let grow = m["grow_sites"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["tracked"] == false)
        .unwrap();
    assert!(
        grow["stack"]
            .as_str()
            .unwrap()
            .ends_with("memory::raw_grow")
    );
    // Every other grow ran inside the allocator.
    assert_eq!(
        m["grown_bytes"].as_u64().unwrap() - m["untracked_growth_bytes"].as_u64().unwrap(),
        m["grow_sites"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|g| g["tracked"] == true)
            .map(|g| g["bytes"].as_u64().unwrap())
            .sum::<u64>()
    );
    for f in [
        "heap.pb.gz",
        "memory.svg",
        "memory-peak.svg",
        "heap-exit.wheap",
    ] {
        assert!(dir.join(f).exists(), "{f} missing");
    }
    let svg = std::fs::read_to_string(dir.join("memory.svg")).unwrap();
    assert!(
        svg.contains("memory::leak"),
        "in-use flamegraph shows the leak"
    );
}

/// wasm32-unknown-unknown: std's own dlmalloc port, no libc underneath, so
/// the Rust shims are the only hooks.
#[test]
fn rust_unknown_unknown_library() {
    let dir = rust_guests().parent().unwrap().parent().unwrap();
    let status = Command::new(env!("CARGO"))
        .args([
            "build",
            "--release",
            "--target",
            "wasm32-unknown-unknown",
            "-p",
            "memlib",
            "--manifest-path",
        ])
        .arg(repo().join("tests/guests/rust/Cargo.toml"))
        .arg("--target-dir")
        .arg(dir)
        .status()
        .unwrap();
    assert!(status.success());
    let lib = dir.join("wasm32-unknown-unknown/release/memlib.wasm");
    let (out, summary, _) = run_profile(
        "mem-unknown",
        &[
            "--memory",
            "--invoke",
            "handle",
            "--repeat",
            "20",
            lib.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let m = memory(&summary);
    assert_eq!(m["hooks"]["allocators"], serde_json::json!(["rust"]));
    // 20 remembered blocks plus the cache vector they sit in (its last
    // buffer: capacity 32 of 8-byte boxed-slice pointers).
    let (allocs, frees, live, bytes) = sites_through(&summary, "memlib::remember");
    assert_eq!(
        (live, bytes),
        (21, 20 * 512 + 32 * 8),
        "{:#}",
        m["top_sites"]
    );
    assert_eq!(allocs - frees, 21);
    assert_eq!(sites_through(&summary, "memlib::scratch"), (200, 200, 0, 0));
}

#[test]
fn c_malloc_family_exact() {
    let Some(guest) = c_guest("alloc") else {
        return;
    };
    let (out, summary, _) = run_profile("mem-c", &["--memory", guest.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    // The guest checks that realloc really stayed in place / moved.
    assert!(
        text.contains("in place: yes") && text.contains("moved: yes"),
        "{text}"
    );
    let row = |leaf: &str| {
        let s = site(&summary, leaf);
        let n = |k: &str| s[k].as_u64().unwrap();
        (n("allocs"), n("frees"), n("live"), n("live_bytes"))
    };
    assert_eq!(row("keep_malloc"), (3, 1, 2, 200));
    assert_eq!(row("keep_calloc"), (1, 0, 1, 250));
    assert_eq!(row("grow_in_place"), (1, 0, 1, 24));
    // malloc(32) + the 4000-byte wall, then realloc moves: free + alloc.
    assert_eq!(row("move_block"), (3, 1, 2, 24_000));
    assert_eq!(row("aligned"), (1, 0, 1, 512));
    assert_eq!(row("churn"), (200, 200, 0, 0));
    let m = memory(&summary);
    assert_eq!(m["live_bytes"], 200 + 250 + 24 + 24_000 + 512);
    assert_eq!(m["unknown_frees"], 0);
    assert_eq!(m["hooks"]["allocators"], serde_json::json!(["libc"]));
}

#[test]
fn assemblyscript_unmanaged_growth_alarm() {
    let Some(guest) = as_guest("leak", true) else {
        return;
    };
    let (out, summary, _) = run_profile("mem-as", &["--memory", guest.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let m = memory(&summary);
    // 20000 requests + 1: one unmanaged IndexNode each, never freed.
    let node = site(&summary, "tests/guests/as/leak/rememberRequest");
    assert_eq!(node["layer"], "as-unmanaged");
    assert_eq!(node["live"], 20_001);
    assert_eq!(node["frees"], 0);
    let size = node["live_bytes"].as_u64().unwrap() / 20_001;
    assert_eq!(size * 20_001, node["live_bytes"].as_u64().unwrap());
    // The managed churn is collected: allocated many times over, barely live.
    let managed: u64 = m["top_sites"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["layer"] == "as-managed")
        .map(|s| s["alloc_bytes"].as_u64().unwrap())
        .sum();
    assert!(managed > 40_000_000, "managed churn: {managed}");
    let gc = &m["gc"];
    assert!(gc["pauses"].as_u64().unwrap() > 1000, "{gc:#}");
    assert!(gc["cycles"].as_u64().unwrap() > 10, "{gc:#}");
    assert!(gc["max_pause_ns"].as_u64().unwrap() >= gc["p99_pause_ns"].as_u64().unwrap());
    assert!(gc["p99_pause_ns"].as_u64().unwrap() >= gc["p50_pause_ns"].as_u64().unwrap());
    // The story: the GC heap stays flat while linear memory grows.
    let gc_heap = gc["heap_bytes"].as_u64().unwrap();
    let grown =
        m["linear_memory_bytes"].as_u64().unwrap() - m["initial_memory_bytes"].as_u64().unwrap();
    assert!(gc_heap * 20 < grown, "gc heap {gc_heap} vs growth {grown}");
    let alarm = m["alarm"].as_str().expect("the alarm fires");
    assert!(alarm.contains("unmanaged"), "{alarm}");
    assert!(alarm.contains("rememberRequest"), "{alarm}");
}

#[test]
fn go_allocations_and_gc_cycles() {
    let Some(guest) = go_guest("alloc") else {
        return;
    };
    let (out, summary, _) = run_profile("mem-go", &["--memory", guest.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "kept 2 batches, gc cycles 20\n");
    let m = memory(&summary);
    // 20 rounds x 1000 `new([64]byte)` from main.allocBatch.
    let (allocs, ..) = sites_through(&summary, "main.allocBatch");
    assert!((20_000..=20_100).contains(&allocs), "{allocs}");
    assert_eq!(m["gc"]["cycles"], 20, "one cycle per runtime.GC()");
    assert_eq!(m["gc"]["timed"], false);
    // Go's blocks are counted, not tracked: say so, and do not raise the
    // alarm about the runtime's own heap growth.
    assert_eq!(m["untracked_layers"], serde_json::json!(["go"]));
    assert_eq!(m["untracked_growth_bytes"], 0);
    assert!(m.get("alarm").is_none(), "{:#}", m["alarm"]);
}

/// `--invoke … --repeat N` with a collector: latency with and without GC,
/// and how much of the tail GC explains.
#[test]
fn assemblyscript_gc_latency_split() {
    let Some(lib) = as_guest("gclib", false) else {
        return;
    };
    let (out, summary, _) = run_profile(
        "mem-as-gc",
        &[
            "--memory",
            "--invoke",
            "handle",
            "--repeat",
            "2000",
            lib.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let inv = &summary["invoke"];
    let gc = &inv["gc"];
    let n = |v: &Value| v.as_u64().unwrap();
    let with_gc = n(&gc["calls_with_gc"]);
    assert!(with_gc > 0 && with_gc < 2000, "{gc:#}");
    assert_eq!(n(&gc["latency_without_gc"]["count"]), 2000);
    // Subtracting pauses can only lower each call's time.
    assert!(n(&gc["latency_without_gc"]["p99_ns"]) <= n(&inv["latency"]["p99_ns"]));
    assert!(n(&gc["latency_without_gc"]["max_ns"]) <= n(&inv["latency"]["max_ns"]));
    let share = gc["tail_calls_with_gc"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&share));
    assert!(gc["gc_share_of_tail"].as_f64().unwrap() > 0.0);
    // Every GC'd call had at least one pause; pauses are not fewer than calls with GC.
    assert!(n(&summary["memory"]["gc"]["pauses"]) >= with_gc);
}

#[test]
fn zig_wasm_allocator() {
    let Some(guest) = zig_guest("alloc") else {
        return;
    };
    let (out, summary, _) = run_profile("mem-zig", &["--memory", guest.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let m = memory(&summary);
    assert_eq!(m["hooks"]["allocators"], serde_json::json!(["zig"]));
    assert!(
        hooked(&summary, "heap.BrkAllocator.alloc"),
        "{:#}",
        m["hooks"]
    );
    assert_eq!(m["allocations"], 110);
    assert_eq!(m["allocated_bytes"], 10 * 100 + 100 * 48);
    let live = m["live_bytes"].as_u64().unwrap();
    assert!((1000..=1000 + 48).contains(&live), "{live}");
    assert_eq!(
        m["untracked_growth_bytes"], 0,
        "the allocator's grows are tracked"
    );
}

/// No allocator recognised: say so, and still attribute `memory.grow`.
#[test]
fn unknown_allocator_still_attributes_grows() {
    let dir = temp_dir("mem-unknown-alloc-src");
    let wat = dir.join("grow.wat");
    std::fs::write(
        &wat,
        r#"(module (memory (export "memory") 1)
             (func $arena_reserve (param i32) (result i32) (memory.grow (local.get 0)))
             (func (export "_start") (drop (call $arena_reserve (i32.const 2)))))"#,
    )
    .unwrap();
    let (out, summary, _) = run_profile("mem-unknown-alloc", &["--memory", wat.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let m = memory(&summary);
    assert_eq!(m["hooks"]["allocators"], serde_json::json!([]));
    assert_eq!(m["untracked_growth_bytes"], 2 * 65536);
    assert_eq!(m["linear_memory_bytes"], 3 * 65536);
    assert_eq!(m["grow_sites"][0]["stack"], "_start;arena_reserve");
    let alarm = m["alarm"].as_str().unwrap();
    assert!(alarm.contains("no allocator was recognised"), "{alarm}");
}

#[test]
fn heap_dump_at_chosen_calls() {
    let lib = rust_guest("memlib");
    let (out, _, dir) = run_profile(
        "mem-dump-at",
        &[
            "--invoke",
            "handle",
            "--repeat",
            "5",
            "--heap-dump-at",
            "handle:2",
            "--heap-dump-at",
            "handle:4",
            lib.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    for (i, call) in [(1, 2), (2, 4)] {
        let dump = dir.join(format!("heap-{i:03}.wheap"));
        let json: Value = serde_json::from_str(&wprof_ok(&[
            "heap",
            "show",
            "--json",
            dump.to_str().unwrap(),
        ]))
        .unwrap();
        let remembered = json["top_sites"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["stack"].as_str().unwrap().ends_with("memlib::remember"))
            .map(|s| s["live"].as_u64().unwrap())
            .sum::<u64>();
        assert_eq!(remembered, call, "one block per call so far");
    }
    assert!(!dir.join("heap-003.wheap").exists());
}

fn wprof_ok(args: &[&str]) -> String {
    let out = wprof(args);
    assert!(out.status.success(), "wprof {args:?}: {}", stderr(&out));
    stdout(&out)
}

#[test]
fn dumps_and_diff_name_the_leak() {
    let lib = rust_guest("memlib");
    let (out, summary, dir) = run_profile(
        "mem-diff",
        &[
            "--invoke",
            "handle",
            "--repeat",
            "150",
            "--heap-dump-every",
            "50",
            lib.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(summary["memory"].is_object(), "dump flags imply --memory");
    let dumps: Vec<String> = (1..=3)
        .map(|i| {
            dir.join(format!("heap-{i:03}.wheap"))
                .to_str()
                .unwrap()
                .to_string()
        })
        .collect();
    for d in &dumps {
        assert!(Path::new(d).exists(), "{d} missing");
    }
    let diff: Value =
        serde_json::from_str(&wprof_ok(&["heap", "diff", "--json", &dumps[0], &dumps[1]])).unwrap();
    let top = &diff["sites"][0];
    assert!(
        top["stack"].as_str().unwrap().ends_with("memlib::remember"),
        "{diff:#}"
    );
    assert_eq!(top["new_live"], 50);
    assert_eq!(top["new_live_bytes"], 50 * 512);
    assert_eq!(top["suspect"], true);
    assert!(
        !diff["sites"].as_array().unwrap().iter().any(|s| s["stack"]
            .as_str()
            .unwrap()
            .ends_with("memlib::scratch")
            && s["suspect"] == true),
        "churn is not a suspect"
    );
    // Three dumps: growth at every dump.
    let diff3: Value = serde_json::from_str(&wprof_ok(&[
        "heap", "diff", "--json", &dumps[0], &dumps[1], &dumps[2],
    ]))
    .unwrap();
    assert_eq!(diff3["sites"][0]["monotonic"], true);
    let text = wprof_ok(&["heap", "diff", &dumps[0], &dumps[2]]);
    let first = text
        .lines()
        .skip_while(|l| !l.starts_with("LEAK SUSPECTS"))
        .nth(2)
        .unwrap();
    assert!(
        first.contains("memlib::remember") && first.contains("SUSPECT"),
        "{text}"
    );
    let show = wprof_ok(&["heap", "show", &dumps[1]]);
    assert!(show.contains("call 100 of handle"), "{show}");
    // Dumps out of order are refused.
    let out = wprof(&["heap", "diff", &dumps[1], &dumps[0]]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("out of order"), "{}", stderr(&out));
}

#[test]
fn heap_pprof_matches_summary_in_go_tool_pprof() {
    let Some(go) = go() else {
        assert!(std::env::var_os("WPROF_REQUIRE_GO").is_none());
        return;
    };
    let Some(guest) = c_guest("alloc") else {
        return;
    };
    let (_, summary, dir) = run_profile("mem-pprof", &["--memory", guest.to_str().unwrap()]);
    let m = memory(&summary);
    let total = |index: &str| -> u64 {
        let text = go_pprof(
            &go,
            &["-raw", "-sample_index", index],
            &dir.join("heap.pb.gz"),
        );
        // `-raw` prints each sample as "v1 v2 v3 v4: loc…" (then its labels);
        // sum the column.
        let col = [
            "alloc_objects",
            "alloc_space",
            "inuse_objects",
            "inuse_space",
        ]
        .iter()
        .position(|c| *c == index)
        .unwrap();
        text.lines()
            .skip_while(|l| !l.starts_with("Samples:"))
            .take_while(|l| !l.starts_with("Locations"))
            .filter_map(|l| {
                let (values, _) = l.split_once(':')?;
                let v: Vec<u64> = values
                    .split_whitespace()
                    .map(|x| x.parse().ok())
                    .collect::<Option<_>>()?;
                (v.len() == 4).then(|| v[col])
            })
            .sum()
    };
    assert_eq!(total("inuse_space"), m["live_bytes"].as_u64().unwrap());
    assert_eq!(total("alloc_objects"), m["allocations"].as_u64().unwrap());
    assert_eq!(total("alloc_space"), m["allocated_bytes"].as_u64().unwrap());
}

#[test]
fn memory_flags_are_checked() {
    let fib = rust_guest("fib");
    let out = wprof(&["run", "--memory", "--mode", "sample", fib.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("--memory needs --mode instrument"),
        "{}",
        stderr(&out)
    );
    let out = wprof(&["run", "--heap-dump-at", "fib:0", fib.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let out = wprof(&["run", "--heap-dump-at", "nope:3", fib.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("must be the --invoke export"),
        "{}",
        stderr(&out)
    );
    let out = wprof(&["heap", "show", fib.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("not a wprof heap dump"),
        "{}",
        stderr(&out)
    );
}
