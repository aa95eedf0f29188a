//! Memory probes: allocator hooks found by name, and every `memory.grow`.
//!
//! Allocators are recognised by their (demangled) function names per
//! language — see [`SPECS`]; the research behind the list is in the README.
//! Each hooked function `F` gets a wrapper `W` with the same type, and every
//! reference to `F` (calls, tail calls, `ref.func`, tables, exports, the
//! start function) is redirected to `W`, so direct, indirect and host calls
//! all pass the hook. `W` is
//!
//! ```text
//! depth += 1; r = F(args…); depth -= 1
//! if depth == 0 { wprof_mem.alloc/free/realloc(…) }   ;; outermost frame only
//! ```
//!
//! `depth` is a global of the instrumented module, so allocations nested in
//! another hooked allocator (`realloc` → `malloc`, `__rust_alloc` → libc
//! `malloc`, AssemblyScript `__new` → `__alloc`, a collector's frees) never
//! cross to the host and are never counted twice. Collector functions run
//! between `gc_begin`/`gc_end` (outermost only) and count as allocator frames.
//!
//! Every `memory.grow` on memory 0 is followed by
//! `wprof_mem.grow(result, delta, depth != 0)`: growth inside a hooked
//! allocator is the allocator asking for room; growth anywhere else is code
//! the hooks do not see, which is what the untracked-growth alarm is about.
//!
//! Go (`GOOS=wasip1`) passes arguments on its own stack in linear memory and
//! unwinds the wasm stack to switch goroutines, so its hook reads the size at
//! a fresh entry (`PC_B == 0`) from `SP+8` and reports the allocation there,
//! without its address: Go allocations are counted, not tracked as live.

use std::collections::{BTreeMap, HashMap};

use walrus::ir::{self, BinaryOp, Instr, InstrLocId, InstrSeq, LoadKind, MemArg, UnaryOp, Value};
use walrus::{
    ExportItem, FunctionBuilder, FunctionId, GlobalId, GlobalKind, LocalId, MemoryId, Module,
    ValType,
};
use wprof_profile::heap::{Hook, Hooks, Layer, Missing};

use crate::abi::mem as abi;

/// What a hooked function does, and where its arguments are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Returns a block of `size` (parameter index).
    Alloc { size: usize },
    /// `calloc(n, size)`.
    Calloc,
    /// Frees parameter `ptr`.
    Free { ptr: usize },
    /// Resizes `ptr` to `size`, returns the block.
    Realloc { ptr: usize, size: usize },
    /// Resizes `ptr` to `size` in place; returns whether it could.
    Resize { ptr: usize, size: usize },
    /// `posix_memalign(out, align, size) -> 0 | errno`.
    PosixMemalign,
    /// Go `runtime.mallocgc`: size on the Go stack.
    GoMalloc,
    /// A collector pause.
    Gc,
    /// Go: a collection cycle starts (counted at fresh entries).
    GoGc,
    /// Part of an allocator that is not an event itself: memory it grows is
    /// the allocator's (Go's heap grows from `runtime.sbrk`, outside
    /// `mallocgc`'s frame as far as the depth count knows).
    Internal,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::Alloc { .. } | Kind::Calloc | Kind::PosixMemalign | Kind::GoMalloc => "alloc",
            Kind::Free { .. } => "free",
            Kind::Realloc { .. } | Kind::Resize { .. } => "realloc",
            Kind::Gc | Kind::GoGc => "gc",
            Kind::Internal => "internal",
        }
    }

    fn params(self) -> usize {
        match self {
            Kind::Alloc { size } => size + 1,
            Kind::Calloc => 2,
            Kind::Free { ptr } => ptr + 1,
            Kind::Realloc { ptr, size } | Kind::Resize { ptr, size } => ptr.max(size) + 1,
            Kind::PosixMemalign => 3,
            Kind::GoMalloc | Kind::GoGc => 1,
            Kind::Gc | Kind::Internal => 0,
        }
    }

    fn returns_ptr(self) -> bool {
        matches!(
            self,
            Kind::Alloc { .. }
                | Kind::Calloc
                | Kind::Realloc { .. }
                | Kind::Resize { .. }
                | Kind::PosixMemalign
        )
    }
}

/// How names match.
#[derive(Debug, Clone, Copy)]
enum Pattern {
    /// The whole name.
    Exact(&'static str),
    /// The whole name or its last `::` path segment (Rust shims, which new
    /// toolchains mangle into `__rustc::__rust_alloc`).
    Path(&'static str),
}

impl Pattern {
    fn matches(self, name: &str) -> bool {
        match self {
            Pattern::Exact(n) => name == n,
            Pattern::Path(n) => name == n || name.rsplit("::").next() == Some(n),
        }
    }

    fn text(self) -> &'static str {
        match self {
            Pattern::Exact(n) | Pattern::Path(n) => n,
        }
    }
}

struct Spec {
    /// Parameter count: the shape that tells an allocator from a namesake.
    arity: usize,
    /// Added to the block pointer an allocator returns or frees, for
    /// internal entry points that work on headers (AssemblyScript's TLSF
    /// `allocateBlock`/`freeBlock` see the block 4 bytes before what
    /// `__alloc` returns and `__free` takes).
    offset: i32,
    allocator: &'static str,
    pattern: Pattern,
    kind: Kind,
    layer: Layer,
    /// Reported as missing when the allocator is recognised but this is not
    /// found (fallbacks and optional entry points are not).
    expected: bool,
}

const fn spec(
    arity: usize,
    allocator: &'static str,
    pattern: Pattern,
    kind: Kind,
    layer: Layer,
    expected: bool,
) -> Spec {
    Spec {
        arity,
        offset: 0,
        allocator,
        pattern,
        kind,
        layer,
        expected,
    }
}

const fn at(offset: i32, s: Spec) -> Spec {
    Spec { offset, ..s }
}

use Kind::*;
use Pattern::{Exact, Path};

/// Recognised allocator entry points. Rust: the `__rust_*` shims with the
/// `__rdl_*` (std default) and `__rg_*` (`#[global_allocator]`) fallbacks
/// for when LTO inlined the shims. AssemblyScript: names from its name
/// section (`--debug` or `--exportRuntime` builds keep them), `__new` for GC
/// objects apart from raw `__alloc`.
#[rustfmt::skip]
const SPECS: &[Spec] = &[
    spec(2, "rust", Path("__rust_alloc"), Alloc { size: 0 }, Layer::Rust, true),
    spec(2, "rust", Path("__rust_alloc_zeroed"), Alloc { size: 0 }, Layer::Rust, true),
    spec(3, "rust", Path("__rust_dealloc"), Free { ptr: 0 }, Layer::Rust, true),
    spec(4, "rust", Path("__rust_realloc"), Realloc { ptr: 0, size: 3 }, Layer::Rust, true),
    spec(2, "rust", Path("__rdl_alloc"), Alloc { size: 0 }, Layer::Rust, false),
    spec(2, "rust", Path("__rdl_alloc_zeroed"), Alloc { size: 0 }, Layer::Rust, false),
    spec(3, "rust", Path("__rdl_dealloc"), Free { ptr: 0 }, Layer::Rust, false),
    spec(4, "rust", Path("__rdl_realloc"), Realloc { ptr: 0, size: 3 }, Layer::Rust, false),
    spec(2, "rust", Path("__rg_alloc"), Alloc { size: 0 }, Layer::Rust, false),
    spec(2, "rust", Path("__rg_alloc_zeroed"), Alloc { size: 0 }, Layer::Rust, false),
    spec(3, "rust", Path("__rg_dealloc"), Free { ptr: 0 }, Layer::Rust, false),
    spec(4, "rust", Path("__rg_realloc"), Realloc { ptr: 0, size: 3 }, Layer::Rust, false),
    spec(1, "libc", Exact("malloc"), Alloc { size: 0 }, Layer::Libc, true),
    spec(1, "libc", Exact("free"), Free { ptr: 0 }, Layer::Libc, true),
    spec(2, "libc", Exact("calloc"), Calloc, Layer::Libc, true),
    spec(2, "libc", Exact("realloc"), Realloc { ptr: 0, size: 1 }, Layer::Libc, true),
    spec(3, "libc", Exact("posix_memalign"), PosixMemalign, Layer::Libc, false),
    spec(2, "libc", Exact("aligned_alloc"), Alloc { size: 1 }, Layer::Libc, false),
    spec(2, "libc", Exact("memalign"), Alloc { size: 1 }, Layer::Libc, false),
    // A GC object is known by its TLSF payload address, 16 bytes (the
    // object header) before the pointer `__new` returns: that is what the
    // collector passes to `__free` when it sweeps the object.
    at(-16, spec(2, "assemblyscript", Exact("~lib/rt/itcms/__new"), Alloc { size: 0 }, Layer::AsManaged, true)),
    at(-16, spec(2, "assemblyscript", Exact("~lib/rt/itcms/__renew"), Realloc { ptr: 0, size: 1 }, Layer::AsManaged, false)),
    spec(1, "assemblyscript", Exact("~lib/rt/tlsf/__alloc"), Alloc { size: 0 }, Layer::AsUnmanaged, true),
    spec(2, "assemblyscript", Exact("~lib/rt/tlsf/__realloc"), Realloc { ptr: 0, size: 1 }, Layer::AsUnmanaged, false),
    spec(1, "assemblyscript", Exact("~lib/rt/tlsf/__free"), Free { ptr: 0 }, Layer::AsUnmanaged, true),
    // Optimised builds inline `__alloc`/`__free` into their callers; the
    // TLSF block functions they call survive. Nested under `__new` they are
    // not outermost, so what they report at top level is unmanaged memory.
    at(4, spec(2, "assemblyscript", Exact("~lib/rt/tlsf/allocateBlock"), Alloc { size: 1 }, Layer::AsUnmanaged, false)),
    at(4, spec(2, "assemblyscript", Exact("~lib/rt/tlsf/freeBlock"), Free { ptr: 1 }, Layer::AsUnmanaged, false)),
    spec(0, "assemblyscript", Exact("~lib/rt/itcms/step"), Gc, Layer::AsManaged, true),
    spec(0, "assemblyscript", Exact("~lib/rt/itcms/__collect"), Gc, Layer::AsManaged, false),
    spec(0, "assemblyscript", Exact("~lib/rt/itcms/fullCollect"), Gc, Layer::AsManaged, false),
    // Zig's std allocator vtable: (ctx, len, alignment, ret_addr) for alloc,
    // slices as (ptr, len) pairs. `BrkAllocator` is `std.heap.wasm_allocator`
    // since 0.16, `WasmAllocator` before.
    spec(4, "zig", Exact("heap.BrkAllocator.alloc"), Alloc { size: 1 }, Layer::Zig, true),
    spec(5, "zig", Exact("heap.BrkAllocator.free"), Free { ptr: 1 }, Layer::Zig, true),
    spec(6, "zig", Exact("heap.BrkAllocator.resize"), Resize { ptr: 1, size: 4 }, Layer::Zig, false),
    spec(6, "zig", Exact("heap.BrkAllocator.remap"), Realloc { ptr: 1, size: 4 }, Layer::Zig, false),
    spec(4, "zig", Exact("heap.WasmAllocator.alloc"), Alloc { size: 1 }, Layer::Zig, false),
    spec(5, "zig", Exact("heap.WasmAllocator.free"), Free { ptr: 1 }, Layer::Zig, false),
    spec(6, "zig", Exact("heap.WasmAllocator.resize"), Resize { ptr: 1, size: 4 }, Layer::Zig, false),
    spec(6, "zig", Exact("heap.WasmAllocator.remap"), Realloc { ptr: 1, size: 4 }, Layer::Zig, false),
    spec(1, "go", Exact("runtime.mallocgc"), GoMalloc, Layer::Go, true),
    spec(1, "go", Exact("runtime.gcStart"), GoGc, Layer::Go, true),
    spec(1, "go", Exact("runtime.sbrk"), Internal, Layer::Go, false),
];

/// The AssemblyScript collector's live-bytes counter.
const AS_GC_TOTAL: &str = "~lib/rt/itcms/total";
/// The AssemblyScript collector's state (0 = idle: a cycle has completed).
const AS_GC_STATE: &str = "~lib/rt/itcms/state";

/// A function to hook.
struct Target {
    func: FunctionId,
    index: u32,
    name: String,
    spec: &'static Spec,
}

/// The memory probe imports.
struct Imports {
    alloc: FunctionId,
    free: FunctionId,
    realloc: FunctionId,
    grow: FunctionId,
    gc_begin: FunctionId,
    gc_end: FunctionId,
    gc_cycle: FunctionId,
}

/// Adds memory probes to `module`. `names` lists every original function
/// with its index and display name. Returns what was hooked.
pub(crate) fn instrument(
    module: &mut Module,
    names: &[(FunctionId, u32, String)],
) -> crate::abi::MemoryManifest {
    let memory = module
        .memories
        .iter()
        .next()
        .map(|m| (m.id(), m.memory64, m.initial));
    let targets = resolve(module, names, memory.is_some_and(|m| m.1));
    let hooks = report(&targets);
    let Some((memory, memory64, initial)) = memory else {
        return crate::abi::MemoryManifest {
            hooks,
            initial_pages: 0,
        };
    };
    let addr = if memory64 { ValType::I64 } else { ValType::I32 };
    let imports = add_imports(module, addr);
    let depth = module.globals.add_local(
        ValType::I32,
        true,
        false,
        walrus::ConstExpr::Value(Value::I32(0)),
    );
    let gc_depth = module.globals.add_local(
        ValType::I32,
        true,
        false,
        walrus::ConstExpr::Value(Value::I32(0)),
    );
    let gc_total = module
        .globals
        .iter()
        .find(|g| g.name.as_deref() == Some(AS_GC_TOTAL) && g.ty == addr)
        .map(|g| g.id());
    let gc_state = module
        .globals
        .iter()
        .find(|g| g.name.as_deref() == Some(AS_GC_STATE) && g.ty == ValType::I32)
        .map(|g| g.id());
    let go_sp = go_stack_pointer(module);

    // Grows first, so the wrappers' own code (which has none) is not visited.
    let originals: Vec<FunctionId> = names.iter().map(|n| n.0).collect();
    for &f in &originals {
        rewrite_grows(module, f, memory, addr, &imports, depth);
    }

    let mut redirect = HashMap::new();
    for t in &targets {
        let ctx = Wrap {
            imports: &imports,
            depth,
            gc_depth,
            gc_total,
            gc_state,
            memory,
            addr,
            go_sp,
        };
        if let Some(w) = wrap(module, t, &ctx) {
            redirect.insert(t.func, w);
        }
    }
    redirect_refs(module, &redirect);
    crate::abi::MemoryManifest {
        hooks,
        initial_pages: initial,
    }
}

fn resolve(module: &Module, names: &[(FunctionId, u32, String)], memory64: bool) -> Vec<Target> {
    let addr = if memory64 { ValType::I64 } else { ValType::I32 };
    let mut out: Vec<Target> = Vec::new();
    for (func, index, name) in names {
        let Some(spec) = SPECS.iter().find(|s| s.pattern.matches(name)) else {
            continue;
        };
        // Aliases (two names, one function) are hooked once.
        if out.iter().any(|t| t.func == *func) {
            continue;
        }
        let ty = module.types.get(module.funcs.get(*func).ty());
        let ok = match spec.kind {
            GoMalloc | GoGc => ty.params() == [ValType::I32] && ty.results() == [ValType::I32],
            Gc | Internal => ty.params().len() == spec.arity && ty.results().len() <= 1,
            kind => {
                ty.params().len() == spec.arity
                    && spec.arity >= kind.params()
                    && ty.params().iter().all(|&p| p == addr)
                    && if kind.returns_ptr() {
                        ty.results()
                            == [if matches!(kind, PosixMemalign | Resize { .. }) {
                                ValType::I32
                            } else {
                                addr
                            }]
                    } else {
                        ty.results().is_empty()
                    }
            }
        };
        // A function with an allocator's name but another shape is not that
        // allocator (a user's own `free(a, b)`); leave it alone.
        if ok {
            out.push(Target {
                func: *func,
                index: *index,
                name: name.clone(),
                spec,
            });
        }
    }
    out
}

fn report(targets: &[Target]) -> Hooks {
    let mut allocators: Vec<String> = Vec::new();
    for t in targets {
        if !allocators.iter().any(|a| a == t.spec.allocator) {
            allocators.push(t.spec.allocator.to_string());
        }
    }
    let mut missing: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for s in SPECS.iter().filter(|s| s.expected) {
        if allocators.iter().any(|a| a == s.allocator)
            && !targets.iter().any(|t| std::ptr::eq(t.spec, s))
        {
            missing
                .entry(s.allocator)
                .or_default()
                .push(s.pattern.text().to_string());
        }
    }
    Hooks {
        found: targets
            .iter()
            .map(|t| Hook {
                name: t.name.clone(),
                kind: t.spec.kind.label().to_string(),
                allocator: t.spec.allocator.to_string(),
                index: t.index,
            })
            .collect(),
        missing: missing
            .into_iter()
            .map(|(a, names)| Missing {
                allocator: a.to_string(),
                names,
            })
            .collect(),
        allocators,
    }
}

fn add_imports(module: &mut Module, addr: ValType) -> Imports {
    use ValType::{I32, I64};
    let _ = addr;
    let mut import = |name: &str, params: &[ValType]| {
        let ty = module.types.add(params, &[]);
        module.add_import_func(abi::MODULE, name, ty).0
    };
    Imports {
        alloc: import(abi::ALLOC, &[I64, I64, I32]),
        free: import(abi::FREE, &[I64, I32]),
        realloc: import(abi::REALLOC, &[I64, I64, I64, I32]),
        grow: import(abi::GROW, &[I64, I64, I32]),
        gc_begin: import(abi::GC_BEGIN, &[]),
        gc_end: import(abi::GC_END, &[I64, I32]),
        gc_cycle: import(abi::GC_CYCLE, &[]),
    }
}

/// Go keeps its stack pointer in the module's first global (`SP`).
fn go_stack_pointer(module: &Module) -> Option<GlobalId> {
    let g = module.globals.iter().next()?;
    (g.ty == ValType::I32 && g.mutable && matches!(g.kind, GlobalKind::Local(_))).then(|| g.id())
}

struct Wrap<'a> {
    imports: &'a Imports,
    depth: GlobalId,
    gc_depth: GlobalId,
    gc_total: Option<GlobalId>,
    gc_state: Option<GlobalId>,
    memory: MemoryId,
    addr: ValType,
    go_sp: Option<GlobalId>,
}

fn to_i64(b: &mut walrus::InstrSeqBuilder<'_>, ty: ValType) {
    if ty == ValType::I32 {
        b.unop(UnaryOp::I64ExtendUI32);
    }
}

/// Pushes `local` (of type `ty`) as an i64, the probes' address/size type.
fn get64(b: &mut walrus::InstrSeqBuilder<'_>, (local, ty): (LocalId, ValType)) {
    b.local_get(local);
    to_i64(b, ty);
}

fn bump(b: &mut walrus::InstrSeqBuilder<'_>, g: GlobalId, op: BinaryOp) {
    b.global_get(g).i32_const(1).binop(op).global_set(g);
}

/// Builds the wrapper of `t`; `None` when the hook cannot be expressed.
fn wrap(module: &mut Module, t: &Target, cx: &Wrap<'_>) -> Option<FunctionId> {
    let ty = module.types.get(module.funcs.get(t.func).ty()).clone();
    let params: Vec<LocalId> = ty.params().iter().map(|&p| module.locals.add(p)).collect();
    let result = match ty.results() {
        [] => None,
        [r] => Some(module.locals.add(*r)),
        _ => return None,
    };
    let layer = t.spec.layer.code() as i32;
    let saved = module.locals.add(ValType::I32);
    let offset = t.spec.offset;
    let shift = move |b: &mut walrus::InstrSeqBuilder<'_>| {
        if offset != 0 {
            b.i64_const(offset as i64).binop(BinaryOp::I64Add);
        }
    };
    let mut builder = FunctionBuilder::new(&mut module.types, ty.params(), ty.results());
    let mut b = builder.func_body();
    let call = |b: &mut walrus::InstrSeqBuilder<'_>| {
        for &p in &params {
            b.local_get(p);
        }
        b.call(t.func);
        if let Some(r) = result {
            b.local_set(r);
        }
    };
    match t.spec.kind {
        GoMalloc => {
            let sp = cx.go_sp?;
            // A fresh call (not a resumption after a goroutine switch):
            // `size` is the first argument slot above the return address.
            b.local_get(params[0]).unop(UnaryOp::I32Eqz).if_else(
                None,
                |then| {
                    then.i64_const(0)
                        .global_get(sp)
                        .load(
                            cx.memory,
                            LoadKind::I64 { atomic: false },
                            MemArg {
                                align: 8,
                                offset: 8,
                            },
                        )
                        .i32_const(layer)
                        .call(cx.imports.alloc);
                },
                |_| {},
            );
            call(&mut b);
        }
        GoGc => {
            b.local_get(params[0]).unop(UnaryOp::I32Eqz).if_else(
                None,
                |then| {
                    then.call(cx.imports.gc_cycle);
                },
                |_| {},
            );
            call(&mut b);
        }
        Gc => {
            // The collector's frees are the events that end GC-managed
            // blocks, so inside it allocator nesting starts again at 0, even
            // when an allocation triggered the collection.
            b.global_get(cx.depth).local_set(saved);
            b.i32_const(0).global_set(cx.depth);
            bump(&mut b, cx.gc_depth, BinaryOp::I32Add);
            b.global_get(cx.gc_depth)
                .i32_const(1)
                .binop(BinaryOp::I32Eq)
                .if_else(
                    None,
                    |then| {
                        then.call(cx.imports.gc_begin);
                    },
                    |_| {},
                );
            call(&mut b);
            b.local_get(saved).global_set(cx.depth);
            bump(&mut b, cx.gc_depth, BinaryOp::I32Sub);
            let gc_total = cx.gc_total;
            let gc_state = cx.gc_state;
            let addr = cx.addr;
            b.global_get(cx.gc_depth).unop(UnaryOp::I32Eqz).if_else(
                None,
                |then| {
                    match gc_total {
                        Some(g) => {
                            then.global_get(g);
                            to_i64(then, addr);
                        }
                        None => {
                            then.i64_const(-1);
                        }
                    }
                    match gc_state {
                        Some(g) => then.global_get(g),
                        None => then.i32_const(-1),
                    };
                    then.call(cx.imports.gc_end);
                },
                |_| {},
            );
        }
        Internal => {
            // `runtime.sbrk` never switches goroutines (it only grows
            // memory), so the count stays balanced.
            bump(&mut b, cx.depth, BinaryOp::I32Add);
            call(&mut b);
            bump(&mut b, cx.depth, BinaryOp::I32Sub);
        }
        kind => {
            bump(&mut b, cx.depth, BinaryOp::I32Add);
            call(&mut b);
            bump(&mut b, cx.depth, BinaryOp::I32Sub);
            let addr = cx.addr;
            let p = |i: usize| (params[i], ty.params()[i]);
            // The returned block (allocators' results are addresses).
            let r = || (result.unwrap(), addr);
            b.global_get(cx.depth).unop(UnaryOp::I32Eqz).if_else(
                None,
                |then| match kind {
                    Alloc { size } => {
                        get64(then, r());
                        shift(then);
                        get64(then, p(size));
                        then.i32_const(layer).call(cx.imports.alloc);
                    }
                    Calloc => {
                        get64(then, r());
                        get64(then, p(0));
                        get64(then, p(1));
                        then.binop(BinaryOp::I64Mul);
                        then.i32_const(layer).call(cx.imports.alloc);
                    }
                    Free { ptr } => {
                        get64(then, p(ptr));
                        shift(then);
                        then.i32_const(layer).call(cx.imports.free);
                    }
                    Resize { ptr, size } => {
                        // Success (non-zero) resized the block where it is.
                        let realloc = cx.imports.realloc;
                        then.local_get(result.unwrap()).if_else(
                            None,
                            |ok| {
                                get64(ok, p(ptr));
                                get64(ok, p(ptr));
                                get64(ok, p(size));
                                ok.i32_const(layer).call(realloc);
                            },
                            |_| {},
                        );
                    }
                    Realloc { ptr, size } => {
                        get64(then, p(ptr));
                        shift(then);
                        get64(then, r());
                        shift(then);
                        get64(then, p(size));
                        then.i32_const(layer).call(cx.imports.realloc);
                    }
                    PosixMemalign => {
                        // Success is 0; the block is written to `*out`.
                        let (out, _) = p(0);
                        let memory = cx.memory;
                        let alloc = cx.imports.alloc;
                        then.local_get(result.unwrap())
                            .unop(UnaryOp::I32Eqz)
                            .if_else(
                                None,
                                |ok| {
                                    ok.local_get(out);
                                    let kind = if addr == ValType::I64 {
                                        LoadKind::I64 { atomic: false }
                                    } else {
                                        LoadKind::I32 { atomic: false }
                                    };
                                    ok.load(
                                        memory,
                                        kind,
                                        MemArg {
                                            align: 1,
                                            offset: 0,
                                        },
                                    );
                                    to_i64(ok, addr);
                                    get64(ok, p(2));
                                    ok.i32_const(layer).call(alloc);
                                },
                                |_| {},
                            );
                    }
                    GoMalloc | Gc | GoGc | Internal => unreachable!("handled above"),
                },
                |_| {},
            );
        }
    }
    if let Some(r) = result {
        b.local_get(r);
    }
    Some(builder.finish(params, &mut module.funcs))
}

/// Follows every `memory.grow` on `memory` in `func` with the grow probe.
fn rewrite_grows(
    module: &mut Module,
    func: FunctionId,
    memory: MemoryId,
    addr: ValType,
    imports: &Imports,
    depth: GlobalId,
) {
    let walrus::FunctionKind::Local(local) = &mut module.funcs.get_mut(func).kind else {
        return;
    };
    let mut finder = HasGrow {
        memory,
        found: false,
    };
    ir::dfs_in_order(&mut finder, local, local.entry_block());
    if !finder.found {
        return;
    }
    let delta = module.locals.add(addr);
    let result = module.locals.add(addr);
    let probe = |i: Instr| (i, InstrLocId::default());
    let mut after = vec![probe(Instr::LocalTee(ir::LocalTee { local: result }))];
    let widen = |v: &mut Vec<(Instr, InstrLocId)>| {
        if addr == ValType::I32 {
            // The result is signed (-1 = failure); the delta is unsigned.
            v.push((
                Instr::Unop(ir::Unop {
                    op: UnaryOp::I64ExtendSI32,
                }),
                InstrLocId::default(),
            ));
        }
    };
    widen(&mut after);
    after.push(probe(Instr::LocalGet(ir::LocalGet { local: delta })));
    if addr == ValType::I32 {
        after.push(probe(Instr::Unop(ir::Unop {
            op: UnaryOp::I64ExtendUI32,
        })));
    }
    after.push(probe(Instr::GlobalGet(ir::GlobalGet { global: depth })));
    after.push(probe(Instr::Const(ir::Const {
        value: Value::I32(0),
    })));
    after.push(probe(Instr::Binop(ir::Binop {
        op: BinaryOp::I32Ne,
    })));
    after.push(probe(Instr::Call(ir::Call { func: imports.grow })));
    after.push(probe(Instr::LocalGet(ir::LocalGet { local: result })));
    let mut rw = GrowRewrite {
        memory,
        before: vec![probe(Instr::LocalTee(ir::LocalTee { local: delta }))],
        after,
    };
    ir::dfs_pre_order_mut(&mut rw, local, local.entry_block());
}

struct HasGrow {
    memory: MemoryId,
    found: bool,
}

impl<'i> ir::Visitor<'i> for HasGrow {
    fn visit_memory_grow(&mut self, g: &ir::MemoryGrow) {
        self.found |= g.memory == self.memory;
    }
}

struct GrowRewrite {
    memory: MemoryId,
    before: Vec<(Instr, InstrLocId)>,
    after: Vec<(Instr, InstrLocId)>,
}

impl ir::VisitorMut for GrowRewrite {
    fn start_instr_seq_mut(&mut self, seq: &mut InstrSeq) {
        if !seq
            .instrs
            .iter()
            .any(|(i, _)| matches!(i, Instr::MemoryGrow(g) if g.memory == self.memory))
        {
            return;
        }
        let mut out = Vec::with_capacity(seq.instrs.len() + 10);
        for (instr, loc) in std::mem::take(&mut seq.instrs) {
            let grow = matches!(&instr, Instr::MemoryGrow(g) if g.memory == self.memory);
            if grow {
                out.extend(self.before.iter().cloned());
            }
            out.push((instr, loc));
            if grow {
                out.extend(self.after.iter().cloned());
            }
        }
        seq.instrs = out;
    }
}

/// Points every reference to a hooked function at its wrapper.
fn redirect_refs(module: &mut Module, redirect: &HashMap<FunctionId, FunctionId>) {
    if redirect.is_empty() {
        return;
    }
    let wrappers: std::collections::HashSet<FunctionId> = redirect.values().copied().collect();
    struct Redirect<'a>(&'a HashMap<FunctionId, FunctionId>);
    impl ir::VisitorMut for Redirect<'_> {
        fn visit_function_id_mut(&mut self, f: &mut FunctionId) {
            if let Some(&w) = self.0.get(f) {
                *f = w;
            }
        }
    }
    for (id, func) in module.funcs.iter_local_mut() {
        if wrappers.contains(&id) {
            continue;
        }
        let entry = func.entry_block();
        ir::dfs_pre_order_mut(&mut Redirect(redirect), func, entry);
    }
    let swap = |f: &mut FunctionId| {
        if let Some(&w) = redirect.get(f) {
            *f = w;
        }
    };
    for e in module.elements.iter_mut() {
        match &mut e.items {
            walrus::ElementItems::Functions(fs) => fs.iter_mut().for_each(swap),
            walrus::ElementItems::Expressions(_, exprs) => {
                for x in exprs {
                    if let walrus::ConstExpr::RefFunc(f) = x {
                        swap(f);
                    }
                }
            }
        }
    }
    for e in module.exports.iter_mut() {
        if let ExportItem::Function(f) = &mut e.item {
            swap(f);
        }
    }
    let globals: Vec<GlobalId> = module.globals.iter().map(|g| g.id()).collect();
    for id in globals {
        if let GlobalKind::Local(walrus::ConstExpr::RefFunc(f)) =
            &mut module.globals.get_mut(id).kind
        {
            swap(f);
        }
    }
    if let Some(s) = &mut module.start {
        swap(s);
    }
}

#[cfg(test)]
mod tests {
    use crate::{Options, instrument};

    fn hooks(wat: &str) -> wprof_profile::heap::Hooks {
        let wasm = wat::parse_str(wat).unwrap();
        let options = Options {
            memory: true,
            ..Options::default()
        };
        let out = instrument(&wasm, &options).unwrap();
        out.manifest.memory.unwrap().hooks
    }

    fn names(h: &wprof_profile::heap::Hooks) -> Vec<&str> {
        h.found.iter().map(|f| f.name.as_str()).collect()
    }

    #[test]
    fn rust_shims_old_and_new_mangling() {
        // Older toolchains: plain `__rust_alloc`; since rust-lang/rust#127173
        // the shims are v0-mangled into the `__rustc` crate.
        let h = hooks(
            r#"(module (memory 1)
              (func $__rust_alloc (param i32 i32) (result i32) i32.const 16)
              (func $_RNvCs1234_7___rustc14___rust_dealloc (param i32 i32 i32))
              (export "m" (func $__rust_alloc)))"#,
        );
        assert_eq!(names(&h), ["__rust_alloc", "__rustc::__rust_dealloc"]);
        assert_eq!(h.allocators, ["rust"]);
        assert_eq!(
            h.missing[0].names,
            ["__rust_alloc_zeroed", "__rust_realloc"]
        );
    }

    #[test]
    fn namesakes_with_another_shape_are_not_hooked() {
        let h = hooks(
            r#"(module (memory 1)
              (func $free (param i32 i32))
              (func $malloc (param i64) (result i64) i64.const 0))"#,
        );
        assert!(h.found.is_empty(), "{h:?}");
        assert!(h.allocators.is_empty());
    }

    #[test]
    fn every_reference_goes_through_the_wrapper() {
        let wasm = wat::parse_str(
            r#"(module (memory 1)
              (table 1 funcref) (elem (i32.const 0) $malloc)
              (func $malloc (export "malloc") (param i32) (result i32) i32.const 8)
              (func (export "direct") (result i32) (call $malloc (i32.const 1)))
              (func (export "indirect") (result i32)
                (call_indirect (param i32) (result i32) (i32.const 1) (i32.const 0))))"#,
        )
        .unwrap();
        let options = Options {
            memory: true,
            ..Options::default()
        };
        let out = instrument(&wasm, &options).unwrap();
        let m = walrus::Module::from_buffer(&out.wasm).unwrap();
        let wrapper = m.exports.iter().find(|e| e.name == "malloc").unwrap().item;
        let walrus::ExportItem::Function(wrapper) = wrapper else {
            panic!()
        };
        // The export, the table and the direct call all reach the wrapper,
        // which alone calls the original.
        assert!(
            m.funcs.get(wrapper).name.is_none(),
            "the export moved to the wrapper"
        );
        let elem = m.elements.iter().next().unwrap();
        let walrus::ElementItems::Functions(fs) = &elem.items else {
            panic!()
        };
        assert_eq!(fs[0], wrapper);
    }
}
