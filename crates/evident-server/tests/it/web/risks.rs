//! The risks pages.
