//! `wprof report`: the top functions of a profile, as a table.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use wprof_profile::{Mode, pprof, report};

use wprof_session::outputs;

const AFTER_HELP: &str = "\
Examples:
  wprof report wprof-out
  wprof report wprof-out/cpu.pb.gz --top 50 --sort self
  wprof report wprof-out --lines      (modules with DWARF)

Exit status:
  0 on success, 1 when the profile cannot be read, 2 on a bad command line.";

/// Print the top functions of a profile.
#[derive(Debug, Args)]
#[command(after_help = AFTER_HELP)]
pub struct ReportCommand {
    /// An output directory of `wprof run`, or a `cpu.pb.gz` file.
    pub profile: PathBuf,

    /// How many functions to show.
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub top: usize,

    /// Order by total time (the hottest subtrees), self time or calls.
    #[arg(long, value_enum, default_value_t = SortBy::Total)]
    pub sort: SortBy,

    /// Show the hottest source lines instead (self time; needs a module
    /// with DWARF; line by line in sample mode, per function otherwise).
    #[arg(long, conflicts_with = "sort")]
    pub lines: bool,
}

/// See `ReportCommand::sort`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SortBy {
    /// Time with the function anywhere on the stack.
    Total,
    /// Time in the function itself.
    #[value(name = "self")]
    Self_,
    /// Exact calls (instrument mode).
    Calls,
}

impl ReportCommand {
    /// Prints the table to stdout.
    pub fn execute(self) -> Result<u8> {
        let path = if self.profile.is_dir() {
            self.profile.join(outputs::CPU_PPROF)
        } else {
            self.profile.clone()
        };
        let bytes = crate::input::read_regular(&path, "profile")?;
        let profile = pprof::read(&bytes, &path.display().to_string())
            .with_context(|| format!("`{}` is not a pprof profile", path.display()))?;
        let sort = match self.sort {
            SortBy::Total => report::Sort::Total,
            SortBy::Self_ => report::Sort::Self_,
            SortBy::Calls => report::Sort::Calls,
        };
        let mut out = std::io::stdout().lock();
        writeln!(
            out,
            "{} ({} mode, {} sampled of {} wall)",
            path.display(),
            match profile.mode {
                Mode::Instrument => "instrument",
                Mode::Sample => "sample",
            },
            report::duration(profile.sampled_ns()),
            report::duration(profile.wall_ns)
        )?;
        if self.lines {
            let rows = report::top_lines(&profile, self.top);
            if rows.is_empty() {
                writeln!(
                    out,
                    "no source lines: the module has no DWARF (build with -g, or pass --debug-file to wprof run)"
                )?;
            }
            write!(out, "{}", report::render_lines(&rows))?;
        } else {
            write!(
                out,
                "{}",
                report::render(&report::top(&profile, self.top, sort))
            )?;
        }
        Ok(0)
    }
}
