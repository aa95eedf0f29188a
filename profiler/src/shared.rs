//! The probe runtime's memory from another thread than the guest's: the
//! current-context and host-call words (read by the sampler thread while
//! the guest runs), and a copy of the tree (when the guest cannot be
//! waited for).
//!
//! The native runner gives the runtime an unshared memory (Cranelift
//! reloads a shared memory's base on every access, which made each
//! profiled call 3 ns dearer) and reads it through its address. That is
//! sound for the same reason reading a shared memory through atomics is:
//! every access the guest makes to these words is an aligned wasm load or
//! store, which wasmtime performs as a single machine access, and wprof
//! reads them with atomic loads of the same width; and the memory does not
//! move (see [`Runtime::new`]). This and the signal sampler (`signal.rs`)
//! are wprof's only unsafe code, each with its reasons.
#![allow(unsafe_code)]

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// The runtime's memory, by address: valid as long as the store that owns
/// it, which outlives every thread that reads it (they are scoped to the
/// run, or end the process).
#[derive(Debug, Clone, Copy)]
pub struct Runtime {
    base: usize,
    len: usize,
}

impl Runtime {
    /// The runtime memory `memory` of `store`, once `init` has sized it:
    /// the runtime never grows it again, and a 32-bit memory's base never
    /// moves anyway (wasmtime reserves its whole address range).
    pub fn new(memory: &wasmtime::Memory, store: impl wasmtime::AsContext) -> Runtime {
        Runtime {
            base: memory.data_ptr(&store) as usize,
            len: memory.data_size(&store),
        }
    }

    /// The aligned 32-bit word at `addr`, read atomically while the guest
    /// may be writing it. `None` when `addr` is out of bounds or misaligned.
    pub fn load_u32(&self, addr: usize) -> Option<u32> {
        if addr.checked_add(4)? > self.len || !addr.is_multiple_of(4) {
            return None;
        }
        // SAFETY: in bounds and 4-aligned (the base is page-aligned), live
        // for as long as the store (above); every concurrent access to
        // these bytes is an aligned 32-bit wasm load or store, a single
        // machine access, so an atomic load sees the old or the new value.
        Some(unsafe { AtomicU32::from_ptr((self.base + addr) as *mut u32) }.load(Ordering::Relaxed))
    }

    /// A copy of the memory's bytes, each 8-byte word read atomically, so
    /// the copy is sound even if the guest still ran (its 64-bit counters
    /// are written whole; a node written meanwhile may be missing).
    pub fn copy(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.len);
        for i in 0..self.len / 8 {
            // SAFETY: in bounds, 8-aligned, live as above; concurrent wasm
            // accesses are single machine accesses (see `load_u32`).
            let w = unsafe { AtomicU64::from_ptr((self.base + i * 8) as *mut u64) }
                .load(Ordering::Relaxed);
            out.extend_from_slice(&w.to_le_bytes());
        }
        // A memory's length is a whole number of 64 KiB pages.
        debug_assert_eq!(out.len(), self.len);
        out
    }
}
