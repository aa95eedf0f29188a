//! A compute-bound program with a known hot spot, for sampling profilers.
//!
//! `hot_loop` and `cold_loop` run the same kind of serial integer-hash loop
//! (one multiply-xorshift chain, so no vectorisation), CHUNK iterations per
//! call. main calls `hot_loop` 19 times and `cold_loop` once, so `hot_loop`
//! does 19/20 = 95% of the work and `cold_loop` 5%. A sampling profiler
//! should attribute by far the most samples to `hot::hot_loop`.
//! (About 0.4 s in a native release build on a 2-core CI machine.)
//!
//! Usage: `hot [CHUNK]` (CHUNK defaults to 12_000_000). Prints `checksum = X`.
//!
//! Expected calls (see ../../../expected/hot.json):
//!   hot::main      = 1
//!   hot::hot_loop  = 19   `for r in 0..19` in main
//!   hot::cold_loop = 1
use std::hint::black_box;

#[inline(never)]
fn hot_loop(iters: u64, seed: u64) -> u64 {
    let mut h = seed;
    for i in 0..iters {
        h ^= i;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
        h ^= h >> 29;
    }
    h
}

#[inline(never)]
fn cold_loop(iters: u64, seed: u64) -> u64 {
    let mut h = seed;
    for i in 0..iters {
        h ^= i;
        h = h.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        h ^= h >> 31;
    }
    h
}

#[inline(never)]
fn main() {
    let chunk: u64 = std::env::args()
        .nth(1)
        .map(|s| s.parse().expect("CHUNK must be a non-negative integer"))
        .unwrap_or(12_000_000);
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for r in 0..19u64 {
        h = black_box(hot_loop(black_box(chunk), black_box(h ^ r)));
    }
    h = black_box(cold_loop(black_box(chunk), black_box(h)));
    println!("checksum = {h:016x}");
}
