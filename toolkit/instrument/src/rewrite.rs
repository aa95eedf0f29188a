//! The walrus pass that puts an entry and an exit probe on every local
//! function without changing what the function computes.
//!
//! Each body becomes
//!
//! ```text
//! i32.const fid; call $wprof.enter; local.set $saved
//! block (result R)            ;; the old body; `br`s to the function label
//!   …                         ;; and `return`s now target this block
//! end
//! local.get $saved; call $wprof.leave
//! ```
//!
//! so every way out of the body (fall-through, `return`, `br`/`br_if`/
//! `br_table`/`br_on_*` to the function label, `try_table` catches that
//! target it) passes the single exit. Tail calls (`return_call*`) replace the
//! frame, so the exit runs just before them. Traps and `proc_exit` unwind
//! past the exit; the host knows the run ended and reads the tree as it was.
//! Exceptions that unwind into a `catch` also skip exits, so in functions with
//! handlers the current context is re-established at every landing site.
//!
//! With the runtime linked into the artifact ([`Linked`]), `enter` is a call
//! of the module's own copy, and the one-store probes (`leave`, the
//! host-call marks, `current`) are written out in place: a store to the
//! runtime's memory instead of a call.

use std::collections::HashSet;

use walrus::ir::{
    self, Instr, InstrLocId, InstrSeq, InstrSeqId, InstrSeqType, LegacyCatch, LoadKind, MemArg,
    StoreKind, TryTableCatch, VisitorMut,
};
use walrus::{FunctionId, LocalFunction, LocalId, MemoryId, ModuleLocals, ModuleTypes, ValType};

/// The probe imports of one module.
pub(crate) struct Probes {
    pub enter: FunctionId,
    pub leave: FunctionId,
    pub current: FunctionId,
    /// `leave_<t>(value, saved) -> value` per number type `t`.
    pub leave_value: Vec<(ValType, FunctionId)>,
    /// `host_enter(import)` and `host_leave()`, around calls of the
    /// module's own imports.
    pub host_enter: FunctionId,
    pub host_leave: FunctionId,
    /// The module's own imported functions and their function indices.
    pub host_calls: std::collections::HashMap<FunctionId, u32>,
    /// The runtime is linked in: its one-store probes are inlined.
    pub linked: Option<Linked>,
}

/// Where a linked runtime keeps the words its one-store probes write.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Linked {
    /// The runtime's memory.
    pub memory: MemoryId,
    /// Address of the current-context word.
    pub cur: u32,
    /// Address of the host-call word.
    pub host: u32,
    /// Eight bytes a function's single number result is stored to before
    /// the context is restored: the store makes the compiler compute it
    /// first, as passing it through `leave_<t>` does for a called runtime.
    pub scratch: u32,
}

impl Linked {
    fn word(&self, addr: u32) -> [Instr; 1] {
        [Instr::Const(ir::Const {
            value: ir::Value::I32(addr as i32),
        })]
    }

    fn store(&self, kind: StoreKind, align: u32) -> Instr {
        Instr::Store(ir::Store {
            memory: self.memory,
            kind,
            arg: MemArg { align, offset: 0 },
        })
    }
}

impl Probes {
    /// Restores the context saved in `saved`.
    fn restore(&self, saved: LocalId) -> Vec<Instr> {
        match &self.linked {
            None => restore(saved, self.leave),
            Some(l) => {
                let mut out = l.word(l.cur).to_vec();
                out.push(Instr::LocalGet(ir::LocalGet { local: saved }));
                out.push(l.store(StoreKind::I32 { atomic: false }, 4));
                out
            }
        }
    }

    /// Restores the context at the end of a function whose results are
    /// on the stack: a single number result is computed before the
    /// context changes back. Otherwise pure arithmetic that only feeds the
    /// result may be scheduled after the exit (Cranelift does), and a
    /// sampler would charge it to the caller.
    fn restore_after(
        &self,
        saved: LocalId,
        results: &[ValType],
        locals: &mut ModuleLocals,
    ) -> Vec<Instr> {
        let [t] = results else {
            return self.restore(saved);
        };
        match &self.linked {
            None => {
                let through = self
                    .leave_value
                    .iter()
                    .find(|(ty, _)| ty == t)
                    .map(|&(_, f)| f);
                restore(saved, through.unwrap_or(self.leave))
            }
            Some(l) => {
                let (kind, align) = match t {
                    ValType::I32 => (StoreKind::I32 { atomic: false }, 4),
                    ValType::I64 => (StoreKind::I64 { atomic: false }, 8),
                    ValType::F32 => (StoreKind::F32, 4),
                    ValType::F64 => (StoreKind::F64, 8),
                    _ => return self.restore(saved),
                };
                let value = locals.add(*t);
                let mut out = vec![Instr::LocalSet(ir::LocalSet { local: value })];
                out.extend(l.word(l.scratch));
                out.push(Instr::LocalGet(ir::LocalGet { local: value }));
                out.push(l.store(kind, align));
                out.extend(self.restore(saved));
                out.push(Instr::LocalGet(ir::LocalGet { local: value }));
                out
            }
        }
    }

    /// Marks a call of the module's import `import` as running.
    fn host_call_begins(&self, import: u32) -> Vec<Instr> {
        match &self.linked {
            None => vec![
                Instr::Const(ir::Const {
                    value: ir::Value::I32(import as i32),
                }),
                Instr::Call(ir::Call {
                    func: self.host_enter,
                }),
            ],
            Some(l) => self.mark(l, import as i32 + 1),
        }
    }

    /// The import call returned.
    fn host_call_ends(&self) -> Vec<Instr> {
        match &self.linked {
            None => vec![Instr::Call(ir::Call {
                func: self.host_leave,
            })],
            Some(l) => self.mark(l, 0),
        }
    }

    fn mark(&self, l: &Linked, value: i32) -> Vec<Instr> {
        let mut out = l.word(l.host).to_vec();
        out.push(Instr::Const(ir::Const {
            value: ir::Value::I32(value),
        }));
        out.push(l.store(StoreKind::I32 { atomic: false }, 4));
        out
    }

    /// Pushes the current context.
    fn current(&self) -> Vec<Instr> {
        match &self.linked {
            None => vec![Instr::Call(ir::Call { func: self.current })],
            Some(l) => {
                let mut out = l.word(l.cur).to_vec();
                out.push(Instr::Load(ir::Load {
                    memory: l.memory,
                    kind: LoadKind::I32 { atomic: false },
                    arg: MemArg {
                        align: 4,
                        offset: 0,
                    },
                }));
                out
            }
        }
    }
}

/// Wraps `func` (probe id `fid`) with entry and exit probes.
pub(crate) fn wrap_function(
    func: &mut LocalFunction,
    fid: u32,
    probes: &Probes,
    types: &mut ModuleTypes,
    locals: &mut ModuleLocals,
) {
    let entry = func.entry_block();
    let results = types.results(func.ty()).to_vec();
    let inner_ty = InstrSeqType::new(types, &[], &results);
    let inner = func.builder_mut().dangling_instr_seq(inner_ty).id();
    let body = std::mem::take(&mut func.block_mut(entry).instrs);
    func.block_mut(inner).instrs = body;

    let landings = Landings::collect(func, inner);
    let saved = locals.add(ValType::I32);
    let this = (!landings.is_empty()).then(|| locals.add(ValType::I32));

    let mut fix = Fix {
        from: entry,
        to: inner,
        exit: probes.restore(saved),
        landing: this.map(|l| probes.restore(l)),
        landings: &landings,
        probes,
    };
    ir::dfs_pre_order_mut(&mut fix, func, inner);

    let mut prologue = vec![
        Instr::Const(ir::Const {
            value: ir::Value::I32(fid as i32),
        }),
        Instr::Call(ir::Call { func: probes.enter }),
        Instr::LocalSet(ir::LocalSet { local: saved }),
    ];
    if let Some(this) = this {
        prologue.extend(probes.current());
        prologue.push(Instr::LocalSet(ir::LocalSet { local: this }));
    }
    prologue.push(Instr::Block(ir::Block { seq: inner }));
    prologue.extend(probes.restore_after(saved, &results, locals));
    func.block_mut(entry).instrs = prologue
        .into_iter()
        .map(|i| (i, InstrLocId::default()))
        .collect();
}

fn restore(local: LocalId, leave: FunctionId) -> Vec<Instr> {
    vec![
        Instr::LocalGet(ir::LocalGet { local }),
        Instr::Call(ir::Call { func: leave }),
    ]
}

/// Where execution resumes after an exception is caught.
#[derive(Default)]
struct Landings {
    /// `try_table` catch labels: a branch to a block/if label continues after
    /// the construct, a branch to a loop label at the loop's start.
    labels: HashSet<InstrSeqId>,
    /// Loop bodies (to tell the two kinds of label apart).
    loops: HashSet<InstrSeqId>,
    /// Legacy `try … catch` handler bodies.
    handlers: HashSet<InstrSeqId>,
}

impl Landings {
    fn collect(func: &LocalFunction, start: InstrSeqId) -> Landings {
        let mut out = Landings::default();
        let mut stack = vec![start];
        while let Some(id) = stack.pop() {
            for (instr, _) in &func.block(id).instrs {
                match instr {
                    Instr::Block(b) => stack.push(b.seq),
                    Instr::Loop(l) => {
                        out.loops.insert(l.seq);
                        stack.push(l.seq);
                    }
                    Instr::IfElse(i) => {
                        stack.push(i.consequent);
                        stack.push(i.alternative);
                    }
                    Instr::TryTable(t) => {
                        for c in &t.catches {
                            out.labels.insert(catch_label(c));
                        }
                        stack.push(t.seq);
                    }
                    Instr::Try(t) => {
                        for c in &t.catches {
                            match c {
                                LegacyCatch::Catch { handler, .. }
                                | LegacyCatch::CatchAll { handler } => {
                                    out.handlers.insert(*handler);
                                    stack.push(*handler);
                                }
                                LegacyCatch::Delegate { .. } => {}
                            }
                        }
                        stack.push(t.seq);
                    }
                    _ => {}
                }
            }
        }
        out
    }

    fn is_empty(&self) -> bool {
        self.labels.is_empty() && self.handlers.is_empty()
    }

    fn resumes_at_start(&self, seq: InstrSeqId) -> bool {
        self.handlers.contains(&seq) || (self.loops.contains(&seq) && self.labels.contains(&seq))
    }

    fn resumes_after(&self, instr: &Instr) -> bool {
        match instr {
            Instr::Block(b) => self.labels.contains(&b.seq),
            Instr::IfElse(i) => {
                self.labels.contains(&i.consequent) || self.labels.contains(&i.alternative)
            }
            // `try_table` and legacy `try` are block labels too.
            Instr::TryTable(t) => self.labels.contains(&t.seq),
            Instr::Try(t) => self.labels.contains(&t.seq),
            _ => false,
        }
    }
}

fn catch_label(c: &TryTableCatch) -> InstrSeqId {
    match c {
        TryTableCatch::Catch { label, .. }
        | TryTableCatch::CatchRef { label, .. }
        | TryTableCatch::CatchAll { label }
        | TryTableCatch::CatchAllRef { label } => *label,
    }
}

fn catch_label_mut(c: &mut TryTableCatch) -> &mut InstrSeqId {
    match c {
        TryTableCatch::Catch { label, .. }
        | TryTableCatch::CatchRef { label, .. }
        | TryTableCatch::CatchAll { label }
        | TryTableCatch::CatchAllRef { label } => label,
    }
}

struct Fix<'a> {
    probes: &'a Probes,
    from: InstrSeqId,
    to: InstrSeqId,
    exit: Vec<Instr>,
    landing: Option<Vec<Instr>>,
    landings: &'a Landings,
}

impl VisitorMut for Fix<'_> {
    fn start_instr_seq_mut(&mut self, seq: &mut InstrSeq) {
        let needs_rewrite = self.landing.is_some()
            || seq.instrs.iter().any(|(i, _)| {
                matches!(
                    i,
                    Instr::Return(_)
                        | Instr::ReturnCall(_)
                        | Instr::ReturnCallIndirect(_)
                        | Instr::ReturnCallRef(_)
                ) || matches!(i, Instr::Call(c) if self.probes.host_calls.contains_key(&c.func))
            });
        if !needs_rewrite {
            return;
        }
        let probe = |instrs: &[Instr]| {
            instrs
                .iter()
                .cloned()
                .map(|i| (i, InstrLocId::default()))
                .collect::<Vec<_>>()
        };
        let mut out = Vec::with_capacity(seq.instrs.len() + 4);
        if let Some(landing) = &self.landing
            && self.landings.resumes_at_start(seq.id())
        {
            out.extend(probe(landing));
        }
        for (instr, loc) in std::mem::take(&mut seq.instrs) {
            match instr {
                // `return` and `br` to the function label behave identically
                // (both keep only the result values), so a return becomes a
                // branch to the block whose end runs the exit probe.
                Instr::Return(_) => out.push((Instr::Br(ir::Br { block: self.to }), loc)),
                Instr::ReturnCall(_) | Instr::ReturnCallIndirect(_) | Instr::ReturnCallRef(_) => {
                    out.extend(probe(&self.exit));
                    out.push((instr, loc));
                }
                // The arguments are already on the stack; the marks take
                // and leave nothing there.
                Instr::Call(ref c) if self.probes.host_calls.contains_key(&c.func) => {
                    let import = self.probes.host_calls[&c.func];
                    out.extend(probe(&self.probes.host_call_begins(import)));
                    out.push((instr, loc));
                    out.extend(probe(&self.probes.host_call_ends()));
                }
                _ => {
                    let resume_after = self.landings.resumes_after(&instr);
                    out.push((instr, loc));
                    if let (true, Some(landing)) = (resume_after, &self.landing) {
                        out.extend(probe(landing));
                    }
                }
            }
        }
        seq.instrs = out;
    }

    fn visit_instr_mut(&mut self, instr: &mut Instr, _: &mut InstrLocId) {
        // walrus visits neither `try_table` catch labels nor the targets of
        // `br`, `br_if` and `br_table` as sequence ids.
        let retarget = |id: &mut InstrSeqId| {
            if *id == self.from {
                *id = self.to;
            }
        };
        match instr {
            Instr::TryTable(t) => t.catches.iter_mut().map(catch_label_mut).for_each(retarget),
            Instr::Br(b) => retarget(&mut b.block),
            Instr::BrIf(b) => retarget(&mut b.block),
            Instr::BrTable(b) => {
                b.blocks.iter_mut().for_each(retarget);
                retarget(&mut b.default);
            }
            _ => {}
        }
    }

    fn visit_instr_seq_id_mut(&mut self, id: &mut InstrSeqId) {
        if *id == self.from {
            *id = self.to;
        }
    }
}
