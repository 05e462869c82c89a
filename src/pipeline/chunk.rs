//! One chunk's pages into Parquet files: parsed and admitted on the blocking pool, undecodable
//! records quarantined, every writer aborted on failure.

use super::*;
use crate::datasets::Seen;

/// Turns a chunk's pages into Parquet files (and, optionally, raw pages).
pub(super) struct ChunkSink {
    run_id: String,
    first_seq: u32,
    output: Output,
    writer: WriterSettings,
    keep_raw: bool,
    /// (table, field) pairs already warned about in this run.
    warned: Mutex<HashSet<(String, String)>>,
    /// Records the run tolerates quarantining; one more fails the chunk at once.
    max_quarantined: u64,
    /// Records quarantined so far by this process, over all chunks.
    quarantined: std::sync::atomic::AtomicU64,
    /// Decoders of chunks that finished, by dataset, for the run's next chunks: their builders
    /// are sized for the last page they decoded. A new decoder grows every column from empty,
    /// which, for a dataset served in one page a day (aggregates), was every day's growth.
    spare_decoders: Mutex<Vec<(&'static str, TreeDecoder)>>,
}

/// One page, decoded: the builders handed back, the batches, and the counts.
pub struct Decoded {
    pub decoder: TreeDecoder,
    pub seen: Seen,
    pub batches: Vec<(Arc<TableSchema>, arrow_array::RecordBatch)>,
    pub unknown: BTreeMap<(String, String), u64>,
    pub kept: u64,
    pub duplicates: u64,
    pub outside: u64,
    pub raw: Option<Bytes>,
    /// Records that could not be decoded: JSON lines of reason and record.
    pub quarantined: Vec<String>,
    /// Their keys, where they have one.
    pub kept_keys: Vec<String>,
}

impl ChunkSink {
    pub(super) fn new(
        output: &Output,
        run_id: &str,
        attempt: u32,
        writer: &WriterSettings,
        keep_raw: bool,
    ) -> Self {
        ChunkSink {
            run_id: run_id.to_string(),
            first_seq: attempt.saturating_mul(SEQ_PER_ATTEMPT),
            output: output.clone(),
            writer: writer.clone(),
            keep_raw,
            warned: Mutex::new(HashSet::new()),
            max_quarantined: u64::MAX,
            quarantined: Default::default(),
            spare_decoders: Mutex::new(Vec::new()),
        }
    }

    /// Fails a chunk as soon as the run has quarantined more than `max` records.
    pub(super) fn with_max_quarantined(mut self, max: u64) -> Self {
        self.max_quarantined = max;
        self
    }

    /// Fetches one chunk from the API and writes it.
    pub(super) async fn fetch_chunk(
        self: &Arc<Self>,
        ds: &'static dyn Dataset,
        run: &RunContext,
        chunk: &Chunk,
    ) -> Result<ChunkOutcome> {
        let (tx, rx) = mpsc::channel::<Page>(PAGE_BUFFER);
        let fetch = async move {
            let r = ds.fetch(run, chunk, &tx).await;
            drop(tx);
            r
        };
        let (fetched, consumed) = tokio::join!(fetch, self.clone().consume(ds, chunk, rx));
        // A consumer failure makes the fetcher fail too ("consumer stopped"): report the cause.
        let mut outcome = consumed?;
        outcome.pages = fetched?;
        tracing::info!(
            dataset = ds.spec().name,
            partition = %chunk.partition,
            method = chunk.method,
            records = outcome.records,
            pages = outcome.pages,
            files = outcome.files.len(),
            "chunk done"
        );
        Ok(outcome)
    }

    pub(super) async fn consume(
        self: Arc<Self>,
        ds: &'static dyn Dataset,
        chunk: &Chunk,
        mut rx: mpsc::Receiver<Page>,
    ) -> Result<ChunkOutcome> {
        let tables = datasets::tables(ds);
        let column = root_table(ds)?.partition_column.clone();
        let partition = chunk.partition.to_string();
        let mut writers = tables
            .iter()
            .map(|t| {
                PartitionWriter::new(
                    self.output.clone(),
                    t.clone(),
                    partition.clone(),
                    self.run_id.clone(),
                    self.writer.clone(),
                )
                .map(|w| w.with_first_seq(self.first_seq))
            })
            .collect::<Result<Vec<_>>>()?;
        let name = ds.spec().name;
        let decoder = match self.spare_decoder(name) {
            Some(decoder) => decoder,
            None => TreeDecoder::new(&tables, &self.run_id)?,
        };
        let mut spare = None;
        let keep_raw = self.keep_raw;
        let spawn = |page: Page, decoder: TreeDecoder, seen: Seen| {
            let chunk = chunk.clone();
            tokio::task::spawn_blocking(move || {
                decode_page(ds, &chunk, page, decoder, seen, keep_raw)
            })
        };
        let mut outcome = ChunkOutcome::default();
        let mut raw_seq = u64::from(self.first_seq);
        let mut quarantine_seq = u64::from(self.first_seq);
        let root = tables.first().map_or_else(String::new, |t| t.table.clone());
        // On any failure below, every writer is aborted: no multipart upload is left open in
        // the bucket, and no file of this chunk is left behind.
        let written: Result<()> = async {
            let mut in_flight = rx
                .recv()
                .await
                .map(|page| spawn(page, decoder, Seen::default()));
            while let Some(decoding) = in_flight.take() {
                let d = decoding.await.map_err(|e| Error::Encode {
                    table: ds.spec().name.into(),
                    message: format!("decode task failed: {e}"),
                })??;
                crate::progress::global()
                    .page(d.batches.iter().map(|(_, b)| b.num_rows() as u64).sum());
                // The next page decodes on the blocking pool while this one is written.
                if let Some(page) = rx.recv().await {
                    in_flight = Some(spawn(page, d.decoder, d.seen));
                } else {
                    spare = Some(d.decoder);
                }
                outcome.records += d.kept;
                outcome.duplicates += d.duplicates;
                outcome.outside += d.outside;
                self.note_unknown(d.unknown, &mut outcome);
                if let Some(z) = d.raw {
                    let path =
                        raw::page_path(ds.spec().name, &column, &partition, &self.run_id, raw_seq);
                    self.output.put(&path, z).await?;
                    raw_seq += 1;
                }
                if !d.quarantined.is_empty() {
                    let path = format!(
                        "{QUARANTINE_DIR}/{}/{}/{column}={partition}/{:06}.jsonl",
                        self.run_id,
                        ds.spec().name,
                        quarantine_seq
                    );
                    quarantine_seq += 1;
                    tracing::warn!(
                        dataset = ds.spec().name,
                        %partition,
                        records = d.quarantined.len(),
                        path = %path,
                        "records that cannot be decoded were quarantined"
                    );
                    *outcome.quarantined.entry(root.clone()).or_default() +=
                        d.quarantined.len() as u64;
                    if outcome.quarantine_sample.is_none() {
                        outcome.quarantine_sample = d.quarantined.first().cloned();
                    }
                    outcome.kept_keys.extend(d.kept_keys);
                    let n = d.quarantined.len() as u64;
                    let mut body = d.quarantined.join("\n");
                    body.push('\n');
                    self.output.put(&path, Bytes::from(body)).await?;
                    outcome.quarantine_files.push(path);
                    let total = self
                        .quarantined
                        .fetch_add(n, std::sync::atomic::Ordering::Relaxed)
                        + n;
                    if total > self.max_quarantined {
                        // No point reading on: the run will not commit.
                        check_quarantine(
                            &self.output,
                            &self.run_id,
                            &[(String::new(), outcome.clone())],
                            self.max_quarantined,
                        )?;
                        return Err(Error::Payload {
                            path: format!("{}/{QUARANTINE_DIR}/{}/", self.output.url, self.run_id),
                            message: format!(
                                "{total} record(s) could not be decoded, more than --max-quarantined {}",
                                self.max_quarantined
                            ),
                        });
                    }
                }
                write_tables(name, &mut writers, d.batches).await?;
            }
            Ok(())
        }
        .await;
        if let Err(e) = written {
            for w in writers {
                w.abort().await;
            }
            return Err(e);
        }
        // Closing a file encodes and compresses its last row group, which for most tables of a
        // day is all of it (a day's column chunk rarely fills a data page before then). The
        // writers close side by side, each on a task of its own: the last chunk of a run
        // would otherwise close its tables one after another on one core while the other
        // cores have nothing left to do (benches/profile.md, "Twenty-second round").
        let mut failed = None;
        for closed in side_by_side(name, writers, |w| w.finish()).await? {
            // A writer that fails to close aborts its own upload and deletes its files.
            match closed {
                Ok(files) => outcome.files.extend(files),
                Err(e) => {
                    failed.get_or_insert(e);
                }
            }
        }
        if let Some(e) = failed {
            PartitionWriter::discard(&self.output, &outcome.files).await;
            return Err(e);
        }
        if let Some(decoder) = spare {
            self.spare_decoders
                .lock()
                .expect("spare decoders")
                .push((name, decoder));
        }
        Ok(outcome)
    }

    /// A decoder a finished chunk of `dataset` left, if any. Each page's decode ends with
    /// [`TreeDecoder::finish`], which leaves no row, key or count behind, so a chunk decodes
    /// alike with a spare decoder and a new one.
    fn spare_decoder(&self, dataset: &str) -> Option<TreeDecoder> {
        let mut spare = self.spare_decoders.lock().expect("spare decoders");
        let at = spare.iter().position(|(name, _)| *name == dataset)?;
        Some(spare.swap_remove(at).1)
    }

    /// Counts unknown fields into the chunk's outcome and warns once per (table, field) per run.
    fn note_unknown(&self, counts: BTreeMap<(String, String), u64>, outcome: &mut ChunkOutcome) {
        if counts.is_empty() {
            return;
        }
        let mut warned = self.warned.lock().expect("warned set");
        for ((table, field), n) in counts {
            if warned.insert((table.clone(), field.clone())) {
                tracing::warn!(
                    table = %table,
                    field = %field,
                    "the API returned a field this schema does not know; it is kept in extra_fields"
                );
            }
            *outcome
                .unknown
                .entry(format!("{table}.{field}"))
                .or_default() += n;
        }
    }
}

/// Writes a page's batches, one per table in `writers`' order, each table's on a task of its
/// own: encoding a page's tables one after another kept a chunk's writes on one core, so the
/// cores sat idle whenever the chunks running were fewer than the cores, at every run's end
/// above all (benches/profile.md, "Twenty-second round"). A table's batches still reach its
/// writer in page order: the next page's are written after every task of this one is back.
async fn write_tables(
    dataset: &'static str,
    writers: &mut Vec<PartitionWriter>,
    batches: Vec<(Arc<TableSchema>, arrow_array::RecordBatch)>,
) -> Result<()> {
    // The decoder makes one batch per table, in the tables' order, as the writers were made
    // (a batch given to another table's writer fails its schema check). A writer is lent to
    // its task and handed back with the result; an empty batch returns at once.
    let lent = std::mem::take(writers).into_iter().zip(batches);
    let written = side_by_side(dataset, lent, |(mut writer, (_, batch))| async move {
        let written = writer.write(&batch).await;
        (writer, written)
    })
    .await?;
    // Every writer comes back before a failure is returned: the caller aborts them all.
    let mut failed = None;
    for (writer, result) in written {
        if let Err(e) = result {
            failed.get_or_insert(e);
        }
        writers.push(writer);
    }
    failed.map_or(Ok(()), Err)
}

/// Runs `work` on each item, each on a [`ChunkTask`] of `dataset`'s, and returns the results
/// in the items' order (`schedule::in_any_order`). The tasks belong to this future: dropped
/// (its chunk's own task aborted), it drops them and they are aborted, so no write goes on
/// after its chunk is gone; one that panics fails with an error naming the dataset.
async fn side_by_side<I, F, Fut>(
    dataset: &'static str,
    items: I,
    work: F,
) -> Result<Vec<Fut::Output>>
where
    I: IntoIterator,
    F: Fn(I::Item) -> Fut,
    Fut: std::future::Future + Send + 'static,
    Fut::Output: Send + 'static,
{
    super::schedule::in_any_order(items, usize::MAX, |item| {
        let task = work(item);
        ChunkTask::spawn(dataset, async move { Ok(task.await) })
    })
    .await
    .into_iter()
    .collect()
}

/// Decodes one page (call it on the blocking pool): each item parsed, admitted by the dataset
/// in the order served, and appended to the builders, one at a time. Public for the benches.
///
/// Items are parsed on this thread, not in parallel: a run's chunks already keep both cores
/// busy and the read and write stages run beside this one, so parsing on rayon workers only
/// added hand-offs. Each item is decoded while its tree is still in cache, and only one tree
/// is held. Against parsing slices of 64 in parallel: 3–5% less CPU and 8–14% less wall time
/// for `rebuild` of one day and of four (benches/profile.md, "Third round").
pub fn decode_page(
    ds: &'static dyn Dataset,
    chunk: &Chunk,
    page: Page,
    mut decoder: TreeDecoder,
    mut seen: Seen,
    keep_raw: bool,
) -> Result<Decoded> {
    let field = ds.spec().items_field;
    let (mut kept, mut duplicates, mut outside) = (0u64, 0u64, 0u64);
    let mut quarantined = Vec::new();
    let mut kept_keys = Vec::new();
    page.parse_items(field, |raw_item, item| {
        // A record that cannot be decoded is kept aside (quarantined) with the reason, and the
        // rest of the page goes on; the run decides whether that many is acceptable.
        let admitted = match ds.admit(item, chunk, &mut seen) {
            Ok(a) => a,
            Err(e) => {
                quarantined.push(quarantine_line(&e, raw_item));
                kept_keys.extend(record_key(ds, raw_item));
                return Ok(());
            }
        };
        let rows = match admitted {
            Admitted::Rows(rows) => rows,
            Admitted::Duplicate => {
                duplicates += 1;
                return Ok(());
            }
            Admitted::Outside => {
                outside += 1;
                return Ok(());
            }
        };
        kept += 1;
        for (row, date) in &rows {
            if *date != chunk.partition {
                return Err(Error::Payload {
                    path: format!("{field}[]"),
                    message: format!(
                        "a {} row dated {date} was admitted into the chunk of {}",
                        ds.spec().name,
                        chunk.partition
                    ),
                });
            }
            if let Err(e) = decoder.push_json(row, *date) {
                let text = row.to_string();
                quarantined.push(quarantine_line(&e, &text));
                kept_keys.extend(record_key(ds, &text));
            }
        }
        Ok(())
    })?;
    let batches = decoder.finish()?;
    let unknown = decoder.take_unknown_fields();
    let raw = if keep_raw {
        Some(raw::compress(&page.raw)?)
    } else {
        None
    };
    Ok(Decoded {
        decoder,
        seen,
        batches,
        unknown,
        kept,
        duplicates,
        outside,
        raw,
        quarantined,
        kept_keys,
    })
}

/// The key of a record, when its dataset's root table has a one-column key read from a field
/// (`conversation_id` from `conversationId`): how the load keeps the earlier rows of a record
/// this run could not decode instead of deleting them.
fn record_key(ds: &dyn Dataset, record: &str) -> Option<String> {
    let root = datasets::tables(ds).into_iter().next()?;
    let [key] = root.primary_key.as_slice() else {
        return None;
    };
    let crate::schema::Source::Field(field) = &root.column(key)?.source else {
        return None;
    };
    let v: Value = serde_json::from_str(record).ok()?;
    v.get(field)?.as_str().map(str::to_string)
}

/// One line of a quarantine file: the reason and the record as served.
fn quarantine_line(e: &Error, record: &str) -> String {
    let record: Box<serde_json::value::RawValue> =
        serde_json::value::RawValue::from_string(record.to_string()).unwrap_or_else(|_| {
            serde_json::value::to_raw_value(record).expect("a string serialises")
        });
    serde_json::json!({"error": e.to_string(), "record": record}).to_string()
}

/// One chunk's work as a task of its own, aborted when dropped.
///
/// A task, so that chunks run at once encode their Parquet on different threads: polled in
/// place, every chunk's consumer ran on the one thread that polls the run. Aborted when dropped,
/// so a caller that drops the run's future (a timeout around it) leaves no chunk running on:
/// the work stops at its next await, not at once as a future dropped in place did. A chunk that
/// panics fails with an error naming its dataset (once the run's other chunks are done), where
/// the panic used to end the process.
pub(super) struct ChunkTask<T> {
    dataset: &'static str,
    handle: tokio::task::JoinHandle<Result<T>>,
}

impl<T: Send + 'static> ChunkTask<T> {
    pub(super) fn spawn(
        dataset: &'static str,
        work: impl std::future::Future<Output = Result<T>> + Send + 'static,
    ) -> Self {
        ChunkTask {
            dataset,
            handle: tokio::spawn(tracing::Instrument::in_current_span(work)),
        }
    }
}

impl<T> std::future::Future for ChunkTask<T> {
    type Output = Result<T>;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<T>> {
        let dataset = self.dataset;
        std::pin::Pin::new(&mut self.handle).poll(cx).map(|joined| {
            joined.unwrap_or_else(|e| {
                Err(Error::Encode {
                    table: dataset.into(),
                    message: format!("chunk task failed: {e}"),
                })
            })
        })
    }
}

impl<T> Drop for ChunkTask<T> {
    fn drop(&mut self) {
        self.handle.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};

    /// Sets its flag when dropped: when the task holding it is gone.
    struct Dropped(Arc<AtomicBool>);

    impl Drop for Dropped {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }

    /// Waits (10 s at most, else fails with `what`) for `gone` to be set: an aborted task's
    /// work is dropped when the runtime next gets to it, not at once.
    async fn dropped_soon(gone: &AtomicBool, what: &str) {
        let dropped = async {
            while !gone.load(Ordering::SeqCst) {
                tokio::task::yield_now().await;
            }
        };
        tokio::time::timeout(std::time::Duration::from_secs(10), dropped)
            .await
            .expect(what);
    }

    #[tokio::test]
    async fn a_chunk_task_gives_its_result_and_a_panic_becomes_an_error_naming_the_dataset() {
        let done = ChunkTask::spawn("evaluations", async { Ok(7) }).await;
        assert_eq!(done.unwrap(), 7);
        let failed = ChunkTask::<()>::spawn("evaluations", async { panic!("boom") }).await;
        match failed {
            Err(Error::Encode { table, message }) => {
                assert_eq!(table, "evaluations");
                assert!(message.contains("chunk task failed"), "{message}");
                assert!(message.contains("boom"), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }

    /// A caller that drops a run's future stops its chunks: the task's work is dropped too.
    #[tokio::test]
    async fn dropping_a_chunk_task_stops_its_work() {
        let gone = Arc::new(AtomicBool::new(false));
        let guard = Dropped(gone.clone());
        let task = ChunkTask::<()>::spawn("conversations", async move {
            let _guard = guard;
            std::future::pending::<()>().await;
            Ok(())
        });
        tokio::task::yield_now().await;
        assert!(!gone.load(Ordering::SeqCst), "the work runs until dropped");
        drop(task);
        dropped_soon(&gone, "the work is dropped once its task is").await;
    }

    /// Results come back in the items' order, however the tasks finish: a chunk's files are
    /// listed by table, and each writer goes back to its table's place.
    #[tokio::test]
    async fn side_by_side_returns_results_in_the_items_order() {
        // The first item's task finishes last: it yields the most times.
        let out = side_by_side("conversations", 0..8u32, |i| async move {
            for _ in 0..(8 - i) * 3 {
                tokio::task::yield_now().await;
            }
            i * 10
        })
        .await
        .unwrap();
        assert_eq!(out, (0..8).map(|i| i * 10).collect::<Vec<_>>());
    }

    /// A chunk task aborted stops its writers' tasks too: dropping `side_by_side` drops the
    /// work it spawned, so no file goes on being written after its chunk is gone.
    #[tokio::test]
    async fn dropping_side_by_side_stops_its_tasks() {
        let gone = Arc::new(AtomicBool::new(false));
        let guard = Dropped(gone.clone());
        let chunk = ChunkTask::<Vec<()>>::spawn("conversations", async move {
            side_by_side("conversations", [guard], |guard| async move {
                let _guard = guard;
                std::future::pending::<()>().await;
            })
            .await
        });
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        assert!(!gone.load(Ordering::SeqCst), "the work runs until dropped");
        drop(chunk);
        dropped_soon(
            &gone,
            "the spawned work is dropped once its chunk's task is",
        )
        .await;
    }
}
