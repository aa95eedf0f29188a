//! wprof's instrumenter: rewrites a WebAssembly module so that it reports an
//! exact calling-context tree to the probe runtime, defines that runtime and
//! its ABI ([`abi`]), and names functions for humans ([`symbolize`]).
//!
//! This crate takes and returns bytes; it knows nothing of wasmtime, JS or the
//! command line, and builds for `wasm32-unknown-unknown` so the browser runs
//! the same instrumenter as the server.
//!
//! ```
//! let wasm = wat::parse_str(r#"(module (func (export "f") (result i32) i32.const 7))"#).unwrap();
//! let out = wprof_instrument::instrument(&wasm, &wprof_instrument::Options::default()).unwrap();
//! assert_eq!(out.manifest.functions.len(), 1);
//! assert_eq!(out.manifest.functions[0].name, "f"); // no name section: the export name
//! ```

pub mod abi;
pub mod embed;
pub mod headers;
mod memory;
mod rewrite;
pub mod source;
mod stream;
pub mod symbolize;

use std::sync::{Arc, Mutex};

use std::collections::HashMap;

use walrus::{FunctionId, ModuleConfig, RawCustomSection, ValType};

pub use abi::{FunctionEntry, Manifest};

/// Errors of this crate. Messages are lowercase and say where.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input is not a valid WebAssembly module.
    #[error("invalid WebAssembly module")]
    Parse(#[source] wasmparser::BinaryReaderError),
    /// walrus rejected the module (it validates while parsing).
    #[error("invalid WebAssembly module: {0:#}")]
    Module(String),
    /// The input already carries wprof probes.
    #[error("module is already instrumented (it has a `{}` section)", abi::SECTION)]
    AlreadyInstrumented,
    /// The `wprof.abi` section could not be decoded.
    #[error("malformed wprof manifest: {0}")]
    Manifest(String),
    /// The module speaks a probe ABI this build does not.
    #[error("module uses probe ABI version {found}, this wprof supports version {supported}")]
    AbiVersion {
        /// Version in the module.
        found: u32,
        /// Version this crate implements.
        supported: u32,
    },
    /// The module cannot carry its own profiler (`--embed`).
    #[error("cannot embed the profiler: {0}")]
    Embed(String),
    /// The rewritten module does not validate: a bug in wprof.
    #[error("instrumented module does not validate (this is a wprof bug)")]
    Output(#[source] wasmparser::BinaryReaderError),
}

/// How to instrument.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Options {
    /// Keep and rewrite DWARF `.debug_*` sections (walrus drops them
    /// otherwise). Default: `true`, so debuggers still work on the artifact.
    pub keep_dwarf: bool,
    /// Also hook allocators and `memory.grow` (see [`abi::mem`]). Default:
    /// `false`; the artifact then needs only the probe runtime.
    pub memory: bool,
    /// The module's DWARF in a separate file (the unstripped module, or its
    /// `.debug_*` sections alone), for source locations of a stripped
    /// module. Default: the module's own sections.
    pub debug: Option<std::sync::Arc<[u8]>>,
    /// Link the profiler into the artifact (see [`embed`]), storing in
    /// this tier: a self-profiling module that needs no `wprof` imports.
    /// Default: `None`.
    pub embed: Option<embed::Embed>,
    /// Link the probe runtime into the artifact, in a memory of its own
    /// (hosts with multi-memory: the native runner): probes become calls
    /// within the module and inlined stores instead of calls of `wprof`
    /// imports, and the host reads the runtime through the artifact's
    /// exports ([`abi::LINKED_PREFIX`]). Default: `false`, the artifact
    /// every host runs.
    pub link_runtime: bool,
    /// With `link_runtime`: the runtime's memory is shared, for hosts whose
    /// sampler reads it from another thread as a shared memory (a JS
    /// Worker). Default: `false` (the native runner reads it by address;
    /// Cranelift reloads a shared memory's base on every access).
    pub link_shared: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            keep_dwarf: true,
            memory: false,
            debug: None,
            embed: None,
            link_runtime: false,
            link_shared: false,
        }
    }
}

/// The instrumented module and what its probes mean.
#[derive(Debug, Clone)]
pub struct Instrumented {
    /// The instrumented module's bytes; it validates.
    pub wasm: Vec<u8>,
    /// The manifest also embedded in the module's `wprof.abi` section.
    pub manifest: Manifest,
}

/// Instruments every local function of `wasm` (a binary module) with
/// calling-context probes. See [`abi`] for what the result imports.
pub fn instrument(wasm: &[u8], options: &Options) -> Result<Instrumented, Error> {
    if Manifest::from_module(wasm)?.is_some() {
        return Err(Error::AlreadyInstrumented);
    }
    if options.link_runtime && options.embed.is_some() {
        return Err(Error::Embed(
            "an embedded artifact links its own runtime; `link_runtime` is for hosts".into(),
        ));
    }
    if stream::applies(wasm, options) {
        let symbols = symbolize::Symbols::from_module(wasm).map_err(Error::Parse)?;
        let sources = Sources::of(wasm, options);
        return stream::instrument(wasm, options, |index| entry(&symbols, &sources, index));
    }
    // walrus ids are arena positions; the index → id map from parsing is the
    // reliable way back to original function indices, which is what users
    // and the sampling mode see.
    let order: Arc<Mutex<Vec<FunctionId>>> = Arc::default();
    let mut config = ModuleConfig::new();
    config.generate_dwarf(options.keep_dwarf);
    {
        let order = order.clone();
        config.on_parse(move |module, ids| {
            let mut order = order.lock().unwrap();
            for index in 0..module.funcs.iter().count() as u32 {
                order.push(ids.get_func(index)?);
            }
            Ok(())
        });
    }
    let mut module = config
        .parse(wasm)
        .map_err(|e| Error::Module(format!("{e:#}")))?;
    let order = std::mem::take(&mut *order.lock().unwrap());
    // Calls of the module's own imports (WASI, …) get host-call marks, so a
    // sampler puts their time under a frame of their own.
    let host_calls: std::collections::HashMap<FunctionId, u32> = order
        .iter()
        .enumerate()
        .filter(|(_, id)| matches!(module.funcs.get(**id).kind, walrus::FunctionKind::Import(_)))
        .map(|(index, &id)| (id, index as u32))
        .collect();

    // The contexts tier of an embedded artifact links the same runtime.
    let contexts = options
        .embed
        .is_some_and(|e| matches!(e.tier, embed::Tier::Contexts(_)));
    let (probes, mut runtime) = if options.link_runtime || contexts {
        let shared = options.link_runtime && options.link_shared;
        let (probes, runtime) = linked_probes(&mut module, host_calls, shared)?;
        (probes, Some(runtime))
    } else {
        (imported_probes(&mut module, host_calls), None)
    };

    let symbols = symbolize::Symbols::from_module(wasm).map_err(Error::Parse)?;
    let sources = Sources::of(wasm, options);
    let mut functions = Vec::new();
    let mut names = Vec::new();
    for (index, id) in order.into_iter().enumerate() {
        let func = module.funcs.get_mut(id);
        if let walrus::FunctionKind::Local(local) = &mut func.kind {
            let fid = functions.len() as u32;
            rewrite::wrap_function(local, fid, &probes, &mut module.types, &mut module.locals);
            let entry = entry(&symbols, &sources, index as u32);
            names.push((id, index as u32, entry.name.clone()));
            functions.push(entry);
        }
    }
    let memory = options
        .memory
        .then(|| memory::instrument(&mut module, &names));
    let embed = match options.embed {
        Some(how) => {
            // The counts tier replaces the probe imports; the contexts tier
            // has its runtime linked already.
            let mut imports = Vec::new();
            if runtime.is_none() {
                imports = vec![
                    (abi::ENTER, probes.enter),
                    (abi::LEAVE, probes.leave),
                    (abi::CURRENT, probes.current),
                    (abi::HOST_ENTER, probes.host_enter),
                    (abi::HOST_LEAVE, probes.host_leave),
                ];
                for (&(name, _), &(_, f)) in abi::LEAVE_VALUE.iter().zip(&probes.leave_value) {
                    imports.push((name, f));
                }
            }
            let id = artifact_id(wasm, how.tier);
            Some(embed::link(
                &mut module,
                &imports,
                runtime.take(),
                functions.len() as u32,
                how,
                id,
            )?)
        }
        None => None,
    };
    if let Some(runtime) = runtime {
        export_runtime(&mut module, runtime.1)?;
    }
    let manifest = Manifest {
        abi: abi::ABI_VERSION,
        functions,
        memory,
        embed,
        linked: options.link_runtime,
    };
    module.customs.add(RawCustomSection {
        name: abi::SECTION.to_string(),
        data: manifest.to_bytes(),
    });
    let out = module.emit_wasm();
    validate(&out).map_err(Error::Output)?;
    Ok(Instrumented {
        wasm: out,
        manifest,
    })
}

/// The source locations of a module's functions, if it has DWARF.
struct Sources(Option<source::Sources>);

impl Sources {
    fn of(wasm: &[u8], options: &Options) -> Sources {
        // Malformed DWARF costs the source locations, never the profile.
        Sources(
            source::Sources::new(wasm, options.debug.as_deref().unwrap_or(wasm))
                .ok()
                .flatten(),
        )
    }
}

/// The manifest's entry for function `index`: the same names sample mode
/// shows (one symbolizer for both modes), and where it is declared.
fn entry(symbols: &symbolize::Symbols, sources: &Sources, index: u32) -> FunctionEntry {
    let declared = sources.0.as_ref().and_then(|s| s.function(index));
    FunctionEntry {
        index,
        name: symbols.name(index),
        file: declared.map(|d| d.file.clone()),
        line: declared.map(|d| d.line),
    }
}

/// Probes that call the runtime's functions, imported from `wprof`.
fn imported_probes(
    module: &mut walrus::Module,
    host_calls: HashMap<FunctionId, u32>,
) -> rewrite::Probes {
    let enter_ty = module.types.add(&[ValType::I32], &[ValType::I32]);
    let (enter, _) = module.add_import_func(abi::IMPORT_MODULE, abi::ENTER, enter_ty);
    let leave_ty = module.types.add(&[ValType::I32], &[]);
    let (leave, _) = module.add_import_func(abi::IMPORT_MODULE, abi::LEAVE, leave_ty);
    let current_ty = module.types.add(&[], &[ValType::I32]);
    let (current, _) = module.add_import_func(abi::IMPORT_MODULE, abi::CURRENT, current_ty);
    let leave_value = abi::LEAVE_VALUE
        .iter()
        .map(|&(name, ty)| {
            let ty = match ty {
                "i32" => ValType::I32,
                "i64" => ValType::I64,
                "f32" => ValType::F32,
                _ => ValType::F64,
            };
            let fty = module.types.add(&[ty, ValType::I32], &[ty]);
            (ty, module.add_import_func(abi::IMPORT_MODULE, name, fty).0)
        })
        .collect();
    let host_ty = module.types.add(&[ValType::I32], &[]);
    let (host_enter, _) = module.add_import_func(abi::IMPORT_MODULE, abi::HOST_ENTER, host_ty);
    let host_leave_ty = module.types.add(&[], &[]);
    let (host_leave, _) =
        module.add_import_func(abi::IMPORT_MODULE, abi::HOST_LEAVE, host_leave_ty);
    rewrite::Probes {
        enter,
        leave,
        current,
        leave_value,
        host_enter,
        host_leave,
        host_calls,
        linked: None,
    }
}

/// Probes of a runtime linked into the module ([`Options::link_runtime`]).
fn linked_probes(
    module: &mut walrus::Module,
    host_calls: HashMap<FunctionId, u32>,
    shared: bool,
) -> Result<(rewrite::Probes, embed::Runtime), Error> {
    // The runtime's memory must not become memory 0.
    if module.memories.iter().next().is_none() {
        module.memories.add_local(false, false, 0, Some(0), None);
    }
    let (memory, exports) = embed::link_runtime(module, shared)?;
    let func = |name| embed::func(&exports, name);
    let address = |name: &str| -> Result<u32, Error> {
        let value = match exports.get(name) {
            Some(walrus::ExportItem::Global(g)) => match &module.globals.get(*g).kind {
                walrus::GlobalKind::Local(walrus::ConstExpr::Value(walrus::ir::Value::I32(v))) => {
                    Some(*v as u32)
                }
                _ => None,
            },
            _ => None,
        };
        value.ok_or_else(|| Error::Embed(format!("runtime lacks the constant `{name}`")))
    };
    let leave_value = abi::LEAVE_VALUE
        .iter()
        .zip([ValType::I32, ValType::I64, ValType::F32, ValType::F64])
        .map(|(&(name, _), ty)| Ok((ty, func(name)?)))
        .collect::<Result<_, Error>>()?;
    let probes = rewrite::Probes {
        enter: func(abi::ENTER)?,
        leave: func(abi::LEAVE)?,
        current: func(abi::CURRENT)?,
        leave_value,
        host_enter: func(abi::HOST_ENTER)?,
        host_leave: func(abi::HOST_LEAVE)?,
        host_calls,
        linked: Some(rewrite::Linked {
            memory,
            cur: address(abi::runtime_exports::CUR_ADDR)?,
            host: address(abi::runtime_exports::HOST_ADDR)?,
            scratch: address(abi::runtime_exports::SCRATCH_ADDR)?,
        }),
    };
    Ok((probes, (memory, exports)))
}

/// Exports a linked runtime for the host (under [`abi::LINKED_PREFIX`]),
/// and defers the module's start function to the host, which calls it
/// after the runtime's `init` ([`abi::LINKED_START`]).
fn export_runtime(
    module: &mut walrus::Module,
    exports: HashMap<String, walrus::ExportItem>,
) -> Result<(), Error> {
    let mut named: Vec<(String, walrus::ExportItem)> = exports
        .into_iter()
        .map(|(name, item)| (format!("{}{name}", abi::LINKED_PREFIX), item))
        .collect();
    if let Some(start) = module.start.take() {
        named.push((
            abi::LINKED_START.to_string(),
            walrus::ExportItem::Function(start),
        ));
    }
    // Sorted, so the same input gives the same bytes.
    named.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, item) in named {
        if module.exports.iter().any(|e| e.name == name) {
            return Err(Error::Embed(format!("the module already exports `{name}`")));
        }
        module.exports.add(&name, item);
    }
    Ok(())
}

/// A name for an embedded artifact that its profiles repeat: FNV-1a of
/// the original and the tier, so the same inputs give the same bytes.
fn artifact_id(wasm: &[u8], tier: embed::Tier) -> u64 {
    let tier = match tier {
        embed::Tier::Contexts(n) => n,
        embed::Tier::Counts => u32::MAX,
    };
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in wasm.iter().chain(&tier.to_le_bytes()) {
        h = (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Validates `wasm` with the feature set walrus parses (wasmparser defaults
/// plus legacy exceptions).
pub fn validate(wasm: &[u8]) -> Result<(), wasmparser::BinaryReaderError> {
    let features =
        wasmparser::WasmFeatures::default() | wasmparser::WasmFeatures::LEGACY_EXCEPTIONS;
    wasmparser::Validator::new_with_features(features)
        .validate_all(wasm)
        .map(|_| ())
}
