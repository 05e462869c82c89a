//! One object streamed to the store, which can always be aborted.
//!
//! Bytes wait up to a part's size; an object that stays smaller goes up in one put when it is
//! finished. Past that, a multipart upload is opened and each full part is sent as it fills, a
//! few in flight at once. This is what object_store's `BufWriter` does,
//! with one difference that matters for a batch job: the upload stays in hand until it is
//! completed, so a failed run can abort it. (`BufWriter` gives its upload to the shutdown
//! future, and dropping it sends nothing.) On S3 an upload that is neither completed nor
//! aborted keeps its parts, billed and not listed with the objects, until a bucket lifecycle
//! rule (`AbortIncompleteMultipartUpload`) removes it.
//!
//! The bytes of the part being filled wait in memory, or, where parts must be full (S3), in an
//! anonymous temporary file ([`ObjectUpload::buffer_on_disk`]). There a file cannot give its
//! buffer back early, and the buffers of every open file of a run (up to a part each, and the
//! whole of a table smaller than a part) kept two large days on S3 above 300 MB of RSS
//! (benches/profile.md, "Sixth round"). Writes to the file go to the page cache, as cheap as
//! the copy into memory they replace, and a part is read back only when it is sent. The file
//! does not save memory on a tmpfs `TMPDIR`. The file I/O runs on the async worker, as the
//! Parquet encoding does: page-cache copies of a few MiB, not worth a hop to the blocking pool.
//!
//! [`ObjectUpload::abort`] is the way to give up: it waits for the parts in flight, so none
//! lands after the abort, then aborts the upload. A failed [`ObjectUpload::finish`] aborts by
//! itself. Dropping an upload that is neither finished nor aborted aborts it on a background
//! task: best effort, because that task only runs while the tokio runtime does, and a process
//! that exits right after the drop (or is killed) leaves the upload to the lifecycle rule.

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::sync::Arc;

use bytes::Bytes;
use object_store::path::Path;
use object_store::{
    MultipartUpload, ObjectStore, ObjectStoreExt, PutPayload, PutPayloadMut, PutResult,
};
use tokio::task::JoinSet;

/// Parts uploaded at once per object (object_store's `BufWriter` uses the same).
const PARTS_IN_FLIGHT: usize = 8;

type StoreResult<T> = object_store::Result<T>;

enum State {
    /// Nothing sent yet: the object goes up in one put if it stays under a part's size.
    Buffering,
    /// A multipart upload is open, with the parts in flight.
    Uploading {
        upload: Box<dyn MultipartUpload>,
        parts: JoinSet<StoreResult<()>>,
    },
    /// Completed or aborted: nothing is left to clean up.
    Closed,
}

/// Streams one object to the store; see the module docs.
pub struct ObjectUpload {
    store: Arc<dyn ObjectStore>,
    path: Path,
    part_bytes: usize,
    buffer: Buffer,
    state: State,
}

/// Where the bytes of the part being filled wait.
enum Buffer {
    Memory(PutPayloadMut),
    /// An anonymous temporary file in `dir` (unlinked as it is created, so nothing outlives
    /// the process, however it ends), made at the first byte, truncated after each part.
    Disk {
        dir: std::path::PathBuf,
        file: Option<File>,
        len: usize,
    },
}

impl Buffer {
    fn len(&self) -> usize {
        match self {
            Buffer::Memory(m) => m.content_length(),
            Buffer::Disk { len, .. } => *len,
        }
    }

    /// Appends `bytes`. In a temporary file when there is one; if none can be made, or it has
    /// no room left, what waits in it moves to memory and the upload goes on there.
    fn push(&mut self, bytes: Bytes) -> StoreResult<()> {
        match self {
            Buffer::Memory(m) => m.push(bytes),
            Buffer::Disk { dir, file, len } => {
                let written = match file {
                    Some(f) => f.write_all(&bytes),
                    None => {
                        tempfile::tempfile_in(&*dir).and_then(|f| file.insert(f).write_all(&bytes))
                    }
                };
                match written {
                    Ok(()) => *len += bytes.len(),
                    Err(e) => {
                        warn_no_temp_file(dir, &e);
                        // The first `len` bytes are whole; a write cut short is past them.
                        let waiting = match file {
                            Some(f) => read_back(f, *len).map_err(|e| temp_file_error(dir, e))?,
                            None => Vec::new(),
                        };
                        let mut memory = PutPayloadMut::new();
                        memory.push(Bytes::from(waiting));
                        memory.push(bytes);
                        *self = Buffer::Memory(memory);
                    }
                }
            }
        }
        Ok(())
    }

    /// Everything buffered, as one payload; the buffer is left empty.
    fn take(&mut self) -> StoreResult<PutPayload> {
        match self {
            Buffer::Memory(m) => Ok(std::mem::take(m).freeze()),
            Buffer::Disk { file: None, .. } => Ok(PutPayload::default()),
            Buffer::Disk {
                dir,
                file: Some(f),
                len,
            } => {
                let emptied = read_back(f, *len).and_then(|part| {
                    f.set_len(0)?;
                    f.rewind()?;
                    Ok(part)
                });
                let part = emptied.map_err(|e| temp_file_error(dir, e))?;
                *len = 0;
                Ok(PutPayload::from(part))
            }
        }
    }

    fn clear(&mut self) {
        match self {
            Buffer::Memory(m) => *m = PutPayloadMut::new(),
            // Dropping the file frees its blocks.
            Buffer::Disk { file, len, .. } => (*file, *len) = (None, 0),
        }
    }
}

/// The first `len` bytes of a buffer's temporary file.
fn read_back(f: &mut File, len: usize) -> std::io::Result<Vec<u8>> {
    let mut bytes = vec![0; len];
    f.rewind()?;
    f.read_exact(&mut bytes)?;
    Ok(bytes)
}

/// A run that cannot write temporary files (a read-only file system, a full or missing
/// `TMPDIR`) still writes: its uploads buffer in memory, which one warning says.
fn warn_no_temp_file(dir: &std::path::Path, e: &std::io::Error) {
    static WARNED: std::sync::Once = std::sync::Once::new();
    WARNED.call_once(|| {
        tracing::warn!(
            temp_dir = %dir.display(),
            error = %e,
            "cannot write temporary files for upload buffers; buffering in memory instead (point TMPDIR at a writable directory on disk, with a few MiB per open file, to keep memory low)"
        );
    });
}

fn temp_file_error(dir: &std::path::Path, e: std::io::Error) -> object_store::Error {
    object_store::Error::Generic {
        store: "upload buffer",
        source: format!(
            "the temporary file under {} that buffers this upload: {e} (point TMPDIR at a directory with room)",
            dir.display()
        )
        .into(),
    }
}

impl std::fmt::Debug for ObjectUpload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match self.state {
            State::Buffering => "buffering",
            State::Uploading { .. } => "uploading",
            State::Closed => "closed",
        };
        f.debug_struct("ObjectUpload")
            .field("path", &self.path.as_ref())
            .field("part_bytes", &self.part_bytes)
            .field("state", &state)
            .finish()
    }
}

impl ObjectUpload {
    /// An upload of `path` in parts of `part_bytes` (S3 wants at least 5 MiB for every part
    /// but the last).
    pub fn new(store: Arc<dyn ObjectStore>, path: Path, part_bytes: usize) -> Self {
        ObjectUpload {
            store,
            path,
            part_bytes: part_bytes.max(1),
            buffer: Buffer::Memory(PutPayloadMut::new()),
            state: State::Buffering,
        }
    }

    /// Buffers in an anonymous temporary file (under `TMPDIR`) instead of memory: for a store
    /// whose parts must be full, where the buffer cannot be sent early. If no temporary file
    /// can be made, the upload buffers in memory after all (with one warning per process).
    pub fn buffer_on_disk(self) -> Self {
        self.buffer_in(std::env::temp_dir())
    }

    /// [`ObjectUpload::buffer_on_disk`], in `dir`.
    fn buffer_in(mut self, dir: std::path::PathBuf) -> Self {
        if let Buffer::Memory(m) = &self.buffer
            && m.content_length() == 0
        {
            self.buffer = Buffer::Disk {
                dir,
                file: None,
                len: 0,
            };
        }
        self
    }

    /// Whether a multipart upload is open (and would be left behind if this were lost).
    pub fn is_multipart(&self) -> bool {
        matches!(self.state, State::Uploading { .. })
    }

    /// Appends bytes, sending every part that fills. A failed part surfaces here or in
    /// [`ObjectUpload::finish`]; either way the upload is still open, for [`ObjectUpload::abort`].
    pub async fn put(&mut self, mut bytes: Bytes) -> StoreResult<()> {
        if matches!(self.state, State::Closed) {
            return Err(self.closed());
        }
        while !bytes.is_empty() {
            let room = self.part_bytes - self.buffer.len();
            if bytes.len() < room {
                self.buffer.push(bytes)?;
                break;
            }
            self.buffer.push(bytes.split_to(room))?;
            let part = self.buffer.take()?;
            self.send_part(part).await?;
        }
        Ok(())
    }

    /// Bytes waiting for a part to fill (or for the one put of a small object).
    pub fn buffered(&self) -> usize {
        self.buffer.len()
    }

    /// Of [`ObjectUpload::buffered`], the bytes held in memory (none when buffered on disk).
    pub fn buffered_in_memory(&self) -> usize {
        match &self.buffer {
            Buffer::Memory(m) => m.content_length(),
            Buffer::Disk { .. } => 0,
        }
    }

    /// Sends the buffered bytes now as a part of their own, however few: how a file gives
    /// memory back to the write budget before its part fills. Only for a store that takes
    /// parts of any size ([`super::Output::takes_any_part`]). Returns whether a part was sent.
    pub async fn send_buffered(&mut self) -> StoreResult<bool> {
        if matches!(self.state, State::Closed) {
            return Err(self.closed());
        }
        if self.buffer.len() == 0 {
            return Ok(false);
        }
        let part = self.buffer.take()?;
        self.send_part(part).await?;
        Ok(true)
    }

    async fn send_part(&mut self, part: PutPayload) -> StoreResult<()> {
        if matches!(self.state, State::Buffering) {
            let upload = self.store.put_multipart(&self.path).await?;
            self.state = State::Uploading {
                upload,
                parts: JoinSet::new(),
            };
        }
        let State::Uploading { upload, parts } = &mut self.state else {
            unreachable!("opened above; `put` refuses a closed upload")
        };
        while let Some(done) = parts.try_join_next() {
            part_result(done)?;
        }
        while parts.len() >= PARTS_IN_FLIGHT {
            if let Some(done) = parts.join_next().await {
                part_result(done)?;
            }
        }
        parts.spawn(upload.put_part(part));
        Ok(())
    }

    /// Sends what is left and completes the object (one put if no part was ever sent). On a
    /// failure the upload is aborted before the error is returned.
    pub async fn finish(&mut self) -> StoreResult<PutResult> {
        let result = self.complete().await;
        if result.is_err()
            && let Err(e) = self.abort().await
        {
            tracing::warn!(path = %self.path, error = %e, "could not abort the failed upload; a bucket lifecycle rule removes it");
        }
        result
    }

    async fn complete(&mut self) -> StoreResult<PutResult> {
        if matches!(self.state, State::Closed) {
            return Err(self.closed());
        }
        let rest = self.buffer.take()?;
        // Empty now; clearing also closes a temporary file.
        self.buffer.clear();
        let result = match &mut self.state {
            State::Closed => unreachable!("checked above"),
            State::Buffering => self.store.put(&self.path, rest).await?,
            State::Uploading { upload, parts } => {
                if rest.content_length() > 0 {
                    parts.spawn(upload.put_part(rest));
                }
                while let Some(done) = parts.join_next().await {
                    part_result(done)?;
                }
                upload.complete().await?
            }
        };
        self.state = State::Closed;
        Ok(result)
    }

    /// Gives the object up: waits for the parts in flight (a part that lands after an abort
    /// would be kept), then aborts the multipart upload, if one was opened. Nothing is written
    /// when no part was sent. Calling it again, or after [`ObjectUpload::finish`], does nothing.
    pub async fn abort(&mut self) -> StoreResult<()> {
        self.buffer.clear();
        match std::mem::replace(&mut self.state, State::Closed) {
            State::Uploading { upload, parts } => abort_upload(upload, parts).await,
            State::Buffering | State::Closed => Ok(()),
        }
    }

    fn closed(&self) -> object_store::Error {
        object_store::Error::Generic {
            store: "upload",
            source: format!("the upload of {} is already finished or aborted", self.path).into(),
        }
    }
}

async fn abort_upload(
    mut upload: Box<dyn MultipartUpload>,
    mut parts: JoinSet<StoreResult<()>>,
) -> StoreResult<()> {
    while parts.join_next().await.is_some() {}
    upload.abort().await
}

fn part_result(done: Result<StoreResult<()>, tokio::task::JoinError>) -> StoreResult<()> {
    done.map_err(|e| object_store::Error::Generic {
        store: "upload",
        source: Box::new(e),
    })?
}

impl Drop for ObjectUpload {
    /// Best effort, see the module docs: an open multipart upload is aborted on a background
    /// task of the current tokio runtime.
    fn drop(&mut self) {
        let State::Uploading { upload, parts } = std::mem::replace(&mut self.state, State::Closed)
        else {
            return;
        };
        let path = self.path.to_string();
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    match abort_upload(upload, parts).await {
                        Ok(()) => tracing::debug!(path = %path, "aborted an unfinished upload"),
                        Err(e) => tracing::warn!(path = %path, error = %e, "could not abort an unfinished upload; a bucket lifecycle rule removes it"),
                    }
                });
            }
            Err(_) => tracing::warn!(
                path = %path,
                "an unfinished upload was dropped outside the async runtime and cannot be aborted; a bucket lifecycle rule removes it"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use object_store::memory::InMemory;

    /// The object `name` as the store keeps it.
    async fn stored(store: &Arc<dyn ObjectStore>, name: &str) -> Bytes {
        let got = store.get(&Path::from(name)).await.unwrap();
        got.bytes().await.unwrap()
    }

    fn bytes(n: usize, seed: u8) -> Bytes {
        Bytes::from(
            (0..n)
                .map(|i| (i as u8).wrapping_mul(31) ^ seed)
                .collect::<Vec<u8>>(),
        )
    }

    #[tokio::test]
    async fn small_objects_go_up_in_one_put_and_large_ones_in_parts() {
        let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        let mut small = ObjectUpload::new(store.clone(), Path::from("a/small"), 1000);
        small.put(bytes(999, 1)).await.unwrap();
        assert!(!small.is_multipart());
        small.finish().await.unwrap();

        let mut large = ObjectUpload::new(store.clone(), Path::from("a/large"), 1000);
        let mut sent = Vec::new();
        for seed in 0..7 {
            let b = bytes(700, seed);
            sent.extend_from_slice(&b);
            large.put(b).await.unwrap();
        }
        assert!(large.is_multipart());
        large.finish().await.unwrap();
        assert_eq!(stored(&store, "a/large").await.as_ref(), sent.as_slice());
        assert_eq!(stored(&store, "a/small").await, bytes(999, 1));
    }

    #[tokio::test]
    async fn buffered_bytes_go_early_as_a_part_of_their_own() {
        let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        let mut upload = ObjectUpload::new(store.clone(), Path::from("c"), 1000);
        let (first, second) = (bytes(300, 1), bytes(500, 2));
        assert!(!upload.send_buffered().await.unwrap(), "nothing to send");
        assert!(!upload.is_multipart());
        upload.put(first.clone()).await.unwrap();
        assert_eq!(upload.buffered(), 300);
        assert!(upload.send_buffered().await.unwrap());
        assert!(upload.is_multipart());
        assert_eq!(upload.buffered(), 0);
        upload.put(second.clone()).await.unwrap();
        upload.finish().await.unwrap();
        assert_eq!(
            stored(&store, "c").await.as_ref(),
            [first.as_ref(), second.as_ref()].concat().as_slice()
        );
        assert!(
            upload.send_buffered().await.is_err(),
            "a finished upload takes nothing"
        );
    }

    #[tokio::test]
    async fn a_buffer_on_disk_holds_no_memory_and_writes_the_same_objects() {
        let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        for (name, puts) in [("small", 1), ("two-puts", 2), ("parts", 9)] {
            let mut upload =
                ObjectUpload::new(store.clone(), Path::from(name), 1000).buffer_on_disk();
            let mut sent = Vec::new();
            for seed in 0..puts {
                let b = bytes(450, seed);
                sent.extend_from_slice(&b);
                upload.put(b).await.unwrap();
                assert_eq!(upload.buffered(), sent.len() % 1000, "{name}");
                assert_eq!(upload.buffered_in_memory(), 0, "{name}");
            }
            assert_eq!(upload.is_multipart(), sent.len() >= 1000, "{name}");
            upload.finish().await.unwrap();
            assert_eq!(
                stored(&store, name).await.as_ref(),
                sent.as_slice(),
                "{name}"
            );
        }

        // Sent early, aborted: as in memory.
        let mut upload = ObjectUpload::new(store.clone(), Path::from("d"), 1000).buffer_on_disk();
        upload.put(bytes(300, 1)).await.unwrap();
        assert!(upload.send_buffered().await.unwrap());
        assert_eq!(upload.buffered(), 0);
        upload.put(bytes(300, 2)).await.unwrap();
        upload.abort().await.unwrap();
        assert!(store.head(&Path::from("d")).await.is_err());
        assert!(upload.put(bytes(10, 0)).await.is_err());
    }

    #[tokio::test]
    async fn without_a_temporary_file_the_buffer_falls_back_to_memory() {
        let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        let root = tempfile::tempdir().unwrap();
        let missing = root.path().join("gone");
        let mut upload = ObjectUpload::new(store.clone(), Path::from("e"), 1000).buffer_in(missing);
        upload.put(bytes(300, 1)).await.unwrap();
        assert_eq!(upload.buffered_in_memory(), 300, "held in memory instead");
        upload.put(bytes(900, 2)).await.unwrap();
        upload.finish().await.unwrap();
        assert_eq!(
            stored(&store, "e").await.as_ref(),
            [bytes(300, 1).as_ref(), bytes(900, 2).as_ref()]
                .concat()
                .as_slice()
        );
    }

    #[tokio::test]
    async fn a_temporary_file_that_takes_no_more_moves_what_it_holds_to_memory() {
        let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        let dir = tempfile::tempdir().unwrap();
        // A file that refuses writes (as a full disk does) and already holds 300 bytes.
        let held = dir.path().join("held");
        std::fs::write(&held, bytes(300, 1)).unwrap();
        let mut upload = ObjectUpload::new(store.clone(), Path::from("f"), 1000);
        upload.buffer = Buffer::Disk {
            dir: dir.path().to_path_buf(),
            file: Some(File::open(&held).unwrap()),
            len: 300,
        };
        upload.put(bytes(900, 2)).await.unwrap();
        assert_eq!(
            upload.buffered_in_memory(),
            200,
            "one part sent, the rest in memory"
        );
        assert!(upload.is_multipart());
        upload.finish().await.unwrap();
        assert_eq!(
            stored(&store, "f").await.as_ref(),
            [bytes(300, 1).as_ref(), bytes(900, 2).as_ref()]
                .concat()
                .as_slice()
        );
    }

    #[tokio::test]
    async fn an_aborted_upload_writes_nothing_and_takes_no_more_bytes() {
        let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        let mut upload = ObjectUpload::new(store.clone(), Path::from("b"), 1000);
        upload.put(bytes(4500, 3)).await.unwrap();
        assert!(upload.is_multipart());
        upload.abort().await.unwrap();
        upload.abort().await.unwrap();
        assert!(store.head(&Path::from("b")).await.is_err());
        assert!(upload.put(bytes(10, 0)).await.is_err());
        assert!(upload.finish().await.is_err());
    }
}
