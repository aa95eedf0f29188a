//! A module's section payloads with the code section skipped: what hosts
//! need before running (imports, exports, names, the manifest) costs a pass
//! over the headers, not over every function body, on 100 MB modules.
//!
//! ```
//! let wasm = wat::parse_str(r#"(module (func (export "f")))"#).unwrap();
//! let exports = wprof_instrument::headers::payloads(&wasm)
//!     .filter(|p| matches!(p, Ok(wasmparser::Payload::ExportSection(_))))
//!     .count();
//! assert_eq!(exports, 1);
//! ```

use wasmparser::{BinaryReader, BinaryReaderError, Chunk, Parser, Payload};

/// Every payload of `wasm` up to `End`, with `CodeSectionStart` in place of
/// the function bodies. Truncation is an error, also inside the skipped
/// code section; after an error the iterator ends.
pub fn payloads(wasm: &[u8]) -> Payloads<'_> {
    Payloads {
        parser: Parser::new(0),
        rest: wasm,
        end: wasm.len(),
        done: false,
    }
}

/// See [`payloads`].
#[derive(Debug)]
pub struct Payloads<'a> {
    parser: Parser,
    rest: &'a [u8],
    end: usize,
    done: bool,
}

impl<'a> Iterator for Payloads<'a> {
    type Item = Result<Payload<'a>, BinaryReaderError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        // With `eof = true` the parser reports truncation as an error, never
        // as a need for more data.
        let (consumed, payload) = match self.parser.parse(self.rest, true) {
            Ok(Chunk::Parsed { consumed, payload }) => (consumed, payload),
            Ok(Chunk::NeedMoreData(_)) => {
                self.done = true;
                return None;
            }
            Err(e) => {
                self.done = true;
                return Some(Err(e));
            }
        };
        let mut skip = 0;
        match &payload {
            Payload::CodeSectionStart { size, .. } => {
                self.parser.skip_section();
                skip = *size as usize;
            }
            Payload::End(_) => self.done = true,
            _ => {}
        }
        match self.rest.get(consumed + skip..) {
            Some(rest) => self.rest = rest,
            None => {
                // A code section running past the end: an empty reader at
                // the end offset says so in wasmparser's own words.
                self.done = true;
                return Some(Err(BinaryReader::new(&[], self.end).read_u8().unwrap_err()));
            }
        }
        Some(Ok(payload))
    }
}
