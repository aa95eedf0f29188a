//! Every writer on every hand-built profile, against `tests/golden/`.

use std::io::Read;

use wprof_profile::folded::{self, Weight};
use wprof_profile::heap::Heap;
use wprof_profile::{Error, Mode, Profile, flamegraph, pprof, summary};

use crate::golden::golden;
use crate::profiles;

/// The bytes a writer produced.
pub fn render(write: impl FnOnce(&mut Vec<u8>) -> Result<(), Error>) -> Vec<u8> {
    let mut out = Vec::new();
    write(&mut out).unwrap();
    out
}

/// Replaces the crate version, which `summary.json` and the pprof comment
/// carry, so a release bump does not rewrite every golden. It must be there.
pub fn redact_version(text: &str) -> String {
    let version = env!("CARGO_PKG_VERSION");
    assert!(text.contains(version), "no version in:\n{text}");
    text.replace(version, "[version]")
}

/// A gzipped pprof as [`pprof::to_text`] shows it.
pub fn pprof_text(gz: &[u8]) -> Vec<u8> {
    assert!(gz.starts_with(&[0x1f, 0x8b]), "pprof output is not gzipped");
    redact_version(&pprof::to_text(gz).unwrap()).into_bytes()
}

/// The file the CLI writes as `cpu.folded`: time when instrumented, samples
/// when sampled (a sampled context's time is not samples × interval).
fn cpu_weight(p: &Profile) -> Weight {
    match p.mode {
        Mode::Instrument => Weight::Time,
        Mode::Sample => Weight::Samples,
    }
}

/// Renders twice: equal profiles must give byte-identical SVGs.
fn svg(write: impl Fn(&mut Vec<u8>) -> Result<(), Error>) -> Vec<u8> {
    let first = render(&write);
    assert!(
        first == render(&write),
        "SVG rendering is not deterministic"
    );
    first
}

/// The CPU outputs of `p` against `tests/golden/<dir>/`.
fn cpu_outputs(dir: &str, p: &Profile) {
    golden(
        &format!("{dir}/cpu.folded"),
        &render(|w| folded::write(p, cpu_weight(p), w)),
    );
    let calls = render(|w| folded::write(p, Weight::Calls, w));
    match p.mode {
        Mode::Instrument => golden(&format!("{dir}/calls.folded"), &calls),
        Mode::Sample => assert!(calls.is_empty(), "a sampled profile has no calls"),
    }
    golden(
        &format!("{dir}/flamegraph.svg"),
        &svg(|w| flamegraph::write(p, &Default::default(), w)),
    );
    let pb = render(|w| pprof::write(p, w));
    golden(&format!("{dir}/cpu.pprof.txt"), &pprof_text(&pb));
    let summary = render(|w| summary::write(p, w));
    golden(
        &format!("{dir}/summary.json"),
        redact_version(std::str::from_utf8(&summary).unwrap()).as_bytes(),
    );

    // What pprof::read gets back is what was written.
    let back = pprof::read(&pb, &p.module).unwrap();
    for weight in [Weight::Time, Weight::Calls, Weight::Samples] {
        let expected = match (p.mode, weight) {
            // Instrumented pprof carries calls and time, not sample counts.
            (Mode::Instrument, Weight::Samples) => Vec::new(),
            _ => folded::lines(p, weight),
        };
        assert_eq!(folded::lines(&back, weight), expected, "{weight:?}");
    }
    // The module it names, and which functions were counted (pprof has
    // calls per context: a function's exact total survives unless the tree
    // overflowed under it).
    let back = pprof::read(&pb, "the file name").unwrap();
    assert_eq!(back.module, p.module);
    let counted = |p: &wprof_profile::Profile| -> Vec<(String, bool)> {
        let s = wprof_profile::summary::Summary::from_profile(p);
        let mut v: Vec<_> = s
            .functions
            .into_iter()
            .map(|f| (f.name, f.calls.is_some()))
            .collect();
        v.sort();
        v
    };
    assert_eq!(counted(&back), counted(p));
}

#[test]
fn instrumented() {
    let p = profiles::instrumented();
    cpu_outputs("instrumented", &p);
    let stats = p.function_stats();
    // fib is on the stack three deep; its time counts once.
    assert_eq!(
        (stats[1].calls, stats[1].self_ns, stats[1].total_ns),
        (18, 1200, 1300)
    );
}

#[test]
fn sampled() {
    let p = profiles::sampled();
    cpu_outputs("sampled", &p);
    golden(
        "sampled/time.folded",
        &render(|w| folded::write(&p, Weight::Time, w)),
    );
}

#[test]
fn untimed_flamegraph_draws_calls() {
    let p = profiles::untimed();
    cpu_outputs("untimed", &p);
    let svg = String::from_utf8(render(|w| flamegraph::write(&p, &Default::default(), w))).unwrap();
    assert!(svg.contains("widths are call counts"));
}

#[test]
fn with_heap() {
    let p = profiles::with_heap();
    cpu_outputs("heap", &p);
    let heap = p.memory.as_ref().unwrap();
    let totals = &heap.totals;
    // Freed: 100 + 128 (the moved realloc) + 200, see `profiles::with_heap`.
    assert_eq!(totals.live_bytes, totals.allocated_bytes - 428);

    golden(
        "heap/heap.pprof.txt",
        &pprof_text(&render(|w| pprof::write_heap(heap, w))),
    );
    golden("heap/live.svg", &svg(|w| heap.flamegraph(false, w)));
    golden("heap/peak.svg", &svg(|w| heap.flamegraph(true, w)));

    let dump = render(|w| heap.write(w));
    assert_eq!(&Heap::read(&dump).unwrap(), heap, "the dump reads back");
    let mut json = Vec::new();
    flate2::read::GzDecoder::new(&dump[..])
        .read_to_end(&mut json)
        .unwrap();
    // Through `Value` to pretty-print: keys come out sorted, the content is
    // exactly the dump's.
    let value: serde_json::Value = serde_json::from_slice(&json).unwrap();
    let mut pretty = serde_json::to_string_pretty(&value).unwrap();
    pretty.push('\n');
    golden("heap/heap.wheap.json", pretty.as_bytes());
}
