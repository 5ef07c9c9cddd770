//! One module per group of subcommands.

mod controls;
mod frameworks;
mod setup;
mod verify;

use std::process::ExitCode;

use crate::cli::{Cli, Command};

pub async fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    let global = &cli.global;
    match cli.command {
        Command::Init(args) => setup::init(global, args).await,
        Command::Demo => setup::demo(global).await,
        Command::Orgs(command) => setup::orgs(global, command).await,
        Command::Members(command) => setup::members(global, command).await,
        Command::Frameworks(command) => frameworks::run(global, command).await,
        Command::Controls(command) => controls::run(global, command).await,
        Command::Verify => verify::run(global).await,
    }
}
