//! Folded stacks (`cpu.folded`, `calls.folded`): `outer;…;leaf VALUE`, one
//! line per calling context with a non-zero value, sorted, so the output is
//! deterministic and diffable.

use std::borrow::Cow;
use std::io::Write;

use crate::{Error, Profile, ROOT};

/// Which number a folded line carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Weight {
    /// Self time in nanoseconds.
    Time,
    /// Calls made in the context (instrumented profiles).
    Calls,
    /// Samples taken in the context.
    Samples,
}

/// The folded lines of `profile`, sorted. Contexts that differ only by
/// source line share a line.
pub fn lines(profile: &Profile, weight: Weight) -> Vec<String> {
    lines_named(profile, weight, |_, f| frame_name(profile, f))
}

/// Folded output is kept under this many bytes (the sum of its lines),
/// whatever the guest does: a deep, bushy call tree (a C++ program with
/// 100,000 contexts 200 frames deep) would otherwise write hundreds of MB,
/// one line per context as long as its stack.
pub const MAX_BYTES: usize = 50 << 20;

/// The frame that stands for the contexts folded below a depth.
pub const DEEPER: &str = "[deeper]";

/// [`lines`] with each frame named by `name(node, function)`. When all
/// lines would exceed [`MAX_BYTES`], contexts deeper than the largest depth
/// that fits are folded into a [`DEEPER`] frame under their ancestor at
/// that depth (the values add up), so the heaviest paths keep their top.
pub(crate) fn lines_named<'p>(
    profile: &'p Profile,
    weight: Weight,
    name: impl Fn(u32, u32) -> Cow<'p, str>,
) -> Vec<String> {
    let nodes = &profile.tree.nodes;
    let value = |n: &crate::Node| match weight {
        Weight::Time => n.self_ns,
        Weight::Calls => n.calls,
        Weight::Samples => n.samples,
    };
    // Names, depths and stack lengths in bytes, parents first.
    let names: Vec<Cow<'p, str>> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| {
            if i as u32 == ROOT {
                Cow::Borrowed("")
            } else {
                name(i as u32, n.func)
            }
        })
        .collect();
    let mut depth = vec![0u32; nodes.len()];
    let mut stack_len = vec![0usize; nodes.len()];
    for (i, n) in nodes.iter().enumerate().skip(1) {
        let p = n.parent as usize;
        depth[i] = depth[p] + 1;
        stack_len[i] = stack_len[p] + usize::from(p != ROOT as usize) + names[i].len();
    }
    let max_depth = depth.iter().copied().max().unwrap_or(0);
    // The deepest cap whose lines fit; without one, none.
    let size = |cap: u32| -> usize {
        let mut folded = std::collections::HashSet::new();
        let mut total = 0;
        let mut at_cap = vec![ROOT; nodes.len()];
        for (i, n) in nodes.iter().enumerate().skip(1) {
            let p = n.parent as usize;
            at_cap[i] = if depth[i] == cap { i as u32 } else { at_cap[p] };
            if value(n) == 0 {
                continue;
            }
            if depth[i] <= cap {
                total += stack_len[i] + 21;
            } else if folded.insert(at_cap[i]) {
                total += stack_len[at_cap[i] as usize] + DEEPER.len() + 22;
            }
        }
        total
    };
    let cap = if size(max_depth) <= MAX_BYTES {
        max_depth
    } else {
        let (mut lo, mut hi) = (1, max_depth);
        while lo < hi {
            let mid = (lo + hi).div_ceil(2);
            if size(mid) <= MAX_BYTES {
                lo = mid
            } else {
                hi = mid - 1
            }
        }
        lo
    };
    let mut out: Vec<(String, u64)> = Vec::new();
    let mut merged: std::collections::BTreeMap<u32, u64> = Default::default();
    let mut at_cap = vec![ROOT; nodes.len()];
    let stack = |mut node: u32| {
        let mut frames: Vec<&str> = Vec::new();
        while node != ROOT {
            frames.push(&names[node as usize]);
            node = nodes[node as usize].parent;
        }
        frames.reverse();
        frames.join(";")
    };
    for (i, n) in nodes.iter().enumerate().skip(1) {
        at_cap[i] = if depth[i] == cap {
            i as u32
        } else {
            at_cap[n.parent as usize]
        };
        let v = value(n);
        if v == 0 {
            continue;
        }
        if depth[i] <= cap {
            out.push((stack(i as u32), v));
        } else {
            *merged.entry(at_cap[i]).or_default() += v;
        }
    }
    for (node, v) in merged {
        out.push((format!("{};{DEEPER}", stack(node)), v));
    }
    out.sort();
    out.dedup_by(|next, kept| {
        let same = next.0 == kept.0;
        if same {
            kept.1 += next.1;
        }
        same
    });
    out.into_iter().map(|(s, v)| format!("{s} {v}")).collect()
}

/// A frame as folded consumers read it. `;` separates frames, so one inside
/// a name (rare, but legal in the name section) becomes `:`, and control
/// characters are escaped ([`crate::printable`]) so a name cannot forge a
/// line; spaces are fine, consumers split the count off at the last space.
pub(crate) fn frame_name(profile: &Profile, func: u32) -> Cow<'_, str> {
    match profile.functions.get(func as usize) {
        Some(f) => {
            let name = crate::printable(&f.name);
            let name = if name.contains(';') {
                Cow::Owned(name.replace(';', ":"))
            } else {
                name
            };
            if f.inlined {
                Cow::Owned(format!("{name} (inlined)"))
            } else {
                name
            }
        }
        None => Cow::Borrowed("[unknown]"),
    }
}

/// Writes the folded lines of `profile`.
pub fn write(profile: &Profile, weight: Weight, mut out: impl Write) -> Result<(), Error> {
    for line in lines(profile, weight) {
        writeln!(out, "{line}")?;
    }
    Ok(())
}
