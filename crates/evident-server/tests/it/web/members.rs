//! The members pages.
