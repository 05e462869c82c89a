//! `conversation-aggregates`: interval metrics from `POST /api/v2/analytics/conversations/
//! aggregates/query` (genesys-api.md §5), in long format: one row per interval, group and
//! metric.
//!
//! Each UTC day is a chunk, queried at `--granularity` (default `PT30M`) grouped by
//! `--group-by` (default `queueId`, `mediaType`) for every conversation metric. The platform
//! limits interval length and bucket count with an HTTP 400; such a query is split in two at a
//! bucket boundary and each half asked again, down to one bucket. Empty buckets are absent, as
//! served; a group without a queue (outbound without one) is kept with a null `queue_id`.

use std::collections::HashSet;

use chrono::{DateTime, Duration, NaiveTime, Utc};
use futures::FutureExt;
use futures::future::BoxFuture;
use serde_json::{Map, Value, json};

use super::{Admission, Chunk, Dataset, Group, LoadMode, RunContext, Spec};
use crate::datasets::conversations::interval;
use crate::error::{Error, Result};
use crate::genesys::allowlist::Endpoint;
use crate::genesys::paging::{PageSender, items, send};
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
    fn admit(&self, item: Value, chunk: &Chunk, seen: &mut HashSet<String>) -> Result<Admission> {
        let fail = |message: String| Error::Payload {
            path: "results[]".into(),
            message,
        };
        let Value::Object(mut result) = item else {
            return Err(fail("a result is not a JSON object".into()));
        };
        let group = match result.remove("group") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(g)) => g,
            Some(other) => return Err(fail(format!("group is not an object but {other}"))),
        };
        let data = match result.remove("data") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(d)) => d,
            Some(other) => return Err(fail(format!("data is not a list but {other}"))),
        };
        let mut pairs: Vec<String> = group
            .iter()
            .map(|(k, v)| {
                format!(
                    "{k}={}",
                    v.as_str().map_or_else(|| v.to_string(), str::to_string)
                )
            })
            .collect();
        pairs.sort();
        let group_key = pairs.join("|");
        let mut rows = Vec::new();
        let (mut outside, mut dups) = (0, 0);
        for bucket in data {
            let Value::Object(mut bucket) = bucket else {
                return Err(fail("a data item is not a JSON object".into()));
            };
            let span = bucket
                .remove("interval")
                .and_then(|v| v.as_str().map(str::to_string))
                .ok_or_else(|| fail(format!("a bucket of group {group_key:?} has no interval")))?;
            let (from, to) = span
                .split_once('/')
                .and_then(|(a, b)| Some((parse_instant(a)?, parse_instant(b)?)))
                .ok_or_else(|| fail(format!("unreadable bucket interval {span:?}")))?;
            if from < chunk.start || from >= chunk.end {
                outside += 1;
                continue;
            }
            let lists = [
                ("metrics", bucket.remove("metrics"), false),
                ("views", bucket.remove("views"), true),
            ];
            for (field, list, view) in lists {
                let entries = match list {
                    None | Some(Value::Null) => Vec::new(),
                    Some(Value::Array(l)) => l,
                    Some(other) => return Err(fail(format!("{field} is not a list but {other}"))),
                };
                for entry in entries {
                    let Value::Object(mut entry) = entry else {
                        return Err(fail(format!("a {field} item is not a JSON object")));
                    };
                    let name = entry
                        .remove(if view { "name" } else { "metric" })
                        .unwrap_or(Value::Null);
                    let qualifier = entry.remove("qualifier").unwrap_or(Value::Null);
                    let key = format!(
                        "{group_key}#{}#{name}#{qualifier}#{view}",
                        from.timestamp_millis()
                    );
                    if !seen.insert(key) {
                        dups += 1;
                        continue;
                    }
                    let mut row = Map::new();
                    row.insert("intervalStart".into(), Value::String(fmt_ms(from)));
                    row.insert("intervalEnd".into(), Value::String(fmt_ms(to)));
                    row.insert("groupDimensions".into(), Value::Object(group.clone()));
                    row.insert("groupKey".into(), Value::String(group_key.clone()));
                    row.insert("metric".into(), name);
                    row.insert("qualifier".into(), qualifier);
                    row.insert("view".into(), Value::Bool(view));
                    row.insert("granularity".into(), Value::String(iso_duration(to - from)));
                    match entry.remove("stats") {
                        Some(Value::Object(stats)) => row.extend(stats),
                        None | Some(Value::Null) => {}
                        Some(other) => {
                            return Err(fail(format!("stats is not an object but {other}")));
                        }
                    }
                    // Anything else the platform adds is kept (and warned about) in extra_fields.
                    row.extend(entry);
                    row.extend(bucket.iter().map(|(k, v)| (k.clone(), v.clone())));
                    row.extend(result.iter().map(|(k, v)| (k.clone(), v.clone())));
                    rows.push((Value::Object(row), from.date_naive()));
                }
            }
        }
        Ok(match (rows.is_empty(), outside, dups) {
            (true, o, _) if o > 0 => Admission::Outside,
            (true, _, d) if d > 0 => Admission::Duplicate,
            _ => Admission::Rows(rows),
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
