//! The soa pages.
