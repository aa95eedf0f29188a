//! wprof's integration tests: one binary, guests built once and shared.

mod cli;
mod differential;
mod errors;
mod guests;
mod outputs;
mod support;
