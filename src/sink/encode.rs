//! A table's rows encoded as Parquet, compressed with zstd contexts that live as long as the
//! thread that uses them.
//!
//! The `parquet` crate's `ArrowWriter` gives each column chunk a codec of its own, and its zstd
//! codec makes a compression context and a decompression context (a writer never uses the
//! second). Four days of 5,000 conversations write 2,405 column chunks, so 4,810 contexts,
//! each set up and given fresh memory: zstd 1.5.7 asks the CPU for BMI2 with `cpuid` at every
//! setup, which traps to the hypervisor on a VM (7–10 µs each here), and each context's
//! workspace is faulted in anew. Against `ArrowWriter` on those four days (benches/profile.md,
//! "Seventeenth round"), in two sittings: 8–9% less CPU, 14–19% fewer page faults and 14–16 MB
//! less peak RSS; the files are the same.
//!
//! [`Encoder`] drives the crate's own column writers (its encodings, dictionaries, statistics
//! and page boundaries) with compression switched off in their properties. Each page they
//! finish reaches a [`PageStore`] of ours, which compresses the page's body with its thread's
//! context and rewrites the compressed size in the page's header; when a row group is flushed,
//! each chunk is laid out (the dictionary page first) and appended with its metadata
//! corrected (codec, sizes, page offsets). The files are byte for byte what `ArrowWriter`
//! writes with zstd at the same level (a test below pins it), so readers, Snowflake among
//! them, see no difference.

use std::cell::RefCell;
use std::sync::{Arc, Mutex, MutexGuard};

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use bytes::Bytes;
use parquet::arrow::arrow_writer::{
    ArrowColumnWriter, ArrowRowGroupWriterFactory, ArrowWriter, ArrowWriterOptions, PageKey,
    PageStore, PageStoreArgs, PageStoreFactory, compute_leaves,
};
use parquet::basic::{Compression, ZstdLevel};
use parquet::column::writer::ColumnCloseResult;
use parquet::errors::{ParquetError, Result};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;

/// Encodes record batches into one Parquet file held in a `Vec` (see [`Self::inner_mut`]).
pub struct Encoder {
    file: SerializedFileWriter<Vec<u8>>,
    columns: ArrowRowGroupWriterFactory,
    stores: Arc<CompressingStores>,
    codec: Compression,
    max_rows: usize,
    open: Option<RowGroup>,
}

/// The row group being written: a writer and the pages it has finished, per leaf column.
struct RowGroup {
    writers: Vec<ArrowColumnWriter>,
    chunks: Vec<SharedChunk>,
    rows: usize,
}

impl Encoder {
    /// An encoder for `schema` with `props` (their compression is ignored: pages are
    /// compressed with zstd at `level`). Row groups close at the properties' row count or when
    /// the caller flushes; `max_row_group_bytes` is not read (the partition writer closes row
    /// groups by size itself).
    pub fn new(schema: SchemaRef, props: WriterProperties, level: ZstdLevel) -> Result<Self> {
        let max_rows = props.max_row_group_row_count().unwrap_or(usize::MAX).max(1);
        let props = props
            .into_builder()
            .set_compression(Compression::UNCOMPRESSED)
            .build();
        let stores = Arc::new(CompressingStores::new(level.compression_level()));
        let options = ArrowWriterOptions::new()
            .with_properties(props)
            .with_page_store_factory(stores.clone());
        // The crate's own constructor derives the Parquet schema and the embedded Arrow schema
        // exactly as `ArrowWriter` does; nothing has been written yet, so the split is free.
        let (file, columns) = ArrowWriter::try_new_with_options(Vec::new(), schema, options)?
            .into_serialized_writer()?;
        Ok(Encoder {
            file,
            columns,
            stores,
            codec: Compression::ZSTD(level),
            max_rows,
            open: None,
        })
    }

    /// Encodes `batch`, closing a row group whenever it reaches the properties' row count.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        let mut offset = 0;
        while offset < batch.num_rows() {
            if self.open.is_none() {
                self.open = Some(self.new_row_group()?);
            }
            let group = self.open.as_mut().expect("opened above");
            let take = (self.max_rows - group.rows).min(batch.num_rows() - offset);
            let rows = batch.slice(offset, take);
            let mut writers = group.writers.iter_mut();
            for (field, column) in rows.schema().fields().iter().zip(rows.columns()) {
                for leaf in compute_leaves(field, column)? {
                    let writer = writers.next().ok_or_else(|| {
                        ParquetError::General("more leaf columns than column writers".into())
                    })?;
                    writer.write(&leaf)?;
                }
            }
            group.rows += take;
            offset += take;
            if group.rows >= self.max_rows {
                self.flush()?;
            }
        }
        Ok(())
    }

    fn new_row_group(&self) -> Result<RowGroup> {
        let index = self.file.flushed_row_groups().len();
        let writers = self.columns.create_column_writers(index)?;
        let mut chunks = self.stores.take_created();
        chunks.sort_by_key(|chunk| lock(chunk).column);
        if chunks.len() != writers.len() {
            return Err(ParquetError::General(format!(
                "{} page stores for {} column writers",
                chunks.len(),
                writers.len()
            )));
        }
        Ok(RowGroup {
            writers,
            chunks,
            rows: 0,
        })
    }

    /// Writes the open row group, if any, to the file.
    pub fn flush(&mut self) -> Result<()> {
        let Some(group) = self.open.take() else {
            return Ok(());
        };
        let mut row_group = self.file.next_row_group()?;
        for (writer, chunk) in group.writers.into_iter().zip(group.chunks) {
            let close = writer.close()?.close().clone();
            let pages = std::mem::take(&mut *lock(&chunk));
            let (bytes, close) = pages.assemble(close, self.codec)?;
            row_group.append_column(&bytes, close)?;
        }
        row_group.close()?;
        Ok(())
    }

    /// Flushes the open row group and writes the footer.
    pub fn finish(&mut self) -> Result<()> {
        self.flush()?;
        self.file.finish()?;
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

    /// Memory the open row group holds: the column writers' buffers and finished pages.
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
            let (handed, held) = group.chunks.iter().fold((0, 0), |(handed, held), chunk| {
                let chunk = lock(chunk);
                (handed + chunk.handed, held + chunk.held)
            });
            estimated - handed + held
        })
    }
}

/// Makes a [`ChunkStore`] for every column writer the crate creates, and keeps a handle on
/// each so that the encoder can take the pages back at the flush.
#[derive(Debug)]
struct CompressingStores {
    level: i32,
    created: Mutex<Vec<SharedChunk>>,
}

impl CompressingStores {
    fn new(level: i32) -> Self {
        CompressingStores {
            level,
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
            level: self.level,
            header: None,
            keys: 0,
        }))
    }
}

type SharedChunk = Arc<Mutex<ChunkPages>>;

fn lock(chunk: &SharedChunk) -> MutexGuard<'_, ChunkPages> {
    chunk.lock().unwrap_or_else(|e| e.into_inner())
}

/// The crate's page writer puts each finished page as two blobs, its Thrift header and then
/// its body; this store compresses the body and keeps the pair.
struct ChunkStore {
    chunk: SharedChunk,
    level: i32,
    header: Option<Bytes>,
    keys: u64,
}

impl PageStore for ChunkStore {
    fn put(&mut self, value: Bytes) -> Result<PageKey> {
        self.keys += 1;
        let key = PageKey::new(self.keys - 1);
        let Some(header) = self.header.take() else {
            self.header = Some(value);
            return Ok(key);
        };
        let body = compress(&value, self.level)?;
        let (kind, header_out) = with_compressed_size(&header, value.len(), body.len())?;
        let mut chunk = lock(&self.chunk);
        chunk.handed += header.len() + value.len();
        chunk.held += header_out.len() + body.len();
        let page = Page {
            header: header_out,
            body,
            uncompressed: value.len(),
        };
        match kind {
            DICTIONARY_PAGE if chunk.dictionary.is_none() => chunk.dictionary = Some(page),
            DATA_PAGE => chunk.pages.push(page),
            other => {
                return Err(ParquetError::General(format!(
                    "unexpected page of type {other} (a second dictionary, or a v2 data page)"
                )));
            }
        }
        Ok(key)
    }

    fn take(&mut self, _key: PageKey) -> Result<Bytes> {
        Err(ParquetError::General(
            "the encoder lays out the compressed pages itself".into(),
        ))
    }

    fn memory_size(&self) -> usize {
        let header = self.header.as_ref().map_or(0, Bytes::len);
        header + lock(&self.chunk).held
    }
}

/// One column chunk's compressed pages, in the order the column writer finished them.
#[derive(Debug, Default)]
struct ChunkPages {
    column: usize,
    dictionary: Option<Page>,
    pages: Vec<Page>,
    /// Bytes of header and body as the column writer handed them over (uncompressed).
    handed: usize,
    /// Bytes of header and body as kept (compressed).
    held: usize,
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
        let total: usize = self
            .dictionary
            .iter()
            .chain(&self.pages)
            .map(Page::len)
            .sum();
        let uncompressed: usize = self
            .dictionary
            .iter()
            .chain(&self.pages)
            .map(|p| p.header.len() + p.uncompressed)
            .sum();
        let dictionary_len = self.dictionary.as_ref().map_or(0, Page::len);
        let mut bytes = Vec::with_capacity(total);
        for page in self.dictionary.iter().chain(&self.pages) {
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
                return Err(ParquetError::General(format!(
                    "the offset index has {} pages, the chunk {}",
                    index.page_locations.len(),
                    self.pages.len()
                )));
            }
            let mut offset = dictionary_len;
            for (location, page) in index.page_locations.iter_mut().zip(&self.pages) {
                location.offset = offset as i64;
                location.compressed_page_size = i32::try_from(page.len())
                    .map_err(|_| ParquetError::General("page over 2 GiB".into()))?;
                offset += page.len();
            }
        }
        Ok((Bytes::from(bytes), close))
    }
}

thread_local! {
    /// This thread's compression context and its level, made at the thread's first page.
    static CONTEXT: RefCell<Option<(i32, zstd::bulk::Compressor<'static>)>> =
        const { RefCell::new(None) };
}

/// `body` compressed at `level` with this thread's context: the same frame a new context
/// gives, since every compression starts from the context's parameters, not its history.
fn compress(body: &[u8], level: i32) -> Result<Vec<u8>> {
    CONTEXT
        .with(|context| {
            let mut context = context.borrow_mut();
            if context.as_ref().map(|(l, _)| *l) != Some(level) {
                *context = Some((level, zstd::bulk::Compressor::new(level)?));
            }
            let (_, compressor) = context.as_mut().expect("set above");
            let mut out = Vec::with_capacity(zstd::zstd_safe::compress_bound(body.len()));
            compressor.compress_to_buffer(body, &mut out)?;
            Ok(out)
        })
        .map_err(|e: std::io::Error| ParquetError::External(Box::new(e)))
}

const DATA_PAGE: i32 = 0;
const DICTIONARY_PAGE: i32 = 2;

/// A page header with its compressed size set to `compressed`, and the page's type.
///
/// Parquet's `PageHeader` opens with three required `i32` fields, ids 1 to 3: the type, the
/// uncompressed size and the compressed size. The Thrift compact protocol writes each as the
/// byte `0x15` (one id after the last, type `i32`) and a zigzag varint. The header of an
/// uncompressed page has both sizes equal to its body's; anything else is refused, so a
/// header laid out otherwise can never be patched wrongly.
fn with_compressed_size(header: &[u8], body: usize, compressed: usize) -> Result<(i32, Vec<u8>)> {
    let refused = |what: &str| ParquetError::General(format!("page header: {what}"));
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
    let compressed = i32::try_from(compressed).map_err(|_| refused("page over 2 GiB"))?;
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
    use arrow_array::{ArrayRef, BooleanArray, Int64Array, StringArray, TimestampMicrosecondArray};
    use arrow_schema::{DataType, Field, Schema, TimeUnit};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use parquet::file::properties::EnabledStatistics;
    use parquet::schema::types::ColumnPath;

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
        ]))
    }

    /// Rows with what a table has: unique keys, codes that repeat (a dictionary), codes that
    /// stop repeating (the dictionary given up mid-chunk), nulls, long text over many pages.
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
        let columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(ids)),
            Arc::new(StringArray::from(codes)),
            Arc::new(TimestampMicrosecondArray::from(at).with_timezone("UTC")),
            Arc::new(Int64Array::from(n)),
            Arc::new(BooleanArray::from(flag)),
            Arc::new(StringArray::from(text)),
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

    #[test]
    fn files_are_what_the_arrow_writer_writes_with_zstd() {
        for level in [1, 3, -3] {
            let level = ZstdLevel::try_new(level).unwrap();
            let mut theirs =
                ArrowWriter::try_new(Vec::new(), schema(), Some(props(level, 12_000))).unwrap();
            let mut ours = Encoder::new(schema(), props(level, 12_000), level).unwrap();
            for (start, rows, flush) in BATCHES {
                let b = batch(start, rows);
                theirs.write(&b).unwrap();
                ours.write(&b).unwrap();
                assert_eq!(ours.in_progress_size(), theirs.in_progress_size());
                if flush {
                    theirs.flush().unwrap();
                    ours.flush().unwrap();
                }
            }
            ours.finish().unwrap();
            theirs.finish().unwrap();
            let ours = std::mem::take(ours.inner_mut());
            let theirs = std::mem::take(theirs.inner_mut());
            assert!(ours == theirs, "level {level:?}: files differ");

            let read = ParquetRecordBatchReaderBuilder::try_new(Bytes::from(ours))
                .unwrap()
                .build()
                .unwrap();
            let rows: usize = read.map(|b| b.unwrap().num_rows()).sum();
            assert_eq!(rows, 51_001);
        }
    }

    #[test]
    fn a_header_is_patched_only_where_its_sizes_are() {
        // type 0, sizes 300 and 300, then a nested struct's bytes.
        let mut header = vec![0x15, 0x00, 0x15];
        write_varint(300, &mut header);
        header.push(0x15);
        write_varint(300, &mut header);
        header.extend_from_slice(&[0x2c, 0x15, 0x04, 0x00]);
        let (kind, patched) = with_compressed_size(&header, 300, 5).unwrap();
        assert_eq!(kind, 0);
        let mut expected = vec![0x15, 0x00, 0x15];
        write_varint(300, &mut expected);
        expected.extend_from_slice(&[0x15, 0x0a, 0x2c, 0x15, 0x04, 0x00]);
        assert_eq!(patched, expected);

        assert!(with_compressed_size(&header, 299, 5).is_err(), "body size");
        let mut other = header.clone();
        other[0] = 0x25;
        assert!(
            with_compressed_size(&other, 300, 5).is_err(),
            "field layout"
        );
        assert!(
            with_compressed_size(&header[..4], 300, 5).is_err(),
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
