//! `BlobError`: every way the blob store can fail, each with a stable code.

use evident_core::Sha256Digest;

/// Why a blob operation failed. Messages are plain words for the person operating evident; they
/// name the store (directory, or bucket and endpoint) and never contain credentials.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// No blob is stored under this digest (never stored, or collected as garbage).
    #[error("no stored evidence has the digest {digest}")]
    Missing { digest: Sha256Digest },

    /// The bytes stored under `expected` no longer hash to it: they were changed or damaged
    /// outside evident. They are never served as if they were good.
    #[error("the stored evidence {expected} is corrupt: its bytes now hash to {actual}")]
    Corrupt { expected: Sha256Digest, actual: Sha256Digest },

    /// The input held no bytes; there is nothing to prove with an empty file.
    #[error("the evidence is empty: a file must hold at least one byte")]
    Empty,

    /// The input (or the stored blob, for a bounded read) is over the limit; nothing was stored.
    #[error("the evidence is larger than the limit of {limit} bytes; nothing was stored")]
    TooLarge { limit: u64 },

    /// The remote store could not be reached or refused the request (network, server down,
    /// credentials refused). Nothing half-written was placed.
    #[error("the evidence store ({store}) is unavailable: could not {action}: {reason}")]
    Unavailable { store: String, action: &'static str, reason: String },

    /// The local file system failed (disk full, permissions, …).
    #[error("the evidence store ({store}) could not {action}: {source}")]
    Io {
        store: String,
        action: &'static str,
        #[source]
        source: std::io::Error,
    },

    /// The input could not be read (the upload was cut, the file vanished); nothing was stored.
    #[error("could not read the evidence being stored: {source}")]
    Read {
        #[source]
        source: std::io::Error,
    },

    /// The blob store configuration is not valid; the message names the part that is wrong.
    #[error("invalid evidence store configuration: {0}")]
    Config(String),
}

impl BlobError {
    /// Every code `code()` can return, for tables kept in step by a test.
    pub const CODES: [&'static str; 7] = [
        "blob_missing",
        "blob_corrupt",
        "blob_empty",
        "blob_too_large",
        "blob_store_unavailable",
        "blob_io",
        "blob_config_invalid",
    ];

    /// A stable snake_case code, passed through unchanged by the CLI and the API.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Missing { .. } => "blob_missing",
            Self::Corrupt { .. } => "blob_corrupt",
            Self::Empty => "blob_empty",
            Self::TooLarge { .. } => "blob_too_large",
            Self::Unavailable { .. } => "blob_store_unavailable",
            Self::Io { .. } | Self::Read { .. } => "blob_io",
            Self::Config(_) => "blob_config_invalid",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_listed_once() {
        let digest = Sha256Digest::of(b"x");
        let io = || std::io::Error::other("disk");
        let errors = [
            BlobError::Missing { digest: digest.clone() },
            BlobError::Corrupt { expected: digest.clone(), actual: digest },
            BlobError::Empty,
            BlobError::TooLarge { limit: 1 },
            BlobError::Unavailable { store: "s".into(), action: "upload", reason: "down".into() },
            BlobError::Io { store: "s".into(), action: "write", source: io() },
            BlobError::Read { source: io() },
            BlobError::Config("bad".into()),
        ];
        let mut codes: Vec<_> = errors.iter().map(BlobError::code).collect();
        codes.dedup();
        assert_eq!(codes, BlobError::CODES);
    }
}
