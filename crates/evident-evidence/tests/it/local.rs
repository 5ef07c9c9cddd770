//! The local file system backend: the default, one data directory.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use chrono::Utc;
use evident_core::Sha256Digest;
use evident_evidence::testkit::files_under;
use evident_evidence::{BlobConfig, BlobError, BlobStore};
use futures::TryStreamExt;
use tokio::io::{AsyncRead, ReadBuf};

use crate::generated::Generated;
use crate::{download, local_store};

const MIB: u64 = 1024 * 1024;

fn root(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("evidence")
}

fn blob_file(dir: &tempfile::TempDir, digest: &Sha256Digest) -> PathBuf {
    root(dir).join("sha256").join(&digest.as_str()[..2]).join(digest.as_str())
}

fn staging_files(dir: &tempfile::TempDir) -> Vec<PathBuf> {
    files_under(&root(dir).join("staging"))
}

fn blob_files(dir: &tempfile::TempDir) -> Vec<PathBuf> {
    files_under(&root(dir).join("sha256"))
}

#[tokio::test]
async fn bytes_come_back_exactly_as_stored() {
    let (dir, store) = local_store();
    let bytes: Vec<u8> = (0..=255u8).cycle().take(100_000).collect();

    let stored = store.ingest_bytes(&bytes).await.unwrap();

    assert_eq!(stored.digest, Sha256Digest::of(&bytes));
    assert_eq!(stored.size, 100_000);
    assert_eq!(stored.media_type, "application/octet-stream");
    assert!(!stored.already_present);
    assert_eq!(download(&store, &stored.digest).await.unwrap(), bytes);
    assert_eq!(store.read_all(&stored.digest, 100_000).await.unwrap(), bytes);
    assert_eq!(store.size(&stored.digest).await.unwrap(), 100_000);
    assert!(store.exists(&stored.digest).await.unwrap());
    store.verify(&stored.digest).await.unwrap();

    // On disk: under its digest, read-only, nothing left in staging.
    let file = blob_file(&dir, &stored.digest);
    assert_eq!(std::fs::read(&file).unwrap(), bytes);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o400);
        let root_mode = std::fs::metadata(root(&dir)).unwrap().permissions().mode() & 0o777;
        assert_eq!(root_mode, 0o700, "the evidence directory is private to its owner");
    }
    assert_eq!(staging_files(&dir), Vec::<PathBuf>::new());
}

#[tokio::test]
async fn identical_bytes_are_stored_once() {
    let (dir, store) = local_store();
    let first = store.ingest_bytes(br#"{"check": "mfa", "passed": true}"#).await.unwrap();
    let again = store.ingest(&br#"{"check": "mfa", "passed": true}"#[..], None).await.unwrap();
    let other = store.ingest_bytes(br#"{"check": "mfa", "passed": false}"#).await.unwrap();

    assert!(!first.already_present);
    assert!(again.already_present);
    assert_eq!(
        (again.digest.clone(), again.size, again.media_type),
        (first.digest.clone(), first.size, "application/json")
    );
    assert!(!other.already_present);
    assert_eq!(blob_files(&dir).len(), 2);
    let listed: HashSet<_> = store.list().map_ok(|blob| blob.digest).try_collect().await.unwrap();
    assert_eq!(listed, HashSet::from([first.digest, other.digest]));
    assert_eq!(staging_files(&dir), Vec::<PathBuf>::new());
}

#[tokio::test]
async fn a_large_input_streams_through_without_being_held() {
    let (dir, store) = local_store();
    let len = 300 * MIB + 12_345;

    let stored = store.ingest(Generated::new(7, len), None).await.unwrap();

    assert_eq!(stored.size, len);
    assert_eq!(stored.digest.as_str(), Generated::digest(7, len));
    assert_eq!(std::fs::metadata(blob_file(&dir, &stored.digest)).unwrap().len(), len);
    store.verify(&stored.digest).await.unwrap();
    let mut streamed = 0;
    let mut blob = store.get(&stored.digest).await.unwrap();
    assert_eq!(blob.size(), len);
    while let Some(chunk) = blob.try_next().await.unwrap() {
        streamed += chunk.len() as u64;
    }
    assert_eq!(streamed, len);
    assert_eq!(staging_files(&dir), Vec::<PathBuf>::new());
}

#[tokio::test]
async fn an_empty_input_is_refused() {
    let (dir, store) = local_store();
    let error = store.ingest(&b""[..], None).await.unwrap_err();
    assert!(matches!(error, BlobError::Empty), "{error:?}");
    assert_eq!(error.code(), "blob_empty");
    assert_eq!(store.ingest_bytes(b"").await.unwrap_err().code(), "blob_empty");
    assert_eq!(files_under(&root(&dir)), Vec::<PathBuf>::new());
}

#[tokio::test]
async fn an_input_over_the_limit_is_refused_and_leaves_nothing() {
    let (dir, store) = local_store();

    let error = store.ingest(Generated::new(1, 5 * MIB), Some(2 * MIB)).await.unwrap_err();

    assert!(matches!(error, BlobError::TooLarge { limit } if limit == 2 * MIB), "{error:?}");
    assert_eq!(error.code(), "blob_too_large");
    assert!(error.to_string().contains("2097152 bytes"), "{error}");
    assert_eq!(files_under(&root(&dir)), Vec::<PathBuf>::new(), "no blob and no staging file");

    // The limit is inclusive.
    let exact = store.ingest(Generated::new(1, 2 * MIB), Some(2 * MIB)).await.unwrap();
    assert_eq!(exact.size, 2 * MIB);
}

#[tokio::test]
async fn verify_finds_corrupt_and_missing_blobs() {
    let (dir, store) = local_store();
    let stored = store.ingest_bytes(b"quarterly access review, signed by the CISO").await.unwrap();
    let kept = store.ingest_bytes(b"untouched evidence").await.unwrap();
    let file = blob_file(&dir, &stored.digest);

    // Someone edits the file on disk behind evident's back (same size, one byte changed).
    make_writable(&file);
    let mut bytes = std::fs::read(&file).unwrap();
    bytes[0] ^= 0x20;
    std::fs::write(&file, &bytes).unwrap();

    let error = store.verify(&stored.digest).await.unwrap_err();
    match &error {
        BlobError::Corrupt { expected, actual } => {
            assert_eq!(expected, &stored.digest);
            assert_eq!(actual, &Sha256Digest::of(&bytes));
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
    assert_eq!(error.code(), "blob_corrupt");
    // A download never ends cleanly with damaged bytes, and read_all refuses them.
    assert_eq!(download(&store, &stored.digest).await.unwrap_err().code(), "blob_corrupt");
    assert_eq!(store.read_all(&stored.digest, 1024).await.unwrap_err().code(), "blob_corrupt");
    store.verify(&kept.digest).await.unwrap();

    // Ingesting the right bytes again is not acknowledged over the damaged copy, and the
    // damaged file is left as it is, for whoever investigates.
    let again = store.ingest_bytes(b"quarterly access review, signed by the CISO").await.unwrap_err();
    assert_eq!(again.code(), "blob_corrupt");
    assert_eq!(std::fs::read(&file).unwrap(), bytes, "never modified in place");
    assert_eq!(staging_files(&dir), Vec::<PathBuf>::new());

    std::fs::remove_file(&file).unwrap();
    let error = store.verify(&stored.digest).await.unwrap_err();
    assert!(matches!(&error, BlobError::Missing { digest } if digest == &stored.digest), "{error:?}");
    assert_eq!(error.code(), "blob_missing");
    assert_eq!(download(&store, &stored.digest).await.unwrap_err().code(), "blob_missing");
    assert!(!store.exists(&stored.digest).await.unwrap());
    assert_eq!(store.size(&stored.digest).await.unwrap_err().code(), "blob_missing");
}

#[tokio::test]
async fn garbage_collection_removes_only_old_unreferenced_blobs() {
    let (dir, store) = local_store();
    let referenced = store.ingest_bytes(b"evidence with a record").await.unwrap();
    let orphan = store.ingest_bytes(b"upload whose record never landed").await.unwrap();
    let young = store.ingest_bytes(b"upload whose record is on its way").await.unwrap();
    let two_days_ago = SystemTime::now() - Duration::from_secs(2 * 24 * 3600);
    for digest in [&referenced.digest, &orphan.digest] {
        set_mtime(&blob_file(&dir, digest), two_days_ago);
    }
    // A staging file left by a crash two days ago, and one being written right now.
    let stale = root(&dir).join("staging").join("crashed-upload");
    std::fs::write(&stale, b"partial").unwrap();
    set_mtime(&stale, two_days_ago);
    let live = root(&dir).join("staging").join("live-upload");
    std::fs::write(&live, b"in progress").unwrap();
    let foreign = root(&dir).join("sha256").join("README");
    std::fs::write(&foreign, b"not a blob").unwrap();
    set_mtime(&foreign, two_days_ago);

    let grace = Utc::now() - chrono::Duration::hours(24);
    let report = store.collect_garbage(&HashSet::from([referenced.digest.clone()]), grace).await.unwrap();

    assert_eq!(report.deleted.iter().map(|blob| &blob.digest).collect::<Vec<_>>(), [&orphan.digest]);
    assert_eq!(report.deleted[0].size, orphan.size);
    assert_eq!((report.referenced, report.recent, report.staging_deleted), (1, 1, 1));
    assert_eq!(store.verify(&orphan.digest).await.unwrap_err().code(), "blob_missing");
    store.verify(&referenced.digest).await.unwrap();
    store.verify(&young.digest).await.unwrap();
    assert!(!stale.exists() && live.exists() && foreign.exists());
}

#[tokio::test]
async fn ingesting_an_old_orphan_again_protects_it_from_collection() {
    let (dir, store) = local_store();
    let stored = store.ingest_bytes(b"uploaded once, record lost, uploaded again").await.unwrap();
    set_mtime(&blob_file(&dir, &stored.digest), SystemTime::now() - Duration::from_secs(3 * 24 * 3600));

    let again = store.ingest_bytes(b"uploaded once, record lost, uploaded again").await.unwrap();
    assert!(again.already_present);
    // The garbage collector runs before the new record lands: the blob must survive.
    let report = store.collect_garbage(&HashSet::new(), Utc::now() - chrono::Duration::hours(24)).await.unwrap();

    assert_eq!((report.deleted.len(), report.recent), (0, 1));
    store.verify(&stored.digest).await.unwrap();
}

#[tokio::test]
async fn a_dropped_ingest_places_nothing() {
    let (dir, store) = local_store();
    // Three MiB arrive, then the client stalls; the server gives up on the upload.
    let stalled = Stalling { data: Generated::new(3, 3 * MIB) };
    let outcome = tokio::time::timeout(Duration::from_millis(500), store.ingest(stalled, None)).await;
    assert!(outcome.is_err(), "the ingest should still be waiting for input");

    // The staging writer notices the abandoned queue and removes its file.
    for _ in 0..100 {
        if staging_files(&dir).is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(files_under(&root(&dir)), Vec::<PathBuf>::new());
}

#[tokio::test]
async fn a_failing_input_is_an_error_and_leaves_nothing() {
    let (dir, store) = local_store();
    let failing = Failing { data: Generated::new(4, 3 * MIB) };
    let error = store.ingest(failing, None).await.unwrap_err();
    assert!(matches!(error, BlobError::Read { .. }), "{error:?}");
    assert_eq!(error.code(), "blob_io");
    assert!(error.to_string().contains("connection reset by the uploader"), "{error}");
    assert_eq!(files_under(&root(&dir)), Vec::<PathBuf>::new());
}

#[tokio::test]
async fn reopening_a_store_finds_its_blobs() {
    let (dir, store) = local_store();
    let stored = store.ingest_bytes(b"kept across restarts").await.unwrap();
    drop(store);
    let reopened = BlobStore::open(&BlobConfig::parse(root(&dir).to_str().unwrap()).unwrap()).unwrap();
    assert_eq!(reopened.read_all(&stored.digest, 100).await.unwrap(), b"kept across restarts");
    assert!(reopened.name().contains("local directory"), "{}", reopened.name());
}

#[tokio::test]
async fn a_store_that_cannot_be_created_says_where() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("not-a-directory");
    std::fs::write(&blocker, b"a file in the way").unwrap();
    let error = BlobStore::open(&BlobConfig::local(blocker.join("evidence"))).unwrap_err();
    assert_eq!(error.code(), "blob_io");
    assert!(error.to_string().contains("not-a-directory"), "{error}");
}

fn make_writable(file: &Path) {
    let mut permissions = std::fs::metadata(file).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    permissions.set_readonly(false);
    std::fs::set_permissions(file, permissions).unwrap();
}

fn set_mtime(file: &Path, when: SystemTime) {
    std::fs::File::open(file).unwrap().set_modified(when).unwrap();
}

/// Hands out its data, then never answers again (a client that stalls mid-upload).
struct Stalling {
    data: Generated,
}

impl AsyncRead for Stalling {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.data).poll_read(cx, buf) {
            Poll::Ready(Ok(())) if buf.filled().len() == before => Poll::Pending,
            other => other,
        }
    }
}

/// Hands out its data, then fails (a connection reset mid-upload).
struct Failing {
    data: Generated,
}

impl AsyncRead for Failing {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.data).poll_read(cx, buf) {
            Poll::Ready(Ok(())) if buf.filled().len() == before => Poll::Ready(Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "connection reset by the uploader",
            ))),
            other => other,
        }
    }
}
