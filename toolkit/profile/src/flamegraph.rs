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

/// Marks a frame name with its context's exact call count, for the tooltip.
/// Private-use characters: no function name has them.
const CALLS_OPEN: char = '\u{E000}';
const CALLS_CLOSE: char = '\u{E001}';

/// Renders `profile`'s time per context. A run too short to be sampled has
/// no time; it is drawn by call counts instead, and the subtitle says so.
///
/// Tooltips read "fib (1.305ms, 50.00%, 21,891 calls)": time in human units
/// and, for instrumented profiles, the context's exact calls. inferno only
/// prints the width's unit (its `factor` would scale the widths, but it
/// computes percentages from the rounded scaled counts, so they would lie);
/// so frames are named with their calls in private-use brackets and the
/// rendered SVG is rewritten, colours kept per function.
pub fn write(profile: &Profile, options: &Options, mut out: impl Write) -> Result<(), Error> {
    let (weight, unit, note) = if profile.sampled_ns() > 0 {
        (Weight::Time, "ns", None)
    } else if profile.mode == Mode::Instrument {
        let why = if profile.sampler.name == "embedded" {
            "counted by the module itself, which measures no CPU time: widths are call counts"
        } else {
            "no CPU samples (run shorter than the sampling interval): widths are call counts"
        };
        (Weight::Calls, "calls", Some(why))
    } else {
        (Weight::Samples, "samples", Some("no samples were taken"))
    };
    let counted = profile.mode == Mode::Instrument && weight != Weight::Calls;
    let lines = folded::lines_named(profile, weight, |node, func| {
        let name = folded::frame_name(profile, func);
        let calls = profile.tree.nodes[node as usize].calls;
        if counted && calls > 0 {
            format!("{name}{CALLS_OPEN}{calls}{CALLS_CLOSE}").into()
        } else {
            name
        }
    });
    let base = || {
        let mut opts = inferno::flamegraph::Options::default();
        opts.title = options
            .title
            .clone()
            .unwrap_or_else(|| format!("wprof: {}", profile.module));
        opts.subtitle = note.map(str::to_string);
        opts.count_name = unit.to_string();
        opts.deterministic = true;
        opts.hash = true;
        opts
    };
    let mut opts = base();
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
    // Each function's colour as inferno picks it for the bare name, given
    // to every marked name of that function.
    let mut colours = inferno::flamegraph::color::PaletteMap::default();
    if counted {
        let bare: std::collections::BTreeSet<&str> = lines
            .iter()
            .flat_map(|l| l.rsplit_once(' ').map_or("", |(stack, _)| stack).split(';'))
            .collect();
        let mut probe = base();
        probe.palette_map = Some(&mut colours);
        let names: Vec<String> = bare.iter().map(|f| format!("{} 1", strip(f).0)).collect();
        inferno::flamegraph::from_lines(
            &mut probe,
            names.iter().map(String::as_str),
            std::io::sink(),
        )
        .map_err(|e| Error::Flamegraph(e.to_string()))?;
        for f in bare {
            if let Some(c) = colours.get(strip(f).0) {
                colours.insert(f, c);
            }
        }
        opts.palette_map = Some(&mut colours);
    }
    let mut svg = Vec::new();
    inferno::flamegraph::from_lines(&mut opts, lines.iter().map(String::as_str), &mut svg)
        .map_err(|e| Error::Flamegraph(e.to_string()))?;
    let svg = String::from_utf8(svg).map_err(|e| Error::Flamegraph(e.to_string()))?;
    out.write_all(rewrite(&svg, unit == "ns").as_bytes())?;
    Ok(())
}

/// A frame name without its calls mark, and the calls.
fn strip(name: &str) -> (&str, Option<&str>) {
    match name.split_once(CALLS_OPEN) {
        Some((bare, rest)) => (bare, rest.split(CALLS_CLOSE).next()),
        None => (name, None),
    }
}

/// The SVG with calls marks moved into the tooltips (and out of the
/// labels, where inferno may have cut them) and nanoseconds in human units.
fn rewrite(svg: &str, nanoseconds: bool) -> String {
    let mut out = String::with_capacity(svg.len());
    let mut rest = svg;
    while let Some(at) = rest.find("<title>") {
        let (head, tail) = rest.split_at(at + "<title>".len());
        out.push_str(&strip_labels(head));
        let end = tail.find("</title>").unwrap_or(tail.len());
        out.push_str(&tooltip(&tail[..end], nanoseconds));
        rest = &tail[end..];
    }
    out.push_str(&strip_labels(rest));
    out
}

/// `text` with every calls mark, whole or cut off by inferno's `..`,
/// removed.
fn strip_labels(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains(CALLS_OPEN) {
        return text.into();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(CALLS_OPEN) {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        // A whole mark ends at its close; a cut one at the label's end.
        let close = rest.find(CALLS_CLOSE).map(|i| i + CALLS_CLOSE.len_utf8());
        let label_end = rest.find('<').unwrap_or(rest.len());
        match close {
            Some(c) if c <= label_end => rest = &rest[c..],
            _ => {
                out.push_str(if rest[..label_end].ends_with("..") {
                    ".."
                } else {
                    ""
                });
                rest = &rest[label_end..];
            }
        }
    }
    out.push_str(rest);
    out.into()
}

/// One tooltip: `name (1,305,000 ns, 50.00%)` as `name (1.305ms, 50.00%,
/// 21,891 calls)`.
fn tooltip(title: &str, nanoseconds: bool) -> String {
    let (name, calls) = strip(title);
    let (name, info) = match (calls, title.rfind(" (")) {
        // The mark sits inside the name part, before the info.
        (Some(_), Some(i)) => (name, &title[i..]),
        (None, Some(i)) => (&title[..i], &title[i..]),
        (_, None) => return title.to_string(),
    };
    let info = info.trim_start_matches(" (").trim_end_matches(')');
    let mut parts: Vec<String> = info.split(", ").map(str::to_string).collect();
    if nanoseconds
        && let Some(first) = parts.first_mut()
        && let Some(ns) = first.strip_suffix(" ns")
        && let Ok(ns) = ns.replace(',', "").parse::<u64>()
    {
        *first = crate::report::duration(ns);
    }
    if let Some(calls) = calls.and_then(|c| c.parse::<u64>().ok()) {
        parts.push(format!(
            "{} call{}",
            thousands(calls),
            if calls == 1 { "" } else { "s" }
        ));
    }
    format!("{name} ({})", parts.join(", "))
}

/// `n` with thousands separators.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_lose_whole_and_cut_marks() {
        let svg = "<text>fib\u{E000}21891\u{E001}</text><text>main\u{E000}2..</text><text>x\u{E000}</text>";
        assert_eq!(
            strip_labels(svg),
            "<text>fib</text><text>main..</text><text>x</text>"
        );
    }

    #[test]
    fn tooltips_in_human_units_with_calls() {
        assert_eq!(
            tooltip("fib\u{E000}21891\u{E001} (1,305,000 ns, 50.00%)", true),
            "fib (1.305ms, 50.00%, 21,891 calls)"
        );
        assert_eq!(tooltip("all (2,600 ns, 100%)", true), "all (2.600µs, 100%)");
        assert_eq!(
            tooltip("f (3 samples, 1.00%)", false),
            "f (3 samples, 1.00%)"
        );
        assert_eq!(
            tooltip("g\u{E000}1\u{E001} (7 ns, 1.00%)", true),
            "g (7ns, 1.00%, 1 call)"
        );
    }
}
