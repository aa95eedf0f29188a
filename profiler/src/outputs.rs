//! The output directory of `wprof run`: every file of the contract, written
//! whatever way the guest ended.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::{Context, Result};
use wprof_profile::folded::Weight;
use wprof_profile::{Mode, Profile, flamegraph, folded, pprof, summary};

/// Files written into the output directory.
pub const FLAMEGRAPH: &str = "flamegraph.svg";
/// Gzipped pprof.
pub const PPROF: &str = "cpu.pb.gz";
/// Folded stacks weighted by time (instrument) or samples (sample mode).
pub const FOLDED: &str = "cpu.folded";
/// Folded stacks weighted by exact calls (instrument mode only).
pub const CALLS_FOLDED: &str = "calls.folded";
/// Machine-readable summary.
pub const SUMMARY: &str = "summary.json";
/// Heap profile (pprof), with `--memory`.
pub const HEAP_PPROF: &str = "heap.pb.gz";
/// Live bytes at exit by allocation stack.
pub const MEMORY_SVG: &str = "memory.svg";
/// Live bytes when linear memory peaked.
pub const MEMORY_PEAK_SVG: &str = "memory-peak.svg";
/// The heap dump at exit.
pub const HEAP_EXIT: &str = "heap-exit.wheap";

fn create(
    dir: &Path,
    name: &str,
    write: impl FnOnce(&mut BufWriter<File>) -> Result<()>,
) -> Result<()> {
    let path = dir.join(name);
    let file =
        File::create(&path).with_context(|| format!("failed to create `{}`", path.display()))?;
    let mut out = BufWriter::new(file);
    write(&mut out).with_context(|| format!("failed to write `{}`", path.display()))?;
    out.flush()
        .with_context(|| format!("failed to write `{}`", path.display()))
}

/// Writes all outputs of `profile` into `dir`, creating it.
pub fn write_all(dir: &Path, profile: &Profile) -> Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("failed to create output directory `{}`", dir.display()))?;
    let weight = match profile.mode {
        Mode::Instrument => Weight::Time,
        Mode::Sample => Weight::Samples,
    };
    create(dir, FOLDED, |w| Ok(folded::write(profile, weight, w)?))?;
    if profile.mode == Mode::Instrument {
        create(dir, CALLS_FOLDED, |w| {
            Ok(folded::write(profile, Weight::Calls, w)?)
        })?;
    }
    create(dir, PPROF, |w| Ok(pprof::write(profile, w)?))?;
    create(dir, FLAMEGRAPH, |w| {
        Ok(flamegraph::write(profile, &Default::default(), w)?)
    })?;
    create(dir, SUMMARY, |w| Ok(summary::write(profile, w)?))?;
    if let Some(heap) = &profile.memory {
        create(dir, HEAP_PPROF, |w| Ok(pprof::write_heap(heap, w)?))?;
        create(dir, MEMORY_SVG, |w| Ok(heap.flamegraph(false, w)?))?;
        create(dir, MEMORY_PEAK_SVG, |w| Ok(heap.flamegraph(true, w)?))?;
        create(dir, HEAP_EXIT, |w| Ok(heap.write(w)?))?;
    }
    Ok(())
}
