//! Progress on stderr for the steps around a guest's run that can take long
//! on big modules (instrumenting, compiling, writing the profile): a
//! spinner naming the step and its elapsed time, shown only when stderr is
//! a terminal and only once a step has taken a second, and cleared when it
//! ends, so short runs and redirected output look exactly as before.
//! Nothing is drawn while the guest runs: its output is the user's.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How long a step runs before its spinner appears, unless
/// `WPROF_PROGRESS_AFTER_MS` says otherwise.
const SHOW_AFTER: Duration = Duration::from_secs(1);

/// Whether steps are shown; see the module documentation.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    enabled: bool,
    after: Duration,
}

impl Progress {
    /// Shown on a terminal (`WPROF_NO_PROGRESS` set: never), after
    /// `WPROF_PROGRESS_AFTER_MS` (default 1000).
    pub fn for_stderr() -> Progress {
        use std::io::IsTerminal;
        let after = std::env::var("WPROF_PROGRESS_AFTER_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .map_or(SHOW_AFTER, Duration::from_millis);
        Progress {
            enabled: std::io::stderr().is_terminal()
                && std::env::var_os("WPROF_NO_PROGRESS").is_none(),
            after,
        }
    }

    /// Never shown (benchmarks, embedding).
    pub fn hidden() -> Progress {
        Progress {
            enabled: false,
            after: SHOW_AFTER,
        }
    }

    /// Runs `f` as the step `what` (e.g. "instrumenting app.wasm (69 MB)").
    pub fn step<T>(&self, what: &str, f: impl FnOnce() -> T) -> T {
        if !self.enabled {
            return f();
        }
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
        bar.set_style(
            ProgressStyle::with_template("{spinner} wprof: {msg} ({elapsed})")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.set_message(what.to_string());
        // Drawn from a thread once the step has taken long enough, so that
        // quick steps never flash.
        let shown = bar.clone();
        let after = self.after;
        let waiter = std::thread::spawn(move || {
            let due = std::time::Instant::now() + after;
            // Parks can end early; the step's end unparks for good.
            while !shown.is_finished() {
                let left = due.saturating_duration_since(std::time::Instant::now());
                if left.is_zero() {
                    break;
                }
                std::thread::park_timeout(left);
            }
            if !shown.is_finished() {
                shown.set_draw_target(ProgressDrawTarget::stderr());
                shown.enable_steady_tick(Duration::from_millis(120));
            }
        });
        let out = f();
        bar.finish_and_clear();
        waiter.thread().unpark();
        let _ = waiter.join();
        out
    }
}

/// `n` bytes for a step's message: "69 MB".
pub fn size(n: usize) -> String {
    let mb = n as f64 / 1e6;
    if mb >= 10.0 {
        format!("{mb:.0} MB")
    } else if mb >= 0.1 {
        format!("{mb:.1} MB")
    } else {
        format!("{} KB", n.div_ceil(1000))
    }
}
