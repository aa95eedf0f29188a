//! Reading and checking the module a user hands to any host: WebAssembly
//! binary or text, and what the run needs to know about it before any
//! expensive work (instrumenting, compiling) starts — its imports, its
//! exported functions and their signatures.
//!
//! Only section headers are parsed (the code section is skipped), so this
//! stays cheap on 100 MB modules; full validation is the instrumenter's or
//! the engine's job.

use wasmparser::{CompositeInnerType, ExternalKind, Payload, TypeRef};

use crate::Error;

/// The import module of WASI preview1, the only one every host provides.
pub const WASI_MODULE: &str = "wasi_snapshot_preview1";

/// Where a module without its own DWARF says its DWARF is: the
/// `external_debug_info` custom section (a path or URL, as Chrome DevTools
/// reads it; WebAssembly tool conventions), when `wasm` has no
/// `.debug_info` of its own. Hosts resolve a relative path against the
/// module's location and read it as they read `--debug-file`.
pub fn external_debug_info(wasm: &[u8]) -> Option<String> {
    let mut named = None;
    for payload in wprof_instrument::headers::payloads(wasm) {
        let Ok(Payload::CustomSection(c)) = payload else {
            continue;
        };
        match c.name() {
            ".debug_info" => return None,
            "external_debug_info" => {
                let mut reader = wasmparser::BinaryReader::new(c.data(), 0);
                named = reader.read_string().ok().map(str::to_string);
            }
            _ => {}
        }
    }
    named.filter(|n| !n.is_empty())
}

/// The binary module in `bytes` (WebAssembly binary as is, text assembled).
/// `name` is the file as the user named it, for messages.
pub fn read(bytes: &[u8], name: &str) -> Result<Vec<u8>, Error> {
    if bytes.starts_with(b"\0asm") {
        if bytes.len() >= 8 && bytes[4..8] != [1, 0, 0, 0] {
            return Err(Error::Input(format!(
                "`{name}` is a WebAssembly component (or an unsupported version); wprof profiles core modules"
            )));
        }
        return Ok(bytes.to_vec());
    }
    let is_text = name.ends_with(".wat")
        || name.ends_with(".wast")
        || std::str::from_utf8(bytes).is_ok_and(|s| s.trim_start().starts_with('('));
    if is_text {
        return wat::parse_bytes(bytes)
            .map(|b| b.into_owned())
            .map_err(|e| Error::Input(format!("failed to parse WebAssembly text `{name}`: {e}")));
    }
    if bytes.is_empty() {
        return Err(Error::Input(format!(
            "`{name}` is empty, not a WebAssembly module"
        )));
    }
    Err(Error::Input(format!(
        "`{name}` is not a WebAssembly module: it does not start with the `\\0asm` magic and is not WebAssembly text"
    )))
}

/// Parameter and result types of a function, as wasm text names them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Signature {
    /// e.g. `["i32", "i64"]`.
    pub params: Vec<String>,
    /// e.g. `["i32"]`.
    pub results: Vec<String>,
}

/// What a run needs to know about a module before running it.
#[derive(Debug, Clone, Default)]
pub struct ModuleInfo {
    /// Imports as `(module, name)`.
    pub imports: Vec<(String, String)>,
    /// Function imports as `(module, name)`, by function index.
    pub function_imports: Vec<(String, String)>,
    /// Exported functions in export order, with their signatures.
    pub functions: Vec<(String, Signature)>,
    /// Whether memory 0 is exported as `memory` (WASI needs it).
    pub exports_memory: bool,
}

impl ModuleInfo {
    /// Reads the import, type, function and export sections of `wasm`.
    /// Truncated or malformed headers are an error here, before any work.
    pub fn parse(wasm: &[u8]) -> Result<ModuleInfo, wasmparser::BinaryReaderError> {
        let mut types: Vec<Option<Signature>> = Vec::new();
        let mut funcs: Vec<u32> = Vec::new();
        let mut info = ModuleInfo::default();
        let mut exports = Vec::new();
        let (mut declared, mut bodies) = (0u32, 0u32);
        for payload in wprof_instrument::headers::payloads(wasm) {
            match payload? {
                Payload::TypeSection(reader) => {
                    for group in reader {
                        for sub in group?.types() {
                            types.push(match &sub.composite_type.inner {
                                CompositeInnerType::Func(f) => Some(Signature {
                                    params: f.params().iter().map(|t| t.to_string()).collect(),
                                    results: f.results().iter().map(|t| t.to_string()).collect(),
                                }),
                                _ => None,
                            });
                        }
                    }
                }
                Payload::ImportSection(reader) => {
                    for import in reader.into_imports() {
                        let import = import?;
                        if let TypeRef::Func(t) | TypeRef::FuncExact(t) = import.ty {
                            funcs.push(t);
                            info.function_imports
                                .push((import.module.to_string(), import.name.to_string()));
                        }
                        info.imports
                            .push((import.module.to_string(), import.name.to_string()));
                    }
                }
                Payload::FunctionSection(reader) => {
                    declared = reader.count();
                    for t in reader {
                        funcs.push(t?);
                    }
                }
                Payload::ExportSection(reader) => {
                    for export in reader {
                        let export = export?;
                        match export.kind {
                            ExternalKind::Func => {
                                exports.push((export.name.to_string(), export.index))
                            }
                            ExternalKind::Memory if export.name == "memory" => {
                                info.exports_memory = true
                            }
                            _ => {}
                        }
                    }
                }
                Payload::CodeSectionStart { count, .. } => bodies = count,
                Payload::End(offset) if declared != bodies => {
                    // A file cut at a section boundary parses; its function
                    // bodies are then missing.
                    return Err(wasmparser::BinaryReader::new(&[], offset)
                        .read_u8()
                        .unwrap_err());
                }
                _ => {}
            }
        }
        info.functions = exports
            .into_iter()
            .map(|(name, f)| {
                let sig = funcs
                    .get(f as usize)
                    .and_then(|&t| types.get(t as usize).cloned().flatten())
                    .unwrap_or(Signature {
                        params: vec![],
                        results: vec![],
                    });
                (name, sig)
            })
            .collect();
        Ok(info)
    }

    /// The signature of the exported function `name`.
    pub fn function(&self, name: &str) -> Option<&Signature> {
        self.functions
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, s)| s)
    }

    /// Exported function names, for messages.
    pub fn function_names(&self) -> Vec<&str> {
        self.functions.iter().map(|(n, _)| n.as_str()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_exports_past_imported_functions() {
        let wasm = wat::parse_str(
            r#"(module
                 (import "m" "f" (func (param f32)))
                 (func (export "add") (param i64 i64) (result i64) local.get 0)
                 (memory (export "memory") 1))"#,
        )
        .unwrap();
        let info = ModuleInfo::parse(&wasm).unwrap();
        let sig = info.function("add").unwrap();
        assert_eq!(sig.params, ["i64", "i64"]);
        assert_eq!(sig.results, ["i64"]);
        assert!(info.function("memory").is_none());
        assert!(info.exports_memory);
        assert_eq!(info.imports, [("m".to_string(), "f".to_string())]);
    }

    #[test]
    fn truncation_is_found_before_any_work() {
        let wasm = wat::parse_str(r#"(module (func (export "f")) (func) (func))"#).unwrap();
        // A prefix ending at a section boundary can be a valid module of its
        // own; every other prefix must be refused here.
        for len in 9..wasm.len() {
            let prefix = &wasm[..len];
            if wasmparser::Validator::new().validate_all(prefix).is_err() {
                assert!(
                    ModuleInfo::parse(prefix).is_err(),
                    "{len} of {} bytes parsed",
                    wasm.len()
                );
            }
        }
    }

    #[test]
    fn read_messages() {
        let msg = |b: &[u8], n: &str| read(b, n).unwrap_err().to_string();
        assert!(msg(b"", "x.wasm").contains("is empty"));
        assert!(msg(b"hello", "x.wasm").contains("not a WebAssembly module"));
        assert!(msg(b"\0asm\x0d\0\x01\0", "c.wasm").contains("component"));
        assert!(msg(b"(module", "m.wat").contains("failed to parse WebAssembly text"));
        assert!(read(b"(module)", "m.wat").unwrap().starts_with(b"\0asm"));
    }
}
