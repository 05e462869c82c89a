//! `conversation-aggregates`: interval metrics from `POST /api/v2/analytics/conversations/
//! aggregates/query` (genesys-api.md §5), in long format: one row per interval, group and
//! metric.
//!
//! Each UTC day is a chunk, queried at `--granularity` (default `PT30M`) grouped by
//! `--group-by` (default `queueId`, `mediaType`) for every conversation metric. The platform
//! limits interval length and bucket count with an HTTP 400; such a query is split in two at a
//! bucket boundary and each half asked again, down to one bucket. Empty buckets are absent, as
//! served; a group without a queue (outbound without one) is kept with a null `queue_id`.

use std::borrow::Cow;

use chrono::{DateTime, Duration, NaiveTime, Utc};
use futures::FutureExt;
use futures::future::BoxFuture;
use serde_json::{Value, json};

use super::{Admitted, Chunk, Dataset, Group, LoadMode, RunContext, Seen, Spec};
use crate::datasets::conversations::interval;
use crate::error::{Error, Result};
use crate::genesys::allowlist::Endpoint;
use crate::genesys::paging::{PageSender, items, send};
use crate::json::{Fields, Json, take_fields};
use crate::plan::{Range, day_chunks, fmt};

const QUERY_PATH: &str = "/api/v2/analytics/conversations/aggregates/query";

/// Every conversation metric the aggregates query accepts (SDK 269.0.0's enum).
pub const METRICS: &[&str] = &[
    "nAgentDeclined",
    "nAlertExpired",
    "nBlindTransferred",
    "nBotInteractions",
    "nCallbackAttempts",
    "nCallbackOverSla",
    "nCallbackScheduled",
    "nCfcOffered",
    "nCobrowseSessions",
    "nConnected",
    "nConsult",
    "nConsultTransferred",
    "nConversations",
    "nError",
    "nOffered",
    "nOutbound",
    "nOutboundAbandoned",
    "nOutboundAttempted",
    "nOutboundConnected",
    "nOverSla",
    "nStateTransitionError",
    "nTakeover",
    "nTransferred",
    "oAudioMessageCount",
    "oCallbackServiceLevel",
    "oExternalAudioMessageCount",
    "oExternalMediaCount",
    "oMediaCount",
    "oMessageCount",
    "oMessageSegmentCount",
    "oMessageTurn",
    "oServiceLevel",
    "oServiceTarget",
    "oSkillExpressionApplications",
    "tAbandon",
    "tAcd",
    "tActiveCallback",
    "tActiveCallbackComplete",
    "tAcw",
    "tAgentResponseTime",
    "tAgentVideoConnected",
    "tAlert",
    "tAnswered",
    "tAverageAgentResponseTime",
    "tAverageCustomerResponseTime",
    "tBarging",
    "tCallbackAbandon",
    "tCallbackConnect",
    "tCallbackNotReached",
    "tCallbackVirtualWait",
    "tCfcAbandon",
    "tCfcAcd",
    "tCfcAnswered",
    "tCfcFlowOut",
    "tCoaching",
    "tCoachingComplete",
    "tConnected",
    "tContacting",
    "tDialing",
    "tFirstConnect",
    "tFirstDial",
    "tFirstEngagement",
    "tFirstResponse",
    "tFlowOut",
    "tHandle",
    "tHeld",
    "tHeldComplete",
    "tIvr",
    "tMonitoring",
    "tMonitoringComplete",
    "tNotResponding",
    "tPark",
    "tParkComplete",
    "tScreenMonitoring",
    "tShortAbandon",
    "tSnippetRecord",
    "tTalk",
    "tTalkComplete",
    "tTransmitting",
    "tUserResponseTime",
    "tVoicemail",
    "tWait",
];

/// What the aggregates query asks for.
#[derive(Debug, Clone)]
pub struct AggregateSettings {
    /// ISO-8601 bucket length (`PT15M`, `PT30M`, `PT1H`, `P1D`); default `PT30M`.
    pub granularity: String,
    /// Dimensions to group by; default `queueId`, `mediaType`.
    pub group_by: Vec<String>,
    /// Metrics to compute; default every conversation metric ([`METRICS`]).
    pub metrics: Vec<String>,
}

impl Default for AggregateSettings {
    fn default() -> Self {
        AggregateSettings {
            granularity: "PT30M".into(),
            group_by: vec!["queueId".into(), "mediaType".into()],
            metrics: METRICS.iter().map(|m| m.to_string()).collect(),
        }
    }
}

/// An ISO-8601 duration of minutes, hours or days (`PT30M`, `PT1H`, `P1D`) as a duration.
pub fn parse_granularity(text: &str) -> Result<Duration> {
    let bad = || {
        Error::Input(format!(
            "--granularity {text:?} is not a duration like PT15M, PT30M, PT1H or P1D"
        ))
    };
    let (number, unit) = if let Some(rest) = text.strip_prefix("PT") {
        rest.split_at(rest.len().checked_sub(1).ok_or_else(bad)?)
    } else if let Some(rest) = text.strip_prefix('P') {
        rest.split_at(rest.len().checked_sub(1).ok_or_else(bad)?)
    } else {
        return Err(bad());
    };
    let n: i64 = number.parse().map_err(|_| bad())?;
    let step = match (text.starts_with("PT"), unit) {
        (true, "M") => Duration::try_minutes(n),
        (true, "H") => Duration::try_hours(n),
        (false, "D") => Duration::try_days(n),
        _ => return Err(bad()),
    }
    .ok_or_else(bad)?;
    if n <= 0
        || step > Duration::days(1)
        || Duration::days(1).num_minutes() % step.num_minutes() != 0
    {
        return Err(Error::Input(format!(
            "--granularity {text}: buckets must divide a day (e.g. PT15M, PT30M, PT1H, P1D)"
        )));
    }
    Ok(step)
}

pub struct ConversationAggregates;

pub static CONVERSATION_AGGREGATES: ConversationAggregates = ConversationAggregates;

static SPEC: Spec = Spec {
    name: "conversation-aggregates",
    group: Group::Facts,
    summary: "interval metrics per queue and media type (long format), by UTC day",
    schemas: crate::schema_files!("conversation-aggregates": "conversation_aggregates"),
    permissions: &["analytics:conversationAggregate:view"],
    division_scoped: true,
    endpoints: &[Endpoint::post(QUERY_PATH)],
    load: LoadMode::ReplacePartitions,
    headline: false,
    items_field: "results",
    includes: &[],
    routes: &[],
};

/// Whether a 400 is one of the query's size limits (interval length, bucket count, result
/// size), which a shorter interval avoids.
fn is_size_limit(e: &Error) -> bool {
    match e {
        Error::Api {
            status: Some(400),
            message,
            ..
        } => {
            let m = message.to_ascii_lowercase();
            m.contains("maximum") || m.contains("too many") || m.contains("too large")
        }
        _ => false,
    }
}

impl ConversationAggregates {
    /// Queries `[start, end)`, halving intervals the platform finds too large.
    async fn query(
        &self,
        run: &RunContext,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        tx: &PageSender,
    ) -> Result<u64> {
        let settings = &run.options.aggregates;
        let step = parse_granularity(&settings.granularity)?;
        let mut pending = vec![(start, end)];
        let mut pages = 0;
        while let Some((s, e)) = pending.pop() {
            let mut body = json!({
                "interval": interval(s, e),
                "granularity": settings.granularity,
                "groupBy": settings.group_by,
                "metrics": settings.metrics,
            });
            if !run.divisions.is_empty() {
                let predicates: Vec<Value> = run
                    .divisions
                    .iter()
                    .map(|d| json!({"type": "dimension", "dimension": "divisionId", "operator": "matches", "value": d}))
                    .collect();
                body["filter"] = json!({"type": "or", "predicates": predicates});
            }
            match run.api.post_json(QUERY_PATH, &body).await {
                Ok(resp) => {
                    pages +=
                        send(tx, items(QUERY_PATH, &resp.body, "results")?, &resp.body).await?;
                }
                Err(err) if is_size_limit(&err) => {
                    let buckets = (e - s).num_minutes() / step.num_minutes();
                    if buckets < 2 {
                        return Err(Error::Api {
                            method: "POST".into(),
                            path: QUERY_PATH.into(),
                            status: Some(400),
                            message: format!(
                                "one {} bucket at {} is still too large for the platform: {err}",
                                settings.granularity,
                                fmt(s)
                            ),
                        });
                    }
                    let mid = s + step * (buckets / 2) as i32;
                    tracing::info!(interval = %interval(s, e), "splitting an aggregates query the platform finds too large");
                    pending.push((mid, e));
                    pending.push((s, mid));
                }
                Err(err) => return Err(err),
            }
        }
        Ok(pages)
    }
}

impl Dataset for ConversationAggregates {
    fn spec(&self) -> &Spec {
        &SPEC
    }

    fn plan<'a>(&'a self, run: &'a RunContext, range: Range) -> BoxFuture<'a, Result<Vec<Chunk>>> {
        async move {
            let step = parse_granularity(&run.options.aggregates.granularity)?;
            for (flag, at) in [("--from", range.from), ("--to", range.to)] {
                let since_midnight = at - at.date_naive().and_time(NaiveTime::MIN).and_utc();
                if since_midnight.num_milliseconds() % step.num_milliseconds() != 0 {
                    return Err(Error::Input(format!(
                        "{flag} {} is not on a {} bucket boundary; conversation-aggregates needs \
                         the range aligned to its granularity",
                        fmt(at),
                        run.options.aggregates.granularity
                    )));
                }
            }
            Ok(day_chunks(range, SPEC.name, |_, _| "aggregate"))
        }
        .boxed()
    }

    fn fetch<'a>(
        &'a self,
        run: &'a RunContext,
        chunk: &'a Chunk,
        tx: &'a PageSender,
    ) -> BoxFuture<'a, Result<u64>> {
        self.query(run, chunk.start, chunk.end, tx).boxed()
    }

    /// Flattens one group's buckets into one row per bucket and metric (and per view).
    ///
    /// The rows borrow from the page (instants, names, the group's values) as a
    /// conversation does: the same rows a `Value` per row would give (the last of a repeated
    /// field counts, and is the one written), without a tree of owned maps per row, which
    /// made this dataset's decode six times as costly per byte as a conversation's
    /// (benches/profile.md, "Ninth round").
    fn admit<'a>(&self, item: Json<'a>, chunk: &Chunk, seen: &mut Seen) -> Result<Admitted<'a>> {
        let fail = |message: String| Error::Payload {
            path: "results[]".into(),
            message,
        };
        let Json::Object(mut result) = item else {
            return Err(fail("a result is not a JSON object".into()));
        };
        let [group, data] = take_fields(&mut result, ["group", "data"]);
        let group = match group {
            None | Some(Json::Null) => Vec::new(),
            Some(Json::Object(g)) => g,
            Some(other) => return Err(fail(format!("group is not an object but {other}"))),
        };
        let data = match data {
            None | Some(Json::Null) => Vec::new(),
            Some(Json::Array(d)) => d,
            Some(other) => return Err(fail(format!("data is not a list but {other}"))),
        };
        let group_key = group_key(&group);
        let group_number = seen.number(&group_key);
        let mut rows = Vec::new();
        let (mut outside, mut dups) = (0, 0);
        // A result's buckets share their length: its name is written once, not per bucket.
        let mut granularity: Option<(Duration, String)> = None;
        for bucket in data {
            let Json::Object(mut bucket) = bucket else {
                return Err(fail("a data item is not a JSON object".into()));
            };
            let [interval, metrics, views] =
                take_fields(&mut bucket, ["interval", "metrics", "views"]);
            let span = match interval {
                Some(Json::Str(s)) => s,
                _ => {
                    return Err(fail(format!(
                        "a bucket of group {group_key:?} has no interval"
                    )));
                }
            };
            let Some(((from, start), (to, end))) = split_interval(&span) else {
                return Err(fail(format!("unreadable bucket interval {span:?}")));
            };
            if from < chunk.start || from >= chunk.end {
                outside += 1;
                continue;
            }
            let lists = [("metrics", metrics, false), ("views", views, true)];
            let granularity = match &mut granularity {
                Some((length, name)) if *length == to - from => &*name,
                slot => &slot.insert((to - from, iso_duration(to - from))).1,
            };
            for (field, list, view) in lists {
                let entries = match list {
                    None | Some(Json::Null) => Vec::new(),
                    Some(Json::Array(l)) => l,
                    Some(other) => return Err(fail(format!("{field} is not a list but {other}"))),
                };
                for entry in entries {
                    let Json::Object(mut entry) = entry else {
                        return Err(fail(format!("a {field} item is not a JSON object")));
                    };
                    let [name, qualifier, stats] = take_fields(
                        &mut entry,
                        [if view { "name" } else { "metric" }, "qualifier", "stats"],
                    );
                    let (name, qualifier) =
                        (name.unwrap_or(Json::Null), qualifier.unwrap_or(Json::Null));
                    let key = row_key(group_number, from, &name, &qualifier, view);
                    if !seen.insert(key) {
                        dups += 1;
                        continue;
                    }
                    let stats = match stats {
                        Some(Json::Object(stats)) => stats,
                        None | Some(Json::Null) => Vec::new(),
                        Some(other) => {
                            return Err(fail(format!("stats is not an object but {other}")));
                        }
                    };
                    let mut row = Vec::with_capacity(
                        8 + stats.len() + entry.len() + bucket.len() + result.len(),
                    );
                    row.extend([
                        ("intervalStart".into(), Json::Str(start.clone())),
                        ("intervalEnd".into(), Json::Str(end.clone())),
                        ("groupDimensions".into(), Json::Object(group.clone())),
                        ("groupKey".into(), Json::Str(group_key.clone().into())),
                        ("metric".into(), name),
                        ("qualifier".into(), qualifier),
                        ("view".into(), Json::Bool(view)),
                        (
                            "granularity".into(),
                            Json::Str(granularity.to_owned().into()),
                        ),
                    ]);
                    row.extend(stats);
                    // Anything else the platform adds is kept (and warned about) in extra_fields.
                    row.extend(entry);
                    row.extend(bucket.iter().cloned());
                    row.extend(result.iter().cloned());
                    rows.push((Json::Object(row), from.date_naive()));
                }
            }
        }
        Ok(match (rows.is_empty(), outside, dups) {
            (true, o, _) if o > 0 => Admitted::Outside,
            (true, _, d) if d > 0 => Admitted::Duplicate,
            _ => Admitted::Rows(rows),
        })
    }

    fn probes(&self, yesterday: DateTime<Utc>) -> Vec<(&'static str, String, Option<Value>)> {
        vec![(
            "POST",
            QUERY_PATH.into(),
            Some(json!({
                "interval": interval(yesterday, yesterday + Duration::hours(1)),
                "metrics": ["nOffered"],
            })),
        )]
    }
}

/// The group's identity: its dimensions as `name=value`, sorted and joined by `|` (each name
/// once, the last served, as in a `Value`).
fn group_key(group: &Fields<'_>) -> String {
    let mut dims: Vec<(&str, &Json)> = Vec::with_capacity(group.len());
    for (k, v) in group {
        match dims.iter_mut().find(|(d, _)| *d == &**k) {
            Some(dim) => dim.1 = v,
            None => dims.push((k, v)),
        }
    }
    let mut pairs: Vec<String> = dims
        .iter()
        .map(|(k, v)| {
            format!(
                "{k}={}",
                v.as_str().map_or_else(|| v.to_string(), str::to_string)
            )
        })
        .collect();
    pairs.sort();
    pairs.join("|")
}

/// What identifies a row in its chunk: `group#bucket start (ms)#metric#qualifier#view`, the
/// group by its number in the chunk ([`Seen::number`] of its key), the metric and qualifier as
/// JSON text.
fn row_key(group: u32, from: DateTime<Utc>, name: &Json, qualifier: &Json, view: bool) -> String {
    let mut key = String::with_capacity(64);
    key.push_str(itoa::Buffer::new().format(group));
    key.push('#');
    // itoa, not `write!`: the formatting machinery was 2% of an aggregates rebuild, a key
    // being made for every row (benches/profile.md, "Twelfth round").
    key.push_str(itoa::Buffer::new().format(from.timestamp_millis()));
    key.push('#');
    push_json_text(&mut key, name);
    key.push('#');
    push_json_text(&mut key, qualifier);
    key.push_str(if view { "#true" } else { "#false" });
    key
}

/// Appends `v` as compact JSON text (what `Display` writes), without a string of its own for
/// the common cases: null, and a string with nothing to escape.
fn push_json_text(out: &mut String, v: &Json) {
    match v {
        Json::Null => out.push_str("null"),
        Json::Str(s) if !s.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20) => {
            out.push('"');
            out.push_str(s);
            out.push('"');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// A bucket's `start/end`: each instant, and its text as rows carry it (UTC, milliseconds).
/// The served text is borrowed when it already has that form, as the platform serves it.
#[allow(clippy::type_complexity)]
fn split_interval<'a>(
    span: &Cow<'a, str>,
) -> Option<((DateTime<Utc>, Cow<'a, str>), (DateTime<Utc>, Cow<'a, str>))> {
    let (a, b) = span.split_once('/')?;
    let (from, to) = (parse_instant(a)?, parse_instant(b)?);
    // The text of `at`, which `span` holds at `range`.
    let text = |at: DateTime<Utc>, range: std::ops::Range<usize>| match span {
        Cow::Borrowed(s) if canonical_ms(&s[range.clone()]) => Cow::Borrowed(&s[range]),
        _ => Cow::Owned(fmt_ms(at)),
    };
    let start = text(from, 0..a.len());
    let end = text(to, a.len() + 1..span.len());
    Some(((from, start), (to, end)))
}

/// Whether `text` is already what [`fmt_ms`] writes (`2026-11-28T00:30:00.000Z`).
fn canonical_ms(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() == 24
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 | 16 => *c == b':',
            19 => *c == b'.',
            23 => *c == b'Z',
            17 => (b'0'..=b'5').contains(c),
            _ => c.is_ascii_digit(),
        })
}

/// A bucket's length as the ISO-8601 duration it was asked with (`PT30M`, `PT1H`, `P1D`).
fn iso_duration(d: Duration) -> String {
    let minutes = d.num_minutes();
    if minutes > 0 && minutes % (24 * 60) == 0 {
        format!("P{}D", minutes / (24 * 60))
    } else if minutes > 0 && minutes % 60 == 0 {
        format!("PT{}H", minutes / 60)
    } else {
        format!("PT{minutes}M")
    }
}

fn parse_instant(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s.trim())
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn fmt_ms(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_read_intervals_groups_and_stats_as_a_value_would() {
        let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 28).unwrap();
        let chunk = Chunk {
            dataset: "conversation-aggregates",
            partition: day,
            start: crate::plan::day_start(day),
            end: crate::plan::day_start(day) + Duration::days(1),
            method: "aggregate",
        };
        // A repeated group dimension (the last counts), a metric served twice in a bucket (kept
        // once: the second's statistics, of another type, are never read), an interval with an
        // offset (written in UTC), a bucket of another length, a bucket of the next day (whose
        // metrics, not a list, are never read either).
        let text = r#"{"group": {"queueId": "q1", "mediaType": "voice", "queueId": "q2"},
            "data": [
              {"interval": "2026-11-28T01:00:00.000Z/2026-11-28T01:30:00.000Z",
               "metrics": [{"metric": "nOffered", "stats": {"count": 3}},
                           {"metric": "nOffered", "stats": 9}]},
              {"interval": "2026-11-28T03:00:00+01:00/2026-11-28T03:30:00+01:00",
               "metrics": [{"metric": "tTalk", "qualifier": "x", "stats": {"sum": 5, "count": 1}}]},
              {"interval": "2026-11-28T05:00:00.000Z/2026-11-28T06:00:00.000Z",
               "metrics": [{"metric": "tHandle", "stats": {"count": 2}}]},
              {"interval": "2026-11-28T07:00:00.000Z/2026-11-28T07:30:00.000Z",
               "metrics": [{"metric": "tHandle", "stats": {"count": 4}}]},
              {"interval": "2026-11-29T00:00:00.000Z/2026-11-29T00:30:00.000Z",
               "metrics": 5}]}"#;
        let item = Json::parse(text).unwrap();
        let mut seen = Seen::default();
        let Admitted::Rows(rows) = CONVERSATION_AGGREGATES
            .admit(item, &chunk, &mut seen)
            .unwrap()
        else {
            panic!("not admitted");
        };
        assert_eq!(rows.len(), 4);
        let first = rows[0].0.to_value();
        assert_eq!(first["groupKey"], "mediaType=voice|queueId=q2");
        assert_eq!(
            first["groupDimensions"],
            json!({"mediaType": "voice", "queueId": "q2"})
        );
        assert_eq!(first["intervalStart"], "2026-11-28T01:00:00.000Z");
        assert_eq!(first["intervalEnd"], "2026-11-28T01:30:00.000Z");
        assert_eq!(first["count"], 3);
        assert_eq!(first["metric"], "nOffered");
        assert_eq!(first["qualifier"], Value::Null);
        assert_eq!(first["view"], false);
        assert_eq!(first["granularity"], "PT30M");
        // The served text is borrowed when it is already what a row carries.
        assert!(matches!(
            rows[0].0.get("intervalStart"),
            Some(Json::Str(Cow::Borrowed(_)))
        ));
        let second = rows[1].0.to_value();
        assert_eq!(second["intervalStart"], "2026-11-28T02:00:00.000Z");
        assert_eq!(second["intervalEnd"], "2026-11-28T02:30:00.000Z");
        assert_eq!(
            (second["sum"].clone(), second["qualifier"].clone()),
            (json!(5), json!("x"))
        );
        let granularities: Vec<Value> = rows
            .iter()
            .map(|(r, _)| r.to_value()["granularity"].clone())
            .collect();
        assert_eq!(granularities, ["PT30M", "PT30M", "PT1H", "PT30M"]);
        let q2 = format!("{}#", seen.number("mediaType=voice|queueId=q2"));
        assert_eq!(seen.keys().filter(|k| k.starts_with(&q2)).count(), 4);
        assert!(canonical_ms("2026-11-28T01:00:00.000Z"));
        for other in [
            "2026-11-28T01:00:00Z",
            "2026-11-28t01:00:00.000Z",
            "2026-11-28T01:00:60.000Z",
        ] {
            assert!(!canonical_ms(other), "{other}");
        }
    }

    #[test]
    fn granularities_divide_a_day() {
        assert_eq!(parse_granularity("PT30M").unwrap(), Duration::minutes(30));
        assert_eq!(parse_granularity("PT1H").unwrap(), Duration::hours(1));
        assert_eq!(parse_granularity("P1D").unwrap(), Duration::days(1));
        for bad in [
            "30M",
            "PT7M",
            "P2D",
            "PT0M",
            "PTM",
            "P1W",
            "",
            "PT1000000000000000M",
        ] {
            assert!(parse_granularity(bad).is_err(), "{bad}");
        }
        for g in ["PT15M", "PT30M", "PT1H", "P1D"] {
            assert_eq!(iso_duration(parse_granularity(g).unwrap()), g);
        }
    }
}
