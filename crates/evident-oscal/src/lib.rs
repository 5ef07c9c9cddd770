//! OSCAL, NIST's machine-readable format for control catalogs: the catalog and profile models,
//! bounded reading, validation against NIST's JSON schemas and beyond them, profile resolution,
//! a catalog as an evident framework, and an organisation's work exported as an SSP, assessment
//! results and a POA&M.
//!
//! No IO except reading the files a profile names, within its own directory; never the network.

pub mod documents;
pub mod error;
pub mod export;
pub mod framework;
pub mod model;
pub mod read;
pub mod resolve;
pub mod revision;
pub mod validate;

pub use error::{OscalError, Violation};
pub use read::{Limits, Model};
pub use validate::{Document, validate};
