//! `evident soa show|set|approve|versions|diff|export`.

use std::process::ExitCode;

use evident_core::soa::{self, Decision, Reason, SoaRow};
use evident_core::{Framework, Permission, RequirementKind};
use evident_store::{Change, SoaVersion};

use crate::cli::{Global, SoaCommand};
use crate::context::{Session, failure, framework};
use crate::model::{OrgData, SOA_FRAMEWORK};
use crate::output::{self, say};
use crate::spreadsheet;

pub async fn run(global: &Global, command: SoaCommand) -> anyhow::Result<ExitCode> {
    let session = Session::open(global).await?;
    let iso = framework(SOA_FRAMEWORK)?;
    match command {
        SoaCommand::Show => show(global, &session, iso).await?,
        SoaCommand::Set { reference, exclude, reasons, justification } => {
            session.require(Permission::SoaEdit)?;
            let reference = evident_core::RequirementRef::parse(&reference)?;
            if iso.requirement(&reference).is_none_or(|r| r.kind != RequirementKind::Control) {
                return Err(failure(
                    format!("{reference} is not an Annex A control of {}", iso.id()),
                    "the SoA lists A.5.1 … A.8.34; run `evident soa show`",
                ));
            }
            if exclude {
                let data = OrgData::load(&session).await?;
                if let Some(risks) = data.risks_by_requirement(iso.id()).get(&reference) {
                    return Err(failure(
                        format!("{reference} cannot be excluded: it treats open risk {}", risks.join(", ")),
                        "change those risks' treatment first, or keep the control applicable",
                    ));
                }
            }
            let reasons = reasons.iter().map(|r| Reason::parse(r.trim())).collect::<Result<Vec<_>, _>>()?;
            let decision = Decision::new(&reference, !exclude, reasons, justification).map_err(|e| {
                failure(e.to_string(), "e.g. --exclude --reason business_need --justification \"We have no offices\"")
            })?;
            let change = Change::SetSoaDecision {
                framework: iso.id().clone(),
                requirement: reference.clone(),
                decision: decision.clone(),
            };
            session.store.apply(&session.actor(), vec![change]).await?;
            let verb = if decision.applicable { "applicable" } else { "excluded" };
            say!("{reference} is {verb} in the draft SoA");
        }
        SoaCommand::Approve => {
            session.require(Permission::SoaApprove)?;
            let rows = OrgData::load(&session).await?.soa(iso);
            let unjustified = rows.iter().filter(|r| r.applicable && r.justification_missing()).count();
            let versions = session.store.soa_versions(&session.org.id, iso.id()).await?;
            session
                .store
                .apply(&session.actor(), vec![Change::ApproveSoa { framework: iso.id().clone(), rows }])
                .await?;
            let version = versions.last().map_or(1, |v| v.version + 1);
            say!("approved SoA version {version} of {} by {}", iso.id(), session.member.email);
            if unjustified > 0 {
                say!(
                    "note: {unjustified} applicable controls have no recorded reason; an auditor will ask why they are in"
                );
            }
        }
        SoaCommand::Versions => {
            session.require(Permission::Read)?;
            let versions = session.store.soa_versions(&session.org.id, iso.id()).await?;
            if global.json {
                output::json(&versions)?;
            } else {
                let rows = versions.iter().map(|v| {
                    let excluded = v.rows.iter().filter(|r| !r.applicable).count();
                    [
                        v.version.to_string(),
                        v.approved_by.clone(),
                        v.approved_at.to_rfc3339(),
                        excluded.to_string(),
                        v.digest.to_string(),
                    ]
                });
                say!("{}", output::table(["version", "approved by", "approved at", "excluded", "sha-256"], rows));
            }
        }
        SoaCommand::Diff { from, to } => {
            session.require(Permission::Read)?;
            let data = OrgData::load(&session).await?;
            let versions = session.store.soa_versions(&session.org.id, iso.id()).await?;
            let old = rows_of(&from, &versions, &data, iso)?;
            let new = rows_of(&to, &versions, &data, iso)?;
            let changes = soa::diff(&old, &new);
            if global.json {
                output::json(&changes)?;
            } else if changes.is_empty() {
                say!("no differences between {from} and {to}");
            } else {
                let rows = changes
                    .iter()
                    .map(|c| [c.reference.to_string(), c.field.to_owned(), c.before.clone(), c.after.clone()]);
                say!("{from} → {to}: {} change(s)", changes.len());
                say!("{}", output::table(["ref", "field", "before", "after"], rows));
            }
        }
        SoaCommand::Export { file, version } => {
            session.require(Permission::Export)?;
            let versions = session.store.soa_versions(&session.org.id, iso.id()).await?;
            let (rows, label, approved_by, approved_at) = match version {
                Some(n) => {
                    let v = find_version(&versions, n)?;
                    (
                        v.rows.clone(),
                        v.version.to_string(),
                        v.approved_by.clone(),
                        v.approved_at.date_naive().to_string(),
                    )
                }
                None => (OrgData::load(&session).await?.soa(iso), "draft".to_owned(), String::new(), String::new()),
            };
            let table: Vec<Vec<String>> = rows
                .iter()
                .map(|r| {
                    vec![
                        r.reference.to_string(),
                        r.title.clone(),
                        r.theme.clone(),
                        if r.applicable { "Yes" } else { "No" }.to_owned(),
                        r.reasons.iter().map(|x| x.to_string()).collect::<Vec<_>>().join("; "),
                        r.justification.clone(),
                        r.implementation.to_string(),
                        r.implementing_controls.iter().map(|c| c.to_string()).collect::<Vec<_>>().join("; "),
                        r.risks.join("; "),
                        label.clone(),
                        approved_by.clone(),
                        approved_at.clone(),
                    ]
                })
                .collect();
            spreadsheet::write(&file, "Statement of Applicability", &EXPORT_COLUMNS, &table)?;
            say!("wrote the {label} SoA ({} controls) to {}", rows.len(), file.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The columns of an exported SoA, in the order an ISO auditor reads them.
const EXPORT_COLUMNS: [&str; 12] = [
    "Annex A control",
    "Title",
    "Theme",
    "Applicable",
    "Reasons",
    "Justification",
    "Implementation status",
    "Implementing controls",
    "Related risks",
    "SoA version",
    "Approved by",
    "Approved on",
];

fn find_version(versions: &[SoaVersion], n: i64) -> anyhow::Result<&SoaVersion> {
    versions.iter().find(|v| v.version == n).ok_or_else(|| {
        failure(format!("there is no approved SoA version {n}"), "run `evident soa versions` to list them")
    })
}

fn rows_of(which: &str, versions: &[SoaVersion], data: &OrgData, iso: &Framework) -> anyhow::Result<Vec<SoaRow>> {
    if which == "draft" {
        return Ok(data.soa(iso));
    }
    let n: i64 = which
        .parse()
        .map_err(|_| failure(format!("{which:?} is not a version number"), "give a number, or `draft`"))?;
    Ok(find_version(versions, n)?.rows.clone())
}

async fn show(global: &Global, session: &Session, iso: &Framework) -> anyhow::Result<()> {
    session.require(Permission::Read)?;
    let rows = OrgData::load(session).await?.soa(iso);
    if global.json {
        return output::json(&rows);
    }
    let table = rows.iter().map(|r| {
        let applicable = if r.applicable { "yes" } else { "EXCLUDED" };
        let justification = if r.applicable && r.justification_missing() {
            "(no reason recorded)".to_owned()
        } else {
            r.justification.clone()
        };
        let controls = r.implementing_controls.iter().map(|c| c.to_string()).collect::<Vec<_>>().join(", ");
        [
            r.reference.to_string(),
            r.title.clone(),
            applicable.to_owned(),
            justification,
            r.implementation.to_string(),
            controls,
        ]
    });
    say!(
        "{}",
        output::table(["control", "title", "applicable", "justification", "implementation", "implemented by"], table)
    );
    let excluded = rows.iter().filter(|r| !r.applicable).count();
    let missing = rows.iter().filter(|r| r.applicable && r.justification_missing()).count();
    say!(
        "{} controls: {} applicable, {excluded} excluded, {missing} without a recorded reason",
        rows.len(),
        rows.len() - excluded
    );
    Ok(())
}
