//! `wprof collect`: turn the profile a self-profiling artifact wrote into
//! the output set `wprof run` writes.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use wprof_session::cli::RunOptions;

use crate::input;
use crate::outputs::DirSink;

const AFTER_HELP: &str = "\
Examples:
  wprof instrument --embed app.wasm -o app.self.wasm
  wasmtime run --dir out::. app.self.wasm
  wprof collect out/wprof.profile --module app.self.wasm -o wprof-out

Writes flamegraph.svg, cpu.pb.gz, cpu.folded, calls.folded and summary.json
(with each export's call latency under `exports`). The artifact's calls are
exact; it measures no CPU time, so the flamegraph is sized by calls.

Exit status:
  0 on success, 1 when a file cannot be read, the profile was not written
  by this module, or an output cannot be written, 2 on a bad command line.";

/// Write the output set for the profile a `--embed` artifact wrote.
#[derive(Debug, Args)]
#[command(after_help = AFTER_HELP)]
pub struct CollectCommand {
    /// The profile file the artifact wrote (`wprof.profile`, or `WPROF_OUT`).
    pub profile: PathBuf,

    /// The artifact that wrote it (`wprof instrument --embed` output).
    #[arg(short, long, value_name = "ARTIFACT.wasm")]
    pub module: PathBuf,

    /// Output directory.
    #[arg(short, long, value_name = "DIR", default_value = wprof_session::cli::DEFAULT_OUT)]
    pub out: PathBuf,
}

impl CollectCommand {
    /// Reads both files and writes the outputs.
    pub fn execute(self) -> Result<u8> {
        let artifact = input::read_file(&self.module)?;
        let profile = input::read_regular(&self.profile, "profile")?;
        let mut sink = DirSink::open(&self.out)?;
        sink.clear_stale()?;
        let options = RunOptions::new(self.module.display().to_string());
        let (session, done) = wprof_session::collect::collect(
            &artifact,
            &profile,
            &self.profile.display().to_string(),
            options,
            &mut sink,
        )
        .with_context(|| format!("cannot collect `{}`", self.profile.display()))?;
        for line in session.closing_messages(&done, &sink.location()) {
            eprintln!("wprof: {line}");
        }
        Ok(if done.failed.is_empty() {
            0
        } else {
            wprof_session::exit::ERROR
        })
    }
}
