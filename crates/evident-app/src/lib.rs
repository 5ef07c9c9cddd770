//! evident's use cases, once, for every front end (the CLI today, the server next).
//!
//! Architecture invariants:
//! - One function per thing a user does; each takes a [`Principal`] and checks its permission
//!   inside, so no front end can forget it.
//! - Every failure a user can cause is an [`AppError`] with a stable snake_case code.
//! - Nothing here prints: use cases return data, front ends render it.
#![forbid(unsafe_code)]

pub mod accounts;
mod app;
pub mod attributes;
pub mod audit;
pub mod backup;
pub mod controls;
pub mod dashboard;
pub mod demo;
mod demo_evidence;
pub mod derived;
pub mod error;
pub mod evidence;
pub mod frameworks;
pub mod imports;
pub mod library;
pub mod members;
pub mod org_data;
pub mod oscal;
pub mod principal;
pub mod risks;
pub mod soa;
pub mod type2;
pub mod verify;

pub use app::{App, Clock};
pub use error::{AppError, Code, Result, RowError};
pub use library::Library;
pub use principal::{Acting, Operator, Principal};
