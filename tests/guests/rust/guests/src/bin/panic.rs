//! A panic three frames deep: main -> a -> b -> c, and `c` panics.
//!
//! The guest workspace builds with `panic = "abort"`, so after the standard
//! panic message on stderr the program aborts, which on wasm32-wasip1 is an
//! `unreachable` instruction: the run ends with a wasm trap, not an exit code.
//!
//! Expected calls (see ../../../expected/panic.json):
//!   panic::main = 1
//!   panic::a    = 1   called once from main
//!   panic::b    = 1   called once from a
//!   panic::c    = 1   called once from b; panics because black_box(3) < 100
//! stdout: `start` (the `done` line is never reached). Exit: trap.
use std::hint::black_box;

#[inline(never)]
fn c(x: u32) -> u32 {
    if black_box(x) < 100 {
        panic!("c panicked with x = {x}");
    }
    x * 2
}

#[inline(never)]
fn b(x: u32) -> u32 {
    black_box(c(black_box(x + 1))) + 1
}

#[inline(never)]
fn a(x: u32) -> u32 {
    black_box(b(black_box(x + 1))) + 1
}

#[inline(never)]
fn main() {
    println!("start");
    let r = a(black_box(1));
    println!("done {r}");
}
