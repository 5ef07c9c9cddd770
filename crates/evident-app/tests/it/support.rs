//! What every story needs: an `App` over a fresh store on either backend with a fixed clock, a
//! small organisation built through the use cases, principals, and parsing shorthands.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use evident_app::risks::RiskDraft;
use evident_app::{App, AppError, Clock, Code, Principal};
use evident_core::audit::ChainHead;
use evident_core::risk::{Asset, AssetKind, Classification, Methodology, Treatment};
use evident_core::{
    AssetCode, ControlCode, Coverage, Email, FrameworkId, Frequency, ImplementationStatus, NewControl, OrgSlug,
    RequirementRef, RiskCode, Role,
};
use evident_store_postgres::{FreshDatabase, PostgresStore};
use evident_store_sqlite::SqliteStore;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// An application over its own database; the database goes when this is dropped.
pub struct TestApp {
    pub app: App,
    /// The same database, for statements that bypass the store on purpose.
    pub raw: Arc<dyn evident_store::RawSql>,
    // Dropped after `app`, so the store lets go of the database before it is removed.
    _database: Option<FreshDatabase>,
    _dir: tempfile::TempDir,
}

impl std::ops::Deref for TestApp {
    type Target = App;
    fn deref(&self) -> &App {
        &self.app
    }
}

/// A fresh store on `backend`: a temporary SQLite file, or a fresh PostgreSQL database when
/// `EVIDENT_TEST_DATABASE_URL` names a server. Without one the PostgreSQL stories are skipped,
/// except in CI, where they must run.
pub async fn spawn(backend: Backend) -> Option<TestApp> {
    let dir = tempfile::tempdir().unwrap();
    let (store, raw, database): (Arc<dyn evident_store::Store>, Arc<dyn evident_store::RawSql>, _) = match backend {
        Backend::Sqlite => {
            let store = Arc::new(SqliteStore::open(&dir.path().join("evident.db")).await.unwrap());
            (store.clone(), store, None)
        }
        Backend::Postgres => {
            let base = evident_store::testkit::postgres_url()?;
            let database = FreshDatabase::create(&base).await.unwrap();
            let store = Arc::new(PostgresStore::connect(&database.url).await.unwrap());
            (store.clone(), store, Some(database))
        }
    };
    let blobs = evident_evidence::BlobStore::open(&evident_evidence::BlobConfig::local(dir.path().join("evidence")));
    let app = App::new(store).unwrap().with_clock(clock()).with_blobs(blobs.unwrap());
    Some(TestApp { app, raw, _database: database, _dir: dir })
}

/// The same, keeping evidence bytes in a directory of its own (local evidence store).
pub async fn spawn_with_evidence(backend: Backend) -> Option<TestApp> {
    let test = spawn(backend).await?;
    let config = evident_evidence::BlobConfig::local(test._dir.path().join("evidence"));
    let blobs = evident_evidence::BlobStore::open(&config).unwrap();
    Some(TestApp { app: test.app.clone().with_blobs(blobs), ..test })
}

/// The instant every story runs at.
pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 30, 0).single().unwrap()
}

pub fn today() -> NaiveDate {
    now().date_naive()
}

pub fn clock() -> Clock {
    Arc::new(now)
}

pub fn email(text: &str) -> Email {
    Email::parse(text).unwrap()
}

pub fn slug(text: &str) -> OrgSlug {
    OrgSlug::parse(text).unwrap()
}

pub fn code(text: &str) -> ControlCode {
    ControlCode::parse(text).unwrap()
}

pub fn fw(text: &str) -> FrameworkId {
    FrameworkId::parse(text).unwrap()
}

pub fn req(text: &str) -> RequirementRef {
    RequirementRef::parse(text).unwrap()
}

pub fn risk_code(text: &str) -> RiskCode {
    RiskCode::parse(text).unwrap()
}

pub fn asset_code(text: &str) -> AssetCode {
    AssetCode::parse(text).unwrap()
}

pub const SOC2: &str = "soc2:2017";
pub const ISO: &str = "iso27001:2022";

/// The people of the small organisation, one per role, plus a second control owner.
pub const ADMIN: &str = "ada@acme.example";
pub const MANAGER: &str = "cam@acme.example";
pub const OWNER: &str = "olu@acme.example";
pub const OTHER_OWNER: &str = "oona@acme.example";
pub const AUDITOR: &str = "aud@acme.example";
pub const VIEWER: &str = "vic@acme.example";

/// The demo's people (crates/evident-app/demo/northwind.toml); the demo has no viewer.
pub const DEMO_ADMIN: &str = "ciso@northwind.example";
pub const DEMO_MANAGER: &str = "compliance@northwind.example";
pub const DEMO_OWNER: &str = "platform@northwind.example";
pub const DEMO_AUDITOR: &str = "auditor@audit-firm.example";

/// The control and the risk "of the acting member" (owned by them) and "of someone else".
pub const MINE: &str = "MINE-01";
pub const THEIRS: &str = "THEIRS-01";
pub const MY_RISK: &str = "R-001";
pub const THEIR_RISK: &str = "R-002";

/// A small organisation built by the operator through the use cases: a member per role, SOC 2
/// (security) and ISO 27001:2022 adopted, the 5×5 methodology, one asset, the control `MINE-01`
/// (owned by `me`) mapped to SOC 2 CC6.1, the control `THEIRS-01` (owned by the other control
/// owner) mapped to SOC 2 CC1.1, and the acceptable risks `R-001` (owned by `me`) and `R-002`
/// (owned by the other control owner).
pub async fn small_org(app: &App, org: &OrgSlug, me: &Email) -> Principal {
    app.create_organisation(org.clone(), Some("Acme Ltd".into()), email(ADMIN), Some("Ada Admin".into()))
        .await
        .unwrap();
    let op = app.operator(Some(org), "setup", None).await.unwrap();
    for (who, role) in [
        (MANAGER, Role::ComplianceManager),
        (OWNER, Role::ControlOwner),
        (OTHER_OWNER, Role::ControlOwner),
        (AUDITOR, Role::Auditor),
        (VIEWER, Role::Viewer),
    ] {
        app.add_member(&op, email(who), role, None).await.unwrap();
    }
    app.adopt(&op, &fw(SOC2), &["security".to_owned()], "The Acme platform".into(), None).await.unwrap();
    app.adopt(&op, &fw(ISO), &[], "Acme's information security".into(), None).await.unwrap();
    app.set_methodology(&op, Methodology::five_by_five()).await.unwrap();
    app.put_asset(&op, asset("AST-01", "Customer database", Some(email(OWNER)))).await.unwrap();
    for (control, owner, requirement) in [(MINE, me.clone(), "CC6.1"), (THEIRS, email(OTHER_OWNER), "CC1.1")] {
        app.create_control(&op, draft(control, &format!("{control} as created"), Some(owner))).await.unwrap();
        app.map_control(&op, &code(control), &fw(SOC2), &req(requirement), Coverage::Full, "Serves it in full.")
            .await
            .unwrap();
    }
    app.create_risk(&op, risk(MY_RISK, me.clone())).await.unwrap();
    app.create_risk(&op, risk(THEIR_RISK, email(OTHER_OWNER))).await.unwrap();
    op
}

pub fn draft(control: &str, title: &str, owner: Option<Email>) -> NewControl {
    let description = format!("{title}: what is done, by whom, how often.");
    NewControl::new(code(control), title, &description, owner, Frequency::Quarterly, ImplementationStatus::Implemented)
        .unwrap()
}

pub fn asset(text: &str, name: &str, owner: Option<Email>) -> Asset {
    Asset {
        code: asset_code(text),
        name: name.to_owned(),
        kind: AssetKind::Information,
        owner,
        classification: Classification::Confidential,
        confidentiality: 4,
        integrity: 4,
        availability: 3,
        parent: None,
    }
}

/// A retained risk on `AST-01` whose residual level (2 × 2 = Low) may be accepted.
pub fn risk(text: &str, owner: Email) -> RiskDraft {
    RiskDraft {
        code: risk_code(text),
        title: format!("Risk {text}"),
        description: String::new(),
        assets: vec![asset_code("AST-01")],
        threat: "T-01".into(),
        vulnerability: "V-01".into(),
        owner,
        inherent: (2, 2),
        treatment: Treatment::Retain,
        controls: Vec::new(),
        residual: (2, 2),
        residual_justification: String::new(),
        review_date: today() + chrono::Duration::days(90),
        closed: false,
    }
}

/// The audit chain's head: how many records the organisation's log holds, and the last hash.
pub async fn head(app: &App, principal: &Principal) -> ChainHead {
    app.store().chain_head(&principal.org.id).await.unwrap()
}

/// The error code of a result, for assertions that name it.
pub fn code_of<T: std::fmt::Debug>(result: &Result<T, AppError>) -> Option<Code> {
    result.as_ref().err().map(|e| e.code)
}
