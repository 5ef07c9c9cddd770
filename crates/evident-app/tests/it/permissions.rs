//! Every write use case × every principal: allowed, and the change is visible afterwards with an
//! audit record naming the principal; or refused with the expected code, and nothing written
//! (the audit chain's head unchanged, the change not visible).
//!
//! Each cell runs in its own small organisation (see `support::small_org`), where the control
//! `MINE-01` and the risk `R-001` belong to the acting member (to `olu`, a control owner, for the
//! operator alone), and `THEIRS-01` and `R-002` to another control owner.

use evident_app::imports::{Table, TableRow};
use evident_app::{AppError, Code, Principal};
use evident_core::risk::Methodology;
use evident_core::soa::Reason;
use evident_core::{ControlPatch, Coverage, RequirementRef, Role};

use crate::support::*;

/// What a principal's attempt must come to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Done: the change is visible and the audit log names the principal.
    Allowed,
    /// Refused with `permission_denied`, nothing written.
    Denied,
    /// Refused with `member_required` (an operator not acting as a member), nothing written.
    MemberRequired,
}

use Outcome::{Allowed as Y, Denied as N, MemberRequired as M};

/// The principals, in the order of the matrix's columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Admin,
    Manager,
    Owner,
    Auditor,
    Viewer,
    Operator,
    OperatorAsOwner,
    OperatorAsViewer,
}

const COLUMNS: [Who; 8] = [
    Who::Admin,
    Who::Manager,
    Who::Owner,
    Who::Auditor,
    Who::Viewer,
    Who::Operator,
    Who::OperatorAsOwner,
    Who::OperatorAsViewer,
];

impl Who {
    fn name(self) -> &'static str {
        match self {
            Who::Admin => "admin",
            Who::Manager => "compliance_manager",
            Who::Owner => "control_owner",
            Who::Auditor => "auditor",
            Who::Viewer => "viewer",
            Who::Operator => "operator",
            Who::OperatorAsOwner => "operator as control_owner",
            Who::OperatorAsViewer => "operator as viewer",
        }
    }

    /// The member whose role applies; none for the operator alone.
    fn member(self) -> Option<&'static str> {
        match self {
            Who::Admin => Some(ADMIN),
            Who::Manager => Some(MANAGER),
            Who::Owner | Who::OperatorAsOwner => Some(OWNER),
            Who::Auditor => Some(AUDITOR),
            Who::Viewer | Who::OperatorAsViewer => Some(VIEWER),
            Who::Operator => None,
        }
    }

    async fn principal(self, app: &evident_app::App, org: &evident_core::OrgSlug) -> Principal {
        let member = self.member().map(email);
        match self {
            Who::Operator | Who::OperatorAsOwner | Who::OperatorAsViewer => {
                app.operator(Some(org), "op", member.as_ref()).await.unwrap()
            }
            _ => app.member(org, member.as_ref().unwrap()).await.unwrap(),
        }
    }
}

/// The matrix. Adding a use case: a variant of [`UseCase`], its `act` and `visible` arms, and one
/// line here.
macro_rules! matrix {
    ($($name:ident: $case:ident => $expected:expr,)+) => {
        on_each_backend! {
            $($name(backend) => run_row(backend, stringify!($name), UseCase::$case, $expected);)+
        }
    };
}

matrix! {
    //                                           admin cm owner auditor viewer op op→owner op→viewer
    adopt: Adopt                             => [Y,    Y, N,    N,      N,     Y, N,       N],
    create_control: CreateControl            => [Y,    Y, N,    N,      N,     Y, N,       N],
    edit_own_control: EditOwnControl         => [Y,    Y, Y,    N,      N,     Y, Y,       N],
    edit_others_control: EditOthersControl   => [Y,    Y, N,    N,      N,     Y, N,       N],
    retire_control: RetireControl            => [Y,    Y, N,    N,      N,     Y, N,       N],
    map_own_control: MapOwnControl           => [Y,    Y, Y,    N,      N,     Y, Y,       N],
    map_others_control: MapOthersControl     => [Y,    Y, N,    N,      N,     Y, N,       N],
    unmap_own_control: UnmapOwnControl       => [Y,    Y, Y,    N,      N,     Y, Y,       N],
    unmap_others_control: UnmapOthersControl => [Y,    Y, N,    N,      N,     Y, N,       N],
    adopt_baseline: AdoptBaseline            => [Y,    Y, N,    N,      N,     Y, N,       N],
    import_controls: ImportControls          => [Y,    Y, N,    N,      N,     Y, N,       N],
    import_assets: ImportAssets              => [Y,    Y, N,    N,      N,     Y, N,       N],
    import_risks: ImportRisks                => [Y,    Y, N,    N,      N,     Y, N,       N],
    import_oscal: ImportOscal                => [Y,    Y, N,    N,      N,     Y, N,       N],
    accept_own_gap: AcceptOwnGap             => [Y,    Y, Y,    N,      N,     Y, Y,       N],
    accept_others_gap: AcceptOthersGap       => [Y,    Y, N,    N,      N,     Y, N,       N],
    set_soa: SetSoa                          => [Y,    Y, N,    N,      N,     Y, N,       N],
    approve_soa: ApproveSoa                  => [Y,    Y, N,    N,      N,     Y, N,       N],
    set_methodology: SetMethodology          => [Y,    Y, N,    N,      N,     Y, N,       N],
    put_asset: PutAsset                      => [Y,    Y, Y,    N,      N,     Y, Y,       N],
    create_risk: CreateRisk                  => [Y,    Y, Y,    N,      N,     Y, Y,       N],
    accept_own_risk: AcceptOwnRisk           => [Y,    Y, Y,    N,      N,     M, Y,       N],
    accept_others_risk: AcceptOthersRisk     => [Y,    N, N,    N,      N,     M, N,       N],
    add_member: AddMember                    => [Y,    N, N,    N,      N,     Y, N,       N],
    add_own_evidence: AddOwnEvidence         => [Y,    Y, Y,    N,      N,     Y, Y,       N],
    add_others_evidence: AddOthersEvidence   => [Y,    Y, N,    N,      N,     Y, N,       N],
}

const OSCAL_LOW: &str = "nist/sp800-53-low:5.0.1";

/// NIST's resolved LOW baseline, an OSCAL catalog of 149 controls.
fn nist_low() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(
        "../../reference/oscal/sp800-53-rev5/v1.0.0/NIST_SP-800-53_rev5_LOW-baseline-resolved-profile_catalog.json",
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum UseCase {
    Adopt,
    CreateControl,
    EditOwnControl,
    EditOthersControl,
    RetireControl,
    MapOwnControl,
    MapOthersControl,
    UnmapOwnControl,
    UnmapOthersControl,
    AdoptBaseline,
    ImportControls,
    ImportAssets,
    ImportRisks,
    ImportOscal,
    AcceptOwnGap,
    AcceptOthersGap,
    SetSoa,
    ApproveSoa,
    SetMethodology,
    PutAsset,
    CreateRisk,
    AcceptOwnRisk,
    AcceptOthersRisk,
    AddMember,
    AddOwnEvidence,
    AddOthersEvidence,
}

impl UseCase {
    /// The attempt, by `who`; `op` (the operator) only reads what the attempt needs to name.
    async fn act(self, app: &evident_app::App, who: &Principal, op: &Principal) -> Result<(), AppError> {
        let expires = today() + chrono::Duration::days(180);
        match self {
            UseCase::Adopt => {
                app.adopt(who, &fw("iso27001:2013"), &[], "The legacy certificate".into(), None).await.map(drop)
            }
            UseCase::CreateControl => app.create_control(who, draft("NEW-01", "New control", None)).await.map(drop),
            UseCase::EditOwnControl | UseCase::EditOthersControl => {
                let patch = ControlPatch { title: Some("Renamed".into()), ..ControlPatch::default() };
                app.edit_control(who, &code(self.control()), patch, None).await.map(drop)
            }
            UseCase::RetireControl => app.retire_control(who, &code(MINE)).await,
            UseCase::MapOwnControl | UseCase::MapOthersControl => app
                .map_control(who, &code(self.control()), &fw(ISO), &req("A.5.15"), Coverage::Partial, "Part of it.")
                .await
                .map(drop),
            UseCase::UnmapOwnControl | UseCase::UnmapOthersControl => {
                let (control, requirement) = self.soc2_mapping();
                app.unmap_control(who, &code(control), &fw(SOC2), &req(requirement)).await
            }
            UseCase::AdoptBaseline => app.adopt_baseline(who, &[code("IAM-01")]).await.map(drop),
            UseCase::ImportControls => app.import_controls(who, &controls_table()).await.map(drop),
            UseCase::ImportAssets => app.import_assets(who, &assets_table()).await.map(drop),
            UseCase::ImportRisks => app.import_risks(who, &risks_table()).await.map(drop),
            UseCase::ImportOscal => app
                .import_oscal_catalog(who, &nist_low(), Some(fw(OSCAL_LOW)), &evident_app::oscal::Limits::default())
                .await
                .map(drop),
            UseCase::AcceptOwnGap | UseCase::AcceptOthersGap => {
                let target = gap_target(app, op, self.control()).await;
                app.accept_gap(who, &fw(SOC2), &fw(ISO), Some(&[target])).await.map(drop)
            }
            UseCase::SetSoa => app
                .set_soa(
                    who,
                    None,
                    &req("A.5.1"),
                    evident_app::soa::DecisionDraft {
                        applicable: true,
                        reasons: vec![Reason::Legal],
                        justification: "Required by our regulator.".into(),
                    },
                    None,
                )
                .await
                .map(drop),
            UseCase::ApproveSoa => app.approve_soa(who, None).await.map(drop),
            UseCase::SetMethodology => app.set_methodology(who, Methodology::three_by_three()).await.map(drop),
            UseCase::PutAsset => app.put_asset(who, asset("AST-03", "Staff laptops", None)).await.map(drop),
            UseCase::CreateRisk => app.create_risk(who, risk("R-004", email(OWNER))).await.map(drop),
            UseCase::AcceptOwnRisk => {
                app.accept_risk(who, &risk_code(MY_RISK), expires, "Within our criteria.".into()).await.map(drop)
            }
            UseCase::AcceptOthersRisk => {
                app.accept_risk(who, &risk_code(THEIR_RISK), expires, "Within our criteria.".into()).await.map(drop)
            }
            UseCase::AddMember => app.add_member(who, email("new@acme.example"), Role::Viewer, None).await,
            UseCase::AddOwnEvidence | UseCase::AddOthersEvidence => {
                let input = evident_app::evidence::AddEvidence {
                    file_name: "review.txt".into(),
                    controls: vec![(code(self.control()), None)],
                    effective: today(),
                    description: "Quarterly access review".into(),
                    source: evident_core::evidence::EvidenceSource::Upload,
                };
                app.add_evidence(who, input, &b"reviewed: 14 accounts"[..], None).await.map(drop)
            }
        }
    }

    /// Whether the attempt's change is there, as the operator reads it.
    async fn visible(self, app: &evident_app::App, op: &Principal) -> bool {
        let control = |text: &'static str| async move { app.control(op, &code(text)).await };
        let has_mapping = |text: &'static str, framework: &'static str, requirement: RequirementRef| async move {
            control(text)
                .await
                .unwrap()
                .mappings
                .iter()
                .any(|m| m.framework == fw(framework) && m.requirement == requirement)
        };
        match self {
            UseCase::Adopt => app
                .frameworks(Some(op))
                .await
                .unwrap()
                .iter()
                .any(|f| f.id == fw("iso27001:2013") && f.adopted == Some(true)),
            UseCase::CreateControl => control("NEW-01").await.is_ok(),
            UseCase::EditOwnControl | UseCase::EditOthersControl => {
                control(self.control()).await.unwrap().control.title == "Renamed"
            }
            UseCase::RetireControl => control(MINE).await.unwrap().control.retired_at.is_some(),
            UseCase::MapOwnControl | UseCase::MapOthersControl => has_mapping(self.control(), ISO, req("A.5.15")).await,
            UseCase::UnmapOwnControl | UseCase::UnmapOthersControl => {
                let (control, requirement) = self.soc2_mapping();
                !has_mapping(control, SOC2, req(requirement)).await
            }
            UseCase::AdoptBaseline => control("IAM-01").await.is_ok(),
            UseCase::ImportControls => control("IMP-01").await.is_ok_and(|c| c.mappings.len() == 1),
            UseCase::ImportAssets => app.assets(op).await.unwrap().iter().any(|a| a.code == asset_code("AST-02")),
            UseCase::ImportRisks => app.risks(op).await.unwrap().iter().any(|r| r.code == risk_code("R-003")),
            UseCase::ImportOscal => app.frameworks(Some(op)).await.unwrap().iter().any(|f| f.id == fw(OSCAL_LOW)),
            UseCase::AcceptOwnGap | UseCase::AcceptOthersGap => {
                control(self.control()).await.unwrap().mappings.iter().any(|m| m.framework == fw(ISO))
            }
            UseCase::SetSoa => app
                .soa(op, None)
                .await
                .unwrap()
                .iter()
                .any(|row| row.reference == req("A.5.1") && row.reasons == [Reason::Legal]),
            UseCase::ApproveSoa => !app.soa_versions(op, None).await.unwrap().is_empty(),
            UseCase::SetMethodology => app.methodology(op).await.unwrap().version == 2,
            UseCase::PutAsset => app.assets(op).await.unwrap().iter().any(|a| a.code == asset_code("AST-03")),
            UseCase::CreateRisk => app.risks(op).await.unwrap().iter().any(|r| r.code == risk_code("R-004")),
            UseCase::AcceptOwnRisk | UseCase::AcceptOthersRisk => {
                let code = risk_code(if self == UseCase::AcceptOwnRisk { MY_RISK } else { THEIR_RISK });
                app.risks(op).await.unwrap().iter().any(|r| r.code == code && r.acceptance.is_some())
            }
            UseCase::AddMember => app.members(op).await.unwrap().iter().any(|m| m.email == email("new@acme.example")),
            UseCase::AddOwnEvidence | UseCase::AddOthersEvidence => {
                !app.evidence_list(op, Some(&code(self.control())), true, None).await.unwrap().is_empty()
            }
        }
    }

    /// The control the use case touches: the acting member's own, or another owner's.
    fn control(self) -> &'static str {
        match self {
            UseCase::EditOthersControl
            | UseCase::MapOthersControl
            | UseCase::UnmapOthersControl
            | UseCase::AcceptOthersGap
            | UseCase::AddOthersEvidence => THEIRS,
            _ => MINE,
        }
    }

    /// The SOC 2 mapping `small_org` gave the control.
    fn soc2_mapping(self) -> (&'static str, &'static str) {
        if self.control() == MINE { (MINE, "CC6.1") } else { (THEIRS, "CC1.1") }
    }
}

/// An ISO requirement of the SOC 2 → ISO gap whose suggestions all come from `control`.
async fn gap_target(app: &evident_app::App, op: &Principal, control: &str) -> RequirementRef {
    let gap = app.gap(op, &fw(SOC2), &fw(ISO)).await.unwrap();
    gap.uncovered
        .iter()
        .find(|item| !item.suggestions.is_empty() && item.suggestions.iter().all(|s| s.control == code(control)))
        .map(|item| item.reference.clone())
        .unwrap_or_else(|| panic!("the gap has no requirement reached only by {control}"))
}

fn table(file: &str, rows: &[&[&str]]) -> Table {
    Table {
        file: file.into(),
        rows: rows
            .iter()
            .enumerate()
            .map(|(i, cells)| TableRow { number: i + 2, cells: cells.iter().map(|c| (*c).to_owned()).collect() })
            .collect(),
    }
}

fn controls_table() -> Table {
    table(
        "controls.csv",
        &[&[
            "IMP-01",
            "Imported control",
            "Backups are restored every quarter.",
            OWNER,
            "quarterly",
            "implemented",
            SOC2,
            "CC6.2",
            "full",
            "Restores prove the backups work.",
        ]],
    )
}

fn assets_table() -> Table {
    table("assets.csv", &[&["AST-02", "Database backups", "information", OWNER, "restricted", "5", "5", "3", "AST-01"]])
}

fn risks_table() -> Table {
    table(
        "risks.csv",
        &[&[
            "R-003",
            "Backups are lost",
            "",
            "AST-01",
            "T-02",
            "V-02",
            OWNER,
            "3",
            "3",
            "retain",
            "",
            "3",
            "3",
            "",
            "2026-06-01",
        ]],
    )
}

/// Runs one use case for every principal, each in a fresh small organisation, and fails once
/// with every cell that went otherwise than `expected`.
async fn run_row(backend: Backend, name: &str, case: UseCase, expected: [Outcome; 8]) {
    let Some(app) = spawn(backend).await else { return };
    let mut failures = Vec::new();
    for (i, (who, expected)) in COLUMNS.into_iter().zip(expected).enumerate() {
        if let Err(problem) = cell(&app, &slug(&format!("acme-{i}")), case, who, expected).await {
            failures.push(format!("{name} × {}: {problem}", who.name()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

async fn cell(
    app: &evident_app::App,
    org: &evident_core::OrgSlug,
    case: UseCase,
    who: Who,
    expected: Outcome,
) -> Result<(), String> {
    let op = small_org(app, org, &email(who.member().unwrap_or(OWNER))).await;
    let principal = who.principal(app, org).await;
    let before = head(app, &op).await;
    let result = case.act(app, &principal, &op).await;
    let after = head(app, &op).await;
    let visible = case.visible(app, &op).await;
    let refusal = match expected {
        Outcome::Allowed => None,
        Outcome::Denied => Some(Code::PermissionDenied),
        Outcome::MemberRequired => Some(Code::MemberRequired),
    };
    match (refusal, result) {
        (None, Err(e)) => Err(format!("expected it allowed, got {}: {}", e.code(), e.message)),
        (None, Ok(())) => {
            let written = app.store().audit_page(&op.org.id, before.seq, 1_000).await.unwrap();
            if written.is_empty() || after.seq <= before.seq {
                return Err("allowed, but nothing was written to the audit log".into());
            }
            if let Some(record) = written.iter().find(|r| r.entry.actor != principal.audit_name()) {
                return Err(format!(
                    "the audit record {} names {:?}, not {:?}",
                    record.entry.action,
                    record.entry.actor,
                    principal.audit_name()
                ));
            }
            if !visible {
                return Err("allowed, but the change is not visible afterwards".into());
            }
            Ok(())
        }
        (Some(code), Ok(())) => Err(format!("expected {}, but it was allowed", code.as_str())),
        (Some(code), Err(e)) => {
            if e.code != code {
                return Err(format!("expected {}, got {}: {}", code.as_str(), e.code(), e.message));
            }
            if after != before {
                return Err(format!("refused, but the audit log moved from {} to {} records", before.seq, after.seq));
            }
            if visible {
                return Err("refused, but the change is visible".into());
            }
            Ok(())
        }
    }
}
