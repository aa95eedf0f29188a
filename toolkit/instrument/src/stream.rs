//! The streaming instrumenter: writes the artifact section by section from
//! the input, copying every instruction it does not change as bytes. It
//! writes both forms of the plain calling-context artifact: the probe
//! runtime imported from `wprof` (every host) or linked in
//! ([`Options::link_runtime`](crate::Options::link_runtime), what
//! `wprof run` runs natively). Memory hooks, self-profiling artifacts and
//! DWARF that must stay valid are walrus's ([`applies`]).
//!
//! walrus holds the whole module as IR: 2.2 GB and 2 s just to parse a
//! 69 MB C++ module. This holds the input, the output and one function body
//! at a time, and parses each body's operators once (twice when it has
//! exception handlers).
//!
//! Linking appends: the runtime's types, functions, globals and memory come
//! after the module's, so no index of the module changes. Importing puts
//! the probe imports after the module's imports, so its own functions move
//! up by their number and every function index is rewritten (calls,
//! `ref.func`, tables, element segments, exports, start, names). The probes
//! are those of [`crate::rewrite`], in the same places:
//!
//! ```text
//! i32.const fid; call $enter; local.set $saved
//! block (result R)   ;; the body: a branch to the function label now
//!   …                ;; targets this block at the same depth; `return`
//! end                ;; becomes `br depth`
//! local.get $saved; call $leave_<t>        ;; imported
//! [local.set $v; i32.const scratch; local.get $v; t.store wprof]
//! i32.const cur; local.get $saved; i32.store wprof; [local.get $v]   ;; linked
//! ```

use std::collections::{HashMap, HashSet};

use wasm_encoder::reencode::{Reencode, RoundtripReencoder};
use wasm_encoder::{Encode, Instruction, MemArg};
use wasmparser::{BinaryReader, FunctionBody, Operator, Parser, Payload, TypeRef};

use crate::abi::{self, FunctionEntry, Manifest};
use crate::{Error, Instrumented};

/// Whether the streaming instrumenter writes this artifact: nothing for
/// walrus to do (memory hooks, embedding, rewriting DWARF).
pub(crate) fn applies(wasm: &[u8], options: &crate::Options) -> bool {
    !options.memory && options.embed.is_none() && (!options.keep_dwarf || !has_dwarf(wasm))
}

fn has_dwarf(wasm: &[u8]) -> bool {
    crate::headers::payloads(wasm)
        .any(|p| matches!(p, Ok(Payload::CustomSection(c)) if crate::source::is_dwarf(c.name())))
}

/// An export the artifact adds: name, kind, index.
type Export = (String, wasm_encoder::ExportKind, u32);

/// A function type: parameters and results.
type FuncType = (Vec<wasmparser::ValType>, Vec<wasmparser::ValType>);

/// The probe imports in the order they are added, with their types.
const PROBE_IMPORTS: usize = 5 + abi::LEAVE_VALUE.len();

fn probe_imports() -> [(&'static str, FuncType); PROBE_IMPORTS] {
    use wasmparser::ValType::{F32, F64, I32, I64};
    let leave = |name, t| (name, (vec![t, I32], vec![t]));
    [
        (abi::ENTER, (vec![I32], vec![I32])),
        (abi::LEAVE, (vec![I32], vec![])),
        (abi::CURRENT, (vec![], vec![I32])),
        leave(abi::LEAVE_VALUE[0].0, I32),
        leave(abi::LEAVE_VALUE[1].0, I64),
        leave(abi::LEAVE_VALUE[2].0, F32),
        leave(abi::LEAVE_VALUE[3].0, F64),
        (abi::HOST_ENTER, (vec![I32], vec![])),
        (abi::HOST_LEAVE, (vec![], vec![])),
    ]
}

/// The function types the artifact adds to the module's: the module's own
/// where it has them (plain, final, alone in their group), else appended.
struct NewTypes {
    known: HashMap<FuncType, u32>,
    appended: Vec<FuncType>,
    base: u32,
}

impl NewTypes {
    fn index(&mut self, ty: FuncType) -> u32 {
        if let Some(&i) = self.known.get(&ty) {
            return i;
        }
        let i = self.base + self.appended.len() as u32;
        self.appended.push(ty.clone());
        self.known.insert(ty, i);
        i
    }
}

/// Instruments `wasm`; `entry` describes the function of each index for
/// the manifest.
pub(crate) fn instrument(
    wasm: &[u8],
    options: &crate::Options,
    entry: impl Fn(u32) -> FunctionEntry,
) -> Result<Instrumented, Error> {
    // Most of the input is copied unread, so the output is validated, and
    // the input only when something fails: one validation, not two, for
    // the modules that are valid (validating a 69 MB module takes a
    // second). An invalid input is reported as such, whatever tripped.
    write(wasm, options, entry).map_err(|e| match crate::validate(wasm) {
        Err(invalid) => Error::Parse(invalid),
        Ok(()) => e,
    })
}

fn write(
    wasm: &[u8],
    options: &crate::Options,
    entry: impl Fn(u32) -> FunctionEntry,
) -> Result<Instrumented, Error> {
    let mut module = Shape::read(wasm)?;
    let linked = options.link_runtime;
    let runtime = if linked {
        Some(Runtime::read(if options.link_shared {
            abi::runtime_wasm()
        } else {
            abi::runtime_wasm_unshared()
        })?)
    } else {
        None
    };

    let mut new_types = NewTypes {
        known: std::mem::take(&mut module.plain_types),
        appended: Vec::new(),
        base: module.types.len() as u32,
    };
    // Each body moves into a block with the function's results.
    let mut block_types = HashMap::new();
    for &ty in &module.local_types {
        let results = &module.func(ty)?.1;
        if results.len() > 1 && !block_types.contains_key(results) {
            let index = new_types.index((Vec::new(), results.clone()));
            block_types.insert(results.clone(), index);
        }
    }
    let import_types = probe_imports().map(|(_, ty)| if linked { 0 } else { new_types.index(ty) });
    let runtime_types: Vec<u32> = runtime
        .iter()
        .flat_map(|r| &r.types)
        .map(|ty| new_types.index(ty.clone()))
        .collect();
    let add_memory0 = linked && module.memories == 0;
    let rt_memory = module.memories + u32::from(add_memory0);
    let shift = Shift {
        types: &runtime_types,
        funcs: module.imported_funcs + module.local_types.len() as u32,
        globals: module.globals,
        memory: rt_memory,
    };
    let (probes, exports) = match &runtime {
        Some(runtime) => linked_probes(&module, runtime, &shift)?,
        None => (imported_probes(&module), Vec::new()),
    };
    let mut remap = probes.remap;
    let moved = remap.by;
    if let Some((name, ..)) = exports.iter().find(|e| module.exports.contains(&e.0)) {
        return Err(Error::Embed(format!("the module already exports `{name}`")));
    }
    let added = Added {
        types: &new_types.appended,
        runtime: runtime.as_ref(),
        shift,
        imports: (!linked).then_some(import_types),
    };

    let mut functions = Vec::with_capacity(module.local_types.len());
    let mut out = Sections::default();
    let reencode = reencode_error;
    let mut named = false;
    for payload in Parser::new(0).parse_all(wasm) {
        match payload.map_err(Error::Parse)? {
            Payload::TypeSection(reader) => {
                let mut types = wasm_encoder::TypeSection::new();
                RoundtripReencoder
                    .parse_type_section(&mut types, reader)
                    .map_err(reencode)?;
                out.put(1, &added.types(types)?);
            }
            Payload::ImportSection(reader) => {
                let mut imports = wasm_encoder::ImportSection::new();
                RoundtripReencoder
                    .parse_import_section(&mut imports, reader)
                    .map_err(reencode)?;
                out.put(2, &added.imports(imports));
            }
            Payload::FunctionSection(reader) => {
                let mut funcs = wasm_encoder::FunctionSection::new();
                for ty in reader {
                    funcs.function(ty.map_err(Error::Parse)?);
                }
                out.put(3, &added.funcs(funcs)?);
            }
            Payload::TableSection(reader) if moved > 0 => {
                let mut tables = wasm_encoder::TableSection::new();
                remap
                    .parse_table_section(&mut tables, reader)
                    .map_err(reencode)?;
                out.put(4, &tables);
            }
            Payload::MemorySection(reader) => {
                let mut memories = wasm_encoder::MemorySection::new();
                RoundtripReencoder
                    .parse_memory_section(&mut memories, reader)
                    .map_err(reencode)?;
                out.put(
                    5,
                    &added.memories(memories, add_memory0, options.link_shared),
                );
            }
            Payload::GlobalSection(reader) => {
                let mut globals = wasm_encoder::GlobalSection::new();
                remap
                    .parse_global_section(&mut globals, reader)
                    .map_err(reencode)?;
                out.put(6, &added.globals(globals)?);
            }
            Payload::ExportSection(reader) => {
                let mut section = wasm_encoder::ExportSection::new();
                remap
                    .parse_export_section(&mut section, reader)
                    .map_err(reencode)?;
                out.put(7, &exports_after(section, &exports));
            }
            // A linked artifact's host calls it after the runtime's `init`.
            Payload::StartSection { func, .. } if !linked => {
                out.put(
                    8,
                    &wasm_encoder::StartSection {
                        function_index: remap.func(func),
                    },
                );
            }
            Payload::StartSection { .. } => {}
            Payload::ElementSection(reader) if moved > 0 => {
                let mut elements = wasm_encoder::ElementSection::new();
                remap
                    .parse_element_section(&mut elements, reader)
                    .map_err(reencode)?;
                out.put(9, &elements);
            }
            Payload::CodeSectionStart { .. } => {}
            Payload::CodeSectionEntry(body) => {
                let fid = functions.len() as u32;
                let index = module.imported_funcs + fid;
                let ty = *module
                    .local_types
                    .get(fid as usize)
                    .ok_or_else(|| Error::Module("more function bodies than functions".into()))?;
                let (params, results) = module.func(ty)?;
                let block = match results.as_slice() {
                    [] => wasm_encoder::BlockType::Empty,
                    [t] => wasm_encoder::BlockType::Result(
                        RoundtripReencoder.val_type(*t).map_err(reencode)?,
                    ),
                    _ => wasm_encoder::BlockType::FunctionType(
                        block_types.get(results).copied().unwrap_or(0),
                    ),
                };
                let result = match results.as_slice() {
                    [t] => number(*t),
                    _ => None,
                };
                let shape = Signature {
                    params: *params,
                    block,
                    result,
                };
                out.code.raw(&probes.body(wasm, &body, fid, &shape)?);
                functions.push(entry(index));
                if functions.len() == module.local_types.len() {
                    let code = added.code(std::mem::take(&mut out.code))?;
                    out.put(10, &code);
                }
            }
            Payload::CustomSection(c) if c.name() == "name" => {
                named = true;
                // Names are for people, not for running: a name section
                // that can't be read is kept where indices stay, dropped
                // where they move.
                if let Some(runtime) = &runtime {
                    let names = names_after(Some(c.data()), runtime, &shift);
                    out.custom("name", names.as_deref().unwrap_or(c.data()));
                } else if let wasmparser::KnownCustom::Name(reader) = c.as_known()
                    && let Ok(names) = remap.custom_name_section(reader)
                {
                    out.put(0, &names);
                }
            }
            Payload::CustomSection(c) if crate::source::is_dwarf(c.name()) => {}
            Payload::CustomSection(c) => out.custom(c.name(), c.data()),
            Payload::End(_) => {}
            Payload::Version {
                encoding: wasmparser::Encoding::Component,
                ..
            } => return Err(Error::Module("a component, not a core module".into())),
            Payload::Version { .. } => {}
            other => {
                if let Some((id, range)) = other.as_section() {
                    out.put(id, &wasm[range]);
                }
            }
        }
    }
    // Sections the module did not have but what is added needs.
    if !linked {
        out.ensure(2, || Ok(added.imports(wasm_encoder::ImportSection::new())))?;
    }
    out.ensure(1, || added.types(wasm_encoder::TypeSection::new()))?;
    if let Some(runtime) = &runtime {
        out.ensure(3, || added.funcs(wasm_encoder::FunctionSection::new()))?;
        out.ensure(5, || {
            Ok(added.memories(
                wasm_encoder::MemorySection::new(),
                add_memory0,
                options.link_shared,
            ))
        })?;
        out.ensure(6, || added.globals(wasm_encoder::GlobalSection::new()))?;
        out.ensure(7, || {
            Ok(exports_after(wasm_encoder::ExportSection::new(), &exports))
        })?;
        out.ensure(10, || added.code(wasm_encoder::CodeSection::new()))?;
        if !named {
            out.custom("name", &names_after(None, runtime, &shift)?);
        }
    }
    let manifest = Manifest {
        abi: abi::ABI_VERSION,
        functions,
        memory: None,
        embed: None,
        linked,
    };
    out.custom(abi::SECTION, &manifest.to_bytes());
    let wasm = out.finish();
    crate::validate(&wasm).map_err(Error::Output)?;
    Ok(Instrumented { wasm, manifest })
}

/// The probes of a linked runtime, and the runtime's exports (and the
/// deferred start function) as the artifact exports them.
fn linked_probes(
    module: &Shape,
    runtime: &Runtime,
    shift: &Shift<'_>,
) -> Result<(Probes, Vec<Export>), Error> {
    let mut exports: Vec<Export> = runtime
        .exports
        .iter()
        .map(|(name, kind, index)| {
            let index = match kind {
                wasm_encoder::ExportKind::Func => shift.funcs + index,
                wasm_encoder::ExportKind::Global => shift.globals + index,
                _ => shift.memory,
            };
            (format!("{}{name}", abi::LINKED_PREFIX), *kind, index)
        })
        .collect();
    if let Some(start) = module.start {
        exports.push((
            abi::LINKED_START.into(),
            wasm_encoder::ExportKind::Func,
            start,
        ));
    }
    // Sorted, so the same input gives the same bytes.
    exports.sort_by(|a, b| a.0.cmp(&b.0));
    let probes = Probes {
        enter: shift.funcs + runtime.func(abi::ENTER)?,
        remap: Moved {
            imported: module.imported_funcs,
            by: 0,
        },
        form: Form::Linked {
            memory: shift.memory,
            cur: runtime.address(abi::runtime_exports::CUR_ADDR)?,
            host: runtime.address(abi::runtime_exports::HOST_ADDR)?,
            scratch: runtime.address(abi::runtime_exports::SCRATCH_ADDR)?,
        },
    };
    Ok((probes, exports))
}

/// The probes of the runtime imported from `wprof`, which come right after
/// the module's imported functions in [`probe_imports`] order.
fn imported_probes(module: &Shape) -> Probes {
    let at = |i: u32| module.imported_funcs + i;
    Probes {
        enter: at(0),
        remap: Moved {
            imported: module.imported_funcs,
            by: PROBE_IMPORTS as u32,
        },
        form: Form::Imported {
            leave: at(1),
            current: at(2),
            leave_value: [at(3), at(4), at(5), at(6)],
            host_enter: at(7),
            host_leave: at(8),
        },
    }
}

/// The module's own functions moved up past the probe imports.
#[derive(Clone, Copy)]
struct Moved {
    imported: u32,
    by: u32,
}

impl Moved {
    fn func(&self, f: u32) -> u32 {
        if f < self.imported { f } else { f + self.by }
    }
}

impl Reencode for Moved {
    type Error = std::convert::Infallible;

    fn function_index(&mut self, func: u32) -> Result<u32, wasm_encoder::reencode::Error> {
        Ok(self.func(func))
    }

    fn parse_custom_name_subsection(
        &mut self,
        names: &mut wasm_encoder::NameSection,
        section: wasmparser::Name<'_>,
    ) -> Result<(), wasm_encoder::reencode::Error> {
        match section {
            wasmparser::Name::Label(_) => Ok(()),
            other => {
                wasm_encoder::reencode::utils::parse_custom_name_subsection(self, names, other)
            }
        }
    }
}

/// Label names count a function's blocks, and each body now begins with
/// one more: they would name the wrong blocks.
const LABEL_NAMES: u8 = 3;

/// What the artifact adds to the module's sections.
struct Added<'a> {
    /// Function types, after the module's.
    types: &'a [FuncType],
    runtime: Option<&'a Runtime>,
    shift: Shift<'a>,
    /// The probe imports' type indices (the runtime is not linked).
    imports: Option<[u32; PROBE_IMPORTS]>,
}

/// What the instrumenter needs to know of the module before writing it.
#[derive(Default)]
struct Shape {
    /// Per type index: a function type's parameter count and results.
    types: Vec<Option<(u32, Vec<wasmparser::ValType>)>>,
    /// Function types that are final, have no supertype and are alone in
    /// their recursion group: the ones an added function type can reuse.
    plain_types: HashMap<FuncType, u32>,
    imported_funcs: u32,
    /// Type index of each local function.
    local_types: Vec<u32>,
    memories: u32,
    globals: u32,
    exports: HashSet<String>,
    start: Option<u32>,
}

impl Shape {
    fn read(wasm: &[u8]) -> Result<Shape, Error> {
        let mut shape = Shape::default();
        Self::read_all(wasm, &mut shape)?;
        Ok(shape)
    }

    fn read_all(wasm: &[u8], shape: &mut Shape) -> Result<(), Error> {
        for payload in Parser::new(0).parse_all(wasm) {
            match payload.map_err(Error::Parse)? {
                Payload::TypeSection(reader) => {
                    for group in reader {
                        let group = group.map_err(Error::Parse)?;
                        let alone = !group.is_explicit_rec_group();
                        for sub in group.into_types() {
                            let func = match &sub.composite_type.inner {
                                wasmparser::CompositeInnerType::Func(f) => Some(f),
                                _ => None,
                            };
                            if let Some(f) = func
                                && alone
                                && sub.is_final
                                && sub.supertype_idx.is_none()
                                && !sub.composite_type.shared
                            {
                                let ty = (f.params().to_vec(), f.results().to_vec());
                                let index = shape.types.len() as u32;
                                shape.plain_types.entry(ty).or_insert(index);
                            }
                            shape.types.push(
                                func.map(|f| (f.params().len() as u32, f.results().to_vec())),
                            );
                        }
                    }
                }
                Payload::ImportSection(reader) => {
                    for import in reader.into_imports() {
                        match import.map_err(Error::Parse)?.ty {
                            TypeRef::Func(_) | TypeRef::FuncExact(_) => shape.imported_funcs += 1,
                            TypeRef::Memory(_) => shape.memories += 1,
                            TypeRef::Global(_) => shape.globals += 1,
                            _ => {}
                        }
                    }
                }
                Payload::FunctionSection(reader) => {
                    for ty in reader {
                        shape.local_types.push(ty.map_err(Error::Parse)?);
                    }
                }
                Payload::MemorySection(reader) => shape.memories += reader.count(),
                Payload::GlobalSection(reader) => shape.globals += reader.count(),
                Payload::ExportSection(reader) => {
                    for export in reader {
                        shape
                            .exports
                            .insert(export.map_err(Error::Parse)?.name.to_string());
                    }
                }
                Payload::StartSection { func, .. } => shape.start = Some(func),
                // The code comes last but for data; nothing after it matters here.
                Payload::CodeSectionStart { .. } => break,
                _ => {}
            }
        }
        Ok(())
    }

    /// The parameter count and results of function type `ty`.
    fn func(&self, ty: u32) -> Result<&(u32, Vec<wasmparser::ValType>), Error> {
        self.types
            .get(ty as usize)
            .and_then(Option::as_ref)
            .ok_or_else(|| Error::Module(format!("type {ty} is not a function type")))
    }
}

/// The probe runtime, linked after the module's own items.
struct Runtime {
    wasm: &'static [u8],
    /// The runtime's exports: name, kind and index in the runtime.
    exports: Vec<Export>,
    /// Initial values of its `i32` constant globals, by index.
    constants: HashMap<u32, u32>,
    /// Its (function) types.
    types: Vec<FuncType>,
}

impl Runtime {
    fn read(wasm: &'static [u8]) -> Result<Runtime, Error> {
        let mut runtime = Runtime {
            wasm,
            exports: Vec::new(),
            constants: HashMap::new(),
            types: Vec::new(),
        };
        for payload in Parser::new(0).parse_all(wasm) {
            match payload.map_err(Error::Parse)? {
                Payload::ImportSection(_) => {
                    return Err(Error::Embed("the probe runtime has imports".into()));
                }
                Payload::TypeSection(reader) => {
                    for ty in reader.into_iter_err_on_gc_types() {
                        let ty = ty.map_err(Error::Parse)?;
                        runtime
                            .types
                            .push((ty.params().to_vec(), ty.results().to_vec()));
                    }
                }
                Payload::ExportSection(reader) => {
                    for export in reader {
                        let export = export.map_err(Error::Parse)?;
                        let kind = match export.kind {
                            wasmparser::ExternalKind::Func => wasm_encoder::ExportKind::Func,
                            wasmparser::ExternalKind::Global => wasm_encoder::ExportKind::Global,
                            wasmparser::ExternalKind::Memory => wasm_encoder::ExportKind::Memory,
                            _ => continue,
                        };
                        runtime
                            .exports
                            .push((export.name.into(), kind, export.index));
                    }
                }
                Payload::GlobalSection(reader) => {
                    for (index, global) in reader.into_iter().enumerate() {
                        let global = global.map_err(Error::Parse)?;
                        if let Ok(Operator::I32Const { value }) =
                            global.init_expr.get_operators_reader().read()
                        {
                            runtime.constants.insert(index as u32, value as u32);
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(runtime)
    }

    fn export(&self, name: &str, kind: wasm_encoder::ExportKind) -> Option<u32> {
        self.exports
            .iter()
            .find(|(n, k, _)| n == name && *k == kind)
            .map(|e| e.2)
    }

    /// The runtime's function `name`, as an index in the runtime.
    fn func(&self, name: &str) -> Result<u32, Error> {
        self.export(name, wasm_encoder::ExportKind::Func)
            .ok_or_else(|| Error::Embed(format!("runtime lacks `{name}`")))
    }

    /// The value of the runtime's constant `name`: an address in its memory.
    fn address(&self, name: &str) -> Result<u32, Error> {
        self.export(name, wasm_encoder::ExportKind::Global)
            .and_then(|g| self.constants.get(&g).copied())
            .ok_or_else(|| Error::Embed(format!("runtime lacks the constant `{name}`")))
    }

    fn payloads(&self) -> impl Iterator<Item = Result<Payload<'static>, Error>> {
        Parser::new(0)
            .parse_all(self.wasm)
            .map(|p| p.map_err(Error::Parse))
    }
}

/// Maps the runtime's indices to the artifact's: everything after the
/// module's own, its one memory to the memory linking added.
#[derive(Clone, Copy)]
struct Shift<'a> {
    /// The artifact's type index of each of the runtime's.
    types: &'a [u32],
    funcs: u32,
    globals: u32,
    memory: u32,
}

impl Reencode for Shift<'_> {
    type Error = std::convert::Infallible;

    fn type_index(&mut self, ty: u32) -> Result<u32, wasm_encoder::reencode::Error> {
        Ok(self.types[ty as usize])
    }

    fn function_index(&mut self, func: u32) -> Result<u32, wasm_encoder::reencode::Error> {
        Ok(self.funcs + func)
    }

    fn global_index(&mut self, global: u32) -> Result<u32, wasm_encoder::reencode::Error> {
        Ok(self.globals + global)
    }

    fn memory_index(&mut self, _: u32) -> Result<u32, wasm_encoder::reencode::Error> {
        Ok(self.memory)
    }
}

fn reencode_error(e: wasm_encoder::reencode::Error) -> Error {
    Error::Module(format!("{e}"))
}

impl Added<'_> {
    fn types(
        &self,
        mut types: wasm_encoder::TypeSection,
    ) -> Result<wasm_encoder::TypeSection, Error> {
        for (params, results) in self.types {
            let val_types = |v: &[wasmparser::ValType]| {
                v.iter()
                    .map(|&t| RoundtripReencoder.val_type(t))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(reencode_error)
            };
            types.ty().function(val_types(params)?, val_types(results)?);
        }
        Ok(types)
    }

    fn imports(&self, mut imports: wasm_encoder::ImportSection) -> wasm_encoder::ImportSection {
        if let Some(types) = self.imports {
            for ((name, _), ty) in probe_imports().into_iter().zip(types) {
                imports.import(
                    abi::IMPORT_MODULE,
                    name,
                    wasm_encoder::EntityType::Function(ty),
                );
            }
        }
        imports
    }

    fn funcs(
        &self,
        mut funcs: wasm_encoder::FunctionSection,
    ) -> Result<wasm_encoder::FunctionSection, Error> {
        for payload in self.runtime.iter().flat_map(|r| r.payloads()) {
            if let Payload::FunctionSection(reader) = payload? {
                for ty in reader {
                    funcs.function(self.shift.types[ty.map_err(Error::Parse)? as usize]);
                }
            }
        }
        Ok(funcs)
    }

    fn memories(
        &self,
        mut memories: wasm_encoder::MemorySection,
        add_memory0: bool,
        shared: bool,
    ) -> wasm_encoder::MemorySection {
        if self.runtime.is_none() {
            return memories;
        }
        // The runtime's memory must not become memory 0, which loads and
        // stores without a memory index use.
        if add_memory0 {
            memories.memory(wasm_encoder::MemoryType {
                minimum: 0,
                maximum: Some(0),
                memory64: false,
                shared: false,
                page_size_log2: None,
            });
        }
        memories.memory(wasm_encoder::MemoryType {
            minimum: 1,
            // Shared memories need a maximum: the runtime's own (4 GiB,
            // reserved address space only).
            maximum: shared.then_some(65536),
            memory64: false,
            shared,
            page_size_log2: None,
        });
        memories
    }

    fn globals(
        &self,
        mut globals: wasm_encoder::GlobalSection,
    ) -> Result<wasm_encoder::GlobalSection, Error> {
        for payload in self.runtime.iter().flat_map(|r| r.payloads()) {
            if let Payload::GlobalSection(reader) = payload? {
                for global in reader {
                    self.shift
                        .clone()
                        .parse_global(&mut globals, global.map_err(Error::Parse)?)
                        .map_err(reencode_error)?;
                }
            }
        }
        Ok(globals)
    }

    fn code(
        &self,
        mut code: wasm_encoder::CodeSection,
    ) -> Result<wasm_encoder::CodeSection, Error> {
        for payload in self.runtime.iter().flat_map(|r| r.payloads()) {
            if let Payload::CodeSectionEntry(body) = payload? {
                self.shift
                    .clone()
                    .parse_function_body(&mut code, body)
                    .map_err(reencode_error)?;
            }
        }
        Ok(code)
    }
}

fn exports_after(
    mut section: wasm_encoder::ExportSection,
    exports: &[Export],
) -> wasm_encoder::ExportSection {
    for (name, kind, index) in exports {
        section.export(name, *kind, *index);
    }
    section
}

/// The module's name section (`data`, if it has one) with the runtime's
/// function names added, prefixed `wprof:`, so a trap inside the runtime
/// says where.
fn names_after(
    data: Option<&[u8]>,
    runtime: &Runtime,
    shift: &Shift<'_>,
) -> Result<Vec<u8>, Error> {
    let mut extra = Vec::new();
    for payload in runtime.payloads() {
        if let Payload::CustomSection(c) = payload?
            && let wasmparser::KnownCustom::Name(reader) = c.as_known()
        {
            for name in reader {
                if let wasmparser::Name::Function(map) = name.map_err(Error::Parse)? {
                    for naming in map {
                        let naming = naming.map_err(Error::Parse)?;
                        extra.push((shift.funcs + naming.index, format!("wprof:{}", naming.name)));
                    }
                }
            }
        }
    }
    let functions = |existing: Option<&[u8]>| -> Result<Vec<u8>, Error> {
        let mut out = Vec::new();
        let (count, rest) = match existing {
            Some(bytes) => {
                let mut reader = BinaryReader::new(bytes, 0);
                let count = reader.read_var_u32().map_err(Error::Parse)?;
                (count, &bytes[reader.current_position()..])
            }
            None => (0, &[][..]),
        };
        (count + extra.len() as u32).encode(&mut out);
        out.extend_from_slice(rest);
        for (index, name) in &extra {
            index.encode(&mut out);
            name.as_str().encode(&mut out);
        }
        Ok(out)
    };
    let subsection = |out: &mut Vec<u8>, id: u8, bytes: &[u8]| {
        out.push(id);
        bytes.encode(out);
    };
    let mut out = Vec::new();
    let mut done = false;
    let mut reader = BinaryReader::new(data.unwrap_or_default(), 0);
    while !reader.eof() {
        let id = reader.read_u8().map_err(Error::Parse)?;
        let size = reader.read_var_u32().map_err(Error::Parse)?;
        let bytes = reader.read_bytes(size as usize).map_err(Error::Parse)?;
        // Subsections come in id order: the function names are 1.
        if id >= 1 && !done {
            done = true;
            if id == 1 {
                subsection(&mut out, 1, &functions(Some(bytes))?);
                continue;
            }
            subsection(&mut out, 1, &functions(None)?);
        }
        if id != LABEL_NAMES {
            subsection(&mut out, id, bytes);
        }
    }
    if !done {
        subsection(&mut out, 1, &functions(None)?);
    }
    Ok(out)
}

/// The sections written so far, each with its place in the module's
/// section order.
#[derive(Default)]
struct Sections {
    /// (place, section id, encoded size and contents)
    written: Vec<(usize, u8, Vec<u8>)>,
    /// The code section while its bodies are rewritten.
    code: wasm_encoder::CodeSection,
    /// Where the last non-custom section went, for the custom ones after it.
    place: usize,
}

/// Non-custom section ids in the order a module has them.
const ORDER: [u8; 13] = [1, 2, 3, 4, 5, 13, 6, 7, 8, 9, 12, 10, 11];

impl Sections {
    fn place(id: u8) -> usize {
        ORDER.iter().position(|&o| o == id).unwrap_or(0) + 1
    }

    /// Adds section `id` (0: a custom section, which stays after the
    /// section before it).
    fn put(&mut self, id: u8, section: &(impl Encode + ?Sized)) {
        let mut bytes = Vec::new();
        section.encode(&mut bytes);
        if id != 0 {
            self.place = Self::place(id);
        }
        self.written.push((self.place, id, bytes));
    }

    fn custom(&mut self, name: &str, data: &[u8]) {
        let section = wasm_encoder::CustomSection {
            name: name.into(),
            data: data.into(),
        };
        self.put(0, &section);
    }

    /// Adds section `id` if the module had none.
    fn ensure<S: Encode>(
        &mut self,
        id: u8,
        make: impl FnOnce() -> Result<S, Error>,
    ) -> Result<(), Error> {
        if !self.written.iter().any(|s| s.1 == id) {
            let place = self.place;
            self.put(id, &make()?);
            self.place = place;
        }
        Ok(())
    }

    fn finish(mut self) -> Vec<u8> {
        // Stable: custom sections stay after the section they followed.
        self.written.sort_by_key(|s| s.0);
        let size = self.written.iter().map(|s| s.2.len() + 1).sum::<usize>();
        let mut out = Vec::with_capacity(8 + size);
        out.extend_from_slice(b"\0asm\x01\0\0\0");
        for (_, id, bytes) in self.written {
            out.push(id);
            out.extend_from_slice(&bytes);
        }
        out
    }
}

/// A function's shape as its probes need it.
struct Signature {
    params: u32,
    /// The type of the block the body moves into: the function's results.
    block: wasm_encoder::BlockType,
    /// A single number result, computed before the exit probe.
    result: Option<Number>,
}

/// A number type, in `abi::LEAVE_VALUE` order.
#[derive(Clone, Copy)]
enum Number {
    I32,
    I64,
    F32,
    F64,
}

impl Number {
    fn val_type(self) -> wasm_encoder::ValType {
        match self {
            Number::I32 => wasm_encoder::ValType::I32,
            Number::I64 => wasm_encoder::ValType::I64,
            Number::F32 => wasm_encoder::ValType::F32,
            Number::F64 => wasm_encoder::ValType::F64,
        }
    }
}

fn number(t: wasmparser::ValType) -> Option<Number> {
    match t {
        wasmparser::ValType::I32 => Some(Number::I32),
        wasmparser::ValType::I64 => Some(Number::I64),
        wasmparser::ValType::F32 => Some(Number::F32),
        wasmparser::ValType::F64 => Some(Number::F64),
        _ => None,
    }
}

/// The probes, written as bytes.
struct Probes {
    /// `enter`'s function index.
    enter: u32,
    /// Where the module's own functions are in the artifact.
    remap: Moved,
    form: Form,
}

enum Form {
    /// The runtime is part of the module: its one-store probes are
    /// written out as stores to its memory.
    Linked {
        memory: u32,
        /// Addresses of the current-context word, the host-call word and
        /// the result scratch word.
        cur: u32,
        host: u32,
        scratch: u32,
    },
    /// The runtime is imported: every probe is a call (function indices).
    Imported {
        leave: u32,
        current: u32,
        /// `leave_<t>` for i32, i64, f32, f64.
        leave_value: [u32; 4],
        host_enter: u32,
        host_leave: u32,
    },
}

impl Probes {
    fn store(memory: u32, align: u32) -> MemArg {
        MemArg {
            offset: 0,
            align,
            memory_index: memory,
        }
    }

    /// Restores the context saved in `local`.
    fn restore(&self, out: &mut Vec<u8>, local: u32) {
        match self.form {
            Form::Linked { memory, cur, .. } => {
                Instruction::I32Const(cur as i32).encode(out);
                Instruction::LocalGet(local).encode(out);
                Instruction::I32Store(Self::store(memory, 2)).encode(out);
            }
            Form::Imported { leave, .. } => {
                Instruction::LocalGet(local).encode(out);
                Instruction::Call(leave).encode(out);
            }
        }
    }

    /// Pushes the current context.
    fn current(&self, out: &mut Vec<u8>) {
        match self.form {
            Form::Linked { memory, cur, .. } => {
                Instruction::I32Const(cur as i32).encode(out);
                Instruction::I32Load(Self::store(memory, 2)).encode(out);
            }
            Form::Imported { current, .. } => Instruction::Call(current).encode(out),
        }
    }

    /// Marks a call of the module's import `import` as running (`Some`) or
    /// returned (`None`).
    fn host_call(&self, out: &mut Vec<u8>, import: Option<u32>) {
        match self.form {
            Form::Linked { memory, host, .. } => {
                Instruction::I32Const(host as i32).encode(out);
                Instruction::I32Const(import.map_or(0, |i| i + 1) as i32).encode(out);
                Instruction::I32Store(Self::store(memory, 2)).encode(out);
            }
            Form::Imported {
                host_enter,
                host_leave,
                ..
            } => match import {
                Some(i) => {
                    Instruction::I32Const(i as i32).encode(out);
                    Instruction::Call(host_enter).encode(out);
                }
                None => Instruction::Call(host_leave).encode(out),
            },
        }
    }

    /// Restores the context at the end of a function whose results are on
    /// the stack; a single number result is computed first (see
    /// [`crate::rewrite`]), kept in `value` where the runtime is linked.
    fn exit(&self, out: &mut Vec<u8>, saved: u32, result: Option<Number>, value: Option<u32>) {
        match (&self.form, result, value) {
            (Form::Imported { leave_value, .. }, Some(t), _) => {
                Instruction::LocalGet(saved).encode(out);
                Instruction::Call(leave_value[t as usize]).encode(out);
            }
            (
                &Form::Linked {
                    memory, scratch, ..
                },
                Some(t),
                Some(v),
            ) => {
                Instruction::LocalSet(v).encode(out);
                Instruction::I32Const(scratch as i32).encode(out);
                Instruction::LocalGet(v).encode(out);
                match t {
                    Number::I32 => Instruction::I32Store(Self::store(memory, 2)),
                    Number::I64 => Instruction::I64Store(Self::store(memory, 3)),
                    Number::F32 => Instruction::F32Store(Self::store(memory, 2)),
                    Number::F64 => Instruction::F64Store(Self::store(memory, 3)),
                }
                .encode(out);
                self.restore(out, saved);
                Instruction::LocalGet(v).encode(out);
            }
            _ => self.restore(out, saved),
        }
    }

    /// Rewrites one function body (probe id `fid`).
    fn body(
        &self,
        wasm: &[u8],
        body: &FunctionBody,
        fid: u32,
        sig: &Signature,
    ) -> Result<Vec<u8>, Error> {
        // Most functions have no exception handlers: one pass finds out.
        if let Some(out) = self.write(wasm, body, fid, sig, None)? {
            return Ok(out);
        }
        let landings = Landings::collect(body)?;
        Ok(self
            .write(wasm, body, fid, sig, Some(&landings))?
            .unwrap_or_default())
    }

    /// Writes the body; `None` when it has exception handlers and
    /// `landings` was not given.
    fn write(
        &self,
        wasm: &[u8],
        body: &FunctionBody,
        fid: u32,
        sig: &Signature,
        landings: Option<&Landings>,
    ) -> Result<Option<Vec<u8>>, Error> {
        let parse = Error::Parse;
        let mut reader = body.get_binary_reader();
        let groups = reader.read_var_u32().map_err(parse)?;
        let groups_at = reader.original_position();
        let mut locals = sig.params;
        for _ in 0..groups {
            locals = locals.saturating_add(reader.read_var_u32().map_err(parse)?);
            reader.read::<wasmparser::ValType>().map_err(parse)?;
        }
        // The probes' locals must have indices (the validator allows far
        // fewer locals than this anyway).
        if locals > u32::MAX - 4 {
            return Err(Error::Module("too many locals".into()));
        }
        let ops_at = reader.original_position();

        let saved = locals;
        let this = landings.filter(|l| l.any).map(|_| locals + 1);
        let linked = matches!(self.form, Form::Linked { .. });
        let value = sig
            .result
            .filter(|_| linked)
            .map(|t| (locals + 1 + u32::from(this.is_some()), t));
        let mut out = Vec::with_capacity(body.range().len() + 64);
        (groups + 1 + u32::from(this.is_some()) + u32::from(value.is_some())).encode(&mut out);
        out.extend_from_slice(&wasm[groups_at..ops_at]);
        let local = |out: &mut Vec<u8>, t: wasm_encoder::ValType| {
            1u32.encode(out);
            t.encode(out);
        };
        local(&mut out, wasm_encoder::ValType::I32);
        if this.is_some() {
            local(&mut out, wasm_encoder::ValType::I32);
        }
        if let Some((_, t)) = value {
            local(&mut out, t.val_type());
        }

        Instruction::I32Const(fid as i32).encode(&mut out);
        Instruction::Call(self.enter).encode(&mut out);
        Instruction::LocalSet(saved).encode(&mut out);
        if let Some(this) = this {
            self.current(&mut out);
            Instruction::LocalSet(this).encode(&mut out);
        }
        Instruction::Block(sig.block).encode(&mut out);

        let landing = |out: &mut Vec<u8>| {
            if let Some(this) = this {
                self.restore(out, this);
            }
        };
        let target = |open: usize| landings.is_some_and(|l| l.targets.contains(&open));
        // Bytes of the body before `copied` are in `out`.
        let mut copied = ops_at;
        let copy = |out: &mut Vec<u8>, copied: &mut usize, to: usize| {
            out.extend_from_slice(&wasm[*copied..to]);
            *copied = to;
        };
        // Open blocks: where each began, and whether it is a loop.
        let mut open: Vec<(usize, bool)> = Vec::new();
        let mut ops = body.get_operators_reader().map_err(parse)?;
        loop {
            let (op, at) = ops.read_with_offset().map_err(parse)?;
            let end = ops.original_position();
            // The op with its function index moved, if it names one.
            let moved = |out: &mut Vec<u8>, copied: &mut usize, op: Instruction| {
                if self.remap.by > 0 {
                    copy(out, copied, at);
                    op.encode(out);
                    *copied = end;
                }
            };
            match op {
                Operator::Block { .. } | Operator::If { .. } => open.push((at, false)),
                Operator::Loop { .. } => {
                    open.push((at, true));
                    if target(at) {
                        copy(&mut out, &mut copied, end);
                        landing(&mut out);
                    }
                }
                Operator::Try { .. } | Operator::TryTable { .. } => {
                    if landings.is_none() {
                        return Ok(None);
                    }
                    open.push((at, false));
                }
                // Legacy handlers begin here.
                Operator::Catch { .. } | Operator::CatchAll => {
                    copy(&mut out, &mut copied, end);
                    landing(&mut out);
                }
                Operator::End | Operator::Delegate { .. } => match open.pop() {
                    None => {
                        copy(&mut out, &mut copied, at);
                        break;
                    }
                    Some((began, is_loop)) => {
                        if !is_loop && target(began) {
                            copy(&mut out, &mut copied, end);
                            landing(&mut out);
                        }
                    }
                },
                // `return` and a branch to the function label keep the same
                // values; the label is now the block the exit follows.
                Operator::Return => {
                    copy(&mut out, &mut copied, at);
                    Instruction::Br(open.len() as u32).encode(&mut out);
                    copied = end;
                }
                // Tail calls replace the frame: the exit runs first.
                Operator::ReturnCall { function_index } => {
                    copy(&mut out, &mut copied, at);
                    self.restore(&mut out, saved);
                    moved(
                        &mut out,
                        &mut copied,
                        Instruction::ReturnCall(self.remap.func(function_index)),
                    );
                }
                Operator::ReturnCallIndirect { .. } | Operator::ReturnCallRef { .. } => {
                    copy(&mut out, &mut copied, at);
                    self.restore(&mut out, saved);
                }
                // The arguments are already on the stack; the marks take
                // and leave nothing there.
                Operator::Call { function_index } if function_index < self.remap.imported => {
                    copy(&mut out, &mut copied, at);
                    self.host_call(&mut out, Some(function_index));
                    copy(&mut out, &mut copied, end);
                    self.host_call(&mut out, None);
                }
                Operator::Call { function_index } => {
                    moved(
                        &mut out,
                        &mut copied,
                        Instruction::Call(self.remap.func(function_index)),
                    );
                }
                Operator::RefFunc { function_index } => {
                    moved(
                        &mut out,
                        &mut copied,
                        Instruction::RefFunc(self.remap.func(function_index)),
                    );
                }
                _ => {}
            }
        }
        Instruction::End.encode(&mut out);
        self.exit(&mut out, saved, sig.result, value.map(|v| v.0));
        Instruction::End.encode(&mut out);
        Ok(Some(out))
    }
}

/// Where execution resumes after an exception is caught, so the current
/// context is re-established there.
#[derive(Default)]
struct Landings {
    /// Blocks (by where they begin) that a `try_table` catch targets: a
    /// block, `if` or `try` resumes after its end, a loop at its start.
    targets: HashSet<usize>,
    /// Any catch at all, legacy handlers included.
    any: bool,
}

impl Landings {
    fn collect(body: &FunctionBody) -> Result<Landings, Error> {
        let mut out = Landings::default();
        let mut open = Vec::new();
        let mut ops = body.get_operators_reader().map_err(Error::Parse)?;
        while !ops.eof() {
            let (op, at) = ops.read_with_offset().map_err(Error::Parse)?;
            match op {
                Operator::Block { .. }
                | Operator::If { .. }
                | Operator::Loop { .. }
                | Operator::Try { .. } => open.push(at),
                Operator::TryTable { try_table } => {
                    // Catch labels count from outside the `try_table`.
                    for c in &try_table.catches {
                        out.any = true;
                        let (wasmparser::Catch::One { label, .. }
                        | wasmparser::Catch::OneRef { label, .. }
                        | wasmparser::Catch::All { label }
                        | wasmparser::Catch::AllRef { label }) = *c;
                        if let Some(i) = open.len().checked_sub(1 + label as usize) {
                            out.targets.insert(open[i]);
                        }
                    }
                    open.push(at);
                }
                Operator::Catch { .. } | Operator::CatchAll => out.any = true,
                Operator::End | Operator::Delegate { .. } => {
                    open.pop();
                }
                _ => {}
            }
        }
        Ok(out)
    }
}
