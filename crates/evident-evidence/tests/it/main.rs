//! Integration tests of the evidence blob store, against real backends: a temporary directory,
//! and an S3-compatible server (moto) started on loopback.

#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

mod generated;
mod local;
mod moto;
mod s3;
mod sniffing;

use std::path::{Path, PathBuf};

use evident_evidence::{BlobConfig, BlobStore};
use futures::TryStreamExt;

/// A local store in a fresh temporary directory (removed when the guard drops).
pub fn local_store() -> (tempfile::TempDir, BlobStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = BlobStore::open(&BlobConfig::local(dir.path().join("evidence"))).unwrap();
    (dir, store)
}

/// Every regular file under `dir`, relative to it, sorted.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    fn walk(root: &Path, dir: &Path, found: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, found);
            } else {
                found.push(path.strip_prefix(root).unwrap().to_path_buf());
            }
        }
    }
    let mut found = Vec::new();
    walk(dir, dir, &mut found);
    found.sort();
    found
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
