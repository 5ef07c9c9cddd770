//! The imports pages.
