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

/// The chain head an organisation records with each append: the last record's position and hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainHead {
    pub seq: i64,
    pub hash: Sha256Digest,
}

/// Walks `records` in stored order and returns how many verified, or the first break.
pub fn verify_chain(org: &OrgId, records: &[AuditRecord], head: &ChainHead) -> Result<usize, ChainBreak> {
    let hashes: std::collections::HashMap<&Sha256Digest, usize> =
        records.iter().enumerate().map(|(i, r)| (&r.hash, i)).collect();
    let mut expected_prev = Sha256Digest::zero();
    for (i, record) in records.iter().enumerate() {
        let id = record.entry.id.clone();
        if chain_hash(org, &record.prev_hash, &record.entry) != record.hash {
            return Err(ChainBreak::Edited { seq: record.seq, id });
        }
        if record.prev_hash != expected_prev {
            return Err(match hashes.get(&record.prev_hash) {
                Some(&j) if j > i => ChainBreak::Reordered { seq: record.seq, id },
                // It links further back than its predecessor: the predecessor was slipped in.
                Some(_) => {
                    let intruder = &records[i - 1];
                    ChainBreak::Inserted { seq: intruder.seq, id: intruder.entry.id.clone() }
                }
                None if record.prev_hash == Sha256Digest::zero() && i > 0 => {
                    ChainBreak::Inserted { seq: records[0].seq, id: records[0].entry.id.clone() }
                }
                None => ChainBreak::Deleted { seq: record.seq, id },
            });
        }
        expected_prev = record.hash.clone();
    }
    let last_seq = records.last().map_or(0, |r| r.seq);
    if expected_prev != head.hash {
        if head.seq > last_seq {
            return Err(ChainBreak::TailDeleted { last_seq, head_seq: head.seq, missing: head.seq - last_seq });
        }
        if let Some(&j) = hashes.get(&head.hash) {
            let intruder = &records[j + 1];
            return Err(ChainBreak::Inserted { seq: intruder.seq, id: intruder.entry.id.clone() });
        }
        return Err(ChainBreak::HeadMismatch { last_seq, head_seq: head.seq });
    }
    Ok(records.len())
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

    proptest! {
        #[test]
        fn any_single_field_edit_is_detected(n in 1usize..20, pick in 0usize..20, text in "[a-z]{1,8}") {
            let (mut records, head) = chain(&org(), entries(n));
            let i = pick % n;
            records[i].entry.actor.push_str(&text);
            let broken = verify_chain(&org(), &records, &head);
            prop_assert_eq!(broken, Err(ChainBreak::Edited { seq: i as i64 + 1, id: format!("rec-{i}") }));
        }
    }
}
