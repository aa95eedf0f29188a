//! The top table of `wprof report`: function, calls, self, total, % of total.

use std::fmt::Write as _;

use crate::{Mode, Profile};

/// One row of the table.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Function name.
    pub name: String,
    /// Calls (instrumented profiles only).
    pub calls: Option<u64>,
    /// Self time.
    pub self_ns: u64,
    /// Total time.
    pub total_ns: u64,
    /// Self time as a share of all sampled time, in percent.
    pub self_pct: f64,
    /// Total time as a share of all sampled time, in percent.
    pub total_pct: f64,
}

/// What the table is ordered by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sort {
    /// Total time (function anywhere on the stack), so the hottest
    /// subtree's root is in the table even when its own time is small.
    #[default]
    Total,
    /// Time in the function itself.
    Self_,
    /// Exact calls.
    Calls,
}

/// The `top` rows ordered by `sort`, ties broken by the other columns and
/// the name.
pub fn top(profile: &Profile, top: usize, sort: Sort) -> Vec<Row> {
    let stats = profile.function_stats();
    let all = profile.sampled_ns().max(1) as f64;
    let mut rows: Vec<Row> = profile
        .functions
        .iter()
        .zip(stats)
        .filter(|(_, s)| s.calls > 0 || s.total_ns > 0)
        .map(|(f, s)| Row {
            name: f.name.clone(),
            // Host-call frames carry time only: no count to show.
            calls: (profile.mode == Mode::Instrument && f.calls.is_some()).then_some(s.calls),
            self_ns: s.self_ns,
            total_ns: s.total_ns,
            self_pct: 100.0 * s.self_ns as f64 / all,
            total_pct: 100.0 * s.total_ns as f64 / all,
        })
        .collect();
    rows.sort_by(|a, b| {
        let by_self = b.self_ns.cmp(&a.self_ns);
        let by_total = b.total_ns.cmp(&a.total_ns);
        let by_calls = b.calls.cmp(&a.calls);
        match sort {
            Sort::Total => by_total.then(by_self).then(by_calls),
            Sort::Self_ => by_self.then(by_total).then(by_calls),
            Sort::Calls => by_calls.then(by_total).then(by_self),
        }
        .then(a.name.cmp(&b.name))
    });
    rows.truncate(top);
    rows
}

/// Renders rows as an aligned text table.
pub fn render(rows: &[Row]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:>14} {:>12} {:>7} {:>12} {:>7}  function",
        "calls", "self", "self%", "total", "total%"
    );
    for r in rows {
        let calls = r.calls.map_or_else(|| "-".to_string(), |c| c.to_string());
        let _ = writeln!(
            out,
            "{:>14} {:>12} {:>6.2}% {:>12} {:>6.2}%  {}",
            calls,
            duration(r.self_ns),
            r.self_pct,
            duration(r.total_ns),
            r.total_pct,
            crate::printable(&r.name)
        );
    }
    out
}

/// Human duration with three significant digits.
pub fn duration(ns: u64) -> String {
    let ns = ns as f64;
    if ns >= 1e9 {
        format!("{:.3}s", ns / 1e9)
    } else if ns >= 1e6 {
        format!("{:.3}ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.3}µs", ns / 1e3)
    } else {
        format!("{ns}ns")
    }
}

/// One row of the hottest source lines.
#[derive(Debug, Clone, PartialEq)]
pub struct LineRow {
    /// `file:line`.
    pub location: String,
    /// The function the line is in (an inlined one when it was inlined).
    pub function: String,
    /// Time on this line itself.
    pub self_ns: u64,
    /// Self time as a share of all sampled time, in percent.
    pub self_pct: f64,
}

/// The `top` source lines by self time. A context whose line DWARF does
/// not give counts on its function's declaration line; frames without
/// DWARF are left out.
pub fn top_lines(profile: &Profile, top: usize) -> Vec<LineRow> {
    let all = profile.sampled_ns().max(1) as f64;
    let mut by_line: std::collections::HashMap<(u32, u32), u64> = Default::default();
    for n in profile.tree.nodes.iter().skip(1).filter(|n| n.self_ns > 0) {
        let Some(source) = profile
            .functions
            .get(n.func as usize)
            .and_then(|f| f.source.as_ref())
        else {
            continue;
        };
        let line = if n.line > 0 { n.line } else { source.line };
        *by_line.entry((n.func, line)).or_default() += n.self_ns;
    }
    let mut rows: Vec<LineRow> = by_line
        .into_iter()
        .filter_map(|((func, line), self_ns)| {
            let f = profile.functions.get(func as usize)?;
            let file = &f.source.as_ref()?.file;
            Some(LineRow {
                location: format!("{file}:{line}"),
                function: f.name.clone(),
                self_ns,
                self_pct: 100.0 * self_ns as f64 / all,
            })
        })
        .collect();
    rows.sort_by(|a, b| {
        b.self_ns
            .cmp(&a.self_ns)
            .then_with(|| a.location.cmp(&b.location))
            .then_with(|| a.function.cmp(&b.function))
    });
    rows.truncate(top);
    rows
}

/// Renders line rows as an aligned text table.
pub fn render_lines(rows: &[LineRow]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{:>12} {:>7}  location  (function)", "self", "self%");
    for r in rows {
        let _ = writeln!(
            out,
            "{:>12} {:>6.2}%  {}  ({})",
            duration(r.self_ns),
            r.self_pct,
            crate::printable(&r.location),
            crate::printable(&r.function)
        );
    }
    out
}
