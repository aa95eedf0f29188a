//! wprof's integration tests: one binary, guests built once and shared.

mod cli;
mod embed;
mod errors;
mod guests;
mod memory;
mod outputs;
mod source;
mod support;
mod time;
