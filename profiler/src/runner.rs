//! The native runner: runs a module on wasmtime (Cranelift, WASI preview1)
//! and turns what the probes and the sampler saw into a [`Profile`].
//!
//! Time comes from sampling in both modes. A ticker thread advances
//! wasmtime's epoch every interval; the epoch callback then runs on the guest
//! thread, where it either reads the probe runtime's current context
//! (instrument mode) or captures a wasm backtrace (sample mode), and charges
//! the time since the previous tick to it. No clock is read per call.
//!
//! Bias: epoch checks sit at function entries and loop headers, so a tick is
//! handled at the next such point; time spent in a host call (WASI I/O) is
//! charged to the context that made it once wasm resumes. A guest blocked in
//! a host call (e.g. reading stdin) cannot be stopped by `--timeout` or
//! Ctrl-C until the call returns.

use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use wasmtime::{
    Config, Engine, Global, Instance, Linker, Module, Store, Trap, UpdateDeadline, Val, ValType,
    WasmBacktrace,
};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::{I32Exit, WasiCtxBuilder};
use wprof_instrument::abi::{self, Manifest};
use wprof_instrument::symbolize;
use wprof_profile::{Exit, ExitKind, Invoke, InvokeGc, Latency, Mode, Profile, ROOT};

pub use crate::memory::MemoryOptions;
use crate::memory::{self, MemHost};

/// Frames kept per sampled backtrace.
const MAX_SAMPLED_FRAMES: usize = 2048;

/// What to run and how.
#[derive(Debug, Clone)]
pub struct Options {
    /// CPU mode.
    pub mode: Mode,
    /// Time between samples.
    pub interval: Duration,
    /// Call an export instead of `_start`.
    pub invoke: Option<InvokeOptions>,
    /// `argv[0]` as the guest sees it.
    pub argv0: String,
    /// Guest arguments after `argv[0]`.
    pub args: Vec<String>,
    /// Guest environment (nothing of the host's otherwise).
    pub env: Vec<(String, String)>,
    /// Preopened directories: host path, guest path.
    pub dirs: Vec<(PathBuf, String)>,
    /// Stop the guest after this long.
    pub timeout: Option<Duration>,
    /// Calling contexts kept by the probe runtime.
    pub max_contexts: u32,
    /// Use wasmtime's on-disk compilation cache.
    pub cache: bool,
    /// Set to stop the guest (Ctrl-C).
    pub interrupt: Arc<AtomicBool>,
    /// Give the guest wprof's stdin/stdout/stderr (otherwise: empty input,
    /// discarded output).
    pub inherit_stdio: bool,
    /// Profile allocations and linear memory (`--memory`).
    pub memory: Option<MemoryOptions>,
}

/// `--invoke EXPORT --arg … --repeat N`.
#[derive(Debug, Clone)]
pub struct InvokeOptions {
    /// Export to call.
    pub export: String,
    /// Arguments as written; parsed by the export's parameter types.
    pub args: Vec<String>,
    /// Number of calls.
    pub repeat: u64,
}

/// Why the epoch callback stopped the guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
enum Stopped {
    #[error("guest exceeded the timeout")]
    Timeout,
    #[error("interrupted")]
    Interrupted,
}

pub(crate) struct Host {
    wasi: WasiP1Ctx,
    last: Instant,
    deadline: Option<Instant>,
    interrupt: Arc<AtomicBool>,
    sampler: Sampler,
    pub(crate) mem: Option<MemHost>,
}

enum Sampler {
    /// Per probe-runtime node: time and samples.
    Instrument {
        cur: Option<Global>,
        time: Vec<u64>,
        samples: Vec<u64>,
    },
    /// A tree of sampled backtraces and the frame table it refers to.
    Sample {
        profile: Box<Profile>,
        by_index: HashMap<u32, u32>,
    },
}

impl Host {
    /// Charges the time since the last tick to what is running now.
    fn tick(&mut self, now: Instant, node: Option<u32>, backtrace: Option<&WasmBacktrace>) {
        let delta = now.saturating_duration_since(self.last).as_nanos() as u64;
        self.last = now;
        match &mut self.sampler {
            Sampler::Instrument { time, samples, .. } => {
                let Some(node) = node.filter(|&n| n != ROOT) else {
                    return;
                };
                let i = node as usize;
                if time.len() <= i {
                    time.resize(i + 1, 0);
                    samples.resize(i + 1, 0);
                }
                time[i] += delta;
                samples[i] += 1;
            }
            Sampler::Sample { profile, by_index } => {
                let Some(bt) = backtrace else { return };
                if bt.frames().is_empty() {
                    return;
                }
                let mut node = ROOT;
                if bt.frames().len() >= MAX_SAMPLED_FRAMES {
                    let truncated = *by_index
                        .entry(u32::MAX)
                        .or_insert_with(|| profile.add_function("[truncated]", None));
                    node = profile.tree.child(node, truncated);
                }
                for frame in bt.frames().iter().rev() {
                    let index = frame.func_index();
                    let func = *by_index.entry(index).or_insert_with(|| {
                        profile.add_function(
                            symbolize::display_name(frame.func_name(), index),
                            Some(index),
                        )
                    });
                    node = profile.tree.child(node, func);
                }
                let n = &mut profile.tree.nodes[node as usize];
                n.self_ns += delta;
                n.samples += 1;
            }
        }
    }
}

/// A module ready to run: compiled, with its probe manifest if instrumented.
#[allow(missing_debug_implementations)] // wasmtime handles have no useful Debug
pub struct Prepared {
    engine: Engine,
    module: Module,
    manifest: Option<Manifest>,
}

/// Compiles `wasm` for `options.mode`. Instrument mode instruments it first
/// unless it already is an instrumented artifact.
pub fn prepare(wasm: &[u8], options: &Options) -> Result<Prepared> {
    let mut config = Config::new();
    config.epoch_interruption(true);
    // wasmtime preallocates this many frames per capture (and returns an
    // empty trace if that fails), so it must stay modest; deeper stacks lose
    // their outermost frames and are rooted at `[truncated]`.
    config.wasm_backtrace_max_frames(NonZeroUsize::new(MAX_SAMPLED_FRAMES));
    config.wasm_exceptions(true);
    config.wasm_tail_call(true);
    config.wasm_function_references(true);
    config.wasm_gc(true);
    if options.cache {
        // A missing or unreadable cache must never stop a profile.
        if let Ok(cache) = wasmtime::Cache::from_file(None) {
            config.cache(Some(cache));
        }
    }
    let engine = wt(Engine::new(&config)).context("failed to configure wasmtime")?;
    let (bytes, manifest) = match options.mode {
        Mode::Sample if options.memory.is_some() => {
            bail!(
                "--memory needs --mode instrument (allocations are attributed to calling contexts)"
            );
        }
        Mode::Sample => {
            // Compile first so a broken module gets wasmtime's diagnosis.
            let module = wt(Module::new(&engine, wasm)).context("failed to compile module")?;
            if Manifest::from_module(wasm)?.is_some() {
                bail!("module is already instrumented; sample mode needs the original module");
            }
            return Ok(Prepared {
                engine,
                module,
                manifest: None,
            });
        }
        Mode::Instrument => match Manifest::from_module(wasm)? {
            Some(m) if options.memory.is_some() && m.memory.is_none() => {
                bail!(
                    "module is an artifact instrumented without memory probes; \
                     instrument the original with `wprof instrument --memory` or pass the original module"
                );
            }
            Some(m) => (wasm.to_vec(), Some(m)),
            None => {
                let mut opts = wprof_instrument::Options::default();
                opts.memory = options.memory.is_some();
                let out = wprof_instrument::instrument(wasm, &opts)
                    .context("failed to instrument module")?;
                (out.wasm, Some(out.manifest))
            }
        },
    };
    let module = wt(Module::new(&engine, &bytes)).context("failed to compile module")?;
    Ok(Prepared {
        engine,
        module,
        manifest,
    })
}

/// Runs a prepared module and returns its profile. Errors are wprof's (bad
/// input, missing export, link failure); whatever the guest does — exit,
/// trap, time out — ends up in [`Profile::exit`].
pub fn run(name: &str, prepared: &Prepared, options: &Options) -> Result<Profile> {
    let Prepared {
        engine,
        module,
        manifest,
    } = prepared;
    let mut wasi = WasiCtxBuilder::new();
    if options.inherit_stdio {
        wasi.inherit_stdio();
    }
    wasi.arg(&options.argv0);
    wasi.args(&options.args);
    for (k, v) in &options.env {
        wasi.env(k, v);
    }
    for (host, guest) in &options.dirs {
        wt(wasi.preopened_dir(host, guest, wasmtime_wasi::FsPerms::ReadWrite)).with_context(
            || {
                format!(
                    "failed to open directory `{}` for the guest",
                    host.display()
                )
            },
        )?;
    }
    let sampler = match options.mode {
        Mode::Instrument => Sampler::Instrument {
            cur: None,
            time: Vec::new(),
            samples: Vec::new(),
        },
        Mode::Sample => Sampler::Sample {
            profile: Box::new(Profile::new(name, Mode::Sample)),
            by_index: HashMap::new(),
        },
    };
    let mut store = Store::new(
        engine,
        Host {
            wasi: wasi.build_p1(),
            last: Instant::now(),
            deadline: None,
            interrupt: options.interrupt.clone(),
            sampler,
            mem: None,
        },
    );
    // The deadline defaults to "now": set it before any wasm runs, the
    // probe runtime's `init` included.
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(|mut cx| {
        let now = Instant::now();
        let node = match &cx.data().sampler {
            Sampler::Instrument { cur: Some(g), .. } => {
                let g = *g;
                g.get(&mut cx).i32().map(|n| n as u32)
            }
            _ => None,
        };
        let backtrace = matches!(cx.data().sampler, Sampler::Sample { .. })
            .then(|| WasmBacktrace::capture(&cx));
        let host = cx.data_mut();
        host.tick(now, node, backtrace.as_ref());
        if host.interrupt.load(Ordering::Relaxed) {
            return Err(wasmtime::Error::new(Stopped::Interrupted));
        }
        if host.deadline.is_some_and(|d| now >= d) {
            return Err(wasmtime::Error::new(Stopped::Timeout));
        }
        Ok(UpdateDeadline::Continue(1))
    });

    let mut linker: Linker<Host> = Linker::new(engine);
    wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |h: &mut Host| &mut h.wasi)?;

    let runtime = match manifest {
        Some(manifest) => {
            let rt = wt(Module::new(engine, abi::runtime_wasm())).context("probe runtime")?;
            let rt = wt(Instance::new(&mut store, &rt, &[])).context("probe runtime")?;
            let n_funcs = manifest.functions.len() as i32;
            let status = rt
                .get_typed_func::<(i32, i32), i32>(&mut store, abi::runtime_exports::INIT)?
                .call(&mut store, (n_funcs, options.max_contexts as i32))?;
            if status != 0 {
                bail!(
                    "probe runtime could not allocate {} calling contexts; lower --max-contexts",
                    options.max_contexts
                );
            }
            linker.instance(&mut store, abi::IMPORT_MODULE, rt)?;
            let cur = rt
                .get_global(&mut store, abi::CUR)
                .context("probe runtime: no `cur`")?;
            if let Sampler::Instrument { cur: c, .. } = &mut store.data_mut().sampler {
                *c = Some(cur);
            }
            // An artifact built with memory probes imports their host, so
            // it gets one with or without --memory.
            if let Some(mut mem) = MemHost::new(manifest) {
                mem.cur = Some(cur);
                store.data_mut().mem = Some(mem);
                memory::link(&mut linker)?;
            }
            Some(rt)
        }
        None => None,
    };

    let pre = wt(linker.instantiate_pre(module)).map_err(|e| {
        let imports: Vec<String> = module
            .imports()
            .filter(|i| i.module() != "wasi_snapshot_preview1" && i.module() != abi::IMPORT_MODULE)
            .map(|i| format!("{}::{}", i.module(), i.name()))
            .collect();
        if imports.is_empty() {
            e.context("failed to link module")
        } else {
            e.context(format!(
                "failed to link module: wprof provides only WASI preview1, but the module also imports {}",
                imports.join(", ")
            ))
        }
    })?;

    let ticker = Ticker::start(engine.clone(), options.interval);
    let started = Instant::now();
    store.data_mut().last = started;
    store.data_mut().deadline = options.timeout.map(|t| started + t);

    let mut invoke_record = None;
    let mut guest = None;
    let dump = |store: &mut Store<Host>, guest: &Instance, reason: &str| -> wasmtime::Result<()> {
        let (Some(manifest), Some(rt), Some(mopts)) = (manifest, runtime.as_ref(), &options.memory)
        else {
            return Ok(());
        };
        let setup = |e: anyhow::Error| wasmtime::Error::new(Setup(format!("{e:#}")));
        let tree = memory::read_tree(store, manifest, rt).map_err(setup)?;
        if let Some(heap) = memory::snapshot(store, name, manifest, &tree, Some(guest), reason) {
            memory::write_dump(store, &mopts.dump_dir, &heap).map_err(setup)?;
        }
        Ok(())
    };
    let outcome: wasmtime::Result<()> = (|| {
        let instance = pre.instantiate(&mut store)?;
        guest = Some(instance);
        match &options.invoke {
            None => {
                let start = instance
                    .get_func(&mut store, "_start")
                    .ok_or_else(|| wasmtime::Error::new(Setup(no_start_message(module))))?;
                start.call(&mut store, &[], &mut [])?;
                Ok(())
            }
            Some(inv) => {
                let mut after_call = |store: &mut Store<Host>, n: u64| -> wasmtime::Result<()> {
                    let Some(m) = &options.memory else {
                        return Ok(());
                    };
                    let at = m.dump_at.iter().any(|(e, k)| *e == inv.export && *k == n);
                    let every = m.dump_every.is_some_and(|k| n.is_multiple_of(k));
                    if at || every {
                        dump(store, &instance, &format!("call {n} of {}", inv.export))?;
                    }
                    Ok(())
                };
                let (record, result) = invoke(
                    &mut store,
                    &instance,
                    module,
                    inv,
                    runtime.as_ref(),
                    &mut after_call,
                )?;
                invoke_record = Some(record);
                result
            }
        }
    })();
    let ended = Instant::now();
    ticker.stop();

    // Setup errors found while running (no `_start`, bad export or
    // arguments) are the user's, not the guest's.
    if let Err(e) = &outcome
        && let Some(s) = e.downcast_ref::<Setup>()
    {
        bail!("{}", s.0);
    }
    let exit = match outcome {
        Ok(()) => Exit::code(0),
        Err(e) => classify(e, options.timeout),
    };
    // The last partial interval belongs to whatever was running at the end:
    // the trapping function after a trap, nothing after a clean return.
    let node = match &store.data().sampler {
        Sampler::Instrument { cur: Some(g), .. } => {
            let g = *g;
            g.get(&mut store).i32().map(|n| n as u32)
        }
        _ => None,
    };
    store.data_mut().tick(ended, node, None);

    // One read of the runtime's tree serves the CPU profile and the heap.
    let mut heap = None;
    let mut profile = match (manifest, runtime) {
        (Some(manifest), Some(rt)) => {
            let tree = memory::read_tree(&mut store, manifest, &rt)?;
            heap = memory::snapshot(&mut store, name, manifest, &tree, guest.as_ref(), "exit");
            instrument_profile(name, manifest, &tree, &store)
        }
        _ => match std::mem::replace(
            &mut store.data_mut().sampler,
            Sampler::Instrument {
                cur: None,
                time: vec![],
                samples: vec![],
            },
        ) {
            Sampler::Sample { profile, .. } => *profile,
            Sampler::Instrument { .. } => unreachable!("sample mode has a sample sampler"),
        },
    };
    profile.exit = exit;
    profile.wall_ns = (ended - started).as_nanos() as u64;
    profile.interval_ns = options.interval.as_nanos() as u64;
    profile.invoke = invoke_record;
    profile.host_peak_rss_bytes = peak_rss_bytes();
    profile.memory = heap;
    Ok(profile)
}

/// wasmtime has its own error type; this adopts it into anyhow for context.
fn wt<T>(r: wasmtime::Result<T>) -> Result<T> {
    r.map_err(anyhow::Error::from)
}

/// A user error found only once the module runs.
#[derive(Debug)]
struct Setup(String);

impl std::fmt::Display for Setup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Setup {}

fn exported_functions(module: &Module) -> Vec<String> {
    module
        .exports()
        .filter(|e| e.ty().func().is_some())
        .map(|e| e.name().to_string())
        .collect()
}

fn no_start_message(module: &Module) -> String {
    let exports = exported_functions(module);
    if exports.is_empty() {
        "module has no `_start` export and exports no functions; nothing to run".to_string()
    } else {
        format!(
            "module has no `_start` export (a library/reactor module?); choose an export with --invoke: {}",
            exports.join(", ")
        )
    }
}

fn invoke(
    store: &mut Store<Host>,
    instance: &Instance,
    module: &Module,
    inv: &InvokeOptions,
    runtime: Option<&Instance>,
    after_call: &mut dyn FnMut(&mut Store<Host>, u64) -> wasmtime::Result<()>,
) -> wasmtime::Result<(Invoke, wasmtime::Result<()>)> {
    let func = instance.get_func(&mut *store, &inv.export).ok_or_else(|| {
        let exports = exported_functions(module);
        wasmtime::Error::new(Setup(format!(
            "module has no exported function `{}`; exported functions: {}",
            inv.export,
            if exports.is_empty() {
                "(none)".to_string()
            } else {
                exports.join(", ")
            }
        )))
    })?;
    let ty = func.ty(&*store);
    let params: Vec<ValType> = ty.params().collect();
    if params.len() != inv.args.len() {
        let types: Vec<String> = params.iter().map(|t| t.to_string()).collect();
        return Err(wasmtime::Error::new(Setup(format!(
            "export `{}` takes {} argument(s) ({}), but {} were given with --arg",
            inv.export,
            params.len(),
            types.join(", "),
            inv.args.len()
        ))));
    }
    let args = params
        .iter()
        .zip(&inv.args)
        .map(|(t, a)| parse_arg(t, a))
        .collect::<Result<Vec<Val>, String>>()
        .map_err(|e| wasmtime::Error::new(Setup(format!("bad --arg for `{}`: {e}", inv.export))))?;
    let mut results: Vec<Val> = ty.results().map(|_| Val::I32(0)).collect();
    let cur = runtime.and_then(|rt| rt.get_global(&mut *store, abi::CUR));

    // Reactors initialise their runtime (constructors, libc) here.
    if let Some(init) = instance.get_func(&mut *store, "_initialize")
        && let Err(e) = init.call(&mut *store, &[], &mut [])
    {
        return Ok((record(inv, &[], &[], None), Err(e)));
    }
    let mut durations = Vec::with_capacity(inv.repeat.min(1 << 20) as usize);
    let mut gc_calls = Vec::new();
    let mut outcome = Ok(());
    for n in 1..=inv.repeat {
        if let Some(cur) = cur {
            // A trap in a previous call would have left the context deep.
            cur.set(&mut *store, Val::I32(ROOT as i32))?;
        }
        if let Some(m) = store.data_mut().mem.as_mut() {
            m.call_gc_ns = 0;
            m.call_gc_pauses = 0;
            m.recorder.export_calls = n - 1;
        }
        let t = Instant::now();
        let r = func.call(&mut *store, &args, &mut results);
        let d = t.elapsed().as_nanos() as u64;
        if let Err(e) = r {
            outcome = Err(e);
            break;
        }
        durations.push(d);
        if let Some(m) = store.data_mut().mem.as_mut() {
            m.recorder.export_calls = n;
            gc_calls.push((d, m.call_gc_ns, m.call_gc_pauses));
        }
        after_call(store, n)?;
    }
    let shown: Vec<String> = results.iter().map(show_val).collect();
    let shown = if durations.is_empty() { vec![] } else { shown };
    let gc_found = store
        .data()
        .mem
        .as_ref()
        .is_some_and(|m| m.recorder.hooks.found.iter().any(|h| h.kind == "gc"));
    let gc = (gc_found && !gc_calls.is_empty()).then(|| InvokeGc::from_calls(&gc_calls));
    Ok((record(inv, &durations, &shown, gc), outcome))
}

fn record(
    inv: &InvokeOptions,
    durations: &[u64],
    results: &[String],
    gc: Option<InvokeGc>,
) -> Invoke {
    Invoke {
        export: inv.export.clone(),
        args: inv.args.clone(),
        repeat: inv.repeat,
        results: results.to_vec(),
        latency: Latency::from_durations(durations),
        gc,
    }
}

fn parse_arg(ty: &ValType, s: &str) -> Result<Val, String> {
    use wprof_profile::values::{self, Value};
    let name = match ty {
        ValType::I32 => "i32",
        ValType::I64 => "i64",
        ValType::F32 => "f32",
        ValType::F64 => "f64",
        other => return values::parse(&other.to_string(), s).map(|_| Val::I32(0)),
    };
    Ok(match values::parse(name, s)? {
        Value::I32(v) => Val::I32(v),
        Value::I64(v) => Val::I64(v),
        Value::F32(v) => Val::F32(v.to_bits()),
        Value::F64(v) => Val::F64(v.to_bits()),
    })
}

fn show_val(v: &Val) -> String {
    use wprof_profile::values::{Value, show};
    match v {
        Val::I32(x) => show(&Value::I32(*x)),
        Val::I64(x) => show(&Value::I64(*x)),
        Val::F32(x) => show(&Value::F32(f32::from_bits(*x))),
        Val::F64(x) => show(&Value::F64(f64::from_bits(*x))),
        other => format!("{other:?}"),
    }
}

/// Turns a failed guest call into how the run ended.
fn classify(e: wasmtime::Error, timeout: Option<Duration>) -> Exit {
    if let Some(I32Exit(code)) = e.downcast_ref::<I32Exit>() {
        return Exit::code(*code);
    }
    if let Some(stopped) = e.downcast_ref::<Stopped>() {
        return match stopped {
            Stopped::Timeout => Exit {
                kind: ExitKind::Timeout,
                code: None,
                message: Some(format!(
                    "guest stopped after the --timeout of {:.3}s",
                    timeout.unwrap_or_default().as_secs_f64()
                )),
            },
            Stopped::Interrupted => Exit {
                kind: ExitKind::Interrupted,
                code: None,
                message: Some("interrupted by Ctrl-C".to_string()),
            },
        };
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

fn instrument_profile(
    name: &str,
    manifest: &Manifest,
    tree: &abi::Tree,
    store: &Store<Host>,
) -> Profile {
    match &store.data().sampler {
        Sampler::Instrument { time, samples, .. } => tree.to_profile(name, manifest, time, samples),
        Sampler::Sample { .. } => tree.to_profile(name, manifest, &[], &[]),
    }
}

/// Advances the engine's epoch every interval until stopped.
struct Ticker {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Ticker {
    fn start(engine: Engine, interval: Duration) -> Ticker {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                std::thread::sleep(interval);
                engine.increment_epoch();
            }
        });
        Ticker {
            stop,
            thread: Some(thread),
        }
    }

    fn stop(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Peak resident set size of this process (Linux), to show memory stays
/// bounded on long runs.
fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}
