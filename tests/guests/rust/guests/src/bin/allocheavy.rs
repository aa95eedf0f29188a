//! An allocation-heavy program for the `--memory` overhead benchmark: builds
//! and drops many small strings and vectors, the way parsers and request
//! handlers do. Usage: `allocheavy [ROUNDS]` (default 200).
//!
//! Per round: 1000 `String`s (one allocation each, plus growth reallocs for
//! some), collected into a `Vec` (a few reallocs), then all freed.
use std::hint::black_box;

#[inline(never)]
fn round(r: usize) -> usize {
    let mut v = Vec::new();
    for i in 0..1000 {
        v.push(format!("item-{r}-{i}"));
    }
    v.iter().map(|s| s.len()).sum()
}

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(200);
    let mut total = 0;
    for r in 0..rounds {
        total += black_box(round(r));
    }
    println!("total = {total}");
}
