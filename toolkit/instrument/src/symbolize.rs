//! Function names for humans: name-section names, demangled.
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

/// The name a profile shows for function `index`.
pub fn display_name(name: Option<&str>, index: u32) -> String {
    match name {
        Some(n) if !n.is_empty() => demangle(n),
        _ => format!("wasm-function[{index}]"),
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
    fn plain_names_unchanged() {
        assert_eq!(demangle("malloc"), "malloc");
        assert_eq!(demangle("_Zgarbage"), "_Zgarbage");
    }
}
