//! `evident verify` and `evident anchor`: operator commands across organisations. The work is
//! `evident_app::verify`; this module renders it.

use std::path::Path;
use std::process::ExitCode;

use evident_app::verify::{self, VerifyError};

use crate::cli::Global;
use crate::context::{self, failure, open_store};
use crate::output;
use crate::output::say;

/// A verify or anchor failure as the user sees it: the message, with the stable code in the hint.
fn explained(error: VerifyError) -> anyhow::Error {
    let hint = match &error {
        VerifyError::UnknownOrganisation(_) => "run `evident orgs list` to see them",
        VerifyError::WitnessUnreadable { .. } | VerifyError::WitnessMalformed { .. } => {
            "pass the file `evident anchor --witness FILE` wrote"
        }
        VerifyError::WitnessUnwritable { .. } => "check the directory exists and is writable",
        VerifyError::WitnessNotExtended { .. } | VerifyError::Unverified { .. } => {
            "run `evident verify --witness FILE` to see what failed; restore the database from a backup"
        }
        VerifyError::KeptChanging(_) => "run it again when fewer changes are being made",
        VerifyError::EvidenceStore(_) => "check --evidence-store (or EVIDENT_EVIDENCE_STORE) and that it is reachable",
        VerifyError::Store(_) => "check --database-url (or EVIDENT_DATABASE_URL) and that the database is reachable",
    };
    let code = error.code();
    if let VerifyError::Store(store) = error {
        return anyhow::Error::new(store).context(format!("verify could not read the database (code: {code})"));
    }
    failure(error.to_string(), format!("{hint} (code: {code})"))
}

pub async fn run(global: &Global, witness: Option<&Path>) -> anyhow::Result<ExitCode> {
    let app = context::app(global).await?;
    let store = app.store();
    // The evidence is checked too when its store opens; when it cannot, say so and check the rest.
    let verdicts = match app.evidence_store() {
        Ok(blobs) => verify::verify_with_evidence(&**store, blobs, global.org.as_ref(), witness).await,
        Err(e) => {
            eprintln!("warning: evidence not checked: {e}");
            verify::verify(&**store, global.org.as_ref(), witness).await
        }
    }
    .map_err(explained)?;
    // The installation's own log (accounts and sessions), once it has one, unless one organisation was asked for.
    let mut verdicts = verdicts;
    if global.org.is_none()
        && let Some(installation) = verify::verify_installation(&**store).await.map_err(explained)?
    {
        verdicts.push(installation);
    }
    let all_ok = verdicts.iter().all(|v| v.ok);
    if global.json {
        output::json(&verdicts)?;
    }
    for v in &verdicts {
        if v.ok {
            if !global.json {
                let witnessed = match (witness, v.witnessed) {
                    (_, Some(seq)) => format!(", extends the witnessed head #{seq}"),
                    (Some(_), None) => ", not in the witness yet".to_owned(),
                    (None, None) => String::new(),
                };
                if v.organisation_id.is_none() {
                    say!("installation (accounts and sessions): audit log intact ({} records)", v.records);
                    continue;
                }
                say!(
                    "{}: audit log intact, state matches it ({} records{witnessed}){}",
                    v.organisation,
                    v.records,
                    if app.evidence_store().is_ok() { ", evidence bytes match their digests" } else { "" }
                );
            }
            continue;
        }
        eprintln!("error: {} does not verify: its records or evidence were changed outside evident:", v.organisation);
        for problem in &v.problems {
            eprintln!("  {}: {}", problem.code, problem.message);
        }
    }
    if verdicts.is_empty() && !global.json {
        say!("no organisations yet: nothing to verify");
    }
    if !global.json && all_ok && witness.is_none() && !verdicts.is_empty() {
        say!(
            "without a witness, a log rewound or re-hashed together with its state cannot be detected: see `evident anchor`"
        );
    }
    Ok(if all_ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

pub async fn anchor(global: &Global, witness: &Path) -> anyhow::Result<ExitCode> {
    let store = open_store(global).await?;
    let heads = verify::anchor(&*store, witness, chrono::Utc::now()).await.map_err(explained)?;
    if global.json {
        output::json(&heads)?;
    } else {
        for head in &heads {
            say!("{}: anchored head #{} {}", head.organisation, head.seq, head.hash);
        }
        say!(
            "appended {} head(s) to {}; keep a copy where the database's administrators cannot write",
            heads.len(),
            witness.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}
