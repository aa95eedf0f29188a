//! The `wprof` command-line profiler: clap commands and the wasmtime adapter
//! of the run session (`wprof-session`), which does the instrumenting, the
//! profile and the output set; this crate is the only place that knows about
//! wasmtime, threads and processes.

pub mod cache;
pub mod commands;
pub mod input;
pub mod memory;
pub mod outputs;
pub mod progress;
pub mod runner;
mod shared;
mod signal;
