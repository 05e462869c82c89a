//! Parquet files for one (table, partition), streamed to the object store.
//!
//! Files are written through multipart uploads as batches arrive, so memory stays bounded by
//! the row-group buffer, and roll over to a new file near a target size. Each file gets a name
//! unique to the run (`part-<run_id>-<seq>.parquet`) and is never overwritten; nothing points
//! at it until the run's manifest is written.

use std::sync::Arc;

use arrow_array::RecordBatch;
use object_store::ObjectStoreExt;
use object_store::buffered::BufWriter;
use object_store::path::Path;
use parquet::arrow::AsyncArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties, WriterVersion};

use super::store::Output;
use crate::error::{Error, Result};
use crate::schema::TableSchema;

/// File-size and encoding settings.
#[derive(Debug, Clone)]
pub struct WriterSettings {
    /// Roll to a new file once a file's compressed size passes this (default 128 MiB,
    /// the middle of Snowflake's recommended 100–250 MB).
    pub target_file_bytes: usize,
    /// Rows per row group (default 128 Ki).
    pub row_group_rows: usize,
    /// zstd level (default 3).
    pub zstd_level: i32,
}

impl Default for WriterSettings {
    fn default() -> Self {
        WriterSettings {
            target_file_bytes: 128 * 1024 * 1024,
            row_group_rows: 128 * 1024,
            zstd_level: 3,
        }
    }
}

impl WriterSettings {
    fn properties(&self) -> Result<WriterProperties> {
        let level = ZstdLevel::try_new(self.zstd_level)
            .map_err(|e| Error::Input(format!("zstd level {}: {e}", self.zstd_level)))?;
        // Data page v1: Snowflake documents no support for v2 pages (and their DELTA encodings).
        Ok(WriterProperties::builder()
            .set_writer_version(WriterVersion::PARQUET_1_0)
            .set_compression(Compression::ZSTD(level))
            .set_max_row_group_row_count(Some(self.row_group_rows))
            .set_statistics_enabled(EnabledStatistics::Page)
            .set_created_by(concat!("genesys-loader ", env!("CARGO_PKG_VERSION")).to_string())
            .build())
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

/// Writes one table's rows for one partition.
pub struct PartitionWriter {
    output: Output,
    schema: Arc<TableSchema>,
    partition: String,
    run_id: String,
    settings: WriterSettings,
    props: WriterProperties,
    current: Option<(AsyncArrowWriter<BufWriter>, String, u64)>,
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
        let props = settings.properties()?;
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
            return Err(Error::Encode {
                table: self.schema.table.clone(),
                message: format!(
                    "batch schema differs from schemas/{}.json:\n batch: {:?}\n table: {:?}",
                    self.schema.table,
                    batch.schema(),
                    self.schema.arrow_schema()
                ),
            });
        }
        if self.current.is_none() {
            let path = format!(
                "{}/part-{}-{:05}.parquet",
                self.directory(),
                self.run_id,
                self.next_seq
            );
            self.next_seq += 1;
            let object = BufWriter::new(self.output.store.clone(), Path::from(path.as_str()));
            let writer = AsyncArrowWriter::try_new(
                object,
                self.schema.arrow_schema(),
                Some(self.props.clone()),
            )
            .map_err(|e| self.encode_error(e))?;
            self.current = Some((writer, path, 0));
        }
        let (writer, path, rows) = self.current.as_mut().expect("opened above");
        writer
            .write(batch)
            .await
            .map_err(|e| Error::storage(format!("{}/{path}", self.output.url), e))?;
        *rows += batch.num_rows() as u64;
        if writer.bytes_written() + writer.in_progress_size() >= self.settings.target_file_bytes {
            self.close_current().await?;
        }
        Ok(())
    }

    /// Closes the open file, if any, and returns every file this writer made.
    pub async fn finish(mut self) -> Result<Vec<FileWritten>> {
        self.close_current().await?;
        Ok(self.done)
    }

    async fn close_current(&mut self) -> Result<()> {
        let Some((writer, path, rows)) = self.current.take() else {
            return Ok(());
        };
        let location = format!("{}/{path}", self.output.url);
        writer
            .close()
            .await
            .map_err(|e| Error::storage(&location, e))?;
        // The store's own view of the object: its size and ETag are what Snowflake will see.
        let meta = self
            .output
            .store
            .head(&Path::from(path.as_str()))
            .await
            .map_err(|e| Error::storage(&location, e))?;
        self.done.push(FileWritten {
            table: self.schema.table.clone(),
            path,
            partition: self.partition.clone(),
            rows,
            bytes: meta.size,
            e_tag: meta.e_tag,
        });
        Ok(())
    }

    fn encode_error(&self, e: impl std::fmt::Display) -> Error {
        Error::Encode {
            table: self.schema.table.clone(),
            message: e.to_string(),
        }
    }
}
