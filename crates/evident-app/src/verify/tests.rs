//! Every tampering of `evident_store::testkit::verify`, on SQLite and (when
//! `EVIDENT_TEST_DATABASE_URL` is set) PostgreSQL, against the whole verify.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed assertion

use evident_store::testkit::verify::{Tampering, busy_org, tamper};
use evident_store::testkit::{at, new_org};
use evident_store::{RawSql, Store};
use evident_store_postgres::{FreshDatabase, PostgresStore};
use evident_store_sqlite::SqliteStore;

use super::*;

/// A fresh store of each backend this machine can test, with what keeps it alive.
#[allow(dead_code)] // the second field is only held, so the database outlives the test
enum Fresh {
    Sqlite(SqliteStore, tempfile::TempDir),
    Postgres(PostgresStore, FreshDatabase),
}

impl Fresh {
    async fn every_backend() -> Vec<Fresh> {
        let dir = tempfile::tempdir().unwrap();
        let sqlite = SqliteStore::open(&dir.path().join("evident.db")).await.unwrap();
        let mut all = vec![Fresh::Sqlite(sqlite, dir)];
        if let Some(base) = evident_store::testkit::postgres_url() {
            let database = FreshDatabase::create(&base).await.unwrap();
            let store = PostgresStore::connect(&database.url).await.unwrap();
            all.push(Fresh::Postgres(store, database));
        }
        all
    }

    fn name(&self) -> &'static str {
        match self {
            Fresh::Sqlite(..) => "sqlite",
            Fresh::Postgres(..) => "postgres",
        }
    }

    async fn tamper(&self, org: &Organisation, how: Tampering) {
        match self {
            Fresh::Sqlite(store, _) => tamper(store, org, how).await,
            Fresh::Postgres(store, _) => tamper(store, org, how).await,
        }
    }

    async fn raw(&self, sql: &str) -> u64 {
        match self {
            Fresh::Sqlite(store, _) => store.execute_raw(sql).await.unwrap(),
            Fresh::Postgres(store, _) => store.execute_raw(sql).await.unwrap(),
        }
    }

    fn store(&self) -> &dyn Store {
        match self {
            Fresh::Sqlite(store, _) => store,
            Fresh::Postgres(store, _) => store,
        }
    }
}

fn codes(verdict: &Verdict) -> Vec<&'static str> {
    verdict.problems.iter().map(|p| p.code).collect()
}

fn messages(verdict: &Verdict) -> String {
    verdict.problems.iter().map(|p| p.message.as_str()).collect::<Vec<_>>().join("\n")
}

#[tokio::test]
async fn a_busy_untouched_organisation_verifies_with_and_without_its_witness() {
    for fresh in Fresh::every_backend().await {
        let store = fresh.store();
        busy_org(store, "acme").await;
        busy_org(store, "globex").await;
        let verdicts = verify(store, None, None).await.unwrap();
        assert_eq!(verdicts.len(), 2);
        for v in &verdicts {
            assert!(v.ok, "{}: {} {}", fresh.name(), v.organisation, messages(v));
            assert_eq!(v.records, 17);
        }
        // Pages of 3 records walk the same log.
        assert_eq!(verify_paged(store, None, None, None, 3).await.unwrap(), verdicts);

        let dir = tempfile::tempdir().unwrap();
        let witness = dir.path().join("witness.jsonl");
        let heads = anchor(store, &witness, at(20)).await.unwrap();
        assert_eq!(
            heads.iter().map(|h| (h.organisation.as_str(), h.seq)).collect::<Vec<_>>(),
            [("acme", 17), ("globex", 17)]
        );
        let lines = std::fs::read_to_string(&witness).unwrap();
        assert_eq!(lines.lines().count(), 2, "one line per organisation: {lines}");
        assert!(lines.starts_with("{\"organisation_id\":"), "{lines}");

        // Work goes on; the log still extends the witness, and a second anchoring appends.
        let (org, actor) = new_org(store, "initech").await;
        store.apply(&actor, evident_store::testkit::import_batch(3)).await.unwrap();
        let verdicts = verify(store, None, Some(&witness)).await.unwrap();
        assert!(verdicts.iter().all(|v| v.ok), "{}: {verdicts:?}", fresh.name());
        assert_eq!(verdicts.iter().map(|v| v.witnessed).collect::<Vec<_>>(), [Some(17), Some(17), None]);
        anchor(store, &witness, at(21)).await.unwrap();
        assert_eq!(std::fs::read_to_string(&witness).unwrap().lines().count(), 5);
        let latest = read_witness(&witness).unwrap();
        assert_eq!(latest[&org.id].seq, 8);
        assert!(!dir.path().read_dir().unwrap().any(|e| e.unwrap().file_name().to_string_lossy().contains(".tmp")));
    }
}

#[tokio::test]
async fn every_tampering_is_detected_with_a_witness_and_those_a_database_can_show_without_one() {
    for &how in Tampering::ALL {
        for fresh in Fresh::every_backend().await {
            let store = fresh.store();
            let (org, _) = busy_org(store, "acme").await;
            let dir = tempfile::tempdir().unwrap();
            let witness = dir.path().join("witness.jsonl");
            anchor(store, &witness, at(20)).await.unwrap();
            fresh.tamper(&org, how).await;

            let without = verify(store, None, None).await.unwrap().remove(0);
            let with = verify(store, None, Some(&witness)).await.unwrap().remove(0);
            let context =
                format!("{} {how:?}\nwithout: {}\nwith: {}", fresh.name(), messages(&without), messages(&with));
            assert!(!with.ok, "{context}");
            assert_eq!(!without.ok, how.detectable_without_witness(), "{context}");
            let rewritten_log = matches!(
                how,
                Tampering::Rewound
                    | Tampering::RewoundWithState
                    | Tampering::Emptied
                    | Tampering::RehashedLogOnly
                    | Tampering::RehashedWithState
            );
            assert_eq!(codes(&with).contains(&"witness_not_extended"), rewritten_log, "{context}");
            let expected = match how {
                Tampering::MemberRole => {
                    "memberships: bob@acme.example has role admin, the audit log says viewer (record 3)"
                }
                Tampering::ControlStatus => {
                    "controls: OPS-1 has status not_started, the audit log says implemented (record 17)"
                }
                Tampering::MappingDeleted => {
                    "mappings: OPS-2 iso27001:2022 A.5.30 has no row, the audit log says it exists (record 8)"
                }
                Tampering::SoaDecision => {
                    "soa_decisions: iso27001:2022 A.7.1 has applicable true, the audit log says false (record 11)"
                }
                Tampering::SoaVersionRows => "soa_versions: iso27001:2022 version 1 no longer matches its digest",
                Tampering::SoaVersionRowsAndDigest => "soa_versions: iso27001:2022 1 has digest",
                Tampering::Rewound => {
                    "controls: OPS-1 has status implemented, the audit log says in_progress (record 5)"
                }
                Tampering::Emptied => "organisations: ",
                Tampering::RehashedLogOnly => {
                    "memberships: bob@acme.example has role viewer, the audit log says admin (record 3)"
                }
                Tampering::RewoundWithState => "the witness recorded head #17, but the log ends at #16",
                Tampering::RehashedWithState => "record #17",
            };
            assert!(messages(&with).contains(expected), "{context}");
            if how.detectable_without_witness() {
                assert!(messages(&without).contains(expected), "{context}");
            }
            // Anchoring a tampered log would launder it: refused, and the witness is unchanged.
            let before = std::fs::read_to_string(&witness).unwrap();
            let refused = anchor(store, &witness, at(21)).await.unwrap_err();
            let code = if rewritten_log { "witness_not_extended" } else { "log_not_verified" };
            assert_eq!(refused.code(), code, "{context}: {refused}");
            assert_eq!(std::fs::read_to_string(&witness).unwrap(), before);
        }
    }
}

#[tokio::test]
async fn an_edited_record_stops_replay_and_is_named_across_pages() {
    for fresh in Fresh::every_backend().await {
        let store = fresh.store();
        let (org, _) = busy_org(store, "acme").await;
        let id = org.id.as_str();
        fresh.raw(&format!("UPDATE audit_log SET actor = 'mallory' WHERE org_id = '{id}' AND seq = 9")).await;
        let verdict = verify_paged(store, None, None, None, 4).await.unwrap().remove(0);
        assert_eq!(codes(&verdict), ["record_edited"], "{}: replay says nothing past a break", fresh.name());
        assert_eq!(verdict.records, 17);
        assert!(matches!(verdict.problem, Some(ChainBreak::Edited { seq: 9, .. })));
    }
}

#[tokio::test]
async fn a_witness_for_a_vanished_organisation_or_a_broken_witness_file_fails() {
    for fresh in Fresh::every_backend().await {
        let store = fresh.store();
        busy_org(store, "acme").await;
        let dir = tempfile::tempdir().unwrap();
        let witness = dir.path().join("witness.jsonl");
        anchor(store, &witness, at(20)).await.unwrap();
        let gone = WitnessHead {
            organisation_id: OrgId::from_store("0b0e5d1e-gone".into()),
            organisation: OrgSlug::parse("umbrella").unwrap(),
            seq: 40,
            hash: Sha256Digest::of(b"umbrella"),
            anchored_at: at(19),
        };
        append_witness(&witness, &[gone]).unwrap();
        let verdicts = verify(store, None, Some(&witness)).await.unwrap();
        assert!(verdicts[0].ok);
        assert_eq!(verdicts[1].organisation, "umbrella");
        assert_eq!(codes(&verdicts[1]), ["witness_organisation_missing"]);
        assert!(messages(&verdicts[1]).contains("head #40 of organisation umbrella"));
        let only = verify(store, Some(&OrgSlug::parse("umbrella").unwrap()), Some(&witness)).await.unwrap();
        assert_eq!(codes(&only[0]), ["witness_organisation_missing"]);
        let refused = anchor(store, &witness, at(21)).await.unwrap_err();
        assert_eq!(refused.code(), "witness_not_extended");

        std::fs::write(&witness, "{\"organisation_id\": 3}\n").unwrap();
        let malformed = verify(store, None, Some(&witness)).await.unwrap_err();
        assert_eq!(malformed.code(), "witness_malformed");
        assert!(malformed.to_string().contains("line 1"), "{malformed}");
        let missing = verify(store, None, Some(&dir.path().join("nope.jsonl"))).await.unwrap_err();
        assert_eq!(missing.code(), "witness_unreadable");
    }
}

#[test]
fn a_verdict_lists_a_hundred_problems_of_a_code_and_counts_the_rest() {
    let mut listed = Listed::default();
    for n in 0..130 {
        listed.push(Problem { code: "evidence_missing", message: format!("evidence ev-{n}: its bytes are missing") });
    }
    listed.push(Problem { code: "state_differs", message: "controls: OPS-1 differs".into() });
    let problems = listed.into_problems();
    let missing: Vec<&Problem> = problems.iter().filter(|p| p.code == "evidence_missing").collect();
    assert_eq!(missing.len(), LISTED + 1, "a hundred listed, and one that counts the rest");
    assert_eq!(missing[LISTED - 1].message, "evidence ev-99: its bytes are missing", "the first ones, in order");
    assert_eq!(missing[LISTED].message, "… and 30 more evidence_missing problems like the ones above");
    assert_eq!(problems.iter().filter(|p| p.code == "state_differs").count(), 1, "another code keeps its own");
}
