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

/// [`lines`] with each frame named by `name(node, function)`.
pub(crate) fn lines_named<'p>(
    profile: &'p Profile,
    weight: Weight,
    name: impl Fn(u32, u32) -> Cow<'p, str>,
) -> Vec<String> {
    let mut out: Vec<(String, u64)> = profile
        .tree
        .nodes
        .iter()
        .enumerate()
        .filter(|&(i, _)| i as u32 != ROOT)
        .filter_map(|(i, n)| {
            let v = match weight {
                Weight::Time => n.self_ns,
                Weight::Calls => n.calls,
                Weight::Samples => n.samples,
            };
            (v > 0).then(|| {
                let mut stack: Vec<Cow<'_, str>> = Vec::new();
                let mut node = i as u32;
                while node != ROOT {
                    let n = &profile.tree.nodes[node as usize];
                    stack.push(name(node, n.func));
                    node = n.parent;
                }
                stack.reverse();
                (stack.join(";"), v)
            })
        })
        .collect();
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
