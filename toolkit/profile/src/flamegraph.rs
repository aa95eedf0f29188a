//! The CPU flamegraph (`flamegraph.svg`), rendered by inferno from the
//! profile's folded stacks with deterministic colours, so the same profile
//! always gives the same SVG.

use std::io::Write;

use crate::folded::{self, Weight};
use crate::{Error, Mode, Profile};

/// How to draw the flamegraph.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Options {
    /// Title; default: "wprof: MODULE".
    pub title: Option<String>,
}

/// Renders `profile`'s time per context. A run too short to be sampled has
/// no time; it is drawn by call counts instead, and the subtitle says so.
pub fn write(profile: &Profile, options: &Options, out: impl Write) -> Result<(), Error> {
    let (weight, unit, note) = if profile.sampled_ns() > 0 {
        (Weight::Time, "ns", None)
    } else if profile.mode == Mode::Instrument {
        (
            Weight::Calls,
            "calls",
            Some("no CPU samples (run shorter than the sampling interval): widths are call counts"),
        )
    } else {
        (Weight::Samples, "samples", Some("no samples were taken"))
    };
    let lines = folded::lines(profile, weight);
    let mut opts = inferno::flamegraph::Options::default();
    opts.title = options
        .title
        .clone()
        .unwrap_or_else(|| format!("wprof: {}", profile.module));
    opts.subtitle = note.map(str::to_string);
    opts.count_name = unit.to_string();
    // Widths stay in nanoseconds: inferno's `factor` would show µs, but it
    // computes percentages from the rounded scaled counts (a frame of 2.5 µs
    // over 2.6 µs reads "3 µs, 115%"), so the tooltips would lie.
    opts.deterministic = true;
    opts.hash = true;
    if lines.is_empty() {
        // inferno rejects empty input; an empty profile still gets a valid
        // SVG that says why it is empty.
        let placeholder = ["[no samples] 1".to_string()];
        return inferno::flamegraph::from_lines(
            &mut opts,
            placeholder.iter().map(String::as_str),
            out,
        )
        .map_err(|e| Error::Flamegraph(e.to_string()));
    }
    inferno::flamegraph::from_lines(&mut opts, lines.iter().map(String::as_str), out)
        .map_err(|e| Error::Flamegraph(e.to_string()))
}
