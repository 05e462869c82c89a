//! Parsing and validating `ConversationQuery` / `AsyncConversationQuery` bodies, and the
//! subset of the filter grammar the simulator understands (genesys-api.md §4.1).
//!
//! Every problem with a body becomes a 400 `bad.request` whose message names what is wrong,
//! as the platform's analytics validation does.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::error::ApiError;
use crate::model::{Conversation, Ts};
use crate::org::Selected;

/// The platform refuses to page a single query past this many results.
pub(crate) const PAGINATION_CAP: u64 = 100_000;

/// The sync query's default `paging.pageSize`.
const DEFAULT_QUERY_PAGE_SIZE: u64 = 25;

/// A validated sync query.
#[derive(Debug)]
pub(crate) struct DetailsQuery {
    pub(crate) interval: (Ts, Ts),
    pub(crate) selection: Selection,
    pub(crate) page_size: u64,
    pub(crate) page_number: u64,
}

/// A validated job submission.
#[derive(Debug)]
pub(crate) struct JobQuery {
    pub(crate) interval: (Ts, Ts),
    pub(crate) selection: Selection,
    pub(crate) start_of_day_matching: bool,
    pub(crate) limit: Option<usize>,
}

/// Filters and ordering shared by both kinds of query.
#[derive(Debug)]
pub(crate) struct Selection {
    filters: Vec<Filter>,
    descending: bool,
    by_end: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct QueryBody {
    interval: Option<String>,
    paging: Option<Paging>,
    order: Option<String>,
    order_by: Option<String>,
    #[serde(default)]
    conversation_filters: Vec<Filter>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Paging {
    page_size: Option<i64>,
    page_number: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct JobBody {
    interval: Option<String>,
    start_of_day_interval_matching: Option<bool>,
    limit: Option<i64>,
    order: Option<String>,
    order_by: Option<String>,
    #[serde(default)]
    conversation_filters: Vec<Filter>,
}

/// `{type: and|or, predicates: [...], clauses: [{type, predicates}]}`; the aggregate query's
/// `filter` has the same shape.
#[derive(Debug, Deserialize)]
pub(crate) struct Filter {
    #[serde(rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    predicates: Vec<Predicate>,
    #[serde(default)]
    clauses: Vec<Filter>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Predicate {
    #[serde(rename = "type")]
    pub(crate) kind: Option<String>,
    pub(crate) dimension: Option<String>,
    pub(crate) operator: Option<String>,
    pub(crate) value: Option<String>,
}

impl DetailsQuery {
    pub(crate) fn parse(body: &[u8], max_page_size: u32) -> Result<Self, ApiError> {
        let body: QueryBody = parse_json(body)?;
        let interval = parse_interval(body.interval.as_deref())?;
        let selection = Selection::new(
            body.conversation_filters,
            body.order.as_deref(),
            body.order_by.as_deref(),
        )?;
        let (size, number) = body
            .paging
            .map_or((None, None), |p| (p.page_size, p.page_number));
        let page_size = size.unwrap_or(DEFAULT_QUERY_PAGE_SIZE as i64);
        let page_number = number.unwrap_or(1);
        if page_size < 1 || page_size > i64::from(max_page_size) {
            return Err(ApiError::bad_request(format!(
                "paging.pageSize must be between 1 and {max_page_size}; got {page_size}."
            )));
        }
        if page_number < 1 {
            return Err(ApiError::bad_request(format!(
                "paging.pageNumber must be at least 1; got {page_number}."
            )));
        }
        let (page_size, page_number) = (page_size as u64, page_number as u64);
        if page_size.saturating_mul(page_number) > PAGINATION_CAP {
            return Err(ApiError::bad_request(format!(
                "Pagination may not exceed {PAGINATION_CAP} results."
            )));
        }
        Ok(Self {
            interval,
            selection,
            page_size,
            page_number,
        })
    }
}

impl JobQuery {
    pub(crate) fn parse(body: &[u8]) -> Result<Self, ApiError> {
        let body: JobBody = parse_json(body)?;
        let interval = parse_interval(body.interval.as_deref())?;
        let selection = Selection::new(
            body.conversation_filters,
            body.order.as_deref(),
            body.order_by.as_deref(),
        )?;
        let limit = match body.limit {
            None => None,
            Some(n) if n >= 1 => Some(n as usize),
            Some(n) => {
                return Err(ApiError::bad_request(format!(
                    "limit must be at least 1; got {n}."
                )));
            }
        };
        Ok(Self {
            interval,
            selection,
            start_of_day_matching: body.start_of_day_interval_matching.unwrap_or(false),
            limit,
        })
    }
}

pub(crate) fn parse_json<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request("A request body is required."));
    }
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("Unable to parse the request body: {e}")))
}

/// Parses an ISO-8601 `start/end` interval of two instants.
pub(crate) fn parse_interval(interval: Option<&str>) -> Result<(Ts, Ts), ApiError> {
    let interval = interval.ok_or_else(|| ApiError::bad_request("interval is required."))?;
    let invalid = |why: &str| {
        ApiError::bad_request(format!(
            "Invalid interval '{interval}': {why}. Expected '<start>/<end>' with ISO-8601 instants, e.g. 2024-03-01T00:00:00.000Z/2024-03-02T00:00:00.000Z."
        ))
    };
    let (start, end) = interval
        .split_once('/')
        .ok_or_else(|| invalid("missing '/'"))?;
    let parse = |text: &str, which: &str| {
        DateTime::parse_from_rfc3339(text.trim())
            .map(|t| Ts::from_datetime(t.with_timezone(&Utc)))
            .map_err(|e| invalid(&format!("{which} is not an instant ({e})")))
    };
    let (start, end) = (parse(start, "start")?, parse(end, "end")?);
    if end <= start {
        return Err(invalid("end is not after start"));
    }
    Ok((start, end))
}

impl Selection {
    fn new(
        filters: Vec<Filter>,
        order: Option<&str>,
        order_by: Option<&str>,
    ) -> Result<Self, ApiError> {
        for filter in &filters {
            filter.validate(0)?;
        }
        let descending = match order.unwrap_or("asc") {
            "asc" | "unordered" => false,
            "desc" => true,
            other => {
                return Err(ApiError::bad_request(format!(
                    "order must be one of asc, desc, unordered; got '{other}'."
                )));
            }
        };
        let by_end = match order_by.unwrap_or("conversationStart") {
            "conversationStart" | "segmentStart" => false,
            "conversationEnd" | "segmentEnd" => true,
            other => {
                return Err(ApiError::bad_request(format!(
                    "orderBy must be one of conversationStart, conversationEnd, segmentStart, segmentEnd; got '{other}'."
                )));
            }
        };
        Ok(Self {
            filters,
            descending,
            by_end,
        })
    }

    /// Whether the conversation, as it looks at `now`, passes the filters.
    pub(crate) fn matches(&self, conversation: &Conversation, now: Ts) -> bool {
        self.filters
            .iter()
            .all(|f| f.matches(conversation, now) != Some(false))
    }

    /// Puts selected conversations, given sorted by (conversationStart, conversationId), in
    /// the requested order.
    pub(crate) fn order(&self, selected: &mut [Selected]) {
        if self.by_end {
            // Running conversations have no end yet and sort last.
            selected.sort_by_key(|s| (s.ended.unwrap_or(Ts(i64::MAX)), s.key));
        }
        if self.descending {
            selected.reverse();
        }
    }
}

/// The conversation's end if it has ended by `now`.
fn ended_by(conversation: &Conversation, now: Ts) -> Option<Ts> {
    conversation.conversation_end.filter(|end| *end <= now)
}

impl Filter {
    /// Checks the filter's shape: `and`/`or` types, clauses at most two levels deep.
    pub(crate) fn validate(&self, depth: usize) -> Result<(), ApiError> {
        match self.kind.as_deref() {
            None | Some("and" | "or") => {}
            Some(other) => {
                return Err(ApiError::bad_request(format!(
                    "Filter type must be 'and' or 'or'; got '{other}'."
                )));
            }
        }
        if depth > 1 && !self.clauses.is_empty() {
            return Err(ApiError::bad_request(
                "Filters may not nest clauses more than two levels deep.",
            ));
        }
        self.clauses.iter().try_for_each(|c| c.validate(depth + 1))
    }

    /// `Some(result)`, or `None` when no predicate or clause in it is understood (unknown
    /// predicates are ignored rather than rejected).
    fn matches(&self, conversation: &Conversation, now: Ts) -> Option<bool> {
        self.evaluate(&|p| p.matches(conversation, now))
    }

    /// Every predicate, those of its clauses included.
    pub(crate) fn predicates(&self) -> Vec<&Predicate> {
        let mut out: Vec<&Predicate> = self.predicates.iter().collect();
        for clause in &self.clauses {
            out.extend(clause.predicates());
        }
        out
    }

    /// Combines what `predicate` says of each predicate (`None`: not understood, left out) by
    /// the filter's `and`/`or`; `None` when nothing in it is understood.
    pub(crate) fn evaluate(&self, predicate: &dyn Fn(&Predicate) -> Option<bool>) -> Option<bool> {
        let results: Vec<bool> = self
            .predicates
            .iter()
            .filter_map(predicate)
            .chain(self.clauses.iter().filter_map(|c| c.evaluate(predicate)))
            .collect();
        if results.is_empty() {
            return None;
        }
        Some(match self.kind.as_deref() {
            Some("or") => results.contains(&true),
            _ => !results.contains(&false),
        })
    }
}

impl Predicate {
    fn matches(&self, conversation: &Conversation, now: Ts) -> Option<bool> {
        if self.kind.as_deref().is_some_and(|k| k != "dimension") {
            return None;
        }
        let operator = self.operator.as_deref().unwrap_or("matches");
        let value = self.value.as_deref();
        match (self.dimension.as_deref()?, operator) {
            ("divisionId", "matches") => Some(value.is_some_and(|v| {
                conversation
                    .division_ids
                    .iter()
                    .any(|d| d.eq_ignore_ascii_case(v))
            })),
            ("conversationEnd", "exists") => Some(ended_by(conversation, now).is_some()),
            ("conversationEnd", "notExists") => Some(ended_by(conversation, now).is_none()),
            ("conversationId", "matches") => {
                Some(value.is_some_and(|v| conversation.conversation_id.to_string() == v))
            }
            ("originatingDirection", "matches") => {
                Some(value.is_some_and(|v| conversation.originating_direction == v))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_intervals_with_a_reason() {
        for bad in [
            "2024-03-01T00:00:00Z",
            "2024-03-01/2024-03-02",
            "2024-03-02T00:00:00Z/2024-03-01T00:00:00Z",
        ] {
            let err = parse_interval(Some(bad)).unwrap_err();
            assert!(err.message.contains("Invalid interval"), "{}", err.message);
        }
        assert!(parse_interval(None).is_err());
        let (start, end) =
            parse_interval(Some("2024-03-01T00:00:00.000Z/2024-03-01T01:00:00+00:00")).unwrap();
        assert_eq!(end.0 - start.0, 3_600_000);
    }

    #[test]
    fn validates_paging() {
        let q = DetailsQuery::parse(
            br#"{"interval":"2024-03-01T00:00:00Z/2024-03-02T00:00:00Z"}"#,
            100,
        )
        .unwrap();
        assert_eq!((q.page_size, q.page_number), (25, 1));
        let too_big = DetailsQuery::parse(
            br#"{"interval":"2024-03-01T00:00:00Z/2024-03-02T00:00:00Z","paging":{"pageSize":101}}"#,
            100,
        )
        .unwrap_err();
        assert!(too_big.message.contains("100"));
        let past_cap = DetailsQuery::parse(
            br#"{"interval":"2024-03-01T00:00:00Z/2024-03-02T00:00:00Z","paging":{"pageSize":100,"pageNumber":1001}}"#,
            100,
        )
        .unwrap_err();
        assert_eq!(
            past_cap.message,
            "Pagination may not exceed 100000 results."
        );
        assert!(DetailsQuery::parse(b"{not json", 100).is_err());
        assert!(DetailsQuery::parse(b"", 100).is_err());
    }
}
