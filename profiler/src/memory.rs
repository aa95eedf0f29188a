//! The native host of the memory probes ([`wprof_instrument::abi::mem`]):
//! allocator, `memory.grow` and GC events go into a [`Recorder`], keyed by
//! the probe runtime's current calling context, and heaps are snapshotted at
//! exit and at the dump points the user picked.
//!
//! Only outermost allocator frames reach the host (the wrappers keep the
//! nesting depth in wasm), so the per-event cost is one host call, one read
//! of the runtime's `cur` global and a hash-map update.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use wasmtime::{Caller, Global, Instance, Linker, Store};
use wprof_instrument::abi::{self, Manifest, RuntimeState};
use wprof_profile::heap::{Heap, Layer, PAGE, Recorder};

use crate::runner::Host;

/// `--memory` and its dump points.
#[derive(Debug, Clone, Default)]
pub struct MemoryOptions {
    /// Where `--heap-dump-at`/`--heap-dump-every` dumps go.
    pub dump_dir: PathBuf,
    /// `EXPORT:N`: dump after the Nth call of EXPORT.
    pub dump_at: Vec<(String, u64)>,
    /// Dump after every N calls of the `--invoke` export.
    pub dump_every: Option<u64>,
}

/// Memory-probe state of one run.
pub(crate) struct MemHost {
    pub recorder: Recorder,
    pub cur: Option<Global>,
    gc_started: Option<Instant>,
    /// GC time and pauses in the current exported call.
    pub call_gc_ns: u64,
    pub call_gc_pauses: u64,
    /// Dumps written so far.
    pub dumps: Vec<PathBuf>,
}

impl MemHost {
    pub fn new(manifest: &Manifest) -> Option<MemHost> {
        let m = manifest.memory.as_ref()?;
        let mut recorder = Recorder::new(m.initial_pages * PAGE);
        recorder.hooks = m.hooks.clone();
        if recorder.hooks.found.iter().any(|h| h.kind == "gc") {
            recorder.gc_found();
        }
        Some(MemHost {
            recorder,
            cur: None,
            gc_started: None,
            call_gc_ns: 0,
            call_gc_pauses: 0,
            dumps: Vec::new(),
        })
    }
}

fn node(caller: &mut Caller<'_, Host>) -> u32 {
    let Some(g) = caller.data().mem.as_ref().and_then(|m| m.cur) else {
        return wprof_profile::ROOT;
    };
    g.get(&mut *caller)
        .i32()
        .map_or(wprof_profile::ROOT, |n| n as u32)
}

fn with(caller: &mut Caller<'_, Host>, f: impl FnOnce(&mut MemHost, u32)) {
    let n = node(caller);
    if let Some(m) = caller.data_mut().mem.as_mut() {
        f(m, n);
    }
}

/// Defines the memory probes in `linker`.
pub(crate) fn link(linker: &mut Linker<Host>) -> Result<()> {
    use abi::mem::*;
    let m = MODULE;
    linker.func_wrap(
        m,
        ALLOC,
        |mut c: Caller<'_, Host>, addr: i64, size: i64, layer: i32| {
            let Some(layer) = Layer::from_code(layer as u32) else {
                return;
            };
            // 0 is a failed allocation, except for Go, whose block address
            // the probe cannot see.
            if addr == 0 && layer != Layer::Go {
                return;
            }
            with(&mut c, |h, n| {
                h.recorder.alloc(n, layer, addr as u64, size as u64)
            });
        },
    )?;
    linker.func_wrap(m, FREE, |mut c: Caller<'_, Host>, addr: i64, layer: i32| {
        let Some(layer) = Layer::from_code(layer as u32) else {
            return;
        };
        // A free needs no context: skip reading the runtime's `cur`.
        if let Some(h) = c.data_mut().mem.as_mut() {
            h.recorder.free(layer, addr as u64);
        }
    })?;
    linker.func_wrap(
        m,
        REALLOC,
        |mut c: Caller<'_, Host>, old: i64, new: i64, size: i64, layer: i32| {
            let Some(layer) = Layer::from_code(layer as u32) else {
                return;
            };
            with(&mut c, |h, n| {
                h.recorder
                    .realloc(n, layer, old as u64, new as u64, size as u64)
            });
        },
    )?;
    linker.func_wrap(
        m,
        GROW,
        |mut c: Caller<'_, Host>, result: i64, delta: i64, tracked: i32| {
            with(&mut c, |h, n| {
                h.recorder.grow(n, result, delta as u64, tracked != 0)
            });
        },
    )?;
    linker.func_wrap(m, GC_BEGIN, |mut c: Caller<'_, Host>| {
        if let Some(h) = c.data_mut().mem.as_mut() {
            h.gc_started = Some(Instant::now());
        }
    })?;
    linker.func_wrap(
        m,
        GC_END,
        |mut c: Caller<'_, Host>, heap: i64, state: i32| {
            if let Some(h) = c.data_mut().mem.as_mut()
                && let Some(t) = h.gc_started.take()
            {
                let ns = t.elapsed().as_nanos() as u64;
                h.recorder
                    .gc_pause(ns, (state >= 0).then_some(state as u32));
                h.call_gc_ns += ns;
                h.call_gc_pauses += 1;
                if heap >= 0 {
                    h.recorder.set_gc_heap_bytes(heap as u64);
                }
            }
        },
    )?;
    linker.func_wrap(m, GC_CYCLE, |mut c: Caller<'_, Host>| {
        if let Some(h) = c.data_mut().mem.as_mut() {
            h.recorder.gc_cycle();
            h.call_gc_pauses += 1;
        }
    })?;
    Ok(())
}

/// The heap now, with stacks resolved through `tree`, the runtime's
/// calling-context tree as it is now ([`read_tree`]).
pub(crate) fn snapshot(
    store: &mut Store<Host>,
    module_name: &str,
    manifest: &Manifest,
    tree: &abi::Tree,
    guest: Option<&Instance>,
    reason: &str,
) -> Option<Heap> {
    store.data().mem.as_ref()?;
    if let Some(mem) = guest.and_then(|g| g.get_memory(&mut *store, "memory")) {
        let bytes = mem.data_size(&*store) as u64;
        if let Some(h) = store.data_mut().mem.as_mut() {
            h.recorder.set_memory_bytes(bytes);
        }
    }
    let resolve = |node: u32| -> Vec<String> {
        let mut frames = Vec::new();
        let mut n = node;
        // Parents come before children, so this walk ends at the root.
        while n != abi::ROOT_NODE && (n as usize) < tree.nodes.len() {
            let (parent, fid, _) = tree.nodes[n as usize];
            frames.push(if n == abi::OVERFLOW_NODE {
                "[truncated]".to_string()
            } else {
                manifest
                    .functions
                    .get(fid as usize)
                    .map_or_else(|| format!("[fid {fid}]"), |f| f.name.clone())
            });
            if parent >= n {
                break;
            }
            n = parent;
        }
        frames.reverse();
        frames
    };
    let mem = store.data().mem.as_ref()?;
    let mut heap = mem.recorder.snapshot(reason, &resolve);
    heap.module = module_name.to_string();
    Some(heap)
}

/// The probe runtime's calling-context tree as it is now.
pub(crate) fn read_tree(
    store: &mut Store<Host>,
    manifest: &Manifest,
    rt: &Instance,
) -> Result<abi::Tree> {
    let mut get = |g: &str| -> Result<wasmtime::Val> {
        Ok(rt
            .get_global(&mut *store, g)
            .with_context(|| format!("probe runtime has no `{g}`"))?
            .get(&mut *store))
    };
    let state = RuntimeState {
        node_count: get(abi::runtime_exports::NODE_COUNT)?.unwrap_i32() as u32,
        nodes_base: get(abi::runtime_exports::NODES_BASE)?.unwrap_i32() as u32,
        flat_base: get(abi::runtime_exports::FLAT_BASE)?.unwrap_i32() as u32,
        overflow: get(abi::runtime_exports::OVERFLOW)?.unwrap_i64() as u64,
    };
    let memory = rt
        .get_memory(&mut *store, abi::runtime_exports::MEMORY)
        .context("probe runtime has no memory")?;
    Ok(abi::read_tree(
        memory.data(&*store),
        state,
        manifest.functions.len() as u32,
    )?)
}

/// Writes a dump taken during the run as `heap-NNN.wheap`.
pub(crate) fn write_dump(
    store: &mut Store<Host>,
    dir: &std::path::Path,
    heap: &Heap,
) -> Result<()> {
    let n = store.data().mem.as_ref().map_or(0, |m| m.dumps.len()) + 1;
    std::fs::create_dir_all(dir)
        .with_context(|| format!("failed to create output directory `{}`", dir.display()))?;
    let path = dir.join(format!("heap-{n:03}.wheap"));
    let file = std::fs::File::create(&path)
        .with_context(|| format!("failed to create `{}`", path.display()))?;
    heap.write(std::io::BufWriter::new(file))
        .with_context(|| format!("failed to write `{}`", path.display()))?;
    if let Some(m) = store.data_mut().mem.as_mut() {
        m.dumps.push(path);
    }
    Ok(())
}
