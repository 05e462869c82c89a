//! A table's rows encoded as Parquet, compressed with zstd contexts that live as long as the
//! thread that uses them.
//!
//! The `parquet` crate's `ArrowWriter` gives each column chunk a codec of its own, and its zstd
//! codec makes a compression context and a decompression context (a writer never uses the
//! second). Four days of 5,000 conversations write 2,405 column chunks, so 4,810 contexts,
//! each set up and given fresh memory: zstd 1.5.7 asks the CPU for BMI2 with `cpuid` at every
//! setup, which traps to the hypervisor on a VM (7–10 µs each here), and each context's
//! workspace is faulted in anew. Against `ArrowWriter` on those four days, in two sittings: 8–9%
//! less CPU, 14–19% fewer page faults, 14–16 MB less peak RSS (benches/profile.md,
//! "Seventeenth round").
//!
//! [`Encoder`] drives the crate's own column writers (its encodings, dictionaries, statistics
//! and page boundaries) with compression switched off in their properties. Each page they
//! finish reaches a [`PageStore`] of ours, which compresses the page's body with its thread's
//! context and rewrites the compressed size in the page's header; when a row group is flushed,
//! each chunk is laid out (the dictionary page first) and appended with its metadata
//! corrected (codec, sizes, page offsets). At levels 3 and above the files are byte for byte
//! what `ArrowWriter` writes with zstd at the same level; at the levels below, the default
//! among them, zstd is given a smaller hash table ([`PageZstd`]), so the frames differ while
//! every page decompresses to the crate's bytes (tests below pin both). Readers, Snowflake
//! among them, see no difference.

use std::cell::RefCell;
use std::sync::{Arc, Mutex, MutexGuard};

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use bytes::Bytes;
use parquet::arrow::arrow_writer::{
    ArrowColumnWriter, ArrowRowGroupWriterFactory, ArrowWriter, ArrowWriterOptions, PageKey,
    PageStore, PageStoreArgs, PageStoreFactory, compute_leaves,
};
use parquet::basic::{Compression, PageType};
use parquet::column::writer::ColumnCloseResult;
use parquet::errors::{ParquetError, Result};
use parquet::file::properties::{WriterProperties, WriterVersion};
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::ColumnPath;

/// What the encoder refuses or finds wrong, beyond the `parquet` crate's own errors.
#[derive(Debug, thiserror::Error)]
enum EncodeError {
    #[error("the encoder compresses with zstd only; the properties ask for {0}")]
    Codec(String),
    #[error("the encoder writes data pages of version 1 only")]
    PageVersion,
    #[error("the encoder does not cut pages by content (content-defined chunking)")]
    Chunking,
    #[error("column {column} is set to {codec}; the encoder compresses every column alike")]
    ColumnCodec { column: String, codec: String },
    #[error("{stores} page stores for {writers} column writers")]
    Stores { stores: usize, writers: usize },
    #[error("a batch of {batch} leaf columns for {writers} column writers")]
    Leaves { batch: usize, writers: usize },
    #[error("page header: {0}")]
    Header(&'static str),
    #[error("a page of type {0} where a data page or a chunk's one dictionary page belongs")]
    Page(i32),
    #[error("the offset index lists {index} pages, the chunk has {pages}")]
    OffsetIndex { index: usize, pages: usize },
    #[error("a page over 2 GiB")]
    PageSize,
    #[error("an earlier write failed; the file cannot be finished")]
    Failed,
}

impl From<EncodeError> for ParquetError {
    fn from(e: EncodeError) -> Self {
        ParquetError::External(Box::new(e))
    }
}

/// Encodes record batches into one Parquet file held in a `Vec` (see [`Self::inner_mut`]).
pub struct Encoder {
    file: SerializedFileWriter<Vec<u8>>,
    columns: ArrowRowGroupWriterFactory,
    schema: SchemaRef,
    stores: Arc<CompressingStores>,
    codec: Compression,
    max_rows: usize,
    open: Option<RowGroup>,
    /// Set by a failed write or flush: the open row group may hold a batch in some columns
    /// and not in others, so nothing more is written.
    failed: bool,
}

/// The row group being written: a writer and the pages it has finished, per leaf column.
struct RowGroup {
    writers: Vec<ArrowColumnWriter>,
    chunks: Vec<SharedChunk>,
    rows: usize,
}

impl Encoder {
    /// An encoder for `schema` with `props`, whose compression must be zstd for every column
    /// (at the level the pages are compressed with). Row groups close at the properties' row
    /// count or when the caller flushes; `max_row_group_bytes` is not read (the partition
    /// writer closes row groups by size itself). Version 2 data pages and content-defined
    /// chunking, which this loader does not use, are refused.
    pub fn new(schema: SchemaRef, props: WriterProperties) -> Result<Self> {
        Self::with_tuning(schema, props, true)
    }

    /// [`Self::new`], with zstd's parameters for the level left as they are when `tuned` is
    /// false: what `ArrowWriter` compresses with, so tests can compare the bytes.
    fn with_tuning(schema: SchemaRef, props: WriterProperties, tuned: bool) -> Result<Self> {
        let codec = props.compression(&ColumnPath::new(Vec::new()));
        let Compression::ZSTD(level) = codec else {
            return Err(EncodeError::Codec(codec.to_string()).into());
        };
        if props.writer_version() != WriterVersion::PARQUET_1_0 {
            return Err(EncodeError::PageVersion.into());
        }
        if props.content_defined_chunking().is_some() {
            return Err(EncodeError::Chunking.into());
        }
        let max_rows = props.max_row_group_row_count().unwrap_or(usize::MAX).max(1);
        let plain = props
            .clone()
            .into_builder()
            .set_compression(Compression::UNCOMPRESSED)
            .build();
        let zstd = PageZstd::new(level.compression_level(), tuned);
        let stores = Arc::new(CompressingStores::new(zstd));
        let options = ArrowWriterOptions::new()
            .with_properties(plain)
            .with_page_store_factory(stores.clone());
        // The crate's own constructor derives the Parquet schema and the embedded Arrow schema
        // exactly as `ArrowWriter` does; nothing has been written yet, so the split is free.
        let (file, columns) =
            ArrowWriter::try_new_with_options(Vec::new(), schema.clone(), options)?
                .into_serialized_writer()?;
        // A column given a codec of its own keeps it under the default set above: its pages
        // would arrive compressed. Refused here rather than at its first page.
        for column in file.schema_descr().columns() {
            let path = column.path();
            if props.compression(path) != codec {
                return Err(EncodeError::ColumnCodec {
                    column: path.string(),
                    codec: props.compression(path).to_string(),
                }
                .into());
            }
        }
        Ok(Encoder {
            file,
            columns,
            schema,
            stores,
            codec,
            max_rows,
            open: None,
            failed: false,
        })
    }

    /// Encodes `batch` (of the encoder's schema), closing a row group whenever it reaches the
    /// properties' row count.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        self.guard(|encoder| encoder.write_rows(batch))
    }

    /// Writes the open row group, if any, to the file.
    pub fn flush(&mut self) -> Result<()> {
        self.guard(Self::flush_rows)
    }

    /// Flushes the open row group and writes the footer.
    pub fn finish(&mut self) -> Result<()> {
        self.guard(|encoder| {
            encoder.flush_rows()?;
            encoder.file.finish().map(drop)
        })
    }

    /// Runs `step` unless an earlier one failed, and marks the encoder failed if it fails.
    fn guard(&mut self, step: impl FnOnce(&mut Self) -> Result<()>) -> Result<()> {
        if self.failed {
            return Err(EncodeError::Failed.into());
        }
        let result = step(self);
        self.failed = result.is_err();
        result
    }

    fn write_rows(&mut self, batch: &RecordBatch) -> Result<()> {
        let mut offset = 0;
        while offset < batch.num_rows() {
            if self.open.is_none() {
                self.open = Some(self.new_row_group()?);
            }
            let group = self.open.as_mut().expect("opened above");
            let take = (self.max_rows - group.rows).min(batch.num_rows() - offset);
            let rows = batch.slice(offset, take);
            let mut writers = group.writers.iter_mut();
            let mut leaves = 0;
            for (field, column) in self.schema.fields().iter().zip(rows.columns()) {
                for leaf in compute_leaves(field, column)? {
                    leaves += 1;
                    let writer = writers.next().ok_or(EncodeError::Leaves {
                        batch: leaves,
                        writers: group.chunks.len(),
                    })?;
                    writer.write(&leaf)?;
                }
            }
            group.rows += take;
            offset += take;
            if group.rows >= self.max_rows {
                self.flush_rows()?;
            }
        }
        Ok(())
    }

    fn new_row_group(&self) -> Result<RowGroup> {
        let index = self.file.flushed_row_groups().len();
        let writers = self.columns.create_column_writers(index);
        // Taken even when creating the writers failed, so no stale store is left behind.
        let mut chunks = self.stores.take_created();
        let writers = writers?;
        chunks.sort_by_key(|chunk| lock(chunk).column);
        let aligned = chunks.iter().enumerate().all(|(i, c)| lock(c).column == i);
        if chunks.len() != writers.len() || !aligned {
            return Err(EncodeError::Stores {
                stores: chunks.len(),
                writers: writers.len(),
            }
            .into());
        }
        Ok(RowGroup {
            writers,
            chunks,
            rows: 0,
        })
    }

    fn flush_rows(&mut self) -> Result<()> {
        let Some(group) = self.open.take() else {
            return Ok(());
        };
        let mut row_group = self.file.next_row_group()?;
        for (writer, chunk) in group.writers.into_iter().zip(group.chunks) {
            let close = writer.close()?.close().clone();
            let pages = std::mem::take(&mut *lock(&chunk));
            // One copy of the chunk's compressed bytes, and one more into the file: a few MB
            // a day in all, beside the tens of MB the pages were compressed from.
            let (bytes, close) = pages.assemble(close, self.codec)?;
            row_group.append_column(&bytes, close)?;
        }
        row_group.close()?;
        Ok(())
    }

    /// The file's bytes written so far (row groups, then the footer), to be taken away.
    pub fn inner_mut(&mut self) -> &mut Vec<u8> {
        self.file.inner_mut()
    }

    /// Bytes written to the file so far.
    pub fn bytes_written(&self) -> usize {
        self.file.bytes_written()
    }

    /// Memory the open row group holds: the column writers' buffers and finished pages, as
    /// `ArrowWriter::memory_size` counts them.
    pub fn memory_size(&self) -> usize {
        self.open.as_ref().map_or(0, |group| {
            group.writers.iter().map(|w| w.memory_size()).sum()
        })
    }

    /// The open row group's size once written: what `ArrowWriter::in_progress_size` gives.
    /// The column writers count their finished pages as they were handed over, uncompressed;
    /// the pages' compressed size replaces that.
    pub fn in_progress_size(&self) -> usize {
        self.open.as_ref().map_or(0, |group| {
            let estimated: usize = group
                .writers
                .iter()
                .map(|w| w.get_estimated_total_bytes())
                .sum();
            let (handed, kept) = group.chunks.iter().fold((0, 0), |(handed, kept), chunk| {
                let chunk = lock(chunk);
                (handed + chunk.handed_bytes, kept + chunk.kept_bytes)
            });
            estimated - handed + kept
        })
    }
}

/// Makes a [`ChunkStore`] for every column writer the crate creates, and keeps a handle on
/// each so that the encoder can take the pages back at the flush.
#[derive(Debug)]
struct CompressingStores {
    zstd: PageZstd,
    created: Mutex<Vec<SharedChunk>>,
}

impl CompressingStores {
    fn new(zstd: PageZstd) -> Self {
        CompressingStores {
            zstd,
            created: Mutex::new(Vec::new()),
        }
    }

    fn take_created(&self) -> Vec<SharedChunk> {
        std::mem::take(&mut *self.created.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

impl PageStoreFactory for CompressingStores {
    fn create(&self, args: &PageStoreArgs<'_>) -> Result<Box<dyn PageStore>> {
        let chunk = Arc::new(Mutex::new(ChunkPages {
            column: args.column_index(),
            ..ChunkPages::default()
        }));
        self.created
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(chunk.clone());
        Ok(Box::new(ChunkStore {
            chunk,
            zstd: self.zstd,
            header: None,
            next_key: 0,
        }))
    }
}

type SharedChunk = Arc<Mutex<ChunkPages>>;

/// The chunk's pages, whatever a panic elsewhere left: they are plain data, and a panic fails
/// the run before any file it touched is listed in a manifest.
fn lock(chunk: &SharedChunk) -> MutexGuard<'_, ChunkPages> {
    chunk.lock().unwrap_or_else(|e| e.into_inner())
}

/// The crate's page writer puts each finished page as two blobs, its Thrift header and then
/// its body; this store compresses the body and keeps the pair.
struct ChunkStore {
    chunk: SharedChunk,
    zstd: PageZstd,
    /// A page's header, waiting for its body.
    header: Option<Bytes>,
    next_key: u64,
}

impl PageStore for ChunkStore {
    fn put(&mut self, value: Bytes) -> Result<PageKey> {
        let key = PageKey::new(self.next_key);
        self.next_key += 1;
        let Some(header) = self.header.as_ref() else {
            self.header = Some(value);
            return Ok(key);
        };
        let body = compress(&value, self.zstd)?;
        let (kind, header_out) = patch_compressed_size(header, value.len(), body.len())?;
        let mut chunk = lock(&self.chunk);
        chunk.handed_bytes += header.len() + value.len();
        chunk.kept_bytes += header_out.len() + body.len();
        self.header = None;
        let page = Page {
            header: header_out,
            body,
            uncompressed: value.len(),
        };
        match kind {
            DICTIONARY_PAGE if chunk.dictionary.is_none() => chunk.dictionary = Some(page),
            DATA_PAGE => chunk.pages.push(page),
            other => return Err(EncodeError::Page(other).into()),
        }
        Ok(key)
    }

    /// Never called: the crate reads pages back from a store only when it lays out the chunk
    /// itself (`ArrowColumnChunk::append_to_row_group`), which [`Encoder`] does instead.
    fn take(&mut self, _key: PageKey) -> Result<Bytes> {
        Err(ParquetError::General(
            "the encoder lays out the compressed pages itself".into(),
        ))
    }

    fn memory_size(&self) -> usize {
        let header = self.header.as_ref().map_or(0, Bytes::len);
        header + lock(&self.chunk).kept_bytes
    }
}

/// One column chunk's compressed pages, in the order the column writer finished them.
#[derive(Debug, Default)]
struct ChunkPages {
    column: usize,
    dictionary: Option<Page>,
    pages: Vec<Page>,
    /// Bytes of header and body as the column writer handed them over (uncompressed): what
    /// it counts as written.
    handed_bytes: usize,
    /// Bytes of header and body as kept (compressed): what the file will hold.
    kept_bytes: usize,
}

#[derive(Debug)]
struct Page {
    header: Vec<u8>,
    body: Vec<u8>,
    uncompressed: usize,
}

impl Page {
    fn len(&self) -> usize {
        self.header.len() + self.body.len()
    }
}

impl ChunkPages {
    /// The chunk's bytes (the dictionary page first, as readers expect), and `close` with the
    /// codec, sizes and page offsets of those bytes.
    fn assemble(
        self,
        mut close: ColumnCloseResult,
        codec: Compression,
    ) -> Result<(Bytes, ColumnCloseResult)> {
        let all = || self.dictionary.iter().chain(&self.pages);
        let total: usize = all().map(Page::len).sum();
        let uncompressed: usize = all().map(|p| p.header.len() + p.uncompressed).sum();
        let dictionary_len = self.dictionary.as_ref().map_or(0, Page::len);
        let mut bytes = Vec::with_capacity(total);
        for page in all() {
            bytes.extend_from_slice(&page.header);
            bytes.extend_from_slice(&page.body);
        }
        close.metadata = close
            .metadata
            .into_builder()
            .set_compression(codec)
            .set_total_compressed_size(total as i64)
            .set_total_uncompressed_size(uncompressed as i64)
            .set_dictionary_page_offset(self.dictionary.as_ref().map(|_| 0))
            .set_data_page_offset(dictionary_len as i64)
            .build()?;
        close.bytes_written = total as u64;
        if let Some(index) = close.offset_index.as_mut() {
            if index.page_locations.len() != self.pages.len() {
                return Err(EncodeError::OffsetIndex {
                    index: index.page_locations.len(),
                    pages: self.pages.len(),
                }
                .into());
            }
            let mut offset = dictionary_len;
            for (location, page) in index.page_locations.iter_mut().zip(&self.pages) {
                location.offset = offset as i64;
                location.compressed_page_size =
                    i32::try_from(page.len()).map_err(|_| EncodeError::PageSize)?;
                offset += page.len();
            }
        }
        Ok((Bytes::from(bytes), close))
    }
}

/// How pages are compressed: zstd's level, and the size of its hash table when it is set
/// rather than left to the level.
///
/// zstd sizes the fast levels' hash table for the input: at level 1, 2^14 entries of 4 bytes
/// for an input over 128 KiB, so 64 KiB, twice a core's L1 data cache on most x86 parts (32
/// KiB on this project's EPYC hosts). Parquet pages are compressed one by one and are at most
/// about 1 MiB, and the matches that pay in them are short-range (a key repeated on the rows
/// of its children, a value beside its neighbours). A table of 2^12 entries stays in L1:
/// compressing the 3,568 pages (108.6 MB) of four frozen conversation days took 10–15% less
/// time at level 1, 27% less at level 2 and 6% less at level -3, and the output was 0.5% and
/// 2% smaller and 0.3% larger (benches/profile.md, "Eighteenth round"). Levels 3 and above
/// search differently (more than one table, longer chains) and keep zstd's choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PageZstd {
    level: i32,
    hash_log: Option<u32>,
}

impl PageZstd {
    /// The hash table's size, as a power of two, at the levels that are given one.
    const HASH_LOG: u32 = 12;
    /// The highest level given [`Self::HASH_LOG`].
    const TUNED_UP_TO: i32 = 2;

    fn new(level: i32, tuned: bool) -> Self {
        PageZstd {
            level,
            hash_log: (tuned && level <= Self::TUNED_UP_TO).then_some(Self::HASH_LOG),
        }
    }

    fn compressor(self) -> std::io::Result<zstd::bulk::Compressor<'static>> {
        let mut compressor = zstd::bulk::Compressor::new(self.level)?;
        if let Some(log) = self.hash_log {
            compressor.set_parameter(zstd::zstd_safe::CParameter::HashLog(log))?;
        }
        Ok(compressor)
    }
}

/// This thread's compression context and its settings, and a buffer of zstd's bound that each
/// page is compressed into before its exact bytes are copied out: a page kept at the bound's
/// size would hold about its uncompressed size until the row group is written, which the write
/// budget, counting compressed bytes, would not see.
struct Context {
    zstd: PageZstd,
    compressor: zstd::bulk::Compressor<'static>,
    scratch: Vec<u8>,
}

thread_local! {
    static CONTEXT: RefCell<Option<Context>> = const { RefCell::new(None) };
}

/// `body` compressed as `zstd` says with this thread's context: the same frame a new context
/// gives, since every compression starts from the context's parameters, not its history.
fn compress(body: &[u8], zstd: PageZstd) -> Result<Vec<u8>> {
    CONTEXT
        .with(|context| {
            let mut context = context.borrow_mut();
            if context.as_ref().map(|c| c.zstd) != Some(zstd) {
                *context = Some(Context {
                    zstd,
                    compressor: zstd.compressor()?,
                    scratch: Vec::new(),
                });
            }
            let Context {
                compressor,
                scratch,
                ..
            } = context.as_mut().expect("set above");
            scratch.clear();
            scratch.reserve(zstd::zstd_safe::compress_bound(body.len()));
            compressor.compress_to_buffer(body, scratch)?;
            Ok(scratch.as_slice().to_vec())
        })
        .map_err(|e: std::io::Error| ParquetError::External(Box::new(e)))
}

const DATA_PAGE: i32 = PageType::DATA_PAGE as i32;
const DICTIONARY_PAGE: i32 = PageType::DICTIONARY_PAGE as i32;

/// A page header with its compressed size set to `compressed`, and the page's type.
///
/// Parquet's `PageHeader` opens with three required `i32` fields, ids 1 to 3: the type, the
/// uncompressed size and the compressed size. The Thrift compact protocol writes each as the
/// byte `0x15` (one id after the last, type `i32`) and a zigzag varint. The header of an
/// uncompressed page has both sizes equal to its body's; anything else is refused, so a
/// header laid out otherwise can never be patched wrongly.
fn patch_compressed_size(header: &[u8], body: usize, compressed: usize) -> Result<(i32, Vec<u8>)> {
    let refused = |what| ParquetError::from(EncodeError::Header(what));
    let mut at = 0;
    let mut fields = [0i32; 3];
    let mut third = 0..0;
    for (i, field) in fields.iter_mut().enumerate() {
        if header.get(at) != Some(&0x15) {
            return Err(refused("does not open with the type and two sizes"));
        }
        let start = at + 1;
        let (value, len) = read_varint(&header[start..]).ok_or_else(|| refused("bad varint"))?;
        *field = value;
        at = start + len;
        if i == 2 {
            third = start..at;
        }
    }
    let [kind, uncompressed, stored] = fields;
    if usize::try_from(uncompressed).ok() != Some(body) || uncompressed != stored {
        return Err(refused("sizes are not those of the uncompressed body"));
    }
    let compressed = i32::try_from(compressed).map_err(|_| EncodeError::PageSize)?;
    let mut out = Vec::with_capacity(header.len() + 5);
    out.extend_from_slice(&header[..third.start]);
    write_varint(compressed, &mut out);
    out.extend_from_slice(&header[third.end..]);
    Ok((kind, out))
}

/// A zigzag varint `i32` (at most five bytes) and its length.
fn read_varint(bytes: &[u8]) -> Option<(i32, usize)> {
    let mut value: u32 = 0;
    for (i, &b) in bytes.iter().take(5).enumerate() {
        value |= u32::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some((((value >> 1) as i32) ^ -((value & 1) as i32), i + 1));
        }
    }
    None
}

fn write_varint(value: i32, out: &mut Vec<u8>) {
    let mut v = ((value << 1) ^ (value >> 31)) as u32;
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::builder::{ListBuilder, StringBuilder};
    use arrow_array::{ArrayRef, BooleanArray, Int64Array, StringArray, TimestampMicrosecondArray};
    use arrow_schema::{DataType, Field, Schema, TimeUnit};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use parquet::basic::ZstdLevel;
    use parquet::file::properties::EnabledStatistics;

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("id", DataType::Utf8, false),
            Field::new("code", DataType::Utf8, true),
            Field::new(
                "at",
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                true,
            ),
            Field::new("n", DataType::Int64, true),
            Field::new("flag", DataType::Boolean, true),
            Field::new("text", DataType::Utf8, true),
            Field::new(
                "tags",
                DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
                true,
            ),
        ]))
    }

    /// Rows with what a table has: unique keys, codes that repeat (a dictionary), codes that
    /// stop repeating (the dictionary given up mid-chunk), nulls, long text over many pages,
    /// lists (null, empty, with null items).
    fn batch(start: usize, rows: usize) -> RecordBatch {
        let ids: Vec<String> = (start..start + rows)
            .map(|i| format!("id-{i:08}"))
            .collect();
        let codes: Vec<Option<String>> = (start..start + rows)
            .map(|i| match i % 7 {
                0 => None,
                _ if i > 30_000 => Some(format!("rare-{i}")),
                k => Some(format!("code-{k}")),
            })
            .collect();
        let at: Vec<Option<i64>> = (start..start + rows)
            .map(|i| (i % 5 != 0).then_some(1_700_000_000_000_000 + i as i64 * 997))
            .collect();
        let n: Vec<Option<i64>> = (start..start + rows)
            .map(|i| (i % 3 != 0).then_some((i * i) as i64))
            .collect();
        let flag: Vec<Option<bool>> = (start..start + rows)
            .map(|i| (i % 4 != 0).then_some(i % 2 == 0))
            .collect();
        let text: Vec<Option<String>> = (start..start + rows)
            .map(|i| (i % 11 != 0).then(|| format!("{i} {}", "words ".repeat(i % 40))))
            .collect();
        let mut tags = ListBuilder::new(StringBuilder::new());
        for i in start..start + rows {
            match i % 6 {
                0 => tags.append_null(),
                1 => tags.append(true),
                k => {
                    for t in 0..k {
                        tags.values().append_value(format!("tag-{}", (i + t) % 50));
                    }
                    tags.values().append_null();
                    tags.append(true);
                }
            }
        }
        let columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(ids)),
            Arc::new(StringArray::from(codes)),
            Arc::new(TimestampMicrosecondArray::from(at).with_timezone("UTC")),
            Arc::new(Int64Array::from(n)),
            Arc::new(BooleanArray::from(flag)),
            Arc::new(StringArray::from(text)),
            Arc::new(tags.finish()),
        ];
        RecordBatch::try_new(schema(), columns).unwrap()
    }

    fn props(level: ZstdLevel, max_rows: usize) -> WriterProperties {
        WriterProperties::builder()
            .set_compression(Compression::ZSTD(level))
            .set_max_row_group_row_count(Some(max_rows))
            .set_statistics_enabled(EnabledStatistics::Chunk)
            .set_column_dictionary_enabled(ColumnPath::from("id"), false)
            .set_column_statistics_enabled(ColumnPath::from("text"), EnabledStatistics::None)
            .set_dictionary_page_size_limit(16 * 1024)
            .build()
    }

    /// Batches of uneven sizes, with a flush between some, as the partition writer gives them.
    const BATCHES: [(usize, usize, bool); 5] = [
        (0, 9_000, false),
        (9_000, 1, false),
        (9_001, 20_000, true),
        (29_001, 7_000, false),
        (36_001, 15_000, false),
    ];

    /// The file `ours` writes from [`BATCHES`] and the one `ArrowWriter` writes with the same
    /// properties; with `same_frames`, checking after every batch that both count the open
    /// row group alike (its compressed pages are in the count).
    fn both_files(level: i32, ours: MakeEncoder, same_frames: bool) -> (Vec<u8>, Vec<u8>) {
        let props = || props(ZstdLevel::try_new(level).unwrap(), 12_000);
        let mut theirs = ArrowWriter::try_new(Vec::new(), schema(), Some(props())).unwrap();
        let mut ours = ours(props());
        for (start, rows, flush) in BATCHES {
            let b = batch(start, rows);
            theirs.write(&b).unwrap();
            ours.write(&b).unwrap();
            if same_frames {
                assert_eq!(ours.in_progress_size(), theirs.in_progress_size());
                assert_eq!(ours.memory_size(), theirs.memory_size());
            }
            if flush {
                theirs.flush().unwrap();
                ours.flush().unwrap();
            }
        }
        ours.finish().unwrap();
        theirs.finish().unwrap();
        let ours = std::mem::take(ours.inner_mut());
        (ours, std::mem::take(theirs.inner_mut()))
    }

    type MakeEncoder = fn(WriterProperties) -> Encoder;

    fn untuned(props: WriterProperties) -> Encoder {
        Encoder::with_tuning(schema(), props, false).unwrap()
    }

    fn tuned(props: WriterProperties) -> Encoder {
        Encoder::new(schema(), props).unwrap()
    }

    fn rows(file: Vec<u8>) -> usize {
        let read = ParquetRecordBatchReaderBuilder::try_new(Bytes::from(file))
            .unwrap()
            .build()
            .unwrap();
        read.map(|b| b.unwrap().num_rows()).sum()
    }

    #[test]
    fn files_are_what_the_arrow_writer_writes_with_zstd() {
        // Level 3 keeps zstd's parameters in the encoder as built for the loader.
        let untuned: MakeEncoder = untuned;
        for (level, ours) in [(1, untuned), (-3, untuned), (3, tuned)] {
            let (ours, theirs) = both_files(level, ours, true);
            assert!(ours == theirs, "level {level}: files differ");
            assert_eq!(rows(ours), 51_001);
        }
    }

    /// Every page of `file`, decompressed, with what its header says of it.
    fn pages(file: &[u8]) -> Vec<(String, usize, Bytes)> {
        use parquet::file::reader::{FileReader, SerializedFileReader};
        let reader = SerializedFileReader::new(Bytes::copy_from_slice(file)).unwrap();
        let mut pages = Vec::new();
        for g in 0..reader.num_row_groups() {
            let group = reader.get_row_group(g).unwrap();
            for c in 0..group.num_columns() {
                let mut read = group.get_column_page_reader(c).unwrap();
                while let Some(page) = read.get_next_page().unwrap() {
                    let kind = format!("{:?} {:?}", page.page_type(), page.encoding());
                    pages.push((kind, page.num_values() as usize, page.buffer().clone()));
                }
            }
        }
        pages
    }

    #[test]
    fn a_smaller_hash_table_changes_the_frames_and_not_the_pages() {
        for level in [1, 2, -3] {
            let (ours, theirs) = both_files(level, tuned, false);
            assert!(
                ours != theirs,
                "level {level}: the hash table's size reached zstd"
            );
            let (ours_pages, their_pages) = (pages(&ours), pages(&theirs));
            assert!(ours_pages.len() > 40, "{}", ours_pages.len());
            assert!(ours_pages == their_pages, "level {level}: pages differ");
            assert_eq!(rows(ours), 51_001);
        }
    }

    #[test]
    fn settings_it_cannot_honour_are_refused() {
        let level = ZstdLevel::try_new(1).unwrap();
        let refused = |props: WriterProperties| Encoder::new(schema(), props).err();
        let plain = WriterProperties::builder()
            .set_compression(Compression::UNCOMPRESSED)
            .build();
        assert!(refused(plain).unwrap().to_string().contains("zstd only"));
        let v2 = props(level, 10)
            .into_builder()
            .set_writer_version(WriterVersion::PARQUET_2_0)
            .build();
        assert!(refused(v2).unwrap().to_string().contains("version 1"));
        let mixed = props(level, 10)
            .into_builder()
            .set_column_compression(ColumnPath::from("n"), Compression::UNCOMPRESSED)
            .build();
        assert!(refused(mixed).unwrap().to_string().contains("column n"));
        assert!(refused(props(level, 10)).is_none());
    }

    #[test]
    fn a_header_is_patched_only_where_its_sizes_are() {
        // type 0, sizes 300 and 300, then a nested struct's bytes.
        let mut header = vec![0x15, 0x00, 0x15];
        write_varint(300, &mut header);
        header.push(0x15);
        write_varint(300, &mut header);
        header.extend_from_slice(&[0x2c, 0x15, 0x04, 0x00]);
        let (kind, patched) = patch_compressed_size(&header, 300, 5).unwrap();
        assert_eq!(kind, 0);
        let mut expected = vec![0x15, 0x00, 0x15];
        write_varint(300, &mut expected);
        expected.extend_from_slice(&[0x15, 0x0a, 0x2c, 0x15, 0x04, 0x00]);
        assert_eq!(patched, expected);

        assert!(patch_compressed_size(&header, 299, 5).is_err(), "body size");
        let mut other = header.clone();
        other[0] = 0x25;
        assert!(
            patch_compressed_size(&other, 300, 5).is_err(),
            "field layout"
        );
        assert!(
            patch_compressed_size(&header[..4], 300, 5).is_err(),
            "cut short"
        );
    }

    #[test]
    fn varints_round_trip() {
        for v in [0, 1, -1, 63, 64, -64, -65, 300, i32::MAX, i32::MIN] {
            let mut out = Vec::new();
            write_varint(v, &mut out);
            assert_eq!(read_varint(&out), Some((v, out.len())));
        }
        assert_eq!(read_varint(&[0x80, 0x80]), None);
    }
}
