//! What a host hands the session while the guest runs: CPU samples, memory
//! probe events and `--invoke` call boundaries. The host owns a
//! [`Recording`] for the run (natively inside wasmtime's store, in JS beside
//! the instance) and gives it back to [`crate::Session::finish`].
//!
//! Nothing here reads a clock: hosts pass durations and timestamps, since
//! `wasm32-unknown-unknown` (the page) has no `Instant`.
//!
//! JS hosts batch events into a `Float64Array` of [`EVENT_WIDTH`]-wide
//! records (`[code, node, a, b, c, d]`, codes in [`EVENT_CODES`]) and cross
//! into the toolkit once per batch ([`Recording::record_batch`]), not once
//! per event.

use std::collections::HashMap;

use wprof_profile::heap::{Layer, PAGE, Recorder};
use wprof_profile::values::Value;

use crate::Error;

/// A memory-probe or call-boundary event.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Event {
    /// `wprof_mem.alloc`.
    Alloc {
        /// Block address (0: unknown, Go).
        addr: u64,
        /// Bytes.
        size: u64,
        /// [`Layer::code`].
        layer: u32,
    },
    /// `wprof_mem.free`.
    Free {
        /// Block address.
        addr: u64,
        /// [`Layer::code`].
        layer: u32,
    },
    /// `wprof_mem.realloc`.
    Realloc {
        /// Old address.
        old: u64,
        /// New address.
        new: u64,
        /// New size.
        size: u64,
        /// [`Layer::code`].
        layer: u32,
    },
    /// `wprof_mem.grow`.
    Grow {
        /// Old size in pages, or -1.
        result: i64,
        /// Pages asked for.
        delta: u64,
        /// Inside a hooked allocator.
        tracked: bool,
    },
    /// `wprof_mem.gc_begin` at host time `now_ns`.
    GcBegin {
        /// Host monotonic time.
        now_ns: u64,
    },
    /// `wprof_mem.gc_end` at host time `now_ns`.
    GcEnd {
        /// Host monotonic time.
        now_ns: u64,
        /// The collector's live bytes, or -1.
        heap: i64,
        /// The collector's state, or -1.
        state: i32,
    },
    /// `wprof_mem.gc_cycle`.
    GcCycle,
    /// The host is about to call the `--invoke` export.
    CallStart,
    /// The call returned after `duration_ns`.
    CallEnd {
        /// Wall time of the call.
        duration_ns: u64,
    },
}

/// Width of one event record in a JS batch.
pub const EVENT_WIDTH: usize = 6;

/// Event codes of JS batches (`[code, node, a, b, c, d]`).
pub const EVENT_CODES: &[(&str, u32)] = &[
    ("alloc", 1),     // a = addr, b = size, c = layer
    ("free", 2),      // a = addr, b = layer
    ("realloc", 3),   // a = old, b = new, c = size, d = layer
    ("grow", 4),      // a = result, b = delta pages, c = tracked (0/1)
    ("gcBegin", 5),   // a = now (ns)
    ("gcEnd", 6),     // a = now (ns), b = collector heap bytes or -1, c = state or -1
    ("gcCycle", 7),   //
    ("callStart", 8), //
    ("callEnd", 9),   // a = duration (ns)
];

impl Event {
    /// Decodes one batch record; `None` for an unknown code.
    fn decode(r: &[f64]) -> Option<(u32, Event)> {
        let node = r[1] as u32;
        let u = |x: f64| x as u64;
        Some((
            node,
            match r[0] as u32 {
                1 => Event::Alloc {
                    addr: u(r[2]),
                    size: u(r[3]),
                    layer: r[4] as u32,
                },
                2 => Event::Free {
                    addr: u(r[2]),
                    layer: r[3] as u32,
                },
                3 => Event::Realloc {
                    old: u(r[2]),
                    new: u(r[3]),
                    size: u(r[4]),
                    layer: r[5] as u32,
                },
                4 => Event::Grow {
                    result: r[2] as i64,
                    delta: u(r[3]),
                    tracked: r[4] != 0.0,
                },
                5 => Event::GcBegin { now_ns: u(r[2]) },
                6 => Event::GcEnd {
                    now_ns: u(r[2]),
                    heap: r[3] as i64,
                    state: r[4] as i32,
                },
                7 => Event::GcCycle,
                8 => Event::CallStart,
                9 => Event::CallEnd {
                    duration_ns: u(r[2]),
                },
                _ => return None,
            },
        ))
    }
}

/// CPU samples as the host's sampler took them.
#[derive(Debug, Clone)]
pub(crate) enum Cpu {
    /// Instrument mode: time and samples per probe-runtime node.
    Contexts { time: Vec<u64>, samples: Vec<u64> },
    /// Sample mode: stacks of original function indices, as a tree whose
    /// node funcs are indices ([`TRUNCATED_FRAME`] for a cut stack) and
    /// whose node `line` is the frame's module offset + 1 (0: unknown),
    /// resolved to source lines when the profile is built.
    Stacks(wprof_profile::Tree),
}

/// Function "index" of the `[truncated]` frame in sampled stacks.
pub(crate) const TRUNCATED_FRAME: u32 = u32::MAX - 1;

/// Function "index" of the `[engine]` frame in sampled stacks: time in the
/// engine's own code (libcalls such as `memory.grow`, trampolines).
pub const ENGINE_FRAME: u32 = u32::MAX - 2;

/// Memory-probe state of one run.
#[derive(Debug, Clone)]
pub(crate) struct MemoryHost {
    pub(crate) recorder: Recorder,
    gc_started: Option<u64>,
}

/// One run's samples, events and invoke calls.
#[derive(Debug, Clone)]
pub struct Recording {
    pub(crate) cpu: Cpu,
    /// Per-export latency a self-profiling artifact recorded.
    pub(crate) exports: Vec<wprof_profile::ExportLatency>,
    /// Allocation counts a self-profiling artifact kept.
    pub(crate) allocations: Option<wprof_profile::Allocations>,
    pub(crate) memory: Option<MemoryHost>,
    /// Completed calls: (duration, GC ns, GC pauses).
    pub(crate) calls: Vec<(u64, u64, u64)>,
    call_gc: (u64, u64),
    /// The last completed call's results.
    pub(crate) results: Vec<Value>,
    /// With `--result`: the text they point at, or why it could not be read.
    pub(crate) result_text: Option<crate::invoke::Decoded>,
    /// Dumps written so far.
    pub(crate) dumps: Vec<String>,
    /// Time and samples inside the probes themselves.
    pub(crate) probe_time: (u64, u64),
    /// Instrument mode: time and samples in host calls, by (context,
    /// imported function index).
    pub(crate) host_time: HashMap<(u32, u32), (u64, u64)>,
    /// How samples were taken, and what that cost the guest.
    pub(crate) sampler: wprof_profile::Sampler,
    /// Instrument mode: time and samples in calls the full tree could not
    /// place, by the context they were made under.
    pub(crate) truncated_time: HashMap<u32, (u64, u64)>,
}

impl Recording {
    pub(crate) fn new(mode: wprof_profile::Mode, memory: Option<Recorder>) -> Recording {
        Recording {
            cpu: match mode {
                wprof_profile::Mode::Instrument => Cpu::Contexts {
                    time: Vec::new(),
                    samples: Vec::new(),
                },
                wprof_profile::Mode::Sample => Cpu::Stacks(Default::default()),
            },
            memory: memory.map(|recorder| MemoryHost {
                recorder,
                gc_started: None,
            }),
            calls: Vec::new(),
            call_gc: (0, 0),
            results: Vec::new(),
            exports: Vec::new(),
            allocations: None,
            result_text: None,
            dumps: Vec::new(),
            probe_time: (0, 0),
            host_time: HashMap::new(),
            sampler: wprof_profile::Sampler::default(),
            truncated_time: HashMap::new(),
        }
    }

    /// Says how the host sampled: `name` (see [`wprof_profile::Sampler`]),
    /// the time its sampling took from the guest's thread, and samples it
    /// had to drop.
    pub fn set_sampler(&mut self, name: &str, cost_ns: u64, dropped: u64) {
        self.sampler = wprof_profile::Sampler {
            name: name.to_string(),
            cost_ns,
            dropped,
        };
    }

    /// Drops the memory-probe state (a host that could not collect the
    /// events); returns whether there was any. The profile then has no
    /// memory section rather than an empty one.
    pub fn forget_memory(&mut self) -> bool {
        self.memory.take().is_some()
    }

    /// Whether the run needs the memory-probe host (`wprof_mem`).
    pub fn has_memory(&self) -> bool {
        self.memory.is_some()
    }

    /// Instrument mode: `ns` of time over `samples` samples in context
    /// `node`, for samplers that aggregate on their own thread.
    pub fn add_context_time(&mut self, node: u32, ns: u64, samples: u64) {
        let Cpu::Contexts { time, samples: s } = &mut self.cpu else {
            return;
        };
        if node == wprof_instrument::abi::ROOT_NODE || samples == 0 {
            return;
        }
        if node == wprof_instrument::abi::PROBE_CONTEXT {
            self.probe_time.0 += ns;
            self.probe_time.1 += samples;
            return;
        }
        if node & wprof_instrument::abi::TRUNCATED_BIT != 0 {
            let under = node & !wprof_instrument::abi::TRUNCATED_BIT;
            let e = self.truncated_time.entry(under).or_default();
            e.0 += ns;
            e.1 += samples;
            return;
        }
        let i = node as usize;
        if time.len() <= i {
            time.resize(i + 1, 0);
            s.resize(i + 1, 0);
        }
        time[i] += ns;
        s[i] += samples;
    }

    /// Instrument mode: `ns` over `samples` samples in a call of the
    /// imported function `import` (its function index) made from context
    /// `node`; profiles show it as a frame under that context.
    pub fn add_host_time(&mut self, node: u32, import: u32, ns: u64, samples: u64) {
        if samples == 0 {
            return;
        }
        // A sampler reads the context and host-call words one after the
        // other, so it can see a probe's context with the host call that
        // began right after the probe: that time was the probe's (not a
        // `[truncated]` call, which the probe context's high bit would
        // otherwise say).
        if node == wprof_instrument::abi::PROBE_CONTEXT {
            self.add_context_time(node, ns, samples);
            return;
        }
        let e = self.host_time.entry((node, import)).or_default();
        e.0 += ns;
        e.1 += samples;
    }

    /// Sample mode: `ns` of time over `samples` samples in the stack
    /// `frames`, outermost first: original function indices (an import's
    /// index is a host-call frame, [`ENGINE_FRAME`] the engine) with the
    /// module offset of the frame's instruction (the sampled one, or the
    /// call), when known; `truncated` when the sampler cut its outermost
    /// frames.
    pub fn sample_stack(
        &mut self,
        frames: impl IntoIterator<Item = (u32, Option<u32>)>,
        truncated: bool,
        ns: u64,
        samples: u64,
    ) {
        let Cpu::Stacks(tree) = &mut self.cpu else {
            return;
        };
        let mut node = wprof_profile::ROOT;
        if truncated {
            node = tree.child(node, TRUNCATED_FRAME);
        }
        for (f, offset) in frames {
            node = tree.child_at(node, f, offset.map_or(0, |o| o.saturating_add(1)));
        }
        if node == wprof_profile::ROOT {
            return;
        }
        let n = &mut tree.nodes[node as usize];
        n.self_ns += ns;
        n.samples += samples;
    }

    /// Records `event`, which happened in probe-runtime context `node`.
    pub fn record(&mut self, node: u32, event: Event) {
        match event {
            Event::CallStart => {
                self.call_gc = (0, 0);
                if let Some(m) = &mut self.memory {
                    m.recorder.export_calls = self.calls.len() as u64;
                }
                return;
            }
            Event::CallEnd { duration_ns } => {
                self.calls
                    .push((duration_ns, self.call_gc.0, self.call_gc.1));
                if let Some(m) = &mut self.memory {
                    m.recorder.export_calls = self.calls.len() as u64;
                }
                return;
            }
            _ => {}
        }
        let Some(m) = &mut self.memory else { return };
        let r = &mut m.recorder;
        match event {
            Event::Alloc { addr, size, layer } => {
                // 0 is a failed allocation, except for Go, whose block
                // address the probe cannot see.
                if let Some(layer) = Layer::from_code(layer)
                    && (addr != 0 || layer == Layer::Go)
                {
                    r.alloc(node, layer, addr, size);
                }
            }
            Event::Free { addr, layer } => {
                if let Some(layer) = Layer::from_code(layer) {
                    r.free(layer, addr);
                }
            }
            Event::Realloc {
                old,
                new,
                size,
                layer,
            } => {
                if let Some(layer) = Layer::from_code(layer) {
                    r.realloc(node, layer, old, new, size);
                }
            }
            Event::Grow {
                result,
                delta,
                tracked,
            } => r.grow(node, result, delta, tracked),
            Event::GcBegin { now_ns } => m.gc_started = Some(now_ns),
            Event::GcEnd {
                now_ns,
                heap,
                state,
            } => {
                if let Some(t) = m.gc_started.take() {
                    let ns = now_ns.saturating_sub(t);
                    r.gc_pause(ns, u32::try_from(state).ok());
                    self.call_gc.0 += ns;
                    self.call_gc.1 += 1;
                    if heap >= 0 {
                        r.set_gc_heap_bytes(heap as u64);
                    }
                }
            }
            Event::GcCycle => {
                r.gc_cycle();
                self.call_gc.1 += 1;
            }
            Event::CallStart | Event::CallEnd { .. } => unreachable!("handled above"),
        }
    }

    /// Records a JS batch of [`EVENT_WIDTH`]-wide records.
    pub fn record_batch(&mut self, batch: &[f64]) -> Result<(), Error> {
        if !batch.len().is_multiple_of(EVENT_WIDTH) {
            return Err(Error::Host(format!(
                "event batch of {} numbers is not a multiple of {EVENT_WIDTH}",
                batch.len()
            )));
        }
        for (i, r) in batch.chunks_exact(EVENT_WIDTH).enumerate() {
            let (node, event) = Event::decode(r).ok_or_else(|| {
                Error::Host(format!("event {i} of a batch has unknown code {}", r[0]))
            })?;
            self.record(node, event);
        }
        Ok(())
    }

    /// The last completed call's results.
    pub fn set_results(&mut self, results: &[Value]) {
        self.results.clear();
        self.results.extend_from_slice(results);
    }

    /// With `--result`: what [`crate::Session::invoke_result`] read for the
    /// last completed call. `summary.json` and the printed results show it
    /// instead of the raw results.
    pub fn set_result_text(&mut self, text: crate::invoke::Decoded) {
        self.result_text = Some(text);
    }

    /// Completed `--invoke` calls so far.
    pub fn calls(&self) -> u64 {
        self.calls.len() as u64
    }

    /// The memory-probe recorder's view of memory 0's size, updated by the
    /// host before a snapshot.
    pub(crate) fn set_memory_bytes(&mut self, bytes: Option<u64>) {
        if let (Some(m), Some(b)) = (&mut self.memory, bytes) {
            m.recorder.set_memory_bytes(b);
        }
    }
}

/// A recorder for a module with memory probes.
pub(crate) fn recorder(manifest: &wprof_instrument::abi::MemoryManifest) -> Recorder {
    let mut recorder = Recorder::new(manifest.initial_pages * PAGE);
    recorder.hooks = manifest.hooks.clone();
    if recorder.hooks.found.iter().any(|h| h.kind == "gc") {
        recorder.gc_found();
    }
    recorder
}

/// The codes as a name → code map, for the JS side.
pub fn event_codes() -> HashMap<&'static str, u32> {
    EVENT_CODES.iter().copied().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_decode_to_the_same_events_as_direct_calls() {
        let manifest = wprof_instrument::abi::MemoryManifest {
            hooks: Default::default(),
            initial_pages: 1,
        };
        let code = |n: &str| event_codes()[n] as f64;
        let batch = [
            code("callStart"),
            0.0,
            0.0,
            0.0,
            0.0,
            0.0,
            code("alloc"),
            5.0,
            64.0,
            16.0,
            1.0,
            0.0,
            code("alloc"),
            5.0,
            128.0,
            32.0,
            1.0,
            0.0,
            code("free"),
            0.0,
            64.0,
            1.0,
            0.0,
            0.0,
            code("grow"),
            6.0,
            1.0,
            2.0,
            0.0,
            0.0,
            code("callEnd"),
            0.0,
            1500.0,
            0.0,
            0.0,
            0.0,
        ];
        let mut a = Recording::new(wprof_profile::Mode::Instrument, Some(recorder(&manifest)));
        a.record_batch(&batch).unwrap();
        let mut b = Recording::new(wprof_profile::Mode::Instrument, Some(recorder(&manifest)));
        b.record(0, Event::CallStart);
        b.record(
            5,
            Event::Alloc {
                addr: 64,
                size: 16,
                layer: 1,
            },
        );
        b.record(
            5,
            Event::Alloc {
                addr: 128,
                size: 32,
                layer: 1,
            },
        );
        b.record(0, Event::Free { addr: 64, layer: 1 });
        b.record(
            6,
            Event::Grow {
                result: 1,
                delta: 2,
                tracked: false,
            },
        );
        b.record(0, Event::CallEnd { duration_ns: 1500 });
        let live = |r: &Recording| r.memory.as_ref().unwrap().recorder.live_bytes();
        assert_eq!(live(&a), 32);
        assert_eq!(live(&a), live(&b));
        assert_eq!(a.calls, b.calls);
        assert_eq!(a.calls, [(1500, 0, 0)]);
        assert!(a.record_batch(&[99.0, 0.0, 0.0, 0.0, 0.0, 0.0]).is_err());
        assert!(a.record_batch(&[1.0]).is_err());
    }
}
