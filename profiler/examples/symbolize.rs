//! Cost of source locations on a big module with DWARF: reading it
//! (`Sources::new`: sections, every declaration), and resolving sampled
//! offsets to lines and inlined frames, against the same module stripped
//! of its DWARF (what a run costs without it). Medians of ROUNDS.
//!
//! Run through `bench/symbolize.sh`, or:
//! `cargo run --release --example symbolize -- MODULE.wasm [ROUNDS]`

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use wprof_instrument::source::Sources;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .context("usage: symbolize MODULE.wasm [ROUNDS]")?;
    let rounds: usize = args.next().map_or(Ok(5), |r| r.parse())?;
    let wasm = std::fs::read(&path).with_context(|| format!("reading {path}"))?;
    let dwarf: usize = wasmparser::Parser::new(0)
        .parse_all(&wasm)
        .filter_map(|p| match p {
            Ok(wasmparser::Payload::CustomSection(c)) if c.name().starts_with(".debug_") => {
                Some(c.data().len())
            }
            _ => None,
        })
        .sum();
    println!(
        "{path}: {:.1} MB, of which DWARF {:.1} MB",
        wasm.len() as f64 / 1e6,
        dwarf as f64 / 1e6
    );
    // Offsets to resolve: 10,000 spread over the code section, as a
    // long sampled run would hit them.
    let code = wasmparser::Parser::new(0)
        .parse_all(&wasm)
        .find_map(|p| match p {
            Ok(wasmparser::Payload::CodeSectionStart { range, .. }) => Some(range),
            _ => None,
        })
        .context("no code section")?;
    let step = (code.len() / 10_000).max(1);
    let offsets: Vec<u64> = (code.start..code.end)
        .step_by(step)
        .map(|o| o as u64)
        .collect();

    let mut read = Vec::new();
    let mut resolve = Vec::new();
    let mut declared = 0;
    let mut frames = 0;
    for _ in 0..rounds {
        let t = Instant::now();
        let sources = Sources::new(&wasm, &wasm)?.context("the module has no DWARF")?;
        read.push(t.elapsed());
        let t = Instant::now();
        frames = offsets
            .iter()
            .map(|&o| sources.frames(o).len())
            .sum::<usize>();
        resolve.push(t.elapsed());
        declared = (0..200_000u32)
            .filter(|&i| sources.function(i).is_some())
            .count();
    }
    let (read, resolve) = (median(read), median(resolve));
    println!(
        "read DWARF (declarations of {declared} functions): {:.3} s",
        read.as_secs_f64()
    );
    println!(
        "resolve {} sampled offsets ({frames} frames with inlining): {:.3} s, {:.1} µs each",
        offsets.len(),
        resolve.as_secs_f64(),
        resolve.as_secs_f64() * 1e6 / offsets.len() as f64
    );
    println!(
        "added to a run: {:.3} s (target < 1 s on a 20 MB module)",
        (read + resolve).as_secs_f64()
    );
    Ok(())
}
