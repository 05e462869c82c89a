//! Parquet files for one (table, partition), streamed to the object store.
//!
//! Files are written through multipart uploads as batches arrive, and roll over to a new file
//! near a target size. Memory is bounded per file by the row-group and part sizes, and over
//! all the files a process has open by a shared [`WriteBudget`]: a file that finds the budget
//! passed closes its row group early and, where the store takes parts of any size, sends its
//! buffered bytes as a part (on S3 they wait on disk instead). Each file gets a name
//! unique to the run (`part-<run_id>-<seq>.parquet`) and is never overwritten; nothing points
//! at it until the run's manifest is written.
//!
//! A writer whose work is given up (its chunk failed) is [`PartitionWriter::abort`]ed: the
//! open file's multipart upload is aborted, so no incomplete upload is left in the bucket, and
//! the files it had completed, which nothing refers to, are deleted. A failed write or close
//! aborts the open file by itself. A writer dropped unfinished aborts its upload in the
//! background, best effort (see [`super::upload`]).

use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::DataType;
use bytes::Bytes;
use object_store::ObjectStoreExt;
use object_store::path::Path;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties, WriterVersion};
use parquet::schema::types::ColumnPath;

use super::budget::{Charge, WriteBudget};
use super::encode::Encoder;
use super::store::Output;
use super::upload::ObjectUpload;
use crate::error::{Error, Result};
use crate::schema::{Column, ColumnType, TableSchema};

/// File-size and encoding settings.
#[derive(Debug, Clone)]
pub struct WriterSettings {
    /// Roll to a new file once a file's compressed size passes this (default 128 MiB,
    /// the middle of Snowflake's recommended 100–250 MB).
    pub target_file_bytes: usize,
    /// Rows per row group at most (default 128 Ki).
    pub row_group_rows: usize,
    /// A row group is flushed once its buffered (encoded, not yet compressed) data passes
    /// this (default 8 MiB), so a writer's memory stays bounded however wide its rows.
    pub row_group_bytes: usize,
    /// zstd level (default 1: about 60% of level 3's CPU for nearly the same size; zstd's
    /// fast levels trade much larger files for less CPU; `--zstd-level`).
    pub zstd_level: i32,
    /// A file is sent as a multipart upload in parts of this size once it outgrows one part;
    /// a smaller file goes up in one put (default 5 MiB, S3's smallest part but the last: a
    /// part is in memory while it is sent, so parts are kept as small as S3 allows; a 128 MiB
    /// file is 26 parts of S3's 10,000).
    pub upload_part_bytes: usize,
    /// The memory all open files of the process may hold in row groups and upload buffers
    /// (default 16 MiB, `--write-buffer-mb`). Every clone of these settings shares it, so one
    /// budget covers every chunk of a run.
    pub budget: Arc<WriteBudget>,
    /// A file over budget closes its row group early only once the group holds this much
    /// (default 2 MiB), so row groups stay large enough to read well.
    pub row_group_min_bytes: usize,
}

/// S3's smallest part, but for the last one.
pub const MIN_UPLOAD_PART_BYTES: usize = 5 * 1024 * 1024;

/// The write budget's default. Measured on two days of 50,000 conversations rebuilt at once
/// (benches/profile.md, "Fifth round"): peak RSS 417 MB without a budget, about 320 with
/// 64 MiB, 275 with 32 and 231–245 with 16, for files 2–3% larger (more, smaller row groups)
/// and no CPU that the runs could tell apart.
pub const DEFAULT_BUDGET_BYTES: usize = 16 * 1024 * 1024;

impl Default for WriterSettings {
    fn default() -> Self {
        WriterSettings {
            target_file_bytes: 128 * 1024 * 1024,
            row_group_rows: 128 * 1024,
            row_group_bytes: 8 * 1024 * 1024,
            zstd_level: 1,
            upload_part_bytes: MIN_UPLOAD_PART_BYTES,
            budget: WriteBudget::new(DEFAULT_BUDGET_BYTES),
            row_group_min_bytes: 2 * 1024 * 1024,
        }
    }
}

impl WriterSettings {
    /// Writer properties for `schema`: dictionary encoding only for strings that repeat (codes,
    /// names, dimension ids; not keys, instants or measures), statistics per column chunk
    /// (what engines prune with; page-level indexes cost more than they save here) for
    /// instants and numbers, not for text. Snowflake's COPY reads neither.
    fn properties(&self, schema: &TableSchema) -> Result<WriterProperties> {
        let level = ZstdLevel::try_new(self.zstd_level)
            .map_err(|e| Error::Input(format!("zstd level {}: {e}", self.zstd_level)))?;
        if self.upload_part_bytes < MIN_UPLOAD_PART_BYTES {
            return Err(Error::Input(format!(
                "upload part size {} bytes is below S3's minimum of {MIN_UPLOAD_PART_BYTES}",
                self.upload_part_bytes
            )));
        }
        // Data page v1: Snowflake documents no support for v2 pages (and their DELTA encodings).
        let mut props = WriterProperties::builder()
            .set_writer_version(WriterVersion::PARQUET_1_0)
            .set_compression(Compression::ZSTD(level))
            .set_max_row_group_row_count(Some(self.row_group_rows))
            .set_statistics_enabled(EnabledStatistics::Chunk)
            .set_created_by(concat!("genesys-loader ", env!("CARGO_PKG_VERSION")).to_string());
        for c in &schema.columns {
            let column = leaf_path(c);
            let text = matches!(
                c.ty,
                ColumnType::String | ColumnType::StringList | ColumnType::Json
            );
            let key = schema.primary_key.contains(&c.name);
            // Keys are nearly unique per file: a dictionary only grows until the writer gives
            // up on it (measured: 8% smaller files and 8% less CPU without). Other strings
            // (codes, names, ids of dimensions) repeat, and a dictionary pays.
            if key || !matches!(c.ty, ColumnType::String | ColumnType::StringList) {
                props = props.set_column_dictionary_enabled(column.clone(), false);
            }
            // Min/max of text prune nothing: free text and JSON have no useful order, and the
            // text keys are ids (random, served in no order) or, for aggregates, the groups
            // and metrics every file holds, so every file's range spans them all. They cost a
            // string comparison per value (5% of the CPU of `rebuild` for free text, 1.1% of
            // its instructions for the keys). Instants and numbers keep theirs.
            if text {
                props = props.set_column_statistics_enabled(column, EnabledStatistics::None);
            }
        }
        Ok(props.build())
    }
}

/// Where a column's values sit in its Parquet schema, which is what per-column writer settings
/// name: the column itself, or for a list the element two levels down (`name.list.item`, as
/// the `parquet` crate lays out an Arrow list, the last part the list field's own name); a
/// setting on the list's own name reaches nothing.
fn leaf_path(column: &Column) -> ColumnPath {
    match column.ty.arrow_type() {
        DataType::List(item) => ColumnPath::new(vec![
            column.name.clone(),
            "list".into(),
            item.name().clone(),
        ]),
        _ => ColumnPath::from(column.name.as_str()),
    }
}

/// A finished data file, as the manifest records it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FileWritten {
    pub table: String,
    /// Path relative to the output root.
    pub path: String,
    /// Partition value (`YYYY-MM-DD`).
    pub partition: String,
    pub rows: u64,
    pub bytes: u64,
    /// The store's ETag, which Snowflake's load metadata keys on together with the path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e_tag: Option<String>,
}

/// The file being written: its encoder, its upload, its path (relative to the output root),
/// its rows, and what it holds on the write budget.
///
/// The encoder writes into a `Vec` whose bytes are moved into the upload after every batch
/// (what `parquet`'s `AsyncArrowWriter` does inside; the encoder's own write buffer of a few
/// KiB keeps the rest, in order); holding the upload here, not inside that writer, is what
/// lets a file over budget send its buffered bytes early.
struct OpenFile {
    encoder: Encoder,
    upload: ObjectUpload,
    path: String,
    rows: u64,
    charge: Charge,
    /// Whether the store takes early parts of any size, so the upload buffer (in memory, and
    /// counted on the budget) can be given back; otherwise it waits on disk, outside the
    /// budget.
    early_parts: bool,
}

impl OpenFile {
    /// Moves what the encoder has written (row groups, the footer) into the upload.
    async fn drain(&mut self) -> object_store::Result<()> {
        let bytes = std::mem::take(self.encoder.inner_mut());
        if bytes.is_empty() {
            return Ok(());
        }
        self.upload.put(Bytes::from(bytes)).await
    }

    /// What this file holds that it can give back: its open row group, and its upload's
    /// buffer where the store takes early parts. (Elsewhere the buffer waits on disk; if it
    /// had to stay in memory, counting it would only shrink every row group, since it cannot
    /// be sent before its part is full.)
    fn held(&self) -> usize {
        let buffered = if self.early_parts {
            self.upload.buffered_in_memory()
        } else {
            0
        };
        self.encoder.memory_size() + buffered
    }
}

/// Writes one table's rows for one partition.
pub struct PartitionWriter {
    output: Output,
    schema: Arc<TableSchema>,
    partition: String,
    run_id: String,
    settings: WriterSettings,
    props: WriterProperties,
    current: Option<OpenFile>,
    next_seq: u32,
    done: Vec<FileWritten>,
}

impl PartitionWriter {
    pub fn new(
        output: Output,
        schema: Arc<TableSchema>,
        partition: String,
        run_id: String,
        settings: WriterSettings,
    ) -> Result<Self> {
        let props = settings.properties(&schema)?;
        Ok(PartitionWriter {
            output,
            schema,
            partition,
            run_id,
            settings,
            props,
            current: None,
            next_seq: 0,
            done: Vec::new(),
        })
    }

    /// Starts file numbering at `seq`: a resumed attempt numbers its files past any a killed
    /// attempt may have left, so no name is ever written twice.
    pub fn with_first_seq(mut self, seq: u32) -> Self {
        self.next_seq = seq;
        self
    }

    /// The directory of this partition, relative to the output root.
    pub fn directory(&self) -> String {
        format!(
            "{}/{}={}",
            self.schema.table, self.schema.partition_column, self.partition
        )
    }

    pub async fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        if batch.schema() != self.schema.arrow_schema() {
            return Err(encode_error(
                &self.schema,
                format_args!(
                    "batch schema differs from schemas/{}.json:\n batch: {:?}\n table: {:?}",
                    self.schema.table,
                    batch.schema(),
                    self.schema.arrow_schema()
                ),
            ));
        }
        if self.current.is_none() {
            self.open()?;
        }
        let file = self.current.as_mut().expect("opened above");
        let result = match file.encoder.write(batch) {
            Ok(()) => {
                file.rows += batch.num_rows() as u64;
                self.settle().await
            }
            Err(e) => Err(encode_error(&self.schema, e)),
        };
        if result.is_err() {
            self.abort_current().await;
        }
        result?;
        let file = self.current.as_ref().expect("still open");
        let size = file.encoder.bytes_written() + file.encoder.in_progress_size();
        if size >= self.settings.target_file_bytes {
            self.close_current().await?;
        }
        Ok(())
    }

    /// After a batch: moves what the encoder wrote to the upload, closes the row group at its
    /// size, and, when the process's files hold more than the write budget, gives memory back:
    /// the row group is closed early (from `row_group_min_bytes`), then, where the store takes
    /// parts of any size, the upload's buffer is sent as a part. Each file does this for itself
    /// after its own writes; the files that hold the most are the ones written to most, so they
    /// are the ones that give back.
    async fn settle(&mut self) -> Result<()> {
        let url = &self.output.url;
        let file = self.current.as_mut().expect("settled while open");
        // The location is formatted only on failure: this runs after every batch.
        let stored = |path: &str, e| Error::storage(format_args!("{url}/{path}"), e);
        file.drain().await.map_err(|e| stored(&file.path, e))?;
        let full = file.encoder.in_progress_size() >= self.settings.row_group_bytes;
        let mut passed = file.charge.set(file.held());
        if full || (passed && file.encoder.memory_size() >= self.settings.row_group_min_bytes) {
            file.encoder
                .flush()
                .map_err(|e| encode_error(&self.schema, e))?;
            file.drain().await.map_err(|e| stored(&file.path, e))?;
            passed = file.charge.set(file.held());
        }
        if passed && file.early_parts {
            let sent = file.upload.send_buffered().await;
            if sent.map_err(|e| stored(&file.path, e))? {
                file.charge.set(file.held());
            }
        }
        Ok(())
    }

    /// Opens the next file of this partition, under a name no attempt has used.
    fn open(&mut self) -> Result<()> {
        let path = format!(
            "{}/part-{}-{:05}.parquet",
            self.directory(),
            self.run_id,
            self.next_seq
        );
        self.next_seq += 1;
        let early_parts = self.output.takes_any_part();
        let mut upload = ObjectUpload::new(
            self.output.store.clone(),
            Path::from(path.as_str()),
            self.settings.upload_part_bytes,
        );
        // Where parts must be full, the buffer cannot be given back early: it waits on disk.
        if !early_parts {
            upload = upload.buffer_on_disk();
        }
        let encoder = Encoder::new(self.schema.arrow_schema(), self.props.clone())
            .map_err(|e| encode_error(&self.schema, e))?;
        self.current = Some(OpenFile {
            encoder,
            upload,
            path,
            rows: 0,
            charge: self.settings.budget.charge(),
            early_parts,
        });
        Ok(())
    }

    /// Closes the open file, if any, and returns every file this writer made. If closing
    /// fails, the file's upload is aborted and the files completed before are deleted.
    pub async fn finish(mut self) -> Result<Vec<FileWritten>> {
        if let Err(e) = self.close_current().await {
            self.discard_done().await;
            return Err(e);
        }
        Ok(std::mem::take(&mut self.done))
    }

    /// Gives up this writer's work after a failure (its own or its chunk's): aborts the open
    /// file's multipart upload and deletes the files it completed, which nothing refers to
    /// (the chunk is not checkpointed and no manifest lists them). Failures to clean up are
    /// logged, not returned: the caller is already reporting the error that matters.
    pub async fn abort(mut self) {
        self.abort_current().await;
        self.discard_done().await;
    }

    async fn abort_current(&mut self) {
        let Some(mut file) = self.current.take() else {
            return;
        };
        if let Err(e) = file.upload.abort().await {
            tracing::warn!(
                location = %format!("{}/{}", self.output.url, file.path),
                error = %e,
                "could not abort the file's multipart upload; a bucket lifecycle rule (AbortIncompleteMultipartUpload) removes it"
            );
        }
    }

    async fn discard_done(&mut self) {
        let done = std::mem::take(&mut self.done);
        Self::discard(&self.output, &done).await;
    }

    /// Deletes completed files of a failed chunk (best effort, failures logged): nothing refers
    /// to them, and a rerun writes the chunk again under new names.
    pub async fn discard(output: &Output, files: &[FileWritten]) {
        for f in files {
            if let Err(e) = output.store.delete(&Path::from(f.path.as_str())).await {
                tracing::warn!(
                    location = %format!("{}/{}", output.url, f.path),
                    error = %e,
                    "could not delete a file of a failed chunk; no manifest refers to it"
                );
            }
        }
    }

    async fn close_current(&mut self) -> Result<()> {
        let Some(mut file) = self.current.take() else {
            return Ok(());
        };
        let location = format!("{}/{}", self.output.url, file.path);
        // The upload stays in hand until it completes, so it can still be aborted when
        // encoding the footer fails before the upload is reached. (A failed upload aborts
        // itself; aborting again does nothing.)
        let finished = async {
            file.encoder
                .finish()
                .map_err(|e| encode_error(&self.schema, e))?;
            let stored = |e| Error::storage(&location, e);
            file.drain().await.map_err(stored)?;
            file.upload.finish().await.map_err(stored)?;
            Ok::<_, Error>(())
        }
        .await;
        if let Err(e) = finished {
            if let Err(abort) = file.upload.abort().await {
                tracing::warn!(location = %location, error = %abort, "could not abort the file's multipart upload; a bucket lifecycle rule (AbortIncompleteMultipartUpload) removes it");
            }
            return Err(e);
        }
        drop(file.charge);
        // The store's own view of the object: its size and ETag are what Snowflake will see.
        // Without it the file cannot be listed, so it is deleted like the chunk's other files
        // (best effort): nothing refers to it.
        let object = Path::from(file.path.as_str());
        let meta = match self.output.store.head(&object).await {
            Ok(meta) => meta,
            Err(e) => {
                if let Err(delete) = self.output.store.delete(&object).await {
                    tracing::warn!(location = %location, error = %delete, "could not delete a file whose size could not be read; no manifest refers to it");
                }
                return Err(Error::storage(&location, e));
            }
        };
        self.done.push(FileWritten {
            table: self.schema.table.clone(),
            path: file.path,
            partition: self.partition.clone(),
            rows: file.rows,
            bytes: meta.size,
            e_tag: meta.e_tag,
        });
        Ok(())
    }
}

/// An encoding failure of `schema`'s table (the Parquet writer's, not the store's).
fn encode_error(schema: &TableSchema, e: impl std::fmt::Display) -> Error {
    Error::Encode {
        table: schema.table.clone(),
        message: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use parquet::arrow::ArrowSchemaConverter;

    use super::*;
    use crate::schema::Catalog;

    /// Every column's settings name a leaf of its table's Parquet schema, and a list column's
    /// reach its values: no dictionary for lists of numbers, no min/max for lists of text.
    #[test]
    fn column_settings_reach_the_parquet_leaves() {
        let settings = WriterSettings::default();
        let mut lists = 0;
        for table in Catalog::builtin().tables() {
            let parquet = ArrowSchemaConverter::new()
                .convert(&table.arrow_schema())
                .unwrap();
            let leaves: HashSet<ColumnPath> =
                parquet.columns().iter().map(|c| c.path().clone()).collect();
            let props = settings.properties(table).unwrap();
            for c in &table.columns {
                let leaf = leaf_path(c);
                assert!(leaves.contains(&leaf), "{}: no leaf {leaf}", table.table);
                match c.ty {
                    ColumnType::Int64List => {
                        lists += 1;
                        assert!(!props.dictionary_enabled(&leaf), "{leaf}");
                        assert_eq!(props.statistics_enabled(&leaf), EnabledStatistics::Chunk);
                    }
                    ColumnType::StringList => {
                        lists += 1;
                        let key = table.primary_key.contains(&c.name);
                        assert_eq!(props.dictionary_enabled(&leaf), !key, "{leaf}");
                        assert_eq!(props.statistics_enabled(&leaf), EnabledStatistics::None);
                    }
                    _ => {}
                }
            }
        }
        assert!(lists > 0, "the catalog has list columns to check");
    }
}
