//! End-to-end tests of the routes, driven through the router with `tower::ServiceExt::oneshot`
//! (plus one over a real socket), checking the platform rules the loader depends on.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::server::{AppState, router};
use crate::{Org, Sim, SimConfig};

const QUERY: &str = "/api/v2/analytics/conversations/details/query";
const JOBS: &str = "/api/v2/analytics/conversations/details/jobs";

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

fn config() -> SimConfig {
    SimConfig {
        now: Some(at("2024-03-20T12:00:00Z")),
        data_availability: at("2024-03-19T00:00:00Z"),
        ..SimConfig::default()
    }
}

struct Client {
    app: Router,
    state: Arc<AppState>,
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
}

impl Client {
    fn new(config: SimConfig) -> Self {
        let state = Arc::new(AppState::new(config));
        Self {
            app: router(Arc::clone(&state)),
            state,
        }
    }

    async fn send(&self, request: Request<Body>) -> Reply {
        let response = self.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = to_bytes(response.into_body(), usize::MAX).await.unwrap();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap()
        };
        Reply {
            status,
            headers,
            body,
        }
    }

    async fn token_with(&self, id: &str, secret: &str, grant: &str) -> Reply {
        let basic = STANDARD.encode(format!("{id}:{secret}"));
        let request = Request::post("/oauth/token")
            .header(header::AUTHORIZATION, format!("Basic {basic}"))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!("grant_type={grant}")))
            .unwrap();
        self.send(request).await
    }

    async fn token(&self) -> String {
        let secret = self.state.config.client_secret.get();
        let reply = self
            .token_with(&self.state.config.client_id, &secret, "client_credentials")
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        reply.body["access_token"].as_str().unwrap().to_string()
    }

    async fn api(&self, token: &str, method: Method, uri: &str, body: Option<Value>) -> Reply {
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
            .unwrap();
        self.send(request).await
    }

    /// Submits a job, polls it to FULFILLED and returns every conversation id it yields.
    async fn job_ids(&self, token: &str, body: Value) -> Vec<String> {
        let submitted = self.api(token, Method::POST, JOBS, Some(body)).await;
        assert_eq!(submitted.status, StatusCode::ACCEPTED, "{}", submitted.body);
        let job = submitted.body["jobId"].as_str().unwrap().to_string();
        loop {
            let status = self
                .api(token, Method::GET, &format!("{JOBS}/{job}"), None)
                .await;
            if status.body["state"] == "FULFILLED" {
                break;
            }
        }
        let mut ids = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let uri = match &cursor {
                Some(c) => format!("{JOBS}/{job}/results?pageSize=50&cursor={c}"),
                None => format!("{JOBS}/{job}/results?pageSize=50"),
            };
            let page = self.api(token, Method::GET, &uri, None).await;
            assert_eq!(page.status, StatusCode::OK, "{}", page.body);
            for c in page.body["conversations"].as_array().unwrap() {
                ids.push(c["conversationId"].as_str().unwrap().to_string());
            }
            match page.body["cursor"].as_str() {
                Some(c) => cursor = Some(c.to_string()),
                None => return ids,
            }
        }
    }

    /// Pages the sync query to the end and returns every conversation id in order.
    async fn query_ids(&self, token: &str, interval: &str) -> Vec<String> {
        let mut ids = Vec::new();
        for page in 1.. {
            let body =
                json!({"interval": interval, "paging": {"pageSize": 100, "pageNumber": page}});
            let reply = self.api(token, Method::POST, QUERY, Some(body)).await;
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
            let Some(conversations) = reply.body["conversations"].as_array() else {
                return ids;
            };
            for c in conversations {
                ids.push(c["conversationId"].as_str().unwrap().to_string());
            }
        }
        unreachable!()
    }
}

/// A conversation of the default org that starts on 2024-03-10 and ends on 2024-03-11.
fn midnight_spanner() -> Value {
    let org = Org::new(42, 120, at("2024-03-20T12:00:00Z"));
    org.conversations_started_in(at("2024-03-10T00:00:00Z"), at("2024-03-11T00:00:00Z"))
        .into_iter()
        .find(|c| {
            c["conversationEnd"]
                .as_str()
                .is_some_and(|end| end.starts_with("2024-03-11"))
        })
        .expect("a conversation spanning midnight")
}

#[tokio::test]
async fn query_and_jobs_differ_on_a_midnight_spanning_conversation() {
    let client = Client::new(config());
    let token = client.token().await;
    let spanner = midnight_spanner();
    let id = spanner["conversationId"].as_str().unwrap().to_string();

    // The sync query only returns conversations started on a day the interval touches.
    let next_day = client
        .query_ids(&token, "2024-03-11T00:00:00.000Z/2024-03-11T01:00:00.000Z")
        .await;
    assert!(!next_day.contains(&id));
    let both_days = client
        .query_ids(&token, "2024-03-10T23:00:00.000Z/2024-03-11T01:00:00.000Z")
        .await;
    assert!(both_days.contains(&id));

    // A job returns every conversation overlapping the interval, unless asked for
    // start-of-day matching.
    let interval = "2024-03-11T00:00:00.000Z/2024-03-11T01:00:00.000Z";
    let overlap = client.job_ids(&token, json!({"interval": interval})).await;
    assert!(overlap.contains(&id));
    let start_of_day = client
        .job_ids(
            &token,
            json!({"interval": interval, "startOfDayIntervalMatching": true}),
        )
        .await;
    assert!(!start_of_day.contains(&id));
    assert_eq!(start_of_day, next_day);
}

#[tokio::test]
async fn query_pages_end_with_a_page_without_conversations() {
    let client = Client::new(config());
    let token = client.token().await;
    let interval = "2024-03-05T00:00:00.000Z/2024-03-06T00:00:00.000Z";
    let mut seen = Vec::new();
    let mut total_hits = None;
    for page in 1..20 {
        let body = json!({"interval": interval, "paging": {"pageSize": 25, "pageNumber": page}});
        let reply = client.api(&token, Method::POST, QUERY, Some(body)).await;
        assert_eq!(reply.status, StatusCode::OK);
        total_hits = reply.body["totalHits"].as_u64();
        match reply.body.get("conversations") {
            Some(list) => {
                let list = list.as_array().unwrap();
                assert!(!list.is_empty());
                for c in list {
                    assert!(c["participants"][0].get("attributes").is_none());
                    seen.push(c["conversationStart"].as_str().unwrap().to_string());
                }
            }
            None => break,
        }
    }
    assert_eq!(Some(seen.len() as u64), total_hits);
    assert_eq!(seen.len(), 120, "only conversations started that day");
    assert!(seen.windows(2).all(|w| w[0] <= w[1]), "sorted by start");
    assert_eq!(
        client.state.stats.query_pages(),
        (seen.len() as u64).div_ceil(25) + 1
    );
}

#[tokio::test]
async fn duplicate_rate_repeats_the_previous_pages_last_row() {
    let client = Client::new(SimConfig {
        duplicate_rate: 1.0,
        ..config()
    });
    let token = client.token().await;
    let interval = "2024-03-05T00:00:00.000Z/2024-03-06T00:00:00.000Z";
    let ids = client.query_ids(&token, interval).await;
    let unique: std::collections::BTreeSet<_> = ids.iter().collect();
    assert!(ids.len() > unique.len());
    assert_eq!(ids[99], ids[100]);
}

#[tokio::test]
async fn paging_past_100000_results_is_a_400() {
    let client = Client::new(config());
    let token = client.token().await;
    let body = json!({
        "interval": "2024-03-05T00:00:00.000Z/2024-03-06T00:00:00.000Z",
        "paging": {"pageSize": 100, "pageNumber": 1001},
    });
    let reply = client.api(&token, Method::POST, QUERY, Some(body)).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        reply.body["message"],
        "Pagination may not exceed 100000 results."
    );
    assert_eq!(reply.body["code"], "bad.request");
    assert_eq!(reply.body["status"], 400);
    assert_eq!(
        reply.body["contextId"].as_str(),
        reply.headers["inin-correlation-id"].to_str().ok()
    );

    let too_big = json!({"interval": "2024-03-05T00:00:00Z/2024-03-06T00:00:00Z", "paging": {"pageSize": 200}});
    let reply = client.api(&token, Method::POST, QUERY, Some(too_big)).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(reply.body["message"].as_str().unwrap().contains("100"));

    let malformed = json!({"interval": "yesterday"});
    let reply = client
        .api(&token, Method::POST, QUERY, Some(malformed))
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(reply.body["message"].as_str().unwrap().contains("interval"));
}

#[tokio::test]
async fn expired_tokens_are_rejected() {
    let client = Client::new(SimConfig {
        token_lifetime: Duration::from_millis(300),
        ..config()
    });
    let token = client.token().await;
    let me = client
        .api(&token, Method::GET, "/api/v2/tokens/me", None)
        .await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body["OAuthClient"]["id"], "sim-client");
    assert_eq!(me.headers["inin-ratelimit-allowed"], "300");
    assert_eq!(me.headers["inin-ratelimit-count"], "1");
    tokio::time::sleep(Duration::from_millis(400)).await;
    let expired = client
        .api(&token, Method::GET, "/api/v2/tokens/me", None)
        .await;
    assert_eq!(expired.status, StatusCode::UNAUTHORIZED);
    assert_eq!(expired.body["code"], "bad.credentials");
    assert_eq!(expired.body["message"], "Invalid login credentials.");
    let missing = client
        .send(
            Request::get("/api/v2/tokens/me")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(missing.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn rotating_the_secret_invalidates_the_old_one_but_not_issued_tokens() {
    let client = Client::new(config());
    let token = client.token().await;
    client.state.config.client_secret.set("rotated");
    let old = client
        .token_with("sim-client", "sim-secret", "client_credentials")
        .await;
    assert_eq!(old.status, StatusCode::UNAUTHORIZED);
    assert_eq!(old.body["error"], "invalid_client");
    assert_eq!(old.body["error_description"], "authentication failed");
    let new = client
        .token_with("sim-client", "rotated", "client_credentials")
        .await;
    assert_eq!(new.status, StatusCode::OK);
    assert_eq!(new.body["token_type"], "bearer");
    assert_eq!(new.body["expires_in"], 86_400);
    let me = client
        .api(&token, Method::GET, "/api/v2/tokens/me", None)
        .await;
    assert_eq!(me.status, StatusCode::OK);

    let unknown = client
        .token_with("someone", "rotated", "client_credentials")
        .await;
    assert_eq!(unknown.body["description"], "client not found");
    let grant = client.token_with("sim-client", "rotated", "password").await;
    assert_eq!(grant.status, StatusCode::BAD_REQUEST);
    assert_eq!(grant.body["error"], "unsupported_grant_type");
    let garbage = client
        .send(
            Request::post("/oauth/token")
                .header(header::AUTHORIZATION, "Basic !!!")
                .body(Body::from("grant_type=client_credentials"))
                .unwrap(),
        )
        .await;
    assert_eq!(garbage.status, StatusCode::UNAUTHORIZED);
    assert_eq!(garbage.body["error"], "invalid_client");
}

#[tokio::test]
async fn job_lifecycle_follows_the_platform() {
    let client = Client::new(config());
    let token = client.token().await;
    let availability = client
        .api(&token, Method::GET, &format!("{JOBS}/availability"), None)
        .await;
    assert_eq!(availability.status, StatusCode::OK);
    assert_eq!(
        availability.body["dataAvailabilityDate"],
        "2024-03-19T00:00:00.000Z"
    );

    let body = json!({"interval": "2024-03-01T00:00:00Z/2024-03-03T00:00:00Z"});
    let job = client.api(&token, Method::POST, JOBS, Some(body)).await;
    let id = job.body["jobId"].as_str().unwrap().to_string();
    let status_uri = format!("{JOBS}/{id}");
    let results_uri = format!("{JOBS}/{id}/results");
    let early = client.api(&token, Method::GET, &results_uri, None).await;
    assert_eq!(early.status, StatusCode::BAD_REQUEST);
    let mut states = Vec::new();
    for _ in 0..3 {
        let status = client.api(&token, Method::GET, &status_uri, None).await;
        states.push(status.body["state"].as_str().unwrap().to_string());
    }
    assert_eq!(states, ["QUEUED", "PENDING", "FULFILLED"]);

    let first = client.api(&token, Method::GET, &results_uri, None).await;
    assert_eq!(first.status, StatusCode::OK);
    let conversations = first.body["conversations"].as_array().unwrap();
    assert_eq!(conversations.len(), 100);
    assert!(conversations[0]["participants"][0]["attributes"].is_object());
    assert!(first.body["cursor"].is_string());
    let bad = client
        .api(
            &token,
            Method::GET,
            &format!("{results_uri}?cursor=bogus"),
            None,
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let huge = client
        .api(
            &token,
            Method::GET,
            &format!("{results_uri}?pageSize=5000"),
            None,
        )
        .await;
    assert_eq!(huge.status, StatusCode::BAD_REQUEST);

    let deleted = client.api(&token, Method::DELETE, &status_uri, None).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let gone = client.api(&token, Method::GET, &status_uri, None).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert_eq!(gone.body["code"], "not.found");

    let stats = client.state.stats.by_path();
    assert_eq!(stats[&format!("GET {JOBS}/{{jobId}}")], 4);
    assert_eq!(stats[&format!("GET {JOBS}/availability")], 1);
    assert_eq!(stats["POST /oauth/token"], 1);
}

#[tokio::test]
async fn jobs_stop_at_data_availability() {
    let client = Client::new(config());
    let token = client.token().await;
    let ids = client
        .job_ids(
            &token,
            json!({"interval": "2024-03-18T12:00:00Z/2024-03-19T12:00:00Z"}),
        )
        .await;
    let org = Org::new(42, 120, at("2024-03-20T12:00:00Z"));
    let after: Vec<_> = org
        .conversations_started_in(at("2024-03-19T00:00:00Z"), at("2024-03-19T12:00:00Z"))
        .into_iter()
        .map(|c| c["conversationId"].as_str().unwrap().to_string())
        .collect();
    assert!(!after.is_empty());
    assert!(after.iter().all(|id| !ids.contains(id)));
}

#[tokio::test]
async fn running_conversations_have_no_end_and_future_ones_do_not_exist() {
    let now = at("2024-03-20T12:00:00Z");
    let client = Client::new(config());
    let token = client.token().await;
    let body = json!({
        "interval": "2024-03-20T11:00:00Z/2024-03-20T13:00:00Z",
        "paging": {"pageSize": 100},
    });
    let reply = client.api(&token, Method::POST, QUERY, Some(body)).await;
    let conversations = reply.body["conversations"].as_array().unwrap();
    assert!(
        conversations
            .iter()
            .all(|c| at(c["conversationStart"].as_str().unwrap()) <= now)
    );
    assert!(
        conversations
            .iter()
            .any(|c| c.get("conversationEnd").is_none())
    );
    let ended = json!({
        "interval": "2024-03-20T11:00:00Z/2024-03-20T13:00:00Z",
        "paging": {"pageSize": 100},
        "conversationFilters": [{"type": "and", "predicates": [{"dimension": "conversationEnd", "operator": "exists"}]}],
    });
    let reply = client.api(&token, Method::POST, QUERY, Some(ended)).await;
    let ended = reply.body["conversations"].as_array().unwrap();
    assert!(ended.len() < conversations.len());
    assert!(ended.iter().all(|c| c.get("conversationEnd").is_some()));
}

#[tokio::test]
async fn division_filter_selects_conversations_of_that_division() {
    let client = Client::new(config());
    let token = client.token().await;
    let division = crate::DIVISIONS[2].0;
    let body = json!({
        "interval": "2024-03-05T00:00:00Z/2024-03-06T00:00:00Z",
        "paging": {"pageSize": 100},
        "conversationFilters": [{"type": "or", "predicates": [
            {"dimension": "divisionId", "value": division},
            {"dimension": "someFutureDimension", "value": "x"}
        ]}],
    });
    let reply = client.api(&token, Method::POST, QUERY, Some(body)).await;
    let conversations = reply.body["conversations"].as_array().unwrap();
    assert!(!conversations.is_empty());
    assert!(conversations.iter().all(|c| {
        c["divisionIds"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d == division)
    }));
    assert!((reply.body["totalHits"].as_u64().unwrap()) < 120);
}

#[tokio::test]
async fn faults_are_injected_after_auth_in_turn() {
    let client = Client::new(SimConfig {
        fault_rate: 1.0,
        ..config()
    });
    let unauthenticated = client
        .send(
            Request::get("/api/v2/tokens/me")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(unauthenticated.status, StatusCode::UNAUTHORIZED);
    let token = client.token().await;
    let mut seen = Vec::new();
    for _ in 0..3 {
        let reply = client
            .api(&token, Method::GET, "/api/v2/tokens/me", None)
            .await;
        seen.push((
            reply.status,
            reply.body["code"].as_str().unwrap().to_string(),
        ));
        if reply.status == StatusCode::TOO_MANY_REQUESTS {
            assert_eq!(reply.headers[header::RETRY_AFTER], "1");
        }
    }
    assert_eq!(
        seen,
        [
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "service.unavailable".to_string()
            ),
            (
                StatusCode::TOO_MANY_REQUESTS,
                "too.many.requests.retry.after".to_string()
            ),
            (StatusCode::GATEWAY_TIMEOUT, "request.timeout".to_string()),
        ]
    );
    assert_eq!(client.state.stats.faults_injected(), 3);
    assert_eq!(client.state.stats.api_requests(), 4);
}

#[tokio::test]
async fn unknown_routes_get_the_platform_404() {
    let client = Client::new(config());
    let token = client.token().await;
    let reply = client
        .api(&token, Method::GET, "/api/v2/nowhere", None)
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(reply.body["code"], "not.found");
    let outside = client
        .send(Request::get("/elsewhere").body(Body::empty()).unwrap())
        .await;
    assert_eq!(outside.status, StatusCode::NOT_FOUND);
    assert_eq!(outside.body["status"], 404);
    assert_eq!(client.state.stats.by_path()["GET *"], 2);
}

#[tokio::test]
async fn serves_over_a_real_socket() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let sim = Sim::start(config()).await.unwrap();
    let address = sim.base_url().trim_start_matches("http://").to_string();
    let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    let request = format!(
        "POST /oauth/token HTTP/1.1\r\nHost: {address}\r\nAuthorization: Basic {}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 29\r\nConnection: close\r\n\r\ngrant_type=client_credentials",
        STANDARD.encode("sim-client:sim-secret")
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("\"token_type\":\"bearer\""));
    assert_eq!(sim.stats().token_requests(), 1);
    sim.shutdown();
}

#[tokio::test]
async fn a_client_without_the_detail_permission_gets_a_403_naming_it() {
    let mut role = crate::Role::least_privilege_loader();
    role.permissions
        .retain(|p| !p.contains("onversationDetail"));
    let client = Client::new(config().with_roles(vec![role]));
    let token = client.token().await;
    let body = json!({"interval": "2024-03-05T00:00:00Z/2024-03-06T00:00:00Z"});
    let reply = client.api(&token, Method::POST, QUERY, Some(body)).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(reply.body["code"], "missing.any.permissions");
    assert!(
        reply.body["message"]
            .as_str()
            .unwrap()
            .contains("analytics:conversationDetail:view")
    );
    // Reading roles needs authorization:role:view, which this role still has.
    let role_id = &client.state.config.roles[0].id;
    let role = client
        .api(
            &token,
            Method::GET,
            &format!("/api/v2/authorization/roles/{role_id}"),
            None,
        )
        .await;
    assert_eq!(role.status, StatusCode::OK);
    assert_eq!(client.state.stats.forbidden(), 1);
}

#[tokio::test]
async fn missing_divisions_silently_shrink_results() {
    let division = crate::DIVISIONS[0].0.to_string();
    let mut role = crate::Role::least_privilege_loader();
    role.divisions = vec![division.clone()];
    role.permissions.retain(|p| p != "authorization:role:view");
    let client = Client::new(config().with_roles(vec![role]));
    let token = client.token().await;
    let interval = "2024-03-05T00:00:00Z/2024-03-06T00:00:00Z";
    let ids = client.query_ids(&token, interval).await;
    let org = Org::new(
        client.state.config.seed,
        client.state.config.conversations_per_day,
        at("2024-03-20T12:00:00Z"),
    );
    let visible = org.conversations_visible_in(
        at("2024-03-05T00:00:00Z"),
        at("2024-03-06T00:00:00Z"),
        Some(&[division]),
    );
    let all = org.conversations_started_in(at("2024-03-05T00:00:00Z"), at("2024-03-06T00:00:00Z"));
    assert_eq!(ids.len(), visible.len());
    assert!(
        visible.len() < all.len(),
        "the filter should hide some conversations"
    );
    let me = client
        .api(&token, Method::GET, "/api/v2/tokens/me", None)
        .await;
    assert_eq!(
        me.body["OAuthClient"]["roleDivisions"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let role_id = &client.state.config.roles[0].id;
    let role = client
        .api(
            &token,
            Method::GET,
            &format!("/api/v2/authorization/roles/{role_id}"),
            None,
        )
        .await;
    assert_eq!(
        role.status,
        StatusCode::FORBIDDEN,
        "roles need authorization:role:view"
    );
    let divisions = client
        .api(
            &token,
            Method::GET,
            "/api/v2/authorization/divisions?pageSize=3",
            None,
        )
        .await;
    assert_eq!(divisions.body["entities"].as_array().unwrap().len(), 3);
    assert_eq!(divisions.body["pageCount"], 2);
}

#[tokio::test]
async fn the_enforced_rate_limit_answers_429_until_the_window_resets() {
    let client = Client::new(SimConfig {
        rate_limit_per_minute: Some(3),
        rate_limit_window: Duration::from_millis(400),
        ..config()
    });
    let token = client.token().await;
    for i in 1..=3 {
        let ok = client
            .api(&token, Method::GET, "/api/v2/tokens/me", None)
            .await;
        assert_eq!(ok.status, StatusCode::OK);
        assert_eq!(ok.headers["inin-ratelimit-allowed"], "3");
        assert_eq!(ok.headers["inin-ratelimit-count"], i.to_string().as_str());
    }
    let limited = client
        .api(&token, Method::GET, "/api/v2/tokens/me", None)
        .await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(limited.headers[header::RETRY_AFTER], "1");
    assert_eq!(client.state.stats.rate_limited(), 1);
    tokio::time::sleep(Duration::from_millis(450)).await;
    let again = client
        .api(&token, Method::GET, "/api/v2/tokens/me", None)
        .await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.headers["inin-ratelimit-count"], "1");
}

#[tokio::test]
async fn a_dropped_connection_breaks_the_body() {
    let client = Client::new(SimConfig {
        fault_rate: 1.0,
        fault_kinds: vec![crate::FaultKind::DroppedConnection],
        ..config()
    });
    let token = client.token().await;
    let request = Request::get("/api/v2/tokens/me")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    let response = client.app.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        to_bytes(response.into_body(), usize::MAX).await.is_err(),
        "the body must break off"
    );
}

#[tokio::test]
async fn a_rotation_with_revocation_invalidates_issued_tokens() {
    let client = Client::new(SimConfig {
        revoke_tokens_on_rotation: true,
        ..config()
    });
    let token = client.token().await;
    assert_eq!(
        client
            .api(&token, Method::GET, "/api/v2/tokens/me", None)
            .await
            .status,
        StatusCode::OK
    );
    client.state.config.client_secret.set("rotated");
    let refused = client
        .api(&token, Method::GET, "/api/v2/tokens/me", None)
        .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    let fresh = client.token().await;
    assert_eq!(
        client
            .api(&fresh, Method::GET, "/api/v2/tokens/me", None)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(client.state.stats.unauthorized(), 1);
}

impl Client {
    /// Follows `nextUri` from `first` to the end of a listing (either style); returns every
    /// entity and every page's envelope.
    async fn list_all(&self, token: &str, first: &str) -> (Vec<Value>, Vec<Value>) {
        let (mut entities, mut pages) = (Vec::new(), Vec::new());
        let mut next = Some(first.to_string());
        while let Some(uri) = next.take() {
            let page = self.api(token, Method::GET, &uri, None).await;
            assert_eq!(page.status, StatusCode::OK, "{uri}: {}", page.body);
            entities.extend(page.body["entities"].as_array().unwrap().iter().cloned());
            next = page.body["nextUri"].as_str().map(String::from);
            assert!(pages.len() < 100, "the listing does not end");
            pages.push(page.body);
        }
        (entities, pages)
    }
}

fn ids(entities: &[Value]) -> std::collections::BTreeSet<String> {
    entities
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn page_number_listings_page_to_the_end_by_next_uri() {
    let client = Client::new(config());
    let token = client.token().await;
    let org = &client.state.org;
    for (first, dataset) in [
        ("/api/v2/users?state=any&pageSize=10", "users"),
        ("/api/v2/routing/queues?pageSize=10", "queues"),
        ("/api/v2/routing/wrapupcodes?pageSize=10", "wrap-up-codes"),
        ("/api/v2/routing/skills?pageSize=3", "skills"),
        ("/api/v2/routing/languages?pageSize=4", "languages"),
        ("/api/v2/groups?pageSize=3", "groups"),
        ("/api/v2/authorization/divisions?pageSize=3", "divisions"),
    ] {
        let (entities, pages) = client.list_all(&token, first).await;
        assert_eq!(entities, org.dimension(dataset), "{dataset}");
        let path = first.split('?').next().unwrap();
        let size = pages[0]["pageSize"].as_u64().unwrap();
        let count = pages.len() as u64;
        assert!(count > 1, "{dataset} fits one page");
        for (i, page) in pages.iter().enumerate() {
            let number = i as u64 + 1;
            assert_eq!(page["pageNumber"], number);
            assert_eq!(page["total"], entities.len());
            assert_eq!(page["pageCount"], count);
            let uri = |n: u64| {
                let keep = if dataset == "users" { "&state=any" } else { "" };
                format!("{path}?pageSize={size}&pageNumber={n}{keep}")
            };
            assert_eq!(page["firstUri"], uri(1));
            assert_eq!(page["selfUri"], uri(number));
            assert_eq!(page["lastUri"], uri(count));
            assert_eq!(page.get("previousUri").is_some(), number > 1, "{page}");
            assert_eq!(page.get("nextUri").is_some(), number < count, "{page}");
        }
    }
    // Past the last page: no entities, and the way back.
    let past = client
        .api(&token, Method::GET, "/api/v2/groups?pageNumber=9", None)
        .await;
    assert_eq!(past.status, StatusCode::OK);
    assert_eq!(past.body["entities"], json!([]));
    assert!(past.body.get("nextUri").is_none());
    assert_eq!(
        past.body["previousUri"],
        "/api/v2/groups?pageSize=25&pageNumber=8"
    );
}

#[tokio::test]
async fn listings_refuse_paging_past_the_cap_and_pages_over_the_maximum() {
    let client = Client::new(SimConfig {
        listing_result_cap: 20,
        ..config()
    });
    let token = client.token().await;
    for uri in [
        "/api/v2/users",
        "/api/v2/users?pageSize=20&pageNumber=2",
        "/api/v2/routing/queues?pageSize=21",
        "/api/v2/routing/wrapupcodes?pageSize=10&pageNumber=3",
    ] {
        let reply = client.api(&token, Method::GET, uri, None).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{uri}");
        assert_eq!(reply.body["code"], "bad.request");
        assert_eq!(
            reply.body["message"],
            "Paging may not exceed 20 results. Narrow the query."
        );
    }
    // Split by state and by division, every part fits under the cap.
    for state in ["inactive", "deleted"] {
        let uri = format!("/api/v2/users?state={state}&pageSize=20");
        let (users, _) = client.list_all(&token, &uri).await;
        assert!(!users.is_empty() && users.iter().all(|u| u["state"] == state));
    }
    for path in ["/api/v2/routing/queues", "/api/v2/routing/wrapupcodes"] {
        let mut all = Vec::new();
        for (division, _) in crate::DIVISIONS {
            let uri = format!("{path}?divisionId={division}&pageSize=20");
            let (part, pages) = client.list_all(&token, &uri).await;
            assert_eq!(pages.len(), 1, "{uri}");
            assert!(part.iter().all(|e| e["division"]["id"] == division));
            all.extend(part);
        }
        assert!(all.len() > 20, "{path} needs splitting");
        let dataset = if path.ends_with("queues") {
            "queues"
        } else {
            "wrap-up-codes"
        };
        assert_eq!(ids(&all), ids(&client.state.org.dimension(dataset)));
    }
    // Two divisions in one request.
    let (d0, d1) = (crate::DIVISIONS[0].0, crate::DIVISIONS[1].0);
    let two = client
        .api(
            &token,
            Method::GET,
            &format!(
                "/api/v2/routing/queues?divisionId={d0}&divisionId={d1}&pageSize=20&pageNumber=2"
            ),
            None,
        )
        .await;
    assert_eq!(two.status, StatusCode::BAD_REQUEST, "still capped");

    let client = Client::new(config());
    let token = client.token().await;
    for (uri, max) in [
        ("/api/v2/users?pageSize=501", 500),
        ("/api/v2/routing/queues?pageSize=501", 500),
        ("/api/v2/routing/wrapupcodes?pageSize=101", 100),
        ("/api/v2/routing/skills?pageSize=101", 100),
        ("/api/v2/routing/languages?pageSize=101", 100),
        ("/api/v2/groups?pageSize=101", 100),
        ("/api/v2/teams?pageSize=101", 100),
    ] {
        let reply = client.api(&token, Method::GET, uri, None).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{uri}");
        let message = reply.body["message"].as_str().unwrap();
        assert!(
            message.contains(&format!("between 1 and {max}")),
            "{message}"
        );
    }
    let ok = client
        .api(&token, Method::GET, "/api/v2/users?pageSize=500", None)
        .await;
    assert_eq!(ok.status, StatusCode::OK);
}

#[tokio::test]
async fn users_are_listed_by_state_and_people_who_left_only_on_request() {
    let client = Client::new(config());
    let token = client.token().await;
    let mut by_state = std::collections::BTreeMap::new();
    for state in ["active", "inactive", "deleted", "any"] {
        let uri = format!("/api/v2/users?state={state}&pageSize=100");
        let (users, _) = client.list_all(&token, &uri).await;
        by_state.insert(state, users);
    }
    let (default, _) = client.list_all(&token, "/api/v2/users").await;
    assert_eq!(default, by_state["active"], "active is the default");
    let counts: Vec<usize> = ["active", "inactive", "deleted", "any"]
        .iter()
        .map(|s| by_state[s].len())
        .collect();
    assert_eq!(counts, [46, 2, 4, 52]);
    let agents_who_left = by_state["deleted"]
        .iter()
        .chain(&by_state["inactive"])
        .filter(|u| u["title"] == "Contact Centre Agent")
        .count();
    assert_eq!(agents_who_left, 3);
    let user = &by_state["any"][0];
    for field in [
        "id",
        "name",
        "division",
        "email",
        "state",
        "title",
        "username",
        "department",
        "version",
        "dateLastLogin",
        "employerInfo",
        "acdAutoAnswer",
        "selfUri",
    ] {
        assert!(user.get(field).is_some(), "no {field} in {user}");
    }
    let bad = client
        .api(&token, Method::GET, "/api/v2/users?state=gone", None)
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn teams_page_by_an_opaque_cursor_to_the_end() {
    let client = Client::new(config());
    let token = client.token().await;
    let (teams, pages) = client.list_all(&token, "/api/v2/teams?pageSize=4").await;
    assert_eq!(teams, client.state.org.dimension("teams"));
    assert_eq!(pages.len(), 2);
    assert_eq!(pages[0]["selfUri"], "/api/v2/teams?pageSize=4");
    let next = pages[0]["nextUri"].as_str().unwrap();
    assert!(
        next.starts_with("/api/v2/teams?pageSize=4&after="),
        "{next}"
    );
    assert!(pages[1].get("nextUri").is_none());
    assert!(pages[0].get("pageNumber").is_none(), "a cursor listing");
    let (two_by_two, pages) = client.list_all(&token, "/api/v2/teams?pageSize=2").await;
    assert_eq!(two_by_two, teams);
    assert_eq!(pages.len(), 3);
    for bad in ["bogus", "dGVhbXM6OTk", "dGVhbXM6MDA"] {
        let reply = client
            .api(
                &token,
                Method::GET,
                &format!("/api/v2/teams?after={bad}"),
                None,
            )
            .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(reply.body["message"].as_str().unwrap().contains(bad));
    }
}

#[tokio::test]
async fn listings_and_aggregates_need_their_permissions() {
    let client = Client::new(config().with_roles(vec![crate::Role {
        permissions: vec!["analytics:conversationDetail:view".into()],
        ..crate::Role::least_privilege_loader()
    }]));
    let token = client.token().await;
    let aggregate = json!({
        "interval": "2024-03-05T00:00:00Z/2024-03-06T00:00:00Z",
        "metrics": ["nOffered"],
    });
    for (method, uri, permission, code) in [
        (
            Method::GET,
            "/api/v2/routing/queues",
            "routing:queue:view",
            "missing.any.permissions",
        ),
        (
            Method::GET,
            "/api/v2/routing/wrapupcodes",
            "routing:wrapupCode:view",
            "missing.permissions",
        ),
        (
            Method::GET,
            "/api/v2/routing/skills",
            "routing:skill:view",
            "missing.any.permissions",
        ),
        (
            Method::GET,
            "/api/v2/teams",
            "groups:team:view",
            "missing.any.permissions",
        ),
        (
            Method::POST,
            AGGREGATES,
            "analytics:conversationAggregate:view",
            "missing.any.permissions",
        ),
    ] {
        let body = (method == Method::POST).then(|| aggregate.clone());
        let reply = client.api(&token, method, uri, body).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{uri}");
        assert_eq!(reply.body["code"], code, "{uri}");
        let message = reply.body["message"].as_str().unwrap();
        assert!(message.contains(permission), "{message}");
    }
    for open in [
        "/api/v2/users",
        "/api/v2/routing/languages",
        "/api/v2/groups",
        "/api/v2/authorization/divisions",
    ] {
        let reply = client.api(&token, Method::GET, open, None).await;
        assert_eq!(reply.status, StatusCode::OK, "{open} needs no permission");
    }
    assert_eq!(client.state.stats.forbidden(), 5);
}

#[tokio::test]
async fn divisioned_listings_show_only_the_granted_divisions() {
    let division = crate::DIVISIONS[2].0.to_string();
    let mut role = crate::Role::least_privilege_loader();
    role.divisions = vec![division.clone()];
    let client = Client::new(config().with_roles(vec![role]));
    let token = client.token().await;
    for (uri, dataset) in [
        ("/api/v2/routing/queues?pageSize=100", "queues"),
        ("/api/v2/routing/wrapupcodes?pageSize=100", "wrap-up-codes"),
        ("/api/v2/teams", "teams"),
    ] {
        let (entities, _) = client.list_all(&token, uri).await;
        let all = client.state.org.dimension(dataset);
        assert!(!entities.is_empty() && entities.len() < all.len(), "{uri}");
        assert!(
            entities
                .iter()
                .all(|e| e["division"]["id"] == division.as_str())
        );
    }
    let (users, _) = client
        .list_all(&token, "/api/v2/users?state=any&pageSize=100")
        .await;
    assert_eq!(
        users.len(),
        52,
        "users need no permission, so no division applies"
    );
}

/// Every id of a kind the conversations started in [from, to) reference.
fn referenced_ids(
    org: &Org,
    from: &str,
    to: &str,
) -> std::collections::BTreeMap<&'static str, std::collections::BTreeSet<String>> {
    let mut out: std::collections::BTreeMap<&'static str, std::collections::BTreeSet<String>> =
        Default::default();
    let mut add = |kind: &'static str, id: &Value| {
        if let Some(id) = id.as_str() {
            out.entry(kind).or_default().insert(id.to_string());
        }
    };
    for c in org.conversations_started_in(at(from), at(to)) {
        for e in c["evaluations"].as_array().into_iter().flatten() {
            add("users", &e["evaluatorId"]);
            add("users", &e["userId"]);
            add("queues", &e["queueId"]);
        }
        for s in c["surveys"].as_array().into_iter().flatten() {
            add("users", &s["userId"]);
            add("queues", &s["queueId"]);
        }
        for p in c["participants"].as_array().unwrap() {
            add("users", &p["userId"]);
            add("teams", &p["teamId"]);
            for s in p["sessions"].as_array().unwrap() {
                add("users", &s["selectedAgentId"]);
                for g in s["agentGroups"].as_array().into_iter().flatten() {
                    add("groups", &g["agentGroupId"]);
                }
                for a in s["proposedAgents"].as_array().into_iter().flatten() {
                    add("users", &a["proposedAgentId"]);
                }
                for seg in s["segments"].as_array().unwrap() {
                    add("queues", &seg["queueId"]);
                    add("wrap-up-codes", &seg["wrapUpCode"]);
                    for skill in seg["requestedRoutingSkillIds"]
                        .as_array()
                        .into_iter()
                        .flatten()
                    {
                        add("skills", skill);
                    }
                    for a in seg["scoredAgents"].as_array().into_iter().flatten() {
                        add("users", &a["scoredAgentId"]);
                    }
                }
            }
        }
    }
    out
}

#[tokio::test]
async fn every_id_the_conversations_reference_resolves_in_the_listings() {
    let client = Client::new(config());
    let token = client.token().await;
    let referenced = referenced_ids(
        &client.state.org,
        "2024-03-04T00:00:00Z",
        "2024-03-08T00:00:00Z",
    );
    assert_eq!(referenced.len(), 6, "{:?}", referenced.keys());
    let mut listed = std::collections::BTreeMap::new();
    for (kind, first) in [
        ("users", "/api/v2/users?state=any&pageSize=100"),
        ("queues", "/api/v2/routing/queues?pageSize=100"),
        ("wrap-up-codes", "/api/v2/routing/wrapupcodes?pageSize=100"),
        ("skills", "/api/v2/routing/skills"),
        ("groups", "/api/v2/groups"),
        ("teams", "/api/v2/teams"),
    ] {
        let (entities, _) = client.list_all(&token, first).await;
        listed.insert(kind, entities);
    }
    for (kind, ids_used) in &referenced {
        let known = ids(&listed[kind]);
        let dangling: Vec<_> = ids_used.difference(&known).collect();
        assert!(dangling.is_empty(), "{kind} not listed: {dangling:?}");
    }
    // History references agents who left: they resolve only outside the default listing.
    let (active, _) = client.list_all(&token, "/api/v2/users?pageSize=100").await;
    let active = ids(&active);
    let gone: Vec<&Value> = listed["users"]
        .iter()
        .filter(|u| referenced["users"].contains(u["id"].as_str().unwrap()))
        .filter(|u| !active.contains(u["id"].as_str().unwrap()))
        .collect();
    assert!(gone.iter().any(|u| u["state"] == "deleted"), "{gone:?}");
    assert!(gone.iter().any(|u| u["state"] == "inactive"), "{gone:?}");
}

const AGGREGATES: &str = "/api/v2/analytics/conversations/aggregates/query";

/// (first queueId of the session, metric name, value, emitDate) of every session metric of the
/// conversations started in [from, to), as served at the org's now.
fn session_metrics(
    org: &Org,
    from: &str,
    to: &str,
    division: Option<&str>,
) -> Vec<(Option<String>, String, i64, String)> {
    let mut out = Vec::new();
    for c in org.conversations_started_in(at(from), at(to)) {
        if division.is_some_and(|d| !c["divisionIds"].as_array().unwrap().iter().any(|x| x == d)) {
            continue;
        }
        for p in c["participants"].as_array().unwrap() {
            for s in p["sessions"].as_array().unwrap() {
                let queue = s["segments"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find_map(|seg| seg["queueId"].as_str().map(String::from));
                for m in s["metrics"].as_array().into_iter().flatten() {
                    out.push((
                        queue.clone(),
                        m["name"].as_str().unwrap().to_string(),
                        m["value"].as_i64().unwrap(),
                        m["emitDate"].as_str().unwrap().to_string(),
                    ));
                }
            }
        }
    }
    out
}

/// `{(queueId, bucket interval) → stats}` of one metric in an aggregate answer.
fn by_queue_and_bucket(
    answer: &Value,
    metric: &str,
) -> std::collections::BTreeMap<(String, String), Value> {
    let mut out = std::collections::BTreeMap::new();
    for result in answer["results"].as_array().into_iter().flatten() {
        let queue = result["group"]["queueId"]
            .as_str()
            .unwrap_or("-")
            .to_string();
        for data in result["data"].as_array().unwrap() {
            for m in data["metrics"].as_array().unwrap() {
                if m["metric"] == metric {
                    let interval = data["interval"].as_str().unwrap().to_string();
                    out.insert((queue.clone(), interval), m["stats"].clone());
                }
            }
        }
    }
    out
}

#[tokio::test]
async fn aggregates_per_queue_and_day_match_the_conversations() {
    let client = Client::new(config());
    let token = client.token().await;
    // The last day holds "now" (12:00): only what happened by then counts.
    let body = json!({
        "interval": "2024-03-17T00:00:00.000Z/2024-03-21T00:00:00.000Z",
        "granularity": "P1D",
        "groupBy": ["queueId"],
        "metrics": ["tHandle", "nOffered", "nFlow_is_not_a_metric"],
    });
    let refused = client
        .api(&token, Method::POST, AGGREGATES, Some(body.clone()))
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(
        refused.body["message"]
            .as_str()
            .unwrap()
            .contains("nFlow_is_not_a_metric")
    );

    let mut body = body;
    body["metrics"] = json!(["tHandle", "nOffered", "oServiceLevel"]);
    let reply = client
        .api(&token, Method::POST, AGGREGATES, Some(body.clone()))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(
        Ok(reply.body.clone()),
        client.state.org.aggregate(&body, None)
    );

    let mut expected_offered = std::collections::BTreeMap::new();
    let mut expected_handle: std::collections::BTreeMap<(String, String), (i64, i64, i64, i64)> =
        Default::default();
    for (queue, name, value, emitted) in session_metrics(
        &client.state.org,
        "2024-03-16T00:00:00Z",
        "2024-03-21T00:00:00Z",
        None,
    ) {
        if emitted.as_str() < "2024-03-17" {
            continue;
        }
        let day = &emitted[..10];
        let next = at(&format!("{day}T00:00:00Z")) + chrono::TimeDelta::days(1);
        let interval = format!("{day}T00:00:00.000Z/{}", crate::model::format_instant(next));
        let key = (queue.unwrap_or_else(|| "-".into()), interval);
        match name.as_str() {
            "nOffered" => *expected_offered.entry(key).or_insert(0) += value,
            "tHandle" => {
                let e = expected_handle
                    .entry(key)
                    .or_insert((0, 0, i64::MAX, i64::MIN));
                *e = (e.0 + 1, e.1 + value, e.2.min(value), e.3.max(value));
            }
            _ => {}
        }
    }
    let offered = by_queue_and_bucket(&reply.body, "nOffered");
    let offered: std::collections::BTreeMap<_, _> = offered
        .into_iter()
        .map(|(k, v)| (k, v["count"].as_i64().unwrap()))
        .collect();
    assert_eq!(offered, expected_offered);
    assert_eq!(
        offered
            .keys()
            .map(|(_, i)| i)
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        4
    );
    assert!(
        !offered.keys().any(|(q, _)| q == "-"),
        "offers are always queued"
    );
    let handle: std::collections::BTreeMap<_, _> = by_queue_and_bucket(&reply.body, "tHandle")
        .into_iter()
        .map(|(k, v)| {
            let n = |f: &str| v[f].as_i64().unwrap();
            (k, (n("count"), n("sum"), n("min"), n("max")))
        })
        .collect();
    assert_eq!(handle, expected_handle);
    assert!(by_queue_and_bucket(&reply.body, "oServiceLevel").is_empty());
    assert!(
        !reply.body.to_string().contains("2024-03-20T12:"),
        "day buckets only"
    );

    // Nothing after now: the answer for the afternoon of the last day is empty.
    let later = json!({
        "interval": "2024-03-20T12:00:00.001Z/2024-03-20T18:00:00.001Z",
        "metrics": ["nOffered"],
    });
    let reply = client
        .api(&token, Method::POST, AGGREGATES, Some(later))
        .await;
    assert_eq!(reply.body, json!({}));
}

#[tokio::test]
async fn aggregates_group_by_several_dimensions_in_sorted_order() {
    let client = Client::new(config());
    let token = client.token().await;
    let body = json!({
        "interval": "2024-03-05T00:00:00Z/2024-03-05T12:00:00Z",
        "granularity": "PT30M",
        "groupBy": ["mediaType", "purpose", "userId", "direction", "queueId"],
        "metrics": ["tTalk", "nConnected", "tAcd"],
        "timeZone": "UTC",
    });
    let reply = client
        .api(&token, Method::POST, AGGREGATES, Some(body))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let results = reply.body["results"].as_array().unwrap();
    let keys: Vec<Vec<Option<&str>>> = results
        .iter()
        .map(|r| {
            ["mediaType", "purpose", "userId", "direction", "queueId"]
                .iter()
                .map(|d| r["group"][d].as_str())
                .collect()
        })
        .collect();
    assert!(
        keys.windows(2).all(|w| w[0] < w[1]),
        "groups sorted, distinct"
    );
    assert!(
        keys.iter().any(|k| k[1] == Some("acd") && k[2].is_none()),
        "acd has no user"
    );
    for r in results {
        let data = r["data"].as_array().unwrap();
        assert!(!data.is_empty());
        let intervals: Vec<&str> = data
            .iter()
            .map(|d| d["interval"].as_str().unwrap())
            .collect();
        assert!(intervals.windows(2).all(|w| w[0] < w[1]), "buckets by time");
        for d in data {
            let names: Vec<&str> = d["metrics"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["metric"].as_str().unwrap())
                .collect();
            assert!(names.windows(2).all(|w| w[0] < w[1]), "metrics by name");
            assert!(
                d["metrics"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(|m| m.get("qualifier").is_none())
            );
            let (start, end) = d["interval"].as_str().unwrap().split_once('/').unwrap();
            assert_eq!(at(end) - at(start), chrono::TimeDelta::minutes(30));
        }
    }
    let unknown = json!({
        "interval": "2024-03-05T00:00:00Z/2024-03-06T00:00:00Z",
        "groupBy": ["flavour"],
        "metrics": ["nOffered"],
    });
    let reply = client
        .api(&token, Method::POST, AGGREGATES, Some(unknown))
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(
        reply.body["message"]
            .as_str()
            .unwrap()
            .contains("'flavour'")
    );
}

#[tokio::test]
async fn aggregate_limits_answer_400s_naming_them() {
    let client = Client::new(config());
    let token = client.token().await;
    let ask = |interval: &str, granularity: &str| json!({"interval": interval, "granularity": granularity, "metrics": ["nOffered"]});
    let cases = [
        (
            ask("2024-01-01T00:00:00Z/2024-01-31T00:00:00Z", "PT15M"),
            "Query would return 2880 intervals; the maximum is 2000. Use a shorter interval or a coarser granularity.",
        ),
        (
            ask("2024-01-01T00:00:00Z/2024-02-02T00:00:00Z", "P1D"),
            "Query interval exceeds the maximum of 31 days.",
        ),
        (
            ask("2024-01-01T00:00:00Z/2024-01-01T01:00:00Z", "PT25M"),
            "The interval '2024-01-01T00:00:00Z/2024-01-01T01:00:00Z' is not a whole number of granularity 'PT25M' steps.",
        ),
    ];
    for (body, message) in cases {
        let reply = client
            .api(&token, Method::POST, AGGREGATES, Some(body))
            .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST);
        assert_eq!(reply.body["code"], "bad.request");
        assert_eq!(reply.body["message"], message);
    }
    let fits = ask("2024-01-01T00:00:00Z/2024-01-31T00:00:00Z", "PT30M");
    let reply = client
        .api(&token, Method::POST, AGGREGATES, Some(fits))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "1440 buckets over 30 days");

    let strict = Client::new(SimConfig {
        aggregate_max_buckets: 24,
        aggregate_max_interval_days: 1,
        ..config()
    });
    let token = strict.token().await;
    let reply = strict
        .api(
            &token,
            Method::POST,
            AGGREGATES,
            Some(ask("2024-01-01T00:00:00Z/2024-01-02T00:00:00Z", "PT30M")),
        )
        .await;
    assert_eq!(
        reply.body["message"],
        "Query would return 48 intervals; the maximum is 24. Use a shorter interval or a coarser granularity."
    );
    let reply = strict
        .api(
            &token,
            Method::POST,
            AGGREGATES,
            Some(ask("2024-01-01T00:00:00Z/2024-01-03T00:00:00Z", "P1D")),
        )
        .await;
    assert_eq!(
        reply.body["message"],
        "Query interval exceeds the maximum of 1 days."
    );
}

#[tokio::test]
async fn aggregates_honour_division_filters_and_grants() {
    let division = crate::DIVISIONS[2].0;
    let body = |filter: Option<Value>| {
        let mut body = json!({
            "interval": "2024-03-05T00:00:00Z/2024-03-07T00:00:00Z",
            "granularity": "P1D",
            "groupBy": ["queueId"],
            "metrics": ["nOffered"],
        });
        if let Some(filter) = filter {
            body["filter"] = filter;
        }
        body
    };
    let total = |answer: &Value| -> i64 {
        by_queue_and_bucket(answer, "nOffered")
            .values()
            .map(|s| s["count"].as_i64().unwrap())
            .sum()
    };
    let expected = |division: Option<&str>| -> i64 {
        session_metrics(
            &Org::new(42, 120, at("2024-03-20T12:00:00Z")),
            "2024-03-04T00:00:00Z",
            "2024-03-07T00:00:00Z",
            division,
        )
        .iter()
        .filter(|(_, name, _, emitted)| {
            name == "nOffered" && ("2024-03-05".."2024-03-07").contains(&emitted.as_str())
        })
        .map(|(_, _, value, _)| value)
        .sum()
    };

    let client = Client::new(config());
    let token = client.token().await;
    let all = client
        .api(&token, Method::POST, AGGREGATES, Some(body(None)))
        .await;
    assert_eq!(total(&all.body), expected(None));
    let predicate = json!({"type": "dimension", "dimension": "divisionId", "operator": "matches", "value": division});
    for filter in [
        json!({"type": "or", "predicates": [predicate]}),
        json!({"type": "and", "clauses": [{"type": "or", "predicates": [predicate]}]}),
    ] {
        let reply = client
            .api(&token, Method::POST, AGGREGATES, Some(body(Some(filter))))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        assert_eq!(total(&reply.body), expected(Some(division)));
        assert!(total(&reply.body) < total(&all.body));
    }

    // A client granted in one division sees only that division's conversations, silently.
    let mut role = crate::Role::least_privilege_loader();
    role.divisions = vec![division.to_string()];
    let limited = Client::new(config().with_roles(vec![role]));
    let token = limited.token().await;
    let reply = limited
        .api(&token, Method::POST, AGGREGATES, Some(body(None)))
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(total(&reply.body), expected(Some(division)));
    assert_eq!(
        Ok(reply.body),
        limited
            .state
            .org
            .aggregate(&body(None), Some(&[division.to_string()]))
    );
}

const SEARCH: &str = "/api/v2/quality/evaluations/search";

fn search_body(field: &str, from: &str, to: &str, size: u64, page: u64) -> Value {
    json!({
        "query": [{"type": "DATE_RANGE", "field": field, "startValue": from, "endValue": to}],
        "pageSize": size,
        "pageNumber": page,
    })
}

#[tokio::test]
async fn the_evaluation_search_serves_what_the_details_carry() {
    let client = Client::new(config());
    let token = client.token().await;
    let (from, to) = ("2024-03-01T00:00:00.000Z", "2024-03-15T00:00:00.000Z");
    let mut served = Vec::new();
    for page in 1.. {
        let reply = client
            .api(
                &token,
                Method::POST,
                SEARCH,
                Some(search_body("conversationDate", from, to, 10, page)),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        assert!(
            reply.body.get("total").is_none(),
            "the search answers no total"
        );
        let results = reply.body["results"].as_array().unwrap().clone();
        let n = results.len();
        served.extend(results);
        if n < 10 {
            break;
        }
    }
    // Exactly the evaluations the details carry that are not deleted, with their forms,
    // agents, evaluators and totals.
    let details = client.state.org.conversations_started_in(at(from), at(to));
    let mut expected = std::collections::BTreeMap::new();
    let mut deleted = 0;
    for c in &details {
        for e in c["evaluations"].as_array().into_iter().flatten() {
            if e["deleted"] == true {
                deleted += 1;
            } else {
                expected.insert(
                    e["evaluationId"].as_str().unwrap().to_string(),
                    (c.clone(), e.clone()),
                );
            }
        }
    }
    assert!(deleted > 0, "some evaluations were deleted");
    assert_eq!(ids(&served), expected.keys().cloned().collect());
    let forms = ids(&client.state.org.evaluation_forms());
    for v in &served {
        let (c, e) = &expected[v["id"].as_str().unwrap()];
        assert_eq!(v["conversation"]["id"], c["conversationId"]);
        assert_eq!(v["conversationDate"], c["conversationStart"]);
        assert_eq!(v["evaluationForm"]["id"], e["formId"]);
        assert!(
            forms.contains(e["formId"].as_str().unwrap()),
            "the form resolves"
        );
        assert_eq!(v["agent"]["id"], e["userId"]);
        assert_eq!(v["evaluator"]["id"], e["evaluatorId"]);
        assert_eq!(
            v["answers"]["totalScore"].as_f64(),
            e["oTotalScore"].as_f64()
        );
        // Every question and answer id resolves in the form version the evaluation used.
        let form = client
            .state
            .org
            .evaluation_forms()
            .into_iter()
            .find(|f| f["id"] == e["formId"])
            .unwrap();
        for g in v["answers"]["questionGroupScores"].as_array().unwrap() {
            let group = form["questionGroups"]
                .as_array()
                .unwrap()
                .iter()
                .find(|x| x["id"] == g["questionGroupId"])
                .expect("the group resolves");
            for q in g["questionScores"].as_array().unwrap() {
                let question = group["questions"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|x| x["id"] == q["questionId"])
                    .expect("the question resolves");
                assert!(
                    question["answerOptions"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|o| o["id"] == q["answerId"])
                );
            }
        }
        // The single read serves the same evaluation.
        let one = client
            .api(
                &token,
                Method::GET,
                &format!(
                    "/api/v2/quality/conversations/{}/evaluations/{}",
                    c["conversationId"].as_str().unwrap(),
                    v["id"].as_str().unwrap()
                ),
                None,
            )
            .await;
        assert_eq!(one.status, StatusCode::OK);
        assert_eq!(&one.body, v);
    }
}

#[tokio::test]
async fn the_evaluation_search_enforces_its_rules() {
    let client = Client::new(config());
    let token = client.token().await;
    let no_range = client
        .api(
            &token,
            Method::POST,
            SEARCH,
            Some(json!({"query": [], "pageSize": 10})),
        )
        .await;
    assert_eq!(no_range.status, StatusCode::BAD_REQUEST);
    assert!(
        no_range.body["message"]
            .as_str()
            .unwrap()
            .contains("time range is required")
    );
    let long = search_body(
        "conversationDate",
        "2023-10-01T00:00:00.000Z",
        "2024-03-01T00:00:00.000Z",
        10,
        1,
    );
    let reply = client.api(&token, Method::POST, SEARCH, Some(long)).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(reply.body["message"].as_str().unwrap().contains("3 months"));
    let big = search_body(
        "conversationDate",
        "2024-03-10T00:00:00.000Z",
        "2024-03-11T00:00:00.000Z",
        101,
        1,
    );
    assert_eq!(
        client
            .api(&token, Method::POST, SEARCH, Some(big))
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    // A deleted evaluation is not served by the single read either.
    let details = client
        .state
        .org
        .conversations_started_in(at("2024-03-01T00:00:00Z"), at("2024-03-15T00:00:00Z"));
    let (c, e) = details
        .iter()
        .flat_map(|c| {
            c["evaluations"]
                .as_array()
                .into_iter()
                .flatten()
                .map(move |e| (c, e))
        })
        .find(|(_, e)| e["deleted"] == true)
        .expect("a deleted evaluation");
    let gone = client
        .api(
            &token,
            Method::GET,
            &format!(
                "/api/v2/quality/conversations/{}/evaluations/{}",
                c["conversationId"].as_str().unwrap(),
                e["evaluationId"].as_str().unwrap()
            ),
            None,
        )
        .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn forms_list_their_versions_and_read_whole_in_bulk() {
    let client = Client::new(config());
    let token = client.token().await;
    let (latest, _) = client
        .list_all(&token, "/api/v2/quality/forms/evaluations?pageSize=100")
        .await;
    assert_eq!(latest.len(), 2, "two forms, newest versions");
    assert!(latest.iter().all(|f| f.get("questionGroups").is_none()));
    let mut versions = Vec::new();
    for f in &latest {
        let (v, _) = client
            .list_all(
                &token,
                &format!(
                    "/api/v2/quality/forms/evaluations/{}/versions?pageSize=100",
                    f["id"].as_str().unwrap()
                ),
            )
            .await;
        versions.extend(v);
    }
    assert_eq!(
        versions.len(),
        3,
        "the voice form has an older published version"
    );
    let query: Vec<String> = versions
        .iter()
        .map(|v| format!("id={}", v["id"].as_str().unwrap()))
        .collect();
    let bulk = client
        .api(
            &token,
            Method::GET,
            &format!("/api/v2/quality/forms/evaluations/bulk?{}", query.join("&")),
            None,
        )
        .await;
    assert_eq!(bulk.status, StatusCode::OK);
    let full = bulk.body["entities"].as_array().unwrap();
    assert_eq!(ids(full), ids(&versions));
    assert!(
        full.iter()
            .all(|f| !f["questionGroups"].as_array().unwrap().is_empty())
    );
    let too_many: Vec<String> = (0..101).map(|i| format!("id={i}")).collect();
    let refused = client
        .api(
            &token,
            Method::GET,
            &format!(
                "/api/v2/quality/forms/evaluations/bulk?{}",
                too_many.join("&")
            ),
            None,
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn recordings_exist_exactly_for_recorded_sessions() {
    let client = Client::new(config());
    let token = client.token().await;
    let details = client
        .state
        .org
        .conversations_started_in(at("2024-03-10T00:00:00Z"), at("2024-03-11T00:00:00Z"));
    let (mut recorded, mut unrecorded, mut screens) = (0, 0, 0);
    for c in &details {
        let id = c["conversationId"].as_str().unwrap();
        let participants = c["participants"].as_array().unwrap();
        let sessions: Vec<&Value> = participants
            .iter()
            .flat_map(|p| p["sessions"].as_array().unwrap())
            .filter(|s| s["recording"] == true)
            .collect();
        let screen = participants
            .iter()
            .filter(|p| p["screenRecording"] == true)
            .count();
        let reply = client
            .api(
                &token,
                Method::GET,
                &format!("/api/v2/conversations/{id}/recordingmetadata"),
                None,
            )
            .await;
        if sessions.is_empty() && screen == 0 {
            assert_eq!(reply.status, StatusCode::NOT_FOUND, "{id}");
            unrecorded += 1;
            continue;
        }
        assert_eq!(reply.status, StatusCode::OK);
        recorded += 1;
        screens += screen;
        let list = reply.body.as_array().unwrap();
        assert_eq!(list.len(), sessions.len() + screen, "{id}");
        let session_ids: std::collections::BTreeSet<&str> = sessions
            .iter()
            .map(|s| s["sessionId"].as_str().unwrap())
            .collect();
        for r in list.iter().filter(|r| r["media"] != "screen") {
            assert!(session_ids.contains(r["sessionId"].as_str().unwrap()));
            assert_eq!(r["conversationId"], id);
        }
        // Metadata only: no media URL anywhere.
        assert!(!reply.body.to_string().contains("http"), "{}", reply.body);
    }
    assert!(
        recorded > 0 && unrecorded > 0 && screens > 0,
        "{recorded} {unrecorded} {screens}"
    );

    // Without a recording permission: a 403 naming them.
    let mut role = crate::Role::least_privilege_loader();
    role.permissions.retain(|p| !p.starts_with("recording:"));
    let client = Client::new(SimConfig {
        roles: vec![role],
        ..config()
    });
    let token = client.token().await;
    let id = details[0]["conversationId"].as_str().unwrap();
    let refused = client
        .api(
            &token,
            Method::GET,
            &format!("/api/v2/conversations/{id}/recordingmetadata"),
            None,
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(
        refused.body["message"]
            .as_str()
            .unwrap()
            .contains("recording:recording:view")
    );
}

/// With a processing time, a job is done by time, as the platform's are: however often it is
/// polled before, it stays unfinished; the first poll after it is FULFILLED.
#[tokio::test]
async fn a_job_with_a_processing_time_finishes_by_time_not_by_polls() {
    let body = json!({"interval": "2024-03-18T00:00:00Z/2024-03-19T00:00:00Z"});
    let state_after_polls = |processing: Duration, polls: usize| {
        let body = body.clone();
        async move {
            let client = Client::new(SimConfig {
                job_processing_time: Some(processing),
                ..config()
            });
            let token = client.token().await;
            let job = client.api(&token, Method::POST, JOBS, Some(body)).await;
            let id = job.body["jobId"].as_str().unwrap().to_string();
            let mut state = String::new();
            for _ in 0..polls {
                let status = client
                    .api(&token, Method::GET, &format!("{JOBS}/{id}"), None)
                    .await;
                state = status.body["state"].as_str().unwrap().to_string();
            }
            state
        }
    };
    assert_eq!(state_after_polls(Duration::ZERO, 1).await, "FULFILLED");
    let hour = Duration::from_secs(3600);
    assert_ne!(state_after_polls(hour, 5).await, "FULFILLED");
}

/// A job done by time says when it finished, not when it was first polled after: its
/// completion date is its submission date plus the processing time, however late the poll.
#[tokio::test]
async fn a_job_done_by_time_dates_its_completion_when_it_finished() {
    let processing = Duration::from_millis(50);
    let client = Client::new(SimConfig {
        job_processing_time: Some(processing),
        ..config()
    });
    let token = client.token().await;
    let body = json!({"interval": "2024-03-18T00:00:00Z/2024-03-19T00:00:00Z"});
    let job = client.api(&token, Method::POST, JOBS, Some(body)).await;
    let id = job.body["jobId"].as_str().unwrap().to_string();
    tokio::time::sleep(Duration::from_millis(400)).await;
    let status = client
        .api(&token, Method::GET, &format!("{JOBS}/{id}"), None)
        .await;
    assert_eq!(status.body["state"], "FULFILLED");
    let at = |field: &str| {
        chrono::DateTime::parse_from_rfc3339(status.body[field].as_str().unwrap()).unwrap()
    };
    let took = at("completionDate") - at("submissionDate");
    assert_eq!(took.num_milliseconds(), 50, "{:?}", status.body);
}
