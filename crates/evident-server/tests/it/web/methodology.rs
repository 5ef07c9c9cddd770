//! The methodology pages.
