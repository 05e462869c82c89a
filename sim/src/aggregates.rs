//! Conversation aggregates, `POST /api/v2/analytics/conversations/aggregates/query`
//! (genesys-api.md §5.1), computed from the same generated conversations the detail endpoints
//! serve, so a loader's aggregates can be reconciled with its details.
//!
//! Semantics:
//! - Metrics are reported in the interval they are emitted in: each session metric
//!   (`participants[].sessions[].metrics[]`) counts in the bucket containing its `emitDate`,
//!   whenever its conversation started. Only conversations that exist at the simulated "now"
//!   count, as they are served then (so only metrics emitted at or before now).
//! - A metric's group values come from its session: `queueId` is the first `queueId` among the
//!   session's segments (a session without one groups with no `queueId` key), `mediaType` and
//!   `direction` are the session's, `userId` (absent when none) and `purpose` the
//!   participant's. Supported `groupBy` dimensions are those five; any other is a 400.
//! - Stats: `t*` metrics give `{count, sum, min, max}` (milliseconds), `n*` metrics give
//!   `{count}`, the sum of their values. No `o*` metric is generated, so none is reported.
//!   Requested metric names must be in the SDK's list ([`METRICS`]); one that no session emits
//!   simply produces nothing.
//! - Buckets start at the interval's start and are `granularity` long (absent: one bucket for
//!   the whole interval); the interval must be a whole number of them. Only UTC is supported
//!   as `timeZone`.
//! - `filter` predicates (`matches`, `exists`, `notExists`) may use `divisionId` and
//!   `originatingDirection` (of the conversation) and the five group dimensions (of the
//!   session); others are a 400 rather than silently ignored, since a wrong total is worse
//!   than a refusal. Conversations outside the client's divisions are left out silently.
//! - Empty buckets and groups are omitted; groups are sorted by their values in `groupBy`
//!   order (absent first), buckets by time, metrics by name; `qualifier` is never set. With
//!   no data at all the answer is `{}`, as the platform's is.
//! - The server refuses intervals longer than [`crate::SimConfig::aggregate_max_interval_days`]
//!   and queries of more than [`crate::SimConfig::aggregate_max_buckets`] buckets, so a loader
//!   has to discover the limits from the 400s and split its queries.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use chrono::Days;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::access;
use crate::error::ApiError;
use crate::model::{Attributes, Conversation, Participant, Session, Ts, format_instant};
use crate::org::{Org, date_of};
use crate::query::{Filter, Predicate, parse_interval, parse_json};
use crate::server::AppState;

/// The permission the aggregate query needs.
pub(crate) const AGGREGATE_PERMISSIONS: &[&str] = &["analytics:conversationAggregate:view"];

/// Metric names the SDK accepts (`ConversationAggregationQuery.metrics`, SDK 269.0.0).
pub(crate) const METRICS: &[&str] = &[
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

const MS_SECOND: i64 = 1000;
const MS_DAY: i64 = 24 * 3600 * MS_SECOND;

/// A dimension a metric can be grouped (and filtered) by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dimension {
    QueueId,
    MediaType,
    UserId,
    Direction,
    Purpose,
}

impl Dimension {
    fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "queueId" => Dimension::QueueId,
            "mediaType" => Dimension::MediaType,
            "userId" => Dimension::UserId,
            "direction" => Dimension::Direction,
            "purpose" => Dimension::Purpose,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Dimension::QueueId => "queueId",
            Dimension::MediaType => "mediaType",
            Dimension::UserId => "userId",
            Dimension::Direction => "direction",
            Dimension::Purpose => "purpose",
        }
    }

    /// This dimension's value for a metric of `session`, a session of `participant`.
    fn value(self, participant: &Participant, session: &Session) -> Option<String> {
        match self {
            Dimension::QueueId => session
                .segments
                .iter()
                .find_map(|s| s.queue_id)
                .map(|id| id.to_string()),
            Dimension::MediaType => Some(session.media_type.to_string()),
            Dimension::UserId => participant.user_id.map(|id| id.to_string()),
            Dimension::Direction => Some(session.direction.to_string()),
            Dimension::Purpose => Some(participant.purpose.to_string()),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Body {
    interval: Option<String>,
    granularity: Option<String>,
    time_zone: Option<String>,
    #[serde(default)]
    group_by: Vec<String>,
    #[serde(default)]
    metrics: Vec<String>,
    filter: Option<Filter>,
    #[serde(default)]
    views: Vec<Value>,
    query_type: Option<String>,
}

/// A validated aggregate query.
#[derive(Debug)]
pub(crate) struct AggregateQuery {
    interval: (Ts, Ts),
    /// Bucket length in milliseconds (`None`: the whole interval).
    step: Option<i64>,
    group_by: Vec<Dimension>,
    metrics: BTreeSet<&'static str>,
    filter: Option<Filter>,
}

impl AggregateQuery {
    /// Validates a `ConversationAggregationQuery` body; the error is the 400's message.
    pub(crate) fn parse(body: &Value) -> Result<Self, String> {
        let body: Body = serde_json::from_value(body.clone())
            .map_err(|e| format!("Unable to parse the request body: {e}"))?;
        let interval = parse_interval(body.interval.as_deref()).map_err(|e| e.message)?;
        let step = body.granularity.as_deref().map(granularity).transpose()?;
        if let (Some(step), Some(text)) = (step, &body.granularity)
            && (interval.1.0 - interval.0.0) % step != 0
        {
            return Err(format!(
                "The interval '{}' is not a whole number of granularity '{text}' steps.",
                body.interval.unwrap_or_default()
            ));
        }
        if let Some(zone) = body.time_zone.as_deref()
            && !matches!(zone, "UTC" | "Etc/UTC" | "GMT" | "Z")
        {
            return Err(format!(
                "timeZone '{zone}' is not supported by the simulator; only UTC is."
            ));
        }
        if !body.views.is_empty() {
            return Err("views are not supported by the simulator.".into());
        }
        if let Some(kind) = body.query_type.as_deref().filter(|k| *k != "groupBy") {
            return Err(format!(
                "queryType '{kind}' is not supported by the simulator; only groupBy is."
            ));
        }
        let mut group_by = Vec::new();
        for name in &body.group_by {
            let dimension = Dimension::from_name(name).ok_or_else(|| {
                format!(
                    "groupBy dimension '{name}' is not supported; use queueId, mediaType, userId, direction or purpose."
                )
            })?;
            if !group_by.contains(&dimension) {
                group_by.push(dimension);
            }
        }
        if body.metrics.is_empty() {
            return Err("metrics must name at least one metric.".into());
        }
        let mut metrics = BTreeSet::new();
        for name in &body.metrics {
            let known = METRICS
                .iter()
                .find(|m| **m == name.as_str())
                .ok_or_else(|| format!("Unknown metric '{name}'."))?;
            metrics.insert(*known);
        }
        if let Some(filter) = &body.filter {
            filter.validate(0).map_err(|e| e.message)?;
            for predicate in filter.predicates() {
                check_predicate(predicate)?;
            }
        }
        Ok(Self {
            interval,
            step,
            group_by,
            metrics,
            filter: body.filter,
        })
    }

    /// How many buckets the query spans.
    fn buckets(&self) -> i64 {
        let (from, to) = self.interval;
        self.step.map_or(1, |step| (to.0 - from.0) / step)
    }

    /// The server's limits (`SimConfig::aggregate_max_*`); the error is the 400's message.
    pub(crate) fn check_limits(
        &self,
        max_buckets: u64,
        max_interval_days: u64,
    ) -> Result<(), String> {
        let (from, to) = self.interval;
        let max_ms = i64::try_from(max_interval_days)
            .unwrap_or(i64::MAX)
            .saturating_mul(MS_DAY);
        if to.0 - from.0 > max_ms {
            return Err(format!(
                "Query interval exceeds the maximum of {max_interval_days} days."
            ));
        }
        let buckets = self.buckets();
        if u64::try_from(buckets).unwrap_or(u64::MAX) > max_buckets {
            return Err(format!(
                "Query would return {buckets} intervals; the maximum is {max_buckets}. Use a shorter interval or a coarser granularity."
            ));
        }
        Ok(())
    }
}

/// Parses an ISO-8601 duration of weeks, days, hours, minutes and seconds (`PT30M`, `PT1H`,
/// `P1D`, `P1DT12H`, `P1W`) into milliseconds. Months and years vary in length and are not
/// supported.
fn granularity(text: &str) -> Result<i64, String> {
    let invalid = || {
        format!(
            "Invalid granularity '{text}': expected an ISO-8601 duration such as PT30M, PT1H or P1D."
        )
    };
    let rest = text.strip_prefix('P').ok_or_else(invalid)?;
    let (date, time) = match rest.split_once('T') {
        Some((_, "")) => return Err(invalid()),
        Some((date, time)) => (date, time),
        None => (rest, ""),
    };
    let mut total: i64 = 0;
    for (part, units) in [
        (date, &[('W', 7 * MS_DAY), ('D', MS_DAY)][..]),
        (
            time,
            &[
                ('H', 3600 * MS_SECOND),
                ('M', 60 * MS_SECOND),
                ('S', MS_SECOND),
            ][..],
        ),
    ] {
        let mut number = String::new();
        let mut next_unit = 0;
        for c in part.chars() {
            if c.is_ascii_digit() {
                number.push(c);
                continue;
            }
            if part == date && matches!(c, 'Y' | 'M') {
                return Err(format!(
                    "granularity '{text}' is not supported by the simulator; use weeks, days, hours, minutes or seconds."
                ));
            }
            let position = units[next_unit..]
                .iter()
                .position(|(u, _)| *u == c)
                .ok_or_else(invalid)?;
            let value: i64 = number.parse().map_err(|_| invalid())?;
            total = value
                .checked_mul(units[next_unit + position].1)
                .and_then(|v| total.checked_add(v))
                .ok_or_else(invalid)?;
            next_unit += position + 1;
            number.clear();
        }
        if !number.is_empty() {
            return Err(invalid());
        }
    }
    if total <= 0 {
        return Err(format!("granularity '{text}' must be longer than zero."));
    }
    Ok(total)
}

/// Filter dimensions of the conversation rather than of the session.
const CONVERSATION_DIMENSIONS: [&str; 2] = ["divisionId", "originatingDirection"];

fn check_predicate(predicate: &Predicate) -> Result<(), String> {
    if let Some(kind) = predicate.kind.as_deref().filter(|k| *k != "dimension") {
        return Err(format!(
            "Filter predicates of type '{kind}' are not supported by the simulator; only dimension."
        ));
    }
    let dimension = predicate.dimension.as_deref().unwrap_or_default();
    if Dimension::from_name(dimension).is_none() && !CONVERSATION_DIMENSIONS.contains(&dimension) {
        return Err(format!(
            "Filter dimension '{dimension}' is not supported by the simulator; use divisionId, originatingDirection, queueId, mediaType, userId, direction or purpose."
        ));
    }
    match predicate.operator.as_deref().unwrap_or("matches") {
        "matches" if predicate.value.is_some() => Ok(()),
        "matches" => Err(format!(
            "Filter predicate on '{dimension}' with operator matches needs a value."
        )),
        "exists" | "notExists" => Ok(()),
        other => Err(format!(
            "Filter operator '{other}' is not supported by the simulator; use matches, exists or notExists."
        )),
    }
}

/// What a (validated) predicate says of a metric of `session`.
fn predicate_holds(
    predicate: &Predicate,
    conversation: &Conversation,
    participant: &Participant,
    session: &Session,
) -> Option<bool> {
    let dimension = predicate.dimension.as_deref()?;
    let values: Vec<String> = match dimension {
        "divisionId" => conversation
            .division_ids
            .iter()
            .map(|d| d.to_string())
            .collect(),
        "originatingDirection" => vec![conversation.originating_direction.to_string()],
        other => Dimension::from_name(other)?
            .value(participant, session)
            .into_iter()
            .collect(),
    };
    Some(match predicate.operator.as_deref().unwrap_or("matches") {
        "exists" => !values.is_empty(),
        "notExists" => values.is_empty(),
        _ => {
            let wanted = predicate.value.as_deref().unwrap_or_default();
            values.iter().any(|v| v.eq_ignore_ascii_case(wanted))
        }
    })
}

/// A metric's `StatisticalSummary` in one bucket of one group.
#[derive(Debug, Clone, Copy, Default)]
struct Summary {
    count: i64,
    sum: i64,
    min: i64,
    max: i64,
}

impl Summary {
    fn add(&mut self, metric: &str, value: i64) {
        if metric.starts_with('n') {
            self.count += value;
            return;
        }
        if self.count == 0 {
            (self.min, self.max) = (value, value);
        }
        self.count += 1;
        self.sum += value;
        self.min = self.min.min(value);
        self.max = self.max.max(value);
    }

    fn to_json(self, metric: &str) -> Value {
        if metric.starts_with('n') {
            json!({ "count": self.count })
        } else {
            json!({ "count": self.count, "sum": self.sum, "min": self.min, "max": self.max })
        }
    }
}

/// A group's values in `groupBy` order (`None`: the metric's session has no such value).
type GroupKey = Vec<Option<String>>;

impl Org {
    /// The answer to `query` as of `now`, counting only conversations that carry one of
    /// `visible` divisions (`None`: all). See the module docs for the semantics.
    pub(crate) fn aggregate_at(
        &self,
        query: &AggregateQuery,
        now: Ts,
        visible: Option<&HashSet<String>>,
    ) -> Value {
        let (from, to) = query.interval;
        let step = query.step.unwrap_or(to.0 - from.0);
        let mut groups: BTreeMap<GroupKey, BTreeMap<i64, BTreeMap<&'static str, Summary>>> =
            BTreeMap::new();
        // Conversations last under a day, so metrics emitted in the interval belong to
        // conversations started from the day before it up to its end (or now).
        let last = to.min(now.plus(1)).plus(-1);
        let first_day = date_of(from)
            .checked_sub_days(Days::new(1))
            .unwrap_or(date_of(from));
        let mut date = first_day;
        while last >= from && date <= date_of(last) {
            for conversation in self.day(date).iter() {
                let start = conversation.conversation_start;
                if start > now
                    || start >= to
                    || conversation.conversation_end.is_some_and(|end| end < from)
                    || !conversation.visible_in(visible)
                {
                    continue;
                }
                let Some(record) = conversation.render(now, Attributes::Omit) else {
                    continue;
                };
                for participant in &record.participants {
                    for session in &participant.sessions {
                        let kept = query.filter.as_ref().is_none_or(|f| {
                            f.evaluate(&|p| predicate_holds(p, &record, participant, session))
                                != Some(false)
                        });
                        if !kept {
                            continue;
                        }
                        for metric in &session.metrics {
                            let at = metric.emit_date;
                            if at < from || at >= to || !query.metrics.contains(metric.name) {
                                continue;
                            }
                            let key: GroupKey = query
                                .group_by
                                .iter()
                                .map(|d| d.value(participant, session))
                                .collect();
                            let bucket = (at.0 - from.0) / step;
                            let name = metric.name;
                            groups
                                .entry(key)
                                .or_default()
                                .entry(bucket)
                                .or_default()
                                .entry(name)
                                .or_default()
                                .add(name, metric.value);
                        }
                    }
                }
            }
            let Some(next) = date.checked_add_days(Days::new(1)) else {
                break;
            };
            date = next;
        }
        let results: Vec<Value> = groups
            .into_iter()
            .map(|(key, buckets)| {
                let group: Map<String, Value> = query
                    .group_by
                    .iter()
                    .zip(key)
                    .filter_map(|(d, v)| Some((d.name().to_string(), Value::String(v?))))
                    .collect();
                let data: Vec<Value> = buckets
                    .into_iter()
                    .map(|(bucket, metrics)| {
                        let start = from.plus(bucket * step);
                        let interval = format!(
                            "{}/{}",
                            format_instant(start.to_datetime()),
                            format_instant(start.plus(step).to_datetime())
                        );
                        let metrics: Vec<Value> = metrics
                            .into_iter()
                            .map(|(name, stats)| {
                                json!({ "metric": name, "stats": stats.to_json(name) })
                            })
                            .collect();
                        json!({ "interval": interval, "metrics": metrics })
                    })
                    .collect();
                json!({ "group": group, "data": data })
            })
            .collect();
        if results.is_empty() {
            json!({})
        } else {
            json!({ "results": results })
        }
    }
}

/// `POST /api/v2/analytics/conversations/aggregates/query`.
pub(crate) async fn query(
    State(state): State<Arc<AppState>>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    access::require(&state, AGGREGATE_PERMISSIONS)?;
    let body: Value = parse_json(&body)?;
    let query = AggregateQuery::parse(&body).map_err(ApiError::bad_request)?;
    query
        .check_limits(
            state.config.aggregate_max_buckets,
            state.config.aggregate_max_interval_days,
        )
        .map_err(ApiError::bad_request)?;
    let visible = access::visible_divisions(&state, AGGREGATE_PERMISSIONS);
    Ok(Json(state.org.aggregate_at(
        &query,
        state.now(),
        visible.as_ref(),
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn granularities_parse_to_milliseconds() {
        assert_eq!(granularity("PT30M"), Ok(30 * 60 * 1000));
        assert_eq!(granularity("PT1H"), Ok(3600 * 1000));
        assert_eq!(granularity("P1D"), Ok(MS_DAY));
        assert_eq!(granularity("P1DT12H"), Ok(MS_DAY * 3 / 2));
        assert_eq!(granularity("P1W"), Ok(7 * MS_DAY));
        assert_eq!(granularity("PT90S"), Ok(90 * 1000));
        for bad in ["30M", "PT", "P", "PT0M", "PTM", "PT1M1H", "P1H", "PT5X"] {
            assert!(granularity(bad).is_err(), "{bad}");
        }
        assert!(granularity("P1M").unwrap_err().contains("not supported"));
    }

    fn parse(body: Value) -> Result<AggregateQuery, String> {
        AggregateQuery::parse(&body)
    }

    #[test]
    fn bodies_are_validated_with_reasons() {
        let ok = json!({"interval": "2024-03-01T00:00:00Z/2024-03-02T00:00:00Z", "metrics": ["nOffered"]});
        let query = parse(ok.clone()).unwrap();
        assert_eq!(query.buckets(), 1);
        let with = |key: &str, value: Value| {
            let mut body = ok.clone();
            body[key] = value;
            parse(body).err().unwrap_or_default()
        };
        assert!(with("metrics", json!(["nFlow"])).contains("Unknown metric 'nFlow'"));
        assert!(with("metrics", json!([])).contains("metrics"));
        assert!(with("groupBy", json!(["wrapUpCode"])).contains("'wrapUpCode'"));
        assert!(with("timeZone", json!("Europe/Paris")).contains("only UTC"));
        assert!(with("granularity", json!("PT7M")).contains("whole number"));
        assert!(with("interval", json!("yesterday")).contains("Invalid interval"));
        let filter = json!({"type": "and", "predicates": [{"dimension": "ani", "value": "x"}]});
        assert!(with("filter", filter).contains("'ani'"));
    }

    #[test]
    fn limits_name_the_numbers() {
        let query = parse(json!({
            "interval": "2024-03-01T00:00:00Z/2024-03-03T00:00:00Z",
            "granularity": "PT15M",
            "metrics": ["tHandle"],
        }))
        .unwrap();
        assert_eq!(query.check_limits(192, 31), Ok(()));
        assert_eq!(
            query.check_limits(100, 31),
            Err("Query would return 192 intervals; the maximum is 100. Use a shorter interval or a coarser granularity.".into())
        );
        assert_eq!(
            query.check_limits(1000, 1),
            Err("Query interval exceeds the maximum of 1 days.".into())
        );
    }

    #[test]
    fn stats_follow_the_metric_family() {
        let mut t = Summary::default();
        t.add("tHandle", 5);
        t.add("tHandle", 3);
        assert_eq!(
            t.to_json("tHandle"),
            json!({"count": 2, "sum": 8, "min": 3, "max": 5})
        );
        let mut n = Summary::default();
        n.add("nOffered", 1);
        n.add("nOffered", 2);
        assert_eq!(n.to_json("nOffered"), json!({"count": 3}));
    }
}
