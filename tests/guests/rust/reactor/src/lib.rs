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
//!
//! Library-style exports taking strings and buffers, which wprof passes by
//! writing them into memory through the exported `cabi_realloc` (one call
//! per data argument per call of the export):
//!   --invoke count_vowels --arg 'str:Hello, World' -> 3
//!   --invoke checksum --arg bytes:0001feff         -> 510 (the bytes' sum)
//!   --invoke upper --arg str:hello --result str    -> HELLO (via a return area)
//!   --invoke shout --arg cstr:hey --result cstr    -> HEY!
//! The exported functions are `#[unsafe(no_mangle)]`, so their name-section
//! names are the plain export names (`fib`, `add`, `boom`).
use std::alloc::{Layout, alloc, dealloc, realloc};
use std::ffi::{CStr, CString, c_char};
use std::hint::black_box;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

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

/// The component model's allocator, as wit-bindgen's runtime defines it:
/// hosts allocate the arguments they pass through it.
///
/// # Safety
/// `old` must come from this allocator with `old_size` and `align`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cabi_realloc(
    old: *mut u8,
    old_size: usize,
    align: usize,
    new_size: usize,
) -> *mut u8 {
    if new_size == 0 {
        return align as *mut u8;
    }
    // SAFETY: the caller's contract; align is a power of two in the ABI.
    let ptr = unsafe {
        if old_size == 0 {
            alloc(Layout::from_size_align_unchecked(new_size, align))
        } else {
            realloc(
                old,
                Layout::from_size_align_unchecked(old_size, align),
                new_size,
            )
        }
    };
    if ptr.is_null() {
        std::process::abort();
    }
    ptr
}

/// # Safety
/// `ptr..ptr + len` must be readable.
unsafe fn text<'a>(ptr: *const u8, len: usize) -> &'a [u8] {
    // SAFETY: the caller's contract.
    unsafe { std::slice::from_raw_parts(ptr, len) }
}

/// Borrows its argument: the host's copy stays allocated.
///
/// # Safety
/// `ptr..ptr + len` must be readable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn count_vowels(ptr: *const u8, len: usize) -> i32 {
    // SAFETY: the caller's contract.
    let s = unsafe { text(ptr, len) };
    s.iter()
        .filter(|c| b"aeiouAEIOU".contains(c))
        .count() as i32
}

/// # Safety
/// `ptr..ptr + len` must be readable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn checksum(ptr: *const u8, len: usize) -> i32 {
    // SAFETY: the caller's contract.
    unsafe { text(ptr, len) }
        .iter()
        .map(|&b| b as i32)
        .sum()
}

/// Where `upper` returns its (pointer, length), as the canonical ABI
/// returns a string: the one i32 result points here.
static RETURN_AREA: [AtomicU32; 2] = [AtomicU32::new(0), AtomicU32::new(0)];
/// `upper`'s last result, kept alive until the next call.
static UPPER: Mutex<Vec<u8>> = Mutex::new(Vec::new());

/// Takes ownership of its argument (frees it, as a canonical-ABI callee
/// does) and returns it in upper case through [`RETURN_AREA`].
///
/// # Safety
/// `ptr..ptr + len` must be an allocation of `cabi_realloc` with align 1.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn upper(ptr: *mut u8, len: usize) -> *const AtomicU32 {
    // SAFETY: the caller's contract.
    let out = unsafe { text(ptr, len) }.to_ascii_uppercase();
    if len > 0 {
        // SAFETY: allocated by `cabi_realloc(0, 0, 1, len)`.
        unsafe { dealloc(ptr, Layout::from_size_align_unchecked(len, 1)) };
    }
    let mut kept = UPPER.lock().unwrap_or_else(|e| e.into_inner());
    *kept = out;
    RETURN_AREA[0].store(kept.as_ptr() as u32, Ordering::Relaxed);
    RETURN_AREA[1].store(kept.len() as u32, Ordering::Relaxed);
    RETURN_AREA.as_ptr()
}

/// `shout`'s last result, kept alive until the next call.
static SHOUT: Mutex<Option<CString>> = Mutex::new(None);

/// A C string in, the same in upper case with `!`, as a C string out.
///
/// # Safety
/// `s` must point at a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn shout(s: *const c_char) -> *const c_char {
    // SAFETY: the caller's contract.
    let mut out = unsafe { CStr::from_ptr(s) }.to_bytes().to_ascii_uppercase();
    out.push(b'!');
    let mut kept = SHOUT.lock().unwrap_or_else(|e| e.into_inner());
    let c = kept.insert(CString::new(out).expect("no NUL inside a C string"));
    c.as_ptr()
}
