//! `wprof heap show|diff`: read `.wheap` dumps written by `wprof run
//! --memory` and rank leak suspects between them.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use wprof_profile::heap::{Heap, report};

const AFTER_HELP: &str = "\
Examples:
  wprof run --memory --invoke handle --repeat 1000 --heap-dump-every 500 svc.wasm
  wprof heap show wprof-out/heap-exit.wheap
  wprof heap diff wprof-out/heap-001.wheap wprof-out/heap-002.wheap
  wprof heap diff --json a.wheap b.wheap c.wheap    (growth across 3 dumps)

`diff` ranks allocation sites by bytes allocated after the first dump and
still live at the last (blocks are matched by their sequence number, never by
address, which allocators reuse). With three or more dumps a site is a leak
suspect only if its live bytes grew at every dump. An ALARM line appears when
linear memory grew while the tracked heap (or the GC heap) did not.

Exit status:
  0 on success, 1 when a dump cannot be read, 2 on a bad command line.";

/// Summarise and compare heap dumps.
#[derive(Debug, Args)]
#[command(after_help = AFTER_HELP)]
pub struct HeapCommand {
    #[command(subcommand)]
    pub action: HeapAction,
}

/// What to do with the dumps.
#[derive(Debug, Subcommand)]
pub enum HeapAction {
    /// Summarise one dump: memory, live heap, top sites, grow sites.
    Show {
        /// A `.wheap` dump.
        dump: PathBuf,
        /// Print JSON (the `summary.json` memory section) instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Rank leak suspects between dumps of one run, oldest first.
    Diff {
        /// Two or more `.wheap` dumps, oldest first.
        #[arg(num_args = 2.., required = true)]
        dumps: Vec<PathBuf>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

fn load(path: impl AsRef<std::path::Path>) -> Result<Heap> {
    let path = path.as_ref();
    let bytes = crate::input::read_regular(path, "heap dump")?;
    Heap::read(&bytes).with_context(|| format!("cannot read heap dump `{}`", path.display()))
}

impl HeapCommand {
    /// Runs the action.
    pub fn execute(self) -> Result<u8> {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        match self.action {
            HeapAction::Show { dump, json } => {
                let heap = load(&dump)?;
                if json {
                    serde_json::to_writer_pretty(
                        &mut out,
                        &report::MemorySummary::from_heap(&heap),
                    )?;
                    writeln!(out)?;
                } else {
                    out.write_all(report::show(&heap).as_bytes())?;
                }
            }
            HeapAction::Diff { dumps, json } => {
                let heaps = dumps.iter().map(load).collect::<Result<Vec<_>>>()?;
                for w in heaps.windows(2) {
                    if w[1].seq < w[0].seq {
                        bail!(
                            "dumps are out of order: `{}` was taken after the dump that follows it \
                             (give the oldest first)",
                            w[0].reason
                        );
                    }
                }
                let d = report::diff(&heaps);
                if json {
                    serde_json::to_writer_pretty(&mut out, &d)?;
                    writeln!(out)?;
                } else {
                    out.write_all(report::diff_text(&heaps, &d).as_bytes())?;
                }
            }
        }
        out.flush()?;
        Ok(0)
    }
}
