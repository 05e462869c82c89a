//! Throughput of the hot path on simulator-generated pages: JSON → Arrow (decode), and
//! JSON → Arrow → zstd Parquet in a local folder (decode + write).
//!
//! `cargo bench --bench pipeline` (release build). Prints MB/s of JSON input and conversations/s;
//! takes the best of several rounds. No timing is asserted anywhere: these are measurements.

use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use genesys_loader::decode::ConversationDecoder;
use genesys_loader::schema::Catalog;
use genesys_loader::sink::{Output, PartitionWriter, WriterSettings};
use genesys_sim::Org;
use serde_json::Value;

const ROUNDS: usize = 5;

fn pages(conversations_per_day: u32, days: u32) -> Vec<String> {
    let org = Org::new(7, conversations_per_day, Utc::now());
    let from = Utc.with_ymd_and_hms(2026, 10, 1, 0, 0, 0).unwrap();
    let to = from + chrono::Duration::days(days as i64);
    let convs = org.conversations_started_in(from, to);
    convs
        .chunks(100)
        .map(|c| serde_json::json!({ "conversations": c }).to_string())
        .collect()
}

fn decode_all(pages: &[String]) -> (usize, usize) {
    let mut dec = ConversationDecoder::new(Catalog::builtin(), "bench").unwrap();
    let (mut convs, mut rows) = (0, 0);
    for p in pages {
        let v: Value = serde_json::from_str(p).unwrap();
        for c in v["conversations"].as_array().unwrap() {
            dec.push(c).unwrap();
            convs += 1;
        }
        rows += dec
            .finish()
            .unwrap()
            .iter()
            .map(|(_, b)| b.num_rows())
            .sum::<usize>();
    }
    (convs, rows)
}

fn best<F: FnMut() -> R, R>(mut f: F) -> (Duration, R) {
    let mut best = Duration::MAX;
    let mut out = None;
    for _ in 0..ROUNDS {
        let t = Instant::now();
        let r = f();
        best = best.min(t.elapsed());
        out = Some(r);
    }
    (best, out.unwrap())
}

fn main() {
    let pages = pages(2000, 2);
    let bytes: usize = pages.iter().map(String::len).sum();
    let mb = bytes as f64 / 1e6;

    let (t, (convs, rows)) = best(|| decode_all(&pages));
    println!(
        "decode:          {convs} conversations, {rows} rows, {mb:.1} MB JSON in {:.3} s = {:.1} MB/s, {:.0} conversations/s",
        t.as_secs_f64(),
        mb / t.as_secs_f64(),
        convs as f64 / t.as_secs_f64()
    );

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let (t, written) = best(|| {
        let dir = tempfile::tempdir().unwrap();
        let output = Output::open(dir.path().to_str().unwrap()).unwrap();
        rt.block_on(async {
            let tables = Catalog::builtin().dataset_tables("conversations");
            let mut writers: Vec<PartitionWriter> = tables
                .iter()
                .map(|t| {
                    PartitionWriter::new(
                        output.clone(),
                        t.clone(),
                        "2026-10-01".into(),
                        "bench".into(),
                        WriterSettings::default(),
                    )
                    .unwrap()
                })
                .collect();
            let mut dec = ConversationDecoder::new(Catalog::builtin(), "bench").unwrap();
            for p in &pages {
                let v: Value = serde_json::from_str(p).unwrap();
                for c in v["conversations"].as_array().unwrap() {
                    dec.push(c).unwrap();
                }
                for (w, (_, b)) in writers.iter_mut().zip(dec.finish().unwrap()) {
                    w.write(&b).await.unwrap();
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
    });
    println!(
        "decode + write:  {mb:.1} MB JSON → {:.1} MB Parquet (zstd) in {:.3} s = {:.1} MB/s, {:.0} conversations/s",
        written as f64 / 1e6,
        t.as_secs_f64(),
        mb / t.as_secs_f64(),
        convs as f64 / t.as_secs_f64()
    );
}
