#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

mod gap;
mod guidance;
mod readiness;
mod risk;
mod soa;
mod support;
mod type2;
