//! The server's one integration-test binary: each story runs a real server on 127.0.0.1:0 over a
//! fresh SQLite file and, when `EVIDENT_TEST_DATABASE_URL` is set, a fresh PostgreSQL database.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod accounts;
mod assets;
mod audit;
mod bad_input;
mod controls;
mod evidence;
mod frameworks;
mod health;
mod imports;
mod instances;
mod lists;
mod mappings;
mod matrix;
mod members;
mod risks;
mod session;
mod snapshots;
mod soa;
mod support;
mod tokens;
mod web;
