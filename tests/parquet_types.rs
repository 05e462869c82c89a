//! The Parquet the loader writes is what Snowflake reads right: each column's physical and
//! logical type is pinned here (fakesnow reads logical types leniently, so it cannot catch
//! these), every data page is v1, and big partitions roll over into several files near the
//! target size.

use chrono::{TimeZone, Utc};
use genesys_loader::decode::ConversationDecoder;
use genesys_loader::schema::{Catalog, ColumnType};
use genesys_loader::sink::{FileWritten, Output, PartitionWriter, WriterSettings};
use genesys_sim::Org;
use parquet::basic::{LogicalType, PageType, TimeUnit, Type as PhysicalType};
use parquet::file::reader::{FileReader, SerializedFileReader};

/// One simulated day of conversations written into a temporary folder, as the pipeline does.
async fn write_day(settings: &WriterSettings) -> (tempfile::TempDir, Vec<FileWritten>) {
    let org = Org::new(11, 400, Utc::now());
    let day = Utc.with_ymd_and_hms(2026, 10, 1, 0, 0, 0).unwrap();
    let convs = org.conversations_started_in(day, day + chrono::Duration::days(1));
    let dir = tempfile::tempdir().unwrap();
    let output = Output::open(dir.path().to_str().unwrap()).unwrap();
    let tables = Catalog::builtin().dataset_tables("conversations");
    let mut writers: Vec<PartitionWriter> = tables
        .iter()
        .map(|t| {
            PartitionWriter::new(
                output.clone(),
                t.clone(),
                "2026-10-01".into(),
                "20261001T000000Z-00000000".into(),
                settings.clone(),
            )
            .unwrap()
        })
        .collect();
    let mut dec =
        ConversationDecoder::new(Catalog::builtin(), "20261001T000000Z-00000000").unwrap();
    for page in convs.chunks(50) {
        for c in page {
            dec.push(c).unwrap();
        }
        for (w, (_, b)) in writers.iter_mut().zip(dec.finish().unwrap()) {
            w.write(&b).await.unwrap();
        }
    }
    let mut files = Vec::new();
    for w in writers {
        files.extend(w.finish().await.unwrap());
    }
    (dir, files)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_data_page_is_v1_the_version_snowflake_documents() {
    let (dir, files) = write_day(&WriterSettings::default()).await;
    assert!(!files.is_empty());
    for f in &files {
        let file = std::fs::File::open(dir.path().join(&f.path)).unwrap();
        assert_data_pages_are_v1(&SerializedFileReader::new(file).unwrap(), &f.path);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn columns_have_snowflake_safe_types_and_files_roll_at_the_target_size() {
    let settings = WriterSettings {
        target_file_bytes: 64 * 1024,
        row_group_rows: 1000,
        zstd_level: 3,
        ..WriterSettings::default()
    };
    let (dir, files) = write_day(&settings).await;
    let segment_files: Vec<_> = files
        .iter()
        .filter(|f| f.table == "session_metrics")
        .collect();
    assert!(
        segment_files.len() > 1,
        "a partition past the target size rolls into several files"
    );
    for f in &segment_files {
        // A file closes at the first batch past the target, so it stays near it.
        assert!(
            f.bytes < 4 * settings.target_file_bytes as u64,
            "{} is {} bytes",
            f.path,
            f.bytes
        );
    }

    for f in &files {
        let schema = Catalog::builtin().table(&f.table).unwrap();
        let reader =
            SerializedFileReader::new(std::fs::File::open(dir.path().join(&f.path)).unwrap())
                .unwrap();
        let meta = reader.metadata();
        assert_eq!(meta.file_metadata().num_rows() as u64, f.rows);
        let descr = meta.file_metadata().schema_descr_ptr();
        assert_eq!(
            descr.num_columns(),
            schema.columns.len(),
            "{}: one leaf per column",
            f.path
        );
        for leaf in descr.columns() {
            let root = &leaf.path().parts()[0];
            let column = schema
                .column(root)
                .unwrap_or_else(|| panic!("{} has no column {root}", f.table));
            let (physical, logical) = (leaf.physical_type(), leaf.logical_type_ref().cloned());
            assert_ne!(
                physical,
                PhysicalType::INT96,
                "{root}: INT96 is never written"
            );
            let ok = match column.ty {
                ColumnType::String | ColumnType::Json | ColumnType::StringList => {
                    physical == PhysicalType::BYTE_ARRAY && logical == Some(LogicalType::String)
                }
                ColumnType::Int64 | ColumnType::Int64List => {
                    physical == PhysicalType::INT64
                        && (logical.is_none() || logical == Some(LogicalType::integer(64, true)))
                }
                ColumnType::Float64 => physical == PhysicalType::DOUBLE,
                ColumnType::Boolean => physical == PhysicalType::BOOLEAN,
                ColumnType::Date => {
                    physical == PhysicalType::INT32 && logical == Some(LogicalType::Date)
                }
                ColumnType::Timestamp => {
                    physical == PhysicalType::INT64
                        && logical == Some(LogicalType::timestamp(true, TimeUnit::MICROS))
                }
            };
            assert!(
                ok,
                "{}.{root}: {physical:?} {logical:?} for {:?}",
                f.table, column.ty
            );
            let list = matches!(column.ty, ColumnType::StringList | ColumnType::Int64List);
            assert_eq!(
                leaf.path().parts().len() > 1,
                list,
                "{}.{root}: only lists are nested",
                f.table
            );
        }
        let compression = meta.row_group(0).column(0).compression();
        assert!(
            matches!(compression, parquet::basic::Compression::ZSTD(_)),
            "{compression:?}"
        );
    }
}

/// Snowflake documents Parquet data page v1 (`WriterVersion::PARQUET_1_0`); v2 pages, and the
/// DELTA encodings that come with them, have no documented support.
fn assert_data_pages_are_v1(reader: &SerializedFileReader<std::fs::File>, path: &str) {
    let mut v1 = 0;
    for g in 0..reader.num_row_groups() {
        let group = reader.get_row_group(g).unwrap();
        for c in 0..group.num_columns() {
            let mut pages = group.get_column_page_reader(c).unwrap();
            while let Some(page) = pages.get_next_page().unwrap() {
                assert_ne!(
                    page.page_type(),
                    PageType::DATA_PAGE_V2,
                    "{path}: row group {g}, column {c} has a v2 data page"
                );
                v1 += usize::from(page.page_type() == PageType::DATA_PAGE);
            }
        }
    }
    assert!(v1 > 0, "{path}: no data page read");
}

/// Every row of a file, in one batch (the reader's batches span row groups).
fn read_all(path: &std::path::Path) -> (arrow_array::RecordBatch, usize) {
    let file = std::fs::File::open(path).unwrap();
    let builder =
        parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
    let groups = builder.metadata().num_row_groups();
    let mut batches = builder.with_batch_size(1 << 20).build().unwrap();
    let batch = batches.next().unwrap().unwrap();
    assert!(
        batches.next().is_none(),
        "{} fits one batch",
        path.display()
    );
    (batch, groups)
}

/// A write budget smaller than one table's row group makes files close row groups early and
/// send what they buffered, and changes nothing else: the same rows in the same order, every
/// byte it counted given back when the files are done.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_budget_passed_closes_row_groups_early_and_changes_no_row() {
    let unbounded = WriterSettings {
        budget: genesys_loader::sink::WriteBudget::new(usize::MAX),
        ..WriterSettings::default()
    };
    let tight = WriterSettings {
        budget: genesys_loader::sink::WriteBudget::new(64 * 1024),
        row_group_min_bytes: 16 * 1024,
        ..WriterSettings::default()
    };
    let (dir_a, files_a) = write_day(&unbounded).await;
    let (dir_b, files_b) = write_day(&tight).await;
    assert_eq!(tight.budget.held(), 0, "closed files hold nothing");
    assert_eq!(unbounded.budget.held(), 0);
    // Unbounded, every table's whole day is held at once; under the budget, files give back
    // (row groups closed, buffers sent to the folder) as soon as they pass it.
    assert!(
        tight.budget.peak() * 4 < unbounded.budget.peak(),
        "held at most {} bytes under the budget against {} without",
        tight.budget.peak(),
        unbounded.budget.peak()
    );
    assert_eq!(files_a.len(), files_b.len());
    let mut split = 0;
    for (a, b) in files_a.iter().zip(&files_b) {
        assert_eq!((&a.table, a.rows), (&b.table, b.rows));
        let (rows_a, groups_a) = read_all(&dir_a.path().join(&a.path));
        let (rows_b, groups_b) = read_all(&dir_b.path().join(&b.path));
        assert_eq!(
            rows_a, rows_b,
            "{}: the same rows in the same order",
            a.table
        );
        assert_eq!(
            groups_a, 1,
            "{}: one day is one row group unbounded",
            a.table
        );
        if groups_b > 1 {
            split += 1;
        }
    }
    assert!(
        split >= 3,
        "the large tables close row groups early under a tight budget ({split} did)"
    );
}

/// A fast zstd level (`--zstd-level -3`) writes the same rows, read back by an ordinary
/// Parquet reader, in larger files: what the flag trades.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fast_zstd_level_writes_the_same_rows_in_larger_files() {
    let fast = WriterSettings {
        zstd_level: -3,
        ..WriterSettings::default()
    };
    let (dir_a, files_a) = write_day(&WriterSettings::default()).await;
    let (dir_b, files_b) = write_day(&fast).await;
    assert_eq!(files_a.len(), files_b.len());
    let bytes = |files: &[FileWritten]| files.iter().map(|f| f.bytes).sum::<u64>();
    for (a, b) in files_a.iter().zip(&files_b) {
        assert_eq!((&a.table, a.rows), (&b.table, b.rows));
        assert_eq!(
            read_all(&dir_a.path().join(&a.path)).0,
            read_all(&dir_b.path().join(&b.path)).0,
            "{}: the same rows in the same order",
            a.table
        );
    }
    assert!(
        bytes(&files_b) > bytes(&files_a) * 5 / 4,
        "level -3 wrote {} bytes against level 1's {}",
        bytes(&files_b),
        bytes(&files_a)
    );
}
