//! Semantics preserved at scale: random valid modules (wasm-smith) give the
//! same results, traps, globals and memory before and after instrumentation
//! (every other seed with memory probes too, which rewrites `memory.grow`).
//! And the probes balance: an export that returns normally leaves the
//! runtime's current context where it found it, at the root, which the
//! guest cannot observe but every profile depends on.
//!
//! `WPROF_DIFF_CASES` sets how many modules (default 300; the dedicated run in
//! the README uses thousands), `WPROF_DIFF_SEED` shifts the seeds.

use std::fmt::Write as _;

use arbitrary::Unstructured;
use wasmtime::{Config, Engine, Instance, Linker, Module, Store, Trap, Val};
use wprof_instrument::abi;

fn smith_config() -> wasm_smith::Config {
    wasm_smith::Config {
        max_imports: 0,
        min_funcs: 1,
        max_funcs: 12,
        export_everything: true,
        canonicalize_nans: true,
        // Features outside what the native and JS hosts target.
        gc_enabled: false,
        memory64_enabled: false,
        threads_enabled: false,
        relaxed_simd_enabled: false,
        max_memories: 1,
        max_memory32_bytes: 4 << 16,
        max_instructions: 200,
        ..Default::default()
    }
}

fn engine() -> Engine {
    let mut c = Config::new();
    c.wasm_exceptions(true);
    c.wasm_tail_call(true);
    c.wasm_function_references(true);
    // The probe runtime keeps the current context in a shared memory.
    c.wasm_threads(true);
    c.shared_memory(true);
    Engine::new(&c).unwrap()
}

/// Deterministic bytes for seed `i` (splitmix64).
fn bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed;
    (0..len)
        .map(|_| {
            x = x.wrapping_add(0x9E3779B97F4A7C15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58476D1CE4E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D049BB133111EB);
            (z ^ (z >> 31)) as u8
        })
        .collect()
}

fn show(v: &Val) -> String {
    match v {
        Val::I32(x) => format!("i32:{x}"),
        Val::I64(x) => format!("i64:{x}"),
        Val::F32(x) => format!("f32:{x:#x}"),
        Val::F64(x) => format!("f64:{x:#x}"),
        Val::V128(x) => format!("v128:{:#x}", x.as_u128()),
        Val::FuncRef(f) => format!("funcref:{}", if f.is_some() { "some" } else { "null" }),
        Val::ExternRef(r) => format!("externref:{}", if r.is_some() { "some" } else { "null" }),
        Val::AnyRef(r) => format!("anyref:{}", if r.is_some() { "some" } else { "null" }),
        Val::ExnRef(r) => format!("exnref:{}", if r.is_some() { "some" } else { "null" }),
        Val::ContRef(_) => "contref".to_string(),
    }
}

fn show_err(e: &wasmtime::Error) -> String {
    match e.downcast_ref::<Trap>() {
        Some(t) => format!("trap:{t:?}"),
        None if e.downcast_ref::<wasmtime::ThrownException>().is_some() => {
            "uncaught exception".into()
        }
        None => format!("error:{}", e.root_cause()),
    }
}

/// Where an instrumented module's probe runtime is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Runtime {
    /// Not instrumented.
    None,
    /// An instance of its own, imported as `wprof`.
    Imported,
    /// Linked into the module (`Options::link_runtime`).
    Linked,
}

/// Everything observable from outside: each export called once in order
/// with default arguments, then exported globals and memory contents. When
/// `instrumented`, also the calls (and the start function) that returned with
/// the runtime's context not back at the root.
fn observe(engine: &Engine, wasm: &[u8], runtime: Runtime) -> (String, Vec<String>) {
    let module = Module::new(engine, wasm).expect("module compiles");
    let mut store = Store::new(engine, ());
    let mut linker: Linker<()> = Linker::new(engine);
    let mut context = None;
    let functions = || {
        wprof_instrument::Manifest::from_module(wasm)
            .unwrap()
            .unwrap()
            .functions
            .len() as i32
    };
    if runtime == Runtime::Imported {
        let rt = Module::new(engine, abi::runtime_wasm()).unwrap();
        let rt = Instance::new(&mut store, &rt, &[]).unwrap();
        let current = rt.get_typed_func::<(), i32>(&mut store, abi::CURRENT);
        let leave = rt.get_typed_func::<i32, ()>(&mut store, abi::LEAVE);
        context = Some((current.unwrap(), leave.unwrap()));
        let init = rt
            .get_typed_func::<(i32, i32), i32>(&mut store, "init")
            .unwrap();
        assert_eq!(init.call(&mut store, (functions(), 1024)).unwrap(), 0);
        linker.instance(&mut store, abi::IMPORT_MODULE, rt).unwrap();
    }
    if runtime != Runtime::None {
        // Memory probes only report; no-op hosts must leave behaviour alone.
        use abi::mem::*;
        linker
            .func_wrap(MODULE, ALLOC, |_: i64, _: i64, _: i32| {})
            .unwrap();
        linker.func_wrap(MODULE, FREE, |_: i64, _: i32| {}).unwrap();
        linker
            .func_wrap(MODULE, REALLOC, |_: i64, _: i64, _: i64, _: i32| {})
            .unwrap();
        linker
            .func_wrap(MODULE, GROW, |_: i64, _: i64, _: i32| {})
            .unwrap();
        linker.func_wrap(MODULE, GC_BEGIN, || {}).unwrap();
        linker
            .func_wrap(MODULE, GC_END, |_: i64, _: i32| {})
            .unwrap();
        linker.func_wrap(MODULE, GC_CYCLE, || {}).unwrap();
    }
    let mut log = String::new();
    let mut unbalanced = Vec::new();
    let instance = match linker.instantiate(&mut store, &module) {
        Ok(i) => i,
        Err(e) => return (format!("instantiate: {}", show_err(&e)), Vec::new()),
    };
    if runtime == Runtime::Linked {
        // The host's part: `init`, then the module's own start function.
        let prefixed = |name: &str| format!("{}{name}", abi::LINKED_PREFIX);
        let init = instance.get_typed_func::<(i32, i32), i32>(&mut store, &prefixed("init"));
        assert_eq!(
            init.unwrap().call(&mut store, (functions(), 1024)).unwrap(),
            0
        );
        let current = instance.get_typed_func::<(), i32>(&mut store, &prefixed(abi::CURRENT));
        let leave = instance.get_typed_func::<i32, ()>(&mut store, &prefixed(abi::LEAVE));
        context = Some((current.unwrap(), leave.unwrap()));
        if let Some(start) = instance.get_func(&mut store, abi::LINKED_START)
            && let Err(e) = start.call(&mut store, &[], &mut [])
        {
            return (format!("instantiate: {}", show_err(&e)), Vec::new());
        }
    }
    let mut check = |store: &mut Store<()>, what: &str| {
        if let Some((current, _)) = &context {
            match current.call(&mut *store, ()).unwrap() as u32 {
                abi::ROOT_NODE => {}
                node => unbalanced.push(format!("{what} returned in context node {node}")),
            }
        }
    };
    check(&mut store, "the start function");
    let exports: Vec<(String, wasmtime::Extern)> = instance
        .exports(&mut store)
        .map(|e| (e.name().to_string(), e.into_extern()))
        .collect();
    for (name, ext) in &exports {
        // An embedded artifact's own exports write its profile into memory
        // 0 when asked to; the host decides whether to call them.
        if name.starts_with("wprof_") || name.starts_with(abi::LINKED_PREFIX) {
            continue;
        }
        if let wasmtime::Extern::Func(f) = ext {
            let ty = f.ty(&store);
            let params: Option<Vec<Val>> = ty.params().map(|t| t.default_value()).collect();
            let Some(params) = params else {
                let _ = writeln!(log, "{name}: non-defaultable params");
                continue;
            };
            let mut results: Vec<Val> = ty.results().map(|_| Val::I32(0)).collect();
            // A trap or an uncaught exception skips exits by design (the host
            // reads the tree as it was); start the next call at the root.
            if let Some((_, leave)) = &context {
                leave.call(&mut store, abi::ROOT_NODE as i32).unwrap();
            }
            match f.call(&mut store, &params, &mut results) {
                Ok(()) => {
                    let r: Vec<String> = results.iter().map(show).collect();
                    let _ = writeln!(log, "{name}: ok {}", r.join(" "));
                    check(&mut store, &format!("export {name}"));
                }
                Err(e) => {
                    let _ = writeln!(log, "{name}: {}", show_err(&e));
                }
            }
        }
    }
    for (name, ext) in &exports {
        match ext {
            wasmtime::Extern::Global(g) => {
                let _ = writeln!(log, "global {name} = {}", show(&g.get(&mut store)));
            }
            wasmtime::Extern::Memory(m) => {
                let data = m.data(&store);
                let hash = data.iter().fold(0xcbf29ce484222325u64, |h, &b| {
                    (h ^ b as u64).wrapping_mul(0x100000001b3)
                });
                let _ = writeln!(log, "memory {name}: {} bytes, fnv {hash:#x}", data.len());
            }
            _ => {}
        }
    }
    (log, unbalanced)
}

/// The seeds to try (`WPROF_DIFF_CASES` from `WPROF_DIFF_SEED`).
fn seeds() -> std::ops::Range<u64> {
    let var = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(default)
    };
    let base = var("WPROF_DIFF_SEED", 0);
    base..base + var("WPROF_DIFF_CASES", 300)
}

/// The module of `seed`, if it gives one. A fuel counter inside it makes
/// every function terminate (with a trap) identically in every version.
fn module(seed: u64) -> Option<Vec<u8>> {
    let data = bytes(seed, 1024 + (seed as usize % 7) * 1024);
    let mut u = Unstructured::new(&data);
    let mut module = wasm_smith::Module::new(smith_config(), &mut u).ok()?;
    module.ensure_termination(100).unwrap();
    Some(module.to_bytes())
}

#[test]
fn random_modules_behave_the_same_instrumented() {
    let cases = seeds().count() as u64;
    let engine = engine();
    let mut checked = 0;
    for seed in seeds() {
        let Some(original) = module(seed) else {
            continue;
        };
        let mut options = wprof_instrument::Options::default();
        options.memory = seed % 2 == 1;
        let instrumented = wprof_instrument::instrument(&original, &options)
            .unwrap_or_else(|e| panic!("seed {seed}: instrumenting failed: {e}"))
            .wasm;
        let (before, _) = observe(&engine, &original, Runtime::None);
        let (after, unbalanced) = observe(&engine, &instrumented, Runtime::Imported);
        assert_eq!(
            before, after,
            "seed {seed}: behaviour differs after instrumentation"
        );
        assert!(
            unbalanced.is_empty(),
            "seed {seed}: an exit probe was skipped: {}",
            unbalanced.join("; ")
        );
        // The same with the runtime linked in, as the native runner uses it.
        options.link_runtime = true;
        let linked = wprof_instrument::instrument(&original, &options)
            .unwrap_or_else(|e| panic!("seed {seed}: linking the runtime failed: {e}"))
            .wasm;
        let imports = Module::new(&engine, &linked).unwrap();
        assert!(
            imports.imports().all(|i| i.module() != abi::IMPORT_MODULE),
            "seed {seed}: the linked artifact imports the runtime"
        );
        let (after, unbalanced) = observe(&engine, &linked, Runtime::Linked);
        assert_eq!(
            own(&before),
            own(&after),
            "seed {seed}: behaviour differs with the runtime linked in"
        );
        assert!(
            unbalanced.is_empty(),
            "seed {seed}: an exit probe was skipped: {}",
            unbalanced.join("; ")
        );
        checked += 1;
    }
    assert!(
        checked * 10 >= cases * 9,
        "only {checked} of {cases} seeds gave a module"
    );
}

/// What `observe` logs about the module's own exports: an embedded
/// artifact adds `wprof_*` ones, a linked runtime `wprof:*`.
fn own(log: &str) -> String {
    log.lines()
        .filter(|l| {
            let name = l
                .strip_prefix("global ")
                .or_else(|| l.strip_prefix("memory "))
                .unwrap_or(l);
            !name.starts_with("wprof_") && !name.starts_with(abi::LINKED_PREFIX)
        })
        .map(|l| format!("{l}\n"))
        .collect()
}

#[test]
fn random_modules_behave_the_same_embedded() {
    let cases = seeds().count() as u64;
    let engine = engine();
    let mut checked = 0;
    for seed in seeds() {
        let Some(original) = module(seed) else {
            continue;
        };
        let mut options = wprof_instrument::Options::default();
        // A small tree, so some modules fill it; every other seed the
        // counts tier.
        let mut how = wprof_instrument::embed::Embed::contexts(16);
        if seed % 2 == 1 {
            how.tier = wprof_instrument::embed::Tier::Counts;
        }
        // Periodic dumps run between calls too (they fail without WASI).
        how.dump_every = (seed % 3 == 0).then_some(2);
        // Allocation counts (contexts tier): memory probes on every `memory.grow`.
        options.memory = seed % 4 == 0;
        options.embed = Some(how);
        let embedded = wprof_instrument::instrument(&original, &options)
            .unwrap_or_else(|e| panic!("seed {seed}: embedding failed: {e}"))
            .wasm;
        let imports = Module::new(&engine, &embedded).unwrap().imports().len();
        assert_eq!(imports, 0, "seed {seed}: the artifact imports something");
        let (before, _) = observe(&engine, &original, Runtime::None);
        let (after, _) = observe(&engine, &embedded, Runtime::None);
        assert_eq!(
            own(&before),
            own(&after),
            "seed {seed}: behaviour differs in the embedded artifact"
        );
        checked += 1;
    }
    assert!(
        checked * 10 >= cases * 9,
        "only {checked} of {cases} seeds gave a module"
    );
}
