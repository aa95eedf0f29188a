//! The native sink of the output set: files in the `--out` directory.
//!
//! The directory is checked, created and locked before the guest runs, so a
//! run is never lost to an unusable `--out` and two runs cannot mix their
//! files; outputs of an earlier run are removed when the new run starts;
//! each file is written under a temporary name and renamed into place when
//! complete, so a full disk or a crash never leaves a truncated file posing
//! as a finished one.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use wprof_session::outputs::{Sink, is_output};

/// Held for the whole run; the OS releases it if wprof dies.
const LOCK: &str = ".wprof.lock";

/// Writes output files into a directory.
#[derive(Debug)]
pub struct DirSink {
    dir: PathBuf,
    _lock: File,
}

impl DirSink {
    /// Checks `dir` (creating it) and locks it for this run.
    pub fn open(dir: impl Into<PathBuf>) -> Result<DirSink> {
        let dir = dir.into();
        if dir.exists() && !dir.is_dir() {
            bail!("--out `{}` exists and is not a directory", dir.display());
        }
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("failed to create output directory `{}`", dir.display()))?;
        let path = dir.join(LOCK);
        let lock = File::create(&path)
            .with_context(|| format!("output directory `{}` is not writable", dir.display()))?;
        if let Err(e) = lock.try_lock() {
            return Err(anyhow::Error::new(e).context(format!(
                "another wprof run is writing to `{}`; choose another --out",
                dir.display()
            )));
        }
        Ok(DirSink { dir, _lock: lock })
    }

    /// Removes what an earlier run wrote here (its outputs and unfinished
    /// temporary files), so the directory never mixes two runs.
    pub fn clear_stale(&self) -> Result<()> {
        let entries = std::fs::read_dir(&self.dir)
            .with_context(|| format!("failed to read `{}`", self.dir.display()))?;
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            let stale = is_output(name) || temporary(name).is_some_and(is_output);
            if stale && entry.file_type().is_ok_and(|t| t.is_file()) {
                let path = entry.path();
                std::fs::remove_file(&path).with_context(|| {
                    format!("failed to remove `{}` of an earlier run", path.display())
                })?;
            }
        }
        Ok(())
    }

    /// `dir/`, as the closing message names it.
    pub fn location(&self) -> String {
        format!("{}/", self.dir.display())
    }

    fn partial(&self, name: &str) -> PathBuf {
        self.dir.join(format!(".{name}.partial"))
    }
}

/// The output a temporary file stands for.
fn temporary(name: &str) -> Option<&str> {
    name.strip_prefix('.')?.strip_suffix(".partial")
}

impl Sink for DirSink {
    fn peak_rss_bytes(&self) -> Option<u64> {
        crate::runner::peak_rss_bytes()
    }

    fn create(&mut self, name: &str) -> std::io::Result<Box<dyn Write + '_>> {
        Ok(Box::new(BufWriter::new(File::create(self.partial(name))?)))
    }

    fn commit(&mut self, name: &str) -> std::io::Result<()> {
        let from = self.partial(name);
        std::fs::rename(&from, self.dir.join(name)).inspect_err(|_| {
            let _ = std::fs::remove_file(&from);
        })
    }

    fn path(&self, name: &str) -> String {
        Path::new(&self.dir).join(name).display().to_string()
    }
}
