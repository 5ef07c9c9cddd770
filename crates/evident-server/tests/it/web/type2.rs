//! The type2 pages.
