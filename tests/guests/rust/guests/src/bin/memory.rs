//! Memory profiling guest: a planted leak, alloc/free churn and a raw
//! `memory.grow` outside any allocator.
//!
//! Expected with `wprof run --memory` (asserted by profiler/tests/all/memory.rs):
//! - `memory::leak` allocates LEAKED blocks of LEAK_SIZE bytes and keeps them:
//!   in-use bytes = 100 * 1000 on stacks through `memory::leak`.
//! - `memory::churn` allocates and frees CHURN blocks of 64 bytes: 1000
//!   allocations, 1000 frees, nothing live.
//! - `memory::raw_grow` grows linear memory by 3 pages itself: untracked
//!   growth = 3 * 65536 bytes.
use std::hint::black_box;

const LEAKED: usize = 100;
const LEAK_SIZE: usize = 1000;
const CHURN: usize = 1000;

#[inline(never)]
fn leak() {
    for i in 0..LEAKED {
        let block: &'static mut [u8] = Box::leak(vec![i as u8; LEAK_SIZE].into_boxed_slice());
        black_box(block);
    }
}

#[inline(never)]
fn churn() {
    for i in 0..CHURN {
        let v = vec![i as u8; 64];
        black_box(&v);
    }
}

#[inline(never)]
fn raw_grow() {
    #[cfg(target_arch = "wasm32")]
    {
        let old = core::arch::wasm32::memory_grow(0, black_box(3));
        black_box(old);
    }
}

fn main() {
    leak();
    churn();
    raw_grow();
    println!("memory guest done");
}
