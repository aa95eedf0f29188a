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
  wprof instrument --embed app.wasm -o app.self.wasm
  wasmtime run --dir out::. app.self.wasm
  wprof collect out/wprof.profile --module app.self.wasm

The artifact imports the probe runtime (`wprof.enter`, …) and carries a
`wprof.abi` section naming the ABI version and every function.

With --embed the runtime is inside the artifact (in a second memory, so
hosts need multi-memory, as wasmtime has; --counts-only keeps per-function
counts in globals instead, for any host, Node 20 included): it imports only
WASI and what the module imported, and writes its profile itself when
`_start` returns, at `proc_exit`, every --dump-every N export calls and
when the host calls the exported `wprof_dump`. The file is `wprof.profile`,
or `WPROF_OUT` from the guest's environment, in the first preopened
directory; hosts with no filesystem read it through
`wprof_profile_len`/`wprof_profile_copy(dst)`. Every exported function's
calls are timed (a latency histogram each). With --memory, allocations are
counted per calling context.

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

    /// Link the profiler into the artifact: a self-profiling module for
    /// hosts you can't change (read its profile with `wprof collect`).
    #[arg(long)]
    pub embed: bool,

    /// With --embed: import WASI to time calls and write the profile even
    /// when the module itself imports no WASI (its host must link WASI
    /// preview1). Without it such a module gets no new imports: exact
    /// counts, read through `wprof_profile_len`/`wprof_profile_ptr`.
    #[arg(long, requires = "embed")]
    pub wasi: bool,

    /// With --embed: keep exact calls per function (no calling contexts)
    /// and per-export call count, mean and maximum time, in globals: for
    /// hosts without multi-memory, such as Node 20.
    #[arg(long, requires = "embed", conflicts_with = "memory")]
    pub counts_only: bool,

    /// With --embed: also write the profile after every N calls of the
    /// module's exports (together), for services that never exit.
    #[arg(long, value_name = "N", requires = "embed", value_parser = clap::value_parser!(u64).range(1..))]
    pub dump_every: Option<u64>,

    /// Calling contexts an --embed artifact keeps before new ones are cut
    /// at `[truncated]` (16 bytes each, allocated lazily).
    #[arg(long, value_name = "N", default_value_t = wprof_instrument::abi::DEFAULT_NODE_CAP, requires = "embed")]
    pub max_contexts: u32,
}

impl InstrumentCommand {
    /// Instruments and writes the artifact.
    pub fn execute(self) -> Result<u8> {
        let wasm = input::read_module(&self.module)?;
        let mut options = wprof_instrument::Options::default();
        options.keep_dwarf = !self.strip_dwarf;
        options.memory = self.memory;
        options.embed = self.embed.then_some(wprof_instrument::embed::Embed {
            tier: if self.counts_only {
                wprof_instrument::embed::Tier::Counts
            } else {
                wprof_instrument::embed::Tier::Contexts(self.max_contexts)
            },
            wasi: self.wasi,
            dump_every: self.dump_every,
        });
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
