//! The probe runtime's shared memory from the host: the current-context and
//! host-call words (read by the sampler thread), and a copy of the tree.
//!
//! wasmtime hands shared memory out as `&[UnsafeCell<u8>]` and says it must
//! be read through atomics, cast unsafely; these functions and the signal
//! sampler (`signal.rs`) are wprof's only unsafe code, each with its reasons.
#![allow(unsafe_code)]

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use wasmtime::SharedMemory;

/// The aligned 32-bit word at `addr`, read atomically while the guest may
/// be writing it. `None` when `addr` is out of bounds or misaligned.
pub fn load_u32(memory: &SharedMemory, addr: usize) -> Option<u32> {
    let data = memory.data();
    let cell = data.get(addr..addr + 4)?;
    let ptr = cell.as_ptr() as *mut u32;
    if !ptr.is_aligned() {
        return None;
    }
    // SAFETY: the four bytes are in bounds, 4-aligned and live as long as
    // `memory` (a shared memory's base never moves); every concurrent access
    // to them is an aligned 32-bit wasm load or store, which wasmtime
    // performs as a single machine access, so an atomic load sees either
    // the old or the new value.
    Some(unsafe { AtomicU32::from_ptr(ptr) }.load(Ordering::Relaxed))
}

/// A copy of the memory's bytes, each 8-byte word read atomically, so the
/// copy is sound even if the guest still ran.
pub fn copy(memory: &SharedMemory) -> Vec<u8> {
    let data = memory.data();
    let mut out = Vec::with_capacity(data.len());
    let words = data.len() / 8;
    let base = data.as_ptr() as *mut u64;
    for i in 0..words {
        // SAFETY: in bounds, 8-aligned (the base is page-aligned), valid for
        // the lifetime of `memory`; concurrent wasm accesses are atomic
        // machine accesses (see `load_u32`).
        let w = unsafe { AtomicU64::from_ptr(base.add(i)) }.load(Ordering::Relaxed);
        out.extend_from_slice(&w.to_le_bytes());
    }
    // A shared memory's length is a whole number of 64 KiB pages.
    debug_assert_eq!(out.len(), data.len());
    out
}
