//! `wprof run`: run a module natively and write its profile. The flags, the
//! checks of their values and the help text are the session's
//! ([`wprof_session::cli`]), shared with `wprof-node run`; this file turns
//! them into a clap command and hands the run to the wasmtime adapter.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result, bail};
use clap::parser::ValueSource;
use clap::{Arg, ArgAction, ArgMatches, Command};
use wprof_session::cli::{self, Args, Host, RUN_FLAGS, RunOptions};
use wprof_session::{ArtifactCache, Session, exit};

use crate::cache::DirCache;
use crate::outputs::DirSink;
use crate::progress::{self, Progress};
use crate::{input, runner};

/// Run a module on wasmtime and write its profile.
#[derive(Debug)]
pub struct RunCommand {
    args: Args,
}

impl clap::Args for RunCommand {
    fn augment_args(cmd: Command) -> Command {
        let mut cmd = cmd
            .about(cli::RUN_ABOUT)
            .after_help(cli::run_after_help())
            .arg(
                Arg::new("module")
                    .value_name("MODULE")
                    .required(true)
                    .help(cli::MODULE_HELP),
            )
            .arg(
                Arg::new("guest_args")
                    .value_name("GUEST_ARGS")
                    .num_args(0..)
                    .last(true)
                    .help(cli::GUEST_ARGS_HELP),
            );
        for f in RUN_FLAGS {
            let mut arg = Arg::new(f.long).long(f.long).help(f.help);
            if let Some(s) = f.short {
                arg = arg.short(s);
            }
            arg = match f.value {
                None => arg.action(ArgAction::SetTrue),
                Some(v) => {
                    let arg = arg
                        .value_name(v)
                        .allow_hyphen_values(f.hyphen_values)
                        .action(if f.multiple {
                            ArgAction::Append
                        } else {
                            ArgAction::Set
                        });
                    match f.default {
                        Some(d) => arg.default_value(d),
                        None => arg,
                    }
                }
            };
            cmd = cmd.arg(arg);
        }
        cmd
    }

    fn augment_args_for_update(cmd: Command) -> Command {
        Self::augment_args(cmd)
    }
}

impl clap::FromArgMatches for RunCommand {
    fn from_arg_matches(m: &ArgMatches) -> Result<Self, clap::Error> {
        let module = m.get_one::<String>("module").cloned().unwrap_or_default();
        let mut args = Args::new(module);
        args.guest_args = m
            .get_many::<String>("guest_args")
            .map(|v| v.cloned().collect())
            .unwrap_or_default();
        for f in RUN_FLAGS {
            // Defaults are shown by clap but applied by the session.
            if m.value_source(f.long) != Some(ValueSource::CommandLine) {
                continue;
            }
            match f.value {
                None => args.push(f.long, ""),
                Some(_) => {
                    for v in m.get_many::<String>(f.long).into_iter().flatten() {
                        args.push(f.long, v.clone());
                    }
                }
            }
        }
        Ok(RunCommand { args })
    }

    fn update_from_arg_matches(&mut self, m: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(m)?;
        Ok(())
    }
}

impl RunCommand {
    /// Runs the guest, writes the outputs, returns wprof's exit code.
    pub fn execute(self) -> Result<u8> {
        let options = match RunOptions::from_args(&self.args, Host::Native) {
            Ok(o) => o,
            Err(e) => {
                eprintln!("error: {e}\n\nFor more information, try '--help'.");
                return Ok(exit::USAGE);
            }
        };
        for (host, _) in &options.dirs {
            if !Path::new(host).is_dir() {
                bail!("--dir `{host}` is not a directory");
            }
        }
        let path = Path::new(&options.module).to_path_buf();
        let bytes = input::read_file(&path)?;
        let debug = match &options.debug_file {
            Some(f) => Some(input::read_regular(Path::new(f), "--debug-file")?),
            None => external_debug_info(&path, &bytes),
        };
        // Before any work: a run must never be lost to an unusable --out.
        let mut sink = DirSink::open(&options.out)?;
        let cache = options.cache.then(DirCache::user).flatten();
        let progress = Progress::for_stderr();
        let session = progress
            .step(
                &format!(
                    "reading and instrumenting ({})",
                    progress::size(bytes.len())
                ),
                || {
                    Session::with_debug(
                        &bytes,
                        debug.as_deref(),
                        options,
                        cache.as_ref().map(|c| c as &dyn ArtifactCache),
                    )
                },
            )
            .with_context(|| format!("cannot profile `{}`", path.display()))?;
        drop((bytes, debug));
        sink.clear_stale()?;

        let interrupt = Arc::new(AtomicBool::new(false));
        {
            let flag = interrupt.clone();
            // SIGINT, SIGTERM and SIGHUP stop the guest and write the
            // partial profile. A second one while the guest sits in a
            // blocking host call gives up on the profile rather than hang.
            let _ = ctrlc::set_handler(move || {
                if flag.swap(true, Ordering::Relaxed) {
                    eprintln!("wprof: interrupted again: the profile is abandoned");
                    std::process::exit(exit::INTERRUPTED as i32);
                }
            });
        }
        let location = sink.location();
        let what = path.display().to_string();
        let host = runner::HostOptions {
            interrupt,
            inherit_stdio: true,
            progress,
            // A guest that is not waited for (sample mode, or one blocked
            // in a host call) ends with the process, once its profile is
            // written.
            abandon: Some(Arc::new(move |session, done| match done {
                Ok(done) => {
                    print_results(&done.stdout);
                    for line in session.closing_messages(&done, &location) {
                        eprintln!("wprof: {line}");
                    }
                    std::process::exit(done.exit_code.into());
                }
                Err(e) => {
                    eprintln!("error: cannot profile `{what}`: {e:#}");
                    std::process::exit(exit::ERROR.into());
                }
            })),
        };
        let done = runner::run(&session, &host, &mut sink)
            .with_context(|| format!("cannot profile `{}`", path.display()))?;
        print_results(&done.stdout);
        for line in session.closing_messages(&done, &sink.location()) {
            eprintln!("wprof: {line}");
        }
        Ok(done.exit_code)
    }
}

/// The `--invoke` export's results, after the guest's own output on the
/// same stdout. A closed pipe is the reader's choice, not an error.
fn print_results(bytes: &[u8]) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(bytes).and_then(|()| out.flush());
}

/// The DWARF a module without its own names in `external_debug_info`, as a
/// path relative to the module. One that cannot be read costs the source
/// locations, with a warning, not the run.
fn external_debug_info(module: &Path, bytes: &[u8]) -> Option<Vec<u8>> {
    let named = wprof_session::module::external_debug_info(bytes)?;
    if named.contains("://") {
        eprintln!(
            "wprof: warning: the module's DWARF is at `{named}`; download it and pass --debug-file"
        );
        return None;
    }
    let path = module.parent().unwrap_or(Path::new(".")).join(&named);
    match input::read_regular(&path, "the module's external_debug_info") {
        Ok(debug) => Some(debug),
        Err(e) => {
            eprintln!("wprof: warning: {e:#}; profiling without source locations");
            None
        }
    }
}
