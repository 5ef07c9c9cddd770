//! `backup` and `restore`: the whole installation (every organisation's records and audit log,
//! and the evidence bytes the records name) into a directory and back, for its operator.
//!
//! A backup directory holds:
//!
//! ```text
//! manifest.json                   written last (temp file, fsync, rename): without it, the backup is incomplete
//! database/<table>.jsonl          every row of one table, one JSON object a line, from one consistent read
//! blobs/sha256/<2 hex>/<64 hex>   the evidence bytes the records name, under their SHA-256
//! ```
//!
//! The manifest records the format, the evident version, the time, the backend and its schema
//! version, each table file's row count, size and SHA-256, and each blob's digest and size.
//!
//! A backup exports the database first, in one consistent read while others may write, and then
//! copies the blobs the exported evidence records name, each verified as it streams. Blobs are
//! immutable and never deleted while a record names them, so copying them after the database
//! read gives the bytes of exactly the records in the backup.
//!
//! A restore checks everything before it writes anything: the manifest, the backend and schema
//! version, that the database is empty, every table file's row count, size and hash, and every
//! blob's size and hash. Then it stores the blobs (the evidence store hashes them again), loads the
//! tables in one transaction (all or nothing; each file is hashed again as it is read), and
//! verifies every restored organisation's audit log. If the load fails after the blobs were
//! stored, the blobs are unreferenced and garbage collection takes them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use evident_core::Sha256Digest;
use evident_evidence::BlobStore;
use evident_store::snapshot::{
    OutsideError, SnapshotError, SnapshotSchema, SnapshotSink, SnapshotSource, SnapshotSummary, blob_named,
};
use futures::TryStreamExt;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};

use crate::error::{AppError, Code, Result};
use crate::verify::{self, Verdict, VerifyError};
use crate::{App, Operator};

/// What `manifest.json` says it is.
pub const FORMAT: &str = "evident-backup";
/// The layout this version writes and reads.
pub const FORMAT_VERSION: u32 = 1;
pub const MANIFEST: &str = "manifest.json";

/// The largest manifest a restore reads (a backup of a million blobs has one of ~150 MB).
const MAX_MANIFEST: u64 = 512 * 1024 * 1024;
/// The longest line a restore reads: a row is at most a few MiB (an imported framework's JSON).
const MAX_LINE: u64 = 64 * 1024 * 1024;
/// Buffers for files written and read.
const BUFFER: usize = 1024 * 1024;

/// `manifest.json`: what the backup holds, and how to check it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always `evident-backup`.
    pub format: String,
    pub format_version: u32,
    /// The version of evident that wrote it.
    pub evident_version: String,
    pub created_at: DateTime<Utc>,
    /// `sqlite` or `postgres`: a backup restores into the backend it was taken from.
    pub backend: String,
    /// The latest schema migration of the database it was taken from.
    pub schema_version: i64,
    /// Every table of the database, by name.
    pub tables: Vec<TableFile>,
    /// Every blob the evidence records name, by digest.
    pub blobs: Vec<BlobFile>,
}

/// One table's file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableFile {
    pub table: String,
    /// `database/<table>.jsonl`, relative to the backup directory.
    pub file: String,
    pub rows: u64,
    pub bytes: u64,
    pub sha256: Sha256Digest,
}

/// One blob's file; its bytes hash to its digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlobFile {
    pub digest: Sha256Digest,
    pub size: u64,
    /// `blobs/sha256/<2 hex>/<64 hex>`, relative to the backup directory.
    pub file: String,
}

impl Manifest {
    /// Rows in all tables.
    pub fn rows(&self) -> u64 {
        self.tables.iter().map(|t| t.rows).sum()
    }

    /// Bytes of evidence.
    pub fn blob_bytes(&self) -> u64 {
        self.blobs.iter().map(|b| b.size).sum()
    }

    /// Rows of one table, if the backup has it.
    pub fn rows_of(&self, table: &str) -> Option<u64> {
        self.tables.iter().find(|t| t.table == table).map(|t| t.rows)
    }
}

/// What a backup wrote.
#[derive(Debug, Clone, Serialize)]
pub struct BackupReport {
    pub dir: PathBuf,
    pub manifest: Manifest,
}

/// What a restore loaded, and what verify then said of every restored organisation.
#[derive(Debug, Clone, Serialize)]
pub struct RestoreReport {
    pub dir: PathBuf,
    pub manifest: Manifest,
    /// Blobs the evidence store held already (the same bytes, verified).
    pub blobs_already_present: usize,
    pub verdicts: Vec<Verdict>,
}

impl RestoreReport {
    /// Whether every restored organisation's audit log and state verify.
    pub fn verified(&self) -> bool {
        self.verdicts.iter().all(|v| v.ok)
    }
}

/// Where a table's rows are kept in a backup, if its name is a plain table name (lower-case
/// letters, digits, `_`): the manifest's names never reach the file system otherwise.
fn table_file(table: &str) -> Option<String> {
    let plain = !table.is_empty()
        && table.len() <= 63
        && table.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !table.as_bytes()[0].is_ascii_digit();
    plain.then(|| format!("database/{table}.jsonl"))
}

/// Where a blob is kept in a backup: the evidence store's own layout.
fn blob_file(digest: &Sha256Digest) -> String {
    let hex = digest.as_str();
    format!("blobs/sha256/{}/{hex}", &hex[..2])
}

fn invalid(file: &str, message: impl std::fmt::Display) -> AppError {
    let mut error = AppError::new(Code::BackupInvalid, format!("{file}: {message}"));
    error.file = Some(file.to_owned());
    error
}

fn write_failed(path: &Path, error: std::io::Error) -> AppError {
    AppError::new(Code::WriteFailed, format!("cannot write {}: {error}", path.display()))
}

fn unexpected(message: impl Into<String>) -> AppError {
    AppError::new(Code::Unexpected, message)
}

/// A snapshot failure as the use case reports it; a sink's or source's own `AppError` comes back
/// as it was.
fn snapshot_error(error: SnapshotError) -> AppError {
    match error {
        SnapshotError::Outside(outside) => match outside.downcast::<AppError>() {
            Ok(app) => *app,
            Err(other) => unexpected(other.to_string()),
        },
        SnapshotError::Store(store) => store.into(),
        SnapshotError::NotEmpty { .. } => AppError::new(Code::NotEmpty, error.to_string()),
        SnapshotError::Incompatible(message) => AppError::new(Code::BackupIncompatible, message),
        SnapshotError::BadRow { table, row, reason } => {
            let file = table_file(&table).unwrap_or(table);
            invalid(&file, format!("line {row}: {reason}"))
        }
        SnapshotError::Load { table, source } => {
            let file = table_file(&table).unwrap_or(table);
            invalid(&file, format!("its rows could not be loaded: {source}"))
        }
    }
}

/// Creates a directory (and its parents) readable by its owner only: a backup holds everything.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Creates a file that must not exist yet, readable by its owner only.
async fn create_new(path: &Path) -> std::io::Result<tokio::fs::File> {
    let mut options = tokio::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(0o600);
    options.open(path).await
}

/// Makes the directory's new entries durable.
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

/// A backup goes into a new directory, or an empty one: never over anything.
fn prepare_backup_dir(dir: &Path) -> Result<()> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(AppError::new(
                    Code::NotEmpty,
                    format!("{} is not empty: a backup is written only into a new or empty directory", dir.display()),
                ));
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotADirectory || dir.is_file() => {
            return Err(AppError::new(
                Code::NotEmpty,
                format!("{} is a file: a backup is written into a new or empty directory", dir.display()),
            ));
        }
        Err(e) => return Err(write_failed(dir, e)),
    }
    for sub in [dir.to_owned(), dir.join("database"), dir.join("blobs/sha256")] {
        create_private_dir(&sub).map_err(|e| write_failed(&sub, e))?;
    }
    Ok(())
}

/// The sink of an export: one file per table, hashed and counted as it is written; the blobs
/// the evidence rows name are noted on the way.
struct TableFiles {
    dir: PathBuf,
    open: Option<OpenTable>,
    written: Vec<TableFile>,
    blobs: BTreeMap<Sha256Digest, u64>,
}

struct OpenTable {
    table: String,
    file: String,
    out: tokio::io::BufWriter<tokio::fs::File>,
    hasher: Sha256,
    rows: u64,
    bytes: u64,
}

impl TableFiles {
    fn fail(&self, file: &str, error: std::io::Error) -> OutsideError {
        Box::new(write_failed(&self.dir.join(file), error))
    }
}

#[async_trait]
impl SnapshotSink for TableFiles {
    async fn begin_table(&mut self, table: &str) -> Result<(), OutsideError> {
        let file = table_file(table).ok_or_else(|| unexpected(format!("the database has a table named {table:?}")))?;
        let out = create_new(&self.dir.join(&file)).await.map_err(|e| self.fail(&file, e))?;
        self.open = Some(OpenTable {
            table: table.to_owned(),
            file,
            out: tokio::io::BufWriter::with_capacity(BUFFER, out),
            hasher: Sha256::new(),
            rows: 0,
            bytes: 0,
        });
        Ok(())
    }

    async fn row(&mut self, json: &str) -> Result<(), OutsideError> {
        let Some(open) = self.open.as_mut() else { return Err(unexpected("a row came before its table").into()) };
        if let Some((digest, size)) = blob_named(&open.table, json).map_err(AppError::from)? {
            self.blobs.insert(digest, size);
        }
        let written = async {
            open.out.write_all(json.as_bytes()).await?;
            open.out.write_all(b"\n").await
        };
        if let Err(e) = written.await {
            return Err(Box::new(write_failed(&self.dir.join(&open.file), e)));
        }
        open.hasher.update(json.as_bytes());
        open.hasher.update(b"\n");
        open.rows += 1;
        open.bytes += json.len() as u64 + 1;
        Ok(())
    }

    async fn end_table(&mut self, table: &str, rows: u64) -> Result<(), OutsideError> {
        let Some(mut open) = self.open.take() else { return Err(unexpected("a table ended before it began").into()) };
        if open.table != table || open.rows != rows {
            return Err(unexpected(format!("table {table}: {rows} rows exported, {} written", open.rows)).into());
        }
        let synced = async {
            open.out.flush().await?;
            open.out.get_mut().sync_all().await
        };
        if let Err(e) = synced.await {
            return Err(self.fail(&open.file, e));
        }
        self.written.push(TableFile {
            table: open.table,
            file: open.file,
            rows: open.rows,
            bytes: open.bytes,
            sha256: Sha256Digest::from_bytes(open.hasher.finalize().into()),
        });
        Ok(())
    }
}

/// Copies one blob out of the evidence store, verified as it streams (a damaged blob ends the
/// stream with an error), through a temporary file renamed into place once durable.
async fn copy_blob(blobs: &BlobStore, dir: &Path, digest: &Sha256Digest, size: u64) -> Result<BlobFile> {
    let file = blob_file(digest);
    let path = dir.join(&file);
    let parent = path.parent().unwrap_or(dir).to_owned();
    create_private_dir(&parent).map_err(|e| write_failed(&parent, e))?;
    let partial = path.with_extension("partial");
    let mut stream = blobs.get(digest).await.map_err(|e| {
        let mut error = AppError::from(e);
        error.message = format!("a record names evidence bytes the evidence store cannot give: {}", error.message);
        error
    })?;
    let out = create_new(&partial).await.map_err(|e| write_failed(&partial, e))?;
    let mut out = tokio::io::BufWriter::with_capacity(BUFFER, out);
    let mut copied = 0u64;
    while let Some(chunk) = stream.try_next().await? {
        out.write_all(&chunk).await.map_err(|e| write_failed(&partial, e))?;
        copied += chunk.len() as u64;
    }
    if copied != size {
        return Err(AppError::new(
            Code::EvidenceCorrupt,
            format!("the stored evidence {digest} holds {copied} bytes; its record says {size}"),
        ));
    }
    out.flush().await.map_err(|e| write_failed(&partial, e))?;
    out.get_mut().sync_all().await.map_err(|e| write_failed(&partial, e))?;
    tokio::fs::rename(&partial, &path).await.map_err(|e| write_failed(&path, e))?;
    Ok(BlobFile { digest: digest.clone(), size, file })
}

/// Writes the manifest beside its final name, makes it durable, and renames it into place: a
/// backup has a manifest only once everything it lists is on disk.
fn write_manifest(dir: &Path, manifest: &Manifest) -> Result<()> {
    let path = dir.join(MANIFEST);
    let partial = dir.join(format!("{MANIFEST}.partial"));
    let text = serde_json::to_vec_pretty(manifest).map_err(|e| unexpected(e.to_string()))?;
    let write = || -> std::io::Result<()> {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&partial)?;
        std::io::Write::write_all(&mut file, &text)?;
        std::io::Write::write_all(&mut file, b"\n")?;
        file.sync_all()?;
        std::fs::rename(&partial, &path)?;
        sync_dir(dir)
    };
    write().map_err(|e| write_failed(&path, e))
}

/// A file of a backup read line by line, hashed, counted and measured as it goes; a line is at
/// most [`MAX_LINE`] bytes.
struct LineReader {
    file: String,
    reader: tokio::io::BufReader<tokio::fs::File>,
    hasher: Sha256,
    bytes: u64,
    lines: u64,
    line: Vec<u8>,
}

impl LineReader {
    async fn open(dir: &Path, file: &str) -> Result<Self> {
        let opened =
            tokio::fs::File::open(dir.join(file)).await.map_err(|e| invalid(file, format!("cannot read it: {e}")))?;
        Ok(LineReader {
            file: file.to_owned(),
            reader: tokio::io::BufReader::with_capacity(BUFFER, opened),
            hasher: Sha256::new(),
            bytes: 0,
            lines: 0,
            line: Vec::new(),
        })
    }

    /// Reads the next line into `self.line`, without its newline; false at the end of the file.
    async fn advance(&mut self) -> Result<bool> {
        self.line.clear();
        let read = (&mut self.reader)
            .take(MAX_LINE + 1)
            .read_until(b'\n', &mut self.line)
            .await
            .map_err(|e| invalid(&self.file, format!("cannot read it: {e}")))?;
        if read == 0 {
            return Ok(false);
        }
        self.hasher.update(&self.line);
        self.bytes += read as u64;
        self.lines += 1;
        if self.line.pop() != Some(b'\n') {
            return Err(if read as u64 > MAX_LINE {
                invalid(&self.file, format!("line {} is longer than {MAX_LINE} bytes", self.lines))
            } else {
                invalid(&self.file, "it ends in the middle of a line: it was cut short")
            });
        }
        Ok(true)
    }

    /// The next line as text; `None` at the end of the file.
    async fn next_text(&mut self) -> Result<Option<String>> {
        if !self.advance().await? {
            return Ok(None);
        }
        String::from_utf8(std::mem::take(&mut self.line))
            .map(Some)
            .map_err(|_| invalid(&self.file, format!("line {} is not UTF-8", self.lines)))
    }

    /// After the last line: the file is what the manifest says.
    fn matches(self, entry: &TableFile) -> Result<()> {
        let sha256 = Sha256Digest::from_bytes(self.hasher.finalize().into());
        if self.lines != entry.rows {
            return Err(invalid(&self.file, format!("it holds {} rows; the manifest says {}", self.lines, entry.rows)));
        }
        if self.bytes != entry.bytes || sha256 != entry.sha256 {
            return Err(invalid(
                &self.file,
                format!(
                    "it was changed since the backup was written: its SHA-256 is {sha256}, the manifest says {}",
                    entry.sha256
                ),
            ));
        }
        Ok(())
    }
}

/// Checks a table file against the manifest; for the evidence table, also that every blob its
/// rows name is in the backup, with the size the row says.
async fn check_table(dir: &Path, entry: &TableFile, blobs: &BTreeMap<&Sha256Digest, u64>) -> Result<()> {
    let mut reader = LineReader::open(dir, &entry.file).await?;
    // The hash is the first thing to report: a changed byte may also break a line's UTF-8 or JSON.
    let mut problem = None;
    while reader.advance().await? {
        if problem.is_some() {
            continue;
        }
        let named = match std::str::from_utf8(&reader.line) {
            Ok(line) => blob_named(&entry.table, line),
            Err(_) => {
                problem = Some(format!("line {} is not UTF-8", reader.lines));
                continue;
            }
        };
        match named {
            Ok(Some((digest, size))) if blobs.get(&digest) != Some(&size) => {
                problem = Some(format!(
                    "line {} names evidence bytes {digest} ({size} bytes) that the backup does not hold",
                    reader.lines
                ));
            }
            Ok(_) => {}
            Err(e) => problem = Some(format!("line {}: {e}", reader.lines)),
        }
    }
    let file = reader.file.clone();
    reader.matches(entry)?;
    problem.map_or(Ok(()), |problem| Err(invalid(&file, problem)))
}

/// Checks a blob file: its size and the hash of its bytes.
async fn check_blob(dir: &Path, entry: &BlobFile) -> Result<()> {
    let file = &entry.file;
    let mut opened =
        tokio::fs::File::open(dir.join(file)).await.map_err(|e| invalid(file, format!("cannot read it: {e}")))?;
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    let mut chunk = vec![0u8; BUFFER];
    loop {
        let read = opened.read(&mut chunk).await.map_err(|e| invalid(file, format!("cannot read it: {e}")))?;
        if read == 0 {
            break;
        }
        hasher.update(&chunk[..read]);
        size += read as u64;
    }
    let digest = Sha256Digest::from_bytes(hasher.finalize().into());
    if size != entry.size {
        return Err(invalid(file, format!("it holds {size} bytes; the manifest says {}", entry.size)));
    }
    if digest != entry.digest {
        return Err(invalid(file, format!("it was changed since the backup was written: its bytes hash to {digest}")));
    }
    Ok(())
}

/// Reads and checks `manifest.json`: its format, and that every file it names is where a backup
/// keeps it.
fn read_manifest(dir: &Path) -> Result<Manifest> {
    let path = dir.join(MANIFEST);
    let metadata = match std::fs::metadata(&path) {
        Ok(metadata) => metadata,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let why = if !dir.is_dir() {
                format!("{} does not exist or is not a directory", dir.display())
            } else if dir.join("database").is_dir() {
                format!("{} has no {MANIFEST}: the backup did not finish; use another one", dir.display())
            } else {
                format!("{} has no {MANIFEST}: it is not an evident backup", dir.display())
            };
            return Err(AppError::new(Code::BackupInvalid, why));
        }
        Err(e) => return Err(invalid(MANIFEST, format!("cannot read it: {e}"))),
    };
    if !metadata.is_file() || metadata.len() > MAX_MANIFEST {
        return Err(invalid(MANIFEST, format!("it is not a file of at most {MAX_MANIFEST} bytes")));
    }
    let text = std::fs::read(&path).map_err(|e| invalid(MANIFEST, format!("cannot read it: {e}")))?;
    #[derive(Deserialize)]
    struct Format {
        format: String,
        format_version: u32,
    }
    let format: Format = serde_json::from_slice(&text)
        .map_err(|e| invalid(MANIFEST, format!("it is not an evident backup manifest: {e}")))?;
    if format.format != FORMAT {
        return Err(invalid(MANIFEST, format!("it is not an evident backup manifest (format {:?})", format.format)));
    }
    if format.format_version != FORMAT_VERSION {
        return Err(AppError::new(
            Code::BackupIncompatible,
            format!(
                "the backup is in format version {}; this version of evident reads version {FORMAT_VERSION}",
                format.format_version
            ),
        ));
    }
    let manifest: Manifest =
        serde_json::from_slice(&text).map_err(|e| invalid(MANIFEST, format!("it is not a valid manifest: {e}")))?;
    let mut tables = BTreeSet::new();
    for entry in &manifest.tables {
        if table_file(&entry.table).as_deref() != Some(entry.file.as_str()) || !tables.insert(&entry.table) {
            return Err(invalid(MANIFEST, format!("its table {:?} is not kept where a backup keeps it", entry.table)));
        }
    }
    let mut blobs = BTreeSet::new();
    for entry in &manifest.blobs {
        if blob_file(&entry.digest) != entry.file || !blobs.insert(&entry.digest) {
            return Err(invalid(MANIFEST, format!("its blob {} is not kept where a backup keeps it", entry.digest)));
        }
    }
    Ok(manifest)
}

/// The source of an import: each table file in the manifest's order, hashed again as it is
/// read, so a file changed after the check fails the import (and the import writes nothing).
struct TableSource<'a> {
    dir: &'a Path,
    tables: std::slice::Iter<'a, TableFile>,
    current: Option<(LineReader, &'a TableFile)>,
}

#[async_trait]
impl SnapshotSource for TableSource<'_> {
    async fn next_table(&mut self) -> Result<Option<String>, OutsideError> {
        let Some(entry) = self.tables.next() else { return Ok(None) };
        self.current = Some((LineReader::open(self.dir, &entry.file).await?, entry));
        Ok(Some(entry.table.clone()))
    }

    async fn next_row(&mut self) -> Result<Option<String>, OutsideError> {
        let Some((reader, _)) = self.current.as_mut() else { return Err(unexpected("a row before its table").into()) };
        if let Some(line) = reader.next_text().await? {
            return Ok(Some(line));
        }
        if let Some((reader, entry)) = self.current.take() {
            reader.matches(entry)?;
        }
        Ok(None)
    }
}

fn verify_error(error: VerifyError) -> AppError {
    match error {
        VerifyError::Store(store) => store.into(),
        other => unexpected(other.to_string()),
    }
}

impl App {
    /// Writes a consistent backup of the whole installation into `dir` (new, or empty): the
    /// database from one consistent read, the evidence bytes its records name, and the manifest
    /// last. Others may write meanwhile; the backup is the moment its read began. A failure
    /// leaves `dir` without a manifest, visibly incomplete.
    #[tracing::instrument(skip_all, fields(operator = %operator.audit_name(), dir = %dir.display()))]
    pub async fn backup(&self, operator: &Operator, dir: &Path) -> Result<BackupReport> {
        prepare_backup_dir(dir)?;
        self.write_backup(dir).await.map_err(|mut error| {
            error.message = format!(
                "{}; the backup in {} is incomplete (it has no {MANIFEST}): remove it, then back up again",
                error.message,
                dir.display()
            );
            error
        })
    }

    async fn write_backup(&self, dir: &Path) -> Result<BackupReport> {
        let mut sink = TableFiles { dir: dir.to_owned(), open: None, written: Vec::new(), blobs: BTreeMap::new() };
        let summary: SnapshotSummary = self.store.export(&mut sink).await.map_err(snapshot_error)?;
        sync_dir(&dir.join("database")).map_err(|e| write_failed(&dir.join("database"), e))?;
        let mut blobs = Vec::with_capacity(sink.blobs.len());
        if !sink.blobs.is_empty() {
            let store = self.blobs()?;
            let mut dirs = BTreeSet::new();
            for (digest, size) in &sink.blobs {
                let copied = copy_blob(store, dir, digest, *size).await?;
                dirs.insert(dir.join(&copied.file).parent().map(Path::to_owned));
                blobs.push(copied);
            }
            for synced in dirs.into_iter().flatten() {
                sync_dir(&synced).map_err(|e| write_failed(&synced, e))?;
            }
        }
        let manifest = Manifest {
            format: FORMAT.to_owned(),
            format_version: FORMAT_VERSION,
            evident_version: env!("CARGO_PKG_VERSION").to_owned(),
            created_at: self.now(),
            backend: summary.schema.backend,
            schema_version: summary.schema.version,
            tables: sink.written,
            blobs,
        };
        write_manifest(dir, &manifest)?;
        tracing::info!(rows = manifest.rows(), blobs = manifest.blobs.len(), "backup written");
        Ok(BackupReport { dir: dir.to_owned(), manifest })
    }

    /// Restores a backup into this installation, whose database must be empty: checks every
    /// file first, writing nothing if any is missing, changed or of another backend or schema;
    /// then stores the blobs, loads the tables in one transaction, and verifies every restored
    /// organisation.
    #[tracing::instrument(skip_all, fields(operator = %operator.audit_name(), dir = %dir.display()))]
    pub async fn restore(&self, operator: &Operator, dir: &Path) -> Result<RestoreReport> {
        let manifest = read_manifest(dir)?;
        let ours = self.store.snapshot_schema().await?;
        if manifest.backend != ours.backend {
            return Err(AppError::new(
                Code::BackupIncompatible,
                format!(
                    "the backup is of a {} database and this installation uses {}: a backup restores into the backend it was taken from",
                    manifest.backend, ours.backend
                ),
            ));
        }
        if manifest.schema_version != ours.version {
            return Err(AppError::new(
                Code::BackupIncompatible,
                format!(
                    "the backup is of schema version {} (evident {}) and this database is at version {}",
                    manifest.schema_version, manifest.evident_version, ours.version
                ),
            ));
        }
        let tables: Vec<String> = manifest.tables.iter().map(|t| t.table.clone()).collect();
        if tables.iter().collect::<BTreeSet<_>>() != ours.tables.iter().collect::<BTreeSet<_>>() {
            return Err(invalid(MANIFEST, "its tables are not the tables of this schema version"));
        }
        let orgs = self.store.orgs().await?;
        if !orgs.is_empty() {
            let slugs: Vec<String> = orgs.iter().map(|o| o.slug.to_string()).collect();
            return Err(AppError::new(
                Code::NotEmpty,
                format!(
                    "the database already holds organisation(s) {}: a backup is restored only into an empty database",
                    slugs.join(", ")
                ),
            ));
        }
        let store = if manifest.blobs.is_empty() { None } else { Some(self.blobs()?) };

        let sizes: BTreeMap<&Sha256Digest, u64> = manifest.blobs.iter().map(|b| (&b.digest, b.size)).collect();
        for entry in &manifest.tables {
            check_table(dir, entry, &sizes).await?;
        }
        for entry in &manifest.blobs {
            check_blob(dir, entry).await?;
        }

        let mut already_present = 0;
        if let Some(store) = store {
            for entry in &manifest.blobs {
                let file = tokio::fs::File::open(dir.join(&entry.file))
                    .await
                    .map_err(|e| invalid(&entry.file, format!("cannot read it: {e}")))?;
                let stored = store.ingest(file, None).await?;
                if stored.digest != entry.digest {
                    return Err(invalid(&entry.file, "it was changed while it was restored"));
                }
                already_present += usize::from(stored.already_present);
            }
        }
        let schema = SnapshotSchema { backend: manifest.backend.clone(), version: manifest.schema_version, tables };
        let mut source = TableSource { dir, tables: manifest.tables.iter(), current: None };
        self.store.import(&schema, &mut source).await.map_err(snapshot_error)?;
        let verdicts = verify::verify(&*self.store, None, None).await.map_err(verify_error)?;
        tracing::info!(rows = manifest.rows(), blobs = manifest.blobs.len(), "backup restored");
        Ok(RestoreReport { dir: dir.to_owned(), manifest, blobs_already_present: already_present, verdicts })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_table_names_reach_the_file_system() {
        assert_eq!(table_file("audit_log").as_deref(), Some("database/audit_log.jsonl"));
        for name in ["", "../etc", "a/b", "Audit", "1st", "a.b", "a b", &"x".repeat(64)] {
            assert_eq!(table_file(name), None, "{name:?}");
        }
    }

    #[test]
    fn blobs_are_kept_as_the_evidence_store_keeps_them() {
        let digest = Sha256Digest::of(b"abc");
        assert_eq!(blob_file(&digest), format!("blobs/sha256/ba/{digest}"));
    }
}
