#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

mod content;
mod embedded;
mod fuzz;
mod malformed;
mod new_frameworks;
mod reference;
