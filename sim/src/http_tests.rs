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
