//! How long one `apply` of a large import takes on a fresh SQLite file: `CONTROLS` controls, each
//! created and mapped (2 × `CONTROLS` changes and audit records, 20,000 by default).
//!
//! `cargo bench -p evident-store-sqlite --bench import [-- CONTROLS]`

#![allow(clippy::unwrap_used, clippy::print_stdout)] // a benchmark binary: it prints its figure

use evident_store_sqlite::SqliteStore;

#[tokio::main]
async fn main() {
    let controls = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(10_000);
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("evident.db")).await.unwrap();
    let took = evident_store::testkit::time_import(&store, controls).await;
    println!("sqlite: {} changes in one apply: {:.2} s", 2 * controls, took.as_secs_f64());
}
