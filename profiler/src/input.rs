//! Reading a module file for the commands that take one; what makes a file
//! a module wprof can use is the session's to say, for every host.

use std::path::Path;

use anyhow::{Context, Result};

/// The bytes of the file at `path`.
pub fn read_file(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("failed to read module `{}`", path.display()))
}

/// The binary module in `path` (`.wasm`, or `.wat` text assembled here).
pub fn read_module(path: &Path) -> Result<Vec<u8>> {
    Ok(wprof_session::module::read(
        &read_file(path)?,
        &path.display().to_string(),
    )?)
}
