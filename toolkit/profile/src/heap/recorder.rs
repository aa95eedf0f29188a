//! Turns allocator, `memory.grow` and GC events into a [`Heap`].
//!
//! Events name their calling context by a host node id (the probe runtime's
//! context node); the recorder keeps live blocks by address and per-site
//! counters updated incrementally, so a snapshot at any moment — exit, a
//! dump point, the linear-memory peak — costs one pass over the sites and
//! live blocks, not over the event history (which is never stored).

use std::collections::HashMap;

use super::{Block, Gc, Grow, Heap, Hooks, Layer, Memory, PAGE, Site, Totals};
use crate::percentile;

#[derive(Debug, Clone, Copy)]
struct Live {
    size: u64,
    site: u32,
    seq: u64,
}

#[derive(Debug, Clone)]
struct GrowEvent {
    seq: u64,
    node: u32,
    old_pages: Option<u64>,
    delta_pages: u64,
    tracked: bool,
    live_bytes: u64,
}

/// Accumulates one run's memory events.
#[derive(Debug, Clone)]
pub struct Recorder {
    seq: u64,
    live: HashMap<u64, Live>,
    sites: Vec<(u32, Site)>,
    site_index: HashMap<(u32, Layer), u32>,
    /// Per site: (blocks, bytes) live when memory last peaked.
    at_peak: Vec<(u64, u64)>,
    totals: Totals,
    memory: Memory,
    grows: Vec<GrowEvent>,
    pauses: Vec<u64>,
    untimed_cycles: u64,
    /// Completed cycles, for collectors that expose their state.
    full_cycles: Option<u64>,
    gc_found: bool,
    gc_heap_bytes: Option<u64>,
    /// Hooks the instrumenter reported.
    pub hooks: Hooks,
    /// Exported calls made by the host so far.
    pub export_calls: u64,
}

impl Recorder {
    /// A recorder for a module whose memory starts at `initial_bytes`.
    pub fn new(initial_bytes: u64) -> Recorder {
        Recorder {
            seq: 0,
            live: HashMap::new(),
            sites: Vec::new(),
            site_index: HashMap::new(),
            at_peak: Vec::new(),
            totals: Totals::default(),
            memory: Memory {
                initial_bytes,
                bytes: initial_bytes,
                peak_bytes: initial_bytes,
                grows: Vec::new(),
            },
            grows: Vec::new(),
            pauses: Vec::new(),
            untimed_cycles: 0,
            full_cycles: None,
            gc_found: false,
            gc_heap_bytes: None,
            hooks: Hooks::default(),
            export_calls: 0,
        }
    }

    fn site(&mut self, node: u32, layer: Layer) -> u32 {
        let next = self.sites.len() as u32;
        let sites = &mut self.sites;
        *self.site_index.entry((node, layer)).or_insert_with(|| {
            sites.push((
                node,
                Site {
                    layer,
                    ..Site::default()
                },
            ));
            next
        })
    }

    /// A block of `size` bytes at `addr` allocated in context `node`.
    /// `addr == 0` records the allocation without tracking the block (a
    /// failed allocation is not recorded at all by the probes; Go's
    /// allocator result is not visible, see the README).
    pub fn alloc(&mut self, node: u32, layer: Layer, addr: u64, size: u64) {
        let site = self.site(node, layer);
        let seq = self.seq;
        self.seq += 1;
        let s = &mut self.sites[site as usize].1;
        s.allocs += 1;
        s.alloc_bytes += size;
        self.totals.allocations += 1;
        self.totals.allocated_bytes += size;
        if addr == 0 {
            return;
        }
        if let Some(old) = self.live.insert(addr, Live { size, site, seq }) {
            // The allocator handed out an address we think is live: its free
            // was not seen (an unhooked free path). Count it as freed.
            self.release(old);
        }
        let s = &mut self.sites[site as usize].1;
        s.live += 1;
        s.live_bytes += size;
        self.totals.live_bytes += size;
        self.totals.peak_live_bytes = self.totals.peak_live_bytes.max(self.totals.live_bytes);
    }

    fn release(&mut self, block: Live) {
        let s = &mut self.sites[block.site as usize].1;
        s.frees += 1;
        s.free_bytes += block.size;
        s.live -= 1;
        s.live_bytes -= block.size;
        self.totals.frees += 1;
        self.totals.live_bytes -= block.size;
    }

    /// The block at `addr` was freed. Freeing address 0 is a no-op, as in C.
    pub fn free(&mut self, _layer: Layer, addr: u64) {
        if addr == 0 {
            return;
        }
        self.seq += 1;
        match self.live.remove(&addr) {
            Some(block) => self.release(block),
            None => self.totals.unknown_frees += 1,
        }
    }

    /// `realloc(old, size) = new` in context `node`, with C semantics:
    /// `old == 0` allocates; `new == 0` with `size > 0` failed and left `old`
    /// alone; `new == 0` with `size == 0` freed `old`. A block resized in
    /// place keeps its site and sequence number (it is the same allocation).
    pub fn realloc(&mut self, node: u32, layer: Layer, old: u64, new: u64, size: u64) {
        if old == 0 {
            if new != 0 {
                self.alloc(node, layer, new, size);
            }
            return;
        }
        if new == 0 {
            if size == 0 {
                self.free(layer, old);
            }
            return;
        }
        if new == old
            && let Some(block) = self.live.get_mut(&old)
        {
            let site = block.site;
            let before = block.size;
            block.size = size;
            self.seq += 1;
            let s = &mut self.sites[site as usize].1;
            s.live_bytes = s.live_bytes - before + size;
            self.totals.live_bytes = self.totals.live_bytes - before + size;
            self.totals.peak_live_bytes = self.totals.peak_live_bytes.max(self.totals.live_bytes);
            if size > before {
                // Growth in place is new memory the site asked for.
                s.alloc_bytes += size - before;
                self.totals.allocated_bytes += size - before;
            }
            return;
        }
        self.free(layer, old);
        self.alloc(node, layer, new, size);
    }

    /// A `memory.grow` by `delta_pages` in context `node` returned
    /// `result` (old size in pages, or -1). `tracked`: it ran inside a
    /// hooked allocator.
    pub fn grow(&mut self, node: u32, result: i64, delta_pages: u64, tracked: bool) {
        let ok = result >= 0;
        let old_pages = ok.then_some(result as u64);
        self.grows.push(GrowEvent {
            seq: self.seq,
            node,
            old_pages,
            delta_pages,
            tracked,
            live_bytes: self.totals.live_bytes,
        });
        if !ok || delta_pages == 0 {
            return;
        }
        if !tracked {
            self.totals.untracked_growth_bytes += delta_pages * PAGE;
        }
        self.memory.bytes = (result as u64 + delta_pages) * PAGE;
        if self.memory.bytes > self.memory.peak_bytes {
            self.memory.peak_bytes = self.memory.bytes;
            self.at_peak = self
                .sites
                .iter()
                .map(|(_, s)| (s.live, s.live_bytes))
                .collect();
        }
    }

    /// Sets the current memory size when the host knows it better (the
    /// module grew memory from outside, or instantiation sized it).
    pub fn set_memory_bytes(&mut self, bytes: u64) {
        self.memory.bytes = bytes;
        self.memory.peak_bytes = self.memory.peak_bytes.max(bytes);
    }

    /// The module has a collector hook: report `gc` even with no pauses.
    pub fn gc_found(&mut self) {
        self.gc_found = true;
    }

    /// A collector invocation took `ns` and left the collector in `state`
    /// (0 = idle), when it exposes one: an incremental collector completes a
    /// cycle when a step returns it to idle.
    pub fn gc_pause(&mut self, ns: u64, state: Option<u32>) {
        self.gc_found = true;
        self.pauses.push(ns);
        if let Some(state) = state {
            let full = self.full_cycles.get_or_insert(0);
            if state == 0 {
                // A pause that starts and ends idle ran a whole cycle
                // (`__collect`) or found nothing to do.
                *full += 1;
            }
        }
    }

    /// A collection cycle started whose pause cannot be timed.
    pub fn gc_cycle(&mut self) {
        self.gc_found = true;
        self.untimed_cycles += 1;
    }

    /// The collector's own live-bytes count.
    pub fn set_gc_heap_bytes(&mut self, bytes: u64) {
        self.gc_heap_bytes = Some(bytes);
    }

    /// Tracked live bytes now.
    pub fn live_bytes(&self) -> u64 {
        self.totals.live_bytes
    }

    /// The heap now. `resolve` gives a context node's frames, outermost
    /// first.
    pub fn snapshot(&self, reason: &str, resolve: &dyn Fn(u32) -> Vec<String>) -> Heap {
        let mut frames: Vec<String> = Vec::new();
        let mut frame_ix: HashMap<String, u32> = HashMap::new();
        let mut stacks: Vec<Vec<u32>> = Vec::new();
        let mut stack_ix: HashMap<u32, u32> = HashMap::new();
        let mut stack_of = |node: u32| -> u32 {
            if let Some(&s) = stack_ix.get(&node) {
                return s;
            }
            let ids = resolve(node)
                .into_iter()
                .map(|f| {
                    let next = frames.len() as u32;
                    *frame_ix.entry(f.clone()).or_insert_with(|| {
                        frames.push(f);
                        next
                    })
                })
                .collect();
            stacks.push(ids);
            let s = stacks.len() as u32 - 1;
            stack_ix.insert(node, s);
            s
        };
        let sites = self
            .sites
            .iter()
            .enumerate()
            .map(|(i, (node, s))| {
                let (peak_live, peak_live_bytes) = self.at_peak.get(i).copied().unwrap_or((0, 0));
                Site {
                    stack: stack_of(*node),
                    peak_live,
                    peak_live_bytes,
                    ..s.clone()
                }
            })
            .collect();
        let grows = self
            .grows
            .iter()
            .map(|g| Grow {
                seq: g.seq,
                stack: stack_of(g.node),
                old_pages: g.old_pages,
                delta_pages: g.delta_pages,
                tracked: g.tracked,
                live_bytes: g.live_bytes,
            })
            .collect();
        let mut live: Vec<Block> = self
            .live
            .iter()
            .map(|(&addr, b)| Block {
                addr,
                size: b.size,
                site: b.site,
                seq: b.seq,
            })
            .collect();
        live.sort_by_key(|b| b.seq);
        let gc = (self.gc_found || self.gc_heap_bytes.is_some()).then(|| {
            let mut sorted = self.pauses.clone();
            sorted.sort_unstable();
            Gc {
                cycles: self.full_cycles.unwrap_or(sorted.len() as u64) + self.untimed_cycles,
                pauses: sorted.len() as u64,
                timed: self.untimed_cycles == 0,
                total_ns: sorted.iter().sum(),
                max_pause_ns: sorted.last().copied().unwrap_or(0),
                p50_pause_ns: percentile(&sorted, 0.50),
                p99_pause_ns: percentile(&sorted, 0.99),
                heap_bytes: self.gc_heap_bytes,
            }
        });
        Heap {
            format: super::FORMAT.to_string(),
            version: super::VERSION,
            module: String::new(),
            reason: reason.to_string(),
            seq: self.seq,
            export_calls: self.export_calls,
            hooks: self.hooks.clone(),
            frames,
            stacks,
            sites,
            live,
            memory: Memory {
                grows,
                ..self.memory.clone()
            },
            totals: self.totals.clone(),
            gc,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(node: u32) -> Vec<String> {
        vec!["main".to_string(), format!("f{node}")]
    }

    #[test]
    fn realloc_semantics() {
        let mut r = Recorder::new(PAGE);
        r.realloc(1, Layer::Libc, 0, 100, 10); // acts as malloc
        r.realloc(1, Layer::Libc, 100, 100, 30); // in place
        r.realloc(1, Layer::Libc, 100, 0, 50); // failed: block stays
        r.realloc(2, Layer::Libc, 100, 200, 60); // moves: free + alloc
        let h = r.snapshot("t", &names);
        assert_eq!(h.totals.live_bytes, 60);
        assert_eq!(h.totals.allocations, 2);
        assert_eq!(h.totals.frees, 1);
        assert_eq!(h.live.len(), 1);
        assert_eq!(h.live[0].addr, 200);
        r.realloc(2, Layer::Libc, 200, 0, 0); // realloc(p, 0) frees
        assert_eq!(r.live_bytes(), 0);
    }

    #[test]
    fn peak_attribution_and_untracked_growth() {
        let mut r = Recorder::new(2 * PAGE);
        r.alloc(5, Layer::Rust, 10, 70_000);
        r.grow(5, 2, 2, true);
        r.free(Layer::Rust, 10);
        r.grow(9, 4, 1, false);
        r.grow(9, -1, 1000, false); // failed grow changes nothing
        let h = r.snapshot("t", &names);
        assert_eq!(h.memory.bytes, 5 * PAGE);
        assert_eq!(h.totals.untracked_growth_bytes, PAGE);
        // The peak was reached by the untracked grow, when nothing was live.
        assert_eq!(h.sites[0].peak_live_bytes, 0);
        assert_eq!(h.memory.grows.len(), 3);
        assert_eq!(h.memory.grows[2].old_pages, None);
    }

    #[test]
    fn unknown_free_is_counted_not_applied() {
        let mut r = Recorder::new(PAGE);
        r.free(Layer::Libc, 1234);
        r.free(Layer::Libc, 0);
        let h = r.snapshot("t", &names);
        assert_eq!(h.totals.unknown_frees, 1);
        assert_eq!(h.totals.frees, 0);
    }
}
