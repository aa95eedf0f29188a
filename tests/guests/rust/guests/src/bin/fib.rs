//! Recursive Fibonacci.
//!
//! Usage: `fib [N]` (N defaults to 20). Prints `fib(N) = X`.
//!
//! Expected calls for the default N = 20 (see ../../../expected/fib.json):
//!   fib::fib  = 21891   calls(n) = 1 if n < 2 else 1 + calls(n-1) + calls(n-2)
//!   fib::main = 1
//!
//! `black_box` around both recursive calls (argument and result) keeps LLVM
//! from turning one of them into a loop (accumulator tail-recursion
//! elimination), which would change the count.
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
        .unwrap_or(20);
    let x = fib(black_box(n));
    println!("fib({n}) = {x}");
}
