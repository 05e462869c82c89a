//! Criterion benches of the hot path, on job-result pages the simulator generates in code:
//!
//! - `decode`: page bodies → record batches of every conversation table, through the same
//!   function the pipeline runs per page (envelope scan, item parse, admission, decoder);
//! - `write`: those batches → zstd Parquet files in a local folder, through the pipeline's
//!   partition writers;
//! - `parse`: the same pages parsed and dropped, with nothing decoded or written: serde_json
//!   skipping every value (`IgnoredAny`, a validating scan), serde_json into `Value` trees, and
//!   the loader's own reading of a raw page (`Page::parse_items`: its borrowed `Json` items). They are the ceiling of any
//!   decoder built on these parsers, against which the other two are read.
//!
//! All report throughput in bytes of page JSON, so `decode` and `write` add up to the path's
//! cost, and `parse` says how much of `decode` is the parse.
//! `cargo bench --bench decode` (add `-- --quick` for a short run). Nothing here asserts a time.

use std::hint::black_box;
use std::sync::Arc;

use arrow_array::RecordBatch;
use bytes::Bytes;
use chrono::{NaiveDate, TimeZone, Utc};
use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main};
use genesys_loader::datasets::{self, Chunk};
use genesys_loader::decode::TreeDecoder;
use genesys_loader::genesys::paging::Page;
use genesys_loader::pipeline::decode_page;
use genesys_loader::plan::day_start;
use genesys_loader::schema::TableSchema;
use genesys_loader::sink::{Output, PartitionWriter, WriterSettings};
use genesys_sim::Org;

/// Conversations in the benched day.
const PER_DAY: u32 = 3_000;
/// Conversations per page, as job results serve them.
const PAGE_SIZE: usize = 1_000;

fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 10, 1).unwrap()
}

/// One day of job-result pages, as the API serves them.
fn pages() -> Vec<Bytes> {
    let now = Utc.with_ymd_and_hms(2026, 10, 20, 0, 0, 0).unwrap();
    let org = Org::new(7, PER_DAY, now);
    let from = day_start(day());
    let convs = org.conversations_started_in(from, from + chrono::Duration::days(1));
    convs
        .chunks(PAGE_SIZE)
        .enumerate()
        .map(|(i, c)| {
            Bytes::from(
                serde_json::json!({
                    "conversations": c,
                    "cursor": format!("c{i}"),
                    "dataAvailabilityDate": "2026-10-19T00:00:00.000Z",
                })
                .to_string(),
            )
        })
        .collect()
}

fn chunk() -> Chunk {
    Chunk {
        dataset: "conversations",
        partition: day(),
        start: day_start(day()),
        end: day_start(day()) + chrono::Duration::days(1),
        method: "raw",
    }
}

/// How a page reaches the decoder: cut apart first, as `extract` reads API pages (it needs
/// their `cursor`), or read whole, as `rebuild` reads raw pages.
#[derive(Clone, Copy)]
enum Read {
    Cut,
    Whole,
}

/// Decodes every page as the pipeline does; returns each page's batches.
fn decode(pages: &[Bytes], read: Read) -> Vec<Vec<(Arc<TableSchema>, RecordBatch)>> {
    let ds = datasets::get("conversations").unwrap();
    let chunk = chunk();
    let tables = datasets::tables(ds);
    let mut decoder = TreeDecoder::new(&tables, "bench").unwrap();
    let mut seen = datasets::Seen::default();
    let mut out = Vec::with_capacity(pages.len());
    for body in pages {
        let page = match read {
            Read::Cut => Page::cut("bench", body.clone(), "conversations", Bytes::new()).unwrap(),
            Read::Whole => Page::whole("bench", body.clone()),
        };
        let d = decode_page(ds, &chunk, page, decoder, seen, false).unwrap();
        assert!(d.quarantined.is_empty());
        decoder = d.decoder;
        seen = d.seen;
        out.push(d.batches);
    }
    out
}

/// Writes decoded batches to one Parquet file per table; returns the bytes written.
fn write(rt: &tokio::runtime::Runtime, batches: &[Vec<(Arc<TableSchema>, RecordBatch)>]) -> u64 {
    let dir = tempfile::tempdir().unwrap();
    let output = Output::open(dir.path().to_str().unwrap()).unwrap();
    rt.block_on(async {
        let tables = datasets::tables(datasets::get("conversations").unwrap());
        let mut writers: Vec<PartitionWriter> = tables
            .iter()
            .map(|t| {
                PartitionWriter::new(
                    output.clone(),
                    t.clone(),
                    day().to_string(),
                    "bench".into(),
                    WriterSettings::default(),
                )
                .unwrap()
            })
            .collect();
        for page in batches {
            for (w, (_, b)) in writers.iter_mut().zip(page) {
                w.write(b).await.unwrap();
            }
        }
        let mut total = 0;
        for w in writers {
            total += w
                .finish()
                .await
                .unwrap()
                .iter()
                .map(|f| f.bytes)
                .sum::<u64>();
        }
        total
    })
}

/// Adds to `g` a bench that parses every page with `parse`, which drops what it parsed (passed
/// through `black_box` first, so that nothing is optimized away).
fn parse_bench(
    g: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    pages: &[Bytes],
    parse: impl Fn(&Bytes),
) {
    g.bench_function(name, |b| b.iter(|| pages.iter().for_each(&parse)));
}

fn benches(c: &mut Criterion) {
    let pages = pages();
    let bytes: u64 = pages.iter().map(|p| p.len() as u64).sum();

    let mut g = c.benchmark_group("parse");
    g.throughput(Throughput::Bytes(bytes));
    g.sample_size(10);
    parse_bench(&mut g, "serde_json_ignored", &pages, |p| {
        black_box(serde_json::from_slice::<serde::de::IgnoredAny>(p).unwrap());
    });
    parse_bench(&mut g, "serde_json_value", &pages, |p| {
        black_box(serde_json::from_slice::<serde_json::Value>(p).unwrap());
    });
    // As `rebuild` reads a raw page: checked to be UTF-8, its items found as they are parsed,
    // each dropped before the next.
    parse_bench(&mut g, "loader_json", &pages, |p| {
        Page::whole("bench", p.clone())
            .parse_items("conversations", |_, item| {
                black_box(item);
                Ok(())
            })
            .unwrap();
    });
    g.finish();

    let mut g = c.benchmark_group("decode");
    g.throughput(Throughput::Bytes(bytes));
    g.sample_size(10);
    g.bench_function("conversations_job_pages", |b| {
        b.iter(|| decode(&pages, Read::Cut))
    });
    g.bench_function("conversations_raw_pages", |b| {
        b.iter(|| decode(&pages, Read::Whole))
    });
    g.finish();

    let batches = decode(&pages, Read::Whole);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut g = c.benchmark_group("write");
    g.throughput(Throughput::Bytes(bytes));
    g.sample_size(10);
    g.bench_function("conversations_parquet_zstd", |b| {
        b.iter(|| write(&rt, &batches))
    });
    g.finish();
}

criterion_group!(decode_and_write, benches);
criterion_main!(decode_and_write);
