//! The use cases of evident-app on both backends: who may do what, who the audit log names, what
//! each organisation sees, and the JSON the use cases return.
//!
//! Each story runs on SQLite (a temporary file) and on PostgreSQL (a fresh database) when
//! `EVIDENT_TEST_DATABASE_URL` is set; with `CI=true` a missing URL fails the PostgreSQL stories.

// Test code: a failed unwrap is a failed assertion.
#![allow(clippy::unwrap_used)]

/// One `#[tokio::test]` per story and backend, named `MODULE::sqlite::NAME` and
/// `MODULE::postgres::NAME`. A story is an `async fn(Backend)` of the module; or, in the long
/// form, `NAME(backend) => FUTURE;` with `backend` bound to the backend.
macro_rules! on_each_backend {
    ($($story:ident),+ $(,)?) => {
        on_each_backend! { $($story(backend) => super::$story(backend);)+ }
    };
    ($($name:ident($backend:ident) => $body:expr;)+) => {
        mod sqlite {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[tokio::test]
                async fn $name() {
                    let $backend = $crate::support::Backend::Sqlite;
                    $body.await
                }
            )+
        }
        mod postgres {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[tokio::test]
                async fn $name() {
                    let $backend = $crate::support::Backend::Postgres;
                    $body.await
                }
            )+
        }
    };
}

mod attributes;
mod audit_names;
mod backup;
mod derived;
mod evidence_import;
mod freshness;
mod isolation;
mod oscal;
mod permissions;
mod snapshots;
mod support;
