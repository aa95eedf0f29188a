//! A library with a slow leak, for `wprof run --memory --invoke handle
//! --repeat N --heap-dump-every K` and `wprof heap diff`.
//!
//! Each `handle()` call remembers one 512-byte block forever (`remember`, the
//! leak) and allocates and drops ten 128-byte scratch buffers (`scratch`).
//! Expected: the leak site gains K blocks (K * 512 bytes) between dumps K
//! calls apart; `scratch` gains none.
use std::cell::RefCell;
use std::hint::black_box;

thread_local! {
    static CACHE: RefCell<Vec<Box<[u8]>>> = const { RefCell::new(Vec::new()) };
}

#[inline(never)]
fn remember(n: usize) {
    let block = vec![n as u8; 512].into_boxed_slice();
    CACHE.with(|c| c.borrow_mut().push(block));
}

#[inline(never)]
fn scratch() -> usize {
    let mut sum = 0;
    for i in 0..10 {
        let v = black_box(vec![i as u8; 128]);
        sum += v.len();
    }
    sum
}

#[unsafe(no_mangle)]
pub extern "C" fn handle() -> i32 {
    let n = CACHE.with(|c| c.borrow().len());
    remember(n);
    scratch() as i32
}
