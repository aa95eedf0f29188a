//! The wasmtime adapter of the run protocol: compiles what the
//! [`Session`] hands over, links WASI preview1, the probe runtime and the
//! memory probes, runs the session's [`Plan`], samples, and reports how the
//! guest ended. Everything else — checking the module, instrumenting, the
//! profile, the output files — is the session's.
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

use std::num::NonZeroUsize;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use wasmtime::{
    Config, Engine, Global, Instance, Linker, Module, Store, Trap, UpdateDeadline, Val,
    WasmBacktrace,
};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::{I32Exit, WasiCtxBuilder};
use wprof_instrument::abi::{self, RuntimeState};
use wprof_profile::values::Value;
use wprof_profile::{Exit, ExitKind, Mode};
use wprof_session::outputs::Sink;
use wprof_session::{Event, Finished, Plan, Recording, RunEnd, RuntimeView, Session};

use crate::memory::{self, MemoryProbeHost};

/// Frames kept per sampled backtrace.
const MAX_SAMPLED_FRAMES: usize = 2048;

/// What only the native host decides.
#[derive(Debug, Clone)]
pub struct HostOptions {
    /// Set to stop the guest (Ctrl-C).
    pub interrupt: Arc<AtomicBool>,
    /// Give the guest wprof's stdin/stdout/stderr (otherwise: empty input,
    /// discarded output).
    pub inherit_stdio: bool,
}

/// Why the epoch callback stopped the guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
enum Stopped {
    #[error("guest exceeded the timeout")]
    Timeout,
    #[error("interrupted")]
    Interrupted,
}

struct Host {
    wasi: WasiP1Ctx,
    last: Instant,
    started: Instant,
    deadline: Option<Instant>,
    interrupt: Arc<AtomicBool>,
    mode: Mode,
    rec: Recording,
    /// The probe runtime's current-context global (instrument mode).
    cur: Option<Global>,
}

impl MemoryProbeHost for Host {
    fn recording(&mut self) -> &mut Recording {
        &mut self.rec
    }
    fn cur(&self) -> Option<Global> {
        self.cur
    }
    fn now_ns(&self) -> u64 {
        self.started.elapsed().as_nanos() as u64
    }
}

impl Host {
    /// Charges the time since the last tick to what is running now.
    fn tick(&mut self, now: Instant, node: Option<u32>, backtrace: Option<&WasmBacktrace>) {
        let delta = now.saturating_duration_since(self.last).as_nanos() as u64;
        self.last = now;
        if let Some(node) = node {
            self.rec.sample_context(node, delta);
        }
        if let Some(bt) = backtrace {
            let frames = bt.frames();
            if frames.is_empty() {
                return;
            }
            let truncated = frames.len() >= MAX_SAMPLED_FRAMES;
            self.rec.sample_stack(
                frames.iter().rev().map(|f| f.func_index()),
                truncated,
                delta,
            );
        }
    }
}

fn current_context(cx: &mut impl wasmtime::AsContextMut<Data = Host>) -> Option<u32> {
    let g = cx.as_context().data().cur?;
    g.get(cx).i32().map(|n| n as u32)
}

/// The engine for `session`: epoch interruption for the sampler and the
/// proposals real modules use.
fn engine(session: &Session) -> Result<Engine> {
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
pub fn run(session: &Session, host: &HostOptions, sink: &mut dyn Sink) -> Result<Finished> {
    let options = session.options();
    let engine = engine(session)?;
    let module = wt(Module::new(&engine, session.wasm())).context("failed to compile module")?;

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
    let mut store = Store::new(
        &engine,
        Host {
            wasi: wasi.build_p1(),
            last: now,
            started: now,
            deadline: None,
            interrupt: host.interrupt.clone(),
            mode: options.mode,
            rec: session.recording(),
            cur: None,
        },
    );
    // The deadline defaults to "now": set it before any wasm runs, the
    // probe runtime's `init` included.
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(|mut cx| {
        let now = Instant::now();
        let (node, backtrace) = match cx.data().mode {
            Mode::Instrument => (current_context(&mut cx), None),
            Mode::Sample => (None, Some(WasmBacktrace::capture(&cx))),
        };
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

    let mut linker: Linker<Host> = Linker::new(&engine);
    wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |h: &mut Host| &mut h.wasi)?;
    let runtime = match session.runtime() {
        Some(params) => {
            let rt = wt(Module::new(&engine, params.wasm)).context("probe runtime")?;
            let rt = wt(Instance::new(&mut store, &rt, &[])).context("probe runtime")?;
            let status = rt
                .get_typed_func::<(i32, i32), i32>(&mut store, abi::runtime_exports::INIT)?
                .call(
                    &mut store,
                    (params.functions as i32, params.node_cap as i32),
                )?;
            if status != 0 {
                bail!(
                    "probe runtime could not allocate {} calling contexts; lower --max-contexts",
                    params.node_cap
                );
            }
            linker.instance(&mut store, abi::IMPORT_MODULE, rt)?;
            store.data_mut().cur = Some(
                rt.get_global(&mut store, abi::CUR)
                    .context("probe runtime: no `cur`")?,
            );
            Some(rt)
        }
        None => None,
    };
    if store.data().rec.has_memory() {
        memory::link(&mut linker)?;
    }
    let pre = wt(linker.instantiate_pre(&module)).context("failed to link module")?;

    let ticker = Ticker::start(engine.clone(), Duration::from_nanos(options.interval_ns));
    let started = Instant::now();
    store.data_mut().last = started;
    store.data_mut().deadline = options
        .timeout_ns
        .map(|t| started + Duration::from_nanos(t));

    let mut guest = None;
    let outcome: wasmtime::Result<()> = (|| {
        let instance = pre.instantiate(&mut store)?;
        guest = Some(instance);
        match session.plan() {
            Plan::Start => {
                let start = instance
                    .get_func(&mut store, "_start")
                    .ok_or_else(|| wasmtime::Error::msg("`_start` disappeared"))?;
                start.call(&mut store, &[], &mut [])
            }
            Plan::Invoke {
                export,
                args,
                results,
                repeat,
                initialize,
                dumps,
            } => {
                if *initialize && let Some(init) = instance.get_func(&mut store, "_initialize") {
                    // Reactors initialise their runtime (constructors, libc) here.
                    init.call(&mut store, &[], &mut [])?;
                }
                let func = instance
                    .get_func(&mut store, export)
                    .ok_or_else(|| wasmtime::Error::msg(format!("`{export}` disappeared")))?;
                let args: Vec<Val> = args.iter().map(to_val).collect();
                let mut out: Vec<Val> = results.iter().map(|_| Val::I32(0)).collect();
                for n in 1..=*repeat {
                    if let Some(cur) = store.data().cur {
                        // A trap in a previous call would have left the context deep.
                        cur.set(&mut store, Val::I32(abi::ROOT_NODE as i32))?;
                    }
                    store
                        .data_mut()
                        .rec
                        .record(abi::ROOT_NODE, Event::CallStart);
                    let t = Instant::now();
                    func.call(&mut store, &args, &mut out)?;
                    let duration_ns = t.elapsed().as_nanos() as u64;
                    let rec = &mut store.data_mut().rec;
                    rec.record(abi::ROOT_NODE, Event::CallEnd { duration_ns });
                    rec.set_results(&out.iter().map(from_val).collect::<Vec<_>>());
                    if *dumps && session.dump_due(n) {
                        dump(session, &mut store, runtime.as_ref(), &instance, sink)
                            .map_err(|e| wasmtime::Error::new(Failed(e)))?;
                    }
                }
                Ok(())
            }
        }
    })();
    let ended = Instant::now();
    ticker.stop();

    let exit = match outcome {
        Ok(()) => Exit::code(0),
        Err(e) => match e.downcast::<Failed>() {
            Ok(Failed(e)) => return Err(e),
            Err(e) => classify(e, options.timeout_ns),
        },
    };
    // The last partial interval belongs to whatever was running at the end:
    // the trapping function after a trap, nothing after a clean return.
    let node = current_context(&mut store);
    store.data_mut().tick(ended, node, None);

    let memory_bytes = guest
        .and_then(|g| g.get_memory(&mut store, "memory"))
        .map(|m| m.data_size(&store) as u64);
    let rec = std::mem::replace(&mut store.data_mut().rec, session.recording());
    let end = RunEnd {
        exit,
        wall_ns: (ended - started).as_nanos() as u64,
        memory_bytes,
        host_peak_rss_bytes: peak_rss_bytes(),
    };
    let state = runtime
        .map(|rt| runtime_state(&mut store, &rt))
        .transpose()?;
    let view = state.map(|(memory, state)| RuntimeView {
        memory: memory.data(&store),
        state,
    });
    Ok(session.finish(rec, end, view, sink)?)
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

/// The probe runtime's memory and exported globals.
fn runtime_state(
    store: &mut Store<Host>,
    rt: &Instance,
) -> Result<(wasmtime::Memory, RuntimeState)> {
    use abi::runtime_exports as ex;
    let mut get = |g: &str| -> Result<Val> {
        Ok(rt
            .get_global(&mut *store, g)
            .with_context(|| format!("probe runtime has no `{g}`"))?
            .get(&mut *store))
    };
    let state = RuntimeState {
        node_count: get(ex::NODE_COUNT)?.unwrap_i32() as u32,
        nodes_base: get(ex::NODES_BASE)?.unwrap_i32() as u32,
        flat_base: get(ex::FLAT_BASE)?.unwrap_i32() as u32,
        overflow: get(ex::OVERFLOW)?.unwrap_i64() as u64,
    };
    let memory = rt
        .get_memory(&mut *store, ex::MEMORY)
        .context("probe runtime has no memory")?;
    Ok((memory, state))
}

/// A heap dump between two `--invoke` calls.
fn dump(
    session: &Session,
    store: &mut Store<Host>,
    runtime: Option<&Instance>,
    guest: &Instance,
    sink: &mut dyn Sink,
) -> Result<()> {
    let Some(rt) = runtime else { return Ok(()) };
    let (memory, state) = runtime_state(store, rt)?;
    let memory_bytes = guest
        .get_memory(&mut *store, "memory")
        .map(|m| m.data_size(&*store) as u64);
    let (data, host) = memory.data_and_store_mut(&mut *store);
    session.dump(
        &mut host.rec,
        RuntimeView {
            memory: data,
            state,
        },
        memory_bytes,
        sink,
    )?;
    Ok(())
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

/// Turns a failed guest call into how the run ended.
fn classify(e: wasmtime::Error, timeout_ns: Option<u64>) -> Exit {
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
                    timeout_ns.unwrap_or_default() as f64 / 1e9
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
