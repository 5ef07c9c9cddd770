//! What a write can do: one [`Change`] per state change, grouped by the aggregate it changes, with
//! the name the audit log gives it ([`describe`]).

use evident_core::control::{ControlPatch, NewControl};
use evident_core::evidence::NewEvidence;
use evident_core::org::Adoption;
use evident_core::risk::{Acceptance, Asset, Methodology, Risk};
use evident_core::soa::{Decision, SoaRow};
use evident_core::type2::{RecordedSample, SampleException};
use evident_core::{
    ControlCode, Email, EvidenceId, Framework, FrameworkId, Mapping, RequirementRef, RiskCode, Role, SampleId,
};
use serde::{Deserialize, Serialize};

use crate::accounts::TokenChange;

/// One state change. [`Store::apply`](crate::Store::apply) writes a batch of them, each with its
/// audit record, and hands each to the module of its aggregate.
///
/// Serialised nested, the aggregate outside and the change inside:
/// `{"control": {"change": "retire", "code": "OPS-1"}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    Member(MemberChange),
    Framework(FrameworkChange),
    Control(ControlChange),
    Soa(SoaChange),
    Risk(RiskChange),
    Evidence(EvidenceChange),
    Sample(SampleChange),
    Token(TokenChange),
}

/// The organisation's members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum MemberChange {
    Add {
        email: Email,
        display_name: String,
        role: Role,
    },
    /// Changes a member's role or this organisation's display name for them. The last
    /// administrator cannot be demoted.
    Change {
        email: Email,
        role: Option<Role>,
        display_name: Option<String>,
    },
    /// Removes a member from the organisation. Refused for the last administrator, and for a
    /// member who still owns a control in force, an open risk or an asset (reassign them first):
    /// both checked inside the write, under the organisation's lock.
    Remove {
        email: Email,
    },
}

/// The frameworks the organisation adopts, and those it brings itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum FrameworkChange {
    Adopt(Adoption),
    /// Adds a framework the organisation brings itself (its policy, a customer's requirements),
    /// validated by its type; refused when the id is taken, whatever the content.
    Import(Box<Framework>),
}

/// Controls and their mappings to requirements.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum ControlChange {
    Create(NewControl),
    Update {
        code: ControlCode,
        patch: ControlPatch,
        /// The revision the edit was based on; a stale one is refused with
        /// [`StoreError::Stale`](crate::StoreError::Stale).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        expected_revision: Option<i64>,
    },
    Retire {
        code: ControlCode,
    },
    /// Gives a control a new code; its id, mappings and risk links follow.
    Rename {
        code: ControlCode,
        to: ControlCode,
    },
    /// Creates the mapping, or replaces its coverage and rationale.
    Map(Mapping),
    Unmap {
        control: ControlCode,
        framework: FrameworkId,
        requirement: RequirementRef,
    },
}

/// The Statement of Applicability.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum SoaChange {
    /// Records the organisation's applicability decision on one control of the SoA.
    Decide { framework: FrameworkId, requirement: RequirementRef, decision: Decision },
    /// [`SoaChange::Decide`], only while the stored decision is still the one the writer read
    /// (`None`: still undecided); otherwise a conflict, so an edit never overwrites another.
    DecideBasedOn {
        framework: FrameworkId,
        requirement: RequirementRef,
        decision: Decision,
        based_on: Option<Box<Decision>>,
    },
    /// Freezes the SoA as the next numbered version, approved by the actor.
    Approve { framework: FrameworkId, rows: Vec<SoaRow> },
}

/// The risk register: its methodology, assets and risks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum RiskChange {
    /// Makes a validated methodology the next version; assessed risks keep theirs.
    SetMethodology(Methodology),
    /// Creates or replaces an asset.
    PutAsset(Asset),
    /// Puts an asset only if the stored one is still what the writer read, checked inside the
    /// write: `based_on` the asset as read (refused with
    /// [`StoreError::Stale`](crate::StoreError::Stale) when it changed meanwhile), or `None` for a
    /// new one (refused with [`StoreError::Conflict`](crate::StoreError::Conflict) when the code is
    /// taken). Logged as `asset.put`, like [`RiskChange::PutAsset`].
    PutAssetBasedOn { asset: Asset, based_on: Option<Box<Asset>> },
    /// Creates or replaces a risk with its assets and treating controls; acceptances are kept.
    /// A register import says this on purpose; a single new risk is [`RiskChange::Create`].
    Put(Risk),
    /// Creates a risk; refused when its code is taken.
    Create(Risk),
    /// Replaces a risk only while the stored one is still what the writer read (`based_on`),
    /// checked inside the write: refused with [`StoreError::Stale`](crate::StoreError::Stale) when
    /// it changed meanwhile, [`StoreError::NotFound`](crate::StoreError::NotFound) when it is gone.
    /// Acceptances are kept. Logged as `risk.put`, like [`RiskChange::Put`].
    PutBasedOn { risk: Risk, based_on: Box<Risk> },
    /// Records the acceptance of a risk's residual level.
    Accept { code: RiskCode, acceptance: Acceptance },
}

/// The evidence records (their bytes are in the evidence store, by digest).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum EvidenceChange {
    /// Records a piece of evidence under a new id; refused when an id is taken, a linked control
    /// does not exist, or the record it supersedes does not exist or was already superseded. A
    /// record is never changed: a correction is a new one that supersedes it.
    Add { id: EvidenceId, evidence: NewEvidence },
    /// The same, unless the organisation already has a record that says the same of the same
    /// bytes ([`NewEvidence::same_as`]): then nothing is written, not even an audit record, and it
    /// is [`Applied::Unchanged`](crate::Applied::Unchanged). Checked under the organisation's
    /// lock, so two imports of one manifest at once record each item once.
    AddUnlessRecorded { id: EvidenceId, evidence: NewEvidence },
}

/// Type 2 samples, recorded as drawn, and the exceptions found in them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum SampleChange {
    /// Records a drawn sample under a new id; never changed afterwards.
    Record { id: SampleId, sample: Box<RecordedSample> },
    /// Records (or rewords) an exception against one of the sample's occurrences; refused for an
    /// occurrence the sample did not draw.
    Exception { sample: SampleId, exception: SampleException },
}

impl From<TokenChange> for Change {
    fn from(change: TokenChange) -> Self {
        Change::Token(change)
    }
}

impl From<SampleChange> for Change {
    fn from(change: SampleChange) -> Self {
        Change::Sample(change)
    }
}

impl From<MemberChange> for Change {
    fn from(change: MemberChange) -> Self {
        Change::Member(change)
    }
}

impl From<EvidenceChange> for Change {
    fn from(change: EvidenceChange) -> Self {
        Change::Evidence(change)
    }
}

impl From<FrameworkChange> for Change {
    fn from(change: FrameworkChange) -> Self {
        Change::Framework(change)
    }
}

impl From<ControlChange> for Change {
    fn from(change: ControlChange) -> Self {
        Change::Control(change)
    }
}

impl From<SoaChange> for Change {
    fn from(change: SoaChange) -> Self {
        Change::Soa(change)
    }
}

impl From<RiskChange> for Change {
    fn from(change: RiskChange) -> Self {
        Change::Risk(change)
    }
}

/// What the audit log calls a change: its action, entity type and entity id. `evident verify`
/// replays the log by these names, so they never change once a log holds them.
pub fn describe(change: &Change) -> (&'static str, &'static str, String) {
    match change {
        Change::Member(change) => match change {
            MemberChange::Add { email, .. } => ("member.add", "member", email.to_string()),
            MemberChange::Change { email, .. } => ("member.change", "member", email.to_string()),
            MemberChange::Remove { email } => ("member.remove", "member", email.to_string()),
        },
        Change::Framework(change) => match change {
            FrameworkChange::Adopt(a) => ("framework.adopt", "adoption", a.framework.to_string()),
            FrameworkChange::Import(framework) => ("framework.import", "framework", framework.id().to_string()),
        },
        Change::Control(change) => match change {
            ControlChange::Create(c) => ("control.create", "control", c.code.to_string()),
            ControlChange::Update { code, .. } => ("control.update", "control", code.to_string()),
            ControlChange::Retire { code } => ("control.retire", "control", code.to_string()),
            ControlChange::Rename { code, .. } => ("control.rename", "control", code.to_string()),
            ControlChange::Map(m) => ("mapping.set", "mapping", mapping_key(&m.control, &m.framework, &m.requirement)),
            ControlChange::Unmap { control, framework, requirement } => {
                ("mapping.delete", "mapping", mapping_key(control, framework, requirement))
            }
        },
        Change::Soa(change) => match change {
            SoaChange::Decide { framework, requirement, .. }
            | SoaChange::DecideBasedOn { framework, requirement, .. } => {
                ("soa.decide", "soa_decision", format!("{framework} {requirement}"))
            }
            SoaChange::Approve { framework, .. } => ("soa.approve", "soa_version", framework.to_string()),
        },
        Change::Risk(change) => match change {
            RiskChange::SetMethodology(_) => ("methodology.set", "risk_methodology", "next".to_owned()),
            RiskChange::PutAsset(asset) | RiskChange::PutAssetBasedOn { asset, .. } => {
                ("asset.put", "asset", asset.code.to_string())
            }
            RiskChange::Put(risk) | RiskChange::PutBasedOn { risk, .. } => ("risk.put", "risk", risk.code.to_string()),
            RiskChange::Create(risk) => ("risk.create", "risk", risk.code.to_string()),
            RiskChange::Accept { code, .. } => ("risk.accept", "risk", code.to_string()),
        },
        Change::Evidence(change) => match change {
            EvidenceChange::Add { id, .. } | EvidenceChange::AddUnlessRecorded { id, .. } => {
                ("evidence.add", "evidence", id.to_string())
            }
        },
        Change::Sample(change) => match change {
            SampleChange::Record { id, .. } => ("sample.record", "sample", id.to_string()),
            SampleChange::Exception { sample, exception } => (
                "sample.exception",
                "sample_exception",
                format!("{sample} {} {}", exception.control, exception.occurrence.from()),
            ),
        },
        Change::Token(change) => match change {
            TokenChange::Create(token) => ("token.create", "token", token.id.clone()),
            TokenChange::Revoke { id } => ("token.revoke", "token", id.clone()),
        },
    }
}

pub fn mapping_key(control: &ControlCode, framework: &FrameworkId, requirement: &RequirementRef) -> String {
    format!("{control} -> {framework} {requirement}")
}

#[cfg(test)]
mod tests {
    // Test code: a failed unwrap is a failed assertion.
    #![allow(clippy::unwrap_used)]

    use chrono::{NaiveDate, TimeZone, Utc};
    use evident_core::framework::{FrameworkInfo, Requirement, RequirementKind};
    use evident_core::risk::{AssetKind, Classification, Rating, Treatment};
    use evident_core::{AssetCode, Coverage, Frequency, ImplementationStatus};
    use serde_json::json;

    use super::*;

    fn code(text: &str) -> ControlCode {
        ControlCode::parse(text).unwrap()
    }

    fn fw(text: &str) -> FrameworkId {
        FrameworkId::parse(text).unwrap()
    }

    fn req(text: &str) -> RequirementRef {
        RequirementRef::parse(text).unwrap()
    }

    fn email(text: &str) -> Email {
        Email::parse(text).unwrap()
    }

    fn framework(id: &str) -> Framework {
        let info = FrameworkInfo {
            id: fw(id),
            name: "Policy".into(),
            version: "1".into(),
            title: "Our policy".into(),
            publisher: "Us".into(),
            description: "For tests.".into(),
            categories: Vec::new(),
            soa: None,
            guidance: None,
        };
        let requirement = Requirement {
            reference: req("P-1"),
            label: None,
            parent: None,
            kind: RequirementKind::parse("statement").unwrap(),
            title: "Access".into(),
            description: "Access, in our words.".into(),
            category: None,
            note: None,
            attributes: Default::default(),
            informative: false,
        };
        Framework::new(info, vec![requirement]).unwrap()
    }

    fn risk(text: &str) -> Risk {
        Risk {
            code: RiskCode::parse(text).unwrap(),
            title: "Data loss".into(),
            description: "Production data is lost".into(),
            assets: vec![AssetCode::parse("AST-DB").unwrap()],
            threat: "Ransomware".into(),
            vulnerability: "Untested restores".into(),
            owner: email("ada@acme.example"),
            methodology: 1,
            inherent: Rating::new(3, 3).unwrap(),
            treatment: Treatment::Modify,
            controls: Vec::new(),
            residual: Rating::new(1, 2).unwrap(),
            residual_justification: String::new(),
            review_date: NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
            acceptance: None,
            closed: false,
        }
    }

    /// One change of every kind, each with what the audit log must call it.
    fn every_change() -> Vec<(Change, (&'static str, &'static str, &'static str))> {
        let at = Utc.with_ymd_and_hms(2026, 3, 2, 9, 30, 0).unwrap();
        let mapping = Mapping {
            control: code("OPS-1"),
            framework: fw("iso27001:2022"),
            requirement: req("A.8.13"),
            coverage: Coverage::Full,
            rationale: "Backups.".into(),
        };
        let decision = Decision { applicable: true, reasons: Vec::new(), justification: String::new() };
        let asset = Asset {
            code: AssetCode::parse("AST-DB").unwrap(),
            name: "Database".into(),
            kind: AssetKind::Service,
            owner: None,
            classification: Classification::Confidential,
            confidentiality: 4,
            integrity: 4,
            availability: 3,
            parent: None,
        };
        let acceptance = Acceptance::of(
            &risk("R-2"),
            email("ada@acme.example"),
            at,
            NaiveDate::from_ymd_opt(2027, 3, 1).unwrap(),
            "Until the new backups.".into(),
        );
        vec![
            (
                MemberChange::Add { email: email("ada@acme.example"), display_name: "Ada".into(), role: Role::Admin }
                    .into(),
                ("member.add", "member", "ada@acme.example"),
            ),
            (
                MemberChange::Change { email: email("bo@acme.example"), role: Some(Role::Viewer), display_name: None }
                    .into(),
                ("member.change", "member", "bo@acme.example"),
            ),
            (
                MemberChange::Remove { email: email("bo@acme.example") }.into(),
                ("member.remove", "member", "bo@acme.example"),
            ),
            (
                FrameworkChange::Adopt(Adoption {
                    framework: fw("soc2:2017"),
                    categories: vec!["security".into()],
                    scope: "Production".into(),
                    target_date: None,
                    adopted_at: at,
                })
                .into(),
                ("framework.adopt", "adoption", "soc2:2017"),
            ),
            (
                FrameworkChange::Import(Box::new(framework("org/policy:1"))).into(),
                ("framework.import", "framework", "org/policy:1"),
            ),
            (
                ControlChange::Create(NewControl {
                    code: code("OPS-1"),
                    title: "Backups".into(),
                    description: "Nightly backups.".into(),
                    owner: None,
                    frequency: Frequency::Quarterly,
                    max_evidence_age_days: None,
                    status: ImplementationStatus::InProgress,
                })
                .into(),
                ("control.create", "control", "OPS-1"),
            ),
            (
                ControlChange::Update {
                    code: code("OPS-2"),
                    patch: ControlPatch::default(),
                    expected_revision: Some(3),
                }
                .into(),
                ("control.update", "control", "OPS-2"),
            ),
            (ControlChange::Retire { code: code("OPS-3") }.into(), ("control.retire", "control", "OPS-3")),
            (
                ControlChange::Rename { code: code("OPS-4"), to: code("OPS-5") }.into(),
                ("control.rename", "control", "OPS-4"),
            ),
            (ControlChange::Map(mapping).into(), ("mapping.set", "mapping", "OPS-1 -> iso27001:2022 A.8.13")),
            (
                ControlChange::Unmap {
                    control: code("OPS-1"),
                    framework: fw("iso27001:2022"),
                    requirement: req("A.8.14"),
                }
                .into(),
                ("mapping.delete", "mapping", "OPS-1 -> iso27001:2022 A.8.14"),
            ),
            (
                SoaChange::Decide { framework: fw("iso27001:2022"), requirement: req("A.7.1"), decision }.into(),
                ("soa.decide", "soa_decision", "iso27001:2022 A.7.1"),
            ),
            (
                SoaChange::Approve { framework: fw("iso27001:2022"), rows: Vec::new() }.into(),
                ("soa.approve", "soa_version", "iso27001:2022"),
            ),
            (
                RiskChange::SetMethodology(Methodology::three_by_three()).into(),
                ("methodology.set", "risk_methodology", "next"),
            ),
            (RiskChange::PutAsset(asset.clone()).into(), ("asset.put", "asset", "AST-DB")),
            (
                RiskChange::PutAssetBasedOn { asset: asset.clone(), based_on: Some(Box::new(asset)) }.into(),
                ("asset.put", "asset", "AST-DB"),
            ),
            (RiskChange::Put(risk("R-1")).into(), ("risk.put", "risk", "R-1")),
            (
                RiskChange::PutBasedOn { risk: risk("R-3"), based_on: Box::new(risk("R-3")) }.into(),
                ("risk.put", "risk", "R-3"),
            ),
            (RiskChange::Create(risk("R-2")).into(), ("risk.create", "risk", "R-2")),
            (
                RiskChange::Accept { code: RiskCode::parse("R-2").unwrap(), acceptance }.into(),
                ("risk.accept", "risk", "R-2"),
            ),
            (
                EvidenceChange::Add { id: EvidenceId::parse("ev-1").unwrap(), evidence: evidence() }.into(),
                ("evidence.add", "evidence", "ev-1"),
            ),
            (
                EvidenceChange::AddUnlessRecorded { id: EvidenceId::parse("ev-2").unwrap(), evidence: evidence() }
                    .into(),
                ("evidence.add", "evidence", "ev-2"),
            ),
            (
                SampleChange::Record { id: SampleId::parse("s-1").unwrap(), sample: Box::new(sample()) }.into(),
                ("sample.record", "sample", "s-1"),
            ),
            (
                SampleChange::Exception {
                    sample: SampleId::parse("s-1").unwrap(),
                    exception: SampleException {
                        control: evident_core::ControlId::parse("c-1").unwrap(),
                        occurrence: sample().items[0].occurrence,
                        note: "No evidence of the review.".into(),
                    },
                }
                .into(),
                ("sample.exception", "sample_exception", "s-1 c-1 2026-03-01"),
            ),
            (
                TokenChange::Create(crate::accounts::NewToken {
                    id: "t-1".into(),
                    name: "ci".into(),
                    secret_hash: evident_core::Sha256Digest::of(b"secret"),
                    role: Role::Viewer,
                    created_by: email("ada@acme.example"),
                    expires_at: at,
                })
                .into(),
                ("token.create", "token", "t-1"),
            ),
            (TokenChange::Revoke { id: "t-1".into() }.into(), ("token.revoke", "token", "t-1")),
        ]
    }

    fn sample() -> RecordedSample {
        use evident_core::evidence::Period;
        use evident_core::type2::SampleItem;
        let day = |m, d| NaiveDate::from_ymd_opt(2026, m, d).unwrap();
        RecordedSample {
            framework: fw("soc2:2017"),
            window: Period::new(day(1, 1), day(6, 30)).unwrap(),
            table: "frequency".into(),
            seed: 42,
            items: vec![SampleItem {
                control: evident_core::ControlId::parse("c-1").unwrap(),
                occurrence: Period::new(day(3, 1), day(3, 31)).unwrap(),
                evidenced: false,
            }],
        }
    }

    fn evidence() -> NewEvidence {
        use evident_core::evidence::{EvidenceLink, EvidenceSource, FileName, Period};
        let day = |d| NaiveDate::from_ymd_opt(2026, 3, d).unwrap();
        NewEvidence {
            file_name: FileName::parse("review.pdf").unwrap(),
            media_type: "application/pdf".into(),
            size: 3,
            digest: evident_core::Sha256Digest::of(b"pdf"),
            effective: day(31),
            source: EvidenceSource::Upload,
            description: "March access review".into(),
            links: vec![EvidenceLink {
                control: evident_core::ControlId::parse("c-1").unwrap(),
                period: Some(Period::new(day(1), day(31)).unwrap()),
            }],
            supersedes: None,
        }
    }

    /// `evident verify` replays the log by these names (`evident_core::replay`), and logs written
    /// before hold them: renaming one would make every old record unreplayable.
    #[test]
    fn every_change_keeps_its_audit_name() {
        for (change, (action, entity_type, entity_id)) in every_change() {
            let (got_action, got_type, got_id) = describe(&change);
            assert_eq!((got_action, got_type, got_id.as_str()), (action, entity_type, entity_id), "{change:?}");
        }
        let actions: Vec<&str> = every_change().iter().map(|(change, _)| describe(change).0).collect();
        assert_eq!(
            actions,
            [
                "member.add",
                "member.change",
                "member.remove",
                "framework.adopt",
                "framework.import",
                "control.create",
                "control.update",
                "control.retire",
                "control.rename",
                "mapping.set",
                "mapping.delete",
                "soa.decide",
                "soa.approve",
                "methodology.set",
                "asset.put",
                "asset.put",
                "risk.put",
                "risk.put",
                "risk.create",
                "risk.accept",
                "evidence.add",
                "evidence.add",
                "sample.record",
                "sample.exception",
                "token.create",
                "token.revoke",
            ]
        );
    }

    #[test]
    fn a_change_serialises_nested_and_reads_back() {
        let retire: Change = ControlChange::Retire { code: code("OPS-1") }.into();
        assert_eq!(serde_json::to_value(&retire).unwrap(), json!({"control": {"change": "retire", "code": "OPS-1"}}));
        for (change, _) in every_change() {
            let text = serde_json::to_string(&change).unwrap();
            assert_eq!(serde_json::from_str::<Change>(&text).unwrap(), change, "{text}");
        }
    }
}
