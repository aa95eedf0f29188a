//! `wprof run`: run a module natively and write its profile.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use wprof_instrument::abi::DEFAULT_NODE_CAP;
use wprof_profile::{ExitKind, Mode};

use crate::{exit, input, outputs, runner};

const AFTER_HELP: &str = "\
Examples:
  wprof run app.wasm -- --input data.txt     profile a WASI command
  wprof run --mode sample app.wasm           sample the unmodified module
  wprof run --invoke fib --arg 30 --repeat 100 lib.wasm
                                             call an export 100 times; report p50/p99
  wprof run --dir ./data::/data --env LOG=1 app.wasm

Outputs (in --out, default wprof-out/):
  flamegraph.svg  cpu.pb.gz  cpu.folded  calls.folded (instrument mode)  summary.json

CPU modes:
  instrument  Probes in every function: exact call counts per function and per
              calling context. Time per context comes from sampling the current
              context every --interval-us; per-call cost is a few ns, so very
              call-heavy code runs measurably slower (see README benchmarks).
  sample      No rewriting: the running module's stack is sampled every
              --interval-us via wasmtime epoch interruption. Bias: a sample is
              taken at the next function entry or loop header after the tick,
              time in host calls (WASI I/O) is charged to the wasm frame that
              made the call, and functions shorter than the interval are only
              seen statistically. No call counts.

Exit status:
  the guest's exit code when it exits (0 when _start or the export returns;
  codes outside 0-255 become 1), 134 when the guest traps, 124 on --timeout,
  130 on Ctrl-C, 1 when wprof fails (bad module, missing file, unknown export),
  2 on a bad command line. Every output file is written in all guest cases.";

/// Run a module on wasmtime and write its CPU profile.
#[derive(Debug, Args)]
#[command(after_help = AFTER_HELP)]
pub struct RunCommand {
    /// The module to profile: a WebAssembly binary (.wasm) or text (.wat).
    pub module: PathBuf,

    /// Arguments for the guest, after `--`.
    #[arg(last = true, value_name = "GUEST_ARGS")]
    pub guest_args: Vec<String>,

    /// Directory to write the profile into (created if missing).
    #[arg(short, long, value_name = "DIR", default_value = "wprof-out")]
    pub out: PathBuf,

    /// How CPU time is measured (see "CPU modes" below).
    #[arg(long, value_enum, default_value_t = CpuMode::Instrument)]
    pub mode: CpuMode,

    /// Sampling interval in microseconds [default: 100 for instrument, 1000 for sample].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(10..=10_000_000))]
    pub interval_us: Option<u64>,

    /// Call this export instead of `_start` (library/reactor modules; `_initialize` runs first if present).
    #[arg(long, value_name = "EXPORT")]
    pub invoke: Option<String>,

    /// Call the --invoke export N times; summary.json reports per-call latency.
    #[arg(long, value_name = "N", default_value_t = 1, requires = "invoke",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub repeat: u64,

    /// Argument for the --invoke export, one per parameter, in order (integers, hex or floats).
    #[arg(
        long = "arg",
        value_name = "VALUE",
        requires = "invoke",
        allow_hyphen_values = true
    )]
    pub args: Vec<String>,

    /// Set an environment variable for the guest (repeatable). The guest sees no host variables otherwise.
    #[arg(long, value_name = "K=V", value_parser = parse_env)]
    pub env: Vec<(String, String)>,

    /// Give the guest a host directory, at GUEST or at the same path (repeatable). Nothing else of the host filesystem is visible.
    #[arg(long, value_name = "HOST[::GUEST]", value_parser = parse_dir)]
    pub dir: Vec<(PathBuf, String)>,

    /// Stop the guest after SECS seconds (fractions allowed); the partial profile is still written.
    #[arg(long, value_name = "SECS", value_parser = parse_secs)]
    pub timeout: Option<Duration>,

    /// Calling contexts kept in instrument mode before new ones are cut at `[truncated]` (16 bytes each).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_NODE_CAP,
          value_parser = clap::value_parser!(u32).range(16..=(1 << 26)))]
    pub max_contexts: u32,

    /// Do not use wasmtime's on-disk compilation cache.
    #[arg(long)]
    pub no_cache: bool,

    /// Profile allocations and linear memory: heap.pb.gz, memory.svg,
    /// memory-peak.svg, heap-exit.wheap and `memory` in summary.json
    /// (instrument mode)
    #[arg(long)]
    pub memory: bool,

    /// Write a heap dump after the Nth call of EXPORT (repeatable; implies
    /// --memory)
    #[arg(long, value_name = "EXPORT:N", value_parser = parse_dump_at)]
    pub heap_dump_at: Vec<(String, u64)>,

    /// Write a heap dump after every N calls of the --invoke export (implies
    /// --memory)
    #[arg(long, value_name = "N", requires = "invoke",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub heap_dump_every: Option<u64>,
}

fn parse_dump_at(s: &str) -> Result<(String, u64), String> {
    let (export, n) = s
        .rsplit_once(':')
        .ok_or_else(|| format!("`{s}` is not EXPORT:N"))?;
    let n: u64 = n
        .parse()
        .ok()
        .filter(|&n| n > 0)
        .ok_or_else(|| format!("`{n}` in `{s}` is not a positive call number"))?;
    if export.is_empty() {
        return Err(format!("`{s}` names no export"));
    }
    Ok((export.to_string(), n))
}

/// See `RunCommand::mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CpuMode {
    /// Exact call counts via probes; time by sampling the current context.
    Instrument,
    /// Stack sampling of the unmodified module; no call counts.
    Sample,
}

fn parse_env(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("`{s}` is not K=V")),
    }
}

fn parse_dir(s: &str) -> Result<(PathBuf, String), String> {
    let (host, guest) = match s.split_once("::") {
        Some((h, g)) => (h, g),
        None => (s, s),
    };
    if host.is_empty() || guest.is_empty() {
        return Err(format!("`{s}` is not HOST or HOST::GUEST"));
    }
    Ok((PathBuf::from(host), guest.to_string()))
}

fn parse_secs(s: &str) -> Result<Duration, String> {
    let secs: f64 = s
        .parse()
        .map_err(|_| format!("`{s}` is not a number of seconds"))?;
    Duration::try_from_secs_f64(secs)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| format!("`{s}` is not a positive number of seconds"))
}

impl RunCommand {
    /// Runs the guest, writes the outputs, returns wprof's exit code.
    pub fn execute(self) -> Result<u8> {
        let mode = match self.mode {
            CpuMode::Instrument => Mode::Instrument,
            CpuMode::Sample => Mode::Sample,
        };
        let interval_us = self.interval_us.unwrap_or(match mode {
            Mode::Instrument => 100,
            Mode::Sample => 1000,
        });
        for (host, _) in &self.dir {
            if !host.is_dir() {
                bail!("--dir `{}` is not a directory", host.display());
            }
        }
        let memory = self.memory || !self.heap_dump_at.is_empty() || self.heap_dump_every.is_some();
        if let Some((export, _)) = self
            .heap_dump_at
            .iter()
            .find(|(e, _)| Some(e) != self.invoke.as_ref())
        {
            bail!(
                "--heap-dump-at {export}:N: dumps are taken between calls wprof makes, so EXPORT must be \
                 the --invoke export{}",
                self.invoke
                    .as_deref()
                    .map(|e| format!(" (`{e}`)"))
                    .unwrap_or_else(
                        || "; without --invoke, the exit dump is always written".to_string()
                    )
            );
        }
        let wasm = input::read_module(&self.module)?;
        let interrupt = Arc::new(AtomicBool::new(false));
        {
            let flag = interrupt.clone();
            // A second Ctrl-C while the guest sits in a blocking host call
            // gives up on the profile rather than hang.
            let _ = ctrlc::set_handler(move || {
                if flag.swap(true, Ordering::Relaxed) {
                    std::process::exit(exit::INTERRUPTED as i32);
                }
            });
        }
        let argv0 = self
            .module
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "module.wasm".to_string());
        let options = runner::Options {
            mode,
            interval: Duration::from_micros(interval_us),
            invoke: self.invoke.map(|export| runner::InvokeOptions {
                export,
                args: self.args,
                repeat: self.repeat,
            }),
            argv0,
            args: self.guest_args,
            env: self.env,
            dirs: self.dir,
            timeout: self.timeout,
            max_contexts: self.max_contexts,
            cache: !self.no_cache,
            interrupt,
            inherit_stdio: true,
            memory: memory.then(|| runner::MemoryOptions {
                dump_dir: self.out.clone(),
                dump_at: self.heap_dump_at.clone(),
                dump_every: self.heap_dump_every,
            }),
        };
        let prepared = runner::prepare(&wasm, &options)
            .with_context(|| format!("cannot profile `{}`", self.module.display()))?;
        let name = self.module.display().to_string();
        let profile = runner::run(&name, &prepared, &options)
            .with_context(|| format!("cannot profile `{}`", self.module.display()))?;
        outputs::write_all(&self.out, &profile)?;

        match profile.exit.kind {
            ExitKind::Exit => {}
            kind => {
                let what = match kind {
                    ExitKind::Trap => "guest trapped",
                    ExitKind::Timeout => "guest timed out",
                    _ => "guest interrupted",
                };
                eprintln!(
                    "wprof: {what}: {}",
                    profile.exit.message.as_deref().unwrap_or("")
                );
            }
        }
        if profile.truncated_calls > 0 {
            eprintln!(
                "wprof: warning: {} calls did not fit in the calling-context tree (--max-contexts {}); \
                 their stacks are cut at [truncated], per-function counts stay exact",
                profile.truncated_calls, self.max_contexts
            );
        }
        let mut files = vec![
            outputs::FLAMEGRAPH,
            outputs::PPROF,
            outputs::FOLDED,
            outputs::SUMMARY,
        ];
        if let Some(heap) = &profile.memory {
            files.extend([outputs::HEAP_PPROF, outputs::MEMORY_SVG, outputs::HEAP_EXIT]);
            // The finding a memory profile exists for deserves a line here.
            if let Some(alarm) = wprof_profile::heap::report::alarm(None, heap) {
                eprintln!("wprof: memory alarm: {alarm}");
            }
        }
        eprintln!(
            "wprof: profile written to {}/ ({})",
            self.out.display(),
            files.join(", ")
        );
        Ok(exit::for_guest(&profile.exit))
    }
}
