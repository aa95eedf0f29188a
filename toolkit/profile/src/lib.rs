//! wprof's profile model and its writers: a calling-context tree with call
//! counts and time per context, rendered as folded stacks, an inferno
//! flamegraph, gzipped pprof and `summary.json`, and read back from pprof for
//! `wprof report`.
//!
//! This is the bottom layer: it knows nothing of walrus, wasmtime, the command
//! line or JS (CI checks that with `cargo tree`), so the native runner and the
//! browser build produce byte-identical outputs from the same profile.
//!
//! ```
//! use wprof_profile::{Mode, Profile};
//! let mut p = Profile::new("demo.wasm", Mode::Instrument);
//! let main = p.add_function("main", Some(1));
//! let fib = p.add_function("fib", Some(2));
//! let m = p.tree.child(wprof_profile::ROOT, main);
//! let f = p.tree.child(m, fib);
//! p.tree.nodes[m as usize].calls = 1;
//! p.tree.nodes[f as usize].calls = 3;
//! p.tree.nodes[f as usize].self_ns = 500;
//! let stats = p.function_stats();
//! assert_eq!(stats[fib as usize].total_ns, 500);
//! assert_eq!(stats[main as usize].total_ns, 500);
//! ```

pub mod flamegraph;
pub mod folded;
pub mod heap;
pub mod pprof;
mod proto;
pub mod report;
pub mod summary;
pub mod values;

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// `name` safe to print and to put in line-based files: control characters
/// (newlines that would forge `.folded` lines, terminal escape sequences)
/// become Rust-style escapes (`\n`, `\u{1b}`). Names are data from the
/// module, which anyone may have written.
pub fn printable(name: &str) -> std::borrow::Cow<'_, str> {
    if !name.chars().any(char::is_control) {
        return std::borrow::Cow::Borrowed(name);
    }
    std::borrow::Cow::Owned(
        name.chars()
            .map(|c| {
                if c.is_control() {
                    c.escape_default().collect()
                } else {
                    c.to_string()
                }
            })
            .collect(),
    )
}

/// The most a gzipped input (pprof, heap dump) may decompress to: a hostile
/// 1 MB file must not take gigabytes.
pub const MAX_DECOMPRESSED: u64 = 1 << 30;

/// `bytes` gunzipped, refusing more than [`MAX_DECOMPRESSED`].
pub(crate) fn gunzip(bytes: &[u8]) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .take(MAX_DECOMPRESSED + 1)
        .read_to_end(&mut out)
        .map_err(|e| format!("gzip: {e}"))?;
    if out.len() as u64 > MAX_DECOMPRESSED {
        return Err(format!(
            "decompresses to more than {} MiB",
            MAX_DECOMPRESSED >> 20
        ));
    }
    Ok(out)
}

/// Node id of the root of every tree; it stands for "no function".
pub const ROOT: u32 = 0;
/// `Node::func` of the root.
pub const NO_FUNCTION: u32 = u32::MAX;

/// Errors of this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Writing an output failed.
    #[error("write failed: {0}")]
    Io(#[from] std::io::Error),
    /// inferno refused the stacks.
    #[error("flamegraph rendering failed: {0}")]
    Flamegraph(String),
    /// A pprof input could not be decoded.
    #[error("invalid pprof profile: {0}")]
    Pprof(String),
    /// A heap dump could not be decoded.
    #[error("invalid heap dump: {0}")]
    Dump(String),
}

/// How the profile was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Probes in every function: exact calls per context, time by sampling
    /// the current context.
    Instrument,
    /// Stack sampling of the unmodified module: no call counts.
    Sample,
}

/// How time was sampled, and what sampling cost the guest.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sampler {
    /// `signal` (a CPU-time timer signal interrupts the guest anywhere and
    /// walks its frames), `epoch` (the engine's epoch checks at function
    /// entries and loop headers: biased, the fallback), `context` (a thread
    /// reads the probes' current-context word), `none` (no time: call
    /// counts only) or `embedded` (a self-profiling artifact's own profile:
    /// call counts, no CPU time).
    pub name: String,
    /// Time sampling took on the guest's own thread (the signal handler),
    /// included in the guest's wall time; 0 when a separate thread samples.
    pub cost_ns: u64,
    /// Samples lost because the sampler's buffer was full.
    pub dropped: u64,
}

/// How the guest run ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exit {
    /// `exit`, `trap`, `timeout` or `interrupted`.
    pub kind: ExitKind,
    /// The guest's exit code for `exit` (0 when `_start` or the export
    /// returned normally); `None` otherwise.
    pub code: Option<i32>,
    /// Trap or timeout message.
    pub message: Option<String>,
}

/// See [`Exit::kind`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExitKind {
    /// Returned normally or called `proc_exit`.
    Exit,
    /// Trapped (including Rust panics under `panic=abort`).
    Trap,
    /// Stopped by `--timeout`.
    Timeout,
    /// Stopped by Ctrl-C.
    Interrupted,
}

impl Exit {
    /// A normal exit with `code`.
    pub fn code(code: i32) -> Exit {
        Exit {
            kind: ExitKind::Exit,
            code: Some(code),
            message: None,
        }
    }
}

/// A function as profiles show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Function {
    /// Demangled display name.
    pub name: String,
    /// Index in the original module, when the frame is a wasm function.
    pub index: Option<u32>,
    /// Exact number of calls, when the profile counted them. This stays exact
    /// even when the tree overflowed and its per-context counts did not.
    pub calls: Option<u64>,
    /// Where the function is declared, when the module has DWARF.
    pub source: Option<Source>,
    /// An inlined function: DWARF says its code is part of its caller's.
    pub inlined: bool,
}

/// A function's declaration in the source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    pub file: String,
    pub line: u32,
}

/// One calling context.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Node {
    /// Parent node ([`ROOT`] for top-level frames; the root's own parent is itself).
    pub parent: u32,
    /// Index into [`Profile::functions`], [`NO_FUNCTION`] for the root.
    pub func: u32,
    /// Calls made in exactly this context.
    pub calls: u64,
    /// Time spent in this context itself (not in callees), from sampling.
    pub self_ns: u64,
    /// Samples taken in this context.
    pub samples: u64,
    /// Source line in the frame's function where this context is (the
    /// sampled instruction, or the call to the child), when DWARF says; 0
    /// otherwise. Contexts differing only by line are distinct nodes.
    pub line: u32,
}

/// A calling-context tree. Children always have larger ids than their
/// parents, which lets every aggregation run in one linear pass.
#[derive(Debug, Clone)]
pub struct Tree {
    /// All nodes; `nodes[0]` is the root.
    pub nodes: Vec<Node>,
    index: HashMap<(u32, u32, u32), u32>,
}

impl Default for Tree {
    fn default() -> Self {
        Tree {
            nodes: vec![Node {
                parent: ROOT,
                func: NO_FUNCTION,
                ..Node::default()
            }],
            index: HashMap::new(),
        }
    }
}

impl Tree {
    /// The child of `parent` for `func`, created if needed.
    pub fn child(&mut self, parent: u32, func: u32) -> u32 {
        self.child_at(parent, func, 0)
    }

    /// The child of `parent` for `func` at source `line` (0: unknown).
    pub fn child_at(&mut self, parent: u32, func: u32, line: u32) -> u32 {
        let next = self.nodes.len() as u32;
        *self.index.entry((parent, func, line)).or_insert_with(|| {
            self.nodes.push(Node {
                parent,
                func,
                line,
                ..Node::default()
            });
            next
        })
    }

    /// Follows `stack` (outermost frame first) from the root, creating nodes.
    pub fn path(&mut self, stack: impl IntoIterator<Item = u32>) -> u32 {
        stack.into_iter().fold(ROOT, |node, f| self.child(node, f))
    }

    /// Function ids from the outermost frame down to `node`.
    pub fn stack(&self, mut node: u32) -> Vec<u32> {
        let mut out = Vec::new();
        while node != ROOT {
            let n = &self.nodes[node as usize];
            out.push(n.func);
            node = n.parent;
        }
        out.reverse();
        out
    }
}

/// Latency of repeated calls to one export.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Latency {
    /// Completed calls measured.
    pub count: u64,
    /// Median.
    pub p50_ns: u64,
    /// 99th percentile (nearest rank).
    pub p99_ns: u64,
    /// Slowest call.
    pub max_ns: u64,
    /// Arithmetic mean.
    pub mean_ns: u64,
}

impl Latency {
    /// Summarises per-call durations (nearest-rank percentiles).
    pub fn from_durations(durations: &[u64]) -> Latency {
        if durations.is_empty() {
            return Latency::default();
        }
        let mut sorted = durations.to_vec();
        sorted.sort_unstable();
        Latency {
            count: sorted.len() as u64,
            p50_ns: percentile(&sorted, 0.50),
            p99_ns: percentile(&sorted, 0.99),
            max_ns: *sorted.last().unwrap(),
            mean_ns: (sorted.iter().map(|&d| d as u128).sum::<u128>() / sorted.len() as u128)
                as u64,
        }
    }
}

/// Latency buckets of a self-profiling artifact: bucket `b` holds
/// durations `b` for `b < 4`, else `[(4 + b%4) << (b/4 - 1), (5 + b%4) <<
/// (b/4 - 1))`: four per power of two (embed.wat records them).
pub mod buckets {
    /// Buckets per export.
    pub const COUNT: usize = 256;

    /// The durations bucket `b` holds, `[low, high)`.
    pub fn range(b: usize) -> (u64, u64) {
        if b < 4 {
            return (b as u64, b as u64 + 1);
        }
        let shift = (b / 4 - 1) as u32;
        let m = (b % 4) as u128;
        let at = |k: u128| u64::try_from(k << shift).unwrap_or(u64::MAX);
        (at(4 + m), at(5 + m))
    }

    /// The bucket holding duration `ns`, as embed.wat computes it.
    pub fn of(ns: u64) -> usize {
        if ns < 4 {
            return ns as usize;
        }
        let e = 63 - ns.leading_zeros() as usize;
        (e - 1) * 4 + ((ns >> (e - 2)) & 3) as usize
    }
}

/// One export's calls, as a self-profiling artifact timed them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportLatency {
    /// The export.
    pub export: String,
    /// Completed calls (exact).
    pub count: u64,
    /// Mean duration (exact).
    pub mean_ns: u64,
    /// Slowest call (exact).
    pub max_ns: u64,
    /// Median, from the histogram: its bucket's midpoint (within 12.5%).
    /// Absent when the artifact kept no histogram (the counts tier).
    pub p50_ns: Option<u64>,
    /// 99th percentile, likewise.
    pub p99_ns: Option<u64>,
}

impl ExportLatency {
    /// From what the artifact recorded: calls, their total and maximum,
    /// and the [`buckets`] histogram (empty when it kept none).
    pub fn new(
        export: String,
        count: u64,
        total_ns: u64,
        max_ns: u64,
        histogram: &[u64],
    ) -> ExportLatency {
        let mid = |b: usize| {
            let (lo, hi) = buckets::range(b);
            lo + (hi - lo - 1) / 2
        };
        let rank = |p: f64| {
            if count == 0 || histogram.is_empty() {
                return None;
            }
            let r = ((p * count as f64).ceil() as u64).clamp(1, count);
            let mut seen = 0;
            histogram.iter().enumerate().find_map(|(b, &n)| {
                seen += n;
                (seen >= r).then(|| mid(b).min(max_ns))
            })
        };
        ExportLatency {
            export,
            count,
            mean_ns: total_ns.checked_div(count).unwrap_or(0),
            max_ns,
            p50_ns: rank(0.50),
            p99_ns: rank(0.99),
        }
    }
}

/// Allocation counts a self-profiling artifact built with memory probes
/// kept (`wprof collect`): counted as `wprof run --memory` counts them,
/// without tracking blocks, so no live bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Allocations {
    /// Allocations (a realloc that allocates or moves is one).
    pub allocations: u64,
    /// Bytes they asked for (growth of a block resized in place not
    /// included).
    pub allocated_bytes: u64,
    /// Frees, counted in the context that freed.
    pub frees: u64,
    /// `memory.grow` calls on memory 0.
    pub grows: u64,
    /// Bytes memory 0 grew by.
    pub grown_bytes: u64,
    /// Of those, grown outside any hooked allocator.
    pub untracked_growth_bytes: u64,
    /// Collector runs, when a collector hook was found.
    pub gc_cycles: u64,
    /// The contexts that allocated most, most allocations first.
    pub top: Vec<AllocationSite>,
}

/// One calling context's allocations.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllocationSite {
    /// The calling context, outermost first, `;`-separated.
    pub stack: String,
    /// Allocations made there.
    pub allocations: u64,
    /// Bytes they asked for.
    pub bytes: u64,
    /// Frees made there.
    pub frees: u64,
}

/// Nearest-rank percentile `p` (0–1) of sorted values; 0 when empty.
pub(crate) fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let r = (p * sorted.len() as f64).ceil() as usize;
    sorted[r.clamp(1, sorted.len()) - 1]
}

/// What `--invoke` did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Invoke {
    /// The export called.
    pub export: String,
    /// Arguments passed to every call, as written.
    pub args: Vec<String>,
    /// Calls requested.
    pub repeat: u64,
    /// Results of the last completed call, as `type:value`.
    pub results: Vec<String>,
    /// Per-call latency of the completed calls.
    pub latency: Latency,
    /// With memory profiling and a collector hook: how GC shaped latency.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub gc: Option<InvokeGc>,
}

/// GC's share of `--invoke` latency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InvokeGc {
    /// Latency with each call's GC pauses subtracted (a counterfactual: it
    /// assumes the collector's work could be moved out of the call).
    pub latency_without_gc: Latency,
    /// Calls that contained at least one GC pause.
    pub calls_with_gc: u64,
    /// Of the calls at or above the p99 latency, the share that contained a
    /// GC pause (0–1).
    pub tail_calls_with_gc: f64,
    /// GC time within the p99-tail calls over their total time (0–1).
    pub gc_share_of_tail: f64,
}

impl InvokeGc {
    /// From per-call `(duration, gc_ns, gc_pauses)` triples.
    pub fn from_calls(calls: &[(u64, u64, u64)]) -> InvokeGc {
        let without: Vec<u64> = calls.iter().map(|&(d, g, _)| d.saturating_sub(g)).collect();
        let total: Vec<u64> = calls.iter().map(|c| c.0).collect();
        let p99 = Latency::from_durations(&total).p99_ns;
        let tail: Vec<&(u64, u64, u64)> = calls.iter().filter(|c| c.0 >= p99).collect();
        let ratio = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        InvokeGc {
            latency_without_gc: Latency::from_durations(&without),
            calls_with_gc: calls.iter().filter(|c| c.2 > 0).count() as u64,
            tail_calls_with_gc: ratio(
                tail.iter().filter(|c| c.2 > 0).count() as u64,
                tail.len() as u64,
            ),
            gc_share_of_tail: ratio(
                tail.iter().map(|c| c.1).sum(),
                tail.iter().map(|c| c.0).sum(),
            ),
        }
    }
}

/// A profile of one guest run.
#[derive(Debug, Clone)]
pub struct Profile {
    /// The module as the user named it.
    pub module: String,
    /// How it was taken.
    pub mode: Mode,
    /// How the run ended.
    pub exit: Exit,
    /// Wall time of the guest run.
    pub wall_ns: u64,
    /// Sampling interval.
    pub interval_ns: u64,
    /// Frame table.
    pub functions: Vec<Function>,
    /// Calling contexts.
    pub tree: Tree,
    /// Calls the instrumented tree could not place because it was full; they
    /// sit under a `[truncated]` frame.
    pub truncated_calls: u64,
    /// Set for `--invoke` runs.
    pub invoke: Option<Invoke>,
    /// Per-export latency, as a self-profiling artifact timed every call
    /// its host made.
    pub exports: Vec<ExportLatency>,
    /// Allocation counts of a self-profiling artifact with memory probes.
    pub allocations: Option<Allocations>,
    /// Sampled time spent inside the profiler's own probes (instrument
    /// mode), kept out of every function's time.
    pub probe_ns: u64,
    /// Samples that landed inside the probes.
    pub probe_samples: u64,
    /// How time was sampled.
    pub sampler: Sampler,
    /// Peak resident memory of the profiling host, when it knows it.
    pub host_peak_rss_bytes: Option<u64>,
    /// The heap at exit, with memory profiling.
    pub memory: Option<heap::Heap>,
}

/// Per-function totals derived from the tree.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FunctionStats {
    /// Calls (exact in instrument mode).
    pub calls: u64,
    /// Time in the function itself.
    pub self_ns: u64,
    /// Time with the function anywhere on the stack, recursion counted once.
    pub total_ns: u64,
    /// Samples with the function as the leaf.
    pub self_samples: u64,
    /// Samples with the function anywhere on the stack.
    pub total_samples: u64,
}

impl Profile {
    /// An empty profile.
    pub fn new(module: impl Into<String>, mode: Mode) -> Profile {
        Profile {
            module: module.into(),
            mode,
            exit: Exit::code(0),
            wall_ns: 0,
            interval_ns: 0,
            functions: Vec::new(),
            tree: Tree::default(),
            truncated_calls: 0,
            invoke: None,
            exports: Vec::new(),
            allocations: None,
            probe_ns: 0,
            probe_samples: 0,
            sampler: Sampler::default(),
            host_peak_rss_bytes: None,
            memory: None,
        }
    }

    /// Adds a function to the frame table and returns its id.
    pub fn add_function(&mut self, name: impl Into<String>, index: Option<u32>) -> u32 {
        self.functions.push(Function {
            name: name.into(),
            index,
            calls: None,
            source: None,
            inlined: false,
        });
        self.functions.len() as u32 - 1
    }

    /// A copy whose contexts deeper than `cap` are folded into a frame
    /// named `deeper` under their ancestor at depth `cap`, values summed.
    pub fn folded_below(&self, cap: u32, deeper: &str) -> Profile {
        let mut out = self.clone();
        out.tree = Tree::default();
        let deeper = out.add_function(deeper, None);
        let mut map = vec![ROOT; self.tree.nodes.len()];
        let mut depth = vec![0u32; self.tree.nodes.len()];
        for (i, n) in self.tree.nodes.iter().enumerate().skip(1) {
            let p = n.parent as usize;
            depth[i] = depth[p] + 1;
            let node = match depth[i].cmp(&cap) {
                std::cmp::Ordering::Greater if depth[p] == cap => out.tree.child(map[p], deeper),
                std::cmp::Ordering::Greater => map[p],
                _ => out.tree.child_at(map[p], n.func, n.line),
            };
            map[i] = node;
            let m = &mut out.tree.nodes[node as usize];
            m.calls += n.calls;
            m.self_ns += n.self_ns;
            m.samples += n.samples;
        }
        out
    }

    /// Sampled time over all contexts.
    pub fn sampled_ns(&self) -> u64 {
        self.tree.nodes.iter().map(|n| n.self_ns).sum()
    }

    /// Samples over all contexts.
    pub fn samples(&self) -> u64 {
        self.tree.nodes.iter().map(|n| n.samples).sum()
    }

    /// Totals per function id, in one pass over the tree.
    pub fn function_stats(&self) -> Vec<FunctionStats> {
        let nodes = &self.tree.nodes;
        let mut stats = vec![FunctionStats::default(); self.functions.len()];
        // Subtree sums, children before parents (ids grow downwards).
        let mut sub_ns: Vec<u64> = nodes.iter().map(|n| n.self_ns).collect();
        let mut sub_samples: Vec<u64> = nodes.iter().map(|n| n.samples).collect();
        for i in (1..nodes.len()).rev() {
            let p = nodes[i].parent as usize;
            sub_ns[p] += sub_ns[i];
            sub_samples[p] += sub_samples[i];
        }
        for n in nodes.iter().skip(1) {
            if let Some(s) = stats.get_mut(n.func as usize) {
                s.calls += n.calls;
                s.self_ns += n.self_ns;
                s.self_samples += n.samples;
            }
        }
        // A node adds its subtree to its function's total only if no ancestor
        // runs the same function, so recursion is counted once. A depth-first
        // walk keeps how often each function is on the current path: linear
        // in the tree size, whatever its depth.
        let mut first_child = vec![u32::MAX; nodes.len()];
        let mut next_sibling = vec![u32::MAX; nodes.len()];
        for i in (1..nodes.len()).rev() {
            let p = nodes[i].parent as usize;
            next_sibling[i] = first_child[p];
            first_child[p] = i as u32;
        }
        let mut on_path = vec![0u32; self.functions.len()];
        let mut stack: Vec<(u32, bool)> = vec![(ROOT, true)];
        while let Some((i, entering)) = stack.pop() {
            let f = nodes[i as usize].func as usize;
            let counted = i != ROOT && f < on_path.len();
            if !entering {
                if counted {
                    on_path[f] -= 1;
                }
                continue;
            }
            if counted {
                if on_path[f] == 0 {
                    stats[f].total_ns += sub_ns[i as usize];
                    stats[f].total_samples += sub_samples[i as usize];
                }
                on_path[f] += 1;
            }
            stack.push((i, false));
            let mut c = first_child[i as usize];
            while c != u32::MAX {
                stack.push((c, true));
                c = next_sibling[c as usize];
            }
        }
        for (s, f) in stats.iter_mut().zip(&self.functions) {
            if let Some(c) = f.calls {
                s.calls = c;
            }
        }
        stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_buckets_tile_the_durations() {
        // Contiguous, each duration in the bucket `of` names.
        let mut next = 0;
        for b in 0..buckets::COUNT - 4 {
            let (lo, hi) = buckets::range(b);
            assert_eq!(lo, next, "bucket {b}");
            assert!(hi > lo);
            assert_eq!(buckets::of(lo), b);
            // The last bucket's end is clamped to u64::MAX, which it holds.
            assert_eq!(buckets::of(hi - 1), b.min(buckets::of(u64::MAX - 1)));
            next = hi;
        }
        assert_eq!(buckets::of(u64::MAX), buckets::COUNT - 5);
    }

    #[test]
    fn histogram_latency_is_within_a_bucket() {
        let durations: Vec<u64> = (1..=1000).map(|i| i * 1_000).collect();
        let mut h = vec![0; buckets::COUNT];
        for &d in &durations {
            h[buckets::of(d)] += 1;
        }
        let exact = Latency::from_durations(&durations);
        let total = durations.iter().sum();
        let approx = ExportLatency::new("f".into(), 1000, total, exact.max_ns, &h);
        assert_eq!((approx.count, approx.mean_ns), (exact.count, exact.mean_ns));
        for (a, e) in [(approx.p50_ns, exact.p50_ns), (approx.p99_ns, exact.p99_ns)] {
            let a = a.unwrap();
            assert!(a.abs_diff(e) * 8 <= e, "{a} vs {e}");
        }
        // Without a histogram, no percentiles rather than made-up ones.
        let counts = ExportLatency::new("f".into(), 1000, total, exact.max_ns, &[]);
        assert_eq!((counts.p50_ns, counts.p99_ns), (None, None));
    }

    #[test]
    fn recursion_counts_total_once() {
        let mut p = Profile::new("m", Mode::Instrument);
        let f = p.add_function("f", Some(0));
        let a = p.tree.child(ROOT, f);
        let b = p.tree.child(a, f);
        p.tree.nodes[a as usize].self_ns = 10;
        p.tree.nodes[b as usize].self_ns = 5;
        let s = &p.function_stats()[f as usize];
        assert_eq!((s.self_ns, s.total_ns), (15, 15));
    }

    #[test]
    fn names_cannot_forge_lines_or_drive_terminals() {
        assert_eq!(printable("f\nmain;g 99"), "f\\nmain;g 99");
        assert_eq!(printable("\u{1b}[31mred"), "\\u{1b}[31mred");
        assert!(matches!(
            printable("fib::fib"),
            std::borrow::Cow::Borrowed(_)
        ));
    }

    #[test]
    fn percentiles_nearest_rank() {
        let d: Vec<u64> = (1..=100).collect();
        let l = Latency::from_durations(&d);
        assert_eq!((l.p50_ns, l.p99_ns, l.max_ns, l.count), (50, 99, 100, 100));
    }
}
