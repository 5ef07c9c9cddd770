//! The evidence blob store: the bytes of evidence files, behind [`object_store`].
//!
//! Records about evidence (who, when, which controls) live in the SQL store; this crate keeps
//! only bytes, knows nothing of databases or organisations, and gives these guarantees:
//!
//! - **Content addressing.** A blob is stored under the SHA-256 of its bytes, at
//!   `sha256/<first 2 hex>/<64 hex>`. The digest is computed while the bytes stream past, in
//!   bounded memory (a few MiB locally, at most ~40 MiB for S3), whatever the size. Identical
//!   bytes are stored once ([`Ingested::already_present`]).
//! - **Durability before acknowledgement.** [`BlobStore::ingest`] returns only after the bytes
//!   are durable and placed under the digest computed from them: locally the file and the
//!   directory entry are `fsync`ed; on S3 the upload (each part checked by the server against
//!   its SHA-256) and the copy under the digest have completed. A caller records the evidence
//!   only after that, so a record never points at bytes that are not there.
//! - **Immutability.** Bytes are written once, to a unique staging name, and moved under their
//!   digest only when complete; a placed blob is never written again (locally it is read-only
//!   and placed with `link(2)`, which cannot replace an existing name). A correction is a new
//!   blob with a new digest. An ingest that fails, is over its limit, or is dropped midway
//!   places nothing.
//! - **Nothing deletes but garbage collection.** [`BlobStore::collect_garbage`] removes blobs
//!   that no record references and that are older than a grace time (an upload whose record
//!   never landed), and stale staging objects. No other call removes a placed blob.
//! - **Reads are verified.** [`BlobStore::get`] streams exactly the stored bytes and re-hashes
//!   them on the way: if they no longer match the digest, the stream ends with
//!   [`BlobError::Corrupt`] instead of ending cleanly, so damaged bytes are never served as
//!   good. [`BlobStore::verify`] does the same without keeping the bytes.
//! - **Media types from content.** [`Ingested::media_type`] is sniffed from the first 8 KiB
//!   ([`sniff`]), never taken from a file name.
//!
//! Backends ([`BlobConfig`]): the local file system under the data directory (the default), or
//! any S3-compatible store (`s3://bucket?endpoint=…&region=…`, credentials from the environment).
//! On S3 one blob is at most 5 GiB (the largest object S3 copies in one request), and the bucket
//! should have a lifecycle rule that aborts incomplete multipart uploads (an upload cut by a
//! crash leaves parts that are not objects, which no listing shows).
//!
//! ```no_run
//! # async fn example() -> Result<(), evident_evidence::BlobError> {
//! use evident_evidence::{BlobConfig, BlobStore};
//!
//! let store = BlobStore::open(&BlobConfig::parse("/var/lib/evident/evidence")?)?;
//! let file = tokio::fs::File::open("access-review-q3.pdf").await.expect("a file");
//! let stored = store.ingest(file, Some(100 * 1024 * 1024)).await?;
//! // … only now write the evidence record: stored.digest, stored.size, stored.media_type
//! let bytes = store.read_all(&stored.digest, 100 * 1024 * 1024).await?;
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]

mod bulk;
mod config;
mod error;
mod local;
mod remote;
mod sniff;
#[cfg(feature = "testkit")]
pub mod testkit;

use std::collections::HashSet;
use std::fmt;
use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use chrono::{DateTime, Utc};
use evident_core::Sha256Digest;
use futures::stream::{self, BoxStream, Stream, StreamExt, TryStreamExt};
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey, Checksum};
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::prefix::PrefixStore;
use object_store::{
    BackoffConfig, ClientOptions, GetResultPayload, ObjectMeta, ObjectStore, ObjectStoreExt, RetryConfig,
};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncReadExt};

pub use bulk::{BulkError, DEFAULT_CONCURRENCY, ingest_all, ingest_all_reporting, ingest_each};
pub use config::{BlobConfig, S3Config, S3Credentials};
pub use error::BlobError;
pub use sniff::{SNIFF_LEN, sniff, sniff_prefix};

/// Where placed blobs live, under the store's root.
const BLOBS: &str = "sha256";
/// Where bytes are written before their digest is known.
const STAGING: &str = "staging";
/// Size of the chunks read from an input.
const CHUNK: usize = 1024 * 1024;
/// Chunks smaller than this are hashed in place rather than on a blocking thread.
const HASH_INLINE_BELOW: usize = 64 * 1024;
/// The largest object S3 copies in one request, hence the largest blob on S3.
pub const S3_MAX_BLOB: u64 = 5 * 1024 * 1024 * 1024;

/// What [`BlobStore::ingest`] stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ingested {
    pub digest: Sha256Digest,
    pub size: u64,
    /// Sniffed from the bytes ([`sniff`]).
    pub media_type: &'static str,
    /// The same bytes were stored before; nothing new was written. The stored copy was read
    /// back and verified first: identical bytes are acknowledged only if they still are.
    pub already_present: bool,
}

/// A placed blob, as [`BlobStore::list`] finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredBlob {
    pub digest: Sha256Digest,
    pub size: u64,
    /// When it was placed, or last ingested again.
    pub last_modified: DateTime<Utc>,
}

/// What [`BlobStore::collect_garbage`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GcReport {
    /// Blobs kept because a record references them.
    pub referenced: u64,
    /// Unreferenced blobs kept because they are younger than the grace time (their record may
    /// still be on its way).
    pub recent: u64,
    /// Blobs removed, for the caller's audit log.
    pub deleted: Vec<StoredBlob>,
    /// Abandoned staging objects removed.
    pub staging_deleted: u64,
}

/// The stored bytes of one blob, as a stream of chunks, verified as they pass: if the bytes no
/// longer hash to the digest, the last item is [`BlobError::Corrupt`].
pub struct BlobStream {
    size: u64,
    chunks: BoxStream<'static, Result<Bytes, BlobError>>,
}

impl BlobStream {
    /// The stored size, known before the first byte (for `Content-Length`).
    pub fn size(&self) -> u64 {
        self.size
    }
}

impl Stream for BlobStream {
    type Item = Result<Bytes, BlobError>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.chunks.poll_next_unpin(cx)
    }
}

impl fmt::Debug for BlobStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlobStream").field("size", &self.size).finish_non_exhaustive()
    }
}

/// The evidence blob store. Cheap to clone; clones share one connection pool.
#[derive(Clone)]
pub struct BlobStore {
    inner: Arc<Inner>,
}

struct Inner {
    objects: Arc<dyn ObjectStore>,
    backend: Backend,
    /// How messages name the store: the directory, or the bucket and its endpoint.
    name: String,
    redactor: Redactor,
}

enum Backend {
    Local { root: PathBuf },
    S3,
}

impl fmt::Debug for BlobStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("BlobStore").field(&self.inner.name).finish()
    }
}

impl BlobStore {
    /// Opens the store. A local directory is created if missing (mode 0700 on Unix, with its
    /// `sha256/` and `staging/` subdirectories). Opening an S3 store sends no request: the first
    /// operation reports whether the bucket can be reached.
    pub fn open(config: &BlobConfig) -> Result<Self, BlobError> {
        let inner = match config {
            BlobConfig::Local { dir } => open_local(dir, config.to_string())?,
            BlobConfig::S3(s3) => open_s3(s3)?,
        };
        Ok(Self { inner: Arc::new(inner) })
    }

    /// How messages name this store (a directory, or a bucket and its endpoint).
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// Streams `reader` into the store and returns its digest, size and media type once the
    /// bytes are durable under their digest (see the crate documentation).
    ///
    /// Refuses an empty input ([`BlobError::Empty`]) and one over `limit` bytes
    /// ([`BlobError::TooLarge`], also over [`S3_MAX_BLOB`] on S3); a refused or failed ingest
    /// leaves nothing behind. Dropping the future midway places nothing either (its staging
    /// file is removed; on S3 an incomplete multipart upload is left to the bucket's lifecycle
    /// rule).
    pub async fn ingest<R>(&self, mut reader: R, limit: Option<u64>) -> Result<Ingested, BlobError>
    where
        R: AsyncRead + Unpin + Send,
    {
        let limit = match self.inner.backend {
            Backend::Local { .. } => limit,
            Backend::S3 => Some(limit.map_or(S3_MAX_BLOB, |limit| limit.min(S3_MAX_BLOB))),
        };
        let first = read_chunk(&mut reader).await?;
        if first.is_empty() {
            return Err(BlobError::Empty);
        }
        let mut staging = self.stage().await?;
        let streamed = match self.stream(&mut reader, first, &mut staging, limit).await {
            Ok(streamed) => streamed,
            Err(error) => {
                staging.discard().await;
                return Err(error);
            }
        };
        let Streamed { digest, size, head } = streamed;
        let media_type = if head.len() as u64 == size { sniff(&head) } else { sniff_prefix(&head) };
        let already_present = self.place(staging, &digest).await?;
        Ok(Ingested { digest, size, media_type, already_present })
    }

    /// Stores bytes already in memory (structured evidence: a check's JSON result, an API
    /// payload). The same guarantees as [`ingest`](Self::ingest), without a limit.
    pub async fn ingest_bytes(&self, bytes: &[u8]) -> Result<Ingested, BlobError> {
        self.ingest(bytes, None).await
    }

    /// The stored bytes, streamed and verified on the way ([`BlobStream`]).
    pub async fn get(&self, digest: &Sha256Digest) -> Result<BlobStream, BlobError> {
        let found =
            self.inner.objects.get(&blob_path(digest)).await.map_err(|e| self.found_error(e, "read", digest))?;
        let size = found.meta.size;
        let chunks = match found.payload {
            // A local file: read it in larger chunks than object_store's 8 KiB.
            GetResultPayload::File(file, _) => self.file_chunks(file),
            GetResultPayload::Stream(chunks) => {
                let this = self.clone();
                chunks.map_err(move |e| this.object_error(e, "read")).boxed()
            }
        };
        Ok(BlobStream { size, chunks: verified(chunks, digest.clone()) })
    }

    /// The whole blob in memory, verified; refused with [`BlobError::TooLarge`] over `max` bytes.
    pub async fn read_all(&self, digest: &Sha256Digest, max: u64) -> Result<Vec<u8>, BlobError> {
        let mut blob = self.get(digest).await?;
        if blob.size() > max {
            return Err(BlobError::TooLarge { limit: max });
        }
        let mut bytes = Vec::with_capacity(usize::try_from(blob.size()).unwrap_or(0));
        while let Some(chunk) = blob.try_next().await? {
            bytes.extend_from_slice(&chunk);
        }
        Ok(bytes)
    }

    pub async fn exists(&self, digest: &Sha256Digest) -> Result<bool, BlobError> {
        match self.size(digest).await {
            Ok(_) => Ok(true),
            Err(BlobError::Missing { .. }) => Ok(false),
            Err(error) => Err(error),
        }
    }

    /// The stored size in bytes.
    pub async fn size(&self, digest: &Sha256Digest) -> Result<u64, BlobError> {
        let meta =
            self.inner.objects.head(&blob_path(digest)).await.map_err(|e| self.found_error(e, "read", digest))?;
        Ok(meta.size)
    }

    /// Re-reads the stored bytes and checks that they still hash to `digest`:
    /// [`BlobError::Missing`] or [`BlobError::Corrupt`] otherwise.
    pub async fn verify(&self, digest: &Sha256Digest) -> Result<(), BlobError> {
        let mut blob = self.get(digest).await?;
        while blob.try_next().await?.is_some() {}
        Ok(())
    }

    /// Every placed blob, in no particular order. Files that are not blobs are skipped.
    pub fn list(&self) -> BoxStream<'static, Result<StoredBlob, BlobError>> {
        let this = self.clone();
        self.inner
            .objects
            .list(Some(&Path::from(BLOBS)))
            .filter_map(move |item| {
                let blob = match item {
                    Ok(meta) => stored_blob(&meta).map(Ok),
                    Err(error) => Some(Err(this.object_error(error, "list the stored blobs"))),
                };
                std::future::ready(blob)
            })
            .boxed()
    }

    /// Removes the blobs that no record references and that were placed (or last ingested
    /// again) before `older_than`, and the staging objects older than that (left by crashed
    /// ingests). Nothing else in evident deletes a blob.
    ///
    /// `older_than` is the grace time: it must be earlier than the start of any ingest whose
    /// record may still be written (e.g. now − 24 h), so that a blob stored a moment ago, whose
    /// record is about to land, is never taken.
    pub async fn collect_garbage(
        &self,
        referenced: &HashSet<Sha256Digest>,
        older_than: DateTime<Utc>,
    ) -> Result<GcReport, BlobError> {
        let mut report = GcReport::default();
        let mut blobs = self.list();
        while let Some(blob) = blobs.try_next().await? {
            if referenced.contains(&blob.digest) {
                report.referenced += 1;
            } else if blob.last_modified >= older_than {
                report.recent += 1;
            } else if self.delete(&blob_path(&blob.digest)).await? {
                report.deleted.push(blob);
            }
        }
        let mut staged = self.inner.objects.list(Some(&Path::from(STAGING)));
        while let Some(meta) = staged.try_next().await.map_err(|e| self.object_error(e, "list the staging area"))? {
            if meta.last_modified < older_than && self.delete(&meta.location).await? {
                report.staging_deleted += 1;
            }
        }
        Ok(report)
    }

    /// Deletes one object; whether it was there.
    async fn delete(&self, path: &Path) -> Result<bool, BlobError> {
        match self.inner.objects.delete(path).await {
            Ok(()) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(error) => Err(self.object_error(error, "delete an unreferenced blob")),
        }
    }

    async fn stage(&self) -> Result<Staging, BlobError> {
        match &self.inner.backend {
            Backend::Local { root } => local::LocalStaging::create(root)
                .await
                .map(Staging::Local)
                .map_err(|e| self.io_error("create a staging file", e)),
            Backend::S3 => {
                let path = Path::from_iter([STAGING, &uuid::Uuid::new_v4().to_string()]);
                Ok(Staging::Remote(remote::RemoteStaging::new(self.inner.objects.clone(), path)))
            }
        }
    }

    /// Hashes and writes every chunk. While chunk N is hashed (on a blocking thread) it is
    /// also being written, and chunk N+1 is being read.
    async fn stream<R>(
        &self,
        reader: &mut R,
        first: Bytes,
        staging: &mut Staging,
        limit: Option<u64>,
    ) -> Result<Streamed, BlobError>
    where
        R: AsyncRead + Unpin + Send,
    {
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        let mut head = Vec::with_capacity(SNIFF_LEN);
        let mut next = first;
        while !next.is_empty() {
            let chunk = next;
            size += chunk.len() as u64;
            if let Some(limit) = limit
                && size > limit
            {
                return Err(BlobError::TooLarge { limit });
            }
            if head.len() < SNIFF_LEN {
                let wanted = (SNIFF_LEN - head.len()).min(chunk.len());
                head.extend_from_slice(&chunk[..wanted]);
            }
            let (hashed, written, read) =
                tokio::join!(hash(hasher, chunk.clone()), self.write(staging, chunk), read_chunk(reader));
            hasher = hashed.map_err(|e| self.io_error("hash the evidence", e))?;
            written?;
            next = read?;
        }
        let digest = Sha256Digest::from_bytes(hasher.finalize().into());
        Ok(Streamed { digest, size, head })
    }

    async fn write(&self, staging: &mut Staging, chunk: Bytes) -> Result<(), BlobError> {
        match staging {
            Staging::Local(file) => file.write(chunk).await.map_err(|e| self.io_error("write a staging file", e)),
            Staging::Remote(upload) => {
                upload.write(chunk).await.map_err(|e| self.object_error(e, "upload the evidence"))
            }
        }
    }

    /// Puts the complete staging object under its digest; whether it was there already.
    async fn place(&self, staging: Staging, digest: &Sha256Digest) -> Result<bool, BlobError> {
        match staging {
            Staging::Local(file) => {
                let root = file.root().to_path_buf();
                let staged = file.finish().await.map_err(|e| self.io_error("write a staging file to disk", e))?;
                let (dir, owned) = (root.clone(), digest.clone());
                let already_present = blocking(move || local::place(&dir, &staged, &owned))
                    .await
                    .map_err(|e| self.io_error("place the evidence under its digest", e))?;
                if already_present {
                    // Identical bytes are acknowledged only if the stored copy still is identical.
                    self.verify(digest).await?;
                    let owned = digest.clone();
                    blocking(move || local::touch(&root, &owned))
                        .await
                        .map_err(|e| self.io_error("mark a stored blob as ingested again", e))?;
                }
                Ok(already_present)
            }
            Staging::Remote(upload) => {
                let staged_path = upload.path().clone();
                let placed = self.place_remote(upload, digest).await;
                if let Err(error) = self.inner.objects.delete(&staged_path).await
                    && !matches!(error, object_store::Error::NotFound { .. })
                {
                    // Harmless: garbage collection removes stale staging objects.
                    tracing::warn!(store = %self.inner.name, "could not remove a staging object: {}", self.inner.redactor.clean(&error.to_string()));
                }
                placed
            }
        }
    }

    async fn place_remote(&self, upload: remote::RemoteStaging, digest: &Sha256Digest) -> Result<bool, BlobError> {
        let staged = upload.finish().await.map_err(|e| self.object_error(e, "upload the evidence"))?;
        let target = blob_path(digest);
        let present = match self.inner.objects.head(&target).await {
            Ok(meta) => Some(meta),
            Err(object_store::Error::NotFound { .. }) => None,
            Err(error) => return Err(self.object_error(error, "look for an identical stored blob")),
        };
        if present.is_some() {
            // Identical bytes are acknowledged only if the stored copy still is identical.
            self.verify(digest).await?;
        }
        // The copy over a blob already there rewrites the same bytes: its new modification time
        // keeps garbage collection away while the record that references it lands.
        self.inner
            .objects
            .copy(&staged, &target)
            .await
            .map_err(|e| self.object_error(e, "place the evidence under its digest"))?;
        Ok(present.is_some())
    }

    fn file_chunks(&self, file: std::fs::File) -> BoxStream<'static, Result<Bytes, BlobError>> {
        let this = self.clone();
        stream::try_unfold(Some(file), move |file| {
            let this = this.clone();
            async move {
                let Some(mut file) = file else { return Ok(None) };
                let read = tokio::task::spawn_blocking(move || {
                    let mut buf = vec![0; local::READ_CHUNK];
                    let n = local::read_full(&mut file, &mut buf)?;
                    buf.truncate(n);
                    Ok::<_, io::Error>((file, buf))
                })
                .await
                .map_err(io::Error::other)
                .and_then(|read| read);
                let (file, buf) = read.map_err(|e| this.io_error("read a stored blob", e))?;
                Ok((!buf.is_empty()).then(|| (Bytes::from(buf), Some(file))))
            }
        })
        .boxed()
    }

    /// An error reading the object for `digest`: `Missing` when it is not there.
    fn found_error(&self, error: object_store::Error, action: &'static str, digest: &Sha256Digest) -> BlobError {
        match error {
            object_store::Error::NotFound { .. } => BlobError::Missing { digest: digest.clone() },
            error => self.object_error(error, action),
        }
    }

    fn object_error(&self, error: object_store::Error, action: &'static str) -> BlobError {
        match self.inner.backend {
            Backend::Local { .. } => self.io_error(action, io::Error::from(error)),
            Backend::S3 => BlobError::Unavailable {
                store: self.inner.name.clone(),
                action,
                reason: self.inner.redactor.clean(&describe(&error)),
            },
        }
    }

    fn io_error(&self, action: &'static str, source: io::Error) -> BlobError {
        BlobError::Io { store: self.inner.name.clone(), action, source }
    }
}

struct Streamed {
    digest: Sha256Digest,
    size: u64,
    head: Vec<u8>,
}

#[derive(Debug)]
enum Staging {
    Local(local::LocalStaging),
    Remote(remote::RemoteStaging),
}

impl Staging {
    async fn discard(self) {
        match self {
            Self::Local(file) => file.discard().await,
            Self::Remote(upload) => upload.discard().await,
        }
    }
}

fn open_local(dir: &std::path::Path, name: String) -> Result<Inner, BlobError> {
    let io_error = |action, source| BlobError::Io { store: name.clone(), action, source };
    local::prepare(dir).map_err(|e| io_error("create its directories", e))?;
    let root = std::fs::canonicalize(dir).map_err(|e| io_error("open its directory", e))?;
    let objects =
        LocalFileSystem::new_with_prefix(&root).map_err(|e| io_error("open its directory", io::Error::from(e)))?;
    Ok(Inner { objects: Arc::new(objects), backend: Backend::Local { root }, name, redactor: Redactor::default() })
}

fn open_s3(s3: &S3Config) -> Result<Inner, BlobError> {
    // Transient failures are retried a few times with backoff (about 3 s in all for a server
    // that refuses connections), then reported: an upload waits on the store only so long.
    let retry = RetryConfig {
        backoff: BackoffConfig {
            init_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
            base: 2.0,
        },
        max_retries: 5,
        retry_timeout: Duration::from_secs(60),
    };
    // Client options first: `with_client_options` replaces them all, `allow_http` included.
    let mut builder = AmazonS3Builder::from_env()
        .with_client_options(ClientOptions::new().with_connect_timeout(Duration::from_secs(5)))
        .with_allow_http(s3.allow_http)
        .with_bucket_name(&s3.bucket)
        // The server checks each request body against its SHA-256: what it stores is what was hashed.
        .with_checksum_algorithm(Checksum::SHA256)
        .with_retry(retry);
    if let Some(region) = &s3.region {
        builder = builder.with_region(region);
    }
    if let Some(endpoint) = &s3.endpoint {
        builder = builder.with_endpoint(endpoint);
    }
    if let Some(credentials) = &s3.credentials {
        builder = builder
            .with_access_key_id(&credentials.access_key_id)
            .with_secret_access_key(&credentials.secret_access_key);
        if let Some(token) = &credentials.session_token {
            builder = builder.with_token(token);
        }
    }
    let redactor = Redactor(
        [AmazonS3ConfigKey::AccessKeyId, AmazonS3ConfigKey::SecretAccessKey, AmazonS3ConfigKey::Token]
            .iter()
            .filter_map(|key| builder.get_config_value(key))
            .filter(|secret| !secret.is_empty())
            .collect(),
    );
    let mut name = format!("S3 bucket {}", s3.bucket);
    if let Some(prefix) = &s3.prefix {
        name = format!("{name}/{prefix}");
    }
    match builder.get_config_value(&AmazonS3ConfigKey::Endpoint) {
        Some(endpoint) => name = format!("{name} at {}", redactor.clean(&endpoint)),
        None => name = format!("{name} on AWS"),
    }
    let store = builder.build().map_err(|e| BlobError::Config(format!("{name}: {}", redactor.clean(&describe(&e)))))?;
    let objects: Arc<dyn ObjectStore> = match &s3.prefix {
        Some(prefix) => Arc::new(PrefixStore::new(store, prefix.as_str())),
        None => Arc::new(store),
    };
    Ok(Inner { objects, backend: Backend::S3, name, redactor })
}

/// The secrets a message must never show; replaced by `[redacted]` in every error text from the
/// S3 client (a server's error body can echo the access key id).
#[derive(Default)]
struct Redactor(Vec<String>);

impl Redactor {
    fn clean(&self, text: &str) -> String {
        self.0.iter().fold(text.to_owned(), |text, secret| text.replace(secret.as_str(), "[redacted]"))
    }
}

/// An object-store error in one line, the root cause first (`Connection refused (os error
/// 111)`), then the client's own account (the request, the retries).
fn describe(error: &object_store::Error) -> String {
    let message = error.to_string();
    let mut root: &dyn std::error::Error = error;
    while let Some(source) = root.source() {
        root = source;
    }
    let cause = root.to_string();
    if cause == message { message } else { format!("{cause}; {message}") }
}

/// `sha256/ab/abcdef…`
fn blob_path(digest: &Sha256Digest) -> Path {
    let hex = digest.as_str();
    Path::from_iter([BLOBS, &hex[..2], hex])
}

/// The blob at `meta.location`, if it is one (`sha256/<2 hex>/<64 hex>`).
fn stored_blob(meta: &ObjectMeta) -> Option<StoredBlob> {
    let parts: Vec<_> = meta.location.parts().collect();
    let [top, fan, name] = parts.as_slice() else { return None };
    let digest = Sha256Digest::parse(name.as_ref()).ok()?;
    let in_place = top.as_ref() == BLOBS && fan.as_ref() == &digest.as_str()[..2] && name.as_ref() == digest.as_str();
    in_place.then_some(StoredBlob { digest, size: meta.size, last_modified: meta.last_modified })
}

/// Runs blocking file-system work off the async threads.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> io::Result<T> + Send + 'static) -> io::Result<T> {
    tokio::task::spawn_blocking(work).await.map_err(io::Error::other)?
}

/// Reads up to [`CHUNK`] bytes; empty at the end of the input.
async fn read_chunk<R: AsyncRead + Unpin>(reader: &mut R) -> Result<Bytes, BlobError> {
    let mut buf = BytesMut::with_capacity(CHUNK);
    while buf.len() < CHUNK {
        let n = reader.read_buf(&mut buf).await.map_err(|source| BlobError::Read { source })?;
        if n == 0 {
            break;
        }
    }
    Ok(buf.freeze())
}

async fn hash(mut hasher: Sha256, chunk: Bytes) -> io::Result<Sha256> {
    if chunk.len() < HASH_INLINE_BELOW {
        hasher.update(&chunk);
        return Ok(hasher);
    }
    tokio::task::spawn_blocking(move || {
        hasher.update(&chunk);
        hasher
    })
    .await
    .map_err(io::Error::other)
}

/// Passes the chunks through, hashing them; at the end, a mismatch becomes `Corrupt`.
fn verified(
    chunks: BoxStream<'static, Result<Bytes, BlobError>>,
    expected: Sha256Digest,
) -> BoxStream<'static, Result<Bytes, BlobError>> {
    stream::unfold(Some((chunks, Sha256::new(), expected)), |state| async move {
        let (mut chunks, mut hasher, expected) = state?;
        match chunks.next().await {
            Some(Ok(chunk)) => {
                hasher.update(&chunk);
                Some((Ok(chunk), Some((chunks, hasher, expected))))
            }
            Some(Err(error)) => Some((Err(error), None)),
            None => {
                let actual = Sha256Digest::from_bytes(hasher.finalize().into());
                (actual != expected).then_some((Err(BlobError::Corrupt { expected, actual }), None))
            }
        }
    })
    .boxed()
}
