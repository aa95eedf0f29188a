//! The heap model: what wprof knows about a guest's linear memory at one
//! moment — allocations by site, the live blocks, `memory.grow` history and GC
//! pauses — and the `.wheap` dump format that stores exactly this.
//!
//! A [`Heap`] is self-contained: stacks are stored as frame names, so dumps
//! can be shown and diffed without the module or the run that made them
//! (`wprof heap show`, `wprof heap diff`). The [`Recorder`] builds it from
//! allocator and `memory.grow` events; [`report`] turns heaps into the
//! `summary.json` memory section, leak rankings and the untracked-growth
//! alarm.
//!
//! Dump format (`.wheap`, version 1): gzipped JSON of [`Heap`], field names
//! as below, documented in the README. JSON keeps dumps readable with
//! standard tools; gzip keeps live tables of millions of blocks small.
//!
//! ```
//! use wprof_profile::heap::{Layer, Recorder};
//! let mut r = Recorder::new(65536);
//! r.alloc(7, Layer::Libc, 1024, 100);
//! r.alloc(7, Layer::Libc, 2048, 50);
//! r.free(Layer::Libc, 1024);
//! let heap = r.snapshot("exit", &|node| vec![format!("f{node}")]);
//! assert_eq!(heap.totals.live_bytes, 50);
//! assert_eq!(heap.sites[0].allocs, 2);
//! ```

mod recorder;
pub mod report;

use std::io::Write;

use flate2::Compression;
use flate2::write::GzEncoder;
use serde::{Deserialize, Serialize};

pub use recorder::Recorder;

use crate::Error;

/// `format` of every dump.
pub const FORMAT: &str = "wprof-heap";
/// Dump format version this crate writes and reads.
pub const VERSION: u32 = 1;
/// Bytes per WebAssembly page.
pub const PAGE: u64 = 65536;

/// Which allocator (and for GC runtimes, which side of the GC) a block came
/// from. Sites are kept apart per layer, so a function that allocates both
/// GC-managed and unmanaged memory shows both.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Layer {
    /// Rust's global allocator (`__rust_alloc` and friends).
    Rust,
    /// C `malloc` family (wasi-libc dlmalloc, emscripten).
    #[default]
    Libc,
    /// AssemblyScript GC objects (`__new`).
    AsManaged,
    /// AssemblyScript raw TLSF blocks (`__alloc`), invisible to its GC.
    AsUnmanaged,
    /// Go's `runtime.mallocgc`.
    Go,
    /// Zig's `std.heap.wasm_allocator`.
    Zig,
}

impl Layer {
    /// All layers, in a fixed order (the instrumenter's numbering).
    pub const ALL: [Layer; 6] = [
        Layer::Rust,
        Layer::Libc,
        Layer::AsManaged,
        Layer::AsUnmanaged,
        Layer::Go,
        Layer::Zig,
    ];

    /// The number the probes pass for this layer.
    pub fn code(self) -> u32 {
        Layer::ALL.iter().position(|&l| l == self).unwrap() as u32
    }

    /// The layer the probes mean by `code`.
    pub fn from_code(code: u32) -> Option<Layer> {
        Layer::ALL.get(code as usize).copied()
    }

    /// Whether a garbage collector owns these blocks (their frees are the
    /// GC's, and a GC-level heap view includes them).
    pub fn gc_managed(self) -> bool {
        matches!(self, Layer::AsManaged | Layer::Go)
    }

    /// Spelling in summaries and dumps.
    pub fn name(self) -> &'static str {
        match self {
            Layer::Rust => "rust",
            Layer::Libc => "libc",
            Layer::AsManaged => "as-managed",
            Layer::AsUnmanaged => "as-unmanaged",
            Layer::Go => "go",
            Layer::Zig => "zig",
        }
    }
}

/// A heap at one moment: the content of a `.wheap` dump.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Heap {
    /// Always [`FORMAT`].
    pub format: String,
    /// Dump format version ([`VERSION`]).
    pub version: u32,
    /// The module as the user named it.
    pub module: String,
    /// Why this snapshot was taken: `exit`, `call N of EXPORT`, ….
    pub reason: String,
    /// Allocator events seen so far (the sequence numbers of blocks are
    /// below this), so a later dump can tell "allocated since".
    pub seq: u64,
    /// Calls the host made to exports before this snapshot.
    pub export_calls: u64,
    /// Allocator hooks the instrumenter found and missed.
    pub hooks: Hooks,
    /// Frame names; stacks refer to them by index.
    pub frames: Vec<String>,
    /// Stacks, outermost frame first, as indices into `frames`.
    pub stacks: Vec<Vec<u32>>,
    /// One row per (stack, layer) that allocated.
    pub sites: Vec<Site>,
    /// Live blocks of layers whose frees are seen, oldest first.
    pub live: Vec<Block>,
    /// Linear memory size and growth.
    pub memory: Memory,
    /// Event totals.
    pub totals: Totals,
    /// GC pauses, when a collector hook was found.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub gc: Option<Gc>,
}

/// What the instrumenter recognised.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hooks {
    /// Hooked functions.
    pub found: Vec<Hook>,
    /// Per recognised allocator, the entry points it usually has that were
    /// not found (inlined or renamed): their events are not seen.
    pub missing: Vec<Missing>,
    /// Allocators recognised (`rust`, `libc`, `assemblyscript`, `go`, `zig`).
    pub allocators: Vec<String>,
}

/// One hooked function.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hook {
    /// Name as the module spells it (demangled).
    pub name: String,
    /// `alloc`, `free`, `realloc`, `gc`, ….
    pub kind: String,
    /// Allocator family.
    pub allocator: String,
    /// Function index in the original module.
    pub index: u32,
}

/// Entry points of a recognised allocator that the module does not have.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Missing {
    /// Allocator family.
    pub allocator: String,
    /// Names looked for.
    pub names: Vec<String>,
}

/// Allocations from one stack and layer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Site {
    /// Index into [`Heap::stacks`].
    pub stack: u32,
    /// Allocator layer.
    pub layer: Layer,
    /// Blocks allocated (a moving `realloc` counts as one allocation).
    pub allocs: u64,
    /// Bytes allocated.
    pub alloc_bytes: u64,
    /// Blocks of this site freed.
    pub frees: u64,
    /// Bytes of this site freed.
    pub free_bytes: u64,
    /// Blocks live now.
    pub live: u64,
    /// Bytes live now.
    pub live_bytes: u64,
    /// Blocks live when linear memory last reached its peak.
    pub peak_live: u64,
    /// Bytes live when linear memory last reached its peak.
    pub peak_live_bytes: u64,
}

/// A live block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Block {
    /// Address in linear memory (as the allocator returned it).
    pub addr: u64,
    /// Requested size.
    pub size: u64,
    /// Index into [`Heap::sites`].
    pub site: u32,
    /// Allocator event number: unique in a run, never reused like addresses.
    pub seq: u64,
}

/// Linear memory 0.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Memory {
    /// Size when the module was instantiated.
    pub initial_bytes: u64,
    /// Size now.
    pub bytes: u64,
    /// Largest size seen.
    pub peak_bytes: u64,
    /// Every `memory.grow`, in order.
    pub grows: Vec<Grow>,
}

/// One executed `memory.grow`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grow {
    /// Allocator event number at the time.
    pub seq: u64,
    /// Index into [`Heap::stacks`]: where the instruction ran.
    pub stack: u32,
    /// Pages before (the instruction's result), `None` if it failed.
    pub old_pages: Option<u64>,
    /// Pages requested.
    pub delta_pages: u64,
    /// Whether it ran inside a hooked allocator (the allocator asking the
    /// engine for room), as opposed to code that grows memory itself.
    pub tracked: bool,
    /// Tracked live bytes at the time.
    pub live_bytes: u64,
}

/// Event totals since the start of the run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    /// Allocations seen.
    pub allocations: u64,
    /// Bytes allocated.
    pub allocated_bytes: u64,
    /// Frees of tracked blocks.
    pub frees: u64,
    /// Frees of addresses wprof never saw allocated (allocated before the
    /// hooks saw them, or by another allocator).
    pub unknown_frees: u64,
    /// Bytes live now (blocks of layers whose frees are seen).
    pub live_bytes: u64,
    /// Largest `live_bytes` seen.
    pub peak_live_bytes: u64,
    /// Bytes grown by `memory.grow` outside any hooked allocator frame.
    pub untracked_growth_bytes: u64,
}

/// Garbage-collector pauses.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gc {
    /// Collection cycles: completed cycles for collectors that expose their
    /// state (AssemblyScript), cycles started for untimed ones (Go), else
    /// the number of pauses.
    pub cycles: u64,
    /// Collector invocations timed (an incremental collector's step is one).
    pub pauses: u64,
    /// Whether pauses were timed. Go's collector runs as goroutines
    /// interleaved with the program, so only its cycles are counted and the
    /// pause fields stay 0.
    pub timed: bool,
    /// Time in all of them.
    pub total_ns: u64,
    /// Longest pause.
    pub max_pause_ns: u64,
    /// Median pause.
    pub p50_pause_ns: u64,
    /// 99th-percentile pause.
    pub p99_pause_ns: u64,
    /// The collector's own count of live bytes, when the module exposes it
    /// (AssemblyScript's `total`): what a GC-level heap tool would show.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub heap_bytes: Option<u64>,
}

impl Heap {
    /// The frames of a stack, outermost first.
    pub fn stack(&self, stack: u32) -> impl Iterator<Item = &str> {
        self.stacks
            .get(stack as usize)
            .into_iter()
            .flatten()
            .map(|&f| {
                self.frames
                    .get(f as usize)
                    .map_or("[unknown]", String::as_str)
            })
    }

    /// A stack as one `outer;…;leaf` string (folded-stack spelling).
    pub fn stack_string(&self, stack: u32) -> String {
        let frames: Vec<String> = self
            .stack(stack)
            .map(|f| crate::printable(f).replace(';', ":"))
            .collect();
        if frames.is_empty() {
            "[root]".to_string()
        } else {
            frames.join(";")
        }
    }

    /// Bytes live in GC-managed layers (the collector's view when it reports
    /// one, else the tracked managed blocks).
    pub fn gc_heap_bytes(&self) -> u64 {
        if let Some(b) = self.gc.as_ref().and_then(|g| g.heap_bytes) {
            return b;
        }
        self.sites
            .iter()
            .filter(|s| s.layer.gc_managed())
            .map(|s| s.live_bytes)
            .sum()
    }

    /// Writes the dump (`.wheap`).
    pub fn write(&self, out: impl Write) -> Result<(), Error> {
        let mut gz = GzEncoder::new(out, Compression::default());
        serde_json::to_writer(&mut gz, self).map_err(std::io::Error::from)?;
        gz.finish()?;
        Ok(())
    }

    /// Reads a dump written by [`Heap::write`].
    pub fn read(bytes: &[u8]) -> Result<Heap, Error> {
        if !bytes.starts_with(&[0x1f, 0x8b]) {
            return Err(Error::Dump("not a wprof heap dump (not gzip)".to_string()));
        }
        let json = crate::gunzip(bytes).map_err(Error::Dump)?;
        let probe: serde_json::Value =
            serde_json::from_slice(&json).map_err(|e| Error::Dump(format!("json: {e}")))?;
        if probe.get("format").and_then(|f| f.as_str()) != Some(FORMAT) {
            return Err(Error::Dump(
                "not a wprof heap dump (no `format: wprof-heap`)".to_string(),
            ));
        }
        let version = probe.get("version").and_then(|v| v.as_u64()).unwrap_or(0);
        if version != VERSION as u64 {
            return Err(Error::Dump(format!(
                "heap dump version {version}, this wprof reads version {VERSION}"
            )));
        }
        serde_json::from_value(probe).map_err(|e| Error::Dump(format!("json: {e}")))
    }

    /// Folded stacks of live bytes now (`peak = false`) or when linear
    /// memory peaked, one line per stack (layers summed), sorted.
    pub fn folded(&self, peak: bool) -> Vec<String> {
        let mut by_stack: std::collections::BTreeMap<String, u64> = Default::default();
        for s in &self.sites {
            let v = if peak {
                s.peak_live_bytes
            } else {
                s.live_bytes
            };
            if v > 0 {
                *by_stack.entry(self.stack_string(s.stack)).or_default() += v;
            }
        }
        by_stack
            .into_iter()
            .map(|(stack, v)| format!("{stack} {v}"))
            .collect()
    }

    /// Renders [`Heap::folded`] as an inferno flamegraph.
    pub fn flamegraph(&self, peak: bool, out: impl Write) -> Result<(), Error> {
        let lines = self.folded(peak);
        let mut opts = inferno::flamegraph::Options::default();
        opts.title = if peak {
            format!(
                "wprof: {} — live bytes at the linear-memory peak",
                self.module
            )
        } else {
            format!("wprof: {} — live bytes ({})", self.module, self.reason)
        };
        opts.count_name = "bytes".to_string();
        opts.deterministic = true;
        opts.hash = true;
        let placeholder = ["[no live allocations] 1".to_string()];
        let lines: &[String] = if lines.is_empty() {
            &placeholder
        } else {
            &lines
        };
        if lines.len() == 1 && lines[0].starts_with("[no live") {
            opts.subtitle = Some(if self.hooks.allocators.is_empty() {
                "no allocator recognised: see summary.json memory.hooks".to_string()
            } else {
                "nothing live".to_string()
            });
        }
        inferno::flamegraph::from_lines(&mut opts, lines.iter().map(String::as_str), out)
            .map_err(|e| Error::Flamegraph(e.to_string()))
    }
}
