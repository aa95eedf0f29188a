//! One module per subcommand; each holds its clap `Args` and `execute`.

pub mod collect;
pub mod heap;
pub mod instrument;
pub mod report;
pub mod run;
