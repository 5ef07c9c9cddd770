//! Evidence: add a file (or a structured record) that proves controls operated, supersede it with
//! a correction, list, show and download it, and import a directory of files from a manifest.
//!
//! The bytes go to the evidence store first (content-addressed, durable, verified), the record
//! second, in one `apply`. A record therefore never points at missing bytes; bytes whose record
//! never landed (a crash, a refused record) are collected later and never served.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use evident_core::evidence::{
    CheckedDraft, Evidence, EvidenceDraft, EvidenceError, EvidenceLink, EvidenceSource, FileName, Period, StoredBytes,
};
use evident_core::{Control, ControlCode, EvidenceId, Permission};
use evident_evidence::{BlobError, BlobStore, BlobStream, DEFAULT_CONCURRENCY, Ingested};
use evident_store::{EvidenceChange, EvidenceQuery};
use serde::Serialize;
use tokio::io::AsyncRead;

use crate::error::{AppError, Code, Result};
use crate::imports::{Problems, Table};
use crate::{App, Principal};

/// The largest file evidence accepts by default: 5 GiB (what S3 copies in one request).
pub const DEFAULT_MAX_FILE: u64 = evident_evidence::S3_MAX_BLOB;

/// What a person says about a file they add.
#[derive(Debug, Clone)]
pub struct AddEvidence {
    pub file_name: String,
    /// The controls it proves, each with the period it proves (none: its effective date).
    pub controls: Vec<(ControlCode, Option<Period>)>,
    /// When the thing it proves happened.
    pub effective: NaiveDate,
    pub description: String,
    pub source: EvidenceSource,
}

/// A record as lists and detail pages show it: the controls by their codes too.
#[derive(Debug, Clone, Serialize)]
pub struct EvidenceView {
    #[serde(flatten)]
    pub evidence: Evidence,
    /// The code of each linked control, in the order of the links.
    pub controls: Vec<ControlCode>,
}

impl From<EvidenceError> for AppError {
    fn from(error: EvidenceError) -> Self {
        AppError::invalid(error.to_string())
    }
}

impl From<BlobError> for AppError {
    fn from(error: BlobError) -> Self {
        let code = match &error {
            BlobError::Missing { .. } | BlobError::Corrupt { .. } => Code::EvidenceCorrupt,
            BlobError::Empty => Code::InvalidInput,
            BlobError::TooLarge { .. } => Code::FileTooLarge,
            BlobError::Read { .. } => Code::InvalidFile,
            _ => Code::EvidenceStoreUnavailable,
        };
        AppError::new(code, error.to_string())
    }
}

impl App {
    /// The evidence store, or why there is none.
    pub fn evidence_store(&self) -> Result<&BlobStore> {
        self.blobs()
    }

    pub(crate) fn blobs(&self) -> Result<&BlobStore> {
        self.blobs.as_ref().map_err(|reason| AppError::new(Code::EvidenceStoreUnavailable, reason.clone()))
    }

    /// The organisation's controls by code, for resolving what a person names.
    async fn controls_by_code(&self, principal: &Principal) -> Result<HashMap<ControlCode, Control>> {
        let controls = self.store.controls(&principal.org.id).await?;
        Ok(controls.into_iter().map(|c| (c.code.clone(), c)).collect())
    }

    /// The links a person names, checked: each control named once, exists, is active, and the
    /// principal may add evidence to it (a control owner: only to the controls they own).
    fn links(
        principal: &Principal,
        controls: &HashMap<ControlCode, Control>,
        named: &[(ControlCode, Option<Period>)],
    ) -> Result<Vec<EvidenceLink>> {
        // Checked here, by code: the core's own check can name the control only by its id.
        let mut seen = HashSet::new();
        if let Some((code, _)) = named.iter().find(|(code, _)| !seen.insert(code)) {
            return Err(AppError::invalid(format!("control {code} is named twice: name each control once")));
        }
        named
            .iter()
            .map(|(code, period)| {
                let control =
                    controls.get(code).ok_or_else(|| AppError::not_found(Code::ControlNotFound, "control", code))?;
                if !control.is_active() {
                    return Err(AppError::new(
                        Code::RuleViolated,
                        format!("control {code} is retired: evidence proves controls that operate"),
                    ));
                }
                principal.authorize_control(Permission::EvidenceAdd, control.owner.as_ref())?;
                Ok(EvidenceLink { control: control.id.clone(), period: *period })
            })
            .collect()
    }

    /// Checks everything about a new record that does not need its bytes.
    async fn check_draft(
        &self,
        principal: &Principal,
        input: &AddEvidence,
        supersedes: Option<EvidenceId>,
    ) -> Result<CheckedDraft> {
        principal.authorize(Permission::EvidenceAdd)?;
        let controls = self.controls_by_code(principal).await?;
        let links = Self::links(principal, &controls, &input.controls)?;
        if let Some(old) = &supersedes {
            let record = self.evidence_record(principal, old).await?;
            if let Some(by) = record.superseded_by {
                return Err(AppError::new(
                    Code::Conflict,
                    format!("evidence {old} was already superseded by {by}; supersede that one instead"),
                ));
            }
        }
        let draft = EvidenceDraft {
            file_name: FileName::parse(&input.file_name)?,
            effective: input.effective,
            source: input.source,
            description: input.description.clone(),
            links,
            supersedes,
        };
        Ok(draft.check(self.now().date_naive(), principal.org.created_at.date_naive())?)
    }

    /// Records what was stored, as the principal, and reads it back.
    async fn record(&self, principal: &Principal, draft: CheckedDraft, stored: Ingested) -> Result<EvidenceView> {
        let bytes = StoredBytes { digest: stored.digest, size: stored.size, media_type: stored.media_type.to_owned() };
        let evidence = draft.stored(bytes)?;
        let id = new_evidence_id();
        self.apply(principal, vec![EvidenceChange::Add { id: id.clone(), evidence }.into()]).await?;
        self.evidence_show(principal, &id).await
    }

    /// Adds a file as evidence of the named controls: the bytes are stored (streamed, hashed,
    /// durable) and then the record, which names them by digest. Everything that can be checked
    /// before the upload is checked first, so a 5 GB file is not sent to be refused for a date.
    #[tracing::instrument(skip_all, fields(org = %principal.org.slug))]
    pub async fn add_evidence<R: AsyncRead + Unpin + Send>(
        &self,
        principal: &Principal,
        input: AddEvidence,
        bytes: R,
        max_size: Option<u64>,
    ) -> Result<EvidenceView> {
        let draft = self.check_draft(principal, &input, None).await?;
        let stored = self.blobs()?.ingest(bytes, max_size).await?;
        self.record(principal, draft, stored).await
    }

    /// Corrects a record: a new record (new bytes, or the same ones with other dates or links)
    /// supersedes `old`, which stays on record but no longer counts. What `input` leaves empty is
    /// taken from `old`: its controls and periods, its description.
    #[tracing::instrument(skip_all, fields(org = %principal.org.slug))]
    pub async fn supersede_evidence<R: AsyncRead + Unpin + Send>(
        &self,
        principal: &Principal,
        old: &EvidenceId,
        mut input: AddEvidence,
        bytes: R,
        max_size: Option<u64>,
    ) -> Result<EvidenceView> {
        principal.authorize(Permission::EvidenceAdd)?;
        let previous = self.evidence_show(principal, old).await?;
        if input.controls.is_empty() {
            input.controls = previous
                .controls
                .iter()
                .zip(&previous.evidence.record.links)
                .map(|(code, link)| (code.clone(), link.period))
                .collect();
        }
        // Superseding needs the right to add evidence to the controls the old record proves too.
        let controls = self.controls_by_code(principal).await?;
        for code in &previous.controls {
            if let Some(control) = controls.get(code) {
                principal.authorize_control(Permission::EvidenceAdd, control.owner.as_ref())?;
            }
        }
        if input.description.trim().is_empty() {
            input.description = previous.evidence.record.description.clone();
        }
        let draft = self.check_draft(principal, &input, Some(old.clone())).await?;
        let stored = self.blobs()?.ingest(bytes, max_size).await?;
        self.record(principal, draft, stored).await
    }

    async fn evidence_record(&self, principal: &Principal, id: &EvidenceId) -> Result<Evidence> {
        principal.authorize(Permission::Read)?;
        self.store
            .evidence_by_id(&principal.org.id, id)
            .await?
            .ok_or_else(|| AppError::not_found(Code::EvidenceNotFound, "evidence", id))
    }

    /// Records with their controls' codes: newest effective date first; of one control when
    /// `control` is given; superseded ones too when `superseded`.
    #[tracing::instrument(skip_all, fields(org = %principal.org.slug))]
    pub async fn evidence_list(
        &self,
        principal: &Principal,
        control: Option<&ControlCode>,
        superseded: bool,
        limit: Option<u32>,
    ) -> Result<Vec<EvidenceView>> {
        let what = format!("evidence {control:?} {superseded} {limit:?}");
        self.remembered(
            principal,
            Permission::Read,
            &what,
            self.evidence_list_of(principal, control, superseded, limit),
        )
        .await
    }

    async fn evidence_list_of(
        &self,
        principal: &Principal,
        control: Option<&ControlCode>,
        superseded: bool,
        limit: Option<u32>,
    ) -> Result<Vec<EvidenceView>> {
        let controls = self.store.controls(&principal.org.id).await?;
        let control = match control {
            Some(code) => Some(
                controls
                    .iter()
                    .find(|c| &c.code == code)
                    .map(|c| c.id.clone())
                    .ok_or_else(|| AppError::not_found(Code::ControlNotFound, "control", code))?,
            ),
            None => None,
        };
        let records = self.store.evidence(&principal.org.id, &EvidenceQuery { control, superseded, limit }).await?;
        let codes: HashMap<_, _> = controls.iter().map(|c| (&c.id, &c.code)).collect();
        Ok(records.into_iter().map(|e| view(e, &codes)).collect())
    }

    /// One record with its controls' codes.
    pub async fn evidence_show(&self, principal: &Principal, id: &EvidenceId) -> Result<EvidenceView> {
        let record = self.evidence_record(principal, id).await?;
        let controls = self.store.controls(&principal.org.id).await?;
        let codes: HashMap<_, _> = controls.iter().map(|c| (&c.id, &c.code)).collect();
        Ok(view(record, &codes))
    }

    /// The stored bytes of a record, exactly as stored, verified as they stream.
    #[tracing::instrument(skip_all, fields(org = %principal.org.slug))]
    pub async fn evidence_bytes(&self, principal: &Principal, id: &EvidenceId) -> Result<(EvidenceView, BlobStream)> {
        let view = self.evidence_show(principal, id).await?;
        let stream = self.blobs()?.get(&view.evidence.record.digest).await?;
        Ok((view, stream))
    }
}

/// Which records a list shows.
#[derive(Debug, Clone, Default)]
pub struct EvidenceFilter {
    /// Only the records of this control.
    pub control: Option<ControlCode>,
    /// Only the records of controls in this freshness state today (`never_evidenced` has none).
    pub state: Option<evident_core::freshness::State>,
    /// Superseded records too.
    pub superseded: bool,
}

impl App {
    /// Records that pass `filter`, newest effective date first, with their controls' codes.
    #[tracing::instrument(skip_all, fields(org = %principal.org.slug))]
    pub async fn evidence_where(&self, principal: &Principal, filter: &EvidenceFilter) -> Result<Vec<EvidenceView>> {
        let mut records = self.evidence_list(principal, filter.control.as_ref(), filter.superseded, None).await?;
        if let Some(state) = filter.state {
            let library = self.library_for(principal).await?;
            let data = self.org_data_shared(principal, &library).await?;
            let policy = evident_core::freshness::FreshnessPolicy::default();
            let (fresh, _) = data.freshness_on(&policy, self.now().date_naive())?;
            let codes: HashSet<&ControlCode> =
                fresh.controls().iter().filter(|c| c.state == state).map(|c| &c.code).collect();
            records.retain(|r| r.controls.iter().any(|c| codes.contains(c)));
        }
        Ok(records)
    }

    /// Every version of a record, oldest first: the records it supersedes, back to the first, the
    /// record itself, and those that superseded it, up to the one that counts now.
    #[tracing::instrument(skip_all, fields(org = %principal.org.slug))]
    pub async fn evidence_versions(&self, principal: &Principal, id: &EvidenceId) -> Result<Vec<EvidenceView>> {
        let record = self.evidence_record(principal, id).await?;
        let controls = self.store.controls(&principal.org.id).await?;
        let codes: HashMap<_, _> = controls.iter().map(|c| (&c.id, &c.code)).collect();
        let org = &principal.org.id;
        let mut seen: HashSet<EvidenceId> = HashSet::from([record.id.clone()]);
        let mut older = Vec::new();
        let mut next = record.record.supersedes.clone();
        // `seen` stops a cycle the store would never hold: a chain is a list, not a loop.
        while let Some(id) = next.filter(|id| seen.insert(id.clone())) {
            let Some(found) = self.store.evidence_by_id(org, &id).await? else { break };
            next = found.record.supersedes.clone();
            older.push(found);
        }
        let mut newer = Vec::new();
        let mut next = record.superseded_by.clone();
        while let Some(id) = next.filter(|id| seen.insert(id.clone())) {
            let Some(found) = self.store.evidence_by_id(org, &id).await? else { break };
            next = found.superseded_by.clone();
            newer.push(found);
        }
        older.reverse();
        Ok(older.into_iter().chain(std::iter::once(record)).chain(newer).map(|e| view(e, &codes)).collect())
    }
}

/// What garbage collection of the evidence store did.
#[derive(Debug, Clone, Serialize)]
pub struct Collected {
    /// Blobs kept because a record of some organisation names them.
    pub referenced: u64,
    /// Unreferenced blobs kept because they are younger than the grace time: their record may
    /// still be landing.
    pub recent: u64,
    /// Unreferenced blobs removed: bytes whose record never landed.
    pub deleted: Vec<evident_core::Sha256Digest>,
    pub staging_deleted: u64,
}

/// Removes the evidence store's blobs that no record of any organisation names and that are older
/// than `grace`: bytes of an upload whose record never landed (a crash, a refused record). An
/// operator's command across organisations; a blob a record names is never touched.
pub async fn collect_garbage(
    store: &dyn evident_store::Store,
    blobs: &BlobStore,
    now: chrono::DateTime<chrono::Utc>,
    grace: chrono::Duration,
) -> Result<Collected> {
    let referenced = store.referenced_digests().await?.into_iter().collect();
    let report = blobs.collect_garbage(&referenced, now - grace).await?;
    Ok(Collected {
        referenced: report.referenced,
        recent: report.recent,
        deleted: report.deleted.into_iter().map(|b| b.digest).collect(),
        staging_deleted: report.staging_deleted,
    })
}

fn view(evidence: Evidence, codes: &HashMap<&evident_core::ControlId, &ControlCode>) -> EvidenceView {
    let controls = evidence
        .record
        .links
        .iter()
        .map(|l| {
            codes.get(&l.control).map(|c| (*c).clone()).unwrap_or_else(|| {
                // A control the store lost would be a verify finding; show its id rather than fail.
                ControlCode::parse(l.control.as_str()).unwrap_or_else(|_| unknown_code())
            })
        })
        .collect();
    EvidenceView { evidence, controls }
}

fn unknown_code() -> ControlCode {
    #[allow(clippy::unwrap_used)] // a constant that parses
    ControlCode::parse("UNKNOWN").unwrap()
}

fn new_evidence_id() -> EvidenceId {
    #[allow(clippy::unwrap_used)] // a UUID is lowercase hex and dashes
    EvidenceId::parse(&uuid::Uuid::new_v4().to_string()).unwrap()
}

/// The manifest of an evidence import: one row per file.
pub const MANIFEST_LAYOUT: &[&str] = &["file", "controls", "effective", "period", "description"];
pub const MANIFEST_REQUIRED: &[&str] = &["file", "controls", "effective"];

/// One file of an import, checked.
#[derive(Debug)]
struct Item {
    row: usize,
    path: PathBuf,
    size: u64,
    draft: CheckedDraft,
}

/// What an evidence import did, and how far it got (for a progress bar).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct EvidenceImportReport {
    pub files: usize,
    pub bytes: u64,
    /// Records written.
    pub recorded: usize,
    /// Files already recorded with the same dates and controls: a manifest imported again, or by
    /// another import of it running at the same time.
    pub unchanged: usize,
    /// Files whose bytes the store already held (another record, or an interrupted import).
    pub deduplicated: usize,
}

/// Progress of an import: bytes stored of the total.
pub type Progress<'a> = &'a (dyn Fn(u64, u64) + Send + Sync);

impl App {
    /// Imports the files a manifest names (CSV or XLSX, columns `file`, `controls` (codes separated
    /// by `;`), `effective`, optional `period` (`FROM..TO`) and `description`). Every row is
    /// checked first (the file exists inside `dir`, is a regular file, not empty, not reached
    /// through a symlink; the controls exist; the dates hold) and every problem is reported with
    /// its row; then every file's bytes are stored (a few at once, [`DEFAULT_CONCURRENCY`]), and
    /// then every record lands in one `apply`: all or nothing. A file that cannot be stored stops
    /// it and records nothing. Killed midway, it leaves stored bytes without records (collected
    /// later), never a record without its bytes; run again, or twice at once, it records each
    /// file once: the store checks what is already recorded inside the transaction that lands
    /// the records.
    #[tracing::instrument(skip_all, fields(org = %principal.org.slug))]
    pub async fn import_evidence(
        &self,
        principal: &Principal,
        dir: &Path,
        manifest: &Table,
        max_size: Option<u64>,
        progress: Progress<'_>,
    ) -> Result<EvidenceImportReport> {
        principal.authorize(Permission::EvidenceAdd)?;
        let blobs = self.blobs()?;
        let items = self.check_manifest(principal, dir, manifest, max_size).await?;
        let total: u64 = items.iter().map(|i| i.size).sum();
        let mut report = EvidenceImportReport { files: items.len(), bytes: total, ..Default::default() };
        progress(0, total);
        // A few files at once: a small file's cost is its fsyncs, which then overlap. The first
        // failure stops the ingest and records nothing; bytes already stored are collected later.
        let paths: Vec<PathBuf> = items.iter().map(|i| i.path.clone()).collect();
        let mut done = 0;
        let ingested =
            evident_evidence::ingest_all_reporting(blobs, &paths, DEFAULT_CONCURRENCY, max_size, |_, stored| {
                done += stored.size;
                progress(done, total);
            })
            .await
            .map_err(|e| {
                let row = items.get(e.index).map_or(0, |i| i.row);
                let error = AppError::from(e.source);
                AppError::new(error.code, format!("{} (row {row}): {error}", e.path.display()))
            })?;
        let mut changes = Vec::new();
        for (item, stored) in items.into_iter().zip(ingested) {
            if stored.already_present {
                report.deduplicated += 1;
            }
            let bytes = StoredBytes {
                digest: stored.digest.clone(),
                size: stored.size,
                media_type: stored.media_type.to_owned(),
            };
            let evidence = item
                .draft
                .stored(bytes)
                .map_err(|e| AppError::invalid(format!("{} (row {}): {e}", item.path.display(), item.row)))?;
            // Whether it is recorded already is checked by the store, inside the transaction: two
            // imports of one manifest at once then record each file once, not twice.
            changes.push(EvidenceChange::AddUnlessRecorded { id: new_evidence_id(), evidence }.into());
        }
        let applied = self.applied(principal, changes).await?;
        report.recorded = applied.iter().filter(|a| a.changed()).count();
        report.unchanged = applied.len() - report.recorded;
        Ok(report)
    }

    async fn check_manifest(
        &self,
        principal: &Principal,
        dir: &Path,
        manifest: &Table,
        max_size: Option<u64>,
    ) -> Result<Vec<Item>> {
        let root = std::fs::canonicalize(dir)
            .map_err(|e| AppError::new(Code::InvalidFile, format!("{}: {e}", dir.display())))?;
        let controls = self.controls_by_code(principal).await?;
        let today = self.now().date_naive();
        let created = principal.org.created_at.date_naive();
        let mut problems = Problems::default();
        let mut items = Vec::new();
        let mut seen: HashMap<PathBuf, usize> = HashMap::new();
        for row in &manifest.rows {
            let n = row.number;
            let name = row.cell(0).trim();
            let path = match manifest_file(&root, name) {
                Ok(path) => path,
                Err(message) => {
                    problems.push(n, "file", message);
                    continue;
                }
            };
            if let Some(first) = seen.insert(path.clone(), n) {
                problems.push(n, "file", format!("{name} is listed twice (first in row {first})"));
                continue;
            }
            let size = match std::fs::symlink_metadata(&path) {
                Ok(meta) if meta.len() == 0 => {
                    problems.push(n, "file", format!("{name} is empty: zero-byte evidence proves nothing"));
                    continue;
                }
                Ok(meta) if max_size.is_some_and(|max| meta.len() > max) => {
                    problems.coded(n, "file", "file_too_large", format!("{name} is larger than the limit"));
                    continue;
                }
                Ok(meta) => meta.len(),
                Err(e) => {
                    problems.push(n, "file", format!("{name}: {e}"));
                    continue;
                }
            };
            let mut named = Vec::new();
            let period = match row.cell(3).trim() {
                "" => None,
                text => match evident_core::evidence::parse_period(text) {
                    Ok(period) => Some(period),
                    Err(e) => {
                        problems.push(n, "period", e.to_string());
                        continue;
                    }
                },
            };
            let mut bad_control = false;
            for code in row.cell(1).split(';').map(str::trim).filter(|c| !c.is_empty()) {
                match ControlCode::parse(code) {
                    Ok(code) => named.push((code, period)),
                    Err(e) => {
                        problems.push(n, "controls", e.to_string());
                        bad_control = true;
                    }
                }
            }
            if bad_control {
                continue;
            }
            let links = match Self::links(principal, &controls, &named) {
                Ok(links) => links,
                Err(e) => {
                    problems.coded(n, "controls", e.code(), e.message);
                    continue;
                }
            };
            let effective = match NaiveDate::parse_from_str(row.cell(2).trim(), "%Y-%m-%d") {
                Ok(date) => date,
                Err(_) => {
                    problems.push(n, "effective", format!("{:?} is not a date (YYYY-MM-DD)", row.cell(2)));
                    continue;
                }
            };
            let file_name = match path.file_name().and_then(|f| f.to_str()).map(FileName::parse) {
                Some(Ok(file_name)) => file_name,
                Some(Err(e)) => {
                    problems.push(n, "file", e.to_string());
                    continue;
                }
                None => {
                    problems.push(n, "file", format!("{name} has no file name that is UTF-8"));
                    continue;
                }
            };
            let draft = EvidenceDraft {
                file_name,
                effective,
                source: EvidenceSource::Import,
                description: row.cell(4).to_owned(),
                links,
                supersedes: None,
            };
            match draft.check(today, created) {
                Ok(draft) => items.push(Item { row: n, path, size, draft }),
                Err(e) => problems.push(n, draft_column(&e), e.to_string()),
            }
        }
        problems.into_result(manifest)?;
        Ok(items)
    }
}

/// The manifest column a refused draft's problem is in.
fn draft_column(error: &EvidenceError) -> &'static str {
    match error {
        EvidenceError::Period(_) | EvidenceError::PeriodSyntax(_) | EvidenceError::PeriodAfterEffective { .. } => {
            "period"
        }
        EvidenceError::NoControl | EvidenceError::DuplicateControl(_) => "controls",
        EvidenceError::DescriptionTooLong(_) => "description",
        EvidenceError::FileName { .. } | EvidenceError::Empty | EvidenceError::MediaType(_) => "file",
        EvidenceError::EffectiveInFuture { .. } | EvidenceError::EffectiveTooEarly { .. } | EvidenceError::Date(_) => {
            "effective"
        }
    }
}

/// The file a manifest row names, inside `root` (already canonical): a relative path without `..`,
/// every component a real directory or, last, a regular file; no symlink anywhere on the way.
fn manifest_file(root: &Path, name: &str) -> std::result::Result<PathBuf, String> {
    if name.is_empty() {
        return Err("no file is named".into());
    }
    if name.chars().any(char::is_control) {
        return Err(format!("{:?} contains a control character", name));
    }
    let relative = Path::new(name);
    if relative.is_absolute() {
        return Err(format!("{name} is an absolute path: name files relative to the manifest's directory"));
    }
    let mut path = root.to_path_buf();
    let components: Vec<_> = relative.components().collect();
    for (i, component) in components.iter().enumerate() {
        let std::path::Component::Normal(part) = component else {
            return Err(format!("{name} leaves the manifest's directory: only plain names inside it are allowed"));
        };
        path.push(part);
        let meta = std::fs::symlink_metadata(&path).map_err(|_| format!("{name} does not exist"))?;
        let last = i + 1 == components.len();
        if meta.file_type().is_symlink() {
            return Err(format!("{name} is reached through a symbolic link, which an import does not follow"));
        }
        if last && !meta.is_file() {
            return Err(format!("{name} is not a regular file"));
        }
        if !last && !meta.is_dir() {
            return Err(format!("{name} does not exist"));
        }
    }
    Ok(path)
}
