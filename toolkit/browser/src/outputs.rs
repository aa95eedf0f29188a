//! The output files of a JS-hosted run: the same set, names and writers as
//! `wprof run` (`profiler/src/outputs.rs`), built from the probe runtime's
//! memory handed over once after the run.
//!
//! Time: JS hosts have no sampler (wasm cannot be interrupted from another
//! thread to read the current context), so per-context time stays zero and
//! `cpu.interval_ns` is 0. What a JS host can measure honestly is the run's
//! wall time and each `--invoke` call's latency; those come in [`RunInfo`].
//! The flamegraph then falls back to call counts, and `cpu.folded` (self
//! time) has no lines.

use serde::Deserialize;
use wasm_bindgen::prelude::*;
use wprof_instrument::abi;
use wprof_profile::folded::Weight;
use wprof_profile::{Exit, Invoke, Latency, Profile, flamegraph, folded, pprof, summary};

use crate::Artifact;

/// How the run went, as the JS host saw it (JSON; snake_case like
/// `summary.json`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunInfo {
    /// The module as the user named it.
    pub module: String,
    /// How the guest ended: `{"kind": "exit"|"trap", "code", "message"}`.
    pub exit: Exit,
    /// Wall time of the guest run (instantiation included).
    pub wall_ns: u64,
    /// Set for `--invoke` runs.
    #[serde(default)]
    pub invoke: Option<InvokeInfo>,
    /// Peak resident memory of the host process, when it knows it.
    #[serde(default)]
    pub host_peak_rss_bytes: Option<u64>,
}

/// What `--invoke` did; latency percentiles are computed here, as natively.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InvokeInfo {
    /// The export called.
    pub export: String,
    /// Arguments as written.
    pub args: Vec<String>,
    /// Calls requested.
    pub repeat: u64,
    /// Results of the last completed call (`i32:55`).
    pub results: Vec<String>,
    /// Duration of each completed call.
    pub durations_ns: Vec<u64>,
}

/// Output files, in the order `wprof run` writes them.
const FILES: [&str; 5] = [
    "cpu.folded",
    "calls.folded",
    "cpu.pb.gz",
    "flamegraph.svg",
    "summary.json",
];

/// The profile of one instrumented run and its output files.
#[wasm_bindgen]
#[derive(Debug)]
pub struct Outputs {
    profile: Profile,
}

#[wasm_bindgen]
impl Outputs {
    /// Decodes the calling-context tree from a copy of the probe runtime's
    /// memory and its exported globals (`node_count`, `nodes_base`,
    /// `flat_base`, `overflow`), and records how the run went (`run`: JSON
    /// of [`RunInfo`]).
    #[wasm_bindgen(constructor)]
    // Plain positional numbers are the cheapest thing to pass from JS; a
    // wrapper object would cost an extra allocation and binding per run.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        artifact: &Artifact,
        runtime_memory: &[u8],
        node_count: u32,
        nodes_base: u32,
        flat_base: u32,
        overflow: u64,
        run: &str,
    ) -> Result<Outputs, JsError> {
        let run: RunInfo =
            serde_json::from_str(run).map_err(|e| JsError::new(&format!("bad run record: {e}")))?;
        let state = abi::RuntimeState {
            node_count,
            nodes_base,
            flat_base,
            overflow,
        };
        Outputs::build(artifact, runtime_memory, state, run).map_err(crate::js)
    }

    /// Names of the output files.
    #[wasm_bindgen(js_name = fileNames)]
    pub fn file_names(&self) -> Vec<String> {
        FILES.iter().map(|s| s.to_string()).collect()
    }

    /// The bytes of output file `name` (one of [`Outputs::file_names`]).
    pub fn file(&self, name: &str) -> Result<Vec<u8>, JsError> {
        self.render(name).map_err(|e| JsError::new(&e))
    }

    /// Calls that found the calling-context tree full.
    #[wasm_bindgen(getter, js_name = truncatedCalls)]
    pub fn truncated_calls(&self) -> u64 {
        self.profile.truncated_calls
    }
}

impl Outputs {
    /// See [`Outputs::new`].
    pub fn build(
        artifact: &Artifact,
        runtime_memory: &[u8],
        state: abi::RuntimeState,
        run: RunInfo,
    ) -> Result<Outputs, wprof_instrument::Error> {
        let manifest = artifact.manifest();
        let tree = abi::read_tree(runtime_memory, state, manifest.functions.len() as u32)?;
        let mut profile = tree.to_profile(&run.module, manifest, &[], &[]);
        profile.exit = run.exit;
        profile.wall_ns = run.wall_ns;
        profile.interval_ns = 0;
        profile.invoke = run.invoke.map(|i| Invoke {
            latency: Latency::from_durations(&i.durations_ns),
            export: i.export,
            args: i.args,
            repeat: i.repeat,
            results: i.results,
            // This host does not profile memory: no GC pauses to attribute.
            gc: None,
        });
        profile.host_peak_rss_bytes = run.host_peak_rss_bytes;
        Ok(Outputs { profile })
    }

    /// See [`Outputs::file`].
    pub fn render(&self, name: &str) -> Result<Vec<u8>, String> {
        let p = &self.profile;
        let mut out = Vec::new();
        match name {
            "cpu.folded" => folded::write(p, Weight::Time, &mut out),
            "calls.folded" => folded::write(p, Weight::Calls, &mut out),
            "cpu.pb.gz" => pprof::write(p, &mut out),
            "flamegraph.svg" => flamegraph::write(p, &Default::default(), &mut out),
            "summary.json" => summary::write(p, &mut out),
            other => return Err(format!("no output file `{other}`")),
        }
        .map_err(|e| format!("failed to write `{name}`: {e}"))?;
        Ok(out)
    }
}
