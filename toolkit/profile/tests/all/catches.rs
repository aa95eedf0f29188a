//! The goldens fail when an output changes, and say how.

use wprof_profile::folded::{self, Weight};

use crate::golden::{blessing, compare, diff};
use crate::profiles;
use crate::writers::{pprof_text, redact_version, render};

#[test]
fn a_changed_call_count_fails() {
    if blessing() {
        // The goldens are being rewritten, possibly by a test running now.
        return;
    }
    let mut p = profiles::instrumented();
    let calls = render(|w| folded::write(&p, Weight::Calls, w));
    compare("instrumented/calls.folded", &calls).unwrap();

    let (main, fib) = (0, 1);
    let fib_fib = p.tree.path([main, fib, fib]) as usize;
    assert_eq!(p.tree.nodes[fib_fib].calls, 6);
    p.tree.nodes[fib_fib].calls = 7;
    let err = compare(
        "instrumented/calls.folded",
        &render(|w| folded::write(&p, Weight::Calls, w)),
    )
    .unwrap_err();
    assert!(err.contains("- main;fib;fib 6\n"), "{err}");
    assert!(err.contains("+ main;fib;fib 7\n"), "{err}");
    assert!(err.contains("WPROF_BLESS=1"), "{err}");

    let pprof = pprof_text(&render(|w| wprof_profile::pprof::write(&p, w)));
    assert!(compare("instrumented/cpu.pprof.txt", &pprof).is_err());
    let summary = render(|w| wprof_profile::summary::write(&p, w));
    let summary = redact_version(std::str::from_utf8(&summary).unwrap());
    // fib's exact count comes from the function table, so only the context
    // count differs: the summary is unchanged, as it should be.
    compare("instrumented/summary.json", summary.as_bytes()).unwrap();
    p.functions[fib as usize].calls = Some(19);
    let summary = render(|w| wprof_profile::summary::write(&p, w));
    let summary = redact_version(std::str::from_utf8(&summary).unwrap());
    assert!(compare("instrumented/summary.json", summary.as_bytes()).is_err());
}

#[test]
fn a_missing_golden_fails() {
    let err = compare("no-such-profile/cpu.folded", b"main 1\n").unwrap_err();
    assert!(err.contains("WPROF_BLESS=1"), "{err}");
}

#[test]
fn diff_shows_the_differing_lines() {
    let d = diff("a\nb\nc\n", "a\nB\nc\nd\n");
    assert_eq!(
        d,
        "  (- golden: 3 lines, + actual: 4 lines)\n      2 - b\n      2 + B\n      4 + d\n"
    );
    let d = diff("a\n", "a");
    assert!(d.contains("final newline"), "{d}");
}
