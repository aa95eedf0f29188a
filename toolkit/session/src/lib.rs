//! wprof's run protocol, once for every host. A [`Session`] owns the steps
//! of a profiling run that do not depend on the engine: reading and checking
//! the module, instrumenting it (or taking an artifact as is), the probe
//! runtime's parameters, the `--invoke` plan and its arguments, turning the
//! probe runtime's memory and the host's samples and events into a
//! [`Profile`], symbolization, heap dumps, the output set and the messages
//! users read.
//!
//! A host — the wasmtime runner in `profiler/`, the JS host in
//! `polyfill-js/` through the wasm toolkit — only does what its engine must:
//! compile [`Session::wasm`], instantiate the probe runtime
//! ([`Session::runtime`]) and WASI, run the [`Plan`], sample, forward memory
//! events into the [`Recording`], say how the guest ended, and hand the
//! runtime's memory to [`Session::finish`].
//!
//! This crate builds natively and for `wasm32-unknown-unknown`; it reads no
//! clock and no file (output goes through an [`outputs::Sink`]).
//!
//! ```
//! use wprof_session::{cli::RunOptions, outputs::MemorySink, RunEnd, Session};
//! let wasm = wat::parse_str(r#"(module (func (export "_start")))"#).unwrap();
//! let session = Session::new(&wasm, RunOptions::new("m.wasm")).unwrap();
//! assert!(session.runtime().is_some()); // instrument mode: link the probe runtime
//! // … a host runs session.wasm() here …
//! let mut sink = MemorySink::default();
//! let end = RunEnd::exited(0, 1_000);
//! let done = session.finish(session.recording(), end, None, &mut sink).unwrap();
//! assert!(done.files.contains(&"summary.json".to_string()));
//! ```

pub mod cli;
pub mod collect;
pub mod exit;
pub mod invoke;
pub mod module;
pub mod outputs;
pub mod recording;

use serde::Serialize;
use std::sync::Arc;
use wprof_instrument::abi::{self, Manifest, RuntimeState, RuntimeTree};

use wprof_instrument::source::Sources;
use wprof_instrument::symbolize::Symbols;
use wprof_profile::values::{self, Value};
use wprof_profile::{Exit, ExitKind, Invoke, InvokeGc, Latency, Mode, Profile, ROOT};

use crate::cli::RunOptions;
use crate::invoke::{Call, Decoded, Guest, InvokeError, ResultForm};
use crate::module::{ModuleInfo, WASI_MODULE};
use crate::outputs::Sink;
use crate::recording::{Cpu, TRUNCATED_FRAME};
pub use crate::recording::{ENGINE_FRAME, Event, Recording};

/// Errors of a session. The `Display` text is what users read after
/// `error: cannot profile `MODULE``.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file is not a module wprof can read (not wasm, empty, component,
    /// bad text).
    #[error("{0}")]
    Input(String),
    /// The module's headers are malformed or truncated.
    #[error("invalid WebAssembly module")]
    Invalid(#[source] wasmparser::BinaryReaderError),
    /// Instrumenting failed.
    #[error("failed to instrument module")]
    Instrument(#[source] wprof_instrument::Error),
    /// The module cannot be run as asked (no `_start`, unknown export,
    /// wrong arguments, an import no host provides, flags that conflict).
    #[error("{0}")]
    Setup(String),
    /// The host handed over something malformed (a wprof bug).
    #[error("{0}")]
    Host(String),
    /// An output file could not be written.
    #[error("failed to write `{path}`")]
    Output {
        /// The file as messages name it.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// Calling contexts deeper than this many frames are folded into one
/// [`DEEPER`] frame under their ancestor at this depth, so outputs (one line
/// per context, each as long as its stack) stay small whatever the
/// recursion depth; per-function calls stay exact.
pub const MAX_DEPTH: u32 = 256;

/// The frame that stands for every context deeper than [`MAX_DEPTH`].
pub const DEEPER: &str = wprof_profile::folded::DEEPER;

/// What the host runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Plan {
    /// Call `_start`.
    Start,
    /// Call `_initialize` if exported, then `export` `repeat` times.
    Invoke {
        /// The export.
        export: String,
        /// Its arguments, parsed by its parameter types, when they are the
        /// same for every call. `None` when some are data (`--arg str:…`)
        /// to be written into the guest's memory before each call: the host
        /// then gets each call's arguments from [`Session::invoke_args`].
        #[serde(serialize_with = "typed_values")]
        args: Option<Vec<Value>>,
        /// Result types, to read the results back.
        results: Vec<String>,
        /// `--result`: the host hands each completed call's results to
        /// [`Session::invoke_result`].
        result: Option<ResultForm>,
        /// Calls.
        repeat: u64,
        /// Whether `_initialize` is exported.
        initialize: bool,
        /// Whether heap dumps may be due between calls (the host then asks
        /// [`Session::dump_due`] after each call).
        dumps: bool,
    },
}

/// `[{"type": "i64", "value": "-5"}]`: exact in JSON for every type.
fn typed_values<S: serde::Serializer>(v: &Option<Vec<Value>>, s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeSeq;
    let Some(v) = v else {
        return s.serialize_none();
    };
    let mut seq = s.serialize_seq(Some(v.len()))?;
    for x in v {
        let shown = values::show(x);
        let (ty, value) = shown.split_once(':').expect("type:value");
        seq.serialize_element(&serde_json::json!({ "type": ty, "value": value }))?;
    }
    seq.end()
}

/// The probe runtime a host must instantiate and link as `wprof`.
#[derive(Debug, Clone, Copy)]
pub struct Runtime {
    /// The runtime module.
    pub wasm: &'static [u8],
    /// `init`'s first argument: probed functions.
    pub functions: u32,
    /// `init`'s second argument: calling-context capacity.
    pub node_cap: u32,
    /// The runtime is linked into the artifact: the host instantiates
    /// nothing else and finds the runtime's exports in the module's, named
    /// with [`abi::LINKED_PREFIX`], and calls [`abi::LINKED_START`] (when
    /// exported) after `init`.
    pub linked: bool,
}

/// The probe runtime's memory and exported globals, as the host sees them.
#[derive(Debug, Clone, Copy)]
pub struct RuntimeView<'a> {
    /// The runtime's memory.
    pub memory: &'a [u8],
    /// Its globals.
    pub state: RuntimeState,
}

/// How the run went, as the host saw it.
#[derive(Debug, Clone)]
pub struct RunEnd {
    /// How the guest ended.
    pub exit: Exit,
    /// Wall time of the guest run.
    pub wall_ns: u64,
    /// Size of memory 0 at the end, when the host can see it.
    pub memory_bytes: Option<u64>,
    /// Peak resident memory of the host process, when it knows it.
    pub host_peak_rss_bytes: Option<u64>,
}

impl RunEnd {
    /// The guest exited with `code` after `wall_ns`.
    pub fn exited(code: i32, wall_ns: u64) -> RunEnd {
        RunEnd {
            exit: Exit::code(code),
            wall_ns,
            memory_bytes: None,
            host_peak_rss_bytes: None,
        }
    }
}

/// A finished run: its profile, the files written and wprof's exit code.
#[derive(Debug, Clone)]
pub struct Finished {
    /// The profile.
    pub profile: Profile,
    /// Every file written, in order (heap dumps taken during the run first).
    pub files: Vec<String>,
    /// Files that could not be written, as messages with their causes. The
    /// others are written all the same, and the exit code still mirrors the
    /// guest.
    pub failed: Vec<String>,
    /// wprof's exit code, mirroring the guest.
    pub exit_code: u8,
    /// What the host writes to its stdout after the guest's own output:
    /// the last completed `--invoke` call's results, one per line (a
    /// `--result` string as is).
    pub stdout: Vec<u8>,
    /// Things the user should know that did not stop the run (a `--result`
    /// that could not be read).
    pub warnings: Vec<String>,
}

/// Where a host keeps instrumented artifacts between runs, so an unchanged
/// module is instrumented once (8.8 s for a 69 MB module). Keys name the
/// module's content, the wprof version and the instrumentation options;
/// what comes back is checked before use, so a damaged cache costs a
/// re-instrumentation, never a wrong profile.
pub trait ArtifactCache {
    /// The artifact stored under `key`, if any.
    fn get(&self, key: &str) -> Option<Vec<u8>>;
    /// Stores `artifact` under `key`; failures are the cache's to ignore.
    fn put(&self, key: &str, artifact: &[u8]);
}

/// One profiling run of one module.
#[derive(Debug, Clone)]
pub struct Session {
    options: RunOptions,
    /// Function imports `(module, name)` by function index.
    imports: Vec<(String, String)>,
    wasm: Vec<u8>,
    manifest: Option<Manifest>,
    symbols: Option<Symbols>,
    /// Sample mode: the module's DWARF, when it has some.
    sources: Option<Arc<Sources>>,
    plan: Plan,
    /// With `--invoke`: what each call is passed and how results are read.
    call: Option<Call>,
    instrumented_here: bool,
}

impl Session {
    /// Reads `bytes` (a module file's content, binary or text), checks that
    /// it can run as `options` ask, and instruments it for instrument mode
    /// unless it already is an artifact. Every user error is found here,
    /// before the host compiles anything.
    pub fn new(bytes: &[u8], options: RunOptions) -> Result<Session, Error> {
        Session::with_cache(bytes, options, None)
    }

    /// [`Session::with_cache`] for a module whose DWARF is in a separate
    /// file (`--debug-file`): `debug` is that file's content, the
    /// unstripped module or its `.debug_*` sections alone.
    pub fn with_debug(
        bytes: &[u8],
        debug: Option<&[u8]>,
        options: RunOptions,
        cache: Option<&dyn ArtifactCache>,
    ) -> Result<Session, Error> {
        let debug = debug
            .map(|d| module::read(d, options.debug_file.as_deref().unwrap_or("--debug-file")))
            .transpose()?;
        Session::build(bytes, debug.as_deref(), options, cache)
    }

    /// [`Session::new`], taking the instrumented artifact from `cache` when
    /// it has one for this module and these options, and storing it there
    /// otherwise.
    pub fn with_cache(
        bytes: &[u8],
        options: RunOptions,
        cache: Option<&dyn ArtifactCache>,
    ) -> Result<Session, Error> {
        Session::build(bytes, None, options, cache)
    }

    fn build(
        bytes: &[u8],
        debug: Option<&[u8]>,
        options: RunOptions,
        cache: Option<&dyn ArtifactCache>,
    ) -> Result<Session, Error> {
        // Hosts without a command line (a page) set options directly.
        if !cli::MAX_CONTEXTS.contains(&options.max_contexts) {
            return Err(Error::Setup(format!(
                "max_contexts must be in {}..={}, not {}",
                cli::MAX_CONTEXTS.start(),
                cli::MAX_CONTEXTS.end(),
                options.max_contexts
            )));
        }
        let wasm = module::read(bytes, &options.module)?;
        let info = ModuleInfo::parse(&wasm).map_err(Error::Invalid)?;
        let manifest = Manifest::from_module(&wasm).map_err(Error::Instrument)?;
        let (plan, call) = plan(&info, &options)?;
        check_imports(&info, manifest.is_some())?;
        // Dumps are taken between the calls wprof makes.
        if let Some((export, _)) = options.memory.as_ref().and_then(|m| {
            m.dump_at
                .iter()
                .find(|(e, _)| options.invoke.as_ref().is_none_or(|i| *e != i.export))
        }) {
            return Err(Error::Setup(format!(
                "--heap-dump-at {export}:N: dumps are taken between calls wprof makes, so EXPORT must be \
                 the --invoke export{}",
                match &options.invoke {
                    Some(inv) => format!(" (`{}`)", inv.export),
                    None => "; without --invoke, the exit dump is always written".to_string(),
                }
            )));
        }
        let mut session = Session {
            imports: info.function_imports.clone(),
            wasm: Vec::new(),
            manifest: None,
            symbols: None,
            sources: None,
            plan,
            call,
            instrumented_here: false,
            options,
        };
        match (session.options.mode, manifest) {
            (Mode::Sample, _) if session.options.memory.is_some() => {
                return Err(Error::Setup(
                    "--memory needs --mode instrument (allocations are attributed to calling contexts)"
                        .into(),
                ));
            }
            (Mode::Sample, Some(_)) => {
                return Err(Error::Setup(
                    "module is already instrumented; sample mode needs the original module".into(),
                ));
            }
            (Mode::Sample, None) => {
                session.symbols = Some(Symbols::from_module(&wasm).map_err(Error::Invalid)?);
                // Malformed DWARF costs the source locations, never the run.
                session.sources = Sources::new(&wasm, debug.unwrap_or(&wasm))
                    .ok()
                    .flatten()
                    .map(Arc::new);
                session.wasm = wasm;
            }
            (_, Some(m)) if m.embed.is_some() => {
                return Err(Error::Setup(
                    "module is a self-profiling artifact (`wprof instrument --embed`): run it with \
                     any WASI host and read the profile it writes with `wprof collect`, or profile \
                     the original"
                        .into(),
                ));
            }
            (Mode::Instrument, Some(m)) if m.linked && !session.options.link_runtime => {
                return Err(Error::Setup(
                    "module is an artifact that links the probe runtime (from a native wprof's \
                     cache), which this host cannot run; pass the original module"
                        .into(),
                ));
            }
            (Mode::Instrument, Some(m)) => {
                if session.options.memory.is_some() && m.memory.is_none() {
                    return Err(Error::Setup(
                        "module is an artifact instrumented without memory probes; instrument the \
                         original with `wprof instrument --memory` or pass the original module"
                            .into(),
                    ));
                }
                session.manifest = Some(m);
                session.wasm = wasm;
            }
            (Mode::Instrument, None) => {
                let memory = session.options.memory.is_some();
                let link = session.options.link_runtime;
                let shared = link && session.options.link_shared;
                let key = cache_key(&wasm, debug, memory, link, shared);
                let cached = cache
                    .and_then(|c| c.get(&key))
                    .and_then(|a| Some((Manifest::from_module(&a).ok()??, a)))
                    .filter(|(m, _)| m.memory.is_some() == memory && m.linked == link);
                let (manifest, artifact) = match cached {
                    Some(hit) => hit,
                    None => {
                        let mut opts = wprof_instrument::Options::default();
                        opts.memory = memory;
                        opts.link_runtime = link;
                        opts.link_shared = shared;
                        // The run reads source locations from the original
                        // (into the manifest); rewriting the artifact's own
                        // DWARF for debuggers is `wprof instrument`'s job and
                        // cost a quarter of the time and memory on yosys.
                        opts.keep_dwarf = false;
                        opts.debug = debug.map(Arc::from);
                        let out = wprof_instrument::instrument(&wasm, &opts)
                            .map_err(Error::Instrument)?;
                        if let Some(c) = cache {
                            c.put(&key, &out.wasm);
                        }
                        (out.manifest, out.wasm)
                    }
                };
                session.manifest = Some(manifest);
                session.wasm = artifact;
                session.instrumented_here = true;
            }
        }
        Ok(session)
    }

    /// The module the host compiles: the artifact in instrument mode, the
    /// original in sample mode.
    pub fn wasm(&self) -> &[u8] {
        &self.wasm
    }

    /// Whether the module has DWARF to resolve sampled module offsets to
    /// source lines (sample mode): hosts that must work to find those
    /// offsets can skip it otherwise.
    pub fn has_sources(&self) -> bool {
        self.sources.is_some()
    }

    /// The options the session runs with.
    pub fn options(&self) -> &RunOptions {
        &self.options
    }

    /// What to call.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// The module's function imports as `(module, name, function index)`:
    /// hosts that can, mark calls of them so their time shows as a frame of
    /// its own (`fd_write` under the function that called it). Indices are
    /// the same in the original and the artifact.
    pub fn host_functions(&self) -> impl Iterator<Item = (&str, &str, u32)> {
        self.imports
            .iter()
            .enumerate()
            .map(|(i, (m, n))| (m.as_str(), n.as_str(), i as u32))
    }

    /// `false` when the input already was an artifact.
    pub fn instrumented_here(&self) -> bool {
        self.instrumented_here
    }

    /// The probe runtime to link as `wprof`, in instrument mode.
    pub fn runtime(&self) -> Option<Runtime> {
        self.manifest.as_ref().map(|m| Runtime {
            wasm: abi::runtime_wasm(),
            functions: m.functions.len() as u32,
            node_cap: self.options.max_contexts,
            linked: m.linked,
        })
    }

    /// A fresh recording for one run. It has a memory host when the module
    /// carries memory probes (an artifact built with them needs their host
    /// with or without `--memory`).
    pub fn recording(&self) -> Recording {
        let memory = self
            .manifest
            .as_ref()
            .and_then(|m| m.memory.as_ref())
            .map(recording::recorder);
        Recording::new(self.options.mode, memory)
    }

    /// The arguments of one `--invoke` call when the plan's `args` are
    /// `None`: each data argument is allocated through the guest's own
    /// allocator and written into its memory, fresh for every call (the
    /// callee may free it; wprof never does). Call it before the call's
    /// timed span; the allocator runs at the root context.
    pub fn invoke_args<G: Guest>(
        &self,
        guest: &mut G,
    ) -> Result<Vec<Value>, InvokeError<G::Error>> {
        match &self.call {
            Some(call) => call.args(guest),
            None => Ok(Vec::new()),
        }
    }

    /// With `--result`, right after each completed call: the text its
    /// `results` point at in the guest's memory, or why it cannot be read,
    /// for [`Recording::set_result_text`]. `None` without `--result`.
    pub fn invoke_result<G: Guest>(
        &self,
        results: &[Value],
        guest: &mut G,
    ) -> Result<Option<Decoded>, G::Error> {
        match &self.call {
            Some(call) => call.decode(results, guest),
            None => Ok(None),
        }
    }

    /// Whether a heap dump is due after completed call `n` of the
    /// `--invoke` export.
    pub fn dump_due(&self, n: u64) -> bool {
        match (&self.options.memory, &self.options.invoke) {
            (Some(m), Some(inv)) => m.dump_due(&inv.export, n),
            _ => false,
        }
    }

    /// Writes a heap dump of the moment (`heap-NNN.wheap`) through `sink`.
    pub fn dump(
        &self,
        rec: &mut Recording,
        runtime: RuntimeView,
        memory_bytes: Option<u64>,
        sink: &mut dyn Sink,
    ) -> Result<(), Error> {
        let tree = self.read_tree(runtime)?;
        rec.set_memory_bytes(memory_bytes);
        let reason = match &self.options.invoke {
            Some(inv) => format!("call {} of {}", rec.calls(), inv.export),
            None => "dump".to_string(),
        };
        let Some(heap) = self.snapshot(rec, &tree, &reason) else {
            return Ok(());
        };
        let name = outputs::dump_name(rec.dumps.len() + 1);
        outputs::put(sink, &name, |w| heap.write(w))?;
        rec.dumps.push(name);
        Ok(())
    }

    /// Builds the profile from what the host recorded and the probe
    /// runtime's final state, and writes the output set through `sink`.
    pub fn finish(
        &self,
        mut rec: Recording,
        end: RunEnd,
        runtime: Option<RuntimeView>,
        sink: &mut dyn Sink,
    ) -> Result<Finished, Error> {
        let mut profile = match (&self.manifest, runtime) {
            (Some(manifest), Some(view)) => {
                let tree = self.read_tree(view)?;
                rec.set_memory_bytes(end.memory_bytes);
                let mut p = self.instrument_profile(manifest, &tree, &rec);
                p.memory = self.snapshot(&rec, &tree, "exit");
                p
            }
            // The runtime never started (e.g. a trap in its own setup):
            // the functions are known, their calls are not.
            (Some(manifest), None) => {
                self.instrument_profile(manifest, &RuntimeTree::default(), &rec)
            }
            (None, _) => self.sample_profile(&rec),
        };
        profile.exit = end.exit;
        profile.wall_ns = end.wall_ns;
        profile.interval_ns = self.options.interval_ns;
        profile.sampler = rec.sampler.clone();
        if profile.sampler.name.is_empty() {
            // Hosts that don't say (the JS host) sample the current-context
            // word, when they can share memory with a worker.
            profile.sampler.name = if profile.samples() > 0 {
                "context"
            } else {
                "none"
            }
            .into();
        }
        profile.host_peak_rss_bytes = end.host_peak_rss_bytes;
        profile.exports = std::mem::take(&mut rec.exports);
        profile.allocations = rec.allocations.take();
        let mut stdout = Vec::new();
        let mut warnings = Vec::new();
        if let Plan::Invoke { export, repeat, .. } = &self.plan {
            let form = self.call.as_ref().and_then(Call::result);
            let text = match (form, &rec.result_text) {
                (Some(form), Some(Ok(text))) => Some((form, text.as_slice())),
                (Some(form), Some(Err(why))) => {
                    warnings.push(format!(
                        "--result {}: cannot read the last call's result: {why}; its raw results are shown",
                        form.name()
                    ));
                    None
                }
                _ => None,
            };
            let results = if rec.calls.is_empty() {
                vec![]
            } else {
                let (shown, printed) = invoke::shown(&rec.results, text);
                stdout = printed;
                shown
            };
            let durations: Vec<u64> = rec.calls.iter().map(|c| c.0).collect();
            let gc_found = rec
                .memory
                .as_ref()
                .is_some_and(|m| m.recorder.hooks.found.iter().any(|h| h.kind == "gc"));
            profile.invoke = Some(Invoke {
                export: export.clone(),
                args: self
                    .options
                    .invoke
                    .as_ref()
                    .map(|i| i.args.clone())
                    .unwrap_or_default(),
                repeat: *repeat,
                results,
                latency: Latency::from_durations(&durations),
                gc: (gc_found && !rec.calls.is_empty()).then(|| InvokeGc::from_calls(&rec.calls)),
            });
        }
        let mut files = rec.dumps.clone();
        let (written, failed) = outputs::write_all(&mut profile, sink);
        files.extend(written.into_iter().map(String::from));
        let exit_code = exit::code(&profile.exit);
        Ok(Finished {
            profile,
            files,
            failed: failed.iter().map(|e| error_chain(e)).collect(),
            exit_code,
            stdout,
            warnings,
        })
    }

    /// The messages a host prints after the run (without its prefix): how
    /// the guest ended when it did not simply exit, a full context tree, the
    /// memory alarm, and where the files went (`location`, e.g.
    /// `wprof-out/`).
    pub fn closing_messages(&self, done: &Finished, location: &str) -> Vec<String> {
        let p = &done.profile;
        let mut lines = Vec::new();
        let what = match p.exit.kind {
            ExitKind::Exit => None,
            ExitKind::Trap => Some("guest trapped"),
            ExitKind::Timeout => Some("guest timed out"),
            ExitKind::Interrupted => Some("guest interrupted"),
        };
        if let Some(what) = what {
            lines.push(format!(
                "{what}: {}",
                p.exit.message.as_deref().unwrap_or("")
            ));
        }
        lines.extend(done.warnings.iter().map(|w| format!("warning: {w}")));
        if p.truncated_calls > 0 {
            lines.push(format!(
                "warning: {} calls did not fit in the calling-context tree (--max-contexts {}); \
                 their stacks are cut at [truncated], per-function counts stay exact",
                p.truncated_calls, self.options.max_contexts
            ));
        }
        if let Some(heap) = &p.memory
            && let Some(alarm) = wprof_profile::heap::report::alarm(None, heap)
        {
            lines.push(format!("memory alarm: {alarm}"));
        }
        lines.extend(done.failed.iter().map(|f| format!("error: {f}")));
        lines.push(format!(
            "profile written to {location} ({})",
            done.files.join(", ")
        ));
        lines
    }

    /// A host-call frame: the import's name (`fd_write`).
    fn host_name(&self, import: u32) -> String {
        self.imports
            .get(import as usize)
            .map_or_else(|| format!("[import {import}]"), |(_, n)| n.clone())
    }

    fn read_tree(&self, view: RuntimeView) -> Result<RuntimeTree, Error> {
        let n = self
            .manifest
            .as_ref()
            .map_or(0, |m| m.functions.len() as u32);
        abi::read_tree(view.memory, view.state, n)
            .map_err(|e| Error::Host(format!("probe runtime: {e}")))
    }

    /// The profile of an instrumented run: functions with their exact
    /// calls, one context per runtime node, and per-node time and samples as
    /// the host's sampler charged them.
    fn instrument_profile(
        &self,
        manifest: &Manifest,
        tree: &RuntimeTree,
        rec: &Recording,
    ) -> Profile {
        let (time, samples) = match &rec.cpu {
            Cpu::Contexts { time, samples } => (time.as_slice(), samples.as_slice()),
            Cpu::Stacks(_) => (&[][..], &[][..]),
        };
        let mut profile = Profile::new(&self.options.module, Mode::Instrument);
        for (i, f) in manifest.functions.iter().enumerate() {
            let id = profile.add_function(f.name.clone(), Some(f.index));
            if let (Some(file), Some(line)) = (&f.file, f.line) {
                profile.functions[id as usize].source = Some(wprof_profile::Source {
                    file: file.clone(),
                    line,
                });
            }
            profile.functions[id as usize].calls =
                Some(tree.calls_by_fid.get(i).copied().unwrap_or(0));
        }
        let truncated = profile.add_function("[truncated]", None);
        profile.functions[truncated as usize].calls = Some(tree.overflow);
        let mut deeper = None;
        // Runtime nodes are created parent first, so one pass maps them.
        let mut map = vec![ROOT; tree.nodes.len()];
        let mut depth = vec![0u32; tree.nodes.len()];
        for (i, &(parent, fid, calls)) in tree.nodes.iter().enumerate().skip(1) {
            let overflow = i as u32 == abi::OVERFLOW_NODE;
            let func = if overflow { truncated } else { fid };
            let d = depth.get(parent as usize).map_or(1, |d| d + 1);
            depth[i] = d;
            let parent = map.get(parent as usize).copied().unwrap_or(ROOT);
            // Beyond MAX_DEPTH a context joins its ancestor's `[deeper]`
            // frame: every output stays linear in the tree, however deep
            // the recursion.
            let node = if d <= MAX_DEPTH {
                profile.tree.child(parent, func)
            } else if d == MAX_DEPTH + 1 {
                let f = *deeper.get_or_insert_with(|| profile.add_function(DEEPER, None));
                profile.tree.child(parent, f)
            } else {
                parent
            };
            map[i] = node;
            let n = &mut profile.tree.nodes[node as usize];
            // Calls the full tree could not place are under the context
            // that made them (below), not at the reserved overflow node.
            n.calls += if overflow { 0 } else { calls };
            n.self_ns += time.get(i).copied().unwrap_or(0);
            n.samples += samples.get(i).copied().unwrap_or(0);
        }
        // A `[truncated]` frame under the context they were made in keeps
        // their stack's prefix.
        let truncated_under = |profile: &mut Profile, node: u32| {
            let parent = map.get(node as usize).copied().unwrap_or(ROOT);
            profile.tree.child(parent, truncated)
        };
        for &(node, calls) in &tree.truncated {
            let n = truncated_under(&mut profile, node);
            profile.tree.nodes[n as usize].calls += calls;
        }
        let mut truncated_time: Vec<_> = rec.truncated_time.iter().collect();
        truncated_time.sort_unstable();
        for (&node, &(ns, samples)) in truncated_time {
            let n = truncated_under(&mut profile, node);
            let n = &mut profile.tree.nodes[n as usize];
            n.self_ns += ns;
            n.samples += samples;
        }
        let mut host_frames = std::collections::HashMap::new();
        let mut host_time: Vec<_> = rec.host_time.iter().collect();
        host_time.sort_unstable_by_key(|(k, _)| **k);
        for (&(node, import), &(ns, samples)) in host_time {
            let parent = if node & abi::TRUNCATED_BIT != 0 {
                truncated_under(&mut profile, node & !abi::TRUNCATED_BIT)
            } else {
                let Some(&parent) = map.get(node as usize) else {
                    continue;
                };
                parent
            };
            let func = *host_frames
                .entry(import)
                .or_insert_with(|| profile.add_function(self.host_name(import), Some(import)));
            let n = profile.tree.child(parent, func);
            let n = &mut profile.tree.nodes[n as usize];
            n.self_ns += ns;
            n.samples += samples;
        }
        profile.truncated_calls = tree.overflow;
        profile.probe_ns = rec.probe_time.0;
        profile.probe_samples = rec.probe_time.1;
        profile
    }

    /// The profile of a sampled run: stacks of original indices, named by
    /// the one symbolizer.
    fn sample_profile(&self, rec: &Recording) -> Profile {
        let mut profile = Profile::new(&self.options.module, Mode::Sample);
        let Cpu::Stacks(stacks) = &rec.cpu else {
            return profile;
        };
        let mut ids = std::collections::HashMap::new();
        let mut inlined = std::collections::HashMap::new();
        let mut map = vec![ROOT; stacks.nodes.len()];
        for (i, n) in stacks.nodes.iter().enumerate().skip(1) {
            let func = *ids.entry(n.func).or_insert_with(|| {
                if n.func == TRUNCATED_FRAME {
                    profile.add_function("[truncated]", None)
                } else if n.func == ENGINE_FRAME {
                    profile.add_function("[engine]", None)
                } else if (n.func as usize) < self.imports.len() {
                    profile.add_function(self.host_name(n.func), Some(n.func))
                } else {
                    let name = self
                        .symbols
                        .as_ref()
                        .map_or_else(|| format!("wasm-function[{}]", n.func), |s| s.name(n.func));
                    let id = profile.add_function(name, Some(n.func));
                    profile.functions[id as usize].source = self
                        .sources
                        .as_ref()
                        .and_then(|s| s.function(n.func))
                        .map(|d| wprof_profile::Source {
                            file: d.file.clone(),
                            line: d.line,
                        });
                    id
                }
            });
            // The frame's source line, and the functions inlined there as
            // frames of their own (innermost deepest).
            let frames = match (&self.sources, n.line.checked_sub(1)) {
                (Some(sources), Some(offset)) => sources.frames(offset as u64),
                _ => Vec::new(),
            };
            let line =
                |f: &wprof_instrument::source::Frame| f.location.as_ref().map_or(0, |l| l.line);
            let mut node =
                profile
                    .tree
                    .child_at(map[n.parent as usize], func, frames.last().map_or(0, line));
            for f in frames.iter().rev().skip(1) {
                let name = f.name.clone().unwrap_or_else(|| "[inlined]".to_string());
                let id = *inlined.entry(name.clone()).or_insert_with(|| {
                    let source = self
                        .sources
                        .as_ref()
                        .and_then(|s| s.inlined(&name))
                        .map(|d| wprof_profile::Source {
                            file: d.file.clone(),
                            line: d.line,
                        });
                    let id = profile.add_function(name, None);
                    let f = &mut profile.functions[id as usize];
                    f.inlined = true;
                    f.source = source;
                    id
                });
                node = profile.tree.child_at(node, id, line(f));
            }
            map[i] = node;
            let m = &mut profile.tree.nodes[node as usize];
            m.self_ns += n.self_ns;
            m.samples += n.samples;
        }
        profile
    }

    /// The heap now, with stacks resolved through `tree`.
    fn snapshot(
        &self,
        rec: &Recording,
        tree: &RuntimeTree,
        reason: &str,
    ) -> Option<wprof_profile::heap::Heap> {
        let manifest = self.manifest.as_ref()?;
        let mem = rec.memory.as_ref()?;
        let resolve = |node: u32| -> Vec<String> {
            let mut frames = Vec::new();
            // An allocation in a call the full tree could not place.
            let cut = node != abi::PROBE_CONTEXT && node & abi::TRUNCATED_BIT != 0;
            if cut {
                frames.push("[truncated]".to_string());
            }
            let mut n = if cut {
                node & !abi::TRUNCATED_BIT
            } else {
                node
            };
            // Parents come before children, so this walk ends at the root.
            while n != abi::ROOT_NODE && (n as usize) < tree.nodes.len() {
                let (parent, fid, _) = tree.nodes[n as usize];
                frames.push(if n == abi::OVERFLOW_NODE {
                    "[truncated]".to_string()
                } else {
                    manifest
                        .functions
                        .get(fid as usize)
                        .map_or_else(|| format!("[fid {fid}]"), |f| f.name.clone())
                });
                if parent >= n {
                    break;
                }
                n = parent;
            }
            frames.reverse();
            if frames.len() > MAX_DEPTH as usize {
                frames.truncate(MAX_DEPTH as usize);
                frames.push(DEEPER.to_string());
            }
            frames
        };
        let mut heap = mem.recorder.snapshot(reason, &resolve);
        heap.module = self.options.module.clone();
        Some(heap)
    }
}

/// An error and its sources in one line (`top: cause: cause`), for hosts
/// whose errors carry a single message (JS) and for failed-file messages.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut message = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        message.push_str(&format!(": {s}"));
        source = s.source();
    }
    message
}

/// The cache key of `wasm` instrumented with these options by this build.
fn cache_key(
    wasm: &[u8],
    debug: Option<&[u8]>,
    memory: bool,
    linked: bool,
    shared: bool,
) -> String {
    use sha2::{Digest, Sha256};
    let hex = |bytes: &[u8]| -> String {
        Sha256::digest(bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    // The artifact's manifest carries source locations from the debug file.
    let debug = debug.map(|d| format!("-debug{}", &hex(d)[..16]));
    format!(
        "{}-v{}-abi{}{}{}{}",
        hex(wasm),
        env!("CARGO_PKG_VERSION"),
        abi::ABI_VERSION,
        if memory { "-memory" } else { "" },
        match (linked, shared) {
            (true, true) => "-linked-shared",
            (true, false) => "-linked",
            _ => "",
        },
        debug.unwrap_or_default()
    )
}

/// The run plan, checked against the module's exports, and with
/// `--invoke` what each call is passed.
fn plan(info: &ModuleInfo, options: &RunOptions) -> Result<(Plan, Option<Call>), Error> {
    let Some(inv) = &options.invoke else {
        if info.function("_start").is_none() {
            let exports = info.function_names();
            return Err(Error::Setup(if exports.is_empty() {
                "module has no `_start` export and exports no functions; nothing to run".into()
            } else {
                format!(
                    "module has no `_start` export (a library/reactor module?); choose an export with --invoke: {}",
                    exports.join(", ")
                )
            }));
        }
        return Ok((Plan::Start, None));
    };
    let call = Call::new(&inv.export, info, &inv.args, inv.result).map_err(Error::Setup)?;
    let results = info
        .function(&inv.export)
        .map(|sig| sig.results.clone())
        .unwrap_or_default();
    let plan = Plan::Invoke {
        export: inv.export.clone(),
        args: call.fixed(),
        results,
        result: call.result(),
        repeat: inv.repeat,
        initialize: info.function("_initialize").is_some(),
        dumps: options
            .memory
            .as_ref()
            .is_some_and(|m| !m.dump_at.is_empty() || m.dump_every.is_some()),
    };
    Ok((plan, Some(call)))
}

/// Every host provides WASI preview1 and, for artifacts, the probes;
/// anything else would fail at link time, after the expensive work.
fn check_imports(info: &ModuleInfo, artifact: bool) -> Result<(), Error> {
    let provided = |m: &str| {
        m == WASI_MODULE || (artifact && (m == abi::IMPORT_MODULE || m == abi::mem::MODULE))
    };
    let foreign: Vec<String> = info
        .imports
        .iter()
        .filter(|(m, _)| !provided(m))
        .map(|(m, n)| format!("{m}::{n}"))
        .collect();
    if foreign.is_empty() {
        return Ok(());
    }
    Err(Error::Setup(format!(
        "unsupported import: wprof provides only WASI preview1, but the module also imports {}",
        foreign.join(", ")
    )))
}
