//! The org's data as a whole: generated days, cached, and the two ways the platform selects
//! conversations for an interval.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Days, NaiveDate, Utc};

use crate::aggregates::AggregateQuery;
use crate::data::{Generator, Reference};
use crate::dimensions::{Dataset, Dimensions};
use crate::model::{Attributes, Conversation, Id, Ts};

/// How many generated days are kept; generating a day is cheap, so this only bounds memory
/// (a few hundred KB per day at default volume) while keeping repeated pages fast.
const CACHED_DAYS: usize = 48;

/// Which conversations an interval selects (genesys-api.md §4.1, §4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Matching {
    /// The sync query (and jobs with `startOfDayIntervalMatching`): active in the interval
    /// and started on a UTC day the interval touches.
    StartOfDay,
    /// The job default: every conversation whose lifetime overlaps the interval.
    Overlap,
}

/// Identifies a generated conversation compactly; its day follows from its start. Query and
/// job results are held as keys, so a large job does not pin generated days in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Key {
    pub(crate) start: Ts,
    pub(crate) id: Id,
}

/// A selected conversation: its key, and its end if it had ended by "now" (for ordering by
/// conversationEnd).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Selected {
    pub(crate) key: Key,
    pub(crate) ended: Option<Ts>,
}

/// The simulated org's conversations and reference entities, independent of any server: what
/// tests compare the loader's output against.
#[derive(Debug)]
pub struct Org {
    seed: u64,
    generator: Generator,
    dimensions: Dimensions,
    now: DateTime<Utc>,
    cache: Mutex<DayCache>,
    /// Every generated conversation's start by id, so the per-conversation endpoints
    /// (recording metadata, evaluations) find a conversation from its id alone.
    index: Mutex<HashMap<Id, Ts>>,
}

/// One generated day, shared by the cache and the requests using it.
type Day = Arc<[Arc<Conversation>]>;

/// Generated days with the logical time each was last used (for least-recently-used eviction).
#[derive(Debug, Default)]
struct DayCache {
    days: HashMap<NaiveDate, (Day, u64)>,
    clock: u64,
}

impl Org {
    /// The org generated from `seed` with `conversations_per_day`, seen at `now`.
    pub fn new(seed: u64, conversations_per_day: u32, now: DateTime<Utc>) -> Self {
        let generator = Generator::new(seed, conversations_per_day);
        Self {
            seed,
            dimensions: Dimensions::new(seed, &generator.reference),
            generator,
            now,
            cache: Mutex::default(),
            index: Mutex::default(),
        }
    }

    /// Every entity of a dimension as the listings serve it, in listing order: `"users"` (all
    /// states), `"queues"`, `"wrap-up-codes"`, `"skills"`, `"languages"`, `"groups"`,
    /// `"teams"` or `"divisions"`. Empty for any other name.
    pub fn dimension(&self, dataset: &str) -> Vec<serde_json::Value> {
        Dataset::from_name(dataset)
            .map(|d| self.dimensions.get(d).to_vec())
            .unwrap_or_default()
    }

    /// The answer of `POST /api/v2/analytics/conversations/aggregates/query` to `body` as of
    /// this org's "now", counting only conversations that carry one of `visible_divisions`
    /// (`None`: all), or the 400's message for an invalid body. The server's limits
    /// (`SimConfig::aggregate_max_buckets`, `aggregate_max_interval_days`) are not applied:
    /// this is what any query the server accepts answers.
    pub fn aggregate(
        &self,
        body: &serde_json::Value,
        visible_divisions: Option<&[String]>,
    ) -> Result<serde_json::Value, String> {
        let query = AggregateQuery::parse(body)?;
        let visible: Option<std::collections::HashSet<String>> =
            visible_divisions.map(|d| d.iter().cloned().collect());
        Ok(self.aggregate_at(&query, Ts::from_datetime(self.now), visible.as_ref()))
    }

    /// The evaluations (`EvaluationResponse`, with answers) of the conversations that started
    /// in `[from, to)`, as the quality API serves them at this org's "now": deleted ones left
    /// out, sorted by id.
    pub fn evaluations_started_in(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Vec<serde_json::Value> {
        crate::quality::evaluations_between(
            self,
            self.seed,
            (Ts::from_datetime(from), Ts::from_datetime(to)),
            Ts::from_datetime(self.now),
        )
    }

    /// Every evaluation form version in full, question groups and answer options included.
    pub fn evaluation_forms(&self) -> Vec<serde_json::Value> {
        crate::quality::all_forms(self, self.seed)
    }

    /// The recording metadata of the conversations that started in `[from, to)` as served at
    /// this org's "now" (bookmark annotations only `with_bookmarks`, as for a caller holding
    /// `recording:annotation:view`), in conversation order.
    pub fn recordings_started_in(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        with_bookmarks: bool,
    ) -> Vec<serde_json::Value> {
        let (from, to, now) = (
            Ts::from_datetime(from),
            Ts::from_datetime(to),
            Ts::from_datetime(self.now),
        );
        let mut out = Vec::new();
        if to <= from {
            return out;
        }
        for date in dates(from, to.plus(-1)) {
            for c in self.day(date).iter() {
                if c.conversation_start >= from && c.conversation_start < to {
                    out.extend(crate::recordings::recordings_of(
                        self.seed,
                        c,
                        now,
                        with_bookmarks,
                    ));
                }
            }
        }
        out
    }

    pub(crate) fn dimensions(&self) -> &Dimensions {
        &self.dimensions
    }

    /// Conversations whose conversationStart falls in [from, to), in the full job-results form
    /// (participants carry `attributes`), as of this org's "now", sorted by
    /// (conversationStart, conversationId).
    pub fn conversations_started_in(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Vec<serde_json::Value> {
        let (from, to, now) = (
            Ts::from_datetime(from),
            Ts::from_datetime(to),
            Ts::from_datetime(self.now),
        );
        if to <= from {
            return Vec::new();
        }
        let mut out = Vec::new();
        for date in dates(from, to.plus(-1)) {
            for conversation in self.day(date).iter() {
                let start = conversation.conversation_start;
                if start < from || start >= to {
                    continue;
                }
                if let Some(record) = conversation.render(now, Attributes::Include) {
                    out.push(serde_json::to_value(&*record).unwrap_or_default());
                }
            }
        }
        out
    }

    /// Like [`Org::conversations_started_in`], keeping only conversations that carry one of
    /// `divisions` (`None`: all): what a client granted in those divisions sees.
    pub fn conversations_visible_in(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        divisions: Option<&[String]>,
    ) -> Vec<serde_json::Value> {
        let mut all = self.conversations_started_in(from, to);
        if let Some(divisions) = divisions {
            all.retain(|c| {
                c["divisionIds"].as_array().is_some_and(|ids| {
                    ids.iter()
                        .any(|d| d.as_str().is_some_and(|d| divisions.iter().any(|x| x == d)))
                })
            });
        }
        all
    }

    pub(crate) fn reference(&self) -> &Reference {
        &self.generator.reference
    }

    /// All conversations starting on `date`, complete and sorted; generated on first use.
    pub(crate) fn day(&self, date: NaiveDate) -> Day {
        {
            let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
            cache.clock += 1;
            let clock = cache.clock;
            if let Some((day, used)) = cache.days.get_mut(&date) {
                *used = clock;
                return Arc::clone(day);
            }
        }
        // Generate outside the lock so concurrent requests for other days are not serialised.
        let day: Day = self.generator.day(date).into_iter().map(Arc::new).collect();
        {
            let mut index = self.index.lock().unwrap_or_else(PoisonError::into_inner);
            for c in day.iter() {
                index.insert(c.conversation_id, c.conversation_start);
            }
        }
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        if cache.days.len() >= CACHED_DAYS
            && let Some((&oldest, _)) = cache.days.iter().min_by_key(|(_, (_, used))| *used)
        {
            cache.days.remove(&oldest);
        }
        let clock = cache.clock;
        cache.days.insert(date, (Arc::clone(&day), clock));
        day
    }

    /// The conversation with this id, if it is on a day generated so far (a client learns ids
    /// from the details of a day, which generates it).
    pub(crate) fn find(&self, id: Id) -> Option<Arc<Conversation>> {
        let start = *self
            .index
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&id)?;
        self.get(Key { start, id })
    }

    /// The conversation `key` identifies, if it exists.
    pub(crate) fn get(&self, key: Key) -> Option<Arc<Conversation>> {
        let day = self.day(date_of(key.start));
        day.binary_search_by_key(&key, |c| Key {
            start: c.conversation_start,
            id: c.conversation_id,
        })
        .ok()
        .map(|i| Arc::clone(&day[i]))
    }

    /// The conversations an interval `[from, to)` selects under `matching` and `keep`, as seen
    /// at `now`, leaving out any that started after `horizon` (now for the query, the data
    /// availability date for jobs). Sorted by (conversationStart, conversationId).
    pub(crate) fn select(
        &self,
        (from, to): (Ts, Ts),
        matching: Matching,
        (now, horizon): (Ts, Ts),
        keep: impl Fn(&Conversation) -> bool,
    ) -> Vec<Selected> {
        let first_day = date_of(from);
        let day_start = Ts::from_datetime(first_day.and_time(chrono::NaiveTime::MIN).and_utc());
        // Conversations last under a day, so overlap matching only needs the day before.
        let scan_from = match matching {
            Matching::StartOfDay => from,
            Matching::Overlap => from.plus(-24 * 3600 * 1000),
        };
        let scan_to = to.plus(-1).min(horizon);
        let mut out = Vec::new();
        if scan_to < scan_from {
            return out;
        }
        for date in dates(scan_from, scan_to) {
            for conversation in self.day(date).iter() {
                let start = conversation.conversation_start;
                if start > horizon || start >= to {
                    continue;
                }
                if matching == Matching::StartOfDay && start < day_start {
                    continue;
                }
                let ended = conversation.conversation_end.filter(|end| *end <= now);
                let active = ended.is_none_or(|end| end > from);
                if active && keep(conversation) {
                    out.push(Selected {
                        key: Key {
                            start,
                            id: conversation.conversation_id,
                        },
                        ended,
                    });
                }
            }
        }
        out
    }
}

pub(crate) fn date_of(at: Ts) -> NaiveDate {
    at.to_datetime().date_naive()
}

/// The UTC dates from the one containing `first` to the one containing `last`, inclusive.
fn dates(first: Ts, last: Ts) -> impl Iterator<Item = NaiveDate> {
    let last = date_of(last);
    std::iter::successors(Some(date_of(first)), |d| d.checked_add_days(Days::new(1)))
        .take_while(move |d| *d <= last)
}
