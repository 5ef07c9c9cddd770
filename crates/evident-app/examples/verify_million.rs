//! Builds a large audit log quickly and times a paged `verify` over it, for the bounded-memory
//! figure: a million-record log must verify in under 256 MB.
//!
//! ```text
//! cargo run --release -p evident-app --example verify_million -- build DIR [RECORDS]
//! /usr/bin/time -v cargo run --release -p evident-app --example verify_million -- verify DIR
//! /usr/bin/time -v evident --data-dir DIR verify        # the whole CLI process
//! ```
//!
//! `build` creates `DIR/evident.db` with one organisation whose 100 controls are updated over and
//! over through `Store::apply`, in batches of 10,000 changes: one audit record per change, as in
//! real use, with no test door. `verify` runs `evident_app::verify::verify` and prints its time.

#![allow(clippy::unwrap_used, clippy::print_stdout)] // a benchmark binary: it prints its figures

use std::path::Path;
use std::time::Instant;

use chrono::{TimeZone, Utc};
use evident_core::{ControlCode, ControlPatch, Email, Frequency, ImplementationStatus, NewControl, OrgSlug};
use evident_store::{Actor, ControlChange, NewOrganisation, Organisations, Store};
use evident_store_sqlite::SqliteStore;

const CONTROLS: usize = 100;
const BATCH: usize = 10_000;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: verify_million build DIR [RECORDS] | verify DIR";
    let (mode, dir) = (args.first().expect(usage), Path::new(args.get(1).expect(usage)));
    std::fs::create_dir_all(dir).unwrap();
    let store = SqliteStore::open(&dir.join("evident.db")).await.unwrap();
    match mode.as_str() {
        "build" => build(&store, args.get(2).and_then(|n| n.parse().ok()).unwrap_or(1_000_000)).await,
        "verify" => {
            let started = Instant::now();
            let verdicts = evident_app::verify::verify(&store, None, None).await.unwrap();
            let took = started.elapsed();
            for v in &verdicts {
                println!("{}: {} records, ok {} {:?}", v.organisation, v.records, v.ok, v.problems.first());
            }
            println!("verify: {:.2} s", took.as_secs_f64());
        }
        _ => panic!("{usage}"),
    }
}

async fn build(store: &SqliteStore, records: usize) {
    let at = Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).single().unwrap();
    let admin = Email::parse("admin@bulk.example").unwrap();
    let new = NewOrganisation {
        slug: OrgSlug::parse("bulk").unwrap(),
        name: "Bulk Ltd".into(),
        admin_email: admin.clone(),
        admin_name: "Ada".into(),
    };
    let org = store.create_org(&new, at).await.unwrap();
    let actor = Actor { org: org.id.clone(), who: admin.to_string(), at };
    let code = |i: usize| ControlCode::parse(&format!("BULK-{}", i % CONTROLS)).unwrap();
    let created = (0..CONTROLS)
        .map(|i| {
            ControlChange::Create(NewControl {
                code: code(i),
                title: format!("Control {i}"),
                description: "Kept busy by the benchmark.".into(),
                owner: None,
                frequency: Frequency::Monthly,
                max_evidence_age_days: None,
                status: ImplementationStatus::InProgress,
            })
            .into()
        })
        .collect();
    store.apply(&actor, created).await.unwrap();
    let started = Instant::now();
    let mut written = 2 + CONTROLS;
    let statuses = [ImplementationStatus::Implemented, ImplementationStatus::InProgress];
    while written < records {
        let n = BATCH.min(records - written);
        let batch = (written..written + n)
            .map(|i| {
                ControlChange::Update {
                    code: code(i),
                    patch: ControlPatch {
                        title: Some(format!("Control {} revision {i}", i % CONTROLS)),
                        status: Some(statuses[i / CONTROLS % 2]),
                        ..ControlPatch::default()
                    },
                    expected_revision: None,
                }
                .into()
            })
            .collect();
        store.apply(&actor, batch).await.unwrap();
        written += n;
        if written % 100_000 < BATCH {
            println!("{written} records ({:.0} s)", started.elapsed().as_secs_f64());
        }
    }
    println!("built {written} records in {:.1} s", started.elapsed().as_secs_f64());
}
