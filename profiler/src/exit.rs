//! wprof's exit codes. The guest's own exit code is mirrored when it exits;
//! the other cases have fixed codes that cannot be confused with a clean run.

/// wprof itself failed: bad input, unreadable file, link error.
pub const ERROR: u8 = 1;
/// Bad command line (clap's convention).
pub const USAGE: u8 = 2;
/// The guest ran past `--timeout` (as `timeout(1)`).
pub const TIMEOUT: u8 = 124;
/// The guest was stopped by Ctrl-C (128 + SIGINT).
pub const INTERRUPTED: u8 = 130;
/// The guest trapped (128 + SIGABRT, as wasmtime's CLI).
pub const TRAP: u8 = 134;

/// The exit code that mirrors how the guest ended. Guest codes outside
/// 0–255 cannot be represented by a process and become [`ERROR`];
/// `summary.json` keeps the exact value.
pub fn for_guest(exit: &wprof_profile::Exit) -> u8 {
    use wprof_profile::ExitKind;
    match exit.kind {
        ExitKind::Exit => match exit.code {
            Some(c) if (0..=255).contains(&c) => c as u8,
            _ => ERROR,
        },
        ExitKind::Trap => TRAP,
        ExitKind::Timeout => TIMEOUT,
        ExitKind::Interrupted => INTERRUPTED,
    }
}
