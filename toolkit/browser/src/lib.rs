//! The toolkit for JS hosts (Node and browsers), via wasm-bindgen: the same
//! instrumenter, probe runtime and profile writers the native `wprof` uses,
//! so both sides produce the same artifacts and the same outputs.
//!
//! This is the only crate that depends on wasm-bindgen; it wraps the
//! libraries unchanged and turns their errors into `JsError` at the boundary.

use wasm_bindgen::prelude::*;
use wprof_instrument::abi;
use wprof_profile::folded::Weight;
use wprof_profile::{Profile, flamegraph, folded, pprof, summary};

/// Instruments a module; returns the artifact's bytes.
#[wasm_bindgen]
pub fn instrument(wasm: &[u8]) -> Result<Vec<u8>, JsError> {
    wprof_instrument::instrument(wasm, &Default::default())
        .map(|out| out.wasm)
        .map_err(|e| JsError::new(&e.to_string()))
}

/// The probe runtime module the artifact imports as `wprof`.
#[wasm_bindgen(js_name = probeRuntime)]
pub fn probe_runtime() -> Vec<u8> {
    abi::runtime_wasm()
}

/// The probe ABI version this build speaks.
#[wasm_bindgen(js_name = abiVersion)]
pub fn abi_version() -> u32 {
    abi::ABI_VERSION
}

/// Profile outputs built from an instrumented run: the JS host hands over the
/// artifact, a copy of the probe runtime's memory and its globals once, after
/// the run (never per call).
#[wasm_bindgen]
#[derive(Debug)]
pub struct Outputs {
    profile: Profile,
}

#[wasm_bindgen]
impl Outputs {
    /// Decodes the calling-context tree from the runtime's memory and its
    /// globals (`node_count`, `nodes_base`, `flat_base`, `overflow`).
    #[wasm_bindgen(constructor)]
    // Plain positional numbers are the cheapest thing to pass from JS; a
    // wrapper object would cost an extra allocation and binding per run.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        module_name: &str,
        artifact: &[u8],
        runtime_memory: &[u8],
        node_count: u32,
        nodes_base: u32,
        flat_base: u32,
        overflow: f64,
        wall_ns: f64,
    ) -> Result<Outputs, JsError> {
        let js = |e: wprof_instrument::Error| JsError::new(&e.to_string());
        let manifest = abi::Manifest::from_module(artifact)
            .map_err(js)?
            .ok_or_else(|| JsError::new("module is not instrumented (no wprof.abi section)"))?;
        let state = abi::RuntimeState {
            node_count,
            nodes_base,
            flat_base,
            overflow: overflow as u64,
        };
        let tree =
            abi::read_tree(runtime_memory, state, manifest.functions.len() as u32).map_err(js)?;
        let mut profile = tree.to_profile(module_name, &manifest, &[], &[]);
        profile.wall_ns = wall_ns as u64;
        Ok(Outputs { profile })
    }

    /// `summary.json`.
    #[wasm_bindgen(js_name = summaryJson)]
    pub fn summary_json(&self) -> Result<String, JsError> {
        let mut out = Vec::new();
        summary::write(&self.profile, &mut out).map_err(|e| JsError::new(&e.to_string()))?;
        String::from_utf8(out).map_err(|e| JsError::new(&e.to_string()))
    }

    /// `calls.folded`.
    #[wasm_bindgen(js_name = callsFolded)]
    pub fn calls_folded(&self) -> String {
        folded::lines(&self.profile, Weight::Calls).join("\n")
    }

    /// `flamegraph.svg`.
    pub fn flamegraph(&self) -> Result<String, JsError> {
        let mut out = Vec::new();
        flamegraph::write(&self.profile, &Default::default(), &mut out)
            .map_err(|e| JsError::new(&e.to_string()))?;
        String::from_utf8(out).map_err(|e| JsError::new(&e.to_string()))
    }

    /// `cpu.pb.gz`.
    pub fn pprof(&self) -> Result<Vec<u8>, JsError> {
        let mut out = Vec::new();
        pprof::write(&self.profile, &mut out).map_err(|e| JsError::new(&e.to_string()))?;
        Ok(out)
    }
}
