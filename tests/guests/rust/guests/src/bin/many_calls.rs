//! Very many calls to one tiny function, to check that the profiler's memory
//! stays bounded (it must aggregate, not record every call).
//!
//! Usage: `many_calls [N]` (N defaults to 100_000_000). Prints `sum = S`.
//!
//! Expected calls for the default N = 100_000_000 (see ../../../expected/many_calls.json):
//!   many_calls::tick = 100000000   once per loop iteration `for i in 0..N`
//!   many_calls::main = 1
//! tick(i) = i & 1, so S = N / 2 (rounded down) = 50000000.
use std::hint::black_box;

#[inline(never)]
fn tick(i: u64) -> u64 {
    i & 1
}

#[inline(never)]
fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .map(|s| s.parse().expect("N must be a non-negative integer"))
        .unwrap_or(100_000_000);
    let mut sum = 0u64;
    for i in 0..n {
        sum += black_box(tick(black_box(i)));
    }
    println!("sum = {sum}");
}
