//! The `evident` command line: a front end over `evident-app`. It parses flags into core types,
//! calls one use case, and renders the result; it holds no domain rule, no SQL and no policy.
#![forbid(unsafe_code)]

pub mod cli;
mod commands;
mod context;
mod output;
mod spreadsheet;

use std::process::ExitCode;

use evident_app::AppError;

pub use context::Failure;

/// Logs go to stderr, quiet unless `RUST_LOG` asks (e.g. `RUST_LOG=evident_app=debug`).
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("off"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Runs one command and turns its outcome into an exit code, with errors and hints on stderr.
pub fn run(cli: cli::Cli) -> ExitCode {
    init_tracing();
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
            report(&error);
            ExitCode::FAILURE
        }
    }
}

/// Writes an error to stderr: the message, every row problem, the stable code, and a hint.
fn report(error: &anyhow::Error) {
    eprintln!("error: {error}");
    let app = error.chain().find_map(|e| e.downcast_ref::<AppError>());
    if let Some(app) = app {
        let file = app.file.as_deref().map(|f| format!("{f}: ")).unwrap_or_default();
        for row in &app.rows {
            match &row.column {
                Some(column) => eprintln!("error: {file}row {}, column {column}: {}", row.row, row.message),
                None => eprintln!("error: {file}row {}: {}", row.row, row.message),
            }
        }
    }
    for cause in error.chain().skip(1).filter(|c| !c.is::<AppError>()) {
        if app.is_none() {
            eprintln!("  caused by: {cause}");
        }
    }
    let hint = match app {
        Some(app) => {
            eprintln!("code: {}", app.code());
            context::hint(app.code).map(str::to_owned)
        }
        None => error.chain().find_map(|e| e.downcast_ref::<Failure>()).and_then(|f| f.hint.clone()),
    };
    if let Some(hint) = hint {
        eprintln!("hint: {hint}");
    }
}
