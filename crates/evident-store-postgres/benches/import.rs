//! How long one `apply` of a large import takes on a fresh PostgreSQL database: `CONTROLS`
//! controls, each created and mapped (2 × `CONTROLS` changes and audit records, 20,000 by default).
//! Needs `EVIDENT_TEST_DATABASE_URL`; says so and does nothing without it.
//!
//! `cargo bench -p evident-store-postgres --bench import [-- CONTROLS]`

#![allow(clippy::unwrap_used, clippy::print_stdout)] // a benchmark binary: it prints its figure

use evident_store_postgres::{FreshDatabase, PostgresStore};

#[tokio::main]
async fn main() {
    let controls = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(10_000);
    let Ok(base) = std::env::var("EVIDENT_TEST_DATABASE_URL") else {
        println!("postgres: EVIDENT_TEST_DATABASE_URL is not set, nothing measured");
        return;
    };
    let database = FreshDatabase::create(&base).await.unwrap();
    let store = PostgresStore::connect(&database.url).await.unwrap();
    let took = evident_store::testkit::time_import(&store, controls).await;
    println!("postgres: {} changes in one apply: {:.2} s", 2 * controls, took.as_secs_f64());
}
