//! OSCAL, NIST's machine-readable format for control catalogs: the catalog and profile models,
//! bounded reading, validation against NIST's JSON schemas and beyond them, profile resolution,
//! and a catalog as an evident framework.
//!
//! No IO except reading the files a profile names, within its own directory; never the network.

pub mod error;
pub mod framework;
pub mod model;
pub mod read;
pub mod resolve;
pub mod validate;

pub use error::{OscalError, Violation};
pub use read::{Limits, Model};
pub use validate::{Document, validate};
