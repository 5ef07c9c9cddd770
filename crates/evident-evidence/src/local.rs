//! The local file system backend's writes.
//!
//! Reads, listing and garbage collection go through `object_store`'s `LocalFileSystem`, like
//! every backend. Writes do not: `LocalFileSystem::put` never calls `fsync`, so a blob it wrote
//! could be acknowledged and then lost (or come back truncated) after a power cut. Here the
//! staging file is written by a blocking thread, synced, and only then linked under its digest
//! with `link(2)`, which refuses to replace an existing name (identical bytes are stored once,
//! and nothing ever overwrites a placed blob), and the directory holding the new name is synced
//! before `ingest` returns.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use bytes::Bytes;
use evident_core::Sha256Digest;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::{BLOBS, STAGING};

/// Chunks queued between the hashing side and the writing thread (at most this many MiB held).
const QUEUED_CHUNKS: usize = 4;
/// Start the disk writing this often during a long ingest, so that the final `fsync` does not
/// have gigabytes of dirty pages to flush at once, and memory pressure stays low.
const SYNC_EVERY: u64 = 64 * 1024 * 1024;
/// Size of the chunks a local blob is read in.
pub(crate) const READ_CHUNK: usize = 256 * 1024;

/// Creates the store's directory tree: `sha256/00` … `sha256/ff` and `staging/`, private to the
/// owner. Creating every fan-out directory up front means a placement never creates one, so the
/// only directory entry it must make durable is the blob's own.
pub(crate) fn prepare(root: &Path) -> io::Result<()> {
    create_dir_all_private(root)?;
    let blobs = root.join(BLOBS);
    let mut created = create_dir_private(&blobs)?;
    created |= create_dir_private(&root.join(STAGING))?;
    if created {
        sync_dir(root)?;
    }
    let mut created = false;
    for byte in 0..=255u8 {
        created |= create_dir_private(&blobs.join(format!("{byte:02x}")))?;
    }
    if created {
        sync_dir(&blobs)?;
    }
    Ok(())
}

/// Where the blob with this digest lives.
pub(crate) fn blob_file(root: &Path, digest: &Sha256Digest) -> PathBuf {
    let hex = digest.as_str();
    root.join(BLOBS).join(&hex[..2]).join(hex)
}

/// A staging file being written by a blocking thread, fed through a bounded queue so that the
/// caller hashes (and reads) the next chunk while this one goes to disk.
#[derive(Debug)]
pub(crate) struct LocalStaging {
    root: PathBuf,
    path: PathBuf,
    queue: mpsc::Sender<Option<Bytes>>,
    writer: JoinHandle<io::Result<()>>,
}

impl LocalStaging {
    pub(crate) async fn create(root: &Path) -> io::Result<Self> {
        let path = root.join(STAGING).join(uuid::Uuid::new_v4().to_string());
        let file = {
            let path = path.clone();
            tokio::task::spawn_blocking(move || create_private_file(&path)).await.map_err(io::Error::other)??
        };
        let (queue, received) = mpsc::channel(QUEUED_CHUNKS);
        let writer = {
            let path = path.clone();
            tokio::task::spawn_blocking(move || write_staging(file, &path, received))
        };
        Ok(Self { root: root.to_path_buf(), path, queue, writer })
    }

    /// The store's root directory.
    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    pub(crate) async fn write(&mut self, chunk: Bytes) -> io::Result<()> {
        if self.queue.send(Some(chunk)).await.is_ok() {
            return Ok(());
        }
        // The writer stopped early: its result says why.
        match (&mut self.writer).await.map_err(io::Error::other)? {
            Ok(()) => Err(io::Error::other("the staging writer stopped before the end of the input")),
            Err(error) => Err(error),
        }
    }

    /// Waits until every byte is on disk (`fsync`), and returns the staging file's path.
    pub(crate) async fn finish(self) -> io::Result<PathBuf> {
        // A failed send means the writer already stopped with an error; awaiting it reports it.
        let _ = self.queue.send(None).await;
        self.writer.await.map_err(io::Error::other)??;
        Ok(self.path)
    }

    /// Abandons the staging file; the writer removes it before this returns.
    pub(crate) async fn discard(self) {
        drop(self.queue);
        let _ = self.writer.await;
    }
}

fn write_staging(mut file: File, path: &Path, mut queue: mpsc::Receiver<Option<Bytes>>) -> io::Result<()> {
    let mut unsynced = 0u64;
    let mut write = || -> io::Result<bool> {
        while let Some(message) = queue.blocking_recv() {
            let Some(chunk) = message else {
                set_read_only(&file)?;
                file.sync_all()?;
                return Ok(true);
            };
            file.write_all(&chunk)?;
            unsynced += chunk.len() as u64;
            if unsynced >= SYNC_EVERY {
                file.sync_data()?;
                unsynced = 0;
            }
        }
        // The queue closed without the end marker: the ingest failed or was dropped.
        Ok(false)
    };
    let outcome = write();
    if !matches!(outcome, Ok(true)) {
        drop(file);
        let _ = fs::remove_file(path);
    }
    match outcome {
        Ok(true) => Ok(()),
        Ok(false) => Err(io::Error::other("the ingest was abandoned")),
        Err(error) => Err(error),
    }
}

/// Links the synced staging file under its digest (never replacing an existing blob), syncs the
/// directory, and removes the staging name. Whether the digest was stored already. Blocking.
pub(crate) fn place(root: &Path, staging: &Path, digest: &Sha256Digest) -> io::Result<bool> {
    let target = blob_file(root, digest);
    let dir = target.parent().unwrap_or(root).to_path_buf();
    let linked = match fs::hard_link(staging, &target) {
        Err(error) if error.kind() == io::ErrorKind::NotFound && !dir.exists() => {
            // Someone removed a fan-out directory: make it again, durably, and retry once.
            create_dir_private(&dir)?;
            sync_dir(dir.parent().unwrap_or(root))?;
            fs::hard_link(staging, &target)
        }
        other => other,
    };
    let already_present = match linked {
        Ok(()) => {
            sync_dir(&dir)?;
            false
        }
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => true,
        Err(error) => return Err(error),
    };
    fs::remove_file(staging)?;
    Ok(already_present)
}

/// Marks a stored blob as just ingested again: garbage collection spares blobs younger than its
/// grace time, and the record about to reference this one makes it young again. Changes the
/// file's time only, never its bytes. Blocking.
pub(crate) fn touch(root: &Path, digest: &Sha256Digest) -> io::Result<()> {
    File::open(blob_file(root, digest))?.set_modified(SystemTime::now())
}

/// Reads up to `buf.len()` bytes, fewer only at the end of the file.
pub(crate) fn read_full(file: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(filled)
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    // On Unix a directory opened read-only can be synced; elsewhere there is no such call.
    #[cfg(unix)]
    File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

fn create_private_file(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

/// Placed blobs are read-only: nothing in evident writes to them again.
fn set_read_only(file: &File) -> io::Result<()> {
    let mut permissions = file.metadata()?.permissions();
    #[cfg(unix)]
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o400);
    #[cfg(not(unix))]
    permissions.set_readonly(true);
    file.set_permissions(permissions)
}

fn dir_builder() -> fs::DirBuilder {
    #[allow(unused_mut)]
    let mut builder = fs::DirBuilder::new();
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
}

fn create_dir_all_private(dir: &Path) -> io::Result<()> {
    dir_builder().recursive(true).create(dir)
}

/// Creates one directory; whether it was new.
fn create_dir_private(dir: &Path) -> io::Result<bool> {
    match dir_builder().create(dir) {
        Ok(()) => Ok(true),
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists && dir.is_dir() => Ok(false),
        Err(error) => Err(error),
    }
}
