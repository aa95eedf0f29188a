//! Self-profiling artifacts (`wprof instrument --embed`): the profiler is
//! linked into the instrumented module itself, which then runs on hosts
//! wprof does not control with no `wprof` imports and writes its own
//! profile. Two storage tiers ([`Tier`]): the calling-context tree (the
//! probe runtime, runtime.wat, and tree.wat, in a memory of their own:
//! hosts with multi-memory, i.e. wasmtime and what is built on it), or
//! per-function counters in globals (the counts tier: every host, Node 20
//! too).
//! embed.wat, shared by both, writes the profile through WASI.
//!
//! Linking copies the runtime modules' functions and globals into the
//! guest; memory 0 and its `memory.grow` results stay what they were. The
//! guest's probe calls then go to the copied runtime (or become counter
//! increments); its `proc_exit` calls, a wrapped `_start`, every N export
//! calls and the exported `wprof_dump` write the profile; and every
//! function export is wrapped to time each call.

use std::collections::HashMap;

use walrus::ir::{self, Instr, InstrSeqId, InstrSeqType, VisitorMut};
use walrus::{
    ConstExpr, ExportItem, FunctionBuilder, FunctionId, FunctionKind, GlobalId, GlobalKind,
    ImportKind, LocalId, MemoryId, Module, ModuleConfig, ValType,
};

use crate::Error;
use crate::abi::{self, EmbedManifest};

mod counts;

const EMBED_WAT: &str = include_str!("embed.wat");
const TREE_WAT: &str = include_str!("tree.wat");
const WASI: &str = "wasi_snapshot_preview1";
/// What WASI's functions return for "not implemented".
const ENOSYS: i32 = 52;

/// Exports the artifact adds: writing the profile, and reading it out for
/// hosts with no filesystem.
pub const DUMP: &str = "wprof_dump";
/// `wprof_profile_len() -> i32`.
pub const PROFILE_LEN: &str = "wprof_profile_len";
/// `wprof_profile_copy(dst: i32) -> i32`.
pub const PROFILE_COPY: &str = "wprof_profile_copy";
/// `wprof_profile_ptr() -> i32`: where in [`MEMORY`] the profile
/// `wprof_profile_len` built is.
pub const PROFILE_PTR: &str = "wprof_profile_ptr";
/// The runtime's memory.
pub const MEMORY: &str = "wprof_memory";

/// Where an embedded artifact keeps what it records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tier {
    /// The calling-context tree of this many nodes and latency histograms,
    /// in a memory of the runtime's own (hosts with multi-memory).
    Contexts(u32),
    /// Exact calls per function and per-export call count, total and
    /// maximum, in globals: runs on every host (Node 20 has no
    /// multi-memory).
    Counts,
}

/// How to embed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Embed {
    /// Where the artifact keeps what it records.
    pub tier: Tier,
    /// Import the WASI functions the artifact needs to time calls and
    /// write its profile even when the module imports no WASI (its host
    /// must then link WASI preview1). Otherwise such modules get no new
    /// imports and keep exact counts only, read through their exports.
    pub wasi: bool,
    /// Also write the profile after every this many calls of the module's
    /// exports (all of them together), for services that never exit.
    pub dump_every: Option<u64>,
}

impl Embed {
    /// The contexts tier with a tree of `node_cap` nodes, WASI only where
    /// the module has it, no periodic dumps.
    pub fn contexts(node_cap: u32) -> Embed {
        Embed {
            tier: Tier::Contexts(node_cap),
            wasi: false,
            dump_every: None,
        }
    }
}

/// The probe runtime linked into a module: its memory, and its exports as
/// the module's items.
pub(crate) type Runtime = (MemoryId, HashMap<String, ExportItem>);

/// Links the runtimes into `module`, for `n_funcs` probed functions, as
/// `how` says: the counts tier replaces the probe imports `probes` (name,
/// function); the contexts tier builds on the probe runtime already linked
/// (`runtime`, see [`link_runtime`]). `id` names this artifact in its
/// profiles.
pub(crate) fn link(
    module: &mut Module,
    probes: &[(&str, FunctionId)],
    runtime: Option<Runtime>,
    n_funcs: u32,
    how: Embed,
    id: u64,
) -> Result<EmbedManifest, Error> {
    let Embed {
        tier,
        wasi,
        dump_every,
    } = how;
    // A module without memory gets an empty memory 0 that nothing else
    // uses, so the embedded code has one to name; WASI can't write through
    // it, the exports still give the profile.
    let first = module.memories.iter().next().map(|m| m.id());
    let guest_memory =
        first.unwrap_or_else(|| module.memories.add_local(false, false, 0, Some(0), None));
    // A module that uses no WASI must not need it now: its WASI calls fail
    // (ENOSYS), so it keeps exact counts and call counts per export.
    let uses_wasi = wasi || module.imports.iter().any(|i| i.module == WASI);
    if module.memories.get(guest_memory).memory64 {
        return Err(Error::Embed("64-bit memories are not supported".into()));
    }
    let originals: Vec<FunctionId> = module
        .funcs
        .iter()
        .filter(|f| matches!(f.kind, FunctionKind::Local(_)))
        .map(|f| f.id())
        .collect();
    let n_exports = module
        .exports
        .iter()
        .filter(|e| matches!(e.item, ExportItem::Function(_)) && e.name != "_initialize")
        .count() as u32;

    // The storage tier: `tier.*` for embed.wat, and where probe calls go.
    let mut redirect = HashMap::new();
    let mut memory_probes = Vec::new();
    let has_memory = module.imports.iter().any(|i| i.module == abi::mem::MODULE);
    if has_memory && tier == Tier::Counts {
        return Err(Error::Embed(
            "allocation counts (memory probes) need calling contexts, not the counts tier".into(),
        ));
    }
    let mut init = None;
    let (tier_exports, rt_memory) = match tier {
        Tier::Contexts(node_cap) => {
            let (rt_memory, rt_exports) = runtime
                .ok_or_else(|| Error::Embed("the contexts tier needs the linked runtime".into()))?;
            let tree = parse(&assemble("tree.wat", TREE_WAT)?)?;
            let mut t = Linker::new();
            for import in tree.imports.iter() {
                match (import.module.as_str(), &import.kind) {
                    ("guest", ImportKind::Memory(m)) => {
                        t.memories.insert(*m, guest_memory);
                    }
                    ("wprof", ImportKind::Memory(m)) => {
                        t.memories.insert(*m, rt_memory);
                    }
                    ("wprof", ImportKind::Global(g)) => {
                        match rt_exports.get(import.name.as_str()) {
                            Some(ExportItem::Global(mine)) => {
                                t.globals.insert(*g, *mine);
                            }
                            _ => {
                                return Err(Error::Embed(format!(
                                    "runtime lacks `{}`",
                                    import.name
                                )));
                            }
                        }
                    }
                    _ => return Err(unexpected("tree.wat", import)),
                }
            }
            let exports = t.link(&tree, module)?;
            // Memory probes count allocations per context here.
            for name in [
                abi::mem::ALLOC,
                abi::mem::FREE,
                abi::mem::REALLOC,
                abi::mem::GROW,
                abi::mem::GC_BEGIN,
                abi::mem::GC_END,
                abi::mem::GC_CYCLE,
            ] {
                if let Some(import) = memory_probe(module, name) {
                    redirect.insert(import, func(&exports, name)?);
                    memory_probes.push(import);
                }
            }
            init = Some((
                func(&rt_exports, abi::runtime_exports::INIT)?,
                node_cap,
                func(&exports, "embed_init")?,
            ));
            (exports, Some(rt_memory))
        }
        Tier::Counts => {
            let exports = counts::tier(
                module,
                guest_memory,
                probes,
                &originals,
                n_funcs,
                n_exports,
                id,
            )?;
            (exports, None)
        }
    };

    // The shared part, its imports resolved in the guest.
    let embedded = parse(&assemble("embed.wat", EMBED_WAT)?)?;
    let mut em = Linker::new();
    for import in embedded.imports.iter() {
        match (import.module.as_str(), &import.kind) {
            (WASI, ImportKind::Function(f)) => {
                let ty = embedded.types.get(embedded.funcs.get(*f).ty());
                let (params, results) = (ty.params().to_vec(), ty.results().to_vec());
                let g = match imported(module, &import.name) {
                    Some(g) => g,
                    None if uses_wasi => {
                        let ty = module.types.add(&params, &results);
                        module.add_import_func(WASI, &import.name, ty).0
                    }
                    None => {
                        let mut b = FunctionBuilder::new(&mut module.types, &params, &results);
                        b.func_body().i32_const(ENOSYS);
                        let args = params.iter().map(|&t| module.locals.add(t)).collect();
                        b.finish(args, &mut module.funcs)
                    }
                };
                em.funcs.insert(*f, g);
            }
            ("guest", ImportKind::Memory(m)) => {
                em.memories.insert(*m, guest_memory);
            }
            ("tier", ImportKind::Function(f)) => {
                em.funcs.insert(*f, func(&tier_exports, &import.name)?);
            }
            _ => return Err(unexpected("embed.wat", import)),
        }
    }
    let em_exports = em.link(&embedded, module)?;

    // The guest's probe imports become calls of the linked runtime, and its
    // exits write the profile first.
    let dump = func(&em_exports, DUMP)?;
    if let Some(exit) = imported(module, "proc_exit") {
        let ty = module.types.get(module.funcs.get(exit).ty());
        let (params, results) = (ty.params().to_vec(), ty.results().to_vec());
        let mut b = FunctionBuilder::new(&mut module.types, &params, &results);
        let code = module.locals.add(ValType::I32);
        b.func_body().call(dump).drop().local_get(code).call(exit);
        let hook = b.finish(vec![code], &mut module.funcs);
        module.funcs.get_mut(hook).name = Some("wprof:proc_exit".into());
        redirect.insert(exit, hook);
    }
    let mut calls = Redirect(&redirect);
    for &f in &originals {
        if let FunctionKind::Local(local) = &mut module.funcs.get_mut(f).kind {
            let entry = local.entry_block();
            ir::dfs_pre_order_mut(&mut calls, local, entry);
        }
    }
    // No call of a probe import is left.
    for &import in probes.iter().map(|(_, f)| f).chain(&memory_probes) {
        if let Some(i) = module.imports.get_imported_func(import).map(|i| i.id()) {
            module.imports.delete(i);
        }
        module.funcs.delete(import);
    }

    // Every exported function is timed; `_start` also writes the profile
    // when it returns.
    let now = func(&em_exports, "now")?;
    let record = func(&tier_exports, "record")?;
    let wrapped: Vec<(walrus::ExportId, String, FunctionId)> = module
        .exports
        .iter()
        .filter_map(|e| match e.item {
            ExportItem::Function(f) if e.name != "_initialize" => Some((e.id(), e.name.clone(), f)),
            _ => None,
        })
        .collect();
    let mut exports = Vec::new();
    // Completed export calls, for `dump_every`.
    let calls = module.globals.add_local(
        ValType::I64,
        true,
        false,
        ConstExpr::Value(ir::Value::I64(0)),
    );
    for (k, (export, name, f)) in wrapped.into_iter().enumerate() {
        let ty = module.types.get(module.funcs.get(f).ty());
        let (params, results) = (ty.params().to_vec(), ty.results().to_vec());
        let args: Vec<LocalId> = params.iter().map(|&t| module.locals.add(t)).collect();
        let t0 = module.locals.add(ValType::I64);
        let mut b = FunctionBuilder::new(&mut module.types, &params, &results);
        let mut body = b.func_body();
        body.call(now).local_set(t0);
        for &a in &args {
            body.local_get(a);
        }
        // The results stay on the stack under the timing.
        body.call(f)
            .i32_const(k as i32)
            .call(now)
            .local_get(t0)
            .binop(ir::BinaryOp::I64Sub)
            .call(record);
        if name == "_start" {
            body.call(dump).drop();
        } else if let Some(every) = dump_every {
            body.global_get(calls)
                .i64_const(1)
                .binop(ir::BinaryOp::I64Add)
                .global_set(calls)
                .global_get(calls)
                .i64_const(every as i64)
                .binop(ir::BinaryOp::I64RemU)
                .unop(ir::UnaryOp::I64Eqz)
                .if_else(
                    None,
                    |then| {
                        then.call(dump).drop();
                    },
                    |_| {},
                );
        }
        let wrapper = b.finish(args, &mut module.funcs);
        module.funcs.get_mut(wrapper).name = Some(format!("wprof:{name}"));
        module.exports.get_mut(export).item = ExportItem::Function(wrapper);
        exports.push(name);
    }
    for name in [DUMP, PROFILE_LEN, PROFILE_COPY, PROFILE_PTR, MEMORY] {
        if module.exports.iter().any(|e| e.name == name) {
            return Err(Error::Embed(format!("the module already exports `{name}`")));
        }
    }
    for name in [DUMP, PROFILE_LEN, PROFILE_COPY] {
        module.exports.add(name, func(&em_exports, name)?);
    }
    if let Some(rt_memory) = rt_memory {
        module
            .exports
            .add(PROFILE_PTR, func(&tier_exports, PROFILE_PTR)?);
        module.exports.add(MEMORY, rt_memory);
    }

    // Set up before anything else runs: instantiation runs the start
    // function first.
    if let Some((init, node_cap, embed_init)) = init {
        let mut b = FunctionBuilder::new(&mut module.types, &[], &[]);
        let mut body = b.func_body();
        body.i32_const(n_funcs as i32)
            .i32_const(node_cap as i32)
            .call(init)
            .drop()
            .i32_const(exports.len() as i32)
            .i64_const(id as i64)
            .i32_const(has_memory as i32)
            .call(embed_init);
        if let Some(start) = module.start {
            body.call(start);
        }
        let start = b.finish(vec![], &mut module.funcs);
        module.funcs.get_mut(start).name = Some("wprof:start".into());
        module.start = Some(start);
    }

    Ok(EmbedManifest {
        id: format!("{id:016x}"),
        exports,
        node_cap: match tier {
            Tier::Contexts(n) => n,
            Tier::Counts => 0,
        },
    })
}

/// Copies the probe runtime (runtime.wat) into `module`, with a memory of
/// its own after the module's (`shared`: as the runtime declares it, for
/// samplers on another thread); returns that memory and the runtime's
/// exports as `module` items.
pub(crate) fn link_runtime(module: &mut Module, shared: bool) -> Result<Runtime, Error> {
    // Shared memories need a maximum: the runtime's own (4 GiB, reserved
    // address space only).
    let maximum = shared.then_some(65536);
    let rt_memory = module.memories.add_local(shared, false, 1, maximum, None);
    module.memories.get_mut(rt_memory).name = Some("wprof".into());
    let runtime = parse(abi::runtime_wasm())?;
    let mut rt = Linker::new();
    for m in runtime.memories.iter() {
        rt.memories.insert(m.id(), rt_memory);
    }
    Ok((rt_memory, rt.link(&runtime, module)?))
}

/// The guest's memory-probe import `name`, if it has one.
fn memory_probe(module: &Module, name: &str) -> Option<FunctionId> {
    let i = module.imports.find(abi::mem::MODULE, name)?;
    match module.imports.get(i).kind {
        ImportKind::Function(f) => Some(f),
        _ => None,
    }
}

/// The guest's import `wasi_snapshot_preview1::name`, if it has one.
fn imported(module: &Module, name: &str) -> Option<FunctionId> {
    let i = module.imports.find(WASI, name)?;
    match module.imports.get(i).kind {
        ImportKind::Function(f) => Some(f),
        _ => None,
    }
}

pub(crate) fn func(exports: &HashMap<String, ExportItem>, name: &str) -> Result<FunctionId, Error> {
    match exports.get(name) {
        Some(ExportItem::Function(f)) => Ok(*f),
        _ => Err(Error::Embed(format!("runtime lacks `{name}`"))),
    }
}

fn unexpected(source: &str, import: &walrus::Import) -> Error {
    Error::Embed(format!(
        "{source} imports {}::{}",
        import.module, import.name
    ))
}

fn assemble(name: &str, text: &str) -> Result<Vec<u8>, Error> {
    wat::parse_str(text).map_err(|e| Error::Embed(format!("{name}: {e}")))
}

fn parse(wasm: &[u8]) -> Result<Module, Error> {
    ModuleConfig::new()
        .parse(wasm)
        .map_err(|e| Error::Embed(format!("runtime module: {e:#}")))
}

/// Rewrites calls (and references) of the functions in the map.
struct Redirect<'a>(&'a HashMap<FunctionId, FunctionId>);

impl VisitorMut for Redirect<'_> {
    fn visit_function_id_mut(&mut self, f: &mut FunctionId) {
        if let Some(&to) = self.0.get(f) {
            *f = to;
        }
    }
}

/// Copies one module's globals and local functions into another, mapping
/// ids; the caller fills in what the source imports.
struct Linker {
    funcs: HashMap<FunctionId, FunctionId>,
    globals: HashMap<GlobalId, GlobalId>,
    memories: HashMap<MemoryId, MemoryId>,
}

impl Linker {
    fn new() -> Linker {
        Linker {
            funcs: HashMap::new(),
            globals: HashMap::new(),
            memories: HashMap::new(),
        }
    }

    /// Copies `src` into `dst`; returns `src`'s exports as `dst` items.
    fn link(
        &mut self,
        src: &Module,
        dst: &mut Module,
    ) -> Result<HashMap<String, ExportItem>, Error> {
        for g in src.globals.iter() {
            let GlobalKind::Local(init) = &g.kind else {
                continue;
            };
            let init = match init {
                ConstExpr::Value(v) => ConstExpr::Value(*v),
                _ => {
                    return Err(Error::Embed(
                        "runtime global with a non-constant init".into(),
                    ));
                }
            };
            let id = dst.globals.add_local(g.ty, g.mutable, false, init);
            self.globals.insert(g.id(), id);
        }
        // Placeholders first, so bodies can call any of them.
        let locals: Vec<_> = src
            .funcs
            .iter()
            .filter_map(|f| match &f.kind {
                FunctionKind::Local(l) => Some((f, l)),
                _ => None,
            })
            .collect();
        for (f, _) in &locals {
            let ty = src.types.get(f.ty());
            let b = FunctionBuilder::new(&mut dst.types, ty.params(), ty.results());
            let id = b.finish(vec![], &mut dst.funcs);
            dst.funcs.get_mut(id).name = f.name.as_ref().map(|n| format!("wprof:{n}"));
            self.funcs.insert(f.id(), id);
        }
        for (f, local) in &locals {
            let ty = src.types.get(f.ty());
            let mut b = FunctionBuilder::new(&mut dst.types, ty.params(), ty.results());
            let entry = b.func_body_id();
            copy_seq(
                local,
                local.entry_block(),
                entry,
                &mut HashMap::new(),
                &mut b,
            );
            let mut remap = Remap {
                linker: self,
                src,
                dst_locals: &mut dst.locals,
                locals: HashMap::new(),
                copies: Default::default(),
            };
            let args: Vec<LocalId> = local.args.iter().map(|&a| remap.local(a)).collect();
            let mut body = b.local_func(args);
            ir::dfs_pre_order_mut(&mut remap, &mut body, entry);
            dst.funcs.get_mut(self.funcs[&f.id()]).kind = FunctionKind::Local(body);
        }
        Ok(src
            .exports
            .iter()
            .filter_map(|e| {
                let item = match e.item {
                    ExportItem::Function(f) => ExportItem::Function(*self.funcs.get(&f)?),
                    ExportItem::Global(g) => ExportItem::Global(*self.globals.get(&g)?),
                    ExportItem::Memory(m) => ExportItem::Memory(*self.memories.get(&m)?),
                    _ => return None,
                };
                Some((e.name.clone(), item))
            })
            .collect())
    }
}

/// Copies the instruction sequence `from` of `func` into `to`, with the
/// sequences it contains; branch targets follow (`seqs`: source → copy).
fn copy_seq(
    func: &walrus::LocalFunction,
    from: InstrSeqId,
    to: InstrSeqId,
    seqs: &mut HashMap<InstrSeqId, InstrSeqId>,
    b: &mut FunctionBuilder,
) {
    seqs.insert(from, to);
    let inner = |seq: InstrSeqId,
                 seqs: &mut HashMap<InstrSeqId, InstrSeqId>,
                 b: &mut FunctionBuilder| {
        let ty = match func.block(seq).ty {
            InstrSeqType::Simple(t) => InstrSeqType::Simple(t),
            InstrSeqType::MultiValue(_) => unreachable!("the runtimes use no multi-value blocks"),
        };
        let id = b.dangling_instr_seq(ty).id();
        copy_seq(func, seq, id, seqs, b);
        id
    };
    for (instr, _) in &func.block(from).instrs {
        let instr = match instr {
            Instr::Block(ir::Block { seq }) => Instr::Block(ir::Block {
                seq: inner(*seq, seqs, b),
            }),
            Instr::Loop(ir::Loop { seq }) => Instr::Loop(ir::Loop {
                seq: inner(*seq, seqs, b),
            }),
            Instr::IfElse(ir::IfElse {
                consequent,
                alternative,
            }) => Instr::IfElse(ir::IfElse {
                consequent: inner(*consequent, seqs, b),
                alternative: inner(*alternative, seqs, b),
            }),
            Instr::Br(ir::Br { block }) => Instr::Br(ir::Br { block: seqs[block] }),
            Instr::BrIf(ir::BrIf { block }) => Instr::BrIf(ir::BrIf { block: seqs[block] }),
            Instr::BrTable(_) | Instr::Try(_) | Instr::TryTable(_) => {
                unreachable!("the runtimes use no br_table or exceptions")
            }
            other => other.clone(),
        };
        b.instr_seq(to).instr(instr);
    }
}

/// Maps a copied body's locals, globals, memories and calls into the
/// destination.
struct Remap<'a> {
    linker: &'a Linker,
    src: &'a Module,
    dst_locals: &'a mut walrus::ModuleLocals,
    locals: HashMap<LocalId, LocalId>,
    copies: std::collections::HashSet<LocalId>,
}

impl Remap<'_> {
    fn local(&mut self, old: LocalId) -> LocalId {
        if let Some(&new) = self.locals.get(&old) {
            return new;
        }
        if self.copies.contains(&old) {
            return old;
        }
        let new = self.dst_locals.add(self.src.locals.get(old).ty());
        self.locals.insert(old, new);
        self.copies.insert(new);
        new
    }
}

// walrus's traversal can visit an id twice; ids from the other module's
// arenas never equal the source's keys, so a miss means "done".
impl VisitorMut for Remap<'_> {
    fn visit_local_id_mut(&mut self, id: &mut LocalId) {
        *id = self.local(*id);
    }
    fn visit_global_id_mut(&mut self, id: &mut GlobalId) {
        if let Some(&to) = self.linker.globals.get(id) {
            *id = to;
        }
    }
    fn visit_memory_id_mut(&mut self, id: &mut MemoryId) {
        if let Some(&to) = self.linker.memories.get(id) {
            *id = to;
        }
    }
    fn visit_function_id_mut(&mut self, id: &mut FunctionId) {
        if let Some(&to) = self.linker.funcs.get(id) {
            *id = to;
        }
    }
}
