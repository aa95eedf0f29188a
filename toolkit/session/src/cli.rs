//! The command line of `run`, defined once for every host: the flags, their
//! help, the help text's sections and the checks and messages for their
//! values. `wprof` builds its clap command from [`RUN_FLAGS`]; `wprof-node`
//! builds Node's `util.parseArgs` options from the same table (as JSON, via
//! the wasm toolkit). Both hand the strings they parsed to
//! [`RunOptions::from_args`], so a value is accepted, refused and explained
//! the same way on every host.
//!
//! ```
//! use wprof_session::cli::{Args, Host, RunOptions};
//! let mut args = Args::new("fib.wasm");
//! args.push("invoke", "fib");
//! args.push("arg", "30");
//! let o = RunOptions::from_args(&args, Host::Native).unwrap();
//! assert_eq!(o.invoke.unwrap().args, ["30"]);
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use wprof_profile::Mode;

use crate::invoke::ResultForm;
use crate::outputs;

/// Which host parses the command line: some flags need an engine feature
/// only one host has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Host {
    /// `wprof` on wasmtime.
    Native,
    /// `wprof-node`.
    Node,
}

/// One flag of `run`.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Flag {
    /// `--long`.
    pub long: &'static str,
    /// `-s`.
    pub short: Option<char>,
    /// The value's name in help (`DIR`); `None` for a switch.
    pub value: Option<&'static str>,
    /// Repeatable.
    pub multiple: bool,
    /// Values may start with `-` (negative numbers).
    pub hyphen_values: bool,
    /// Shown as `[default: …]`.
    pub default: Option<&'static str>,
    /// The help line.
    pub help: &'static str,
    /// Why Node cannot honour it; `None` when it can.
    pub native_only: Option<&'static str>,
}

const fn flag(long: &'static str, value: Option<&'static str>, help: &'static str) -> Flag {
    Flag {
        long,
        short: None,
        value,
        multiple: false,
        hyphen_values: false,
        default: None,
        help,
        native_only: None,
    }
}

/// Calling-context capacities the probe runtime's 32-bit arithmetic can
/// size (`--max-contexts`).
pub const MAX_CONTEXTS: std::ops::RangeInclusive<u32> = 16..=(1 << 26);

/// Default output directory.
pub const DEFAULT_OUT: &str = "wprof-out";

/// The flags of `run`, in help order.
pub const RUN_FLAGS: &[Flag] = &[
    Flag {
        short: Some('o'),
        default: Some(DEFAULT_OUT),
        ..flag(
            "out",
            Some("DIR"),
            "Directory to write the profile into (created if missing)",
        )
    },
    Flag {
        default: Some("instrument"),
        ..flag(
            "mode",
            Some("MODE"),
            "How CPU time is measured: instrument or sample (see \"CPU modes\" below)",
        )
    },
    Flag {
        ..flag(
            "interval-us",
            Some("N"),
            "Sampling interval in microseconds [default: 100 for instrument, 1000 for sample]",
        )
    },
    flag(
        "invoke",
        Some("EXPORT"),
        "Call this export instead of `_start` (library/reactor modules; `_initialize` runs first if present); \
         the last call's results are printed after the guest's output",
    ),
    Flag {
        default: Some("1"),
        ..flag(
            "repeat",
            Some("N"),
            "Call the --invoke export N times; summary.json reports per-call latency",
        )
    },
    Flag {
        multiple: true,
        hyphen_values: true,
        ..flag(
            "arg",
            Some("VALUE"),
            "Argument for the --invoke export, in order: a number (integer, hex or float) per parameter, or data \
             written into the module's memory through its own allocator (cabi_realloc, malloc or __wbindgen_malloc) \
             before each call: str:TEXT or bytes:HEX (two i32 parameters, pointer and length), cstr:TEXT (one, \
             pointer to NUL-terminated text)",
        )
    },
    flag(
        "result",
        Some("FORM"),
        "Read the --invoke export's result as text and print it: str (a pointer and length, returned as two \
         i32s or in a return area the one i32 result points at) or cstr (one i32 pointing at NUL-terminated text)",
    ),
    Flag {
        multiple: true,
        ..flag(
            "env",
            Some("K=V"),
            "Set an environment variable for the guest (repeatable). The guest sees no host variables otherwise",
        )
    },
    Flag {
        multiple: true,
        ..flag(
            "dir",
            Some("HOST[::GUEST]"),
            "Give the guest a host directory, at GUEST or at the same path (repeatable). Nothing else of the host filesystem is visible",
        )
    },
    Flag {
        native_only: Some("wprof-node cannot stop a running guest"),
        ..flag(
            "timeout",
            Some("SECS"),
            "Stop the guest after SECS seconds (fractions allowed); the partial profile is still written",
        )
    },
    Flag {
        default: Some("1048576"),
        ..flag(
            "max-contexts",
            Some("N"),
            "Calling contexts kept in instrument mode before new ones are cut at `[truncated]` (16 bytes each)",
        )
    },
    flag("no-cache", None, "Do not use the on-disk compilation cache"),
    flag(
        "debug-file",
        Some("FILE"),
        "DWARF for a stripped module, in a separate file (the unstripped module, or its .debug_* sections alone): source files and lines in the profile",
    ),
    flag(
        "memory",
        None,
        "Profile allocations and linear memory (instrument mode): the memory files listed under Outputs, and `memory` in summary.json",
    ),
    Flag {
        multiple: true,
        ..flag(
            "heap-dump-at",
            Some("EXPORT:N"),
            "Write a heap dump after the Nth call of EXPORT (repeatable; implies --memory)",
        )
    },
    flag(
        "heap-dump-every",
        Some("N"),
        "Write a heap dump after every N calls of the --invoke export (implies --memory)",
    ),
];

/// One line about `run`.
pub const RUN_ABOUT: &str = "Run a module and write its CPU (and with --memory, heap) profile";
/// Help of the module argument.
pub const MODULE_HELP: &str = "The module to profile: a WebAssembly binary (.wasm), text (.wat) or an artifact of `wprof instrument`";
/// Help of the guest arguments.
pub const GUEST_ARGS_HELP: &str = "Arguments for the guest, after `--`";

/// The sections after the flags in `run --help`: examples, outputs, CPU
/// modes and exit status. The outputs come from the output table and the
/// exit status from the exit-code table, so help cannot drift from them.
pub fn run_after_help() -> String {
    let width = outputs::FILES
        .iter()
        .map(|f| f.name.len())
        .max()
        .unwrap_or(0)
        + 2;
    let files: Vec<String> = outputs::FILES
        .iter()
        .map(|f| format!("  {:<width$}{}", f.name, f.about))
        .collect();
    format!(
        "Examples:
  wprof run app.wasm -- --input data.txt     profile a WASI command
  wprof run --mode sample app.wasm           sample the unmodified module
  wprof run --invoke fib --arg 30 --repeat 100 lib.wasm
                                             call an export 100 times; report p50/p99
  wprof run --invoke render --arg 'str:digraph {{ a -> b }}' --result str lib.wasm
                                             pass a string, print the string returned
  wprof run --memory app.wasm                also profile allocations and linear memory
  wprof run --dir ./data::/data --env LOG=1 app.wasm

Outputs (in --out, default {DEFAULT_OUT}/):
{}

CPU modes:
  instrument  Probes in every function: exact call counts per function and per
              calling context. Time per context comes from sampling the current
              context every --interval-us; per-call cost is a few ns, so very
              call-heavy code runs measurably slower (see README benchmarks).
  sample      No rewriting: a timer signal interrupts the running module every
              --interval-us at any instruction and its stack is walked; time
              in host calls (WASI I/O) is a frame under the function that made
              the call; with DWARF, samples carry source lines and inlined
              frames. Functions shorter than the interval are only seen
              statistically. No call counts. (Off x86-64 Linux: wasmtime epochs,
              which sample only at function entries and loop headers.)

{}",
        files.join("\n"),
        crate::exit::HELP
    )
}

/// `run --help` for hosts that do not use clap (`wprof-node`), laid out as
/// clap lays out `wprof run --help`, from the same flags and sections. Flags
/// `host` cannot honour say why.
pub fn help(program: &str, host: Host) -> String {
    let mut rows: Vec<(String, String)> = RUN_FLAGS
        .iter()
        .map(|f| {
            let short = f.short.map_or("    ".to_string(), |c| format!("-{c}, "));
            let value = f.value.map_or(String::new(), |v| format!(" <{v}>"));
            let mut help = f.help.to_string();
            if let Some(d) = f.default {
                help.push_str(&format!(" [default: {d}]"));
            }
            if let (Host::Node, Some(why)) = (host, f.native_only) {
                help.push_str(&format!(" (not in Node: {why})"));
            }
            (format!("{short}--{}{value}", f.long), help)
        })
        .collect();
    rows.push(("-h, --help".into(), "Print help".into()));
    let width = rows.iter().map(|(h, _)| h.len()).max().unwrap_or(0) + 2;
    let options: Vec<String> = rows
        .iter()
        .map(|(h, help)| format!("  {h:<width$}{help}"))
        .collect();
    format!(
        "{RUN_ABOUT}\n\nUsage: {program} run [OPTIONS] <MODULE> [-- [GUEST_ARGS]...]\n\n\
         Arguments:\n  <MODULE>         {MODULE_HELP}\n  [GUEST_ARGS]...  {GUEST_ARGS_HELP}\n\n\
         Options:\n{}\n\n{}",
        options.join("\n"),
        run_after_help()
    )
}

/// The strings a host's parser found: each flag's values in order (a switch
/// has one empty value), the module and the guest arguments.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Args {
    /// The module path as given.
    pub module: String,
    /// Everything after `--`.
    #[serde(default)]
    pub guest_args: Vec<String>,
    /// `long` → values.
    #[serde(default)]
    pub values: BTreeMap<String, Vec<String>>,
}

impl Args {
    /// No flags yet.
    pub fn new(module: impl Into<String>) -> Args {
        Args {
            module: module.into(),
            ..Args::default()
        }
    }

    /// Adds one occurrence of `--long value` (`""` for a switch).
    pub fn push(&mut self, long: &str, value: impl Into<String>) {
        self.values
            .entry(long.to_string())
            .or_default()
            .push(value.into());
    }

    fn one(&self, long: &str) -> Result<Option<&str>, UsageError> {
        match self.values.get(long).map(Vec::as_slice) {
            None | Some([]) => Ok(None),
            Some([v]) => Ok(Some(v)),
            Some(_) => Err(UsageError(format!(
                "the argument '{}' cannot be used multiple times",
                spelled(long)
            ))),
        }
    }

    fn all(&self, long: &str) -> &[String] {
        self.values.get(long).map_or(&[], Vec::as_slice)
    }

    fn set(&self, long: &str) -> bool {
        self.values.contains_key(long)
    }
}

/// A bad command line (exit 2). The message is clap's wording.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// What a run was asked to do, host-neutral.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunOptions {
    /// The module as the user named it.
    pub module: String,
    /// Guest arguments after `argv[0]`.
    pub guest_args: Vec<String>,
    /// Output directory.
    pub out: String,
    /// CPU mode.
    pub mode: Mode,
    /// Sampling interval.
    pub interval_ns: u64,
    /// `--invoke`.
    pub invoke: Option<InvokeOptions>,
    /// Guest environment.
    pub env: Vec<(String, String)>,
    /// Preopened directories: host path, guest path.
    pub dirs: Vec<(String, String)>,
    /// `--timeout`.
    pub timeout_ns: Option<u64>,
    /// Calling-context capacity.
    pub max_contexts: u32,
    /// Use the compilation cache.
    pub cache: bool,
    /// `--memory` and dump points.
    pub memory: Option<MemoryOptions>,
    /// `--debug-file`: the module's DWARF in a separate file, which the
    /// host reads and hands to [`crate::Session::with_debug`].
    #[serde(default)]
    pub debug_file: Option<String>,
    /// The host runs modules with several memories (wasmtime): instrument
    /// with the probe runtime linked into the artifact, which makes each
    /// profiled call cheaper. Set from the host, not the command line.
    #[serde(default)]
    pub link_runtime: bool,
    /// With `link_runtime`: the linked runtime's memory is shared, for a
    /// sampler that reads it from a JS Worker. Set from the host.
    #[serde(default)]
    pub link_shared: bool,
}

/// `--invoke EXPORT --arg … --repeat N --result FORM`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvokeOptions {
    /// Export to call.
    pub export: String,
    /// Arguments as written; parsed by the export's parameter types (see
    /// [`crate::invoke`] for data arguments).
    pub args: Vec<String>,
    /// Number of calls.
    pub repeat: u64,
    /// `--result`: read the result as text.
    #[serde(default)]
    pub result: Option<ResultForm>,
}

/// `--memory` and its dump points.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemoryOptions {
    /// `EXPORT:N`: dump after the Nth call of EXPORT.
    pub dump_at: Vec<(String, u64)>,
    /// Dump after every N calls of the `--invoke` export.
    pub dump_every: Option<u64>,
}

impl MemoryOptions {
    /// Whether a dump is due after call `n` of `export`.
    pub fn dump_due(&self, export: &str, n: u64) -> bool {
        self.dump_at.iter().any(|(e, k)| e == export && *k == n)
            || self.dump_every.is_some_and(|k| n.is_multiple_of(k))
    }
}

impl RunOptions {
    /// Default options for `module` (what `run MODULE` means).
    pub fn new(module: impl Into<String>) -> RunOptions {
        RunOptions::for_host(module, Host::Native)
    }

    /// Default options for `module` on `host`.
    pub fn for_host(module: impl Into<String>, host: Host) -> RunOptions {
        RunOptions::from_args(&Args::new(module), host).expect("defaults are valid")
    }

    /// Checks and converts what a host's parser found.
    pub fn from_args(args: &Args, host: Host) -> Result<RunOptions, UsageError> {
        for long in args.values.keys() {
            let Some(f) = RUN_FLAGS.iter().find(|f| f.long == long) else {
                return Err(UsageError(format!("unexpected argument '--{long}' found")));
            };
            if let (Host::Node, Some(why)) = (host, f.native_only) {
                return Err(UsageError(format!(
                    "--{long} is not available in Node: {why}"
                )));
            }
        }
        let mode = match args.one("mode")? {
            None | Some("instrument") => Mode::Instrument,
            Some("sample") if host == Host::Node => {
                return Err(UsageError(
                    "--mode sample is not available in Node (no sampler); use `wprof run --mode sample`"
                        .into(),
                ));
            }
            Some("sample") => Mode::Sample,
            Some(v) => {
                return Err(invalid(
                    "mode",
                    v,
                    "[possible values: instrument, sample]".into(),
                ));
            }
        };
        let interval_us = args
            .one("interval-us")?
            .map(|v| integer("interval-us", v, 10, 10_000_000))
            .transpose()?
            .unwrap_or(match mode {
                Mode::Instrument => 100,
                Mode::Sample => 1000,
            });
        let invoke = args.one("invoke")?;
        for dependent in ["repeat", "arg", "result", "heap-dump-every"] {
            if invoke.is_none() && args.set(dependent) {
                return Err(UsageError(format!(
                    "the argument '{}' requires '--invoke <EXPORT>'",
                    spelled(dependent)
                )));
            }
        }
        let repeat = args
            .one("repeat")?
            .map(|v| integer("repeat", v, 1, u64::MAX))
            .transpose()?
            .unwrap_or(1);
        let result = match args.one("result")? {
            None => None,
            Some("str") => Some(ResultForm::Str),
            Some("cstr") => Some(ResultForm::Cstr),
            Some(v) => {
                return Err(invalid("result", v, "[possible values: str, cstr]".into()));
            }
        };
        let env = args
            .all("env")
            .iter()
            .map(|v| match v.split_once('=') {
                Some((k, val)) if !k.is_empty() => Ok((k.to_string(), val.to_string())),
                _ => Err(invalid("env", v, format!("`{v}` is not K=V"))),
            })
            .collect::<Result<_, _>>()?;
        let dirs = args
            .all("dir")
            .iter()
            .map(|v| {
                let (h, g) = v.split_once("::").unwrap_or((v, v));
                if h.is_empty() || g.is_empty() {
                    return Err(invalid(
                        "dir",
                        v,
                        format!("`{v}` is not HOST or HOST::GUEST"),
                    ));
                }
                Ok((h.to_string(), g.to_string()))
            })
            .collect::<Result<_, _>>()?;
        let timeout_ns = args
            .one("timeout")?
            .map(|v| {
                v.parse::<f64>()
                    .ok()
                    .filter(|s| s.is_finite() && *s > 0.0 && *s < 1e9)
                    .map(|s| ((s * 1e9) as u64).max(1))
                    .ok_or_else(|| {
                        invalid(
                            "timeout",
                            v,
                            format!("`{v}` is not a positive number of seconds"),
                        )
                    })
            })
            .transpose()?;
        let max_contexts = args
            .one("max-contexts")?
            .map(|v| {
                let (min, max) = (*MAX_CONTEXTS.start(), *MAX_CONTEXTS.end());
                integer("max-contexts", v, min.into(), max.into())
            })
            .transpose()?
            .map_or(wprof_instrument::abi::DEFAULT_NODE_CAP, |n| n as u32);
        let dump_at = args
            .all("heap-dump-at")
            .iter()
            .map(|v| parse_dump_at(v).map_err(|why| invalid("heap-dump-at", v, why)))
            .collect::<Result<Vec<_>, _>>()?;
        let dump_every = args
            .one("heap-dump-every")?
            .map(|v| integer("heap-dump-every", v, 1, u64::MAX))
            .transpose()?;
        let memory = (args.set("memory") || !dump_at.is_empty() || dump_every.is_some()).then_some(
            MemoryOptions {
                dump_at,
                dump_every,
            },
        );
        Ok(RunOptions {
            module: args.module.clone(),
            guest_args: args.guest_args.clone(),
            out: args.one("out")?.unwrap_or(DEFAULT_OUT).to_string(),
            mode,
            interval_ns: interval_us * 1000,
            invoke: invoke.map(|export| InvokeOptions {
                export: export.to_string(),
                args: args.all("arg").to_vec(),
                repeat,
                result,
            }),
            env,
            dirs,
            timeout_ns,
            max_contexts,
            cache: !args.set("no-cache"),
            memory,
            debug_file: args.one("debug-file")?.map(str::to_string),
            link_runtime: host == Host::Native,
            link_shared: false,
        })
    }
}

/// `--long <VALUE>` as clap spells a flag in messages.
fn spelled(long: &str) -> String {
    match RUN_FLAGS
        .iter()
        .find(|f| f.long == long)
        .and_then(|f| f.value)
    {
        Some(v) => format!("--{long} <{v}>"),
        None => format!("--{long}"),
    }
}

fn invalid(long: &str, value: &str, why: String) -> UsageError {
    UsageError(format!(
        "invalid value '{value}' for '{}': {why}",
        spelled(long)
    ))
}

fn integer(long: &str, v: &str, min: u64, max: u64) -> Result<u64, UsageError> {
    let n: u64 = v.parse().map_err(|e| invalid(long, v, format!("{e}")))?;
    if n < min || n > max {
        let range = if max == u64::MAX {
            format!("{min}..")
        } else {
            format!("{min}..={max}")
        };
        return Err(invalid(long, v, format!("{n} is not in {range}")));
    }
    Ok(n)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(flags: &[(&str, &str)], host: Host) -> Result<RunOptions, String> {
        let mut a = Args::new("m.wasm");
        for (k, v) in flags {
            a.push(k, *v);
        }
        RunOptions::from_args(&a, host).map_err(|e| e.0)
    }

    #[test]
    fn values_are_checked_with_clap_wording() {
        let e = parse(&[("env", "NOEQ")], Host::Native).unwrap_err();
        assert_eq!(
            e,
            "invalid value 'NOEQ' for '--env <K=V>': `NOEQ` is not K=V"
        );
        let e = parse(&[("interval-us", "5")], Host::Native).unwrap_err();
        assert_eq!(
            e,
            "invalid value '5' for '--interval-us <N>': 5 is not in 10..=10000000"
        );
        let e = parse(&[("repeat", "3")], Host::Native).unwrap_err();
        assert_eq!(
            e,
            "the argument '--repeat <N>' requires '--invoke <EXPORT>'"
        );
        let e = parse(&[("heap-dump-at", "f:0")], Host::Native).unwrap_err();
        assert!(e.contains("not a positive call number"), "{e}");
        let e = parse(&[("mode", "psychic")], Host::Native).unwrap_err();
        assert!(
            e.starts_with("invalid value 'psychic' for '--mode <MODE>'"),
            "{e}"
        );
    }

    #[test]
    fn node_refuses_what_it_cannot_do() {
        assert!(parse(&[("timeout", "1")], Host::Native).is_ok());
        let e = parse(&[("timeout", "1")], Host::Node).unwrap_err();
        assert!(e.contains("not available in Node"), "{e}");
        assert!(parse(&[("mode", "sample")], Host::Node).is_err());
    }

    #[test]
    fn help_lists_every_flag_with_its_help() {
        let text = help("wprof-node", Host::Node);
        for f in RUN_FLAGS {
            assert!(text.contains(&format!("--{}", f.long)), "{}", f.long);
            assert!(text.contains(f.help), "{}", f.long);
        }
        assert!(text.contains("(not in Node: wprof-node cannot stop a running guest)"));
        assert!(!help("wprof", Host::Native).contains("not in Node"));
    }

    #[test]
    fn dump_points_imply_memory() {
        let o = parse(&[("invoke", "f"), ("heap-dump-every", "2")], Host::Native).unwrap();
        let m = o.memory.unwrap();
        assert!(m.dump_due("f", 4) && !m.dump_due("f", 3));
        assert!(parse(&[], Host::Native).unwrap().memory.is_none());
    }
}
