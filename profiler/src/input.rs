//! Reading a module from disk: WebAssembly binary or text, with errors that
//! say what is wrong with the file rather than where a parser gave up.

use std::path::Path;

use anyhow::{Context, Result, bail};

/// The binary module in `path` (`.wasm`, or `.wat` text assembled here).
pub fn read_module(path: &Path) -> Result<Vec<u8>> {
    let bytes = std::fs::read(path)
        .with_context(|| format!("failed to read module `{}`", path.display()))?;
    if bytes.starts_with(b"\0asm") {
        if bytes.len() >= 8 && bytes[4..8] != [1, 0, 0, 0] {
            bail!(
                "`{}` is a WebAssembly component (or an unsupported version); wprof profiles core modules",
                path.display()
            );
        }
        return Ok(bytes);
    }
    let is_text = path.extension().is_some_and(|e| e == "wat" || e == "wast")
        || std::str::from_utf8(&bytes).is_ok_and(|s| s.trim_start().starts_with('('));
    if is_text {
        return wat::parse_bytes(&bytes)
            .map(|b| b.into_owned())
            .with_context(|| format!("failed to parse WebAssembly text `{}`", path.display()));
    }
    if bytes.is_empty() {
        bail!("`{}` is empty, not a WebAssembly module", path.display());
    }
    bail!(
        "`{}` is not a WebAssembly module: it does not start with the `\\0asm` magic and is not WebAssembly text",
        path.display()
    )
}
