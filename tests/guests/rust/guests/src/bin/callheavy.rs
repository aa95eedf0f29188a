//! Call-heavy benchmark: recursive Fibonacci, one call per node.
//!
//! Usage: `callheavy [N]` (N defaults to 32). Prints `fib(N) = X`.
//!
//! Expected calls for the default N = 32 (see ../../../expected/callheavy.json):
//!   callheavy::fib  = 7049155   calls(n) = 1 if n < 2 else 1 + calls(n-1) + calls(n-2)
//!                               (closed form: 2*fib(n+1) - 1 = 2*3524578 - 1)
//!   callheavy::main = 1
use std::hint::black_box;

#[inline(never)]
fn fib(n: u32) -> u64 {
    if n < 2 {
        return n as u64;
    }
    black_box(fib(black_box(n - 1))) + black_box(fib(black_box(n - 2)))
}

#[inline(never)]
fn main() {
    let n: u32 = std::env::args()
        .nth(1)
        .map(|s| s.parse().expect("N must be a non-negative integer"))
        .unwrap_or(32);
    let x = fib(black_box(n));
    println!("fib({n}) = {x}");
}
