//! `wprof instrument`: write the instrumented artifact that the native runner
//! and the JS host both run.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;

use crate::input;
use crate::progress::{self, Progress};

const AFTER_HELP: &str = "\
Examples:
  wprof instrument app.wasm -o app.wprof.wasm
  wprof run app.wprof.wasm          (the runner detects the artifact and runs it as is)

The artifact imports `wprof.enter` and `wprof.cur` from the probe runtime and
carries a `wprof.abi` section naming the ABI version and every function.

Exit status:
  0 on success, 1 when the input cannot be read, parsed or instrumented,
  2 on a bad command line.";

/// Write an instrumented copy of a module.
#[derive(Debug, Args)]
#[command(after_help = AFTER_HELP)]
pub struct InstrumentCommand {
    /// The module to instrument (.wasm or .wat).
    pub module: PathBuf,

    /// Where to write the instrumented module.
    #[arg(short, long, value_name = "OUT.wasm")]
    pub output: PathBuf,

    /// Drop DWARF debug sections instead of rewriting them (faster on huge modules).
    #[arg(long)]
    pub strip_dwarf: bool,

    /// Also hook allocators and `memory.grow` (the artifact then imports
    /// `wprof_mem.*` too; run it with `wprof run --memory`).
    #[arg(long)]
    pub memory: bool,
}

impl InstrumentCommand {
    /// Instruments and writes the artifact.
    pub fn execute(self) -> Result<u8> {
        let wasm = input::read_module(&self.module)?;
        let mut options = wprof_instrument::Options::default();
        options.keep_dwarf = !self.strip_dwarf;
        options.memory = self.memory;
        let out = Progress::for_stderr()
            .step(
                &format!("instrumenting ({})", progress::size(wasm.len())),
                || wprof_instrument::instrument(&wasm, &options),
            )
            .with_context(|| format!("cannot instrument `{}`", self.module.display()))?;
        std::fs::write(&self.output, &out.wasm)
            .with_context(|| format!("failed to write `{}`", self.output.display()))?;
        eprintln!(
            "wprof: instrumented {} functions: {} ({} bytes, was {})",
            out.manifest.functions.len(),
            self.output.display(),
            out.wasm.len(),
            wasm.len()
        );
        Ok(0)
    }
}
