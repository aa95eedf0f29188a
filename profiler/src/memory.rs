//! The wasmtime side of the memory probes ([`wprof_instrument::abi::mem`]):
//! each probe forwards its event, with the probe runtime's current calling
//! context, into the run's [`Recording`], where the session turns events
//! into a heap.
//!
//! Only outermost allocator frames reach the host (the wrappers keep the
//! nesting depth in wasm), so the per-event cost is one host call, one read
//! of the runtime's current-context word and a hash-map update.

use anyhow::Result;
use wasmtime::{Caller, Linker};
use wprof_instrument::abi;
use wprof_session::{Event, Recording};

/// What a store's data must offer the memory probes.
pub(crate) trait MemoryProbeHost: 'static {
    /// The run's recording.
    fn recording(&mut self) -> &mut Recording;
    /// The probe runtime's current context.
    fn context(&self) -> u32;
    /// Monotonic host time, for GC pauses.
    fn now_ns(&self) -> u64;
}

fn record<T: MemoryProbeHost>(c: &mut Caller<'_, T>, with_context: bool, event: Event) {
    let node = if with_context {
        c.data().context()
    } else {
        abi::ROOT_NODE
    };
    c.data_mut().recording().record(node, event);
}

/// Defines the memory probes in `linker`.
pub(crate) fn link<T: MemoryProbeHost>(linker: &mut Linker<T>) -> Result<()> {
    use abi::mem::*;
    let m = MODULE;
    linker.func_wrap(
        m,
        ALLOC,
        |mut c: Caller<'_, T>, addr: i64, size: i64, layer: i32| {
            let (addr, size, layer) = (addr as u64, size as u64, layer as u32);
            record(&mut c, true, Event::Alloc { addr, size, layer });
        },
    )?;
    // A free needs no context: skip reading the runtime's `cur`.
    linker.func_wrap(m, FREE, |mut c: Caller<'_, T>, addr: i64, layer: i32| {
        let (addr, layer) = (addr as u64, layer as u32);
        record(&mut c, false, Event::Free { addr, layer });
    })?;
    linker.func_wrap(
        m,
        REALLOC,
        |mut c: Caller<'_, T>, old: i64, new: i64, size: i64, layer: i32| {
            let event = Event::Realloc {
                old: old as u64,
                new: new as u64,
                size: size as u64,
                layer: layer as u32,
            };
            record(&mut c, true, event);
        },
    )?;
    linker.func_wrap(
        m,
        GROW,
        |mut c: Caller<'_, T>, result: i64, delta: i64, tracked: i32| {
            let event = Event::Grow {
                result,
                delta: delta as u64,
                tracked: tracked != 0,
            };
            record(&mut c, true, event);
        },
    )?;
    linker.func_wrap(m, GC_BEGIN, |mut c: Caller<'_, T>| {
        let now_ns = c.data().now_ns();
        record(&mut c, false, Event::GcBegin { now_ns });
    })?;
    linker.func_wrap(m, GC_END, |mut c: Caller<'_, T>, heap: i64, state: i32| {
        let now_ns = c.data().now_ns();
        record(
            &mut c,
            false,
            Event::GcEnd {
                now_ns,
                heap,
                state,
            },
        );
    })?;
    linker.func_wrap(m, GC_CYCLE, |mut c: Caller<'_, T>| {
        record(&mut c, false, Event::GcCycle);
    })?;
    Ok(())
}
