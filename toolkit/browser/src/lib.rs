//! The toolkit for JS hosts (Node and browsers), via wasm-bindgen: the same
//! instrumenter, probe runtime, probe ABI and profile writers the native
//! `wprof` uses, so both sides produce the same artifacts and the same
//! output files.
//!
//! This is the only crate that depends on wasm-bindgen; it wraps the
//! libraries unchanged and turns their errors into `JsError` at the boundary.
//! It runs nothing: the JS host (`polyfill-js/src/probe`) instantiates the
//! probe runtime and the artifact, runs the guest, and hands the runtime's
//! memory over once, after the run ([`Outputs::new`]). No call crosses into
//! this module per probe event.
//!
//! From JS (wasm-pack `--target web` output):
//!
//! ```js
//! import init, { Artifact, Outputs, probeAbi, probeRuntime } from './wprof_browser.js';
//! const abi = JSON.parse(probeAbi());
//! const artifact = new Artifact(moduleBytes);    // instruments unless it already is
//! // … instantiate probeRuntime(), call its `init`, link artifact.wasm, run …
//! const out = new Outputs(artifact, runtimeMemory, nodeCount, nodesBase, flatBase, overflow, runJson);
//! for (const name of out.fileNames()) write(name, out.file(name));
//! ```

mod outputs;
mod signature;

use wasm_bindgen::prelude::*;
use wprof_instrument::abi::{self, Manifest};
use wprof_profile::values;

pub use outputs::Outputs;

/// The error and its sources in one line (`top: cause: cause`), as JS
/// errors carry a single message.
fn js(e: impl std::error::Error) -> JsError {
    let mut message = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        message.push_str(&format!(": {s}"));
        source = s.source();
    }
    JsError::new(&message)
}

/// The probe ABI as JSON: the import module and names the artifact uses, the
/// probe runtime's exports the host reads, the reserved tree nodes and the
/// default tree capacity. JS hosts take every name from here (see
/// [`probe_abi_json`]) instead of repeating them.
#[wasm_bindgen(js_name = probeAbi)]
pub fn probe_abi() -> String {
    probe_abi_json()
}

/// See [`probe_abi`]; callable natively for tests.
pub fn probe_abi_json() -> String {
    use abi::runtime_exports as rt;
    serde_json::json!({
        "version": abi::ABI_VERSION,
        "importModule": abi::IMPORT_MODULE,
        "enter": abi::ENTER,
        "cur": abi::CUR,
        "section": abi::SECTION,
        "runtime": {
            "init": rt::INIT,
            "memory": rt::MEMORY,
            "nodeCount": rt::NODE_COUNT,
            "nodesBase": rt::NODES_BASE,
            "flatBase": rt::FLAT_BASE,
            "overflow": rt::OVERFLOW,
        },
        "rootNode": abi::ROOT_NODE,
        "overflowNode": abi::OVERFLOW_NODE,
        "defaultNodeCap": abi::DEFAULT_NODE_CAP,
    })
    .to_string()
}

/// The probe ABI version this build speaks.
#[wasm_bindgen(js_name = abiVersion)]
pub fn abi_version() -> u32 {
    abi::ABI_VERSION
}

/// The probe runtime module the artifact imports as `wprof`.
#[wasm_bindgen(js_name = probeRuntime)]
pub fn probe_runtime() -> Vec<u8> {
    abi::runtime_wasm()
}

/// Instruments a module; returns the artifact's bytes (the same bytes as
/// `wprof instrument`, `--strip-dwarf` included).
#[wasm_bindgen]
pub fn instrument(wasm: &[u8], strip_dwarf: bool) -> Result<Vec<u8>, JsError> {
    let mut options = wprof_instrument::Options::default();
    options.keep_dwarf = !strip_dwarf;
    wprof_instrument::instrument(wasm, &options)
        .map(|out| out.wasm)
        .map_err(js)
}

/// A binary module from a file's bytes: WebAssembly binary as is, text
/// (`.wat`) assembled. `name` is the file as the user gave it, for messages.
/// The checks and messages are those of `wprof run`.
#[wasm_bindgen(js_name = readModule)]
pub fn read_module(bytes: &[u8], name: &str) -> Result<Vec<u8>, JsError> {
    read_module_bytes(bytes, name).map_err(|e| JsError::new(&e))
}

/// See [`read_module`].
pub fn read_module_bytes(bytes: &[u8], name: &str) -> Result<Vec<u8>, String> {
    if bytes.starts_with(b"\0asm") {
        if bytes.len() >= 8 && bytes[4..8] != [1, 0, 0, 0] {
            return Err(format!(
                "`{name}` is a WebAssembly component (or an unsupported version); wprof profiles core modules"
            ));
        }
        return Ok(bytes.to_vec());
    }
    let is_text = name.ends_with(".wat")
        || name.ends_with(".wast")
        || std::str::from_utf8(bytes).is_ok_and(|s| s.trim_start().starts_with('('));
    if is_text {
        return wat::parse_bytes(bytes)
            .map(|b| b.into_owned())
            .map_err(|e| format!("failed to parse WebAssembly text `{name}`: {e}"));
    }
    if bytes.is_empty() {
        return Err(format!("`{name}` is empty, not a WebAssembly module"));
    }
    Err(format!(
        "`{name}` is not a WebAssembly module: it does not start with the `\\0asm` magic and is not WebAssembly text"
    ))
}

/// An instrumented module ready to run, with its manifest. Built from either
/// an original module (instrumented here) or an artifact that already
/// carries a `wprof.abi` section (taken as is, so users can ship one
/// artifact everywhere).
#[wasm_bindgen]
#[derive(Debug)]
pub struct Artifact {
    wasm: Vec<u8>,
    manifest: Manifest,
    instrumented_here: bool,
}

#[wasm_bindgen]
impl Artifact {
    /// Instruments `module` unless it already is instrumented.
    #[wasm_bindgen(constructor)]
    pub fn new(module: &[u8]) -> Result<Artifact, JsError> {
        Artifact::from_module(module).map_err(js)
    }

    /// The artifact's bytes.
    #[wasm_bindgen(getter)]
    pub fn wasm(&self) -> Vec<u8> {
        self.wasm.clone()
    }

    /// Number of probed functions (the probe runtime's `init` argument).
    #[wasm_bindgen(getter, js_name = functionCount)]
    pub fn function_count(&self) -> u32 {
        self.manifest.functions.len() as u32
    }

    /// `true` when the input was an original module instrumented here,
    /// `false` when it already was an artifact.
    #[wasm_bindgen(getter, js_name = instrumentedHere)]
    pub fn instrumented_here(&self) -> bool {
        self.instrumented_here
    }

    /// Parameter and result types of the exported function `name`, as JSON
    /// `{"params": ["i32", …], "results": […]}`; `undefined` when there is
    /// no such exported function. JS engines do not expose export
    /// signatures, and `--arg` needs them.
    #[wasm_bindgen(js_name = exportSignature)]
    pub fn export_signature(&self, name: &str) -> Result<Option<String>, JsError> {
        let sig = signature::export_signature(&self.wasm, name).map_err(js)?;
        Ok(sig.map(|s| serde_json::to_string(&s).expect("signature serializes")))
    }
}

impl Artifact {
    /// See [`Artifact::new`].
    pub fn from_module(module: &[u8]) -> Result<Artifact, wprof_instrument::Error> {
        Ok(match Manifest::from_module(module)? {
            Some(manifest) => Artifact {
                wasm: module.to_vec(),
                manifest,
                instrumented_here: false,
            },
            None => {
                let out = wprof_instrument::instrument(module, &Default::default())?;
                Artifact {
                    wasm: out.wasm,
                    manifest: out.manifest,
                    instrumented_here: true,
                }
            }
        })
    }

    pub(crate) fn manifest(&self) -> &Manifest {
        &self.manifest
    }
}

/// Parses an `--arg` for a parameter of type `ty` (`i32`, `i64`, `f32`,
/// `f64`) exactly as `wprof run` does: integers in decimal or `0x` hex,
/// optionally negative; i32 also takes unsigned values up to `u32::MAX`.
/// Returns a number, or a BigInt for i64, ready to pass to the export.
#[wasm_bindgen(js_name = parseArg)]
pub fn parse_arg(ty: &str, arg: &str) -> Result<JsValue, JsError> {
    Ok(
        match values::parse(ty, arg).map_err(|e| JsError::new(&e))? {
            values::Value::I32(v) => JsValue::from(v),
            values::Value::I64(v) => JsValue::from(v),
            values::Value::F32(v) => JsValue::from(v),
            values::Value::F64(v) => JsValue::from(v),
        },
    )
}

/// Formats an export's result as `summary.json` shows it (`i32:55`,
/// `i64:5`, `f64:0.5`), with Rust's float formatting so both hosts agree.
#[wasm_bindgen(js_name = showValue)]
pub fn show_value(ty: &str, value: JsValue) -> Result<String, JsError> {
    let v = match ty {
        "i32" => values::Value::I32(value.as_f64().ok_or_else(|| not_a(ty))? as i32),
        "i64" => values::Value::I64(i64::try_from(value).map_err(|_| not_a(ty))?),
        "f32" => values::Value::F32(value.as_f64().ok_or_else(|| not_a(ty))? as f32),
        "f64" => values::Value::F64(value.as_f64().ok_or_else(|| not_a(ty))?),
        other => return Ok(format!("{other}:?")),
    };
    Ok(values::show(&v))
}

fn not_a(ty: &str) -> JsError {
    JsError::new(&format!("result is not a JS value of wasm type {ty}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abi_json_names_the_rust_constants() {
        let v: serde_json::Value = serde_json::from_str(&probe_abi_json()).unwrap();
        assert_eq!(v["version"], abi::ABI_VERSION);
        assert_eq!(v["importModule"], abi::IMPORT_MODULE);
        assert_eq!(v["runtime"]["nodeCount"], abi::runtime_exports::NODE_COUNT);
        assert_eq!(v["defaultNodeCap"], abi::DEFAULT_NODE_CAP);
    }

    #[test]
    fn artifact_is_taken_as_is_when_instrumented() {
        let wasm = wat::parse_str(r#"(module (func (export "f")))"#).unwrap();
        let a = Artifact::from_module(&wasm).unwrap();
        assert!(a.instrumented_here);
        let b = Artifact::from_module(&a.wasm).unwrap();
        assert!(!b.instrumented_here);
        assert_eq!(a.wasm, b.wasm);
        assert_eq!(b.manifest().functions.len(), 1);
    }

    #[test]
    fn read_module_messages() {
        assert!(
            read_module_bytes(b"", "x.wasm")
                .unwrap_err()
                .contains("is empty")
        );
        assert!(
            read_module_bytes(b"hello", "x.wasm")
                .unwrap_err()
                .contains("not a WebAssembly module")
        );
        let wasm = read_module_bytes(b"(module)", "m.wat").unwrap();
        assert!(wasm.starts_with(b"\0asm"));
    }
}
