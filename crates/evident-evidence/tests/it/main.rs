//! Integration tests of the evidence blob store, against real backends: a temporary directory,
//! and an S3-compatible server (moto) started on loopback.

#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

mod generated;
mod local;
mod s3;
mod sniffing;

use evident_evidence::{BlobConfig, BlobStore};
use futures::TryStreamExt;

/// A local store in a fresh temporary directory (removed when the guard drops).
pub fn local_store() -> (tempfile::TempDir, BlobStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = BlobStore::open(&BlobConfig::local(dir.path().join("evidence"))).unwrap();
    (dir, store)
}

/// The whole stream of a blob, or its error.
pub async fn download(
    store: &BlobStore,
    digest: &evident_core::Sha256Digest,
) -> Result<Vec<u8>, evident_evidence::BlobError> {
    let stream = store.get(digest).await?;
    let chunks: Vec<_> = stream.try_collect().await?;
    Ok(chunks.concat())
}
