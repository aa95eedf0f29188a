//! wprof-instrument's integration tests, one binary: what the rewrite emits
//! (`golden`: `.wat` in, checked `.wat` out) and that it changes nothing a
//! module computes (`differential`: random modules run before and after),
//! and that damaged input is refused as input (`mutated`).
//!
//! ```text
//! cargo test --release -p wprof-instrument --test all
//! WPROF_BLESS=1 cargo test --release -p wprof-instrument --test all golden
//! ```

mod differential;
mod golden;
mod mutated;
mod runtime;
