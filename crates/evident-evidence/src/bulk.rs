//! Bulk ingest: many files into the store, a bounded number at a time.
//!
//! One file at a time, a directory of small files is slow for a reason that has nothing to do with
//! its bytes: each durable placement waits for two `fsync`s (the staging file, then the directory
//! that names the blob), and the disk sits idle between them. Several ingests in flight overlap
//! those waits with each other and with the hashing of the large files. The bound keeps memory
//! bounded too: each ingest holds a few MiB (see [`BlobStore::ingest`]), so `concurrency` of them
//! hold `concurrency` times that, whatever the number and size of the files.

use std::path::{Path, PathBuf};

use futures::stream::{self, Stream, StreamExt};

use crate::{BlobError, BlobStore, Ingested};

/// How many files [`ingest_all`] has in flight when the caller has no better number: measured on
/// a local disk, 4 at once ingest a mixed directory about three times as fast as 1, and more gain
/// little (the disk's queue, not the CPU, is then the limit).
pub const DEFAULT_CONCURRENCY: usize = 4;

/// A file of a bulk ingest that could not be stored, and why.
#[derive(Debug, thiserror::Error)]
#[error("{}: {source}", path.display())]
pub struct BulkError {
    /// Its position in the list given.
    pub index: usize,
    pub path: PathBuf,
    #[source]
    pub source: BlobError,
}

/// Ingests each of `files` (at most `concurrency` at once, at least 1), yielding each result with
/// the file's position in `files` as it completes: in no particular order. For a caller that
/// reports progress or collects every failure; [`ingest_all`] stops at the first.
pub fn ingest_each<'a>(
    store: &'a BlobStore,
    files: &'a [PathBuf],
    concurrency: usize,
    limit: Option<u64>,
) -> impl Stream<Item = (usize, Result<Ingested, BlobError>)> + Send + 'a {
    stream::iter(files.iter().enumerate())
        .map(move |(index, path)| async move { (index, ingest_file(store, path, limit).await) })
        .buffer_unordered(concurrency.max(1))
}

/// Ingests every one of `files`, at most `concurrency` at once (at least 1), and returns what was
/// stored in the order of `files`. Each result is durable as [`BlobStore::ingest`] promises.
///
/// Stops at the first failure and returns it with the file it concerns; the ingests in flight
/// then are dropped, which places nothing for them. Files already stored stay stored (a caller
/// records none of them, and garbage collection removes what no record references), so a bulk
/// import is all or nothing for its records, like any other.
pub async fn ingest_all(
    store: &BlobStore,
    files: &[PathBuf],
    concurrency: usize,
    limit: Option<u64>,
) -> Result<Vec<Ingested>, BulkError> {
    ingest_all_reporting(store, files, concurrency, limit, |_, _| {}).await
}

/// [`ingest_all`], calling `stored` with each file's position and what was stored as soon as it
/// is durable, in the order the files complete: for a progress bar.
pub async fn ingest_all_reporting(
    store: &BlobStore,
    files: &[PathBuf],
    concurrency: usize,
    limit: Option<u64>,
    mut stored: impl FnMut(usize, &Ingested),
) -> Result<Vec<Ingested>, BulkError> {
    let mut done: Vec<Option<Ingested>> = vec![None; files.len()];
    let mut each = std::pin::pin!(ingest_each(store, files, concurrency, limit));
    while let Some((index, result)) = each.next().await {
        match result {
            Ok(ingested) => {
                stored(index, &ingested);
                done[index] = Some(ingested);
            }
            Err(source) => return Err(BulkError { index, path: files[index].clone(), source }),
        }
    }
    // The stream yields each index once, so every slot is filled.
    Ok(done.into_iter().flatten().collect())
}

/// Opens and ingests one file; the file is opened only when its turn comes, so at most
/// `concurrency` are open at once.
async fn ingest_file(store: &BlobStore, path: &Path, limit: Option<u64>) -> Result<Ingested, BlobError> {
    let file = tokio::fs::File::open(path).await.map_err(|source| BlobError::Read { source })?;
    store.ingest(file, limit).await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

    use evident_core::Sha256Digest;

    use super::*;
    use crate::BlobConfig;

    fn store() -> (tempfile::TempDir, BlobStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(&BlobConfig::local(dir.path().join("evidence"))).unwrap();
        (dir, store)
    }

    /// Writes `contents` as files `0`, `1`, … in a new directory.
    fn files(contents: &[Vec<u8>]) -> (tempfile::TempDir, Vec<PathBuf>) {
        let dir = tempfile::tempdir().unwrap();
        let paths = contents
            .iter()
            .enumerate()
            .map(|(i, bytes)| {
                let path = dir.path().join(i.to_string());
                std::fs::write(&path, bytes).unwrap();
                path
            })
            .collect();
        (dir, paths)
    }

    fn bytes(seed: u8, len: usize) -> Vec<u8> {
        (0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn results_come_in_the_order_of_the_files_whatever_order_they_finish_in() {
        let (_store_dir, store) = store();
        // The first file is the largest, so it finishes after the small ones started beside it.
        let contents: Vec<Vec<u8>> = [(1, 8 << 20), (2, 10), (3, 3 << 20), (4, 1), (5, 70_000), (6, 5)]
            .into_iter()
            .map(|(seed, len)| bytes(seed, len))
            .collect();
        let (_dir, paths) = files(&contents);

        let stored = ingest_all(&store, &paths, 3, None).await.unwrap();

        let digests: Vec<_> = stored.iter().map(|s| s.digest.clone()).collect();
        let expected: Vec<_> = contents.iter().map(|c| Sha256Digest::of(c)).collect();
        assert_eq!(digests, expected);
        assert_eq!(stored.iter().map(|s| s.size).collect::<Vec<_>>(), [8 << 20, 10, 3 << 20, 1, 70_000, 5]);
        for (stored, content) in stored.iter().zip(&contents) {
            assert_eq!(&store.read_all(&stored.digest, 16 << 20).await.unwrap(), content);
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn each_file_is_reported_once_as_it_is_stored_and_the_results_keep_the_files_order() {
        let (_store_dir, store) = store();
        let contents: Vec<Vec<u8>> = (0..9u8).map(|i| bytes(i, 1 + usize::from(9 - i) * 300_000)).collect();
        let (_dir, paths) = files(&contents);

        let mut reported = Vec::new();
        let stored = ingest_all_reporting(&store, &paths, 4, None, |index, ingested| {
            reported.push((index, ingested.digest.clone()));
        })
        .await
        .unwrap();

        assert_eq!(reported.len(), paths.len(), "one report per file");
        for (index, digest) in &reported {
            assert_eq!(digest, &Sha256Digest::of(&contents[*index]), "file {index} is reported with its own bytes");
        }
        let mut indexes: Vec<usize> = reported.iter().map(|(i, _)| *i).collect();
        indexes.sort_unstable();
        assert_eq!(indexes, (0..paths.len()).collect::<Vec<_>>());
        let digests: Vec<_> = stored.iter().map(|s| s.digest.clone()).collect();
        assert_eq!(digests, contents.iter().map(|c| Sha256Digest::of(c)).collect::<Vec<_>>());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn identical_files_in_flight_together_are_stored_once() {
        let (_store_dir, store) = store();
        let same = bytes(9, 2 << 20);
        let (_dir, paths) = files(&[same.clone(), same.clone(), same.clone(), bytes(1, 100)]);

        let stored = ingest_all(&store, &paths, 4, None).await.unwrap();

        assert!(stored[..3].iter().all(|s| s.digest == Sha256Digest::of(&same)));
        assert_eq!(stored[..3].iter().filter(|s| !s.already_present).count(), 1, "{stored:?}");
        assert!(!stored[3].already_present);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_file_that_cannot_be_stored_is_named_with_its_position() {
        let (_store_dir, store) = store();
        let (dir, mut paths) = files(&[bytes(1, 1000), Vec::new(), bytes(2, 1000)]);

        let empty = ingest_all(&store, &paths, 2, None).await.unwrap_err();
        assert_eq!((empty.index, empty.source.code()), (1, "blob_empty"));
        assert_eq!(empty.path, paths[1]);

        paths[1] = dir.path().join("vanished.pdf");
        let missing = ingest_all(&store, &paths, 1, None).await.unwrap_err();
        assert_eq!((missing.index, missing.source.code()), (1, "blob_io"));
        assert!(missing.to_string().contains("vanished.pdf"), "{missing}");

        paths.remove(1);
        let too_large = ingest_all(&store, &paths, 0, Some(999)).await.unwrap_err();
        assert_eq!((too_large.index, too_large.source.code()), (0, "blob_too_large"));
    }
}
