//! One module per group of subcommands.

mod assets;
mod backup;
mod bench;
mod controls;
mod demo;
mod evidence;
mod frameworks;
mod methodology;
mod oscal;
mod readiness;
mod risks;
mod serve;
mod setup;
mod soa;
mod verify;

use std::process::ExitCode;

use crate::cli::{Cli, Command};

pub async fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    let global = &cli.global;
    match cli.command {
        Command::Init(args) => setup::init(global, args).await,
        Command::Demo => demo::demo(global).await,
        Command::Orgs(command) => setup::orgs(global, command).await,
        Command::Serve(args) => serve::serve(global, args).await,
        Command::Users(command) => serve::users(global, command).await,
        Command::Members(command) => setup::members(global, command).await,
        Command::Frameworks(command) => frameworks::run(global, command).await,
        Command::Controls(command) => controls::run(global, command).await,
        Command::Oscal(command) => oscal::run(global, command).await,
        Command::Verify { witness } => verify::run(global, witness.as_deref()).await,
        Command::Anchor { witness } => verify::anchor(global, &witness).await,
        Command::Backup { dir } => backup::backup(global, &dir).await,
        Command::Restore { dir } => backup::restore(global, &dir).await,
        Command::Readiness { framework, attributes, recompute } => {
            readiness::readiness(global, framework, &attributes.view(), recompute).await
        }
        Command::Gap { from, to, accept, accept_all } => readiness::gap(global, &from, &to, accept, accept_all).await,
        Command::Crosswalk(command) => readiness::crosswalk(global, command).await,
        Command::Soa(args) => soa::run(global, args).await,
        Command::Evidence(command) => evidence::run(global, command).await,
        Command::Freshness { days } => evidence::freshness(global, days).await,
        Command::Type2(args) => evidence::type2(global, args).await,
        Command::Samples(command) => evidence::samples(global, command).await,
        Command::Bench(command) => bench::run(global, command).await,
        Command::Methodology(command) => methodology::run(global, command).await,
        Command::Assets(command) => assets::run(global, command).await,
        Command::Risks(command) => risks::risks(global, command).await,
    }
}
