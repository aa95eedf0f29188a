//! The counts tier of an embedded artifact, for hosts without
//! multi-memory: every probed function's entry adds one to a global of its
//! own (no calls at all, no exits, no calling contexts), and each export's
//! calls, total and maximum time are globals too. The tier functions
//! embed.wat imports are generated here: memory 0's borrowed prefix is
//! saved in globals, and the profile image, made of constants and globals,
//! is written out in 512-byte pieces by one generated function each.

use std::collections::HashMap;

use walrus::ir::{self, BinaryOp, Instr, InstrSeqId, LoadKind, MemArg, StoreKind, Value, Visitor};
use walrus::{
    ConstExpr, ExportItem, FunctionBuilder, FunctionId, FunctionKind, GlobalId, LocalId, MemoryId,
    Module, ValType,
};

use crate::Error;
use crate::abi;

/// Bytes of memory 0 borrowed at most (saved in 8-byte globals): enough
/// for a typical environment (`WPROF_OUT` is read from it) at a code size
/// that stays small, one load and one store per word.
const SAVE: u32 = 8192;
/// Image bytes per generated piece (embed.wat writes whole pieces).
const PIECE: u32 = 512;

/// Builds the tier in `module` and turns the probe calls in `originals`
/// into counter increments; returns the functions embed.wat imports as
/// `tier.*` and the wrappers call (`record`).
pub(super) fn tier(
    module: &mut Module,
    memory: MemoryId,
    probes: &[(&str, FunctionId)],
    originals: &[FunctionId],
    n_funcs: u32,
    n_exports: u32,
    id: u64,
) -> Result<HashMap<String, ExportItem>, Error> {
    let global = |module: &mut Module, ty: ValType| {
        let zero = match ty {
            ValType::I32 => Value::I32(0),
            _ => Value::I64(0),
        };
        module
            .globals
            .add_local(ty, true, false, ConstExpr::Value(zero))
    };
    let counts: Vec<GlobalId> = (0..n_funcs).map(|_| global(module, ValType::I64)).collect();
    let per_export: Vec<[GlobalId; 3]> = (0..n_exports)
        .map(|_| std::array::from_fn(|_| global(module, ValType::I64)))
        .collect();
    let saved: Vec<GlobalId> = (0..SAVE / 8)
        .map(|_| global(module, ValType::I64))
        .collect();
    let borrowed = global(module, ValType::I32);

    let probe = |name: &str| probes.iter().find(|(n, _)| *n == name).map(|&(_, f)| f);
    let enter = probe(abi::ENTER).ok_or_else(|| Error::Embed("no enter probe".into()))?;
    let mut drops = vec![];
    for name in [abi::LEAVE, abi::HOST_ENTER] {
        drops.extend(probe(name));
    }
    for &(name, _) in abi::LEAVE_VALUE {
        drops.extend(probe(name));
    }
    let rewrite = Rewrite {
        enter,
        drops,
        current: probe(abi::CURRENT),
        nothing: probe(abi::HOST_LEAVE),
        counts: &counts,
    };
    for &f in originals {
        if let FunctionKind::Local(local) = &mut module.funcs.get_mut(f).kind {
            rewrite.function(local)?;
        }
    }

    let mut out = HashMap::new();
    let mut add = |name: &str, f: FunctionId, module: &mut Module| {
        module.funcs.get_mut(f).name = Some(format!("wprof:{name}"));
        out.insert(name.to_string(), ExportItem::Function(f));
    };
    let f = borrow(module, memory, &saved, borrowed);
    add("borrow", f, module);
    let f = give_back(module, memory, &saved, borrowed);
    add("give_back", f, module);

    // The image, word by word: the header, then the counters.
    let mut words: Vec<Word> = vec![
        Word::Const(u64::from_le_bytes(*b"wprofemb")),
        Word::Const(1 | (n_funcs as u64) << 32),
        Word::Const((n_exports as u64) << 32),
        Word::Const(id),
        Word::Const(0),
        Word::Const(0),
        Word::Const(0),
        Word::Const(0),
    ];
    words.extend(counts.iter().map(|&g| Word::Global(g)));
    words.extend(per_export.iter().flatten().map(|&g| Word::Global(g)));
    let len = words.len() as u32 * 8;
    let mut b = FunctionBuilder::new(&mut module.types, &[], &[ValType::I32]);
    b.func_body().i32_const(len as i32);
    let f = b.finish(vec![], &mut module.funcs);
    add("build", f, module);
    let f = fill(module, memory, &words)?;
    add("fill", f, module);
    let f = record(module, &per_export);
    add("record", f, module);
    Ok(out)
}

/// One 8-byte word of the image.
#[derive(Clone, Copy)]
enum Word {
    Const(u64),
    Global(GlobalId),
}

/// Turns probe calls into counting: `i32.const fid; call enter` adds one
/// to function `fid`'s counter (and leaves a dummy saved context), exit
/// and host-call probes drop their operands, `current` gives 0.
struct Rewrite<'a> {
    enter: FunctionId,
    drops: Vec<FunctionId>,
    current: Option<FunctionId>,
    nothing: Option<FunctionId>,
    counts: &'a [GlobalId],
}

impl Rewrite<'_> {
    fn function(&self, func: &mut walrus::LocalFunction) -> Result<(), Error> {
        let mut seqs = Seqs(Vec::new());
        ir::dfs_in_order(&mut seqs, func, func.entry_block());
        for seq in seqs.0 {
            let old = std::mem::take(&mut func.block_mut(seq).instrs);
            let mut new = Vec::with_capacity(old.len() + 4);
            for (instr, loc) in old {
                let Instr::Call(ir::Call { func: callee }) = &instr else {
                    new.push((instr, loc));
                    continue;
                };
                if *callee == self.enter {
                    let fid = match new.pop() {
                        Some((
                            Instr::Const(ir::Const {
                                value: Value::I32(fid),
                            }),
                            _,
                        )) => fid,
                        _ => return Err(Error::Embed("an enter probe without its id".into())),
                    };
                    let g = *self
                        .counts
                        .get(fid as usize)
                        .ok_or_else(|| Error::Embed(format!("probe id {fid} out of range")))?;
                    new.extend(
                        [
                            Instr::GlobalGet(ir::GlobalGet { global: g }),
                            Instr::Const(ir::Const {
                                value: Value::I64(1),
                            }),
                            Instr::Binop(ir::Binop {
                                op: BinaryOp::I64Add,
                            }),
                            Instr::GlobalSet(ir::GlobalSet { global: g }),
                            Instr::Const(ir::Const {
                                value: Value::I32(0),
                            }),
                        ]
                        .map(|i| (i, loc)),
                    );
                } else if self.drops.contains(callee) {
                    new.push((Instr::Drop(ir::Drop {}), loc));
                } else if Some(*callee) == self.current {
                    new.push((
                        Instr::Const(ir::Const {
                            value: Value::I32(0),
                        }),
                        loc,
                    ));
                } else if Some(*callee) != self.nothing {
                    new.push((instr, loc));
                }
            }
            func.block_mut(seq).instrs = new;
        }
        Ok(())
    }
}

/// Every instruction sequence of a function.
struct Seqs(Vec<InstrSeqId>);

impl<'a> Visitor<'a> for Seqs {
    fn start_instr_seq(&mut self, seq: &'a ir::InstrSeq) {
        self.0.push(seq.id());
    }
}

fn mem_arg(offset: u32) -> MemArg {
    MemArg {
        align: 8,
        offset: offset as u64,
    }
}

/// `borrow(want) -> got`: saves the first `min(want, SAVE)` bytes of
/// memory 0 (rounded up to words) in globals; 0 when it has no memory.
fn borrow(
    module: &mut Module,
    memory: MemoryId,
    saved: &[GlobalId],
    borrowed: GlobalId,
) -> FunctionId {
    let want = module.locals.add(ValType::I32);
    let mut b = FunctionBuilder::new(&mut module.types, &[ValType::I32], &[ValType::I32]);
    let mut body = b.func_body();
    body.memory_size(memory).unop(ir::UnaryOp::I32Eqz).if_else(
        None,
        |then| {
            then.i32_const(0).return_();
        },
        |_| {},
    );
    // want = min(want, SAVE); borrowed = words
    body.local_get(want)
        .i32_const(SAVE as i32)
        .local_get(want)
        .i32_const(SAVE as i32)
        .binop(BinaryOp::I32LtU)
        .select(None)
        .local_set(want)
        .local_get(want)
        .i32_const(7)
        .binop(BinaryOp::I32Add)
        .i32_const(3)
        .binop(BinaryOp::I32ShrU)
        .global_set(borrowed);
    body.block(None, |done| {
        let id = done.id();
        for (i, &g) in saved.iter().enumerate() {
            done.global_get(borrowed)
                .i32_const(i as i32)
                .binop(BinaryOp::I32LeU)
                .br_if(id)
                .i32_const(0)
                .load(
                    memory,
                    LoadKind::I64 { atomic: false },
                    mem_arg(i as u32 * 8),
                )
                .global_set(g);
        }
    });
    body.local_get(want);
    b.finish(vec![want], &mut module.funcs)
}

/// `give_back()`: restores what `borrow` saved.
fn give_back(
    module: &mut Module,
    memory: MemoryId,
    saved: &[GlobalId],
    borrowed: GlobalId,
) -> FunctionId {
    let mut b = FunctionBuilder::new(&mut module.types, &[], &[]);
    b.func_body().block(None, |done| {
        let id = done.id();
        for (i, &g) in saved.iter().enumerate() {
            done.global_get(borrowed)
                .i32_const(i as i32)
                .binop(BinaryOp::I32LeU)
                .br_if(id)
                .i32_const(0)
                .global_get(g)
                .store(
                    memory,
                    StoreKind::I64 { atomic: false },
                    mem_arg(i as u32 * 8),
                );
        }
    });
    b.func_body().i32_const(0).global_set(borrowed);
    b.finish(vec![], &mut module.funcs)
}

/// `fill(dst, off, len)`: image bytes `[off, off+len)` into memory 0 at
/// `dst`, `off` a multiple of [`PIECE`]; each piece by a function of its
/// own that stores its words.
fn fill(module: &mut Module, memory: MemoryId, words: &[Word]) -> Result<FunctionId, Error> {
    let per_piece = (PIECE / 8) as usize;
    let mut pieces = Vec::new();
    for chunk in words.chunks(per_piece) {
        let dst = module.locals.add(ValType::I32);
        let mut b = FunctionBuilder::new(&mut module.types, &[ValType::I32], &[]);
        let mut body = b.func_body();
        for (i, w) in chunk.iter().enumerate() {
            body.local_get(dst);
            match *w {
                Word::Const(v) => body.i64_const(v as i64),
                Word::Global(g) => body.global_get(g),
            };
            body.store(
                memory,
                StoreKind::I64 { atomic: false },
                mem_arg(i as u32 * 8),
            );
        }
        let f = b.finish(vec![dst], &mut module.funcs);
        module.funcs.get_mut(f).name = Some(format!("wprof:piece{}", pieces.len()));
        pieces.push(f);
    }
    let (dst, off, len) = (
        module.locals.add(ValType::I32),
        module.locals.add(ValType::I32),
        module.locals.add(ValType::I32),
    );
    let end = module.locals.add(ValType::I32);
    let mut b = FunctionBuilder::new(
        &mut module.types,
        &[ValType::I32, ValType::I32, ValType::I32],
        &[],
    );
    let mut body = b.func_body();
    body.local_get(off)
        .local_get(len)
        .binop(BinaryOp::I32Add)
        .local_set(end);
    body.block(None, |done| {
        let done_id = done.id();
        done.loop_(None, |each| {
            let each_id = each.id();
            each.local_get(off)
                .local_get(end)
                .binop(BinaryOp::I32GeU)
                .br_if(done_id);
            // A few hundred comparisons at most, once per piece written.
            for (p, &piece) in pieces.iter().enumerate() {
                each.local_get(off)
                    .i32_const((p as u32 * PIECE) as i32)
                    .binop(BinaryOp::I32Eq)
                    .if_else(
                        None,
                        |then| {
                            then.local_get(dst).call(piece);
                        },
                        |_| {},
                    );
            }
            each.local_get(off)
                .i32_const(PIECE as i32)
                .binop(BinaryOp::I32Add)
                .local_set(off)
                .local_get(dst)
                .i32_const(PIECE as i32)
                .binop(BinaryOp::I32Add)
                .local_set(dst)
                .br(each_id);
        });
    });
    Ok(b.finish(vec![dst, off, len], &mut module.funcs))
}

/// `record(export, ns)`: export `export`'s calls, total and maximum. It
/// runs on every export call, so it dispatches with one `br_table`, not a
/// comparison per export.
fn record(module: &mut Module, per_export: &[[GlobalId; 3]]) -> FunctionId {
    let (k, ns): (LocalId, LocalId) = (
        module.locals.add(ValType::I32),
        module.locals.add(ValType::I64),
    );
    let mut b = FunctionBuilder::new(&mut module.types, &[ValType::I32, ValType::I64], &[]);
    let done = b.dangling_instr_seq(None).id();
    // Block j ends where export j's update starts: `br_table` to block j
    // runs that update, then leaves through `done`. Built inside out.
    let blocks: Vec<InstrSeqId> = per_export
        .iter()
        .map(|_| b.dangling_instr_seq(None).id())
        .collect();
    if let Some(&first) = blocks.first() {
        b.instr_seq(first)
            .local_get(k)
            .br_table(blocks.clone().into_boxed_slice(), done);
    }
    for (j, &[calls, total, max]) in per_export.iter().enumerate() {
        let outer = blocks.get(j + 1).copied().unwrap_or(done);
        let mut seq = b.instr_seq(outer);
        seq.instr(ir::Block { seq: blocks[j] })
            .global_get(calls)
            .i64_const(1)
            .binop(BinaryOp::I64Add)
            .global_set(calls)
            .global_get(total)
            .local_get(ns)
            .binop(BinaryOp::I64Add)
            .global_set(total)
            .local_get(ns)
            .global_get(max)
            .local_get(ns)
            .global_get(max)
            .binop(BinaryOp::I64GtU)
            .select(None)
            .global_set(max);
        if outer != done {
            seq.br(done);
        }
    }
    b.func_body().instr(ir::Block { seq: done });
    b.finish(vec![k, ns], &mut module.funcs)
}
