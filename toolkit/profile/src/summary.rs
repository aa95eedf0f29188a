//! `summary.json`: the machine-readable summary of a run. Field names are a
//! contract (documented in the README); add fields, never rename them.

use std::io::Write;

use serde::{Deserialize, Serialize};

use crate::heap::report::MemorySummary;
use crate::{Error, Exit, Invoke, Mode, Profile};

/// The whole document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// wprof version that wrote it.
    pub wprof_version: String,
    /// The module as the user named it.
    pub module: String,
    /// `instrument` or `sample`.
    pub mode: Mode,
    /// How the guest run ended.
    pub exit: Exit,
    /// Wall time of the guest run.
    pub wall_ns: u64,
    /// Sampling facts.
    pub cpu: Cpu,
    /// Profiled functions, hottest first (by total time, then calls).
    pub functions: Vec<FunctionSummary>,
    /// Size of the calling-context tree.
    pub contexts: Contexts,
    /// Present for `--invoke` runs.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub invoke: Option<Invoke>,
    /// Per-export latency of a self-profiling artifact's calls (`wprof
    /// collect`): exact counts, percentiles from a histogram.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub exports: Vec<crate::ExportLatency>,
    /// Allocation counts of a self-profiling artifact built with
    /// `--memory` (`wprof collect`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub allocations: Option<crate::Allocations>,
    /// Peak resident memory of the profiling host process.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub host_peak_rss_bytes: Option<u64>,
    /// Present with memory profiling.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub memory: Option<MemorySummary>,
}

/// How time was measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cpu {
    /// Sampling interval.
    pub interval_ns: u64,
    /// Samples taken.
    pub samples: u64,
    /// Time attributed to functions (≤ `wall_ns`).
    pub sampled_ns: u64,
    /// The profiler's own measured overhead: sampled time inside the
    /// probes (instrument mode), not attributed to any function.
    #[serde(default)]
    pub probe_ns: u64,
    /// Samples inside the probes.
    #[serde(default)]
    pub probe_samples: u64,
    /// How samples were taken and what that cost the guest.
    #[serde(default)]
    pub sampler: crate::Sampler,
}

/// One function.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionSummary {
    /// Demangled name, or `wasm-function[N]`.
    pub name: String,
    /// Function index in the original module.
    pub index: Option<u32>,
    /// Exact calls (instrument mode); `null` in sample mode and for frames
    /// that are not counted (host calls).
    pub calls: Option<u64>,
    /// Source file of the declaration (modules with DWARF).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub file: Option<String>,
    /// Line of the declaration.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub line: Option<u32>,
    /// Inlined into its callers (sample mode, from DWARF): its time is in
    /// their code.
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub inlined: bool,
    /// Time in the function itself.
    pub self_ns: u64,
    /// Time with the function on the stack (recursion counted once).
    pub total_ns: u64,
    /// Samples with the function as the leaf.
    pub self_samples: u64,
    /// Samples with the function anywhere on the stack.
    pub total_samples: u64,
}

/// Calling-context tree facts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contexts {
    /// Distinct calling contexts recorded.
    pub nodes: u64,
    /// Calls that did not fit in the tree (their per-function counts are
    /// still exact; their stacks are cut at `[truncated]`).
    pub truncated_calls: u64,
}

impl Summary {
    /// Summarises `profile`.
    pub fn from_profile(profile: &Profile) -> Summary {
        let stats = profile.function_stats();
        let mut functions: Vec<FunctionSummary> = profile
            .functions
            .iter()
            .zip(&stats)
            .filter(|(_, s)| s.calls > 0 || s.total_ns > 0 || s.total_samples > 0)
            .map(|(f, s)| FunctionSummary {
                name: f.name.clone(),
                index: f.index,
                // Host-call frames carry time only: their calls are not counted.
                calls: (profile.mode == Mode::Instrument && f.calls.is_some()).then_some(s.calls),
                file: f.source.as_ref().map(|s| s.file.clone()),
                line: f.source.as_ref().map(|s| s.line),
                inlined: f.inlined,
                self_ns: s.self_ns,
                total_ns: s.total_ns,
                self_samples: s.self_samples,
                total_samples: s.total_samples,
            })
            .collect();
        functions.sort_by(|a, b| {
            b.total_ns
                .cmp(&a.total_ns)
                .then(b.total_samples.cmp(&a.total_samples))
                .then(b.calls.cmp(&a.calls))
                .then(a.index.cmp(&b.index))
                .then(a.name.cmp(&b.name))
        });
        Summary {
            wprof_version: env!("CARGO_PKG_VERSION").to_string(),
            module: profile.module.clone(),
            mode: profile.mode,
            exit: profile.exit.clone(),
            wall_ns: profile.wall_ns,
            cpu: Cpu {
                interval_ns: profile.interval_ns,
                samples: profile.samples(),
                sampled_ns: profile.sampled_ns(),
                probe_ns: profile.probe_ns,
                probe_samples: profile.probe_samples,
                sampler: profile.sampler.clone(),
            },
            functions,
            contexts: Contexts {
                nodes: match profile.mode {
                    // The probes' contexts: host-call frames (sampled
                    // time, no calls) and an unused `[truncated]` are not.
                    Mode::Instrument => profile
                        .tree
                        .nodes
                        .iter()
                        .skip(1)
                        .filter(|n| n.calls > 0)
                        .count() as u64,
                    Mode::Sample => profile.tree.nodes.len() as u64 - 1,
                },
                truncated_calls: profile.truncated_calls,
            },
            invoke: profile.invoke.clone(),
            exports: profile.exports.clone(),
            allocations: profile.allocations.clone(),
            host_peak_rss_bytes: profile.host_peak_rss_bytes,
            memory: profile.memory.as_ref().map(MemorySummary::from_heap),
        }
    }
}

/// Writes `profile`'s summary as pretty JSON.
pub fn write(profile: &Profile, mut out: impl Write) -> Result<(), Error> {
    serde_json::to_writer_pretty(&mut out, &Summary::from_profile(profile))
        .map_err(std::io::Error::from)?;
    writeln!(out)?;
    Ok(())
}
