//! The `wprof` command-line profiler: clap commands, the native wasmtime
//! runner and the writers of the output directory. The libraries under
//! `toolkit/` do the instrumenting and the profile formats; this crate is the
//! only place that knows about wasmtime, processes and exit codes.

pub mod commands;
pub mod input;
pub mod memory;
pub mod outputs;
pub mod runner;
