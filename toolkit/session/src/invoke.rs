//! `--invoke` arguments and results beyond numbers, defined once for every
//! host. Library modules take strings and byte buffers (a renderer's
//! `render(ptr, len)`), which only exist in the guest's own memory: data
//! arguments (`--arg str:TEXT`, `bytes:HEX`, `cstr:TEXT`) are written there
//! through the module's exported allocator before each call and passed as
//! a pointer (and a length); `--result str|cstr` reads the text a call's
//! results point at. A host implements only [`Guest`] — call an export,
//! write and read memory 0 — and the session does the rest.
//!
//! Each call gets freshly allocated copies, because a callee may take
//! ownership of its arguments and free them; wprof never frees them itself.
//! The allocator calls are the guest's own code and are profiled like any
//! call, at the root context, outside the call's timed span.
//!
//! ```
//! use wprof_profile::values::Value;
//! use wprof_session::invoke::{Call, Guest, ResultForm};
//! use wprof_session::module::ModuleInfo;
//!
//! /// A guest whose `malloc` hands out memory from address 16 up.
//! struct Bump(Vec<u8>, u32);
//! impl Guest for Bump {
//!     type Error = String;
//!     fn call(&mut self, _: &str, args: &[Value], _: &[&str]) -> Result<Vec<Value>, String> {
//!         let Value::I32(size) = args[0] else { unreachable!() };
//!         self.1 += size as u32;
//!         Ok(vec![Value::I32((16 + self.1 - size as u32) as i32)])
//!     }
//!     fn write(&mut self, ptr: u32, bytes: &[u8]) -> Result<(), String> {
//!         self.0[ptr as usize..][..bytes.len()].copy_from_slice(bytes);
//!         Ok(())
//!     }
//!     fn read(&mut self, ptr: u32, len: u32) -> Result<Vec<u8>, String> {
//!         Ok(self.0.iter().skip(ptr as usize).take(len as usize).copied().collect())
//!     }
//! }
//!
//! let wasm = wat::parse_str(r#"(module (memory (export "memory") 1)
//!     (func (export "malloc") (param i32) (result i32) i32.const 0)
//!     (func (export "len") (param i32 i32) (result i32) local.get 1))"#).unwrap();
//! let info = ModuleInfo::parse(&wasm).unwrap();
//! let call = Call::new("len", &info, &["str:hi".into()], None).unwrap();
//! let mut guest = Bump(vec![0; 64], 0);
//! assert_eq!(call.args(&mut guest).unwrap(), [Value::I32(16), Value::I32(2)]);
//! assert_eq!(&guest.0[16..18], b"hi");
//! ```

use serde::{Deserialize, Serialize};
use wprof_profile::values::{self, Value};

use crate::module::ModuleInfo;

/// What a host gives the session to pass data to the guest and read its
/// results: the instance's exports and its exported memory 0.
pub trait Guest {
    /// A failure of the guest (a trap in its allocator) or of the host's
    /// access to it; the host ends the run with it as it would with a trap.
    type Error;
    /// Calls the export `name` with `args`; `results` are its result types,
    /// for hosts whose engine does not say (JS numbers).
    fn call(
        &mut self,
        name: &str,
        args: &[Value],
        results: &[&str],
    ) -> Result<Vec<Value>, Self::Error>;
    /// Writes `bytes` into memory at `ptr`; an error when they do not fit.
    fn write(&mut self, ptr: u32, bytes: &[u8]) -> Result<(), Self::Error>;
    /// The `len` bytes at `ptr`, fewer (or none) where memory ends before
    /// them: a result pointing outside memory is the session's to report.
    fn read(&mut self, ptr: u32, len: u32) -> Result<Vec<u8>, Self::Error>;
}

/// Why passing data to a call failed.
#[derive(Debug)]
pub enum InvokeError<E> {
    /// The guest's allocator failed (trapped) or the host could not reach
    /// the guest.
    Guest(E),
    /// The guest did something wprof cannot pass data through (its
    /// allocator returned null, or memory it cannot hold the data).
    Fault(String),
}

/// How `--arg` data is passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataForm {
    /// `str:TEXT`: UTF-8 bytes, as an i32 pointer and an i32 length.
    Str,
    /// `bytes:HEX`: bytes, as an i32 pointer and an i32 length.
    Bytes,
    /// `cstr:TEXT`: NUL-terminated, as one i32 pointer.
    Cstr,
}

impl DataForm {
    const ALL: [DataForm; 3] = [DataForm::Str, DataForm::Bytes, DataForm::Cstr];

    /// The form and its text, for an `--arg` that is data.
    fn split(arg: &str) -> Option<(DataForm, &str)> {
        DataForm::ALL
            .into_iter()
            .find_map(|f| arg.strip_prefix(f.prefix()).map(|rest| (f, rest)))
    }

    fn prefix(self) -> &'static str {
        match self {
            DataForm::Str => "str:",
            DataForm::Bytes => "bytes:",
            DataForm::Cstr => "cstr:",
        }
    }

    /// The parameters it fills.
    fn params(self) -> usize {
        match self {
            DataForm::Str | DataForm::Bytes => 2,
            DataForm::Cstr => 1,
        }
    }

    fn passes(self) -> &'static str {
        match self {
            DataForm::Str | DataForm::Bytes => "two i32 parameters (pointer, length)",
            DataForm::Cstr => "one i32 parameter (pointer to NUL-terminated text)",
        }
    }
}

/// `--result`: what the export's results point at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ResultForm {
    /// A (pointer, length) pair: two i32 results, or one i32 result that
    /// points at the pair in memory (the component model's return area).
    Str,
    /// One i32 result pointing at NUL-terminated text.
    Cstr,
}

impl ResultForm {
    /// The `--result` value.
    pub fn name(self) -> &'static str {
        match self {
            ResultForm::Str => "str",
            ResultForm::Cstr => "cstr",
        }
    }
}

/// How far a `--result cstr` is searched for its NUL.
pub const MAX_CSTR: u32 = 64 << 20;

/// How much of a string result `summary.json` keeps.
pub const SUMMARY_TEXT: usize = 4096;

/// One `--arg` as the call passes it.
#[derive(Debug, Clone, PartialEq)]
enum Arg {
    Number(Value),
    Data(DataForm, Vec<u8>),
}

/// An allocator export wprof can call, and the arguments that ask it for
/// `size` bytes.
#[derive(Debug)]
struct Allocator {
    name: &'static str,
    params: &'static [&'static str],
    args: fn(i32) -> Vec<Value>,
}

/// In order of preference: the component model's canonical ABI
/// (`cabi_realloc(old, old_size, align, size)`, what wit-bindgen and Rust's
/// wasip2 std export), C's `malloc`, and wasm-bindgen's (`(size, align)`
/// since 0.2.84, `(size)` before).
const ALLOCATORS: &[Allocator] = &[
    Allocator {
        name: "cabi_realloc",
        params: &["i32", "i32", "i32", "i32"],
        args: |size| {
            vec![
                Value::I32(0),
                Value::I32(0),
                Value::I32(1),
                Value::I32(size),
            ]
        },
    },
    Allocator {
        name: "malloc",
        params: &["i32"],
        args: |size| vec![Value::I32(size)],
    },
    Allocator {
        name: "__wbindgen_malloc",
        params: &["i32", "i32"],
        args: |size| vec![Value::I32(size), Value::I32(1)],
    },
    Allocator {
        name: "__wbindgen_malloc",
        params: &["i32"],
        args: |size| vec![Value::I32(size)],
    },
];

/// What each call of the `--invoke` export is passed, and how its results
/// are read.
#[derive(Debug, Clone)]
pub struct Call {
    args: Vec<Arg>,
    /// Set when some argument is data.
    allocator: Option<&'static Allocator>,
    result: Option<ResultForm>,
}

impl Call {
    /// Checks `args` (as written after `--arg`) and `result` against the
    /// signature of `export` in `info`. The message says what does not fit.
    pub fn new(
        export: &str,
        info: &ModuleInfo,
        args: &[String],
        result: Option<ResultForm>,
    ) -> Result<Call, String> {
        let exports = info.function_names();
        let sig = info.function(export).ok_or_else(|| {
            format!(
                "module has no exported function `{export}`; exported functions: {}",
                if exports.is_empty() {
                    "(none)".to_string()
                } else {
                    exports.join(", ")
                }
            )
        })?;
        let data = DataForm::split;
        let filled: usize = args
            .iter()
            .map(|a| data(a).map_or(1, |(f, _)| f.params()))
            .sum();
        if filled != sig.params.len() {
            let types = sig.params.join(", ");
            return Err(if args.iter().any(|a| data(a).is_some()) {
                format!(
                    "export `{export}` takes {} parameter(s) ({types}), but the --args given fill {filled}: \
                     `str:` and `bytes:` take two i32 parameters (pointer, length), `cstr:` one (pointer), \
                     a number one",
                    sig.params.len(),
                )
            } else {
                format!(
                    "export `{export}` takes {} argument(s) ({types}), but {} were given with --arg",
                    sig.params.len(),
                    args.len()
                )
            });
        }
        let bad = |e: String| format!("bad --arg for `{export}`: {e}");
        let mut params = sig.params.iter().enumerate();
        let mut parsed = Vec::with_capacity(args.len());
        for a in args {
            let arg = match data(a) {
                None => {
                    let (_, ty) = params.next().expect("counted");
                    Arg::Number(values::parse(ty, a).map_err(bad)?)
                }
                Some((form, text)) => {
                    let taken: Vec<_> = params.by_ref().take(form.params()).collect();
                    if let Some((i, ty)) = taken.iter().find(|(_, t)| t.as_str() != "i32") {
                        return Err(bad(format!(
                            "`{}` passes {}, but parameter {} is {ty}",
                            form.prefix(),
                            form.passes(),
                            i + 1
                        )));
                    }
                    let bytes = match form {
                        DataForm::Bytes => hex(text).map_err(bad)?,
                        DataForm::Str => text.as_bytes().to_vec(),
                        DataForm::Cstr if text.contains('\0') => {
                            return Err(bad(
                                "`cstr:` text contains a NUL byte, which would end it early"
                                    .to_string(),
                            ));
                        }
                        DataForm::Cstr => text.as_bytes().to_vec(),
                    };
                    Arg::Data(form, bytes)
                }
            };
            parsed.push(arg);
        }
        let has_data = parsed.iter().any(|a| matches!(a, Arg::Data(..)));
        let allocator = if has_data {
            let found = ALLOCATORS.iter().find(|a| {
                info.function(a.name)
                    .is_some_and(|s| s.params == a.params && s.results == ["i32"])
            });
            match (found, info.exports_memory) {
                (Some(a), true) => Some(a),
                _ => {
                    let wanted: Vec<String> = ALLOCATORS
                        .iter()
                        .map(|a| format!("{}({}) -> i32", a.name, a.params.join(", ")))
                        .collect();
                    return Err(format!(
                        "--arg str:/bytes:/cstr: writes the data into the module's memory, which needs \
                         an exported `memory` and an exported allocator ({}); the module {}",
                        wanted.join(", "),
                        match (found, info.exports_memory) {
                            (None, false) => "exports neither",
                            (None, true) => "exports no such allocator",
                            _ => "does not export its memory as `memory`",
                        }
                    ));
                }
            }
        } else {
            None
        };
        if let Some(form) = result {
            let fits = match form {
                ResultForm::Str => sig.results == ["i32", "i32"] || sig.results == ["i32"],
                ResultForm::Cstr => sig.results == ["i32"],
            };
            if !fits {
                return Err(format!(
                    "--result {} needs an export that returns {}, but `{export}` returns ({})",
                    form.name(),
                    match form {
                        ResultForm::Str => {
                            "a pointer and a length (i32, i32), or one i32 pointing at them"
                        }
                        ResultForm::Cstr => "one i32 pointing at NUL-terminated text",
                    },
                    sig.results.join(", ")
                ));
            }
            if !info.exports_memory {
                return Err(format!(
                    "--result {} reads the text from the module's memory, but the module does not \
                     export its memory as `memory`",
                    form.name()
                ));
            }
        }
        Ok(Call {
            args: parsed,
            allocator,
            result,
        })
    }

    /// The arguments, when they are the same for every call (numbers only):
    /// hosts pass these without asking [`Call::args`] per call.
    pub fn fixed(&self) -> Option<Vec<Value>> {
        self.args
            .iter()
            .map(|a| match a {
                Arg::Number(v) => Some(*v),
                Arg::Data(..) => None,
            })
            .collect()
    }

    /// `--result`, if given.
    pub fn result(&self) -> Option<ResultForm> {
        self.result
    }

    /// The arguments of one call: data is allocated through the guest's
    /// allocator and written into its memory first, fresh for every call.
    pub fn args<G: Guest>(&self, guest: &mut G) -> Result<Vec<Value>, InvokeError<G::Error>> {
        let mut out = Vec::with_capacity(self.args.len() + 2);
        for a in &self.args {
            let (form, bytes) = match a {
                Arg::Number(v) => {
                    out.push(*v);
                    continue;
                }
                Arg::Data(form, bytes) => (*form, bytes),
            };
            let nul = usize::from(form == DataForm::Cstr);
            let size = bytes.len() + nul;
            let alloc = self.allocator.expect("data has an allocator");
            let too_big = || {
                InvokeError::Fault(format!(
                    "`{}` data of {} bytes does not fit in a 32-bit memory",
                    form.prefix(),
                    bytes.len()
                ))
            };
            // Zero-byte requests may legitimately return null.
            let request = i32::try_from(size.max(1)).map_err(|_| too_big())?;
            let ptr = match guest
                .call(alloc.name, &(alloc.args)(request), &["i32"])
                .map_err(InvokeError::Guest)?
                .first()
            {
                Some(Value::I32(p)) if *p != 0 => *p as u32,
                _ => {
                    return Err(InvokeError::Fault(format!(
                        "the module's allocator `{}` returned null for {request} bytes",
                        alloc.name
                    )));
                }
            };
            let mut data = bytes.clone();
            if nul == 1 {
                data.push(0);
            }
            guest.write(ptr, &data).map_err(InvokeError::Guest)?;
            out.push(Value::I32(ptr as i32));
            if form != DataForm::Cstr {
                out.push(Value::I32(bytes.len() as i32));
            }
        }
        Ok(out)
    }

    /// With `--result`: the text a call's `results` point at, read from the
    /// guest's memory now (right after the call), or why it cannot be read.
    /// `None` without `--result`.
    pub fn decode<G: Guest>(
        &self,
        results: &[Value],
        guest: &mut G,
    ) -> Result<Option<Decoded>, G::Error> {
        let Some(form) = self.result else {
            return Ok(None);
        };
        let shown = || {
            results
                .iter()
                .map(values::show)
                .collect::<Vec<_>>()
                .join(", ")
        };
        let u32_at = |b: &[u8], i: usize| u32::from_le_bytes(b[i..i + 4].try_into().expect("4"));
        let (ptr, len) = match (form, results) {
            (ResultForm::Str, [Value::I32(p), Value::I32(l)]) => (*p as u32, Some(*l as u32)),
            (ResultForm::Str, [Value::I32(area)]) => {
                let pair = guest.read(*area as u32, 8)?;
                if pair.len() < 8 {
                    return Ok(Some(Err(format!(
                        "the result ({}) points at a (pointer, length) pair beyond the end of memory",
                        shown()
                    ))));
                }
                (u32_at(&pair, 0), Some(u32_at(&pair, 4)))
            }
            (ResultForm::Cstr, [Value::I32(p)]) => (*p as u32, None),
            // Signatures were checked when the call was planned.
            _ => return Ok(Some(Err(format!("unexpected results ({})", shown())))),
        };
        if let Some(len) = len {
            let text = guest.read(ptr, len)?;
            if text.len() < len as usize {
                return Ok(Some(Err(format!(
                    "the result's {len} bytes at {ptr:#x} run past the end of memory"
                ))));
            }
            return Ok(Some(Ok(text)));
        }
        // Scanned in growing chunks: most strings are short, and memory may
        // be gigabytes.
        let mut text = Vec::new();
        let mut chunk = 256u32;
        loop {
            let at = ptr.saturating_add(text.len() as u32);
            let got = guest.read(at, chunk)?;
            if let Some(end) = got.iter().position(|&b| b == 0) {
                text.extend_from_slice(&got[..end]);
                return Ok(Some(Ok(text)));
            }
            text.extend_from_slice(&got);
            if got.len() < chunk as usize {
                return Ok(Some(Err(format!(
                    "the text at {ptr:#x} has no NUL before the end of memory"
                ))));
            }
            if text.len() >= MAX_CSTR as usize {
                return Ok(Some(Err(format!(
                    "the text at {ptr:#x} has no NUL within {} MiB",
                    MAX_CSTR >> 20
                ))));
            }
            chunk = (chunk * 4).min(MAX_CSTR - text.len() as u32);
        }
    }
}

/// A `--result` read back: the text, or why it could not be read (a
/// pointer outside memory, no NUL): the run goes on, the raw results are
/// shown and the host warns.
pub type Decoded = Result<Vec<u8>, String>;

/// `invoke.results` of `summary.json` and what the host prints after the
/// guest's output, from the last completed call's results and (with
/// `--result`) what they point at. Printed: one value per line as the
/// wasmtime CLI prints them, or the text as is, with a newline unless it
/// ends with one.
pub(crate) fn shown(
    results: &[Value],
    text: Option<(ResultForm, &[u8])>,
) -> (Vec<String>, Vec<u8>) {
    let Some((form, text)) = text else {
        let mut printed = Vec::new();
        for v in results {
            printed.extend_from_slice(values::plain(v).as_bytes());
            printed.push(b'\n');
        }
        return (results.iter().map(values::show).collect(), printed);
    };
    let mut printed = text.to_vec();
    if !printed.ends_with(b"\n") {
        printed.push(b'\n');
    }
    let lossy = String::from_utf8_lossy(text);
    let summary = if lossy.len() > SUMMARY_TEXT {
        let mut cut = SUMMARY_TEXT;
        while !lossy.is_char_boundary(cut) {
            cut -= 1;
        }
        format!(
            "{}:{}… (truncated: {} bytes in all)",
            form.name(),
            &lossy[..cut],
            text.len()
        )
    } else {
        format!("{}:{lossy}", form.name())
    };
    (vec![summary], printed)
}

/// The bytes of `bytes:HEX`.
fn hex(text: &str) -> Result<Vec<u8>, String> {
    if !text.len().is_multiple_of(2) {
        return Err(format!(
            "`bytes:{text}` has an odd number of hex digits (two per byte)"
        ));
    }
    (0..text.len())
        .step_by(2)
        .map(|i| {
            text.get(i..i + 2)
                .and_then(|d| u8::from_str_radix(d, 16).ok())
                .ok_or_else(|| format!("`bytes:{text}` is not hex (at character {})", i + 1))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_bytes() {
        assert_eq!(hex("00fF10"), Ok(vec![0, 255, 16]));
        assert_eq!(hex(""), Ok(vec![]));
        assert!(hex("abc").unwrap_err().contains("odd number"));
        assert!(hex("zz").unwrap_err().contains("not hex (at character 1)"));
        // A multi-byte character must not split a digit pair.
        assert!(hex("aéb").unwrap_err().contains("not hex"));
    }

    #[test]
    fn long_text_is_cut_in_the_summary_but_printed_whole() {
        let text = "é".repeat(SUMMARY_TEXT);
        let (summary, printed) = shown(&[], Some((ResultForm::Str, text.as_bytes())));
        assert!(summary[0].starts_with("str:éé"), "{}", &summary[0][..20]);
        assert!(summary[0].ends_with(&format!("… (truncated: {} bytes in all)", 2 * SUMMARY_TEXT)));
        assert!(summary[0].len() < SUMMARY_TEXT + 100);
        assert_eq!(printed.len(), text.len() + 1);
        let (summary, printed) = shown(&[], Some((ResultForm::Cstr, b"a\xffb\n")));
        assert_eq!(summary, ["cstr:a\u{fffd}b\n"]);
        assert_eq!(printed, b"a\xffb\n");
        let (summary, printed) = shown(&[Value::I64(-5), Value::F32(0.5)], None);
        assert_eq!(summary, ["i64:-5", "f32:0.5"]);
        assert_eq!(printed, b"-5\n0.5\n");
    }
}
