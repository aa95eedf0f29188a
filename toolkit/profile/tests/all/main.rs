//! Golden-file tests of every writer of `wprof-profile`: small profiles built
//! by hand (so every number in an output can be checked against the test
//! source), rendered by each writer and compared byte for byte with
//! `tests/golden/`. `WPROF_BLESS=1` rewrites the goldens; the review of the
//! resulting `git diff` is the test.
//!
//! Not here: profiles of real guests (the profiler's CLI tests) and timing.

mod bounds;
mod catches;
mod golden;
mod profiles;
mod writers;
