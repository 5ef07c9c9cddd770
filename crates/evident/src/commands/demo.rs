//! `evident demo`: creates (or finds) the demo organisation, then shows its readiness.

use std::process::ExitCode;

use evident_core::ImplementationStatus;

use crate::cli::Global;
use crate::context;
use crate::output::say;

pub async fn demo(global: &Global) -> anyhow::Result<ExitCode> {
    let app = context::app(global).await?;
    let outcome = app.demo().await?;
    if !outcome.created {
        say!("the demo organisation already exists; showing it again");
    }
    let global = Global { org: Some(outcome.organisation.slug.clone()), ..global.clone() };
    let me = context::principal(&app, &global).await?;
    let controls = app.controls(&me, true).await?;
    let implemented = controls.iter().filter(|c| c.control.status == ImplementationStatus::Implemented).count();
    say!(
        "demo organisation {} ({}): {} members, {} controls ({implemented} implemented), {} mappings, {} assets, {} risks",
        me.org.slug,
        me.org.name,
        app.members(&me).await?.len(),
        controls.len(),
        controls.iter().map(|c| c.mappings.len()).sum::<usize>(),
        app.assets(&me).await?.len(),
        app.risks(&me).await?.len()
    );
    if outcome.evidence > 0 {
        say!("evidence: {} records over the past year, with the gaps a real year has", outcome.evidence);
    }
    say!("");
    super::readiness::readiness(&global, None, &evident_app::attributes::AttributeView::default(), false).await?;
    say!("next: evident readiness --framework iso27001:2022 | evident gap --from soc2:2017 --to iso27001:2022");
    say!("      evident soa show | evident risks list | evident risks due | evident risks treatment-plan");
    let (from, to) = outcome.type2_window;
    say!("      evident freshness | evident evidence list | evident type2 --from {from} --to {to}");
    Ok(ExitCode::SUCCESS)
}
