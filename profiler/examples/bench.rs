//! Overhead benchmark: plain wasmtime vs `--mode instrument` vs
//! `--mode instrument --memory` vs `--mode sample`, interleaved in rounds so
//! machine drift hits every variant alike. Prints per-variant medians, ns per
//! profiled call and per allocator event, and slowdown ratios.
//!
//! Run through `bench/run.sh`, or:
//! `cargo run --release --example bench -- ROUNDS NAME=GUEST.wasm[:ARGS] …`

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use wasmtime::{Engine, Linker, Module, Store};
use wasmtime_wasi::I32Exit;
use wasmtime_wasi::p1::WasiP1Ctx;
use wprof::runner;
use wprof_profile::{Mode, Profile};
use wprof_session::Session;
use wprof_session::cli::RunOptions;
use wprof_session::outputs::MemorySink;

/// The baseline: the module on a default wasmtime engine, nothing profiled.
fn plain(engine: &Engine, module: &Module, args: &[String]) -> Result<Duration> {
    let mut linker: Linker<WasiP1Ctx> = Linker::new(engine);
    wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |t| t)?;
    let mut wasi = wasmtime_wasi::WasiCtxBuilder::new();
    wasi.arg("guest.wasm").args(args);
    let mut store = Store::new(engine, wasi.build_p1());
    let t = Instant::now();
    let instance = linker.instantiate(&mut store, module)?;
    let start = instance.get_typed_func::<(), ()>(&mut store, "_start")?;
    match start.call(&mut store, ()) {
        Ok(()) => {}
        Err(e) if e.downcast_ref::<I32Exit>().is_some_and(|c| c.0 == 0) => {}
        Err(e) => return Err(e.into()),
    }
    Ok(t.elapsed())
}

fn session(wasm: &[u8], name: &str, mode: Mode, memory: bool, args: &[String]) -> Result<Session> {
    let mut options = RunOptions::new(name);
    options.mode = mode;
    options.interval_ns = match mode {
        Mode::Instrument => 100_000,
        Mode::Sample => 1_000_000,
    };
    options.guest_args = args.to_vec();
    options.cache = false;
    options.memory = memory.then(Default::default);
    Ok(Session::new(wasm, options)?)
}

/// One profiled run; its outputs are rendered in memory, as every run
/// renders them, and dropped.
fn profiled(session: &Session) -> Result<Profile> {
    let host = runner::HostOptions {
        interrupt: Arc::new(AtomicBool::new(false)),
        inherit_stdio: false,
        progress: wprof::progress::Progress::hidden(),
        // As `wprof run` configures it (so sample mode runs without epoch
        // checks); never called, as the bench sets no timeout.
        abandon: Some(Arc::new(|_, _| {})),
    };
    Ok(runner::run(session, &host, &mut MemorySink::default())?.profile)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn main() -> Result<()> {
    let mut argv = std::env::args().skip(1);
    let rounds: usize = argv.next().context("ROUNDS")?.parse()?;
    for spec in argv {
        let (name, rest) = spec.split_once('=').context("NAME=GUEST.wasm[:ARGS]")?;
        let (path, args) = rest.split_once(':').unwrap_or((rest, ""));
        let args: Vec<String> = args.split_whitespace().map(String::from).collect();
        let wasm = std::fs::read(path).with_context(|| format!("reading {path}"))?;
        let engine = Engine::default();
        let module = Module::new(&engine, &wasm)?;
        let instr = session(&wasm, name, Mode::Instrument, false, &args)?;
        let sample = session(&wasm, name, Mode::Sample, false, &args)?;
        let mem = session(&wasm, name, Mode::Instrument, true, &args)?;
        let (mut p, mut i, mut s, mut m) = (vec![], vec![], vec![], vec![]);
        let mut calls = 0u64;
        let mut events = 0u64;
        for _ in 0..rounds {
            p.push(plain(&engine, &module, &args)?.as_secs_f64());
            let prof = profiled(&instr)?;
            i.push(prof.wall_ns as f64 / 1e9);
            calls = prof.functions.iter().filter_map(|f| f.calls).sum();
            let prof = profiled(&mem)?;
            m.push(prof.wall_ns as f64 / 1e9);
            events = prof
                .memory
                .as_ref()
                .map_or(0, |h| h.totals.allocations + h.totals.frees);
            s.push(profiled(&sample)?.wall_ns as f64 / 1e9);
        }
        let paired = |v: &[f64]| {
            let mut d: Vec<f64> = v.iter().zip(&p).map(|(x, b)| x - b).collect();
            median(&mut d)
        };
        let (di, ds, dm) = (paired(&i), paired(&s), paired(&m));
        let (mp, mi, ms) = (
            median(&mut p.clone()),
            median(&mut i.clone()),
            median(&mut s.clone()),
        );
        println!("{name}: {calls} profiled calls, {rounds} interleaved rounds");
        println!("  plain wasmtime      median {:>9.1} ms", mp * 1e3);
        println!(
            "  --mode instrument   median {:>9.1} ms  slowdown {:.3}x  {:.2} ns per profiled call",
            mi * 1e3,
            (mp + di) / mp,
            if calls > 0 {
                di * 1e9 / calls as f64
            } else {
                0.0
            }
        );
        // Per-event cost is noise below a few thousand events.
        let per_event = if events >= 1000 {
            format!("{:.1} ns each", (dm - di) * 1e9 / events as f64)
        } else {
            "too few to time".to_string()
        };
        println!(
            "  --memory            median {:>9.1} ms  slowdown {:.3}x  ({:.3}x over instrument; \
             {events} allocator events, {per_event})",
            median(&mut m.clone()) * 1e3,
            (mp + dm) / mp,
            (mp + dm) / (mp + di),
        );
        println!(
            "  --mode sample       median {:>9.1} ms  slowdown {:.3}x",
            ms * 1e3,
            (mp + ds) / mp
        );
    }
    Ok(())
}
