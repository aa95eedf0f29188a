//! What heaps mean to a user: the `summary.json` memory section, the
//! untracked-growth alarm, `wprof heap show` and `wprof heap diff`.
//!
//! The alarm is the story this exists for: linear memory keeps growing while
//! the heap a language's own tools see (its GC heap, or every tracked
//! allocation) does not. It compares a window — run start to exit, or the
//! first to the last dump — and names what explains the growth: unmanaged
//! allocation sites, or `memory.grow` executed outside any allocator.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::{Gc, Heap, Hooks, Layer, PAGE, Totals};

/// `summary.json` → `memory`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemorySummary {
    /// Allocator hooks found and missing.
    pub hooks: Hooks,
    /// Event totals (`allocations`, `allocated_bytes`, `frees`,
    /// `unknown_frees`, `live_bytes`, `peak_live_bytes`,
    /// `untracked_growth_bytes`).
    #[serde(flatten)]
    pub totals: Totals,
    /// Linear memory size at exit.
    pub linear_memory_bytes: u64,
    /// Linear memory size at start.
    pub initial_memory_bytes: u64,
    /// Largest linear memory size.
    pub peak_memory_bytes: u64,
    /// `memory.grow` executions.
    pub grows: u64,
    /// Bytes added by successful grows.
    pub grown_bytes: u64,
    /// Collector pauses, when a collector was found.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub gc: Option<Gc>,
    /// Layers whose blocks are counted as allocations but not tracked as live
    /// (their frees are invisible); empty when every layer is tracked.
    pub untracked_layers: Vec<Layer>,
    /// Allocation sites by live bytes, then bytes allocated (at most 20).
    pub top_sites: Vec<SiteSummary>,
    /// Where memory grew, by bytes (at most 10).
    pub grow_sites: Vec<GrowSite>,
    /// The untracked-growth alarm, when it fired.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub alarm: Option<String>,
}

/// One allocation site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteSummary {
    /// `outer;…;leaf`.
    pub stack: String,
    /// Allocator layer.
    pub layer: Layer,
    /// Blocks allocated.
    pub allocs: u64,
    /// Bytes allocated.
    pub alloc_bytes: u64,
    /// Blocks freed.
    pub frees: u64,
    /// Blocks live at exit.
    pub live: u64,
    /// Bytes live at exit.
    pub live_bytes: u64,
    /// Bytes live when linear memory peaked.
    pub peak_live_bytes: u64,
}

/// `memory.grow` executions from one stack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrowSite {
    /// `outer;…;leaf` of the function executing `memory.grow`.
    pub stack: String,
    /// Successful grows.
    pub grows: u64,
    /// Bytes added.
    pub bytes: u64,
    /// Inside a hooked allocator.
    pub tracked: bool,
}

impl MemorySummary {
    /// Summarises the heap at exit.
    pub fn from_heap(heap: &Heap) -> MemorySummary {
        let mut sites: Vec<SiteSummary> = heap
            .sites
            .iter()
            .map(|s| SiteSummary {
                stack: heap.stack_string(s.stack),
                layer: s.layer,
                allocs: s.allocs,
                alloc_bytes: s.alloc_bytes,
                frees: s.frees,
                live: s.live,
                live_bytes: s.live_bytes,
                peak_live_bytes: s.peak_live_bytes,
            })
            .collect();
        sites.sort_by(|a, b| {
            (b.live_bytes, b.alloc_bytes, &a.stack).cmp(&(a.live_bytes, a.alloc_bytes, &b.stack))
        });
        sites.truncate(20);
        MemorySummary {
            hooks: heap.hooks.clone(),
            totals: heap.totals.clone(),
            linear_memory_bytes: heap.memory.bytes,
            initial_memory_bytes: heap.memory.initial_bytes,
            peak_memory_bytes: heap.memory.peak_bytes,
            grows: heap.memory.grows.len() as u64,
            grown_bytes: grown_bytes(heap),
            gc: heap.gc.clone(),
            untracked_layers: untracked_layers(heap),
            top_sites: sites,
            grow_sites: grow_sites(heap, 0),
            alarm: alarm(None, heap),
        }
    }
}

fn grown_bytes(heap: &Heap) -> u64 {
    heap.memory
        .grows
        .iter()
        .filter(|g| g.old_pages.is_some())
        .map(|g| g.delta_pages * PAGE)
        .sum()
}

/// Layers that allocated but whose blocks were never tracked as live.
fn untracked_layers(heap: &Heap) -> Vec<Layer> {
    let mut out: Vec<Layer> = heap
        .sites
        .iter()
        .filter(|s| s.allocs > 0)
        .map(|s| s.layer)
        .filter(|&l| {
            !heap
                .sites
                .iter()
                .any(|s| s.layer == l && (s.live > 0 || s.frees > 0))
                && l.gc_managed()
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Grow sites with a sequence number at or after `since`, by bytes.
fn grow_sites(heap: &Heap, since: u64) -> Vec<GrowSite> {
    let mut by: HashMap<(u32, bool), (u64, u64)> = HashMap::new();
    for g in heap.memory.grows.iter().filter(|g| g.seq >= since) {
        if g.old_pages.is_some() && g.delta_pages > 0 {
            let e = by.entry((g.stack, g.tracked)).or_default();
            e.0 += 1;
            e.1 += g.delta_pages * PAGE;
        }
    }
    let mut out: Vec<GrowSite> = by
        .into_iter()
        .map(|((stack, tracked), (grows, bytes))| GrowSite {
            stack: heap.stack_string(stack),
            grows,
            bytes,
            tracked,
        })
        .collect();
    out.sort_by(|a, b| (b.bytes, &a.stack).cmp(&(a.bytes, &b.stack)));
    out.truncate(10);
    out
}

fn mib(bytes: u64) -> String {
    if bytes >= 1 << 20 {
        format!("{:.1} MiB", bytes as f64 / (1u64 << 20) as f64)
    } else if bytes >= 1 << 10 {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    } else {
        format!("{bytes} B")
    }
}

fn signed(d: i128) -> String {
    if d < 0 {
        format!("-{}", mib((-d) as u64))
    } else {
        format!("+{}", mib(d as u64))
    }
}

/// Live bytes per (stack string, layer) of the non-GC layers.
fn unmanaged_by_site(heap: &Heap) -> HashMap<(String, Layer), u64> {
    let mut out = HashMap::new();
    for s in heap.sites.iter().filter(|s| !s.layer.gc_managed()) {
        *out.entry((heap.stack_string(s.stack), s.layer))
            .or_default() += s.live_bytes;
    }
    out
}

/// The untracked-growth alarm over the window from `before` (run start when
/// `None`) to `after`, or `None` when linear memory growth is explained by
/// the heap a language's tools see.
pub fn alarm(before: Option<&Heap>, after: &Heap) -> Option<String> {
    let mem0 = before.map_or(after.memory.initial_bytes, |b| b.memory.bytes);
    let grown = after.memory.bytes.saturating_sub(mem0);
    if grown == 0 {
        return None;
    }
    let live0 = before.map_or(0, |b| b.totals.live_bytes) as i128;
    let gc0 = before.map_or(0, |b| b.gc_heap_bytes()) as i128;
    let untracked0 = before.map_or(0, |b| b.totals.untracked_growth_bytes);
    let untracked =
        after.totals.untracked_growth_bytes - untracked0.min(after.totals.untracked_growth_bytes);
    let since = before.map_or(0, |b| b.seq);
    let gc_delta = after.gc_heap_bytes() as i128 - gc0;
    let mut msg = String::new();
    if untracked > 0 && untracked * 2 >= grown {
        let sites: Vec<String> = grow_sites(after, since)
            .into_iter()
            .filter(|g| !g.tracked)
            .take(3)
            .map(|g| format!("{} ({}, {} grow(s))", g.stack, mib(g.bytes), g.grows))
            .collect();
        let _ = write!(
            msg,
            "linear memory grew by {} but {} of it came from memory.grow outside any hooked allocator \
             (tracked heap {}); grown at: {}",
            mib(grown),
            mib(untracked),
            signed(after.totals.live_bytes as i128 - live0),
            sites.join(", ")
        );
        if after.hooks.allocators.is_empty() {
            msg.push_str("; no allocator was recognised, so all growth is untracked");
        }
        return Some(msg);
    }
    // Only a module with a collector has a GC heap that can stay flat.
    if after.gc.is_none() || gc_delta * 4 >= grown as i128 {
        return None;
    }
    let a = unmanaged_by_site(after);
    let b = before.map(unmanaged_by_site).unwrap_or_default();
    let total = |m: &HashMap<(String, Layer), u64>| m.values().map(|&v| v as i128).sum::<i128>();
    let unmanaged_delta = total(&a) - total(&b);
    if unmanaged_delta * 2 >= grown as i128 {
        let mut grew: Vec<((String, Layer), i128)> = a
            .into_iter()
            .map(|(k, v)| {
                let d = v as i128 - b.get(&k).copied().unwrap_or(0) as i128;
                (k, d)
            })
            .filter(|(_, d)| *d > 0)
            .collect();
        grew.sort_by(|x, y| y.1.cmp(&x.1).then(x.0.cmp(&y.0)));
        let top: Vec<String> = grew
            .iter()
            .take(3)
            .map(|((stack, layer), d)| format!("{stack} [{}] {}", layer.name(), signed(*d)))
            .collect();
        let _ = write!(
            msg,
            "linear memory grew by {} while the GC heap changed by {}: unmanaged allocations (invisible \
             to the GC) grew by {}; top site: {}",
            mib(grown),
            signed(gc_delta),
            signed(unmanaged_delta),
            top.join(", ")
        );
        return Some(msg);
    }
    None
}

/// `wprof heap show`: a one-screen summary of a dump.
pub fn show(heap: &Heap) -> String {
    let s = MemorySummary::from_heap(heap);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "module   {} ({})",
        crate::printable(&heap.module),
        crate::printable(&heap.reason)
    );
    let _ = writeln!(out, "hooks    {}", hooks_line(&heap.hooks));
    let _ = writeln!(
        out,
        "memory   {} (start {}, peak {}; {} grow(s), {} untracked)",
        mib(s.linear_memory_bytes),
        mib(s.initial_memory_bytes),
        mib(s.peak_memory_bytes),
        s.grows,
        mib(s.totals.untracked_growth_bytes)
    );
    let _ = writeln!(
        out,
        "heap     {} live in {} block(s) (peak {}); {} allocations, {} frees, {} unknown frees",
        mib(s.totals.live_bytes),
        heap.live.len(),
        mib(s.totals.peak_live_bytes),
        s.totals.allocations,
        s.totals.frees,
        s.totals.unknown_frees
    );
    if let Some(gc) = &s.gc {
        let _ = writeln!(
            out,
            "gc       {} pause(s), {} ns total, p50 {} ns, p99 {} ns, max {} ns{}",
            gc.cycles,
            gc.total_ns,
            gc.p50_pause_ns,
            gc.p99_pause_ns,
            gc.max_pause_ns,
            gc.heap_bytes
                .map(|b| format!(", GC heap {}", mib(b)))
                .unwrap_or_default()
        );
    }
    if !s.untracked_layers.is_empty() {
        let names: Vec<&str> = s.untracked_layers.iter().map(|l| l.name()).collect();
        let _ = writeln!(
            out,
            "note     {} blocks are counted but not tracked as live (the GC frees them without a hook)",
            names.join(", ")
        );
    }
    let _ = writeln!(out, "\nTOP SITES BY LIVE BYTES");
    let _ = writeln!(
        out,
        "{:>12} {:>9} {:>10} {:>12}  site",
        "live", "blocks", "allocs", "allocated"
    );
    for site in s.top_sites.iter().take(10) {
        let _ = writeln!(
            out,
            "{:>12} {:>9} {:>10} {:>12}  {} [{}]",
            mib(site.live_bytes),
            site.live,
            site.allocs,
            mib(site.alloc_bytes),
            site.stack,
            site.layer.name()
        );
    }
    if !s.grow_sites.is_empty() {
        let _ = writeln!(out, "\nMEMORY.GROW SITES");
        for g in &s.grow_sites {
            let _ = writeln!(
                out,
                "{:>12} {:>5}x  {}{}",
                mib(g.bytes),
                g.grows,
                g.stack,
                if g.tracked { "" } else { "  (untracked)" }
            );
        }
    }
    if let Some(a) = &s.alarm {
        let _ = writeln!(out, "\nALARM: {a}");
    }
    out
}

fn hooks_line(h: &Hooks) -> String {
    if h.found.is_empty() {
        return "none recognised: only memory.grow is attributed".to_string();
    }
    let found: Vec<String> = h.found.iter().map(|f| f.name.clone()).collect();
    let mut line = format!("{} ({})", h.allocators.join(", "), found.join(", "));
    for m in &h.missing {
        let _ = write!(line, "; {} missing: {}", m.allocator, m.names.join(", "));
    }
    line
}

/// One site's change across dumps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteDiff {
    /// `outer;…;leaf`.
    pub stack: String,
    /// Allocator layer.
    pub layer: Layer,
    /// Bytes allocated after the first dump and still live at the last.
    pub new_live_bytes: u64,
    /// Blocks allocated after the first dump and still live at the last.
    pub new_live: u64,
    /// Live bytes at the last dump minus at the first.
    pub live_delta_bytes: i64,
    /// Allocations in the window.
    pub allocs: u64,
    /// Frees in the window.
    pub frees: u64,
    /// Live bytes at each dump, in order.
    pub live_bytes: Vec<u64>,
    /// Live bytes grew at every dump (needs ≥ 3 dumps).
    pub monotonic: bool,
    /// Ranked as a leak suspect: new live blocks, few frees in the window,
    /// and (with ≥ 3 dumps) growth at every dump.
    pub suspect: bool,
}

/// `wprof heap diff`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Diff {
    /// Linear memory size at each dump.
    pub memory_bytes: Vec<u64>,
    /// Tracked live bytes at each dump.
    pub live_bytes: Vec<u64>,
    /// GC heap bytes at each dump (collector's count or managed blocks).
    pub gc_heap_bytes: Vec<u64>,
    /// Sites ranked: suspects first, then by new live bytes.
    pub sites: Vec<SiteDiff>,
    /// The untracked-growth alarm over the whole window.
    pub alarm: Option<String>,
}

/// Compares dumps of one run, oldest first (≥ 2).
pub fn diff(heaps: &[Heap]) -> Diff {
    let first = &heaps[0];
    let last = &heaps[heaps.len() - 1];
    // Per dump: (stack, layer) → (live bytes, allocs, frees).
    type Counts = HashMap<(String, Layer), (u64, u64, u64)>;
    let per_dump: Vec<Counts> = heaps
        .iter()
        .map(|h| {
            let mut m: HashMap<(String, Layer), (u64, u64, u64)> = HashMap::new();
            for s in &h.sites {
                let e = m.entry((h.stack_string(s.stack), s.layer)).or_default();
                e.0 += s.live_bytes;
                e.1 += s.allocs;
                e.2 += s.frees;
            }
            m
        })
        .collect();
    // Blocks born after the first dump (sequence numbers never repeat, unlike
    // addresses) and still live at the last.
    let mut new_live: HashMap<(String, Layer), (u64, u64)> = HashMap::new();
    for b in last.live.iter().filter(|b| b.seq >= first.seq) {
        if let Some(s) = last.sites.get(b.site as usize) {
            let e = new_live
                .entry((last.stack_string(s.stack), s.layer))
                .or_default();
            e.0 += 1;
            e.1 += b.size;
        }
    }
    let keys: std::collections::BTreeSet<(String, Layer)> =
        per_dump.iter().flat_map(|m| m.keys().cloned()).collect();
    let mut sites: Vec<SiteDiff> = keys
        .into_iter()
        .map(|k| {
            let at = |i: usize| per_dump[i].get(&k).copied().unwrap_or_default();
            let live_bytes: Vec<u64> = (0..heaps.len()).map(|i| at(i).0).collect();
            let (f, l) = (at(0), at(heaps.len() - 1));
            let (new_live, new_live_bytes) = new_live.get(&k).copied().unwrap_or_default();
            let allocs = l.1.saturating_sub(f.1);
            let frees = l.2.saturating_sub(f.2);
            let monotonic = heaps.len() >= 3 && live_bytes.windows(2).all(|w| w[1] > w[0]);
            let suspect = new_live > 0
                && new_live_bytes > 0
                && frees * 10 < allocs.max(1)
                && (heaps.len() < 3 || monotonic);
            SiteDiff {
                stack: k.0,
                layer: k.1,
                new_live_bytes,
                new_live,
                live_delta_bytes: l.0 as i64 - f.0 as i64,
                allocs,
                frees,
                live_bytes,
                monotonic,
                suspect,
            }
        })
        .filter(|s| s.allocs > 0 || s.live_delta_bytes != 0)
        .collect();
    sites.sort_by(|a, b| {
        (b.suspect, b.new_live_bytes, b.live_delta_bytes, &a.stack).cmp(&(
            a.suspect,
            a.new_live_bytes,
            a.live_delta_bytes,
            &b.stack,
        ))
    });
    Diff {
        memory_bytes: heaps.iter().map(|h| h.memory.bytes).collect(),
        live_bytes: heaps.iter().map(|h| h.totals.live_bytes).collect(),
        gc_heap_bytes: heaps.iter().map(|h| h.gc_heap_bytes()).collect(),
        sites,
        alarm: alarm(Some(first), last),
    }
}

/// The diff as text.
pub fn diff_text(heaps: &[Heap], d: &Diff) -> String {
    let mut out = String::new();
    let first = &heaps[0];
    let last = &heaps[heaps.len() - 1];
    let _ = writeln!(
        out,
        "module  {}   dumps: {}",
        last.module,
        heaps
            .iter()
            .map(|h| h.reason.as_str())
            .collect::<Vec<_>>()
            .join(" → ")
    );
    let _ = writeln!(out, "hooks   {}", hooks_line(&last.hooks));
    let _ = writeln!(
        out,
        "window  events {} → {}   exported calls {} → {}",
        first.seq, last.seq, first.export_calls, last.export_calls
    );
    let row = |name: &str, v: &[u64]| {
        let parts: Vec<String> = v.iter().map(|&b| mib(b)).collect();
        let delta = *v.last().unwrap() as i128 - v[0] as i128;
        format!("{name:<16} {}   ({})\n", parts.join(" → "), signed(delta))
    };
    out.push_str(&row("linear memory", &d.memory_bytes));
    out.push_str(&row("tracked live", &d.live_bytes));
    if last.gc.is_some() || last.sites.iter().any(|s| s.layer.gc_managed()) {
        out.push_str(&row("gc heap", &d.gc_heap_bytes));
    }
    let _ = writeln!(out, "\nLEAK SUSPECTS (by new live bytes)");
    let _ = writeln!(
        out,
        "{:>3} {:>12} {:>8} {:>12} {:>8} {:>6}  site",
        "#", "new live", "blocks", "Δlive", "allocs", "free%"
    );
    for (i, s) in d.sites.iter().take(15).enumerate() {
        let free_pct = if s.allocs == 0 {
            "-".to_string()
        } else {
            format!("{:.0}%", 100.0 * s.frees as f64 / s.allocs as f64)
        };
        let _ = writeln!(
            out,
            "{:>3} {:>12} {:>8} {:>12} {:>8} {:>6}  {} [{}]{}{}",
            i + 1,
            mib(s.new_live_bytes),
            s.new_live,
            signed(s.live_delta_bytes as i128),
            s.allocs,
            free_pct,
            s.stack,
            s.layer.name(),
            if s.suspect { "  SUSPECT" } else { "" },
            if s.monotonic {
                " (grew at every dump)"
            } else {
                ""
            }
        );
    }
    if let Some(a) = &d.alarm {
        let _ = writeln!(out, "\nALARM: {a}");
    }
    out
}

/// Sums sites by layer (for tests and reports).
pub fn live_by_layer(heap: &Heap) -> BTreeMap<Layer, u64> {
    let mut out = BTreeMap::new();
    for s in &heap.sites {
        *out.entry(s.layer).or_default() += s.live_bytes;
    }
    out
}
