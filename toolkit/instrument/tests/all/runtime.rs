//! The probe runtime read from its memory alone (what a host does when the
//! guest cannot be waited for) agrees with its globals, including once the
//! tree is full and calls overflow; and the unshared build the native
//! runner uses builds exactly the same tree.

use wasmtime::{Config, Engine, Instance, Module, Store};
use wprof_instrument::abi::{self, Layout, RuntimeState, runtime_exports as ex};

#[test]
fn memory_alone_gives_the_same_state_as_the_globals() {
    let shared = run(abi::runtime_wasm());
    let unshared = run(abi::runtime_wasm_unshared());
    assert_eq!(
        shared, unshared,
        "the unshared runtime builds the same tree"
    );
}

/// Reads the runtime's memory as a host would.
type Copy = dyn Fn(&mut Store<()>) -> Vec<u8>;

/// Runs chains of calls through `wasm`, checking the state read from
/// memory after each; returns the memory after each chain.
fn run(wasm: &[u8]) -> Vec<Vec<u8>> {
    let mut config = Config::new();
    config.wasm_threads(true).shared_memory(true);
    let engine = Engine::new(&config).unwrap();
    let module = Module::new(&engine, wasm).unwrap();
    let mut store = Store::new(&engine, ());
    let rt = Instance::new(&mut store, &module, &[]).unwrap();
    let (funcs, cap) = (5, 64);
    let init = rt
        .get_typed_func::<(i32, i32), i32>(&mut store, ex::INIT)
        .unwrap();
    assert_eq!(init.call(&mut store, (funcs, cap)).unwrap(), 0);
    let enter = rt
        .get_typed_func::<i32, i32>(&mut store, abi::ENTER)
        .unwrap();
    let leave = rt
        .get_typed_func::<i32, ()>(&mut store, abi::LEAVE)
        .unwrap();
    let global = |store: &mut Store<()>, name: &str| {
        rt.get_global(&mut *store, name).unwrap().get(&mut *store)
    };

    let layout = Layout {
        nodes_base: global(&mut store, ex::NODES_BASE).unwrap_i32() as u32,
        node_cap: global(&mut store, ex::NODE_CAP).unwrap_i32() as u32,
        flat_base: global(&mut store, ex::FLAT_BASE).unwrap_i32() as u32,
        overflow_addr: global(&mut store, ex::OVERFLOW_ADDR).unwrap_i32() as u32,
    };
    let end = layout.flat_base as usize + 8 * funcs as usize;
    let is_shared = rt.get_shared_memory(&mut store, ex::MEMORY).is_some();
    assert_eq!(
        is_shared,
        wasm == abi::runtime_wasm(),
        "which build has a shared memory"
    );
    let copy: Box<Copy> = match rt.get_shared_memory(&mut store, ex::MEMORY) {
        // A shared memory, read by wasm itself (its host view is cells,
        // for atomic reads).
        Some(memory) => {
            let reader = Module::new(
                &engine,
                r#"(module (import "rt" "memory" (memory 1 65536 shared))
                     (func (export "load") (param i32) (result i64) (i64.load (local.get 0))))"#,
            )
            .unwrap();
            let reader = Instance::new(&mut store, &reader, &[memory.into()]).unwrap();
            let load = reader
                .get_typed_func::<i32, i64>(&mut store, "load")
                .unwrap();
            Box::new(move |store: &mut Store<()>| {
                (0..end.div_ceil(8))
                    .flat_map(|i| load.call(&mut *store, i as i32 * 8).unwrap().to_le_bytes())
                    .collect()
            })
        }
        None => {
            let memory = rt.get_memory(&mut store, ex::MEMORY).unwrap();
            Box::new(move |store: &mut Store<()>| memory.data(&*store)[..end].to_vec())
        }
    };
    let mut memories = Vec::new();
    // Deeper and deeper chains until the tree overflows.
    for depth in [1, 3, 10, 40, 200] {
        let mut saved = Vec::new();
        for i in 0..depth {
            saved.push(enter.call(&mut store, i % funcs).unwrap());
        }
        for s in saved.into_iter().rev() {
            leave.call(&mut store, s).unwrap();
        }
        let expected = RuntimeState {
            node_count: global(&mut store, ex::NODE_COUNT).unwrap_i32() as u32,
            nodes_base: layout.nodes_base,
            flat_base: layout.flat_base,
            overflow: global(&mut store, ex::OVERFLOW).unwrap_i64() as u64,
        };
        let memory = copy(&mut store);
        assert_eq!(
            RuntimeState::from_memory(&memory, layout),
            expected,
            "depth {depth}"
        );
        memories.push(memory);
    }
    let last = global(&mut store, ex::OVERFLOW).unwrap_i64();
    assert!(last > 0, "the tree of {cap} nodes overflowed");
    memories
}
