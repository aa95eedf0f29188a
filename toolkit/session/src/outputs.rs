//! The output set of a run: one table of files (name, what it holds, when
//! it is written, its writer) for every host, written through a [`Sink`] —
//! a directory natively, an in-memory map for JS hosts — so the browser
//! gets the same files as `wprof run`.

use std::io::Write;

use wprof_profile::folded::Weight;
use wprof_profile::{Mode, Profile, flamegraph, folded, pprof, summary};

use crate::Error;

/// When a file is part of the set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// Every run.
    Always,
    /// Instrument mode (exact calls).
    Instrument,
    /// Memory profiling.
    Memory,
}

/// One output file.
#[derive(Debug, Clone, Copy)]
pub struct OutputFile {
    /// File name.
    pub name: &'static str,
    /// What it holds, for help.
    pub about: &'static str,
    /// When it is written.
    pub when: When,
    write: fn(&Profile, &mut dyn Write) -> Result<(), wprof_profile::Error>,
}

impl OutputFile {
    /// Whether `profile` has this file.
    pub fn applies(&self, profile: &Profile) -> bool {
        match self.when {
            When::Always => true,
            When::Instrument => profile.mode == Mode::Instrument,
            When::Memory => profile.memory.is_some(),
        }
    }
}

fn cpu_weight(p: &Profile) -> Weight {
    match p.mode {
        Mode::Instrument => Weight::Time,
        Mode::Sample => Weight::Samples,
    }
}

/// Writes a memory file of `p` (the table writes them only when `p` has a
/// heap).
fn heap(
    p: &Profile,
    w: &mut dyn Write,
    write: impl FnOnce(&wprof_profile::heap::Heap, &mut dyn Write) -> Result<(), wprof_profile::Error>,
) -> Result<(), wprof_profile::Error> {
    p.memory.as_ref().map_or(Ok(()), |h| write(h, w))
}

/// The pprof CPU profile, which `wprof report` reads back.
pub const CPU_PPROF: &str = "cpu.pb.gz";

/// The machine-readable summary.
pub const SUMMARY: &str = "summary.json";

/// The one table of output files, in the order they are written.
pub const FILES: &[OutputFile] = &[
    OutputFile {
        name: "flamegraph.svg",
        about: "CPU flamegraph (interactive SVG)",
        when: When::Always,
        write: |p, w| flamegraph::write(p, &Default::default(), w),
    },
    OutputFile {
        name: CPU_PPROF,
        about: "pprof: go tool pprof, speedscope, Pyroscope",
        when: When::Always,
        write: |p, w| pprof::write(p, w),
    },
    OutputFile {
        name: "cpu.folded",
        about: "folded stacks weighted by time (samples in sample mode)",
        when: When::Always,
        write: |p, w| folded::write(p, cpu_weight(p), w),
    },
    OutputFile {
        name: "calls.folded",
        about: "folded stacks weighted by exact calls (instrument mode)",
        when: When::Instrument,
        write: |p, w| folded::write(p, Weight::Calls, w),
    },
    OutputFile {
        name: "heap.pb.gz",
        about: "heap profile, pprof (--memory)",
        when: When::Memory,
        write: |p, w| heap(p, w, |h, w| pprof::write_heap(h, w)),
    },
    OutputFile {
        name: "memory.svg",
        about: "live bytes at exit by allocation stack (--memory)",
        when: When::Memory,
        write: |p, w| heap(p, w, |h, w| h.flamegraph(false, w)),
    },
    OutputFile {
        name: "memory-peak.svg",
        about: "live bytes when linear memory peaked (--memory)",
        when: When::Memory,
        write: |p, w| heap(p, w, |h, w| h.flamegraph(true, w)),
    },
    OutputFile {
        name: "heap-exit.wheap",
        about: "heap dump at exit, for `wprof heap show/diff` (--memory)",
        when: When::Memory,
        write: |p, w| heap(p, w, |h, w| h.write(w)),
    },
    // Last: its `host_peak_rss_bytes` counts writing the others.
    OutputFile {
        name: SUMMARY,
        about: "machine-readable summary (fields in the README)",
        when: When::Always,
        write: |p, w| summary::write(p, w),
    },
];

/// The name of the `n`th heap dump taken during a run (1-based).
pub fn dump_name(n: usize) -> String {
    format!("heap-{n:03}.wheap")
}

/// Whether `name` is a file a run writes (one of [`FILES`] or a heap
/// dump), so a host can clear what an earlier run left.
pub fn is_output(name: &str) -> bool {
    FILES.iter().any(|f| f.name == name)
        || name
            .strip_prefix("heap-")
            .and_then(|n| n.strip_suffix(".wheap"))
            .is_some_and(|n| n.len() >= 3 && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Where output files go.
pub trait Sink {
    /// A writer for file `name`, replacing any earlier one.
    fn create(&mut self, name: &str) -> std::io::Result<Box<dyn Write + '_>>;
    /// File `name` is complete (its writer was flushed and dropped): a sink
    /// that writes under a temporary name moves it into place here, so no
    /// reader ever sees a truncated file under its real name.
    fn commit(&mut self, _name: &str) -> std::io::Result<()> {
        Ok(())
    }
    /// How messages name file `name` (`wprof-out/cpu.pb.gz`).
    fn path(&self, name: &str) -> String;
    /// The host process's peak resident memory so far, when the host can
    /// tell: asked just before the summary is written, so the number
    /// covers rendering every other output.
    fn peak_rss_bytes(&self) -> Option<u64> {
        None
    }
}

/// Output files kept in memory, in the order they were written (JS hosts,
/// tests).
#[derive(Debug, Clone, Default)]
pub struct MemorySink {
    /// `(name, bytes)`.
    pub files: Vec<(String, Vec<u8>)>,
}

impl MemorySink {
    /// The bytes of file `name`.
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.files
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, b)| b.as_slice())
    }
}

impl Sink for MemorySink {
    fn create(&mut self, name: &str) -> std::io::Result<Box<dyn Write + '_>> {
        self.files.retain(|(n, _)| n != name);
        self.files.push((name.to_string(), Vec::new()));
        let last = self.files.last_mut().expect("just pushed");
        Ok(Box::new(&mut last.1))
    }

    fn path(&self, name: &str) -> String {
        name.to_string()
    }
}

/// Writes `name` through `sink` with `write`.
pub(crate) fn put(
    sink: &mut dyn Sink,
    name: &str,
    write: impl FnOnce(&mut dyn Write) -> Result<(), wprof_profile::Error>,
) -> Result<(), Error> {
    let failed = |sink: &dyn Sink, source: std::io::Error| Error::Output {
        path: sink.path(name),
        source,
    };
    let result = (|| {
        let mut w = sink.create(name)?;
        write(&mut w).map_err(|e| match e {
            wprof_profile::Error::Io(io) => io,
            other => std::io::Error::other(other.to_string()),
        })?;
        w.flush()?;
        drop(w);
        sink.commit(name)
    })();
    result.map_err(|e| failed(sink, e))
}

/// Writes every file of the set that `profile` has. A file that cannot be
/// written does not stop the others: returns the names written and the
/// failures.
pub fn write_all(profile: &mut Profile, sink: &mut dyn Sink) -> (Vec<&'static str>, Vec<Error>) {
    let mut written = Vec::new();
    let mut failed = Vec::new();
    for f in FILES {
        if !f.applies(profile) {
            continue;
        }
        if f.name == SUMMARY
            && let Some(peak) = sink.peak_rss_bytes()
        {
            profile.host_peak_rss_bytes = Some(peak.max(profile.host_peak_rss_bytes.unwrap_or(0)));
        }
        match put(sink, f.name, |w| (f.write)(profile, w)) {
            Ok(()) => written.push(f.name),
            Err(e) => failed.push(e),
        }
    }
    (written, failed)
}
