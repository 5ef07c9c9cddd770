#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::Parser;

/// mimalloc rather than the system's: reading an OSCAL catalog or serving many requests allocates
/// millions of small objects, on several threads, which it does with less contention.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    evident::run(evident::cli::Cli::parse())
}
