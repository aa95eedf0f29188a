//! Source locations from a module's DWARF (its `.debug_*` custom sections,
//! or those of a separate debug file), read with gimli and addr2line: where
//! each function is declared, and the source line and inlined frames at a
//! code offset.
//!
//! Wasm DWARF addresses are offsets into the code section's contents, so a
//! debug file (the unstripped module, or one holding only the `.debug_*`
//! sections) describes the stripped module's code as long as the code
//! section is the same.

use std::collections::HashMap;
use std::sync::Arc;

use wasmparser::{BinaryReader, BinaryReaderError, CodeSectionReader, Payload};

use gimli::Reader as _;

type Reader = gimli::EndianArcSlice<gimli::LittleEndian>;

/// A source position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// Path as the compiler recorded it (absolute, or joined to the
    /// compilation directory).
    pub file: String,
    pub line: u32,
}

/// One frame at a code offset, innermost first: inlined functions, then the
/// function whose code it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Demangled name, when DWARF names it.
    pub name: Option<String>,
    /// Where in this frame's function the offset is.
    pub location: Option<Location>,
    /// Inlined into the next frame.
    pub inlined: bool,
}

/// Why DWARF could not be read.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Wasm(#[from] BinaryReaderError),
    #[error("malformed DWARF: {0}")]
    Dwarf(#[from] gimli::Error),
}

/// The module's DWARF, ready for lookups.
pub struct Sources {
    /// Declaration of each function, by function index.
    declared: HashMap<u32, Location>,
    /// Declaration of each inlinable function, by demangled name (inlined
    /// frames have no index).
    inlinable: HashMap<String, Location>,
    /// addr2line parses lazily through cells that are not thread-safe;
    /// the lock makes a session shareable with a host's other threads.
    context: std::sync::Mutex<addr2line::Context<Reader>>,
    /// Function bodies: (start, end) in code-section offsets, by index.
    bodies: HashMap<u32, (u64, u64)>,
    /// Module offset of the code section's contents, where DWARF
    /// addresses start.
    code_start: u64,
}

impl std::fmt::Debug for Sources {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sources")
            .field("functions", &self.declared.len())
            .finish_non_exhaustive()
    }
}

/// Whether a custom section named `name` holds DWARF.
pub(crate) fn is_dwarf(name: &str) -> bool {
    name.starts_with(".debug_")
}

/// The `.debug_*` sections of `wasm`, by name.
fn debug_sections(wasm: &[u8]) -> Result<HashMap<String, Arc<[u8]>>, BinaryReaderError> {
    let mut out = HashMap::new();
    for payload in crate::headers::payloads(wasm) {
        if let Payload::CustomSection(c) = payload?
            && is_dwarf(c.name())
        {
            out.insert(c.name().to_string(), Arc::from(c.data()));
        }
    }
    Ok(out)
}

/// Function bodies as (start, end, function index) in code-section
/// offsets, from the start of each size field to the body's end.
type Bodies = Vec<(u64, u64, u32)>;

/// Each function body's extent, and the module offset of the code
/// section's contents.
fn bodies(wasm: &[u8]) -> Result<(Bodies, u64), BinaryReaderError> {
    let mut imports = 0;
    let mut out = Vec::new();
    let mut code_start = 0;
    for payload in crate::headers::payloads(wasm) {
        match payload? {
            Payload::ImportSection(reader) => {
                for imp in reader.into_imports() {
                    if matches!(imp?.ty, wasmparser::TypeRef::Func(_)) {
                        imports += 1;
                    }
                }
            }
            Payload::CodeSectionStart { range, .. } => {
                let Some(code) = wasm.get(range.clone()) else {
                    break;
                };
                code_start = range.start as u64;
                let reader = CodeSectionReader::new(BinaryReader::new(code, 0))?;
                let mut start = reader.original_position() as u64;
                for (i, body) in reader.into_iter().enumerate() {
                    let end = body?.range().end as u64;
                    out.push((start, end, imports + i as u32));
                    start = end;
                }
            }
            _ => {}
        }
    }
    Ok((out, code_start))
}

impl Sources {
    /// Reads the DWARF of `debug` (the module itself, or a separate debug
    /// file) for the code of `wasm`. `Ok(None)` when there is no DWARF.
    pub fn new(wasm: &[u8], debug: &[u8]) -> Result<Option<Sources>, Error> {
        let sections = debug_sections(debug)?;
        if !sections.contains_key(".debug_info") {
            return Ok(None);
        }
        let dwarf = gimli::Dwarf::load(|id| -> Result<Reader, gimli::Error> {
            let data = sections
                .get(id.name())
                .cloned()
                .unwrap_or_else(|| Arc::from(&[][..]));
            Ok(Reader::new(data, gimli::LittleEndian))
        })?;
        let (bodies, code_start) = bodies(wasm)?;
        let (mut declared, inlinable) = declarations(&dwarf, &bodies)?;
        let context = addr2line::Context::from_dwarf(dwarf)?;
        // Line tables alone (`-gline-tables-only`, Rust's
        // `debug = "line-tables-only"`, what release builds often ship)
        // have no declarations: a function's first row, its opening line,
        // stands in.
        for &(start, end, index) in &bodies {
            if declared.contains_key(&index) {
                continue;
            }
            let first = context
                .find_location_range(start, end)
                .ok()
                .and_then(|mut rows| rows.next())
                .and_then(|(_, _, l)| Some((l.file?.to_string(), l.line?)));
            if let Some((file, line)) = first {
                declared.insert(index, Location { file, line });
            }
        }
        let bodies = bodies.into_iter().map(|(s, e, i)| (i, (s, e))).collect();
        Ok(Some(Sources {
            bodies,
            declared,
            inlinable,
            context: std::sync::Mutex::new(context),
            code_start,
        }))
    }

    /// Where function `index` is declared.
    pub fn function(&self, index: u32) -> Option<&Location> {
        self.declared.get(&index)
    }

    /// The line-program rows inside function `index`'s body: the module
    /// offset each starts at, and its source position.
    pub fn rows(&self, index: u32) -> Vec<(u64, Location)> {
        let mut out = Vec::new();
        let Some(&(start, end)) = self.bodies.get(&index) else {
            return out;
        };
        let context = self.context.lock().unwrap_or_else(|e| e.into_inner());
        if let Ok(rows) = context.find_location_range(start, end) {
            for (at, _, l) in rows {
                if let (Some(file), Some(line)) = (l.file, l.line) {
                    let file = file.to_string();
                    out.push((at + self.code_start, Location { file, line }));
                }
            }
        }
        out
    }

    /// Where the function an inlined [`Frame`] names is declared.
    pub fn inlined(&self, name: &str) -> Option<&Location> {
        self.inlinable.get(name)
    }

    /// The frames at the instruction at module offset `offset` (what
    /// engines report for a frame), innermost first.
    pub fn frames(&self, offset: u64) -> Vec<Frame> {
        let mut out = Vec::new();
        let Some(address) = offset.checked_sub(self.code_start) else {
            return out;
        };
        let context = self.context.lock().unwrap_or_else(|e| e.into_inner());
        let Ok(mut frames) = context.find_frames(address).skip_all_loads() else {
            return out;
        };
        while let Ok(Some(f)) = frames.next() {
            out.push(Frame {
                name: f
                    .function
                    .as_ref()
                    .and_then(|n| n.raw_name().ok())
                    .map(|n| crate::symbolize::demangle(n.as_ref())),
                location: f.location.and_then(|l| {
                    Some(Location {
                        file: l.file?.to_string(),
                        line: l.line?,
                    })
                }),
                inlined: true,
            });
        }
        if let Some(last) = out.last_mut() {
            last.inlined = false;
        }
        out
    }
}

/// The declaration of every function DWARF describes: by function index,
/// and by name for the abstract instances that inlined frames refer to.
type Declarations = (HashMap<u32, Location>, HashMap<String, Location>);

fn declarations(
    dwarf: &gimli::Dwarf<Reader>,
    bodies: &[(u64, u64, u32)],
) -> Result<Declarations, gimli::Error> {
    let function_at = |addr: u64| {
        let i = bodies.partition_point(|&(start, _, _)| start <= addr);
        let &(start, end, index) = bodies.get(i.checked_sub(1)?)?;
        (start..end).contains(&addr).then_some(index)
    };
    let mut out = HashMap::new();
    let mut inlinable = HashMap::new();
    let mut units = dwarf.units();
    while let Some(header) = units.next()? {
        let unit = dwarf.unit(header)?;
        let mut entries = unit.entries();
        while let Some(entry) = entries.next_dfs()? {
            if entry.tag() != gimli::DW_TAG_subprogram {
                continue;
            }
            if entry.attr(gimli::DW_AT_inline).is_some() {
                let name = entry
                    .attr_value(gimli::DW_AT_linkage_name)
                    .or_else(|| entry.attr_value(gimli::DW_AT_name));
                if let Some(name) = name
                    && let Ok(name) = dwarf.attr_string(&unit, name)
                    && let Some(decl) = declared_at(dwarf, &unit, entry)?
                {
                    let name = crate::symbolize::demangle(&name.to_string_lossy()?);
                    inlinable.entry(name).or_insert(decl);
                }
                continue;
            }
            let Some(gimli::AttributeValue::Addr(low_pc)) = entry.attr_value(gimli::DW_AT_low_pc)
            else {
                continue;
            };
            // Dead code the linker dropped keeps its DIE at address 0 or -1
            // (tombstones); only a body that starts the function counts.
            let Some(index) = function_at(low_pc) else {
                continue;
            };
            if out.contains_key(&index) {
                continue;
            }
            // Methods and out-of-line copies of inline functions state
            // their declaration on the DIE they refer to.
            let mut decl = declared_at(dwarf, &unit, entry)?;
            for refer in [gimli::DW_AT_specification, gimli::DW_AT_abstract_origin] {
                if decl.is_some() {
                    break;
                }
                if let Some(gimli::AttributeValue::UnitRef(offset)) = entry.attr_value(refer) {
                    let target = unit.entry(offset)?;
                    decl = declared_at(dwarf, &unit, &target)?;
                }
            }
            if let Some(decl) = decl {
                out.insert(index, decl);
            }
        }
    }
    Ok((out, inlinable))
}

/// `DW_AT_decl_file`/`DW_AT_decl_line` of `entry`, the file resolved
/// through the unit's line program.
fn declared_at(
    dwarf: &gimli::Dwarf<Reader>,
    unit: &gimli::Unit<Reader>,
    entry: &gimli::DebuggingInformationEntry<Reader>,
) -> Result<Option<Location>, gimli::Error> {
    let (Some(gimli::AttributeValue::FileIndex(file)), Some(line)) = (
        entry.attr_value(gimli::DW_AT_decl_file),
        entry
            .attr_value(gimli::DW_AT_decl_line)
            .and_then(|v| v.udata_value()),
    ) else {
        return Ok(None);
    };
    let Some(program) = &unit.line_program else {
        return Ok(None);
    };
    let header = program.header();
    let Some(entry) = header.file(file) else {
        return Ok(None);
    };
    let text = |v| -> Result<String, gimli::Error> {
        Ok(dwarf.attr_string(unit, v)?.to_string_lossy()?.into_owned())
    };
    let name = text(entry.path_name())?;
    let mut path = std::path::PathBuf::new();
    if let Some(comp) = &unit.comp_dir {
        path.push(comp.to_string_lossy()?.as_ref());
    }
    if let Some(dir) = entry.directory(header) {
        path.push(text(dir)?);
    }
    path.push(name);
    // `dir/./file` as compilers join them: `.` components say nothing.
    let path: std::path::PathBuf = path.components().collect();
    Ok(Some(Location {
        file: path.to_string_lossy().into_owned(),
        line: line as u32,
    }))
}
