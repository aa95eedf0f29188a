//! The native sink of the output set: files in the `--out` directory,
//! created when the first file is written.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

use wprof_session::outputs::Sink;

/// Writes output files into a directory.
#[derive(Debug, Clone)]
pub struct DirSink {
    dir: PathBuf,
}

impl DirSink {
    /// A sink for `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> DirSink {
        DirSink { dir: dir.into() }
    }

    /// `dir/`, as the closing message names it.
    pub fn location(&self) -> String {
        format!("{}/", self.dir.display())
    }
}

impl Sink for DirSink {
    fn create(&mut self, name: &str) -> std::io::Result<Box<dyn Write + '_>> {
        std::fs::create_dir_all(&self.dir)?;
        Ok(Box::new(BufWriter::new(File::create(self.dir.join(name))?)))
    }

    fn path(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }
}
