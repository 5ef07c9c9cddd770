//! Staging uploads to an object store (S3): one `PUT` for a small blob, a multipart upload with a
//! few parts in flight for a large one, so memory stays bounded whatever the size.

use std::sync::Arc;

use bytes::Bytes;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};

/// Size of one multipart part (S3's minimum is 5 MiB, its maximum part count 10,000).
const PART_SIZE: usize = 8 * 1024 * 1024;
/// Parts uploaded at once; with the part being filled, at most 4 parts (32 MiB) are held.
const PARTS_IN_FLIGHT: usize = 3;

pub(crate) struct RemoteStaging {
    objects: Arc<dyn ObjectStore>,
    path: Path,
    state: State,
}

enum State {
    /// Below one part: kept in memory, sent in one `PUT` by `finish`.
    Buffering(Vec<Bytes>, usize),
    Uploading(WriteMultipart),
}

impl std::fmt::Debug for RemoteStaging {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteStaging").field("path", &self.path).finish_non_exhaustive()
    }
}

impl RemoteStaging {
    pub(crate) fn new(objects: Arc<dyn ObjectStore>, path: Path) -> Self {
        Self { objects, path, state: State::Buffering(Vec::new(), 0) }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) async fn write(&mut self, chunk: Bytes) -> object_store::Result<()> {
        match &mut self.state {
            State::Buffering(chunks, len) => {
                *len += chunk.len();
                chunks.push(chunk);
                if *len >= PART_SIZE {
                    let chunks = std::mem::take(chunks);
                    let upload = self.objects.put_multipart(&self.path).await?;
                    let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
                    for chunk in chunks {
                        writer.put(chunk);
                    }
                    self.state = State::Uploading(writer);
                }
            }
            State::Uploading(writer) => {
                writer.wait_for_capacity(PARTS_IN_FLIGHT).await?;
                writer.put(chunk);
            }
        }
        Ok(())
    }

    /// Completes the upload; the staging object then holds every byte.
    pub(crate) async fn finish(self) -> object_store::Result<Path> {
        match self.state {
            State::Buffering(chunks, _) => {
                self.objects.put(&self.path, chunks.into_iter().collect::<PutPayload>()).await?;
            }
            // On failure `finish` aborts the upload itself.
            State::Uploading(writer) => {
                writer.finish().await?;
            }
        }
        Ok(self.path)
    }

    /// Abandons the upload (best effort: a store that is down keeps the parts until the
    /// bucket's lifecycle rule for incomplete multipart uploads removes them).
    pub(crate) async fn discard(self) {
        if let State::Uploading(writer) = self.state {
            let _ = writer.abort().await;
        }
    }
}
