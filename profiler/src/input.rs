//! Reading a module file for the commands that take one; what makes a file
//! a module wprof can use is the session's to say, for every host.

use std::path::Path;

use anyhow::{Context, Result};

/// The bytes of the module file at `path`.
pub fn read_file(path: &Path) -> Result<Vec<u8>> {
    read_regular(path, "module")
}

/// The bytes of the regular file at `path` (`what` names it in errors). A
/// device or pipe (`/dev/zero`) would be read forever, so it is refused.
pub fn read_regular(path: &Path, what: &str) -> Result<Vec<u8>> {
    let failed = || format!("failed to read {what} `{}`", path.display());
    let meta = std::fs::metadata(path).with_context(failed)?;
    if !meta.is_file() {
        return Err(anyhow::anyhow!(
            "`{}` is not a regular file",
            path.display()
        ))
        .with_context(failed);
    }
    std::fs::read(path).with_context(failed)
}

/// The binary module in `path` (`.wasm`, or `.wat` text assembled here).
pub fn read_module(path: &Path) -> Result<Vec<u8>> {
    Ok(wprof_session::module::read(
        &read_file(path)?,
        &path.display().to_string(),
    )?)
}
