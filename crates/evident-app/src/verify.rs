//! `verify` and `anchor`, operator commands across organisations.
//!
//! `verify` walks each organisation's audit log a page at a time (never holding it whole) and
//! proves three things: the hash chain is whole up to the head the organisation recorded; the
//! current state (members, adoptions, controls, mappings, SoA decisions and versions,
//! methodologies, assets, risks) is what the log's last after-images say; and every approved SoA
//! version still hashes to its digest; with the evidence store, that every evidence record's bytes
//! are there and still hash to its digest. With a witness file, it also proves that each log still
//! extends the head last recorded there, which no check inside the database can: a forger with
//! write access can rewind, empty or re-hash a log and its state consistently.
//!
//! `anchor` verifies, then appends each organisation's head to the witness file.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use evident_core::audit::{AnchorCheck, ChainBreak, ChainHead, ChainWalker};
use evident_core::evidence::Evidence;
use evident_core::replay::{Check, Replay, Table};
use evident_core::{ControlId, EvidenceId, FrameworkId, OrgId, OrgSlug, Organisation, Sha256Digest};
use evident_evidence::{BlobError, BlobStore};
use evident_store::{Store, StoreError};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// How many audit records are read at a time.
pub const PAGE: u32 = 10_000;

/// How many times verify re-reads an organisation that keeps changing while it is verified.
const ROUNDS: usize = 5;

/// How many evidence records are read at a time.
const EVIDENCE_PAGE: u32 = 5_000;

/// How many problems of one code an organisation's verdict lists; the rest are counted in one more
/// problem of that code (a million records whose bytes are gone need no million lines).
pub const LISTED: usize = 100;

/// One line of a witness file: an organisation's chain head at the time it was anchored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WitnessHead {
    pub organisation_id: OrgId,
    pub organisation: OrgSlug,
    pub seq: i64,
    pub hash: Sha256Digest,
    pub anchored_at: DateTime<Utc>,
}

/// Something verify found wrong, with a stable code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub code: &'static str,
    pub message: String,
}

/// What verify concluded about one organisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    pub organisation: String,
    #[serde(skip)]
    pub organisation_id: Option<OrgId>,
    /// How many audit records were read.
    pub records: usize,
    pub ok: bool,
    /// The first break of the hash chain, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<ChainBreak>,
    /// Everything found: the chain break, rows that differ from the log, SoA versions whose rows
    /// no longer match their digest, a witness the log no longer extends.
    pub problems: Vec<Problem>,
    /// The head verified: the last record of an intact chain.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub head: Option<ChainHead>,
    /// The witnessed head the log was checked against, when a witness named this organisation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub witnessed: Option<i64>,
}

/// Why verify or anchor could not run.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("there is no organisation {0}")]
    UnknownOrganisation(OrgSlug),
    #[error("cannot read the witness file {}: {reason}", path.display())]
    WitnessUnreadable { path: PathBuf, reason: String },
    #[error("the witness file {}, line {line}, is not a witness head: {reason}", path.display())]
    WitnessMalformed { path: PathBuf, line: usize, reason: String },
    #[error("cannot write the witness file {}: {reason}", path.display())]
    WitnessUnwritable { path: PathBuf, reason: String },
    #[error("not anchoring: the log of {} no longer extends its witnessed head", organisations.join(", "))]
    WitnessNotExtended { organisations: Vec<String> },
    #[error("not anchoring: the audit log of {} does not verify", organisations.join(", "))]
    Unverified { organisations: Vec<String> },
    #[error("the audit log of {0} kept changing while it was verified; try again when it is quieter")]
    KeptChanging(String),
    #[error("cannot read the evidence store: {0}")]
    EvidenceStore(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl VerifyError {
    /// A stable snake_case code for each kind of failure.
    pub fn code(&self) -> &'static str {
        match self {
            VerifyError::UnknownOrganisation(_) => "organisation_not_found",
            VerifyError::WitnessUnreadable { .. } => "witness_unreadable",
            VerifyError::WitnessMalformed { .. } => "witness_malformed",
            VerifyError::WitnessUnwritable { .. } => "witness_unwritable",
            VerifyError::WitnessNotExtended { .. } => "witness_not_extended",
            VerifyError::Unverified { .. } => "log_not_verified",
            VerifyError::KeptChanging(_) => "log_kept_changing",
            VerifyError::EvidenceStore(_) => "evidence_store_unavailable",
            VerifyError::Store(_) => "store_error",
        }
    }
}

/// Verifies every organisation (or `only` one), against the latest heads in `witness` if given.
pub async fn verify(
    store: &dyn Store,
    only: Option<&OrgSlug>,
    witness: Option<&Path>,
) -> Result<Vec<Verdict>, VerifyError> {
    verify_paged(store, None, only, witness, PAGE).await
}

/// [`verify`], and every evidence record against the evidence store `blobs`: its bytes are there,
/// of its size, and still hash to its digest (each distinct blob read once); each of its links
/// names a control of its organisation.
pub async fn verify_with_evidence(
    store: &dyn Store,
    blobs: &BlobStore,
    only: Option<&OrgSlug>,
    witness: Option<&Path>,
) -> Result<Vec<Verdict>, VerifyError> {
    verify_paged(store, Some(blobs), only, witness, PAGE).await
}

async fn verify_paged(
    store: &dyn Store,
    blobs: Option<&BlobStore>,
    only: Option<&OrgSlug>,
    witness: Option<&Path>,
    page: u32,
) -> Result<Vec<Verdict>, VerifyError> {
    let witnessed = match witness {
        Some(path) => read_witness(path)?,
        None => BTreeMap::new(),
    };
    let orgs = match only {
        Some(slug) => match store.org_by_slug(slug).await? {
            Some(org) => vec![org],
            None if witnessed.values().any(|w| &w.organisation == slug) => vec![],
            None => return Err(VerifyError::UnknownOrganisation(slug.clone())),
        },
        None => store.orgs().await?,
    };
    let mut verdicts = Vec::with_capacity(orgs.len());
    let mut hashed = HashSet::new();
    for org in &orgs {
        let mut verdict = verify_org(store, org, witnessed.get(&org.id), page).await?;
        if let Some(blobs) = blobs {
            let mut problems = Listed::default();
            evidence_problems(store, blobs, org, &mut hashed, &mut problems).await?;
            verdict.problems.extend(problems.into_problems());
            verdict.ok = verdict.problems.is_empty();
        }
        verdicts.push(verdict);
    }
    // A witnessed organisation that is gone: its whole log went with it.
    let all_ids: BTreeSet<OrgId> = store.orgs().await?.into_iter().map(|o| o.id).collect();
    for head in witnessed.values() {
        if all_ids.contains(&head.organisation_id) || only.is_some_and(|slug| *slug != head.organisation) {
            continue;
        }
        let problem = Problem {
            code: "witness_organisation_missing",
            message: format!(
                "the witness recorded head #{} of organisation {} (id {}), which no longer exists",
                head.seq, head.organisation, head.organisation_id
            ),
        };
        verdicts.push(Verdict {
            organisation: head.organisation.to_string(),
            organisation_id: Some(head.organisation_id.clone()),
            records: 0,
            ok: false,
            problem: None,
            problems: vec![problem],
            head: None,
            witnessed: Some(head.seq),
        });
    }
    Ok(verdicts)
}

/// Verifies the installation's own log (accounts, sessions, lockouts: no organisation's) as a
/// hash chain up to its recorded head. `None` when it has no record yet. Its state is not replayed:
/// what it records (a session opened, a password set) is not state a decision is compared with.
pub async fn verify_installation(store: &dyn Store) -> Result<Option<Verdict>, VerifyError> {
    verify_installation_paged(store, PAGE).await
}

async fn verify_installation_paged(store: &dyn Store, page_size: u32) -> Result<Option<Verdict>, VerifyError> {
    let mut walker = ChainWalker::new(evident_store::accounts::installation_chain());
    let mut after = 0;
    let mut settled = None;
    for _ in 0..ROUNDS {
        loop {
            let (page, _) = store.installation_log(after, page_size).await?;
            page.iter().for_each(|record| walker.push(record));
            match page.last() {
                Some(last) => after = last.seq,
                None => break,
            }
            if page.len() < page_size as usize {
                break;
            }
        }
        // The head is read after the walk, the records after the head: none past the walk means
        // the head is the walk's.
        let (more, head) = store.installation_log(after, 1).await?;
        if more.is_empty() {
            settled = Some(head);
            break;
        }
    }
    let Some(head) = settled else { return Err(VerifyError::KeptChanging("the installation".to_owned())) };
    if head.seq == 0 && walker.records() == 0 {
        return Ok(None);
    }
    let records = walker.records();
    let intact = walker.intact_head();
    let chain = walker.finish(&head);
    let problems: Vec<Problem> = chain
        .as_ref()
        .err()
        .map(|broken| Problem { code: broken.code(), message: broken.to_string() })
        .into_iter()
        .collect();
    Ok(Some(Verdict {
        organisation: "installation".to_owned(),
        organisation_id: None,
        records,
        ok: problems.is_empty(),
        problem: chain.err(),
        problems,
        head: Some(intact),
        witnessed: None,
    }))
}

/// Verifies every organisation against `witness` (when the file exists), then appends each one's
/// verified head to it. Refuses, writing nothing, when any organisation fails: anchoring a
/// tampered log would launder it.
pub async fn anchor(store: &dyn Store, witness: &Path, at: DateTime<Utc>) -> Result<Vec<WitnessHead>, VerifyError> {
    let existing = witness.exists().then_some(witness);
    let verdicts = verify(store, None, existing).await?;
    let failed = |codes: &[&str]| -> Vec<String> {
        verdicts
            .iter()
            .filter(|v| v.problems.iter().any(|p| codes.is_empty() || codes.contains(&p.code)))
            .map(|v| v.organisation.clone())
            .collect()
    };
    let not_extended = failed(&["witness_not_extended", "witness_organisation_missing"]);
    if !not_extended.is_empty() {
        return Err(VerifyError::WitnessNotExtended { organisations: not_extended });
    }
    let unverified = failed(&[]);
    if !unverified.is_empty() {
        return Err(VerifyError::Unverified { organisations: unverified });
    }
    let mut heads = Vec::with_capacity(verdicts.len());
    for verdict in verdicts {
        let (Some(organisation_id), Some(head)) = (verdict.organisation_id, verdict.head) else { continue };
        let organisation = OrgSlug::parse(&verdict.organisation)
            .map_err(|e| VerifyError::Store(StoreError::Corrupt(format!("organisations.slug: {e}"))))?;
        heads.push(WitnessHead { organisation_id, organisation, seq: head.seq, hash: head.hash, anchored_at: at });
    }
    append_witness(witness, &heads)?;
    Ok(heads)
}

async fn verify_org(
    store: &dyn Store,
    org: &Organisation,
    witnessed: Option<&WitnessHead>,
    page_size: u32,
) -> Result<Verdict, VerifyError> {
    let mut walker = ChainWalker::new(org.id.clone());
    let mut replay = Replay::new();
    let mut anchor = witnessed.map(|w| AnchorCheck::new(ChainHead { seq: w.seq, hash: w.hash.clone() }));
    let mut after = i64::MIN;
    let mut settled = None;
    for _ in 0..ROUNDS {
        loop {
            let page = store.audit_page(&org.id, after, page_size).await?;
            for record in &page {
                walker.push(record);
                // Past a break, the log's content is no evidence of anything.
                if walker.is_intact() {
                    replay.apply(record);
                }
                if let Some(anchor) = &mut anchor {
                    anchor.push(record);
                }
            }
            match page.last() {
                Some(last) if page.len() == page_size as usize => after = last.seq,
                Some(last) => {
                    after = last.seq;
                    break;
                }
                None => break,
            }
        }
        // The state is read between two reads of the head: equal heads and nothing appended
        // since the walk mean the state, the head and the records walked are of one moment.
        let head = store.chain_head(&org.id).await?;
        let logged: BTreeSet<FrameworkId> = replay
            .keys(Table::SoaDecisions)
            .chain(replay.keys(Table::SoaVersions))
            .filter_map(|key| FrameworkId::parse(key.first()?).ok())
            .collect();
        let mut check = replay.check();
        check_state(store, org, &logged, &mut check).await?;
        let soa = store.soa_version_texts(&org.id).await?;
        if store.chain_head(&org.id).await? == head && store.audit_page(&org.id, after, 1).await?.is_empty() {
            settled = Some((head, check.finish(), soa));
            break;
        }
    }
    let Some((head, findings, soa)) = settled else {
        return Err(VerifyError::KeptChanging(org.slug.to_string()));
    };

    let records = walker.records();
    let intact = walker.intact_head();
    let chain = walker.finish(&head);
    let mut problems = Listed::default();
    if let Err(broken) = &chain {
        problems.push(Problem { code: broken.code(), message: broken.to_string() });
    } else {
        findings.into_iter().for_each(|f| problems.push(Problem { code: f.code(), message: f.to_string() }));
    }
    for version in &soa {
        let rehashed = Sha256Digest::of(version.rows_json.as_bytes());
        if rehashed != version.digest {
            problems.push(Problem {
                code: "soa_digest_mismatch",
                message: format!(
                    "soa_versions: {} version {} no longer matches its digest: its rows hash to {rehashed}, the digest stored at approval is {}",
                    version.framework, version.version, version.digest
                ),
            });
        }
    }
    stale_mappings(store, org).await?.into_iter().for_each(|p| problems.push(p));
    if let Some(Err(not_extended)) = anchor.map(AnchorCheck::finish) {
        problems.push(Problem { code: "witness_not_extended", message: not_extended.to_string() });
    }
    let problems = problems.into_problems();
    Ok(Verdict {
        organisation: org.slug.to_string(),
        organisation_id: Some(org.id.clone()),
        records,
        ok: problems.is_empty(),
        problem: chain.err(),
        problems,
        head: Some(intact),
        witnessed: witnessed.map(|w| w.seq),
    })
}

/// Problems as a verdict lists them: at most [`LISTED`] of one code, the rest counted.
#[derive(Debug, Default)]
struct Listed {
    problems: Vec<Problem>,
    counts: BTreeMap<&'static str, usize>,
}

impl Listed {
    fn push(&mut self, problem: Problem) {
        let count = self.counts.entry(problem.code).or_default();
        *count += 1;
        if *count <= LISTED {
            self.problems.push(problem);
        }
    }

    fn into_problems(mut self) -> Vec<Problem> {
        for (code, count) in self.counts.into_iter().filter(|(_, count)| *count > LISTED) {
            let message = format!("… and {} more {code} problems like the ones above", count - LISTED);
            self.problems.push(Problem { code, message });
        }
        self.problems
    }
}

/// The blobs found whole, by the first 16 bytes of their digest (a million in about 32 MB), so
/// that bytes several records share are hashed once. A blob that is not whole is looked at again
/// for each record holding it.
type Hashed = HashSet<[u8; 16]>;

/// What one blob verified to.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Blob {
    Whole,
    Missing,
    /// Of this many bytes, not the record's size.
    Size(u64),
    /// Hashing to this other digest.
    Corrupt(Sha256Digest),
}

impl Blob {
    /// The problem, for a record of `size` bytes holding `digest`, if the blob is not whole.
    fn problem(&self, digest: &Sha256Digest, size: u64) -> Option<(&'static str, String)> {
        Some(match self {
            Blob::Whole => return None,
            Blob::Missing => {
                ("evidence_missing", format!("its bytes (sha256 {digest}) are missing from the evidence store"))
            }
            Blob::Size(actual) => (
                "evidence_size_mismatch",
                format!("its bytes (sha256 {digest}) are {actual} bytes long; the record says {size}"),
            ),
            Blob::Corrupt(actual) => {
                ("evidence_corrupt", format!("its bytes no longer hash to sha256 {digest}: they hash to {actual}"))
            }
        })
    }
}

/// A blob's place in [`Hashed`].
fn hashed_key(digest: &Sha256Digest) -> [u8; 16] {
    let mut key = [0; 16];
    key.copy_from_slice(&digest.to_bytes()[..16]);
    key
}

/// Every evidence record of `org`, a page at a time, checked against the store `blobs` and the
/// organisation's controls.
async fn evidence_problems(
    store: &dyn Store,
    blobs: &BlobStore,
    org: &Organisation,
    hashed: &mut Hashed,
    problems: &mut Listed,
) -> Result<(), VerifyError> {
    let controls: BTreeSet<ControlId> = store.controls(&org.id).await?.into_iter().map(|c| c.id).collect();
    let mut pages = EvidencePages::default();
    while let Some(page) = pages.next(store, &org.id).await? {
        for evidence in &page {
            evidence_problems_of(evidence, blobs, &controls, hashed, problems).await?;
        }
    }
    Ok(())
}

/// Every evidence record of an organisation, superseded ones too, [`EVIDENCE_PAGE`] at a time.
#[derive(Debug, Default)]
struct EvidencePages {
    after: Option<EvidenceId>,
}

impl EvidencePages {
    /// The next page, or `None` past the last record.
    async fn next(&mut self, store: &dyn Store, org: &OrgId) -> Result<Option<Vec<Evidence>>, VerifyError> {
        let page = store.evidence_page(org, self.after.as_ref(), EVIDENCE_PAGE).await?;
        let Some(last) = page.last() else { return Ok(None) };
        self.after = Some(last.id.clone());
        Ok(Some(page))
    }
}

/// One evidence record checked: its links, and its bytes unless another record's were the same.
async fn evidence_problems_of(
    evidence: &Evidence,
    blobs: &BlobStore,
    controls: &BTreeSet<ControlId>,
    hashed: &mut Hashed,
    problems: &mut Listed,
) -> Result<(), VerifyError> {
    let record = &evidence.record;
    let named = format!("evidence {} ({})", evidence.id, record.file_name);
    for link in record.links.iter().filter(|l| !controls.contains(&l.control)) {
        problems.push(Problem {
            code: "evidence_link_broken",
            message: format!("{named} proves control id {}, which the organisation does not have", link.control),
        });
    }
    let digest = &record.digest;
    let key = hashed_key(digest);
    if hashed.contains(&key) {
        return Ok(());
    }
    let found = match blobs.size(digest).await {
        Ok(size) if size != record.size => Blob::Size(size),
        Ok(_) => match blobs.verify(digest).await {
            Ok(()) => Blob::Whole,
            Err(BlobError::Corrupt { actual, .. }) => Blob::Corrupt(actual),
            Err(BlobError::Missing { .. }) => Blob::Missing,
            Err(e) => return Err(VerifyError::EvidenceStore(e.to_string())),
        },
        Err(BlobError::Missing { .. }) => Blob::Missing,
        Err(e) => return Err(VerifyError::EvidenceStore(e.to_string())),
    };
    match found.problem(digest, record.size) {
        Some((code, found)) => problems.push(Problem { code, message: format!("{named}: {found}") }),
        None => {
            hashed.insert(key);
        }
    }
    Ok(())
}

/// Mappings that point at a requirement the library no longer has as an assessable one: they count
/// for nothing in readiness, so they are reported, never silently ignored.
async fn stale_mappings(store: &dyn Store, org: &Organisation) -> Result<Vec<Problem>, VerifyError> {
    let library = crate::Library::embedded()
        .map_err(|e| VerifyError::Store(StoreError::Corrupt(e.to_string())))?
        .with_imported(store.frameworks(&org.id).await?);
    let frameworks: Vec<_> = library.frameworks().collect();
    let mappings = store.mappings(&org.id).await?;
    Ok(evident_core::framework::stale_mappings(&frameworks, &mappings)
        .into_iter()
        .map(|m| Problem {
            code: "stale_mapping",
            message: format!(
                "mappings: {} is mapped to {} {}, which the framework library no longer has as an assessable requirement",
                m.control, m.framework, m.requirement
            ),
        })
        .collect())
}

fn to_value<T: Serialize>(value: &T) -> Result<Value, VerifyError> {
    serde_json::to_value(value).map_err(|e| VerifyError::Store(StoreError::Unexpected(Box::new(e))))
}

/// Feeds `check` every row of the tables replay checks, as JSON in the shape of the log's
/// after-images; evidence a page at a time. `logged` are the frameworks whose SoA the log names.
async fn check_state(
    store: &dyn Store,
    org: &Organisation,
    logged: &BTreeSet<FrameworkId>,
    check: &mut Check<'_>,
) -> Result<(), VerifyError> {
    let id = &org.id;
    let mut rows = vec![(Table::Organisations, to_value(org)?)];
    for member in store.members(id).await? {
        rows.push((Table::Memberships, to_value(&member)?));
    }
    for imported in store.frameworks(id).await? {
        rows.push((Table::ImportedFrameworks, to_value(&imported.framework)?));
    }
    let adoptions = store.adoptions(id).await?;
    let mappings = store.mappings(id).await?;
    let versions = store.soa_version_texts(id).await?;
    // SoA decisions are read per framework: every framework the organisation or its log names.
    let mut frameworks: BTreeSet<FrameworkId> = adoptions.iter().map(|a| a.framework.clone()).collect();
    frameworks.extend(mappings.iter().map(|m| m.framework.clone()));
    frameworks.extend(versions.iter().map(|v| v.framework.clone()));
    frameworks.extend(logged.iter().cloned());
    for adoption in &adoptions {
        rows.push((Table::Adoptions, to_value(adoption)?));
    }
    for control in store.controls(id).await? {
        rows.push((Table::Controls, to_value(&control)?));
    }
    let mut pages = EvidencePages::default();
    while let Some(page) = pages.next(store, id).await? {
        for evidence in &page {
            check.row(Table::Evidence, &json!({ "id": evidence.id, "evidence": evidence.record }));
        }
    }
    for stored in store.samples(id).await? {
        for e in &stored.exceptions {
            let row = json!({"sample": stored.id, "control": e.control, "from": e.occurrence.from(),
                             "to": e.occurrence.to(), "note": e.note});
            rows.push((Table::SampleExceptions, row));
        }
        rows.push((Table::Samples, json!({ "id": stored.id, "sample": stored.sample })));
    }
    for mapping in &mappings {
        rows.push((Table::Mappings, to_value(mapping)?));
    }
    for framework in &frameworks {
        for (requirement, decision) in store.soa_decisions(id, framework).await? {
            let mut row = to_value(&decision)?;
            row["framework"] = json!(framework);
            row["requirement"] = json!(requirement);
            rows.push((Table::SoaDecisions, row));
        }
    }
    for version in &versions {
        let count =
            serde_json::from_str::<Vec<Value>>(&version.rows_json).map_or(Value::Null, |rows| json!(rows.len()));
        let row = json!({"framework": version.framework, "version": version.version, "digest": version.digest, "rows": count});
        rows.push((Table::SoaVersions, row));
    }
    for methodology in store.methodologies(id).await? {
        rows.push((Table::Methodologies, to_value(&methodology)?));
    }
    for asset in store.assets(id).await? {
        rows.push((Table::Assets, to_value(&asset)?));
    }
    for risk in store.risks(id).await? {
        rows.push((Table::Risks, to_value(&risk)?));
    }
    for token in store.tokens(id).await? {
        rows.push((Table::ApiTokens, to_value(&token)?));
    }
    rows.iter().for_each(|(table, row)| check.row(*table, row));
    Ok(())
}

/// The latest head each organisation has in the witness file, by organisation id.
pub fn read_witness(path: &Path) -> Result<BTreeMap<OrgId, WitnessHead>, VerifyError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| VerifyError::WitnessUnreadable { path: path.to_owned(), reason: e.to_string() })?;
    let mut latest = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let head: WitnessHead = serde_json::from_str(line).map_err(|e| VerifyError::WitnessMalformed {
            path: path.to_owned(),
            line: i + 1,
            reason: e.to_string(),
        })?;
        latest.insert(head.organisation_id.clone(), head);
    }
    Ok(latest)
}

/// Appends `heads` to the witness file atomically: the whole new file is written beside the old
/// one and renamed over it, so a reader sees the old file or the new one, never half a line.
fn append_witness(path: &Path, heads: &[WitnessHead]) -> Result<(), VerifyError> {
    let unwritable =
        |e: std::io::Error| VerifyError::WitnessUnwritable { path: path.to_owned(), reason: e.to_string() };
    let mut text = match std::fs::read(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(unwritable(e)),
    };
    if !text.is_empty() && !text.ends_with(b"\n") {
        text.push(b'\n');
    }
    for head in heads {
        serde_json::to_writer(&mut text, head).map_err(|e| unwritable(std::io::Error::other(e)))?;
        text.push(b'\n');
    }
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
        _ => PathBuf::from("."),
    };
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let temp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let written = (|| {
        let mut file = std::fs::File::create(&temp)?;
        file.write_all(&text)?;
        file.sync_all()?;
        std::fs::rename(&temp, path)?;
        // The rename is durable once the directory is.
        if let Ok(dir) = std::fs::File::open(&dir) {
            let _ = dir.sync_all();
        }
        Ok(())
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    written.map_err(unwritable)
}

#[cfg(test)]
mod tests;
