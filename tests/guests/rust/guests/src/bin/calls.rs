//! Exact call counts through loops, early returns, nested calls, recursion
//! (direct and mutual), a loop left early with `break`, and dynamic dispatch
//! (`call_indirect`). Every function under test is `#[inline(never)]` and its
//! arguments/results go through `black_box`, so each source-level call is one
//! wasm call (no inlining, hoisting out of loops, or recursion-to-loop).
//!
//! Expected calls (machine-readable copy: ../../../expected/calls.json):
//!   calls::main                            = 1
//!   calls::leaf                            = 1120  1000 from the loop in step 1
//!                                                  + 10 outer * 3 middle * 4 leaf = 120 (step 3)
//!   calls::early                           = 100   step 2, i in 0..100
//!   calls::odd_path                        = 50    only for odd i (even i return early)
//!   calls::outer                           = 10    step 3, i in 0..10
//!   calls::middle                          = 30    3 per outer
//!   calls::countdown                       = 11    countdown(10): n = 10, 9, ..., 0
//!   calls::is_even                         = 4     is_even(7): even(7) odd(6) even(5) odd(4)
//!   calls::is_odd                          = 4       even(3) odd(2) even(1) odd(0) -> false
//!   calls::probe                           = 33    i = 0..=32; probe(32) is the first true
//!                                                  (32*32 = 1024 >= 1000, 31*31 = 961), then break
//!   <calls::Square as calls::Shape>::area  = 3     3 of the 5 shapes are squares
//!   <calls::Rect as calls::Shape>::area    = 2     2 of the 5 shapes are rects
//!   calls::never_called                    = 0     guarded by black_box(false); present in
//!                                                  the module but never entered
//!
//! stdout:
//!   countdown(10) = 10
//!   is_even(7) = false
//!   found = 32
//!   area = 40
//!   checksum = <see expected/calls.json>
use std::hint::black_box;

#[inline(never)]
fn leaf(x: u64) -> u64 {
    x.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(7) ^ x
}

#[inline(never)]
fn odd_path(i: u64) -> u64 {
    i * 3 + 1
}

/// Returns early (without calling anything) for even `i`.
#[inline(never)]
fn early(i: u64) -> u64 {
    if black_box(i) % 2 == 0 {
        return i;
    }
    black_box(odd_path(black_box(i))) + 1
}

/// Calls `leaf` exactly 4 times.
#[inline(never)]
fn middle(x: u64) -> u64 {
    let mut acc = 0u64;
    for j in 0..4u64 {
        acc = acc.wrapping_add(black_box(leaf(black_box(x + j))));
    }
    acc
}

/// Calls `middle` exactly 3 times.
#[inline(never)]
fn outer(x: u64) -> u64 {
    let mut acc = 0u64;
    for k in 0..3u64 {
        acc = acc.wrapping_add(black_box(middle(black_box(x * 10 + k))));
    }
    acc
}

/// Direct recursion: countdown(n) makes n + 1 calls in total.
#[inline(never)]
fn countdown(n: u64) -> u64 {
    if n == 0 {
        return 0;
    }
    1 + black_box(countdown(black_box(n - 1)))
}

/// Mutual recursion with `is_odd`.
#[inline(never)]
fn is_even(n: u64) -> bool {
    if n == 0 {
        return true;
    }
    black_box(is_odd(black_box(n - 1)))
}

#[inline(never)]
fn is_odd(n: u64) -> bool {
    if n == 0 {
        return false;
    }
    black_box(is_even(black_box(n - 1)))
}

#[inline(never)]
fn probe(i: u64) -> bool {
    i * i >= 1000
}

#[inline(never)]
fn never_called() -> u64 {
    println!("never printed");
    0xdead
}

trait Shape {
    fn area(&self) -> u64;
}

struct Square(u64);
struct Rect(u64, u64);

impl Shape for Square {
    #[inline(never)]
    fn area(&self) -> u64 {
        self.0 * self.0
    }
}

impl Shape for Rect {
    #[inline(never)]
    fn area(&self) -> u64 {
        self.0 * self.1
    }
}

#[inline(never)]
fn main() {
    let mut sum = 0u64;

    // 1. A plain loop: leaf x 1000.
    for i in 0..1000u64 {
        sum = sum.wrapping_add(black_box(leaf(black_box(i))));
    }

    // 2. Early returns: early x 100, of which the 50 odd ones call odd_path.
    for i in 0..100u64 {
        sum = sum.wrapping_add(black_box(early(black_box(i))));
    }

    // 3. Nested calls: outer x 10 -> middle x 30 -> leaf x 120.
    for i in 0..10u64 {
        sum = sum.wrapping_add(black_box(outer(black_box(i))));
    }

    // 4. Direct recursion: countdown x 11.
    let c = countdown(black_box(10));
    println!("countdown(10) = {c}");
    sum = sum.wrapping_add(c);

    // 5. Mutual recursion: is_even x 4, is_odd x 4.
    let e = is_even(black_box(7));
    println!("is_even(7) = {e}");
    sum = sum.wrapping_add(e as u64);

    // 6. A loop left early: probe x 33.
    let mut found = u64::MAX;
    for i in 0..100u64 {
        if black_box(probe(black_box(i))) {
            found = i;
            break;
        }
    }
    println!("found = {found}");
    sum = sum.wrapping_add(found);

    // 7. Dynamic dispatch (call_indirect): Square::area x 3, Rect::area x 2.
    let shapes: [&dyn Shape; 5] = black_box([
        &Square(2),
        &Rect(2, 3),
        &Square(3),
        &Rect(1, 5),
        &Square(4),
    ]);
    let mut area = 0u64;
    for s in shapes {
        area += black_box(s.area());
    }
    // 2*2 + 2*3 + 3*3 + 1*5 + 4*4 = 40
    println!("area = {area}");
    sum = sum.wrapping_add(area);

    // 8. Never taken: never_called x 0.
    if black_box(false) {
        sum = sum.wrapping_add(never_called());
    }

    println!("checksum = {sum}");
}
