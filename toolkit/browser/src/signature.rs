//! Export signatures read from the module bytes. JS engines do not reflect
//! the type of an exported function (the type-reflection proposal has not
//! shipped in Node 20), but `--arg` must be parsed by parameter type.

use serde::Serialize;
use wasmparser::{CompositeInnerType, ExternalKind, Parser, Payload, TypeRef};

/// Parameter and result types of a function, as wasm text names them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Signature {
    /// e.g. `["i32", "i64"]`.
    pub params: Vec<String>,
    /// e.g. `["i32"]`.
    pub results: Vec<String>,
}

/// The signature of the function exported as `name`, if there is one.
pub fn export_signature(
    wasm: &[u8],
    name: &str,
) -> Result<Option<Signature>, wasmparser::BinaryReaderError> {
    // Type index per type-section entry (`None` for non-function types),
    // then the type index of every function, imported ones first.
    let mut types: Vec<Option<Signature>> = Vec::new();
    let mut funcs: Vec<u32> = Vec::new();
    let mut exported = None;
    for payload in Parser::new(0).parse_all(wasm) {
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
                    if let TypeRef::Func(t) | TypeRef::FuncExact(t) = import?.ty {
                        funcs.push(t);
                    }
                }
            }
            Payload::FunctionSection(reader) => {
                for t in reader {
                    funcs.push(t?);
                }
            }
            Payload::ExportSection(reader) => {
                for export in reader {
                    let export = export?;
                    if export.name == name && export.kind == ExternalKind::Func {
                        exported = Some(export.index);
                    }
                }
            }
            Payload::CodeSectionStart { .. } => break,
            _ => {}
        }
    }
    Ok(exported
        .and_then(|f| funcs.get(f as usize))
        .and_then(|&t| types.get(t as usize).cloned().flatten()))
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
                 (memory (export "mem") 1))"#,
        )
        .unwrap();
        let sig = export_signature(&wasm, "add").unwrap().unwrap();
        assert_eq!(sig.params, ["i64", "i64"]);
        assert_eq!(sig.results, ["i64"]);
        assert_eq!(export_signature(&wasm, "mem").unwrap(), None);
        assert_eq!(export_signature(&wasm, "nope").unwrap(), None);
    }
}
