//! The dimension listings (genesys-api.md §6): page-number listings with the platform's
//! envelope, and the teams' cursor listing.
//!
//! Page-number listings answer `{entities, pageSize, pageNumber, total, pageCount, firstUri,
//! selfUri, lastUri, nextUri, previousUri}`; the URIs are path and query relative to the API
//! host and keep every other query parameter, so a client can follow `nextUri` blindly.
//! `nextUri` is absent on the last page and `previousUri` on the first. Each endpoint has its
//! own largest `pageSize` (a larger one is a 400 naming it), and none pages past
//! [`crate::SimConfig::listing_result_cap`] results (`pageNumber × pageSize`; the platform:
//! 10,000), which is what forces a loader to split users by state and queues or wrap-up codes
//! by division.
//!
//! Objects of divisioned, permission-guarded listings (queues, wrap-up codes, teams) outside
//! the divisions the permission is granted in are left out silently, as on the platform
//! (§12). Users, skills, languages, groups and divisions need no permission and show all.

use std::collections::HashSet;
use std::sync::Arc;

use axum::Json;
use axum::extract::{RawQuery, State};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::access;
use crate::dimensions::Dataset;
use crate::error::ApiError;
use crate::server::AppState;

/// `pageSize` when a request gives none (all listings).
const DEFAULT_PAGE_SIZE: u64 = 25;

/// The query string's parameters, in order, with `pageSize`, `pageNumber` and `after` taken
/// out (they are rewritten for each URI) and the rest kept as given.
#[derive(Debug, Default)]
pub(crate) struct Params {
    page_size: Option<String>,
    page_number: Option<String>,
    after: Option<String>,
    others: Vec<(String, String)>,
}

impl Params {
    pub(crate) fn parse(raw: Option<&str>) -> Self {
        let mut params = Params::default();
        for (key, value) in form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
            let value = value.into_owned();
            match &*key {
                "pageSize" => params.page_size = Some(value),
                "pageNumber" => params.page_number = Some(value),
                "after" => params.after = Some(value),
                _ => params.others.push((key.into_owned(), value)),
            }
        }
        params
    }

    /// Every value of a (repeatable) parameter, empty ones left out.
    pub(crate) fn all(&self, name: &str) -> Vec<&str> {
        self.others
            .iter()
            .filter(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The last value of a parameter.
    fn last(&self, name: &str) -> Option<&str> {
        self.all(name).pop()
    }

    /// `pageSize`, checked against the endpoint's largest.
    fn page_size(&self, max: u64) -> Result<u64, ApiError> {
        let Some(text) = &self.page_size else {
            return Ok(DEFAULT_PAGE_SIZE.min(max));
        };
        match text.parse::<u64>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n),
            _ => Err(ApiError::bad_request(format!(
                "pageSize must be an integer between 1 and {max}; got '{text}'."
            ))),
        }
    }

    fn page_number(&self) -> Result<u64, ApiError> {
        let Some(text) = &self.page_number else {
            return Ok(1);
        };
        match text.parse::<u64>() {
            Ok(n) if n >= 1 => Ok(n),
            _ => Err(ApiError::bad_request(format!(
                "pageNumber must be an integer of at least 1; got '{text}'."
            ))),
        }
    }

    /// `path?first…&others…`: the URI of a page, keeping the other parameters.
    fn uri(&self, path: &str, first: &[(&str, String)]) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (k, v) in first {
            query.append_pair(k, v);
        }
        for (k, v) in &self.others {
            query.append_pair(k, v);
        }
        format!("{path}?{}", query.finish())
    }
}

/// How one page-number listing behaves.
pub(crate) struct Listing {
    path: std::borrow::Cow<'static, str>,
    max_page_size: u64,
    /// Whether `listing_result_cap` applies (every listing but divisions, kept as it was).
    capped: bool,
}

impl Listing {
    /// A capped listing at `path` of at most `max_page_size` per page.
    pub(crate) fn new(path: impl Into<std::borrow::Cow<'static, str>>, max_page_size: u64) -> Self {
        Listing {
            path: path.into(),
            max_page_size,
            capped: true,
        }
    }

    /// The page `params` asks for out of `entities`, in the platform's envelope.
    pub(crate) fn page(
        &self,
        state: &AppState,
        params: &Params,
        entities: &[&Value],
    ) -> Result<Json<Value>, ApiError> {
        let size = params.page_size(self.max_page_size)?;
        let number = params.page_number()?;
        let cap = state.config.listing_result_cap;
        if self.capped && size.saturating_mul(number) > cap {
            return Err(ApiError::bad_request(format!(
                "Paging may not exceed {cap} results. Narrow the query."
            )));
        }
        let total = entities.len() as u64;
        let page_count = total.div_ceil(size);
        let offset = (number - 1).saturating_mul(size);
        let page: Vec<&Value> = entities
            .iter()
            .skip(usize::try_from(offset).unwrap_or(usize::MAX))
            .take(size as usize)
            .copied()
            .collect();
        let uri = |n: u64| {
            params.uri(
                &self.path,
                &[
                    ("pageSize", size.to_string()),
                    ("pageNumber", n.to_string()),
                ],
            )
        };
        let mut body = json!({
            "entities": page,
            "pageSize": size,
            "pageNumber": number,
            "total": total,
            "pageCount": page_count,
            "firstUri": uri(1),
            "selfUri": uri(number),
            "lastUri": uri(page_count.max(1)),
        });
        if number < page_count {
            body["nextUri"] = json!(uri(number + 1));
        }
        if number > 1 {
            body["previousUri"] = json!(uri(number - 1));
        }
        Ok(Json(body))
    }
}

/// Whether an entity's `division.id` is among `ids` (`None`: any division).
fn in_divisions(entity: &Value, ids: Option<&HashSet<String>>) -> bool {
    ids.is_none_or(|ids| {
        entity["division"]["id"]
            .as_str()
            .is_some_and(|d| ids.contains(d))
    })
}

/// Entities of `dataset` that pass the `id` and `divisionId` parameters (both repeatable) and
/// lie in the divisions the client reaches (`visible`).
fn select<'a>(
    state: &'a AppState,
    dataset: Dataset,
    params: &Params,
    visible: Option<&HashSet<String>>,
) -> Vec<&'a Value> {
    let ids: HashSet<&str> = params.all("id").into_iter().collect();
    let divisions: Option<HashSet<String>> = {
        let asked = params.all("divisionId");
        (!asked.is_empty()).then(|| asked.into_iter().map(String::from).collect())
    };
    state
        .org
        .dimensions()
        .get(dataset)
        .iter()
        .filter(|e| ids.is_empty() || e["id"].as_str().is_some_and(|id| ids.contains(id)))
        .filter(|e| in_divisions(e, divisions.as_ref()) && in_divisions(e, visible))
        .collect()
}

/// `GET /api/v2/users?state=active|inactive|deleted|any` (no permission needed; default
/// `active`, so people who left only show with `deleted`, `inactive` or `any`).
pub(crate) async fn users(
    State(state): State<Arc<AppState>>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let params = Params::parse(raw.as_deref());
    let wanted = params.last("state").unwrap_or("active");
    if !matches!(wanted, "active" | "inactive" | "deleted" | "any") {
        return Err(ApiError::bad_request(format!(
            "state must be one of active, inactive, deleted, any; got '{wanted}'."
        )));
    }
    let mut users = select(&state, Dataset::Users, &params, None);
    users.retain(|u| wanted == "any" || u["state"] == wanted);
    let listing = Listing {
        path: "/api/v2/users".into(),
        max_page_size: 500,
        capped: true,
    };
    listing.page(&state, &params, &users)
}

/// Whether an endpoint needs any one of its permissions or all of them (genesys-api.md §11);
/// it decides the 403's code.
#[derive(Debug, Clone, Copy)]
enum Needs {
    Any,
    All,
}

/// A permission-guarded listing of a divisioned dataset, filtered by `divisionId`.
fn divisioned(
    state: &AppState,
    raw: Option<&str>,
    dataset: Dataset,
    (permission, needs): (&'static str, Needs),
    listing: Listing,
) -> Result<Json<Value>, ApiError> {
    match needs {
        Needs::Any => access::require(state, &[permission])?,
        Needs::All => access::require_all(state, &[permission])?,
    }
    let params = Params::parse(raw);
    let visible = access::visible_divisions(state, &[permission]);
    let entities = select(state, dataset, &params, visible.as_ref());
    listing.page(state, &params, &entities)
}

/// `GET /api/v2/routing/queues` (`routing:queue:view`; `divisionId` repeatable).
pub(crate) async fn queues(
    State(state): State<Arc<AppState>>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let listing = Listing {
        path: "/api/v2/routing/queues".into(),
        max_page_size: 500,
        capped: true,
    };
    divisioned(
        &state,
        raw.as_deref(),
        Dataset::Queues,
        ("routing:queue:view", Needs::Any),
        listing,
    )
}

/// `GET /api/v2/routing/wrapupcodes` (ALL of `routing:wrapupCode:view`, so a 403 is
/// `missing.permissions`; `divisionId` repeatable).
pub(crate) async fn wrap_up_codes(
    State(state): State<Arc<AppState>>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let listing = Listing {
        path: "/api/v2/routing/wrapupcodes".into(),
        max_page_size: 100,
        capped: true,
    };
    divisioned(
        &state,
        raw.as_deref(),
        Dataset::WrapUpCodes,
        ("routing:wrapupCode:view", Needs::All),
        listing,
    )
}

/// `GET /api/v2/routing/skills` (`routing:skill:view`).
pub(crate) async fn skills(
    State(state): State<Arc<AppState>>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    access::require(&state, &["routing:skill:view"])?;
    undivisioned(
        &state,
        raw.as_deref(),
        Dataset::Skills,
        "/api/v2/routing/skills",
    )
}

/// `GET /api/v2/routing/languages` (no permission needed).
pub(crate) async fn languages(
    State(state): State<Arc<AppState>>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    undivisioned(
        &state,
        raw.as_deref(),
        Dataset::Languages,
        "/api/v2/routing/languages",
    )
}

/// `GET /api/v2/groups` (no permission needed).
pub(crate) async fn groups(
    State(state): State<Arc<AppState>>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    undivisioned(&state, raw.as_deref(), Dataset::Groups, "/api/v2/groups")
}

/// A listing of at most 100 per page over every entity of `dataset`.
fn undivisioned(
    state: &AppState,
    raw: Option<&str>,
    dataset: Dataset,
    path: &'static str,
) -> Result<Json<Value>, ApiError> {
    let params = Params::parse(raw);
    let entities = select(state, dataset, &params, None);
    Listing::new(path, 100).page(state, &params, &entities)
}

/// `GET /api/v2/authorization/divisions`: every division of the org (no permission needed).
/// Neither a largest page size nor the result cap applies, as before this module existed.
pub(crate) async fn divisions(
    State(state): State<Arc<AppState>>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let params = Params::parse(raw.as_deref());
    let entities = select(&state, Dataset::Divisions, &params, None);
    let listing = Listing {
        path: "/api/v2/authorization/divisions".into(),
        max_page_size: u64::MAX,
        capped: false,
    };
    listing.page(&state, &params, &entities)
}

/// Largest `pageSize` of the teams listing.
const MAX_TEAMS_PAGE_SIZE: u64 = 100;

/// The opaque `after` cursor pointing at `offset`.
fn cursor(offset: usize) -> String {
    URL_SAFE_NO_PAD.encode(format!("teams:{offset}"))
}

/// The offset an `after` cursor points at, if it is one [`cursor`] made for `len` entities.
fn offset_of(after: &str, len: usize) -> Option<usize> {
    let decoded = String::from_utf8(URL_SAFE_NO_PAD.decode(after).ok()?).ok()?;
    let offset: usize = decoded.strip_prefix("teams:")?.parse().ok()?;
    (offset < len && cursor(offset) == after).then_some(offset)
}

/// `GET /api/v2/teams?pageSize=&after=` (`groups:team:view`): a cursor listing,
/// `{entities, nextUri, selfUri}`, whose `nextUri` carries the next page's opaque `after`
/// cursor and is absent on the last page. A cursor the server did not issue is a 400.
pub(crate) async fn teams(
    State(state): State<Arc<AppState>>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    const PERMISSION: &str = "groups:team:view";
    access::require(&state, &[PERMISSION])?;
    let params = Params::parse(raw.as_deref());
    let size = params.page_size(MAX_TEAMS_PAGE_SIZE)? as usize;
    let visible = access::visible_divisions(&state, &[PERMISSION]);
    let teams = select(&state, Dataset::Teams, &params, visible.as_ref());
    let offset = match params.after.as_deref().filter(|a| !a.is_empty()) {
        None => 0,
        Some(after) => offset_of(after, teams.len())
            .ok_or_else(|| ApiError::bad_request(format!("Invalid after cursor '{after}'.")))?,
    };
    let end = (offset + size).min(teams.len());
    let uri = |after: Option<String>| {
        let mut first = vec![("pageSize", size.to_string())];
        first.extend(after.map(|a| ("after", a)));
        params.uri("/api/v2/teams", &first)
    };
    let mut body = json!({
        "entities": &teams[offset..end],
        "selfUri": uri(params.after.clone().filter(|a| !a.is_empty())),
    });
    if end < teams.len() {
        body["nextUri"] = json!(uri(Some(cursor(end))));
    }
    Ok(Json(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_keep_other_parameters_in_order() {
        let params = Params::parse(Some("state=any&pageSize=10&divisionId=a%20b&pageNumber=2"));
        assert_eq!(params.page_size(500).unwrap(), 10);
        assert_eq!(params.page_number().unwrap(), 2);
        assert_eq!(
            params.uri(
                "/x",
                &[("pageSize", "10".into()), ("pageNumber", "3".into())]
            ),
            "/x?pageSize=10&pageNumber=3&state=any&divisionId=a+b"
        );
        assert_eq!(params.all("divisionId"), ["a b"]);
    }

    #[test]
    fn page_size_and_number_are_checked() {
        let too_big = Params::parse(Some("pageSize=101"))
            .page_size(100)
            .unwrap_err();
        assert_eq!(
            too_big.message,
            "pageSize must be an integer between 1 and 100; got '101'."
        );
        assert!(Params::parse(Some("pageSize=0")).page_size(100).is_err());
        assert!(Params::parse(Some("pageNumber=0")).page_number().is_err());
        assert_eq!(Params::parse(None).page_size(100).unwrap(), 25);
    }

    #[test]
    fn cursors_round_trip_and_forgeries_are_refused() {
        assert_eq!(offset_of(&cursor(3), 6), Some(3));
        assert_eq!(offset_of(&cursor(6), 6), None, "past the end");
        assert_eq!(offset_of("bogus", 6), None);
        assert_eq!(offset_of(&URL_SAFE_NO_PAD.encode("teams:03"), 6), None);
    }
}
