//! `evident verify`: walk each organisation's audit-log chain.

use std::process::ExitCode;

use evident_core::OrgSlug;
use evident_core::audit::verify_chain;
use serde::Serialize;

use crate::cli::Global;
use crate::context::{failure, open_store};
use crate::output;
use crate::output::say;

#[derive(Serialize)]
struct Verdict {
    organisation: String,
    records: usize,
    ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    problem: Option<evident_core::audit::ChainBreak>,
}

pub async fn run(global: &Global) -> anyhow::Result<ExitCode> {
    let store = open_store(global).await?;
    let orgs = match &global.org {
        Some(slug) => {
            let slug = OrgSlug::parse(slug)?;
            vec![
                store
                    .org_by_slug(&slug)
                    .await?
                    .ok_or_else(|| failure(format!("there is no organisation {slug}"), "run `evident orgs list`"))?,
            ]
        }
        None => store.orgs().await?,
    };
    let mut verdicts = Vec::new();
    for org in &orgs {
        let (records, head) = store.audit_log(&org.id).await?;
        let verdict = match verify_chain(&org.id, &records, &head) {
            Ok(n) => Verdict { organisation: org.slug.to_string(), records: n, ok: true, problem: None },
            Err(problem) => Verdict {
                organisation: org.slug.to_string(),
                records: records.len(),
                ok: false,
                problem: Some(problem),
            },
        };
        verdicts.push(verdict);
    }
    let all_ok = verdicts.iter().all(|v| v.ok);
    if global.json {
        output::json(&verdicts)?;
    }
    for v in &verdicts {
        match &v.problem {
            None if !global.json => say!("{}: audit log intact ({} records)", v.organisation, v.records),
            None => {}
            Some(problem) => eprintln!("error: the audit log of {} has been tampered with: {problem}", v.organisation),
        }
    }
    if verdicts.is_empty() && !global.json {
        say!("no organisations yet: nothing to verify");
    }
    Ok(if all_ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
