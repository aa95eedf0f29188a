//! The probe ABI: the one definition of how an instrumented module talks to
//! its host. The native runner and the JS host both read it from here.
//!
//! An instrumented module
//! - imports `wprof.enter: (func (param i32) (result i32))`,
//!   `wprof.leave: (func (param i32))`, `wprof.leave_<t>: (func (param t
//!   i32) (result t))` for each number type and `wprof.current: (func
//!   (result i32))`, and around every call of its own imports
//!   `wprof.host_enter: (func (param i32))` / `wprof.host_leave: (func)`,
//!   from the probe runtime ([`runtime_wasm`]),
//! - carries a `wprof.abi` custom section ([`Manifest`], JSON) that states the
//!   ABI version and maps each probe function id to the original function
//!   index and its demangled name.
//!
//! The host instantiates the runtime, calls `init(n_funcs, node_cap)`, links
//! the guest against it, and after the run reads the calling-context tree out
//! of the runtime's memory ([`read_tree`]). An artifact built for a host with
//! multi-memory may link the runtime instead ([`Manifest::linked`]): it
//! imports nothing from `wprof`, and the host finds the same exports in the
//! artifact's, named with [`LINKED_PREFIX`], and calls [`LINKED_START`] after
//! `init`.
//!
//! ```
//! let rt = wprof_instrument::abi::runtime_wasm();
//! assert_eq!(&rt[..4], b"\0asm");
//! ```

use serde::{Deserialize, Serialize};

/// Version of the probe ABI this crate emits and understands.
pub const ABI_VERSION: u32 = 2;
/// Import module name of every probe import.
pub const IMPORT_MODULE: &str = "wprof";
/// `enter(fid) -> previous context`.
pub const ENTER: &str = "enter";
/// `leave(saved)`: a probed function returns; restores the context `enter`
/// returned. Hosts call it with [`ROOT_NODE`] before each exported call.
pub const LEAVE: &str = "leave";
/// `leave_<t>(value: t, saved: i32) -> t`: [`LEAVE`] for a function whose
/// single result is a number of type `t`, which passes through unchanged (so
/// the result is computed before the probe; see the rewrite pass).
pub const LEAVE_VALUE: &[(&str, &str)] = &[
    ("leave_i32", "i32"),
    ("leave_i64", "i64"),
    ("leave_f32", "f32"),
    ("leave_f64", "f64"),
];
/// `host_enter(import)`: the module is about to call its imported function
/// `import` (function index); marks the host-call word.
pub const HOST_ENTER: &str = "host_enter";
/// `host_leave()`: the imported function returned; clears the mark.
pub const HOST_LEAVE: &str = "host_leave";
/// `current() -> context`, for functions that re-establish their context
/// where an exception is caught.
pub const CURRENT: &str = "current";
/// Custom section carrying the [`Manifest`].
pub const SECTION: &str = "wprof.abi";

/// Memory probes (present when instrumented with `Options::memory`): host
/// functions in module [`mem::MODULE`] that the instrumented module calls
/// from its allocator wrappers and after each `memory.grow`. Addresses and
/// sizes are i64 (zero-extended on wasm32); `layer` is
/// [`wprof_profile::heap::Layer::code`].
pub mod mem {
    /// Import module of the memory probes.
    pub const MODULE: &str = "wprof_mem";
    /// `alloc(addr: i64, size: i64, layer: i32)`: a block was allocated
    /// (`addr == 0`: the allocation failed, or for Go, its address is unknown).
    pub const ALLOC: &str = "alloc";
    /// `free(addr: i64, layer: i32)`.
    pub const FREE: &str = "free";
    /// `realloc(old: i64, new: i64, size: i64, layer: i32)`, C semantics.
    pub const REALLOC: &str = "realloc";
    /// `grow(result: i64, delta_pages: i64, in_allocator: i32)` after each
    /// `memory.grow` on memory 0; `result` is the old size in pages or -1.
    pub const GROW: &str = "grow";
    /// `gc_begin()`: the outermost collector function was entered.
    pub const GC_BEGIN: &str = "gc_begin";
    /// `gc_end(heap_bytes: i64, state: i32)`: it returned; the collector's
    /// live-bytes count and its state (0 = idle, a cycle is complete), each
    /// -1 when the module does not expose it.
    pub const GC_END: &str = "gc_end";
    /// `gc_cycle()`: a collection cycle started (collectors whose pauses
    /// cannot be timed from outside, e.g. Go's).
    pub const GC_CYCLE: &str = "gc_cycle";
}

/// Runtime exports the host uses (besides `enter` and `cur`).
pub mod runtime_exports {
    /// `init(n_funcs: i32, node_cap: i32) -> i32` (0 = ok, -1 = out of memory).
    pub const INIT: &str = "init";
    /// The runtime's memory holding the tree and the current context
    /// (shared, except in [`super::runtime_wasm_unshared`]).
    pub const MEMORY: &str = "memory";
    /// Byte offset of the current-context word (i32 global).
    pub const CUR_ADDR: &str = "cur_addr";
    /// Byte offset of the host-call word (i32 global): hosts store 1 + the
    /// called import's function index while it runs, 0 otherwise, so a
    /// sampler can put host time under a frame of its own.
    pub const HOST_ADDR: &str = "host_addr";
    /// Number of nodes in use (i32 global).
    pub const NODE_COUNT: &str = "node_count";
    /// Capacity of the node array (i32 global).
    pub const NODE_CAP: &str = "node_cap";
    /// Byte offset of the node array (i32 global).
    pub const NODES_BASE: &str = "nodes_base";
    /// Byte offset of the per-function counters (i32 global).
    pub const FLAT_BASE: &str = "flat_base";
    /// Calls that hit the full tree (i64 global).
    pub const OVERFLOW: &str = "overflow";
    /// Byte offset of a copy of `overflow` in memory (i32 global).
    pub const OVERFLOW_ADDR: &str = "overflow_addr";
    /// Byte offset of eight scratch bytes (i32 global): an artifact that
    /// links the runtime stores a function's result there before restoring
    /// the context (see the rewrite pass).
    pub const SCRATCH_ADDR: &str = "scratch_addr";
}

/// Prefix of the runtime's exports (`wprof:memory`, `wprof:init`, …) in an
/// artifact that links the runtime ([`Manifest::linked`]); the host finds
/// them there instead of in a runtime instance of its own.
pub const LINKED_PREFIX: &str = "wprof:";
/// In an artifact that links the runtime, the module's own start function,
/// if it had one: instantiation would run it before the host could call the
/// runtime's `init`, so the host calls it after `init`.
pub const LINKED_START: &str = "wprof:start";

/// Tree node reserved for the root (no function).
pub const ROOT_NODE: u32 = 0;
/// Tree node reserved for calls the full tree cannot place (kept for the
/// layout; such calls now run under [`TRUNCATED_BIT`] contexts).
pub const OVERFLOW_NODE: u32 = 1;
/// Set in a current-context value `node | TRUNCATED_BIT`: a call the full
/// tree could not place, under context `node`. Profiles show it as a
/// `[truncated]` frame under that context's stack. ([`PROBE_CONTEXT`] has
/// the bit too: hosts test for it first.)
pub const TRUNCATED_BIT: u32 = 0x8000_0000;
/// Value of the current-context word while the probe runtime's `enter`
/// runs: samples that read it measure the probes' own cost.
pub const PROBE_CONTEXT: u32 = u32::MAX - 1;
/// Default capacity of the calling-context tree, in nodes (16 bytes each).
pub const DEFAULT_NODE_CAP: u32 = 1 << 20;

const RUNTIME_WAT: &str = include_str!("runtime.wat");

/// The probe runtime module, assembled from its text source once per
/// process. Its memory is shared, so a sampler on another thread (a JS
/// Worker) can read the current-context word.
pub fn runtime_wasm() -> &'static [u8] {
    static WASM: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    WASM.get_or_init(|| assemble(RUNTIME_WAT))
}

/// The same runtime with an unshared memory, for hosts whose sampler reads
/// the memory through its address rather than as a shared memory (the
/// native runner): Cranelift reloads a shared memory's base on every
/// access, which cost 3 of 8 ns per call.
pub fn runtime_wasm_unshared() -> &'static [u8] {
    static WASM: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    WASM.get_or_init(|| {
        let shared = "(memory (export \"memory\") 1 65536 shared)";
        debug_assert_eq!(RUNTIME_WAT.matches(shared).count(), 1);
        assemble(&RUNTIME_WAT.replacen(shared, "(memory (export \"memory\") 1 65536)", 1))
    })
}

fn assemble(text: &str) -> Vec<u8> {
    // The source is a compile-time constant covered by tests, so a parse
    // failure is a bug in this crate, not an input error.
    wat::parse_str(text).expect("probe runtime text is valid")
}

/// What the `wprof.abi` custom section says about an instrumented module.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Probe ABI version the module speaks.
    pub abi: u32,
    /// One entry per probe function id (the position in this list).
    pub functions: Vec<FunctionEntry>,
    /// Present when the module also has memory probes.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub memory: Option<MemoryManifest>,
    /// Present when the module carries its own runtime (`--embed`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub embed: Option<EmbedManifest>,
    /// The probe runtime is linked into the module, its exports prefixed
    /// with [`LINKED_PREFIX`]; it imports nothing from `wprof`.
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub linked: bool,
}

/// What an embedded artifact records beyond the tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmbedManifest {
    /// The artifact's id (16 hex digits), repeated in every profile it
    /// writes, so a profile is read with the module that wrote it.
    pub id: String,
    /// The timed exports, in the order of the profile's latency records.
    pub exports: Vec<String>,
    /// Capacity of the calling-context tree.
    pub node_cap: u32,
}

/// What the memory probes hooked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemoryManifest {
    /// Allocator hooks found and missing.
    pub hooks: wprof_profile::heap::Hooks,
    /// Initial size of memory 0, in pages.
    pub initial_pages: u64,
}

/// One instrumented function.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionEntry {
    /// Function index in the original (uninstrumented) module.
    pub index: u32,
    /// Display name: demangled, or `wasm-function[N]` when the module has none.
    pub name: String,
    /// Source file of the function's declaration, from DWARF.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub file: Option<String>,
    /// Line of the declaration.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub line: Option<u32>,
}

impl Manifest {
    /// Serializes the manifest as the custom section's payload.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("manifest serializes")
    }

    /// Finds and decodes the manifest of an instrumented module. `Ok(None)`
    /// means the module is not instrumented. Only section headers are read:
    /// the code section is skipped, so this stays cheap on 100 MB modules
    /// (hosts call it before every run; full validation is walrus's or
    /// wasmtime's job).
    pub fn from_module(wasm: &[u8]) -> Result<Option<Manifest>, crate::Error> {
        use wasmparser::Payload;
        for payload in crate::headers::payloads(wasm) {
            if let Payload::CustomSection(c) = payload.map_err(crate::Error::Parse)?
                && c.name() == SECTION
            {
                let manifest: Manifest = serde_json::from_slice(c.data()).map_err(|e| {
                    crate::Error::Manifest(format!(
                        "section at offset 0x{:x}: {e}",
                        c.data_offset()
                    ))
                })?;
                if manifest.abi != ABI_VERSION {
                    return Err(crate::Error::AbiVersion {
                        found: manifest.abi,
                        supported: ABI_VERSION,
                    });
                }
                return Ok(Some(manifest));
            }
        }
        Ok(None)
    }
}

/// The probe runtime's calling-context table as it left it in its memory:
/// raw nodes and counters, before any naming or timing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuntimeTree {
    /// `(parent, fid, calls)` per node; index 0 is the root, 1 the overflow node.
    pub nodes: Vec<(u32, u32, u64)>,
    /// Exact calls per function id.
    pub calls_by_fid: Vec<u64>,
    /// Calls that found the tree full.
    pub overflow: u64,
    /// The same calls by the context they were made under: `(node, calls)`.
    pub truncated: Vec<(u32, u64)>,
}

/// The runtime's exported globals, as read by the host after a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RuntimeState {
    /// `node_count`.
    pub node_count: u32,
    /// `nodes_base`.
    pub nodes_base: u32,
    /// `flat_base`.
    pub flat_base: u32,
    /// `overflow`.
    pub overflow: u64,
}

/// Where the runtime keeps its tree, fixed once `init` ran.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Layout {
    /// `nodes_base`.
    pub nodes_base: u32,
    /// `node_cap`.
    pub node_cap: u32,
    /// `flat_base`.
    pub flat_base: u32,
    /// `overflow_addr`.
    pub overflow_addr: u32,
}

impl RuntimeState {
    /// The state as the runtime's memory alone shows it, for a host that
    /// cannot read the globals because the guest is still running: nodes
    /// are appended in order and start with one call, so the first node
    /// without calls ends the tree (one being created right now is left
    /// out); `overflow` has a copy at `overflow_addr`.
    pub fn from_memory(memory: &[u8], layout: Layout) -> RuntimeState {
        let Layout {
            nodes_base,
            node_cap,
            flat_base,
            overflow_addr,
        } = layout;
        let word = |at: usize| {
            memory
                .get(at..at + 8)
                .map_or(0, |b| u64::from_le_bytes(b.try_into().unwrap()))
        };
        let mut node_count = OVERFLOW_NODE + 1;
        while node_count < node_cap && word(nodes_base as usize + node_count as usize * 16 + 8) != 0
        {
            node_count += 1;
        }
        RuntimeState {
            node_count,
            nodes_base,
            flat_base,
            overflow: word(overflow_addr as usize),
        }
    }
}

/// Decodes the tree from a copy of the runtime's memory, its globals and the
/// number of instrumented functions.
pub fn read_tree(
    memory: &[u8],
    state: RuntimeState,
    n_funcs: u32,
) -> Result<RuntimeTree, crate::Error> {
    let RuntimeState {
        node_count,
        nodes_base,
        flat_base,
        overflow,
    } = state;
    let slice = |off: usize, len: usize| {
        memory
            .get(off..off + len)
            .ok_or_else(|| crate::Error::Manifest(format!("runtime memory too small at 0x{off:x}")))
    };
    let nodes_bytes = slice(nodes_base as usize, node_count as usize * 16)?;
    let nodes = nodes_bytes
        .chunks_exact(16)
        .map(|n| {
            let parent = u32::from_le_bytes(n[0..4].try_into().unwrap());
            let fid = u32::from_le_bytes(n[4..8].try_into().unwrap());
            let calls = u64::from_le_bytes(n[8..16].try_into().unwrap());
            (parent, fid, calls)
        })
        .collect();
    let flat = slice(flat_base as usize, n_funcs as usize * 8)?;
    let calls_by_fid = flat
        .chunks_exact(8)
        .map(|c| u64::from_le_bytes(c.try_into().unwrap()))
        .collect();
    // Per-parent overflow counters follow the per-function ones; only a
    // full tree wrote any.
    let truncated = if overflow == 0 {
        Vec::new()
    } else {
        slice(
            flat_base as usize + n_funcs as usize * 8,
            node_count as usize * 8,
        )?
        .chunks_exact(8)
        .enumerate()
        .map(|(node, c)| (node as u32, u64::from_le_bytes(c.try_into().unwrap())))
        .filter(|&(_, calls)| calls > 0)
        .collect()
    };
    Ok(RuntimeTree {
        nodes,
        calls_by_fid,
        overflow,
        truncated,
    })
}
