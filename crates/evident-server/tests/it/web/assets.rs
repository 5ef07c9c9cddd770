//! The assets pages.
