//! The wasmtime adapter of the run protocol: compiles what the
//! [`Session`] hands over, links WASI preview1, the probe runtime and the
//! memory probes, runs the session's [`Plan`], samples, and reports how the
//! guest ended. Everything else — checking the module, instrumenting, the
//! profile, the output files — is the session's.
//!
//! Time comes from sampling in both modes; no clock is read per call.
//!
//! Instrument mode: a sampler thread reads the probe runtime's
//! current-context word (in the runtime's memory, by address) every interval and
//! charges the time since its previous read to that context. The read does
//! not wait for the guest to reach any particular instruction, so a
//! loop-free function gets its own time and time in a host call (WASI I/O)
//! goes to the context that made it. Epoch interruption is only used to
//! stop the guest (`--timeout`, Ctrl-C): the thread bumps the epoch once.
//!
//! Sample mode: a CPU-time timer signal interrupts the guest thread at any
//! instruction and its handler walks the wasm frames (see [`signal`]); the
//! thread drains them. Where that is unavailable (not x86-64 Linux), the
//! thread advances wasmtime's epoch every interval and the epoch callback
//! captures a wasm backtrace: biased, since epoch checks sit at function
//! entries and loop headers. `summary.json` says which one ran.
//!
//! Stopping (`--timeout`, Ctrl-C): where the host can abandon the guest
//! ([`HostOptions::abandon`]) and the signal sampler runs, sample mode
//! compiles no epoch checks at all: on a stop the watching thread writes the
//! profile from what it has (samples, host-call samples, completed calls)
//! and hands it to the host, which ends the process without waiting for
//! the guest, even one blocked in a host call. Otherwise the thread bumps
//! the epoch and the guest stops at its next check; one that has not
//! within [`ABANDON_AFTER`] is blocked in a host call and is abandoned the
//! same way, its tree read from the probe runtime's memory.

use std::num::NonZeroUsize;
use std::path::Path;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use wasmtime::{
    Config, Engine, Instance, Linker, Module, Store, Trap, UpdateDeadline, Val, WasmBacktrace,
};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::{I32Exit, WasiCtxBuilder};
use wprof_instrument::abi::{self, RuntimeState};
use wprof_profile::values::Value;
use wprof_profile::{Exit, ExitKind, Mode};
use wprof_session::invoke::{Guest, InvokeError};
use wprof_session::outputs::Sink;
use wprof_session::{Event, Finished, Plan, Recording, RunEnd, RuntimeView, Session};

use crate::memory::{self, MemoryProbeHost};
use crate::shared;
use crate::signal::{self, Drain, HostCalls, SignalSampler, Stack, Stacks};

/// Frames kept per sampled backtrace.
const MAX_SAMPLED_FRAMES: usize = signal::MAX_FRAMES;

/// What only the native host decides.
#[derive(Clone)]
pub struct HostOptions {
    /// Set to stop the guest (Ctrl-C, SIGTERM, SIGHUP).
    pub interrupt: Arc<AtomicBool>,
    /// Give the guest wprof's stdin/stdout/stderr (otherwise: empty input,
    /// discarded output).
    pub inherit_stdio: bool,
    /// How steps before and after the guest's run are shown.
    pub progress: crate::progress::Progress,
    /// How the host ends a run whose guest is abandoned on a stop: called
    /// on the watching thread with the profile already written, it reports
    /// and exits the process (the guest thread still runs). `None`: guests
    /// are always stopped cooperatively, so epoch checks stay compiled in.
    pub abandon: Option<Abandon>,
}

impl std::fmt::Debug for HostOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostOptions")
            .field("inherit_stdio", &self.inherit_stdio)
            .field("abandon", &self.abandon.is_some())
            .finish_non_exhaustive()
    }
}

/// See [`HostOptions::abandon`].
pub type Abandon = Arc<dyn Fn(&Session, Result<Finished>) + Send + Sync>;

/// What the watching thread needs to write the profile of an abandoned
/// guest: what the guest thread would otherwise hand over at the end.
#[derive(Default)]
struct Progress {
    /// Signal sampling: samples in host calls, by stack.
    host: Mutex<Vec<(Stack, bool, u64, u64)>>,
    /// Durations of the completed `--invoke` calls.
    calls: Mutex<Vec<u64>>,
}

/// Why the guest was stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
enum Stopped {
    #[error("guest exceeded the timeout")]
    Timeout,
    #[error("interrupted")]
    Interrupted,
}

/// `Host::stop` values.
const RUNNING: u8 = 0;
const TIMED_OUT: u8 = 1;
const INTERRUPTED: u8 = 2;

/// The probe runtime's current-context and host-call words.
#[derive(Clone)]
struct Word {
    memory: shared::Runtime,
    addr: usize,
    host: usize,
    /// Where the tree is, to read it while the guest still runs.
    layout: abi::Layout,
}

impl Word {
    fn load(&self) -> u32 {
        self.memory.load_u32(self.addr).unwrap_or(abi::ROOT_NODE)
    }

    /// The imported function being called now, if any.
    fn host_call(&self) -> Option<u32> {
        self.memory
            .load_u32(self.host)
            .filter(|&v| v != 0)
            .map(|v| v - 1)
    }
}

struct Host {
    wasi: WasiP1Ctx,
    last: Instant,
    started: Instant,
    /// Set by the sampler thread when the guest must stop.
    stop: Arc<AtomicU8>,
    rec: Recording,
    /// The current context (instrument mode).
    cur: Option<Word>,
    /// Signal sampling: samples that landed in host calls.
    host_calls: Option<HostFrames>,
    progress: Arc<Progress>,
}

/// Turns samples taken inside a host call into a host-call frame under the
/// wasm stack that made the call.
struct HostFrames {
    calls: HostCalls,
    /// The compiled module, to read the call instruction at a frame's
    /// offset.
    wasm: Arc<[u8]>,
    imports: u32,
}

impl HostFrames {
    /// The import called by the instruction at `offset`, if it is a direct
    /// `call` of an import.
    fn callee(&self, offset: usize) -> Option<u32> {
        let code = self.wasm.get(offset..)?;
        if code.first() != Some(&0x10) {
            return None;
        }
        let mut reader = wasmparser::BinaryReader::new(&code[1..], 0);
        reader.read_var_u32().ok().filter(|&f| f < self.imports)
    }
}

impl MemoryProbeHost for Host {
    fn recording(&mut self) -> &mut Recording {
        &mut self.rec
    }
    fn context(&self) -> u32 {
        self.cur.as_ref().map_or(abi::ROOT_NODE, Word::load)
    }
    fn now_ns(&self) -> u64 {
        self.started.elapsed().as_nanos() as u64
    }
}

impl Host {
    /// Sample mode: charges the time since the last tick to the stack now.
    fn tick(&mut self, now: Instant, backtrace: &WasmBacktrace) {
        let delta = now.saturating_duration_since(self.last).as_nanos() as u64;
        self.last = now;
        let frames = backtrace.frames();
        if frames.is_empty() {
            return;
        }
        let truncated = frames.len() >= MAX_SAMPLED_FRAMES;
        self.rec
            .sample_stack(frames.iter().rev().map(frame), truncated, delta, 1);
    }

    /// Signal sampling: `samples` landed in the host function (or engine
    /// libcall) that `backtrace`'s innermost wasm frame is returning from;
    /// they become a frame under that stack.
    fn host_samples(&mut self, backtrace: &WasmBacktrace, ns: u64, samples: u64) {
        let Some(h) = &self.host_calls else { return };
        let frames = backtrace.frames();
        let leaf = frames
            .first()
            .and_then(|f| f.module_offset())
            .and_then(|o| h.callee(o))
            .unwrap_or(wprof_session::ENGINE_FRAME);
        let truncated = frames.len() >= MAX_SAMPLED_FRAMES;
        let stack = frames
            .iter()
            .rev()
            .map(frame)
            .chain([(leaf, None)])
            .collect();
        lock(&self.progress.host).push((stack, truncated, ns, samples));
    }
}

/// `m`'s data; a panic elsewhere while holding it must not cost the profile.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A backtrace frame as the recording takes it.
fn frame(f: &wasmtime::FrameInfo) -> (u32, Option<u32>) {
    (f.func_index(), f.module_offset().map(|o| o as u32))
}

/// The engine for `session`: epoch interruption for the sampler and the
/// proposals real modules use.
fn engine(session: &Session, epochs: bool) -> Result<Engine> {
    let mut config = Config::new();
    config.epoch_interruption(epochs);
    // Modules built for threads declare shared memories. (The probe
    // runtime's is unshared here: the sampler reads it by address.)
    config.wasm_threads(true);
    config.shared_memory(true);
    // wasmtime preallocates this many frames per capture (and returns an
    // empty trace if that fails), so it must stay modest; deeper stacks lose
    // their outermost frames and are rooted at `[truncated]`.
    config.wasm_backtrace_max_frames(NonZeroUsize::new(MAX_SAMPLED_FRAMES));
    config.wasm_exceptions(true);
    config.wasm_tail_call(true);
    config.wasm_function_references(true);
    config.wasm_gc(true);
    if session.options().cache {
        // A missing or unreadable cache must never stop a profile.
        if let Ok(cache) = wasmtime::Cache::from_file(None) {
            config.cache(Some(cache));
        }
    }
    wt(Engine::new(&config)).context("failed to configure wasmtime")
}

/// Runs the session's module on wasmtime and writes its outputs through
/// `sink`. Errors are wprof's (compile or link failure, an output that
/// cannot be written); whatever the guest does — exit, trap, time out — ends
/// up in the profile's `exit`.
pub fn run(
    session: &Session,
    host: &HostOptions,
    sink: &mut (dyn Sink + Send),
) -> Result<Finished> {
    let options = session.options();
    let sampling = options.mode == Mode::Sample;
    // Neither the signal sampler nor the context sampler needs epoch checks
    // (a check at every function entry and loop header: 0.5 ns per call on
    // call-heavy code), as long as a stop need not wait for the guest: its
    // profile is then read from the sampler thread. Memory events are
    // recorded on the guest's thread, so `--memory` keeps them.
    let abandons = host.abandon.is_some()
        && if sampling {
            signal::available()
        } else {
            !session.recording().has_memory()
        };
    let engine = engine(session, !abandons)?;
    let wasm = session.wasm();
    let module = host
        .progress
        .step(
            &format!("compiling ({})", crate::progress::size(wasm.len())),
            || wt(Module::new(&engine, wasm)),
        )
        .context("failed to compile module")?;

    let mut wasi = WasiCtxBuilder::new();
    if host.inherit_stdio {
        wasi.inherit_stdio();
    }
    let argv0 = Path::new(&options.module).file_name().map_or_else(
        || "module.wasm".into(),
        |n| n.to_string_lossy().into_owned(),
    );
    wasi.arg(&argv0);
    wasi.args(&options.guest_args);
    for (k, v) in &options.env {
        wasi.env(k, v);
    }
    for (h, g) in &options.dirs {
        wt(wasi.preopened_dir(h, g, wasmtime_wasi::FsPerms::ReadWrite))
            .with_context(|| format!("failed to open directory `{h}` for the guest"))?;
    }
    let now = Instant::now();
    let stop = Arc::new(AtomicU8::new(RUNNING));
    let mut store = Store::new(
        &engine,
        Host {
            wasi: wasi.build_p1(),
            last: now,
            started: now,
            stop: stop.clone(),
            rec: session.recording(),
            cur: None,
            host_calls: None,
            progress: Arc::default(),
        },
    );
    let progress = store.data().progress.clone();
    // The deadline defaults to "now": set it before any wasm runs, the
    // probe runtime's `init` included. In instrument mode the epoch only
    // moves to stop the guest.
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(move |mut cx| {
        if sampling && cx.data().host_calls.is_none() {
            let backtrace = WasmBacktrace::capture(&cx);
            cx.data_mut().tick(Instant::now(), &backtrace);
        }
        match cx.data().stop.load(Ordering::Relaxed) {
            TIMED_OUT => Err(wasmtime::Error::new(Stopped::Timeout)),
            INTERRUPTED => Err(wasmtime::Error::new(Stopped::Interrupted)),
            _ => Ok(UpdateDeadline::Continue(1)),
        }
    });

    let mut linker: Linker<Host> = Linker::new(&engine);
    wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |h: &mut Host| &mut h.wasi)?;
    // wasmtime-wasi turns exit codes of 126 and above into a trap; the guest
    // asked to exit with that code, so it exits (as natively run programs do).
    linker.allow_shadowing(true);
    linker.func_wrap(
        wprof_session::module::WASI_MODULE,
        "proc_exit",
        |code: i32| -> wasmtime::Result<()> { Err(wasmtime::Error::new(I32Exit(code))) },
    )?;
    linker.allow_shadowing(false);
    // A runtime of its own is linked before the guest; a runtime inside the
    // artifact is set up once the guest is instantiated, below.
    let params = session.runtime();
    let mut runtime = None;
    if let Some(params) = params.filter(|p| !p.linked) {
        // Unshared: this host's sampler reads the memory by address
        // (shared.rs); JS hosts get `params.wasm`, the shared one.
        let rt = wt(Module::new(&engine, abi::runtime_wasm_unshared())).context("probe runtime")?;
        let rt = wt(Instance::new(&mut store, &rt, &[])).context("probe runtime")?;
        linker.instance(&mut store, abi::IMPORT_MODULE, rt)?;
        let rt = Probes {
            instance: rt,
            linked: false,
        };
        rt.init(&mut store, params)?;
        runtime = Some(rt);
    }
    if store.data().rec.has_memory() {
        memory::link(&mut linker)?;
    }
    let pre = wt(linker.instantiate_pre(&module)).context("failed to link module")?;
    // No guest code runs in instantiating an artifact that links the
    // runtime (its start function waits for `init`), so the sampler can
    // know the runtime before the run starts. A failure here (a data
    // segment out of bounds) is the guest's.
    let mut early = None;
    if let Some(params) = params.filter(|p| p.linked) {
        match pre.instantiate(&mut store) {
            Ok(instance) => {
                let rt = Probes {
                    instance,
                    linked: true,
                };
                rt.init(&mut store, params)?;
                runtime = Some(rt);
                early = Some(Ok(instance));
            }
            Err(e) => early = Some(Err(e)),
        }
    }

    let interval = Duration::from_nanos(options.interval_ns);
    // Started here, on the thread that runs the guest: the timer counts its
    // CPU time and the handler walks its stack.
    let signals = sampling
        .then(|| SignalSampler::start(&module, interval, session.has_sources()))
        .flatten();
    if sampling && abandons && signals.is_none() {
        bail!("sample mode: the signal sampler could not start (timer or handler setup failed)");
    }
    let drain = signals.as_ref().map(|(_, drain, calls)| {
        let imports = session.host_functions().count() as u32;
        store.data_mut().host_calls = Some(HostFrames {
            calls: calls.clone(),
            wasm: session.wasm().into(),
            imports,
        });
        // The stack is captured only when a call was sampled.
        store.call_hook(|mut cx, hook| {
            let Some(h) = &cx.data().host_calls else {
                return Ok(());
            };
            match hook {
                wasmtime::CallHook::CallingWasm => h.calls.set_in_wasm(true),
                wasmtime::CallHook::ReturningFromWasm => h.calls.set_in_wasm(false),
                wasmtime::CallHook::CallingHost => h.calls.set_in_host(true),
                wasmtime::CallHook::ReturningFromHost => {
                    h.calls.set_in_host(false);
                    let (ns, samples) = h.calls.take();
                    if samples > 0 {
                        let backtrace = WasmBacktrace::capture(&cx);
                        cx.data_mut().host_samples(&backtrace, ns, samples);
                    }
                }
            }
            Ok(())
        });
        drain.clone()
    });
    let signals = signals.map(|(s, _, _)| s);

    let started = Instant::now();
    store.data_mut().last = started;
    let sink: SharedSink = Mutex::new(sink);
    std::thread::scope(|scope| {
        let watch = Watch {
            engine: engine.clone(),
            interval,
            drain,
            cur: store.data().cur.clone().filter(|_| !sampling),
            deadline: options
                .timeout_ns
                .map(|t| started + Duration::from_nanos(t)),
            interrupt: host.interrupt.clone(),
            stop,
            abandon: host.abandon.clone().map(|callback| Abandoned {
                callback,
                session,
                sink: &sink,
                progress: progress.clone(),
                started,
                // Without epoch checks there is no other way to stop; with
                // them, only a guest blocked in a host call outlasts this.
                grace: if abandons {
                    Duration::ZERO
                } else {
                    ABANDON_AFTER
                },
                runtime: store.data().cur.clone(),
            }),
        };
        let sampler = Sampler::start(scope, watch);
        let mut guest = None;
        let outcome = run_plan(
            session,
            &mut store,
            &pre,
            early,
            runtime.as_ref(),
            &sink,
            &mut guest,
        );
        let ended = Instant::now();
        let cost = signals.map(SignalSampler::stop);
        // The last partial interval belongs to whatever was running at the
        // end: the trapping function after a trap, nothing after a clean
        // return.
        let seen = sampler.stop();
        let mut rec = std::mem::replace(&mut store.data_mut().rec, session.recording());
        match (cost, sampling) {
            (Some(cost), _) => rec.set_sampler("signal", cost.handler_ns, cost.dropped),
            (None, true) => rec.set_sampler("epoch", 0, 0),
            (None, false) => rec.set_sampler("context", 0, 0),
        }
        seen.add_to(&mut rec, &progress.host);

        let mut exit = match outcome {
            Ok(()) => Exit::code(0),
            Err(e) => match e.downcast::<Failed>() {
                Ok(Failed(e)) => return Err(e),
                Err(e) => classify(e, options.timeout_ns),
            },
        };
        // A guest that ended on its own after its deadline, before the stop
        // reached it, still overran.
        if exit.kind == ExitKind::Exit
            && options
                .timeout_ns
                .is_some_and(|t| (ended - started).as_nanos() as u64 > t)
        {
            exit = stopped(Stopped::Timeout, options.timeout_ns);
        }
        let memory_bytes = guest
            .and_then(|g| g.get_memory(&mut store, "memory"))
            .map(|m| m.data_size(&store) as u64);
        let end = RunEnd {
            exit,
            wall_ns: (ended - started).as_nanos() as u64,
            memory_bytes,
            host_peak_rss_bytes: peak_rss_bytes(),
        };
        let state = runtime.map(|rt| rt.state(&mut store)).transpose()?;
        let view = state.map(|(memory, state)| RuntimeView {
            memory: memory.data(&store),
            state,
        });
        let mut sink = lock(&sink);
        let done = host.progress.step("writing the profile", || {
            session.finish(rec, end, view, &mut **sink)
        });
        Ok(done?)
    })
}

/// Runs the session's plan: `_start`, or `_initialize` and the `--invoke`
/// calls with their dumps. `guest` gets the instance once there is one.
fn run_plan(
    session: &Session,
    store: &mut Store<Host>,
    pre: &wasmtime::InstancePre<Host>,
    early: Option<wasmtime::Result<Instance>>,
    runtime: Option<&Probes>,
    sink: &SharedSink,
    guest: &mut Option<Instance>,
) -> wasmtime::Result<()> {
    let instance = match early {
        Some(instance) => instance?,
        None => pre.instantiate(&mut *store)?,
    };
    *guest = Some(instance);
    if runtime.is_some_and(|rt| rt.linked)
        && let Some(start) = instance.get_func(&mut *store, abi::LINKED_START)
    {
        start.call(&mut *store, &[], &mut [])?;
    }
    match session.plan() {
        Plan::Start => {
            let start = instance
                .get_func(&mut *store, "_start")
                .ok_or_else(|| wasmtime::Error::msg("`_start` disappeared"))?;
            start.call(&mut *store, &[], &mut [])
        }
        Plan::Invoke {
            export,
            args,
            results,
            result,
            repeat,
            initialize,
            dumps,
        } => {
            if *initialize && let Some(init) = instance.get_func(&mut *store, "_initialize") {
                // Reactors initialise their runtime (constructors, libc) here.
                init.call(&mut *store, &[], &mut [])?;
            }
            let func = instance
                .get_func(&mut *store, export)
                .ok_or_else(|| wasmtime::Error::msg(format!("`{export}` disappeared")))?;
            // Numbers only: the same arguments every call, converted once.
            let fixed: Option<Vec<Val>> = args.as_ref().map(|a| a.iter().map(to_val).collect());
            let mut out: Vec<Val> = results.iter().map(|_| Val::I32(0)).collect();
            let leave = runtime
                .map(|rt| rt.func::<i32, ()>(&mut *store, abi::LEAVE))
                .transpose()?;
            for n in 1..=*repeat {
                if let Some(leave) = &leave {
                    // A trap in a previous call would have left the context deep.
                    leave.call(&mut *store, abi::ROOT_NODE as i32)?;
                }
                let data;
                let args = match &fixed {
                    Some(args) => args,
                    None => {
                        let mut guest = Wasmtime {
                            store: &mut *store,
                            instance,
                        };
                        data = session
                            .invoke_args(&mut guest)
                            .map_err(|e| match e {
                                InvokeError::Guest(e) => e,
                                InvokeError::Fault(why) => wasmtime::Error::msg(why),
                            })?
                            .iter()
                            .map(to_val)
                            .collect::<Vec<_>>();
                        &data
                    }
                };
                store
                    .data_mut()
                    .rec
                    .record(abi::ROOT_NODE, Event::CallStart);
                let t = Instant::now();
                func.call(&mut *store, args, &mut out)?;
                let duration_ns = t.elapsed().as_nanos() as u64;
                let host = store.data_mut();
                lock(&host.progress.calls).push(duration_ns);
                host.rec
                    .record(abi::ROOT_NODE, Event::CallEnd { duration_ns });
                let values: Vec<Value> = out.iter().map(from_val).collect();
                host.rec.set_results(&values);
                if result.is_some() {
                    let mut guest = Wasmtime {
                        store: &mut *store,
                        instance,
                    };
                    if let Some(text) = session.invoke_result(&values, &mut guest)? {
                        store.data_mut().rec.set_result_text(text);
                    }
                }
                if *dumps && session.dump_due(n) {
                    dump(session, store, runtime, &instance, &mut **lock(sink))
                        .map_err(|e| wasmtime::Error::new(Failed(e)))?;
                }
            }
            Ok(())
        }
    }
}

/// Adds what the signal sampler saw to `rec`: stacks, engine time and the
/// samples in host calls.
fn add_samples(rec: &mut Recording, stacks: Stacks, host: &Mutex<Vec<(Stack, bool, u64, u64)>>) {
    for ((frames, truncated), (ns, samples)) in stacks.stacks {
        rec.sample_stack(frames, truncated, ns, samples);
    }
    let (ns, samples) = stacks.engine;
    if samples > 0 {
        rec.sample_stack([(wprof_session::ENGINE_FRAME, None)], false, ns, samples);
    }
    for (frames, truncated, ns, samples) in lock(host).drain(..) {
        rec.sample_stack(frames, truncated, ns, samples);
    }
}

/// A wprof failure inside the guest's run (an output that cannot be
/// written), kept apart from the guest's own traps.
#[derive(Debug)]
struct Failed(anyhow::Error);

impl std::fmt::Display for Failed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:#}", self.0)
    }
}

impl std::error::Error for Failed {}

/// Where the probe runtime's exports are: an instance of its own, or the
/// artifact that links it, where their names have [`abi::LINKED_PREFIX`].
#[derive(Clone, Copy)]
struct Probes {
    instance: Instance,
    linked: bool,
}

impl Probes {
    fn name(&self, name: &str) -> String {
        if self.linked {
            format!("{}{name}", abi::LINKED_PREFIX)
        } else {
            name.to_string()
        }
    }

    fn func<P: wasmtime::WasmParams, R: wasmtime::WasmResults>(
        &self,
        store: &mut Store<Host>,
        name: &str,
    ) -> wasmtime::Result<wasmtime::TypedFunc<P, R>> {
        self.instance.get_typed_func(store, &self.name(name))
    }

    fn global(&self, store: &mut Store<Host>, name: &str) -> Result<Val> {
        Ok(self
            .instance
            .get_global(&mut *store, &self.name(name))
            .with_context(|| format!("probe runtime has no `{name}`"))?
            .get(&mut *store))
    }

    fn memory(&self, store: &mut Store<Host>) -> Result<wasmtime::Memory> {
        self.instance
            .get_memory(&mut *store, &self.name(abi::runtime_exports::MEMORY))
            .context("probe runtime has no memory")
    }

    /// Sizes the runtime's tables and points the sampler at its words.
    fn init(&self, store: &mut Store<Host>, params: wprof_session::Runtime) -> Result<()> {
        use abi::runtime_exports as ex;
        let init = wt(self.func::<(i32, i32), i32>(store, ex::INIT)).context("probe runtime")?;
        let status = wt(init.call(
            &mut *store,
            (params.functions as i32, params.node_cap as i32),
        ))
        .context("probe runtime")?;
        if status != 0 {
            bail!(
                "probe runtime could not allocate {} calling contexts; lower --max-contexts",
                params.node_cap
            );
        }
        let memory = self.memory(store)?;
        let memory = shared::Runtime::new(&memory, &*store);
        let mut addr = |name: &str| -> Result<u32> {
            self.global(store, name)?
                .i32()
                .map(|a| a as u32)
                .with_context(|| format!("probe runtime: `{name}` is not an i32"))
        };
        let layout = abi::Layout {
            nodes_base: addr(ex::NODES_BASE)?,
            node_cap: addr(ex::NODE_CAP)?,
            flat_base: addr(ex::FLAT_BASE)?,
            overflow_addr: addr(ex::OVERFLOW_ADDR)?,
        };
        let (cur, host) = (addr(ex::CUR_ADDR)?, addr(ex::HOST_ADDR)?);
        store.data_mut().cur = Some(Word {
            memory,
            addr: cur as usize,
            host: host as usize,
            layout,
        });
        Ok(())
    }

    /// The runtime's memory and exported globals.
    fn state(&self, store: &mut Store<Host>) -> Result<(wasmtime::Memory, RuntimeState)> {
        use abi::runtime_exports as ex;
        let state = RuntimeState {
            node_count: self.global(store, ex::NODE_COUNT)?.unwrap_i32() as u32,
            nodes_base: self.global(store, ex::NODES_BASE)?.unwrap_i32() as u32,
            flat_base: self.global(store, ex::FLAT_BASE)?.unwrap_i32() as u32,
            overflow: self.global(store, ex::OVERFLOW)?.unwrap_i64() as u64,
        };
        Ok((self.memory(store)?, state))
    }
}

/// A heap dump between two `--invoke` calls.
fn dump(
    session: &Session,
    store: &mut Store<Host>,
    runtime: Option<&Probes>,
    guest: &Instance,
    sink: &mut dyn Sink,
) -> Result<()> {
    let Some(rt) = runtime else { return Ok(()) };
    let (memory, state) = rt.state(store)?;
    let memory_bytes = guest
        .get_memory(&mut *store, "memory")
        .map(|m| m.data_size(&*store) as u64);
    let copy = memory.data(&*store).to_vec();
    session.dump(
        &mut store.data_mut().rec,
        RuntimeView {
            memory: &copy,
            state,
        },
        memory_bytes,
        sink,
    )?;
    Ok(())
}

/// The guest instance as the session's `--invoke` data marshalling sees
/// it: its exports and its exported memory.
struct Wasmtime<'a> {
    store: &'a mut Store<Host>,
    instance: Instance,
}

impl Wasmtime<'_> {
    fn memory(&mut self) -> wasmtime::Result<wasmtime::Memory> {
        match self.instance.get_export(&mut *self.store, "memory") {
            Some(wasmtime::Extern::Memory(m)) => Ok(m),
            // Writing a shared memory would race the guest's threads; the
            // session only plans data for modules that export `memory`.
            Some(wasmtime::Extern::SharedMemory(_)) => Err(wasmtime::Error::msg(
                "the module's `memory` is shared; wprof passes data only through unshared memory",
            )),
            _ => Err(wasmtime::Error::msg("the module exports no `memory`")),
        }
    }
}

impl Guest for Wasmtime<'_> {
    type Error = wasmtime::Error;

    fn call(&mut self, name: &str, args: &[Value], _: &[&str]) -> wasmtime::Result<Vec<Value>> {
        let func = self
            .instance
            .get_func(&mut *self.store, name)
            .ok_or_else(|| wasmtime::Error::msg(format!("`{name}` disappeared")))?;
        let mut out = vec![Val::I32(0); func.ty(&*self.store).results().len()];
        let args: Vec<Val> = args.iter().map(to_val).collect();
        func.call(&mut *self.store, &args, &mut out)?;
        Ok(out.iter().map(from_val).collect())
    }

    fn write(&mut self, ptr: u32, bytes: &[u8]) -> wasmtime::Result<()> {
        let memory = self.memory()?;
        memory
            .write(&mut *self.store, ptr as usize, bytes)
            .map_err(|_| {
                wasmtime::Error::msg(format!(
                    "{} bytes at {ptr:#x} (from the module's allocator) are beyond the end of its memory",
                    bytes.len()
                ))
            })
    }

    fn read(&mut self, ptr: u32, len: u32) -> wasmtime::Result<Vec<u8>> {
        let memory = self.memory()?;
        let data = memory.data(&*self.store);
        let start = (ptr as usize).min(data.len());
        let end = start.saturating_add(len as usize).min(data.len());
        Ok(data[start..end].to_vec())
    }
}

fn to_val(v: &Value) -> Val {
    match *v {
        Value::I32(x) => Val::I32(x),
        Value::I64(x) => Val::I64(x),
        Value::F32(x) => Val::F32(x.to_bits()),
        Value::F64(x) => Val::F64(x.to_bits()),
    }
}

fn from_val(v: &Val) -> Value {
    match v {
        Val::I32(x) => Value::I32(*x),
        Val::I64(x) => Value::I64(*x),
        Val::F32(x) => Value::F32(f32::from_bits(*x)),
        Val::F64(x) => Value::F64(f64::from_bits(*x)),
        // The plan only admits exports whose results are numbers.
        _ => Value::I32(0),
    }
}

/// wasmtime has its own error type; this adopts it into anyhow for context.
fn wt<T>(r: wasmtime::Result<T>) -> Result<T> {
    r.map_err(anyhow::Error::from)
}

/// How a run stopped by wprof ended.
fn stopped(why: Stopped, timeout_ns: Option<u64>) -> Exit {
    match why {
        Stopped::Timeout => Exit {
            kind: ExitKind::Timeout,
            code: None,
            message: Some(format!(
                "guest stopped after the --timeout of {:.3}s",
                timeout_ns.unwrap_or_default() as f64 / 1e9
            )),
        },
        Stopped::Interrupted => Exit {
            kind: ExitKind::Interrupted,
            code: None,
            message: Some("interrupted by a signal (Ctrl-C, SIGTERM or SIGHUP)".to_string()),
        },
    }
}

/// Turns a failed guest call into how the run ended.
fn classify(e: wasmtime::Error, timeout_ns: Option<u64>) -> Exit {
    if let Some(I32Exit(code)) = e.downcast_ref::<I32Exit>() {
        return Exit::code(*code);
    }
    if let Some(&why) = e.downcast_ref::<Stopped>() {
        return stopped(why, timeout_ns);
    }
    let message = match e.downcast_ref::<Trap>() {
        Some(trap) => format!("wasm trap: {trap}"),
        None => format!("{:#}", e.root_cause()),
    };
    let backtrace = e
        .downcast_ref::<WasmBacktrace>()
        .map(|bt| format!("\n{bt}"))
        .unwrap_or_default();
    Exit {
        kind: ExitKind::Trap,
        code: None,
        message: Some(format!("{message}{backtrace}")),
    }
}

/// The output sink, used by the guest's thread (dumps, the end) and by the
/// watching thread (an abandoned guest's end).
type SharedSink<'s> = Mutex<&'s mut (dyn Sink + Send)>;

/// What the sampler thread watches.
struct Watch<'a, 's> {
    engine: Engine,
    interval: Duration,
    /// Instrument mode: the word to sample; sample mode: `None` (the
    /// thread drains the signal sampler's ring, or ticks the epoch).
    cur: Option<Word>,
    drain: Option<Drain>,
    deadline: Option<Instant>,
    interrupt: Arc<AtomicBool>,
    stop: Arc<AtomicU8>,
    /// Set when a stop abandons the guest instead of waiting for it.
    abandon: Option<Abandoned<'a, 's>>,
}

/// How long a guest asked to stop at its next epoch check may take before
/// it is abandoned: it can only be blocked in a host call.
const ABANDON_AFTER: Duration = Duration::from_secs(1);

/// What writing the profile of an abandoned guest takes.
struct Abandoned<'a, 's> {
    callback: Abandon,
    session: &'a Session,
    sink: &'a SharedSink<'s>,
    progress: Arc<Progress>,
    started: Instant,
    /// How long after asking the guest to stop it is abandoned.
    grace: Duration,
    /// Instrument mode: the probe runtime, read from its memory.
    runtime: Option<Word>,
}

impl Abandoned<'_, '_> {
    /// The profile so far, written as the guest's own end would write it:
    /// what the sampler saw, the probe runtime's tree as its memory shows
    /// it, and the calls completed. Memory events are the guest thread's
    /// and are not collected.
    fn finish(&self, why: Stopped, drain: Option<&Drain>, mut seen: Samples) -> Result<Finished> {
        let session = self.session;
        let mut rec = session.recording();
        if let Some(drain) = drain {
            drain.drain(&mut seen.stacks);
            let cost = drain.overhead();
            rec.set_sampler("signal", cost.handler_ns, cost.dropped);
        } else if self.runtime.is_some() {
            rec.set_sampler("context", 0, 0);
        }
        seen.add_to(&mut rec, &self.progress.host);
        for &duration_ns in lock(&self.progress.calls).iter() {
            rec.record(abi::ROOT_NODE, Event::CallStart);
            rec.record(abi::ROOT_NODE, Event::CallEnd { duration_ns });
        }
        let mut exit = stopped(why, session.options().timeout_ns);
        if rec.forget_memory()
            && let Some(m) = &mut exit.message
        {
            m.push_str(
                "; the guest was blocked in a host call and was not waited for, so its memory \
                 events are not in this profile",
            );
        }
        let end = RunEnd {
            exit,
            wall_ns: self.started.elapsed().as_nanos() as u64,
            memory_bytes: None,
            host_peak_rss_bytes: peak_rss_bytes(),
        };
        let copy = self.runtime.as_ref().map(|w| w.memory.copy());
        let view = self
            .runtime
            .as_ref()
            .zip(copy.as_deref())
            .map(|(w, memory)| RuntimeView {
                memory,
                state: abi::RuntimeState::from_memory(memory, w.layout),
            });
        Ok(session.finish(rec, end, view, &mut **lock(self.sink))?)
    }
}

/// The thread that samples (instrument mode), drains the signal sampler or
/// ticks the epoch (sample mode), and stops the guest on `--timeout` or
/// Ctrl-C.
struct Sampler<'scope> {
    done: Arc<AtomicBool>,
    thread: std::thread::ScopedJoinHandle<'scope, Samples>,
}

/// What the sampler saw: time and samples per context, and inside the
/// probes.
#[derive(Default)]
struct Samples {
    contexts: Vec<(u64, u64)>,
    probe: (u64, u64),
    /// By (context, imported function index).
    host: std::collections::HashMap<(u32, u32), (u64, u64)>,
    /// Signal sampling: stacks.
    stacks: Stacks,
    /// In calls the full tree could not place, by `node | TRUNCATED_BIT`.
    truncated: std::collections::HashMap<u32, (u64, u64)>,
}

impl Samples {
    /// Hands everything seen to `rec`, with the host-call samples the call
    /// hook collected (signal sampling).
    fn add_to(self, rec: &mut Recording, host_calls: &Mutex<Vec<(Stack, bool, u64, u64)>>) {
        add_samples(rec, self.stacks, host_calls);
        for (node, &(ns, samples)) in self.contexts.iter().enumerate() {
            rec.add_context_time(node as u32, ns, samples);
        }
        for (&node, &(ns, samples)) in &self.truncated {
            rec.add_context_time(node, ns, samples);
        }
        rec.add_context_time(abi::PROBE_CONTEXT, self.probe.0, self.probe.1);
        for (&(node, import), &(ns, samples)) in &self.host {
            rec.add_host_time(node, import, ns, samples);
        }
    }

    /// Charges the time since `last` to whatever `word` names now.
    fn charge(&mut self, last: &mut Instant, word: &Word) {
        let now = Instant::now();
        let ns = now.saturating_duration_since(*last).as_nanos() as u64;
        *last = now;
        let node = word.load();
        let slot = if node == abi::PROBE_CONTEXT {
            &mut self.probe
        } else if let Some(import) = word.host_call() {
            self.host.entry((node, import)).or_insert((0, 0))
        } else if node & abi::TRUNCATED_BIT != 0 {
            self.truncated.entry(node).or_insert((0, 0))
        } else {
            let i = node as usize;
            if self.contexts.len() <= i {
                self.contexts.resize(i + 1, (0, 0));
            }
            &mut self.contexts[i]
        };
        slot.0 += ns;
        slot.1 += 1;
    }
}

impl<'scope> Sampler<'scope> {
    fn start<'env: 'scope, 's: 'env>(
        scope: &'scope std::thread::Scope<'scope, 'env>,
        w: Watch<'env, 's>,
    ) -> Sampler<'scope> {
        let done = Arc::new(AtomicBool::new(false));
        let flag = done.clone();
        let thread = scope.spawn(move || {
            // Per context: time and samples. Aggregated here, so a long run
            // costs memory per context, not per sample.
            let mut seen = Samples::default();
            let mut last = Instant::now();
            // A stop asked of the guest, and when.
            let mut asked: Option<Instant> = None;
            loop {
                std::thread::sleep(w.interval);
                if flag.load(Ordering::Acquire) {
                    break;
                }
                match (&w.cur, &w.drain) {
                    (Some(word), _) => seen.charge(&mut last, word),
                    (None, Some(drain)) => drain.drain(&mut seen.stacks),
                    (None, None) => w.engine.increment_epoch(),
                }
                let why = if w.interrupt.load(Ordering::Relaxed) {
                    Some(Stopped::Interrupted)
                } else if w.deadline.is_some_and(|d| Instant::now() >= d) {
                    Some(Stopped::Timeout)
                } else {
                    None
                };
                let Some(why) = why else { continue };
                let since = *asked.get_or_insert_with(Instant::now);
                if let Some(a) = &w.abandon
                    && since.elapsed() >= a.grace
                {
                    // The guest runs on; its profile so far is the run's.
                    if let Some(word) = &w.cur {
                        seen.charge(&mut last, word);
                    }
                    let done = a.finish(why, w.drain.as_ref(), std::mem::take(&mut seen));
                    (a.callback)(a.session, done);
                    break;
                }
                let code = match why {
                    Stopped::Timeout => TIMED_OUT,
                    Stopped::Interrupted => INTERRUPTED,
                };
                if w.stop.swap(code, Ordering::Relaxed) == RUNNING {
                    w.engine.increment_epoch();
                }
            }
            if let Some(word) = &w.cur {
                seen.charge(&mut last, word);
            }
            if let Some(drain) = &w.drain {
                drain.drain(&mut seen.stacks);
            }
            seen
        });
        Sampler { done, thread }
    }

    /// Stops the thread; returns what it saw.
    fn stop(self) -> Samples {
        self.done.store(true, Ordering::Release);
        self.thread.join().unwrap_or_default()
    }
}

/// Peak resident set size of this process (Linux), to show memory stays
/// bounded on long runs.
pub(crate) fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}
