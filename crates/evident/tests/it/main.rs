#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

mod audit;
mod backup;
mod bad_input;
mod controls;
mod crash;
mod evidence;
mod frameworks;
mod heart;
mod import;
mod members;
mod oscal;
mod risks;
mod serve;
mod support;
