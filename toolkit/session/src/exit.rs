//! Exit codes of `wprof run` and `wprof-node run`, one table for both hosts.
//! The guest's own exit code is mirrored when it exits; the other cases have
//! fixed codes that cannot be confused with a clean run.

use wprof_profile::{Exit, ExitKind};

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

/// The "Exit status" section of `run --help`.
pub const HELP: &str = "Exit status:
  the guest's exit code when it exits (0 when _start or the export returns;
  codes outside 0-255 become 1), 134 when the guest traps, 124 on --timeout,
  130 on Ctrl-C, 1 when wprof fails (bad module, missing file, unknown export),
  2 on a bad command line. Every output file is written in all guest cases.";

/// The exit code that mirrors how the guest ended. Guest codes outside
/// 0–255 cannot be represented by a process and become [`ERROR`];
/// `summary.json` keeps the exact value.
pub fn code(exit: &Exit) -> u8 {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guest_codes_are_mirrored_within_a_byte() {
        assert_eq!(code(&Exit::code(3)), 3);
        assert_eq!(code(&Exit::code(256)), ERROR);
        assert_eq!(code(&Exit::code(-1)), ERROR);
        let trap = Exit {
            kind: ExitKind::Trap,
            code: None,
            message: None,
        };
        assert_eq!(code(&trap), TRAP);
    }
}
