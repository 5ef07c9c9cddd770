//! The `evident` command line: clap subcommands over the catalog, the store and the core engines.
#![forbid(unsafe_code)]

pub mod cli;
mod commands;
mod context;
mod model;
mod output;
mod spreadsheet;

use std::process::ExitCode;

pub use context::Failure;

/// Runs one command and turns its outcome into an exit code, with errors and hints on stderr.
pub fn run(cli: cli::Cli) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::dispatch(cli)) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error}");
            for cause in error.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            if let Some(hint) = error.chain().find_map(|e| e.downcast_ref::<Failure>()).and_then(|f| f.hint.as_deref())
            {
                eprintln!("hint: {hint}");
            } else if let Some(hint) = context::hint_for(&error) {
                eprintln!("hint: {hint}");
            }
            ExitCode::FAILURE
        }
    }
}
