//! Every dataset the loader extracts, each declared in one place.
//!
//! A dataset is one module here (a folder for the big ones, a row of a table for a simple
//! listing) implementing [`Dataset`]: its name and group, its tables (schemas under
//! `schemas/<dataset>/`), the permissions it needs and the endpoints it calls, how a range
//! becomes chunks, how a chunk is fetched (a stream of pages), how a served item becomes rows
//! for the schema-driven decoder, and how it is loaded. Everything else derives from these
//! declarations: the read-only allowlist, `preflight`'s requirements and probes, `ddl`, the
//! raw zone, the state keys, the manifest and the load script. The pipeline knows no dataset
//! by name (the way Vector keeps each source in its own folder behind one trait).

pub mod aggregates;
pub mod conversations;
pub mod dimensions;
pub mod quality;
pub mod recordings;
pub mod wfm;

use std::collections::HashSet;
use std::sync::{Arc, OnceLock};

use chrono::{DateTime, Days, NaiveDate, Utc};
use futures::future::BoxFuture;
use serde_json::Value;
use serde_json::value::RawValue;

use crate::error::{Error, Result};
use crate::genesys::ApiClient;
use crate::genesys::allowlist::Endpoint;
use crate::genesys::paging::PageSender;
use crate::json::Json;
use crate::plan::{Range, day_start};
use crate::schema::TableSchema;

/// Compiles a dataset's schema files (`schemas/<dataset>/<table>.json`) into the binary, parents
/// before children.
#[macro_export]
macro_rules! schema_files {
    ($dataset:literal: $($table:literal),* $(,)?) => {
        &[$(($table, include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/schemas/", $dataset, "/", $table, ".json")))),*]
    };
}

/// What kind of data a dataset is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Group {
    /// Facts partitioned by a date and replaced per partition.
    Facts,
    /// Reference entities snapshotted whole on every run and merged by key.
    Dimensions,
}

/// How a dataset's tables are loaded into Snowflake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadMode {
    /// Delete the partitions the run covers, then copy the run's files in.
    ReplacePartitions,
    /// Copy the snapshot into staging and MERGE it by key; entities are never deleted.
    MergeByKey,
}

/// What a dataset declares about itself.
#[derive(Debug)]
pub struct Spec {
    pub name: &'static str,
    pub group: Group,
    /// One line for `--help`, the README and `preflight`.
    pub summary: &'static str,
    /// `(table, schema JSON)`, parents first.
    pub schemas: &'static [(&'static str, &'static str)],
    /// Any one of these permissions lets the client read the dataset (empty: none needed).
    pub permissions: &'static [&'static str],
    /// Whether rows outside the permission's divisions silently disappear (analytics).
    pub division_scoped: bool,
    /// Every request the dataset sends (the read-only allowlist is built from these).
    pub endpoints: &'static [Endpoint],
    pub load: LoadMode,
    /// Whether its record count is the run's headline figure (the manifest's
    /// `stats.conversations` and the summary's `conversations`).
    pub headline: bool,
    /// The list field of a served page (`conversations`, `entities`, `results`), for reading
    /// raw pages back.
    pub items_field: &'static str,
    /// Datasets a run of this one also takes, so its ids resolve in the same load (the forms
    /// behind evaluation scores, the units behind schedules).
    pub includes: &'static [&'static str],
    /// Ways of reading the dataset when there is more than one, best first, each with every
    /// permission it needs; `preflight` says which the client's roles allow. Empty: the one
    /// way `permissions` describes.
    pub routes: &'static [Route],
}

/// One way of reading a dataset and what it needs.
#[derive(Debug)]
pub struct Route {
    /// What the route does, for `preflight` and the README.
    pub name: &'static str,
    /// Every group is needed; any one permission of a group satisfies it.
    pub needs: &'static [&'static [&'static str]],
}

/// One unit of planning, fetching, checkpointing and retry: a dataset's slice of the range
/// that fills exactly one partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    pub dataset: &'static str,
    /// The partition the chunk's rows land in (a UTC day, or a snapshot's date).
    pub partition: NaiveDate,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// How it is fetched (`job`, `query`, `listing`, `aggregate`, `raw`), for the manifest.
    pub method: &'static str,
}

impl Chunk {
    /// The chunk's identity in the run state (`conversations/2026-11-01`).
    pub fn key(&self) -> String {
        format!("{}/{}", self.dataset, self.partition)
    }

    /// Whether the chunk covers its whole UTC day.
    pub fn full_day(&self) -> bool {
        self.start == day_start(self.partition)
            && self.end == day_start(self.partition + Days::new(1))
    }
}

/// Settings of the datasets that have any (from flags; defaults documented on each).
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub details: conversations::DetailsSettings,
    pub aggregates: aggregates::AggregateSettings,
    pub listing: dimensions::ListingSettings,
    pub evaluations: quality::EvaluationSettings,
    pub fanout: FanoutSettings,
}

/// Settings of the datasets that make one request per conversation or evaluation.
#[derive(Debug, Clone)]
pub struct FanoutSettings {
    /// Requests in flight at once per chunk (`--fanout-concurrency`); all of them draw on the
    /// run's one rate limiter.
    pub concurrency: usize,
    /// Leave free-text fields (evaluation comments, annotation descriptions) out of
    /// everything written, raw zone included (`--drop-free-text`).
    pub drop_free_text: bool,
}

impl Default for FanoutSettings {
    fn default() -> Self {
        FanoutSettings {
            concurrency: 4,
            drop_free_text: false,
        }
    }
}

impl Options {
    /// The settings that change what a run writes (not how it pages), for the run key: a run
    /// resumed with other values is another run, never a mix of both.
    pub fn fingerprint(&self) -> String {
        let a = &self.aggregates;
        let mut key = format!(
            "{}|{}|{}",
            a.granularity,
            a.group_by.join(","),
            a.metrics.join(",")
        );
        // Added only when set, so run keys of earlier versions stay as they were.
        if self.fanout.drop_free_text {
            key.push_str("|drop-free-text");
        }
        if let Some(days) = self.evaluations.changed_since_days {
            key.push_str(&format!("|evaluations-changed-since={days}"));
        }
        key
    }
}

/// What every dataset's planning and fetching share during one run.
pub struct RunContext {
    pub api: Arc<ApiClient>,
    /// Division ids the user restricted the run to (`--division`); empty: no filter.
    pub divisions: Vec<String>,
    pub options: Options,
    /// The date dimension snapshots are stamped with (the run's UTC date).
    pub snapshot_date: NaiveDate,
    /// Facts about the source a dataset learns while planning, for the manifest
    /// (`data_availability`).
    pub facts: std::sync::Mutex<std::collections::BTreeMap<&'static str, String>>,
    /// The run's async jobs in order, so each is submitted while the one before is paged.
    pub jobs: crate::genesys::jobs::JobQueue,
    /// Keys of the chunks a resumed run finished before (their checkpoints): they fetch
    /// nothing, so planning declares no job for them.
    pub done: std::collections::BTreeSet<String>,
}

/// The keys a chunk has admitted so far, for de-duplication (conversation ids, an aggregate
/// row's group, bucket and metric, ...).
///
/// Hashed with FxHash: the keys come from the platform, and an aggregates key (a group's
/// dimensions, with its bucket and metric) is a hundred bytes or more, which SipHash took a
/// twentieth of that dataset's decode to hash. Each key keeps its hash, so the set hashes a
/// key once: growing the set re-hashed every key it held, and an aggregates chunk inserts a
/// key for each of its tens of thousands of rows (half of the set's cost, 1% of that rebuild;
/// benches/profile.md, "Twelfth round"). Keys are compared in full: equal hashes are not
/// taken for equal keys.
#[derive(Debug, Default)]
pub struct Seen {
    /// The keys admitted, each with its hash.
    admitted: std::collections::HashSet<HashedKey, std::hash::BuildHasherDefault<KeptHash>>,
    /// Long texts that many keys share, each with its number (see [`Seen::number`]).
    numbers: rustc_hash::FxHashMap<String, u32>,
}

impl Seen {
    /// A number for `text`, the same for the same text in this chunk and different for
    /// different texts: a key can carry it in place of a long part that many keys share.
    ///
    /// An aggregate row's key began with its group's key, a hundred bytes or more, the same
    /// for every bucket and metric of the group, hashed and kept once per row. With the
    /// group's number in its place, two days of aggregates rebuilt at once peaked 9 MB lower,
    /// with 7% fewer page faults, and the set hashed a fifth less (benches/profile.md,
    /// "Sixteenth round").
    pub fn number(&mut self, text: &str) -> u32 {
        if let Some(&n) = self.numbers.get(text) {
            return n;
        }
        let n = u32::try_from(self.numbers.len()).expect("fewer than 2^32 texts in a chunk");
        self.numbers.insert(text.to_string(), n);
        n
    }

    /// Adds `key`; whether it was new.
    pub fn insert(&mut self, key: String) -> bool {
        use std::hash::BuildHasher;
        let hash = rustc_hash::FxBuildHasher.hash_one(key.as_str());
        self.admitted.insert(HashedKey { hash, key })
    }

    /// Keys admitted so far.
    pub fn len(&self) -> usize {
        self.admitted.len()
    }

    pub fn is_empty(&self) -> bool {
        self.admitted.is_empty()
    }

    /// The keys, in no order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.admitted.iter().map(|k| k.key.as_str())
    }
}

/// A key of [`Seen`] with its hash.
#[derive(Debug, PartialEq, Eq)]
struct HashedKey {
    hash: u64,
    key: String,
}

impl std::hash::Hash for HashedKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

/// The hasher of [`Seen`]: gives back the hash a [`HashedKey`] kept.
#[derive(Debug, Default)]
struct KeptHash(u64);

impl std::hash::Hasher for KeptHash {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, _: &[u8]) {
        unreachable!("only a kept hash is written")
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// What a served item becomes.
#[derive(Debug)]
pub enum Admitted<'a> {
    /// Root rows, each with its partition date. They borrow from the page: a dataset that
    /// reshapes its items (aggregates, adherence, schedules, evaluations, recordings) builds
    /// rows of the item's own keys and strings, in the order a `Map` would have taken them, so
    /// the last of a field served twice counts, as it would in a `Value`.
    Rows(Vec<(Json<'a>, NaiveDate)>),
    /// Seen before in this chunk (pages shift while data is live): written once.
    Duplicate,
    /// Outside the chunk (it belongs to another day or run).
    Outside,
}

/// A dataset: the one seam between the pipeline and what it extracts.
pub trait Dataset: Send + Sync + 'static {
    fn spec(&self) -> &Spec;

    /// Turns the range into chunks, calling only what planning needs (e.g. the jobs' data
    /// availability date).
    fn plan<'a>(&'a self, run: &'a RunContext, range: Range) -> BoxFuture<'a, Result<Vec<Chunk>>>;

    /// Fetches one chunk, sending its pages down `tx`; returns the number of pages sent.
    fn fetch<'a>(
        &'a self,
        run: &'a RunContext,
        chunk: &'a Chunk,
        tx: &'a PageSender,
    ) -> BoxFuture<'a, Result<u64>>;

    /// Turns one served item, parsed as [`Json`] borrowed from its page, into root rows. `seen`
    /// holds the keys admitted so far in the chunk, for de-duplication.
    ///
    /// Rows that borrow from the page copy no string of the item (fields a dataset repeats on
    /// each row, such as an agent's, are cloned as borrowed slices). Reshaping through owned
    /// `serde_json::Value`s instead (a `Value` made of each item, rows built as maps, viewed as
    /// `Json` again for the decoder) cost 36% of the aggregates' instructions, 62% of
    /// adherence's, 40% of the WFM schedules', 31% of the recordings' and 26% of the
    /// evaluations' (benches/profile.md, "Ninth round" and "Twentieth round").
    fn admit<'a>(&self, item: Json<'a>, chunk: &Chunk, seen: &mut Seen) -> Result<Admitted<'a>>;

    /// The smallest requests that show whether the client can read the dataset: `(method,
    /// path, body)`, for `preflight`.
    fn probes(&self, yesterday: DateTime<Utc>) -> Vec<(&'static str, String, Option<Value>)>;
}

/// Every dataset of this build, in the order a run takes them.
pub fn registry() -> &'static [&'static dyn Dataset] {
    static ALL: OnceLock<Vec<&'static dyn Dataset>> = OnceLock::new();
    ALL.get_or_init(|| {
        let mut all: Vec<&'static dyn Dataset> = vec![
            &conversations::CONVERSATIONS,
            &aggregates::CONVERSATION_AGGREGATES,
            &quality::EVALUATIONS,
            &recordings::RECORDINGS,
        ];
        all.extend(dimensions::all());
        all.push(&quality::EVALUATION_FORMS);
        all.extend([
            &wfm::units::WFM_UNITS as &'static dyn Dataset,
            &wfm::schedules::WFM_SCHEDULES,
            &wfm::adherence::WFM_ADHERENCE,
        ]);
        all
    })
}

/// A dataset by name.
pub fn get(name: &str) -> Option<&'static dyn Dataset> {
    registry().iter().copied().find(|d| d.spec().name == name)
}

/// Names a user may give instead of datasets.
pub const GROUPS: &[(&str, &str)] = &[
    ("all", "every dataset of this build"),
    (
        "dimensions",
        "every org-wide dimension (users, queues, divisions, ...); evaluation forms and WFM units come with their datasets",
    ),
];

/// Resolves dataset and group names (`all`, `dimensions`) into datasets, in registry order,
/// each once, with the datasets they include (an extraction of evaluations takes their forms).
pub fn resolve(flag: &str, names: &[String]) -> Result<Vec<&'static dyn Dataset>> {
    resolve_with(flag, names, true)
}

/// Like [`resolve`] without the included datasets: what a rebuild of exactly the named
/// datasets re-derives.
pub fn resolve_named(flag: &str, names: &[String]) -> Result<Vec<&'static dyn Dataset>> {
    resolve_with(flag, names, false)
}

fn resolve_with(flag: &str, names: &[String], includes: bool) -> Result<Vec<&'static dyn Dataset>> {
    let mut wanted: HashSet<&'static str> = HashSet::new();
    for n in names.iter().map(|n| n.trim()).filter(|n| !n.is_empty()) {
        match n {
            "all" => wanted.extend(registry().iter().map(|d| d.spec().name)),
            // The org-wide dimensions; those that belong to a family (evaluation forms, WFM
            // units) come with the datasets that include them, so a nightly `dimensions` run
            // needs no quality or WFM permission.
            "dimensions" => wanted.extend(
                registry()
                    .iter()
                    .filter(|d| d.spec().group == Group::Dimensions && !is_included(d.spec().name))
                    .map(|d| d.spec().name),
            ),
            _ => match get(n) {
                Some(d) => {
                    wanted.insert(d.spec().name);
                }
                None => {
                    return Err(Error::Input(format!(
                        "{flag}: unknown dataset {n:?}; this version has: {}, or a group: {}",
                        names_list(),
                        GROUPS
                            .iter()
                            .map(|(g, _)| *g)
                            .collect::<Vec<_>>()
                            .join(", ")
                    )));
                }
            },
        }
    }
    // Included datasets join their includers (transitively).
    let mut queue: Vec<&'static str> = if includes {
        wanted.iter().copied().collect()
    } else {
        Vec::new()
    };
    while let Some(name) = queue.pop() {
        for inc in get(name).map(|d| d.spec().includes).unwrap_or_default() {
            if wanted.insert(inc) {
                queue.push(inc);
            }
        }
    }
    Ok(registry()
        .iter()
        .copied()
        .filter(|d| wanted.contains(d.spec().name))
        .collect())
}

/// Whether another dataset includes this one.
fn is_included(name: &str) -> bool {
    registry().iter().any(|d| d.spec().includes.contains(&name))
}

/// The dataset names of this build, comma-separated.
pub fn names_list() -> String {
    registry()
        .iter()
        .map(|d| d.spec().name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The tables of a dataset, from the catalog.
pub fn tables(dataset: &dyn Dataset) -> Vec<Arc<TableSchema>> {
    crate::schema::Catalog::builtin().dataset_tables(dataset.spec().name)
}

/// The column of a dataset's root table that lists each row's divisions, when its rows carry
/// them (see [`crate::schema::TableSchema::division_column`]).
pub fn division_column(dataset: &dyn Dataset) -> Option<String> {
    tables(dataset)
        .first()
        .and_then(|t| t.division_column.clone())
}

/// The `id` of an entity, for de-duplicating listings that shift while paged.
pub(crate) fn entity_id(item: &Value) -> Option<&str> {
    item.get("id").and_then(Value::as_str)
}

/// Admits a listed entity once per chunk (by `id`), into the chunk's partition: the
/// admission of the listings, which read their items as served.
pub(crate) fn admit_listed<'a>(item: Json<'a>, chunk: &Chunk, seen: &mut Seen) -> Admitted<'a> {
    if let Some(id) = item.get("id").and_then(Json::as_str)
        && !seen.insert(id.to_string())
    {
        return Admitted::Duplicate;
    }
    Admitted::Rows(vec![(item, chunk.partition)])
}

/// A served item's text, parsed.
pub(crate) fn parse_item(raw: &RawValue, what: &str) -> Result<Value> {
    serde_json::from_str(raw.get()).map_err(|e| Error::Payload {
        path: what.to_string(),
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Keys are told apart by their text: two keys of one hash are both kept, and every key is
    /// found again after the set has grown (and moved its keys by their kept hashes).
    #[test]
    fn seen_tells_keys_apart_by_their_text_not_their_hash() {
        let mut seen = Seen::default();
        assert!(seen.insert("a".into()));
        assert!(!seen.insert("a".into()));
        assert!(seen.insert("b".into()));
        let key = |key: &str| HashedKey {
            hash: 7,
            key: key.into(),
        };
        assert!(seen.admitted.insert(key("x")));
        assert!(seen.admitted.insert(key("y")));
        assert!(!seen.admitted.insert(key("x")));
        for i in 0..10_000 {
            assert!(seen.insert(format!("k{i}")));
        }
        for i in 0..10_000 {
            assert!(!seen.insert(format!("k{i}")), "k{i} not found again");
        }
        assert!(!seen.insert("a".into()));
        assert_eq!(seen.len(), 10_004);
        assert!(!seen.is_empty());
    }

    /// A text keeps its number, and no two texts share one; numbering adds no key.
    #[test]
    fn seen_numbers_each_text_once() {
        let mut seen = Seen::default();
        let texts = ["queueId=q1", "queueId=q2", "", "queueId=q1|mediaType=voice"];
        let numbers: Vec<u32> = texts.iter().map(|t| seen.number(t)).collect();
        let again: Vec<u32> = texts.iter().rev().map(|t| seen.number(t)).collect();
        assert_eq!(numbers, again.into_iter().rev().collect::<Vec<_>>());
        let distinct: std::collections::BTreeSet<u32> = numbers.iter().copied().collect();
        assert_eq!(distinct.len(), texts.len());
        assert!(seen.is_empty());
    }

    #[test]
    fn names_are_unique_and_groups_expand() {
        let names: Vec<&str> = registry().iter().map(|d| d.spec().name).collect();
        let unique: HashSet<&str> = names.iter().copied().collect();
        assert_eq!(unique.len(), names.len(), "{names:?}");
        let all = resolve("--dataset", &["all".into()]).unwrap();
        assert_eq!(all.len(), registry().len());
        let dims = resolve("--dataset", &["dimensions".into(), "users".into()]).unwrap();
        assert!(dims.iter().all(|d| d.spec().group == Group::Dimensions));
        assert!(dims.iter().any(|d| d.spec().name == "divisions"));
        // Family dimensions come with their datasets, not with the group.
        assert!(
            !dims
                .iter()
                .any(|d| ["evaluation-forms", "wfm-units"].contains(&d.spec().name))
        );
        let evaluations = resolve("--dataset", &["evaluations".into()]).unwrap();
        let names: Vec<&str> = evaluations.iter().map(|d| d.spec().name).collect();
        assert_eq!(names, ["evaluations", "evaluation-forms"]);
        let Err(e) = resolve("--dataset", &["calls".into()]) else {
            panic!("an unknown dataset was accepted")
        };
        assert!(e.to_string().contains("unknown dataset \"calls\""), "{e}");
    }

    #[test]
    fn declarations_agree_with_the_tables() {
        for d in registry() {
            let spec = d.spec();
            let tables = tables(*d);
            assert!(!tables.is_empty(), "{} has no tables", spec.name);
            for t in &tables {
                let expected = match spec.load {
                    LoadMode::ReplacePartitions => crate::schema::TableKind::Fact,
                    LoadMode::MergeByKey => crate::schema::TableKind::Dimension,
                };
                assert_eq!(t.kind, expected, "{}.{}", spec.name, t.table);
            }
            assert!(!spec.endpoints.is_empty(), "{} calls nothing", spec.name);
            // Only a division-scoped dataset's root table lists divisions.
            for (i, t) in tables.iter().enumerate() {
                if t.division_column.is_some() {
                    assert!(spec.division_scoped && i == 0, "{}.{}", spec.name, t.table);
                }
            }
        }
        assert!(division_column(get("conversations").unwrap()).is_some());
        for d in registry() {
            for inc in d.spec().includes {
                assert!(
                    get(inc).is_some(),
                    "{} includes unknown {inc}",
                    d.spec().name
                );
            }
        }
    }
}
