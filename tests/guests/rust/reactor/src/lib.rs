//! A WASI reactor module (cdylib for wasm32-wasip1): it exports `_initialize`
//! and the functions below, and has no `_start`. Used with `wprof run
//! reactor.wasm --invoke NAME --arg ...`.
//!
//! Expected calls per run (see ../../expected/reactor.json), in addition to
//! `_initialize` = 1 (the host calls it once before the export; it calls the
//! linker-made `__wasm_call_ctors` once):
//!   --invoke fib --arg 10   -> returns 55;  fib = 1, reactor::fib_rec = 177
//!                              (calls(n) = 1 if n < 2 else 1 + calls(n-1) + calls(n-2))
//!   --invoke fib --arg 20   -> returns 6765; fib = 1, reactor::fib_rec = 21891
//!   --invoke add --arg 2 --arg 3 -> returns 5; add = 1
//!   --invoke boom           -> traps (unreachable); boom = 1
//! The exported functions are `#[unsafe(no_mangle)]`, so their name-section
//! names are the plain export names (`fib`, `add`, `boom`).
use std::hint::black_box;

// Stable rustc links a wasm32-wasip1 cdylib without wasi-libc's
// crt1-reactor.o (`-Z wasi-exec-model=reactor` is nightly-only), and wasm-ld
// then wraps every export in a `NAME.command_export` shim that runs the
// constructors around each call. Defining `_initialize` here (what
// crt1-reactor.o does) makes this a proper reactor: the host calls
// `_initialize` once, then the exports are the plain functions below.
#[cfg(target_arch = "wasm32")]
unsafe extern "C" {
    fn __wasm_call_ctors();
}

#[cfg(target_arch = "wasm32")]
#[unsafe(no_mangle)]
pub extern "C" fn _initialize() {
    // SAFETY: linker-synthesised; the host calls `_initialize` once, first.
    unsafe { __wasm_call_ctors() }
}

/// The recursive worker; not exported, so it shows as `reactor::fib_rec`.
#[inline(never)]
fn fib_rec(n: i32) -> i32 {
    if n < 2 {
        return n;
    }
    black_box(fib_rec(black_box(n - 1))) + black_box(fib_rec(black_box(n - 2)))
}

#[unsafe(no_mangle)]
pub extern "C" fn fib(n: i32) -> i32 {
    fib_rec(black_box(n))
}

#[unsafe(no_mangle)]
pub extern "C" fn add(a: i64, b: i64) -> i64 {
    a.wrapping_add(b)
}

#[unsafe(no_mangle)]
pub extern "C" fn boom() -> i32 {
    // A bare `unreachable` instruction: the call traps.
    #[cfg(target_arch = "wasm32")]
    core::arch::wasm32::unreachable();
    // (Lets the workspace also build natively, e.g. to time `hot`.)
    #[cfg(not(target_arch = "wasm32"))]
    std::process::abort();
}
