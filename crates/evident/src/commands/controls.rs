//! `evident controls …`: the organisation's own controls and their mappings.

use std::process::ExitCode;

use evident_core::{ControlCode, Coverage, Frequency, ImplementationStatus, Mapping, Permission};
use evident_store::{Change, ControlPatch, NewControl};
use serde::Serialize;

use crate::cli::{ControlsCommand, Global};
use crate::context::{Session, failure, framework, requirement};
use crate::output;
use crate::output::say;

pub async fn run(global: &Global, command: ControlsCommand) -> anyhow::Result<ExitCode> {
    if let ControlsCommand::Template { file } = &command {
        return super::controls_io::template(file);
    }
    let session = Session::open(global).await?;
    match command {
        ControlsCommand::Template { .. } => unreachable!("handled before opening the store"),
        ControlsCommand::Import { file } => return super::controls_io::import(global, &session, &file).await,
        ControlsCommand::Export { file } => return super::controls_io::export(&session, &file).await,
        ControlsCommand::AdoptBaseline { only } => return super::controls_io::adopt_baseline(&session, only).await,
        ControlsCommand::List { all } => list(global, &session, all).await?,
        ControlsCommand::Show { code } => show(global, &session, &code).await?,
        ControlsCommand::Create { code, title, description, owner, frequency, status } => {
            session.require(Permission::ControlManage)?;
            let owner = match owner {
                Some(email) => Some(session.member_email(&email).await?),
                None => None,
            };
            if title.trim().is_empty() {
                return Err(failure("a control needs a title", "pass --title \"What the control does\""));
            }
            let control = NewControl {
                code: ControlCode::parse(&code)?,
                title,
                description,
                owner,
                frequency: Frequency::parse(&frequency)?,
                status: ImplementationStatus::parse(&status)?,
            };
            session.store.apply(&session.actor(), vec![Change::CreateControl(control.clone())]).await?;
            done(global, &format!("created control {}", control.code), &control)?;
        }
        ControlsCommand::Edit { code, title, description, owner, frequency, status } => {
            session.require(Permission::ControlEdit)?;
            let owner = match owner.as_deref() {
                Some("none") => Some(None),
                Some(email) => Some(Some(session.member_email(email).await?)),
                None => None,
            };
            let patch = ControlPatch {
                title,
                description,
                owner,
                frequency: frequency.as_deref().map(Frequency::parse).transpose()?,
                status: status.as_deref().map(ImplementationStatus::parse).transpose()?,
            };
            if patch == ControlPatch::default() {
                return Err(failure(
                    "nothing to change",
                    "pass at least one of --title, --description, --owner, --frequency, --status",
                ));
            }
            let code = ControlCode::parse(&code)?;
            session
                .store
                .apply(&session.actor(), vec![Change::UpdateControl { code: code.clone(), patch: patch.clone() }])
                .await?;
            done(global, &format!("updated control {code}"), &patch)?;
        }
        ControlsCommand::Retire { code } => {
            session.require(Permission::ControlManage)?;
            let code = ControlCode::parse(&code)?;
            session.store.apply(&session.actor(), vec![Change::RetireControl { code: code.clone() }]).await?;
            done(global, &format!("retired control {code}"), &code)?;
        }
        ControlsCommand::Map { code, framework: framework_id, requirement: reference, coverage, rationale } => {
            session.require(Permission::MappingWrite)?;
            let framework = framework(&framework_id)?;
            if rationale.trim().is_empty() {
                return Err(failure(
                    "a mapping needs a rationale",
                    "say in one sentence which part of the requirement the control meets",
                ));
            }
            let mapping = Mapping {
                control: ControlCode::parse(&code)?,
                framework: framework.id().clone(),
                requirement: requirement(framework, &reference)?,
                coverage: Coverage::parse(&coverage)?,
                rationale,
            };
            session.store.apply(&session.actor(), vec![Change::Map(mapping.clone())]).await?;
            done(
                global,
                &format!(
                    "mapped {} to {} {} ({})",
                    mapping.control, mapping.framework, mapping.requirement, mapping.coverage
                ),
                &mapping,
            )?;
        }
        ControlsCommand::Unmap { code, framework: framework_id, requirement: reference } => {
            session.require(Permission::MappingWrite)?;
            let framework = framework(&framework_id)?;
            let change = Change::Unmap {
                control: ControlCode::parse(&code)?,
                framework: framework.id().clone(),
                requirement: evident_core::RequirementRef::parse(&reference)?,
            };
            session.store.apply(&session.actor(), vec![change.clone()]).await?;
            done(global, &format!("unmapped {code} from {} {reference}", framework.id()), &change)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn done<T: Serialize>(global: &Global, message: &str, value: &T) -> anyhow::Result<()> {
    if global.json {
        output::json(value)
    } else {
        say!("{message}");
        Ok(())
    }
}

#[derive(Serialize)]
struct ControlView<'a> {
    #[serde(flatten)]
    control: &'a evident_core::Control,
    mappings: Vec<&'a Mapping>,
}

async fn list(global: &Global, session: &Session, all: bool) -> anyhow::Result<()> {
    session.require(Permission::Read)?;
    let controls = session.store.controls(&session.org.id).await?;
    let mappings = session.store.mappings(&session.org.id).await?;
    let shown: Vec<_> = controls
        .iter()
        .filter(|c| all || c.is_active())
        .map(|c| ControlView { control: c, mappings: mappings.iter().filter(|m| m.control == c.code).collect() })
        .collect();
    if global.json {
        return output::json(&shown);
    }
    let rows = shown.iter().map(|v| {
        let c = v.control;
        [
            c.code.to_string(),
            c.title.clone(),
            c.owner.as_ref().map_or("-".to_owned(), |o| o.to_string()),
            c.frequency.to_string(),
            if c.is_active() { c.status.to_string() } else { "retired".to_owned() },
            v.mappings.len().to_string(),
        ]
    });
    say!("{}", output::table(["code", "title", "owner", "frequency", "status", "mappings"], rows));
    say!("{} controls", shown.len());
    Ok(())
}

async fn show(global: &Global, session: &Session, code: &str) -> anyhow::Result<()> {
    session.require(Permission::Read)?;
    let code = ControlCode::parse(code)?;
    let control = session
        .store
        .control(&session.org.id, &code)
        .await?
        .ok_or_else(|| failure(format!("there is no control {code}"), "run `evident controls list`"))?;
    let mappings = session.store.mappings(&session.org.id).await?;
    let view = ControlView { control: &control, mappings: mappings.iter().filter(|m| m.control == code).collect() };
    if global.json {
        return output::json(&view);
    }
    say!("{} — {}", control.code, control.title);
    say!("{}", control.description);
    say!(
        "owner: {}   frequency: {}   status: {}{}",
        control.owner.as_ref().map_or("-".to_owned(), |o| o.to_string()),
        control.frequency,
        control.status,
        control.retired_at.map(|t| format!("   retired {}", t.date_naive())).unwrap_or_default()
    );
    let rows = view
        .mappings
        .iter()
        .map(|m| [m.framework.to_string(), m.requirement.to_string(), m.coverage.to_string(), m.rationale.clone()]);
    say!("{}", output::table(["framework", "requirement", "coverage", "rationale"], rows));
    Ok(())
}
