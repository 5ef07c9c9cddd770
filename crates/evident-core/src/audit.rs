//! The audit log's hash chain: every state change of an organisation is a record whose hash
//! covers its content and the previous record's hash, so an edit, a deletion, an insertion or a
//! reordering breaks the chain at a point `verify_chain` names.

use chrono::{DateTime, SubsecRound, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::ids::{OrgId, Sha256Digest};

/// What happened, before it is chained.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Unique id of the record.
    pub id: String,
    pub at: DateTime<Utc>,
    /// Who did it: a user's e-mail, or `system`.
    pub actor: String,
    /// What was done: `control.create`, `mapping.delete`, `soa.approve`…
    pub action: String,
    pub entity_type: String,
    pub entity_id: String,
    /// JSON of the entity before and after the change.
    pub before: Option<String>,
    pub after: Option<String>,
}

/// An audit-log record as stored: its position, its link to the previous record, and its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub seq: i64,
    #[serde(flatten)]
    pub entry: AuditEntry,
    pub prev_hash: Sha256Digest,
    pub hash: Sha256Digest,
}

/// Audit times are kept to the microsecond, the finest both databases store exactly.
pub fn audit_time(now: DateTime<Utc>) -> DateTime<Utc> {
    now.trunc_subsecs(6)
}

fn canonical_time(at: &DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// The hash of a record: SHA-256 over the previous hash and every field, each length-prefixed
/// so that no two different records serialise alike. The position (`seq`) is not hashed; the
/// chain of `prev_hash` links is what orders records.
pub fn chain_hash(org: &OrgId, prev: &Sha256Digest, entry: &AuditEntry) -> Sha256Digest {
    let mut hasher = Sha256::new();
    let at = canonical_time(&entry.at);
    let fields: [Option<&str>; 10] = [
        Some("evident-audit-v1"),
        Some(org.as_str()),
        Some(prev.as_str()),
        Some(&entry.id),
        Some(&at),
        Some(&entry.actor),
        Some(&entry.action),
        Some(&entry.entity_type),
        Some(&entry.entity_id),
        entry.before.as_deref(),
    ];
    for field in fields.into_iter().chain([entry.after.as_deref()]) {
        match field {
            Some(text) => {
                hasher.update((text.len() as u64).to_be_bytes());
                hasher.update(text.as_bytes());
            }
            None => hasher.update(u64::MAX.to_be_bytes()),
        }
    }
    Sha256Digest::from_hasher(hasher)
}

/// The first place a chain is broken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum ChainBreak {
    #[error("record #{seq} ({id}) was edited: its content no longer matches its hash")]
    Edited { seq: i64, id: String },
    #[error("record #{seq} ({id}) is out of order: it follows a record that comes after it")]
    Reordered { seq: i64, id: String },
    #[error("record #{seq} ({id}) was inserted: it does not link into the chain")]
    Inserted { seq: i64, id: String },
    #[error("a record before #{seq} ({id}) was deleted: #{seq} links to a record that is gone")]
    Deleted { seq: i64, id: String },
    #[error(
        "the last {missing} record(s) after #{last_seq} were deleted: the organisation's chain head is #{head_seq}"
    )]
    TailDeleted { last_seq: i64, head_seq: i64, missing: i64 },
    #[error("the chain ends at #{last_seq} but the organisation's recorded head is #{head_seq} with another hash")]
    HeadMismatch { last_seq: i64, head_seq: i64 },
}

impl ChainBreak {
    /// A stable snake_case name for the kind of break.
    pub fn code(&self) -> &'static str {
        match self {
            ChainBreak::Edited { .. } => "record_edited",
            ChainBreak::Reordered { .. } => "record_reordered",
            ChainBreak::Inserted { .. } => "record_inserted",
            ChainBreak::Deleted { .. } => "record_deleted",
            ChainBreak::TailDeleted { .. } => "tail_deleted",
            ChainBreak::HeadMismatch { .. } => "head_mismatch",
        }
    }
}

/// The chain head an organisation records with each append: the last record's position and hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainHead {
    pub seq: i64,
    pub hash: Sha256Digest,
}

/// Walks `records` in stored order and returns how many verified, or the first break.
pub fn verify_chain(org: &OrgId, records: &[AuditRecord], head: &ChainHead) -> Result<usize, ChainBreak> {
    let mut walker = ChainWalker::new(org.clone());
    for record in records {
        walker.push(record);
    }
    walker.finish(head)
}

/// How many of the latest records a [`ChainWalker`] remembers to name an inserted record: a break
/// whose link points further back than this is reported as a deletion.
pub const LOOKBACK: usize = 1024;

/// A record's position, id and hash: what the walker keeps of it after it has passed.
#[derive(Debug, Clone)]
struct Seen {
    seq: i64,
    id: String,
    hash: Sha256Digest,
}

/// A link break whose kind depends on records not read yet: if a later record carries the hash
/// this one links to, the record was moved (reordered); if none does, its predecessor was deleted.
#[derive(Debug, Clone)]
struct Pending {
    seq: i64,
    id: String,
    links_to: Sha256Digest,
}

/// Verifies a chain fed one record at a time, in stored order, in bounded memory: it keeps the
/// previous hash, the first record and the last [`LOOKBACK`] records' positions and hashes, never
/// the log. `verify_chain` is this walker over a slice; `evident verify` feeds it page by page.
#[derive(Debug)]
pub struct ChainWalker {
    org: OrgId,
    expected_prev: Sha256Digest,
    first: Option<(i64, String)>,
    recent: std::collections::VecDeque<Seen>,
    records: usize,
    last_seq: i64,
    pending: Option<Pending>,
    broken: Option<ChainBreak>,
}

impl ChainWalker {
    pub fn new(org: OrgId) -> Self {
        Self {
            org,
            expected_prev: Sha256Digest::zero(),
            first: None,
            recent: std::collections::VecDeque::with_capacity(LOOKBACK),
            records: 0,
            last_seq: 0,
            pending: None,
            broken: None,
        }
    }

    /// Takes the next record in stored order. After the first break it only reads on as far as
    /// needed to tell a reordering from a deletion.
    pub fn push(&mut self, record: &AuditRecord) {
        self.records += 1;
        self.last_seq = record.seq;
        if self.broken.is_some() {
            return;
        }
        if let Some(pending) = &self.pending {
            if record.hash == pending.links_to {
                self.broken = Some(ChainBreak::Reordered { seq: pending.seq, id: pending.id.clone() });
            }
            return;
        }
        let id = &record.entry.id;
        if chain_hash(&self.org, &record.prev_hash, &record.entry) != record.hash {
            self.broken = Some(ChainBreak::Edited { seq: record.seq, id: id.clone() });
            return;
        }
        if record.prev_hash != self.expected_prev {
            self.broken = self.earlier_intruder(&record.prev_hash);
            if self.broken.is_none() {
                self.pending = Some(Pending { seq: record.seq, id: id.clone(), links_to: record.prev_hash.clone() });
            }
            return;
        }
        if self.first.is_none() {
            self.first = Some((record.seq, id.clone()));
        }
        if self.recent.len() == LOOKBACK {
            self.recent.pop_front();
        }
        self.recent.push_back(Seen { seq: record.seq, id: id.clone(), hash: record.hash.clone() });
        self.expected_prev = record.hash.clone();
    }

    /// A record that links to an earlier record than its predecessor: whatever follows that
    /// earlier record was slipped in. Names the first intruder.
    fn earlier_intruder(&self, links_to: &Sha256Digest) -> Option<ChainBreak> {
        if *links_to == Sha256Digest::zero() {
            let (seq, id) = self.first.clone()?;
            return Some(ChainBreak::Inserted { seq, id });
        }
        let at = self.recent.iter().position(|seen| seen.hash == *links_to)?;
        let intruder = self.recent.get(at + 1)?;
        Some(ChainBreak::Inserted { seq: intruder.seq, id: intruder.id.clone() })
    }

    /// Whether every record so far links and hashes as it should.
    pub fn is_intact(&self) -> bool {
        self.broken.is_none() && self.pending.is_none()
    }

    /// The first break, once its kind is known; reading on cannot change it.
    pub fn settled(&self) -> Option<&ChainBreak> {
        self.broken.as_ref()
    }

    /// How many records have been fed.
    pub fn records(&self) -> usize {
        self.records
    }

    /// The last intact record's position and hash (seq 0 and the zero hash before the first).
    pub fn intact_head(&self) -> ChainHead {
        ChainHead { seq: self.recent.back().map_or(0, |seen| seen.seq), hash: self.expected_prev.clone() }
    }

    /// Ends the walk against the head the organisation recorded: how many records verified, or
    /// the first break.
    pub fn finish(self, head: &ChainHead) -> Result<usize, ChainBreak> {
        if let Some(broken) = self.broken {
            return Err(broken);
        }
        if let Some(Pending { seq, id, .. }) = self.pending {
            return Err(ChainBreak::Deleted { seq, id });
        }
        if self.expected_prev != head.hash {
            let last_seq = self.last_seq;
            if head.seq > last_seq {
                return Err(ChainBreak::TailDeleted { last_seq, head_seq: head.seq, missing: head.seq - last_seq });
            }
            // Records chained past the recorded head: the first of them was slipped in.
            if let Some(intruder) = self.earlier_intruder(&head.hash) {
                return Err(intruder);
            }
            return Err(ChainBreak::HeadMismatch { last_seq, head_seq: head.seq });
        }
        Ok(self.records)
    }
}

/// Where a log no longer extends a chain head recorded outside the database (a witness).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum AnchorBreak {
    #[error(
        "the witness recorded head #{seq}, but the log ends at #{last_seq}: records were removed (the log was rewound or emptied)"
    )]
    Missing { seq: i64, last_seq: i64 },
    #[error(
        "record #{seq} ({id}) no longer has the hash the witness recorded: the log was rewritten at or before #{seq}"
    )]
    Rewritten { seq: i64, id: String },
}

/// Checks, as records stream past, that the log still holds the witnessed head: the record at
/// that position, with that hash. With an intact chain from the first record, that proves every
/// record up to the witnessed head is the one that was there when it was witnessed.
#[derive(Debug, Clone)]
pub struct AnchorCheck {
    anchor: ChainHead,
    found: Option<Result<(), AnchorBreak>>,
    last_seq: i64,
}

impl AnchorCheck {
    pub fn new(anchor: ChainHead) -> Self {
        // An empty log extends a witness of an empty log.
        let found = (anchor.seq == 0 && anchor.hash == Sha256Digest::zero()).then_some(Ok(()));
        Self { anchor, found, last_seq: 0 }
    }

    pub fn push(&mut self, record: &AuditRecord) {
        self.last_seq = record.seq;
        if self.found.is_none() && record.seq == self.anchor.seq {
            self.found = Some(if record.hash == self.anchor.hash {
                Ok(())
            } else {
                Err(AnchorBreak::Rewritten { seq: record.seq, id: record.entry.id.clone() })
            });
        }
    }

    pub fn finish(self) -> Result<(), AnchorBreak> {
        self.found.unwrap_or(Err(AnchorBreak::Missing { seq: self.anchor.seq, last_seq: self.last_seq }))
    }
}

/// Chains `entries` from an empty log, as a store would one append at a time.
pub fn chain(org: &OrgId, entries: Vec<AuditEntry>) -> (Vec<AuditRecord>, ChainHead) {
    let mut prev = Sha256Digest::zero();
    let mut records = Vec::with_capacity(entries.len());
    for (i, entry) in entries.into_iter().enumerate() {
        let hash = chain_hash(org, &prev, &entry);
        records.push(AuditRecord { seq: i as i64 + 1, entry, prev_hash: prev, hash: hash.clone() });
        prev = hash;
    }
    let head = ChainHead { seq: records.len() as i64, hash: prev };
    (records, head)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn entries(n: usize) -> Vec<AuditEntry> {
        let t0 = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z").unwrap().with_timezone(&Utc);
        (0..n)
            .map(|i| AuditEntry {
                id: format!("rec-{i}"),
                at: t0 + chrono::Duration::seconds(i as i64),
                actor: "alice@example.com".into(),
                action: "control.create".into(),
                entity_type: "control".into(),
                entity_id: format!("C-{i}"),
                before: None,
                after: Some(format!("{{\"code\":\"C-{i}\"}}")),
            })
            .collect()
    }

    fn org() -> OrgId {
        OrgId::from_store("org-1".into())
    }

    #[test]
    fn an_untouched_chain_verifies() {
        let (records, head) = chain(&org(), entries(5));
        assert_eq!(verify_chain(&org(), &records, &head), Ok(5));
        let (empty, head) = chain(&org(), vec![]);
        assert_eq!(verify_chain(&org(), &empty, &head), Ok(0));
    }

    #[test]
    fn an_edit_is_named() {
        let (mut records, head) = chain(&org(), entries(5));
        records[2].entry.after = Some("{\"code\":\"forged\"}".into());
        assert_eq!(verify_chain(&org(), &records, &head), Err(ChainBreak::Edited { seq: 3, id: "rec-2".into() }));
    }

    #[test]
    fn a_deletion_is_named() {
        let (mut records, head) = chain(&org(), entries(5));
        records.remove(2);
        assert_eq!(verify_chain(&org(), &records, &head), Err(ChainBreak::Deleted { seq: 4, id: "rec-3".into() }));
        let (mut records, head) = chain(&org(), entries(5));
        records.pop();
        assert!(matches!(verify_chain(&org(), &records, &head), Err(ChainBreak::TailDeleted { missing: 1, .. })));
    }

    #[test]
    fn a_reordering_is_named() {
        let (mut records, head) = chain(&org(), entries(5));
        records.swap(1, 2);
        (records[1].seq, records[2].seq) = (2, 3);
        assert_eq!(verify_chain(&org(), &records, &head), Err(ChainBreak::Reordered { seq: 2, id: "rec-2".into() }));
    }

    #[test]
    fn an_insertion_is_named() {
        let (mut records, head) = chain(&org(), entries(5));
        // A forger who knows the algorithm chains a fake record onto #2 and slips it in.
        let mut fake = entries(1).remove(0);
        fake.id = "forged".into();
        let hash = chain_hash(&org(), &records[1].hash, &fake);
        let forged = AuditRecord { seq: 3, entry: fake, prev_hash: records[1].hash.clone(), hash };
        records.insert(2, forged);
        assert_eq!(verify_chain(&org(), &records, &head), Err(ChainBreak::Inserted { seq: 3, id: "forged".into() }));
    }

    #[test]
    fn an_appended_record_without_a_head_update_is_named() {
        let (mut records, head) = chain(&org(), entries(3));
        let mut fake = entries(1).remove(0);
        fake.id = "forged".into();
        let hash = chain_hash(&org(), &records[2].hash, &fake);
        records.push(AuditRecord { seq: 4, entry: fake, prev_hash: records[2].hash.clone(), hash });
        assert_eq!(verify_chain(&org(), &records, &head), Err(ChainBreak::Inserted { seq: 4, id: "forged".into() }));
    }

    #[test]
    fn the_same_content_in_another_organisation_hashes_differently() {
        let entry = entries(1).remove(0);
        let other = OrgId::from_store("org-2".into());
        assert_ne!(
            chain_hash(&org(), &Sha256Digest::zero(), &entry),
            chain_hash(&other, &Sha256Digest::zero(), &entry)
        );
    }

    #[test]
    fn a_walker_fed_one_record_at_a_time_keeps_only_a_bounded_window() {
        let (records, head) = chain(&org(), entries(3 * LOOKBACK));
        let mut walker = ChainWalker::new(org());
        for record in &records {
            walker.push(record);
            assert!(walker.recent.len() <= LOOKBACK);
        }
        assert_eq!(walker.intact_head(), head);
        assert_eq!(walker.finish(&head), Ok(3 * LOOKBACK));
    }

    #[test]
    fn a_reordering_far_apart_is_told_from_a_deletion() {
        let (mut records, head) = chain(&org(), entries(50));
        records.swap(10, 40);
        (records[10].seq, records[40].seq) = (11, 41);
        let broken = verify_chain(&org(), &records, &head);
        assert_eq!(broken, Err(ChainBreak::Reordered { seq: 11, id: "rec-40".into() }));
    }

    #[test]
    fn a_witnessed_head_must_still_be_in_the_log() {
        let (records, head) = chain(&org(), entries(10));
        let witnessed = ChainHead { seq: 6, hash: records[5].hash.clone() };
        let check = |records: &[AuditRecord], anchor: &ChainHead| {
            let mut check = AnchorCheck::new(anchor.clone());
            records.iter().for_each(|r| check.push(r));
            check.finish()
        };
        assert_eq!(check(&records, &witnessed), Ok(()));
        assert_eq!(check(&records, &head), Ok(()));
        assert_eq!(check(&records[..4], &witnessed), Err(AnchorBreak::Missing { seq: 6, last_seq: 4 }));
        assert_eq!(check(&[], &witnessed), Err(AnchorBreak::Missing { seq: 6, last_seq: 0 }));
        // Rewritten from #3 on and re-chained: the chain verifies, the witness does not.
        let mut forged: Vec<AuditEntry> = records.iter().map(|r| r.entry.clone()).collect();
        forged[2].actor = "mallory@example.com".into();
        let (forged, forged_head) = chain(&org(), forged);
        assert_eq!(verify_chain(&org(), &forged, &forged_head), Ok(10));
        assert_eq!(check(&forged, &witnessed), Err(AnchorBreak::Rewritten { seq: 6, id: "rec-5".into() }));
        let empty = ChainHead { seq: 0, hash: Sha256Digest::zero() };
        assert_eq!(check(&[], &empty), Ok(()));
    }

    proptest! {
        #[test]
        fn any_single_field_edit_is_detected(n in 1usize..20, pick in 0usize..20, text in "[a-z]{1,8}") {
            let (mut records, head) = chain(&org(), entries(n));
            let i = pick % n;
            records[i].entry.actor.push_str(&text);
            let broken = verify_chain(&org(), &records, &head);
            prop_assert_eq!(broken, Err(ChainBreak::Edited { seq: i as i64 + 1, id: format!("rec-{i}") }));
        }

        #[test]
        fn the_walker_agrees_with_itself_however_the_log_is_cut_into_pages(n in 0usize..60, page in 1usize..20, cut in 0usize..60) {
            let (mut records, head) = chain(&org(), entries(n));
            if cut < records.len() {
                records.remove(cut);
            }
            let whole = verify_chain(&org(), &records, &head);
            let mut walker = ChainWalker::new(org());
            for chunk in records.chunks(page) {
                chunk.iter().for_each(|r| walker.push(r));
            }
            prop_assert_eq!(walker.finish(&head), whole.clone());
            prop_assert_eq!(whole.is_ok(), cut >= n);
        }
    }
}
