//! Exit with a non-zero code from inside a nested function.
//!
//! main calls `work` 5 times, prints the sum, then calls `quit(3)`, which
//! calls `std::process::exit(3)` (WASI `proc_exit(3)`).
//!
//! Expected calls (see ../../../expected/exit.json):
//!   exit::main = 1
//!   exit::work = 5   loop `for i in 0..5` in main
//!   exit::quit = 1   called once after the loop; never returns
//! stdout: `acc = 60` then `quitting`. Exit code: 3.
//! acc = sum over i in 0..5 of work(i) = (i+1)*(i+1) + 1 = 2+5+10+17+26 = 60.
use std::hint::black_box;

#[inline(never)]
fn work(i: u64) -> u64 {
    let x = black_box(i) + 1;
    x * x + 1
}

#[inline(never)]
fn quit(code: i32) -> ! {
    println!("quitting");
    std::process::exit(black_box(code))
}

#[inline(never)]
fn main() {
    let mut acc = 0u64;
    for i in 0..5u64 {
        acc += black_box(work(black_box(i)));
    }
    println!("acc = {acc}");
    quit(black_box(3));
}
