//! A hot `#[inline]` function that the optimizer inlines into its looping
//! caller: with DWARF, sample mode shows `scramble` as an inlined frame of
//! its own under `churn`, with its source lines.

#[inline]
fn scramble(x: u64) -> u64 {
    let x = x ^ (x << 13);
    let x = x ^ (x >> 7);
    x ^ (x << 17)
}

#[inline(never)]
fn churn(seed: u64, rounds: u64) -> u64 {
    let mut x = seed;
    for i in 0..rounds {
        x = scramble(x).wrapping_add(i);
    }
    x
}

fn main() {
    let mut acc = 1;
    for _ in 0..1500 {
        acc = churn(acc, 100_000);
    }
    println!("{acc}");
}
