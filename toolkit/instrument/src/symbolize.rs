//! Function names for humans: name-section names, demangled. One
//! symbolizer ([`Symbols`]) serves both CPU modes: the instrumenter names
//! the manifest's functions with it, and sample mode resolves sampled frame
//! indices with it, so a function has the same name in every profile.
//!
//! Rust legacy (`_ZN…17h<hash>E`) and v0 (`_R…`) names go through
//! `rustc-demangle` (hash suffix dropped), C++ Itanium names through
//! `cpp_demangle`; anything else is kept as written. A function without a
//! name is `wasm-function[N]`, N being its index in the original module, the
//! same spelling wasmtime uses in backtraces.
//!
//! ```
//! use wprof_instrument::symbolize::display_name;
//! assert_eq!(display_name(Some("_ZN5guest3fib17h0123456789abcdefE"), 3), "guest::fib");
//! assert_eq!(display_name(None, 7), "wasm-function[7]");
//! ```

/// Demangles `name` if it is a Rust or C++ symbol; returns it unchanged otherwise.
pub fn demangle(name: &str) -> String {
    if let Ok(d) = rustc_demangle::try_demangle(name) {
        // `{:#}` omits the hash suffix, which only adds noise to profiles.
        return format!("{d:#}");
    }
    if name.starts_with("_Z")
        && let Ok(sym) = cpp_demangle::Symbol::new(name)
        && let Ok(s) = sym.demangle(&cpp_demangle::DemangleOptions::default())
    {
        return s;
    }
    name.to_string()
}

/// The name a profile shows for function `index`: demangled, with control
/// characters escaped ([`wprof_profile::printable`]).
pub fn display_name(name: Option<&str>, index: u32) -> String {
    match name {
        Some(n) if !n.is_empty() => wprof_profile::printable(&demangle(n)).into_owned(),
        _ => format!("wasm-function[{index}]"),
    }
}

/// Display names of a module's functions, by original function index:
/// the name section's name, else the first export name, else
/// `wasm-function[N]`.
#[derive(Debug, Clone, Default)]
pub struct Symbols {
    names: std::collections::HashMap<u32, String>,
}

impl Symbols {
    /// Reads the name section and the exports of `wasm`. Only section
    /// headers are parsed and the code section is skipped, so this stays
    /// cheap on 100 MB modules.
    pub fn from_module(wasm: &[u8]) -> Result<Symbols, wasmparser::BinaryReaderError> {
        use wasmparser::{ExternalKind, KnownCustom, Name, Payload};
        let mut named = std::collections::HashMap::new();
        let mut exported = std::collections::HashMap::new();
        for payload in crate::headers::payloads(wasm) {
            match payload? {
                Payload::ExportSection(reader) => {
                    for e in reader {
                        let e = e?;
                        if e.kind == ExternalKind::Func {
                            exported
                                .entry(e.index)
                                .or_insert_with(|| e.name.to_string());
                        }
                    }
                }
                Payload::CustomSection(c) => {
                    if let KnownCustom::Name(reader) = c.as_known() {
                        // A malformed name section is ignored, as engines do.
                        for sub in reader.into_iter().flatten() {
                            if let Name::Function(map) = sub {
                                for naming in map.into_iter().flatten() {
                                    named.insert(naming.index, naming.name.to_string());
                                }
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        for (index, name) in exported {
            named.entry(index).or_insert(name);
        }
        Ok(Symbols { names: named })
    }

    /// The raw (mangled) name of function `index`, if it has one.
    pub fn raw(&self, index: u32) -> Option<&str> {
        self.names.get(&index).map(String::as_str)
    }

    /// The display name of function `index`.
    pub fn name(&self, index: u32) -> String {
        display_name(self.raw(index), index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_v0() {
        assert_eq!(
            demangle("_RNvCs1234_7mycrate3foo"),
            "mycrate::foo",
            "v0 symbols demangle without the crate disambiguator"
        );
    }

    #[test]
    fn cpp() {
        assert_eq!(demangle("_Z3addii"), "add(int, int)");
    }

    #[test]
    fn symbols_prefer_the_name_section_then_the_first_export() {
        let wasm = wat::parse_str(
            r#"(module
                 (import "m" "i" (func))
                 (func $_ZN5guest3fib17h0123456789abcdefE)
                 (func (export "b") (export "a"))
                 (func))"#,
        )
        .unwrap();
        let s = Symbols::from_module(&wasm).unwrap();
        assert_eq!(s.name(1), "guest::fib");
        assert_eq!(s.name(2), "b");
        assert_eq!(s.name(3), "wasm-function[3]");
    }

    #[test]
    fn plain_names_unchanged() {
        assert_eq!(demangle("malloc"), "malloc");
        assert_eq!(demangle("_Zgarbage"), "_Zgarbage");
    }
}
