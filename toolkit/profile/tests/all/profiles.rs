//! The hand-built profiles. Numbers are chosen so totals are easy to check
//! by hand: in timed profiles `self_ns` is `samples × interval_ns`.

use wprof_profile::heap::{Hook, Hooks, Layer, Missing, PAGE, Recorder};
use wprof_profile::{Exit, ExitKind, Invoke, Latency, Mode, Profile};

/// Sets the counters of the context `stack` (function ids, outermost
/// first), creating it, and returns its node id.
pub fn context(p: &mut Profile, stack: &[u32], calls: u64, self_ns: u64, samples: u64) -> u32 {
    let node = p.tree.path(stack.iter().copied());
    let n = &mut p.tree.nodes[node as usize];
    n.calls = calls;
    n.self_ns = self_ns;
    n.samples = samples;
    node
}

/// An `--invoke` run of `main` in instrument mode: recursion (`fib` under
/// itself), a function in two contexts, a Rust name with spaces and angle
/// brackets, and 5 calls of `fib` cut at `[truncated]` because the tree was
/// full.
///
/// | context                  | calls | self_ns | samples |
/// |--------------------------|-------|---------|---------|
/// | [truncated]              | 5     | 100     | 1       |
/// | main                     | 3     | 200     | 2       |
/// | main;fib                 | 3     | 300     | 3       |
/// | main;fib;fib             | 6     | 400     | 4       |
/// | main;fib;fib;fib         | 4     | 500     | 5       |
/// | main;fib;WRITE           | 1     | 100     | 1       |
/// | main;WRITE               | 3     | 1000    | 10      |
///
/// Exact calls: main 3, fib 3+6+4+5 = 18, WRITE 4, `[truncated]` 5 (its
/// tree count). Sampled 2600 ns in 26 samples; totals: main 2500, fib 1300
/// (self 1200), WRITE 1100.
pub fn instrumented() -> Profile {
    let mut p = Profile::new("fib.wasm", Mode::Instrument);
    p.sampler = wprof_profile::Sampler {
        name: "context".into(),
        cost_ns: 0,
        dropped: 0,
    };
    let main = p.add_function("main", Some(11));
    let fib = p.add_function("fib", Some(12));
    let write = p.add_function("<&std::io::Stdout as std::io::Write>::write_fmt", Some(40));
    let truncated = p.add_function("[truncated]", None);
    // As the session builds it: the cut-off calls are counted on the frame.
    p.functions[truncated as usize].calls = Some(5);
    for (f, calls) in [(main, 3), (fib, 18), (write, 4)] {
        p.functions[f as usize].calls = Some(calls);
    }
    context(&mut p, &[truncated], 5, 100, 1);
    context(&mut p, &[main], 3, 200, 2);
    context(&mut p, &[main, fib], 3, 300, 3);
    context(&mut p, &[main, fib, fib], 6, 400, 4);
    context(&mut p, &[main, fib, fib, fib], 4, 500, 5);
    context(&mut p, &[main, fib, write], 1, 100, 1);
    context(&mut p, &[main, write], 3, 1000, 10);
    p.truncated_calls = 5;
    p.wall_ns = 3000;
    p.interval_ns = 100;
    p.invoke = Some(Invoke {
        export: "main".to_string(),
        args: vec!["25".to_string()],
        repeat: 3,
        results: vec!["i32:75025".to_string()],
        latency: Latency::from_durations(&[800, 1200, 1000]),
        gc: None,
    });
    p
}

/// A sampled run that trapped: no call counts, `parse` in two contexts, a
/// name with `;` (folded output must not split it), and time that is not a
/// multiple of the interval.
///
/// | context                | samples | self_ns   |
/// |------------------------|---------|-----------|
/// | _start                 | 0       | 0         |
/// | _start;main            | 2       | 2_000_100 |
/// | _start;main;parse      | 5       | 5_000_000 |
/// | _start;main;render     | 3       | 2_999_900 |
/// | _start;main;render;parse | 1     | 1_000_000 |
/// | _start;main;odd;name   | 1       | 1_000_000 |
///
/// 12 samples, 12_000_000 ns. Totals: main 12_000_000, render 3_999_900,
/// parse 6_000_000 (self too).
pub fn sampled() -> Profile {
    let mut p = Profile::new("sampled.wasm", Mode::Sample);
    p.sampler = wprof_profile::Sampler {
        name: "signal".into(),
        cost_ns: 41000,
        dropped: 2,
    };
    let start = p.add_function("_start", Some(3));
    let main = p.add_function("main", Some(4));
    let parse = p.add_function("parse", Some(5));
    let render = p.add_function("render", Some(6));
    let odd = p.add_function("odd;name", Some(7));
    context(&mut p, &[start], 0, 0, 0);
    context(&mut p, &[start, main], 0, 2_000_100, 2);
    context(&mut p, &[start, main, parse], 0, 5_000_000, 5);
    context(&mut p, &[start, main, render], 0, 2_999_900, 3);
    context(&mut p, &[start, main, render, parse], 0, 1_000_000, 1);
    context(&mut p, &[start, main, odd], 0, 1_000_000, 1);
    p.exit = Exit {
        kind: ExitKind::Trap,
        code: None,
        message: Some("wasm trap: wasm `unreachable` instruction executed".to_string()),
    };
    p.wall_ns = 12_500_000;
    p.interval_ns = 1_000_000;
    p.host_peak_rss_bytes = Some(48 << 20);
    p
}

/// An instrumented run shorter than one sampling interval: calls, no time.
/// `main` 1 call, `main;add` 2, `main;add;add` 1 (add: 3 calls).
pub fn untimed() -> Profile {
    let mut p = Profile::new("tiny.wasm", Mode::Instrument);
    p.sampler = wprof_profile::Sampler {
        name: "none".into(),
        cost_ns: 0,
        dropped: 0,
    };
    let main = p.add_function("main", Some(1));
    let add = p.add_function("add", Some(2));
    p.functions[main as usize].calls = Some(1);
    p.functions[add as usize].calls = Some(3);
    context(&mut p, &[main], 1, 0, 0);
    context(&mut p, &[main, add], 2, 0, 0);
    context(&mut p, &[main, add, add], 1, 0, 0);
    p.wall_ns = 20_000;
    p.interval_ns = 1_000_000;
    p
}

/// An instrumented AssemblyScript-like run with memory profiling. The heap
/// events, in order (sizes in bytes, memory in 64 KiB pages, starting at 1):
///
/// 1. `make_list` allocates managed 0x1000 (100) and 0x2000 (200);
///    `leak` allocates unmanaged 0x3000 (1000).
/// 2. `leak` grows memory 1 → 2 pages inside the allocator (tracked).
/// 3. The GC frees 0x1000 and pauses three times: 5000 ns (cycle done),
///    2000 ns (mid-cycle), 3000 ns (cycle done).
/// 4. `grow_buf` reallocs: 0 → 0x4000 (64), in place to 128, moved to
///    0x5000 (256).
/// 5. `main` grows memory 2 → 3 pages itself (untracked): the peak.
/// 6. A free of 0x9999, never allocated; `make_list` allocates 0x6000
///    (50); `main` fails to grow by 100 pages; the GC frees 0x2000.
///
/// Exit: allocations 6, allocated 100+200+1000+64+64+256+50 = 1734, frees
/// 3 (0x1000, 0x4000 by the move, 0x2000) of 100+128+200 = 428 bytes, so
/// live 1306 = 1000 (leak) + 256 (grow_buf) + 50 (make_list); peak live
/// 1506 (just before the last free). At the memory peak: leak 1000,
/// grow_buf 256, make_list 200.
pub fn with_heap() -> Profile {
    let mut p = Profile::new("alloc.wasm", Mode::Instrument);
    p.sampler = wprof_profile::Sampler {
        name: "context".into(),
        cost_ns: 0,
        dropped: 0,
    };
    let main = p.add_function("main", Some(30));
    let make_list = p.add_function("make_list", Some(31));
    let leak = p.add_function("leak", Some(32));
    let grow_buf = p.add_function("grow_buf", Some(33));
    for (f, calls) in [(main, 1), (make_list, 3), (leak, 1), (grow_buf, 1)] {
        p.functions[f as usize].calls = Some(calls);
    }
    let n_main = context(&mut p, &[main], 1, 100, 1);
    let n_make = context(&mut p, &[main, make_list], 3, 300, 3);
    let n_leak = context(&mut p, &[main, leak], 1, 100, 1);
    let n_grow = context(&mut p, &[main, grow_buf], 1, 0, 0);
    p.wall_ns = 1000;
    p.interval_ns = 100;

    let mut r = Recorder::new(PAGE);
    r.hooks = Hooks {
        found: vec![
            hook("~lib/rt/itcms/__new", "alloc", 20),
            hook("~lib/rt/tlsf/__alloc", "alloc", 21),
            hook("~lib/rt/tlsf/__realloc", "realloc", 22),
            hook("~lib/rt/tlsf/__free", "free", 23),
            hook("~lib/rt/itcms/step", "gc", 24),
        ],
        missing: vec![Missing {
            allocator: "assemblyscript".to_string(),
            names: vec!["~lib/rt/itcms/__renew".to_string()],
        }],
        allocators: vec!["assemblyscript".to_string()],
    };
    r.export_calls = 1;
    r.alloc(n_make, Layer::AsManaged, 0x1000, 100);
    r.alloc(n_make, Layer::AsManaged, 0x2000, 200);
    r.alloc(n_leak, Layer::AsUnmanaged, 0x3000, 1000);
    r.grow(n_leak, 1, 1, true);
    r.free(Layer::AsManaged, 0x1000);
    r.gc_pause(5000, Some(0));
    r.gc_pause(2000, Some(1));
    r.gc_pause(3000, Some(0));
    r.realloc(n_grow, Layer::AsUnmanaged, 0, 0x4000, 64);
    r.realloc(n_grow, Layer::AsUnmanaged, 0x4000, 0x4000, 128);
    r.realloc(n_grow, Layer::AsUnmanaged, 0x4000, 0x5000, 256);
    r.grow(n_main, 2, 1, false);
    r.free(Layer::AsUnmanaged, 0x9999);
    r.alloc(n_make, Layer::AsManaged, 0x6000, 50);
    r.grow(n_main, -1, 100, false);
    r.free(Layer::AsManaged, 0x2000);
    r.set_gc_heap_bytes(300);

    let resolve = |node: u32| -> Vec<String> {
        p.tree
            .stack(node)
            .into_iter()
            .map(|f| p.functions[f as usize].name.clone())
            .collect()
    };
    let mut heap = r.snapshot("exit", &resolve);
    heap.module = p.module.clone();
    p.memory = Some(heap);
    p
}

fn hook(name: &str, kind: &str, index: u32) -> Hook {
    Hook {
        name: name.to_string(),
        kind: kind.to_string(),
        allocator: "assemblyscript".to_string(),
        index,
    }
}
