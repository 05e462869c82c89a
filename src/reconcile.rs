//! `reconcile`: proves that no detail rows went missing, by comparing, per queue, media type
//! and UTC day, the counts in the `conversation_aggregates` table with the same counts derived
//! from the conversation tables of the same output.
//!
//! Both sides count the same session metrics, the way the platform's aggregates do: a metric
//! counts in the day it was emitted (`emit_date`), under the queue of its session (the first
//! `queue_id` among the session's segments) and the session's media type. Offered counts the
//! `nOffered` values; answered, abandoned and handled count the `tAnswered`, `tAbandon` and
//! `tHandle` observations. A conversation can emit metrics on the day after it started, so a
//! day is compared only when the output holds the conversations of that day and of the day
//! before, and the aggregates of that day, each loaded whole; other days are listed as not
//! compared, with the reason.
//!
//! The tables read are the ones a warehouse loaded in run order would hold: for each day and
//! dataset, the files of the newest committed run (manifest) that covered the day.

use std::collections::{BTreeMap, HashMap};

use arrow_array::cast::AsArray;
use arrow_array::types::{Int64Type, TimestampMicrosecondType};
use arrow_array::{Array, RecordBatch};
use chrono::{DateTime, Days, NaiveDate};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::plan::Range;
use crate::sink::Output;
use crate::snowflake::manifest::Manifest;

/// The counts compared, as (label, metric, how a metric row counts).
pub const MEASURES: &[(&str, &str, Counting)] = &[
    ("offered", "nOffered", Counting::Values),
    ("answered", "tAnswered", Counting::Observations),
    ("abandoned", "tAbandon", Counting::Observations),
    ("handled", "tHandle", Counting::Observations),
];

/// How one detail metric row adds to a count: its value (`n*` counters) or one (`t*` timers,
/// whose aggregate `count` is the number of observations).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counting {
    Values,
    Observations,
}

const AGGREGATES: &str = "conversation-aggregates";
const DETAILS: &str = "conversations";

#[derive(Debug, Clone)]
pub struct ReconcileConfig {
    pub output: Output,
    /// Whole UTC days.
    pub range: Range,
    /// Largest absolute difference per line that is not a mismatch.
    pub tolerance: u64,
    /// How many days before a day its conversations can have started and still emit metrics
    /// in it (default 1: voice and chat; e-mail and messaging threads can need more).
    pub span_days: u64,
}

/// One compared count.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Line {
    pub day: NaiveDate,
    pub queue_id: Option<String>,
    pub media_type: Option<String>,
    /// `offered`, `answered`, `abandoned`, `handled`.
    pub measure: String,
    pub aggregates: i64,
    pub details: i64,
}

impl Line {
    pub fn difference(&self) -> i64 {
        self.details - self.aggregates
    }
}

/// A day of the range and whether it was compared.
#[derive(Debug, Clone, Serialize)]
pub struct Day {
    pub day: NaiveDate,
    pub compared: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub tolerance: u64,
    pub days: Vec<Day>,
    /// Lines compared.
    pub compared: usize,
    /// Lines whose difference exceeds the tolerance.
    pub mismatches: Vec<Line>,
}

impl Report {
    /// 0 when every compared line is within the tolerance and at least one day was compared;
    /// 9 otherwise (documented in the README).
    pub fn exit_code(&self) -> i32 {
        if self.mismatches.is_empty() && self.days.iter().any(|d| d.compared) {
            0
        } else {
            9
        }
    }

    /// The report as a person reads it.
    pub fn render_text(&self) -> String {
        let mut s = format!(
            "Reconciliation of conversation_aggregates with the conversation tables, {} to {} (exclusive), tolerance {}\n",
            self.from, self.to, self.tolerance
        );
        for d in &self.days {
            match &d.reason {
                None => s.push_str(&format!("  {}  compared\n", d.day)),
                Some(r) => s.push_str(&format!("  {}  not compared: {r}\n", d.day)),
            }
        }
        if self.mismatches.is_empty() {
            s.push_str(&format!(
                "{} counts compared, 0 mismatches\n",
                self.compared
            ));
        } else {
            s.push_str(&format!(
                "{} counts compared, {} mismatches:\n  {:<10}  {:<36}  {:<10}  {:<9}  {:>10}  {:>8}  {:>6}\n",
                self.compared,
                self.mismatches.len(),
                "day",
                "queue_id",
                "media_type",
                "measure",
                "aggregates",
                "details",
                "diff"
            ));
            for m in &self.mismatches {
                s.push_str(&format!(
                    "  {:<10}  {:<36}  {:<10}  {:<9}  {:>10}  {:>8}  {:>+6}\n",
                    m.day,
                    m.queue_id.as_deref().unwrap_or("(no queue)"),
                    m.media_type.as_deref().unwrap_or("-"),
                    m.measure,
                    m.aggregates,
                    m.details,
                    m.difference()
                ));
            }
        }
        if self.days.iter().all(|d| !d.compared) {
            s.push_str("no day could be compared\n");
        }
        s
    }
}

/// (day, queue, media type, measure) → count.
type Counts = BTreeMap<(NaiveDate, Option<String>, Option<String>, &'static str), i64>;

/// The run that last loaded a (dataset, day): its id, whether it covered the whole day, and
/// its files by table.
type Loaded = (String, bool, HashMap<String, Vec<String>>);

/// Which run's files hold each (dataset, day), as a warehouse loaded in run order has them.
struct Current {
    days: HashMap<(String, NaiveDate), Loaded>,
}

impl Current {
    async fn read(output: &Output) -> Result<Current> {
        let manifests = Manifest::read_all(output).await?;
        let mut days = HashMap::new();
        for m in &manifests {
            for p in &m.partitions {
                let Ok(day) = NaiveDate::parse_from_str(&p.value, "%Y-%m-%d") else {
                    continue;
                };
                let mut files: HashMap<String, Vec<String>> = HashMap::new();
                for f in m.files.iter().filter(|f| f.partition == p.value) {
                    let belongs = crate::schema::Catalog::builtin()
                        .table(&f.table)
                        .is_some_and(|t| t.dataset == p.dataset);
                    if belongs {
                        files
                            .entry(f.table.clone())
                            .or_default()
                            .push(f.path.clone());
                    }
                }
                // Later runs replace earlier ones (manifests are sorted by run id).
                days.insert(
                    (p.dataset.clone(), day),
                    (m.run_id.clone(), p.full_day, files),
                );
            }
        }
        Ok(Current { days })
    }

    /// The files of `table` for a day, or why the day cannot be read whole.
    fn files(
        &self,
        dataset: &str,
        table: &str,
        day: NaiveDate,
    ) -> std::result::Result<Vec<String>, String> {
        match self.days.get(&(dataset.to_string(), day)) {
            None => Err(format!("no run in this output loaded {dataset} for {day}")),
            Some((run, false, _)) => Err(format!(
                "{dataset} for {day} was last loaded by run {run} for part of the day only"
            )),
            Some((_, true, files)) => Ok(files.get(table).cloned().unwrap_or_default()),
        }
    }
}

/// Reads `columns` of Parquet files (each fetched whole: a reconciliation reads a few days).
async fn read(output: &Output, paths: &[String], columns: &[&str]) -> Result<Vec<RecordBatch>> {
    let mut out = Vec::new();
    for p in paths {
        let location = format!("{}/{p}", output.url);
        let bytes = output.get(p).await?;
        let builder = ParquetRecordBatchReaderBuilder::try_new(bytes)
            .map_err(|e| Error::storage(&location, e))?;
        let schema = builder.schema().clone();
        let mut indices = Vec::new();
        for c in columns {
            indices.push(schema.index_of(c).map_err(|_| Error::Storage {
                location: location.clone(),
                message: format!("has no column {c}"),
            })?);
        }
        let mask = ProjectionMask::roots(builder.parquet_schema(), indices);
        let reader = builder
            .with_projection(mask)
            .build()
            .map_err(|e| Error::storage(&location, e))?;
        for batch in reader {
            out.push(batch.map_err(|e| Error::storage(&location, e))?);
        }
    }
    Ok(out)
}

fn text(b: &RecordBatch, column: &str, row: usize) -> Option<String> {
    let a = b.column_by_name(column)?.as_string_opt::<i32>()?;
    (!a.is_null(row)).then(|| a.value(row).to_string())
}

fn int(b: &RecordBatch, column: &str, row: usize) -> Option<i64> {
    let a = b.column_by_name(column)?.as_primitive_opt::<Int64Type>()?;
    (!a.is_null(row)).then(|| a.value(row))
}

fn day_of(b: &RecordBatch, column: &str, row: usize) -> Option<NaiveDate> {
    let a = b
        .column_by_name(column)?
        .as_primitive_opt::<TimestampMicrosecondType>()?;
    (!a.is_null(row))
        .then(|| DateTime::from_timestamp_micros(a.value(row)).map(|t| t.date_naive()))
        .flatten()
}

fn measure(metric: &str) -> Option<(&'static str, Counting)> {
    MEASURES
        .iter()
        .find(|(_, m, _)| *m == metric)
        .map(|(label, _, counting)| (*label, *counting))
}

/// Adds the aggregates of `day` to `counts`.
async fn aggregate_counts(output: &Output, paths: &[String], counts: &mut Counts) -> Result<()> {
    let cols = [
        "interval_start",
        "queue_id",
        "media_type",
        "metric",
        "qualifier",
        "count",
        "view",
        "group_dimensions",
    ];
    let (mut rows, mut grouped_by_queue) = (0u64, false);
    for b in read(output, paths, &cols).await? {
        for row in 0..b.num_rows() {
            let Some((label, _)) = text(&b, "metric", row).as_deref().and_then(measure) else {
                continue;
            };
            if b.column_by_name("view")
                .and_then(|a| a.as_boolean_opt().map(|v| !v.is_null(row) && v.value(row)))
                .unwrap_or(false)
            {
                continue;
            }
            // A qualified metric is a breakdown of the same events: counted once, unqualified.
            if text(&b, "qualifier", row).is_some() {
                continue;
            }
            let group = text(&b, "group_dimensions", row).unwrap_or_default();
            if !group.contains("\"mediaType\"") {
                return Err(Error::Input(
                    "reconcile needs conversation aggregates grouped by queueId and mediaType (the default --group-by)".into(),
                ));
            }
            rows += 1;
            // Groups without a queue are real (outbound without one), but not all of them.
            grouped_by_queue |= group.contains("\"queueId\"");
            let Some(day) = day_of(&b, "interval_start", row) else {
                continue;
            };
            *counts
                .entry((
                    day,
                    text(&b, "queue_id", row),
                    text(&b, "media_type", row),
                    label,
                ))
                .or_default() += int(&b, "count", row).unwrap_or(0);
        }
    }
    if rows > 0 && !grouped_by_queue {
        return Err(Error::Input(
            "reconcile needs conversation aggregates grouped by queueId and mediaType (the default --group-by); these have no queue in any group".into(),
        ));
    }
    Ok(())
}

/// Adds the metrics emitted in `[from, to)` by the conversations of one day to `counts`.
async fn detail_counts(
    output: &Output,
    files: &DetailFiles,
    (from, to): (NaiveDate, NaiveDate),
    counts: &mut Counts,
) -> Result<()> {
    type SessionKey = (String, String, String);
    let key = |b: &RecordBatch, row: usize| -> Option<SessionKey> {
        Some((
            text(b, "conversation_id", row)?,
            text(b, "participant_id", row)?,
            text(b, "session_id", row)?,
        ))
    };
    let mut media: HashMap<SessionKey, Option<String>> = HashMap::new();
    for b in read(
        output,
        &files.sessions,
        &[
            "conversation_id",
            "participant_id",
            "session_id",
            "media_type",
        ],
    )
    .await?
    {
        for row in 0..b.num_rows() {
            if let Some(k) = key(&b, row) {
                media.insert(k, text(&b, "media_type", row));
            }
        }
    }
    // The first queue among a session's segments, in segment order.
    let mut queue: HashMap<SessionKey, (i64, String)> = HashMap::new();
    let seg_cols = [
        "conversation_id",
        "participant_id",
        "session_id",
        "segment_index",
        "queue_id",
    ];
    for b in read(output, &files.segments, &seg_cols).await? {
        for row in 0..b.num_rows() {
            let (Some(k), Some(q)) = (key(&b, row), text(&b, "queue_id", row)) else {
                continue;
            };
            let at = int(&b, "segment_index", row).unwrap_or(i64::MAX);
            let slot = queue.entry(k).or_insert((at, q.clone()));
            if at < slot.0 {
                *slot = (at, q);
            }
        }
    }
    let metric_cols = [
        "conversation_id",
        "participant_id",
        "session_id",
        "name",
        "value",
        "emit_date",
    ];
    for b in read(output, &files.metrics, &metric_cols).await? {
        for row in 0..b.num_rows() {
            let Some((label, counting)) = text(&b, "name", row).as_deref().and_then(measure) else {
                continue;
            };
            let Some(day) = day_of(&b, "emit_date", row).filter(|d| *d >= from && *d < to) else {
                continue;
            };
            let Some(k) = key(&b, row) else { continue };
            let n = match counting {
                Counting::Values => int(&b, "value", row).unwrap_or(0),
                Counting::Observations => 1,
            };
            let q = queue.get(&k).map(|(_, q)| q.clone());
            let m = media.get(&k).cloned().flatten();
            *counts.entry((day, q, m, label)).or_default() += n;
        }
    }
    Ok(())
}

struct DetailFiles {
    sessions: Vec<String>,
    segments: Vec<String>,
    metrics: Vec<String>,
}

impl DetailFiles {
    fn of(current: &Current, day: NaiveDate) -> std::result::Result<DetailFiles, String> {
        Ok(DetailFiles {
            sessions: current.files(DETAILS, "sessions", day)?,
            segments: current.files(DETAILS, "segments", day)?,
            metrics: current.files(DETAILS, "session_metrics", day)?,
        })
    }
}

pub async fn run(cfg: ReconcileConfig) -> Result<Report> {
    let current = Current::read(&cfg.output).await?;
    let (from, to) = (cfg.range.from.date_naive(), cfg.range.to.date_naive());
    let mut aggregates = Counts::new();
    let mut details = Counts::new();
    let mut days = Vec::new();
    let mut day = from;
    while day < to {
        let earliest = day - Days::new(cfg.span_days);
        let mut why_not = current
            .files(AGGREGATES, "conversation_aggregates", day)
            .err()
            .or_else(|| DetailFiles::of(&current, day).err());
        let mut c = earliest;
        while why_not.is_none() && c < day {
            why_not = DetailFiles::of(&current, c)
                .err()
                .map(|e| format!("{e} (its conversations can emit metrics on {day} too)"));
            c = c + Days::new(1);
        }
        match why_not {
            Some(reason) => days.push(Day {
                day,
                compared: false,
                reason: Some(reason),
            }),
            None => {
                let paths = current
                    .files(AGGREGATES, "conversation_aggregates", day)
                    .unwrap_or_default();
                aggregate_counts(&cfg.output, &paths, &mut aggregates).await?;
                let mut c = earliest;
                while c <= day {
                    let files = DetailFiles::of(&current, c).map_err(Error::Input)?;
                    detail_counts(&cfg.output, &files, (day, day + Days::new(1)), &mut details)
                        .await?;
                    c = c + Days::new(1);
                }
                days.push(Day {
                    day,
                    compared: true,
                    reason: None,
                });
            }
        }
        day = day + Days::new(1);
    }
    let mut keys: Vec<_> = aggregates.keys().chain(details.keys()).cloned().collect();
    keys.sort();
    keys.dedup();
    let compared = keys.len();
    let mismatches = keys
        .into_iter()
        .map(|k| Line {
            aggregates: aggregates.get(&k).copied().unwrap_or(0),
            details: details.get(&k).copied().unwrap_or(0),
            day: k.0,
            queue_id: k.1,
            media_type: k.2,
            measure: k.3.to_string(),
        })
        .filter(|l| l.difference().unsigned_abs() > cfg.tolerance)
        .collect();
    Ok(Report {
        from,
        to,
        tolerance: cfg.tolerance,
        days,
        compared,
        mismatches,
    })
}
