//! `wprof`: profile WebAssembly modules. See `wprof --help`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use wprof::commands::{
    collect::CollectCommand, heap::HeapCommand, instrument::InstrumentCommand,
    report::ReportCommand, run::RunCommand,
};
use wprof_session::exit;

/// Profile WebAssembly modules: CPU flamegraphs, pprof, folded stacks, heap
/// profiles and leak diffs.
#[derive(Parser)]
#[command(name = "wprof", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Run(RunCommand),
    Instrument(InstrumentCommand),
    Report(ReportCommand),
    Heap(HeapCommand),
    Collect(CollectCommand),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { exit::USAGE } else { 0 });
        }
    };
    let result = match cli.command {
        Command::Run(c) => c.execute(),
        Command::Instrument(c) => c.execute(),
        Command::Report(c) => c.execute(),
        Command::Heap(c) => c.execute(),
        Command::Collect(c) => c.execute(),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            if is_broken_pipe(&e) {
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {e}");
            let mut causes = e.chain().skip(1).peekable();
            if causes.peek().is_some() {
                eprintln!("\nCaused by:");
                for cause in causes {
                    eprintln!("    {cause}");
                }
            }
            ExitCode::from(exit::ERROR)
        }
    }
}

/// `wprof report | head` closing the pipe is not an error (also when JSON
/// output hit it, which serde_json wraps in its own error).
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    use std::io::ErrorKind::BrokenPipe;
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == BrokenPipe)
            || c.downcast_ref::<serde_json::Error>()
                .is_some_and(|j| j.io_error_kind() == Some(BrokenPipe))
    })
}
