//! The API client under pressure, against the simulated org: short-lived tokens, a secret
//! rotated mid-run, injected faults under a real per-minute limit, and the read-only allowlist.

mod util;

use std::sync::Arc;
use std::time::{Duration, Instant};

use genesys_loader::genesys::allowlist::Allowlist;
use genesys_loader::genesys::{
    ApiConfig, ApiStats, Credentials, RateLimitPolicy, RetryPolicy, SecretSource,
};
use genesys_sim::{FaultKind, Sim};
use reqwest::Method;
use util::*;

/// Three days (the first from a job, the others from the query) in small pages: about fifty
/// requests, enough for faults and token lifetimes to matter.
const RANGE: [&str; 8] = [
    "--from",
    "2026-10-01",
    "--to",
    "2026-10-04",
    "--page-size",
    "5",
    "--job-page-size",
    "10",
];

fn expected(sim: &Sim) -> std::collections::BTreeMap<String, u64> {
    let org = org_of(sim);
    expected_rows(&org, utc(2026, 10, 1, 0), utc(2026, 10, 4, 0))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn short_lived_tokens_are_fetched_once_per_lifetime_not_per_call() {
    let mut config = sim_config(utc(2026, 10, 2, 0));
    config.token_lifetime = Duration::from_secs(3);
    let sim = Sim::start(config).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    // Pacing at the default 240 requests a minute stretches the run over several lifetimes.
    let started = Instant::now();
    let mut args = RANGE.to_vec();
    args.extend(["--concurrency", "1"]);
    let run = extract(&sim, dir.path().to_str().unwrap(), &args, &[]).await;
    let wall = started.elapsed().as_secs_f64();
    assert!(run.ok(), "{}", run.stderr);
    let manifest = read_manifest(dir.path());
    assert_eq!(rows(&manifest), expected(&sim));
    let api = manifest.stats.api;
    let tokens = api.token_requests as f64;
    println!(
        "3 s tokens: {wall:.1} s wall, {} requests, {} token requests",
        api.requests, api.token_requests
    );
    assert!(
        wall > 6.0,
        "the run should outlive two tokens ({wall:.1} s)"
    );
    // Refreshed at 90 % of the lifetime: about wall / 2.7 s tokens, never one per request.
    assert!(
        tokens >= (wall / 3.0).floor(),
        "{tokens} tokens in {wall:.1} s"
    );
    assert!(tokens <= wall / 2.7 + 2.0, "{tokens} tokens in {wall:.1} s");
    assert!(api.requests as f64 > 3.0 * tokens);
    assert_eq!(sim.stats().token_requests(), api.token_requests);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_rotated_mid_run_loses_no_row() {
    let mut config = sim_config(utc(2026, 10, 2, 0));
    config.revoke_tokens_on_rotation = true;
    let sim = Sim::start(config).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let secret_file = dir.path().join("secret");
    std::fs::write(&secret_file, SECRET).unwrap();
    let out = dir.path().join("out");
    let mut args = RANGE.to_vec();
    args.extend([
        "--max-requests-per-minute",
        "300",
        "--client-secret-file",
        secret_file.to_str().unwrap(),
    ]);
    let handle = sim.config().client_secret.clone();
    let rotate = tokio::spawn({
        let secret_file = secret_file.clone();
        async move {
            tokio::time::sleep(Duration::from_secs(3)).await;
            // Genesys rotates first (old tokens and the old secret stop working at once) ...
            handle.set("rotated-secret-abcdef0123456789");
            // ... and the vault or file catches up a moment later.
            tokio::time::sleep(Duration::from_millis(1500)).await;
            std::fs::write(&secret_file, "rotated-secret-abcdef0123456789\n").unwrap();
        }
    });
    let run = extract(&sim, out.to_str().unwrap(), &args, &[]).await;
    rotate.await.unwrap();
    assert!(run.ok(), "{}", run.stderr);
    let manifest = read_manifest(&out);
    assert_eq!(rows(&manifest), expected(&sim));
    assert!(
        manifest.stats.api.unauthorized >= 1,
        "the rotation should have revoked the run's token: {:?}",
        manifest.stats.api
    );
    assert!(sim.stats().unauthorized() >= 1);
    for secret in [SECRET, "rotated-secret-abcdef0123456789"] {
        assert!(
            !run.stderr.contains(secret) && !run.stdout.contains(secret),
            "a secret reached the output"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_under_a_real_rate_limit_leave_the_output_row_for_row_unchanged() {
    let clean_sim = Sim::start(sim_config(utc(2026, 10, 2, 0))).await.unwrap();
    let clean_dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let clean = extract(&clean_sim, clean_dir.path().to_str().unwrap(), &RANGE, &[]).await;
    let clean_wall = started.elapsed().as_secs_f64();
    assert!(clean.ok(), "{}", clean.stderr);

    let mut config = sim_config(utc(2026, 10, 2, 0));
    config.fault_rate = 0.15;
    config.fault_kinds = vec![
        FaultKind::Unavailable503,
        FaultKind::RateLimited429,
        FaultKind::Timeout504,
        FaultKind::InternalError500,
        FaultKind::DroppedConnection,
        FaultKind::Slow,
    ];
    config.slow_response = Duration::from_secs(3);
    config.rate_limit_per_minute = Some(240);
    let faulty_sim = Sim::start(config).await.unwrap();
    let faulty_dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let mut args = RANGE.to_vec();
    args.extend(["--request-timeout-secs", "1", "--log", "debug"]);
    let faulty = extract(&faulty_sim, faulty_dir.path().to_str().unwrap(), &args, &[]).await;
    let faulty_wall = started.elapsed().as_secs_f64();
    assert!(faulty.ok(), "{}", faulty.stderr);

    let (m_clean, m_faulty) = (
        read_manifest(clean_dir.path()),
        read_manifest(faulty_dir.path()),
    );
    assert_eq!(rows(&m_clean), expected(&clean_sim));
    assert_eq!(
        contents(clean_dir.path(), &m_clean),
        contents(faulty_dir.path(), &m_faulty)
    );
    for (name, m, wall) in [
        ("clean", &m_clean, clean_wall),
        ("faulty", &m_faulty, faulty_wall),
    ] {
        let a = m.stats.api;
        println!(
            "{name}: {} requests, {} token requests, {} retries, {} 429s, {} 5xx/timeouts, {wall:.1} s wall",
            a.requests, a.token_requests, a.retries, a.rate_limited, a.server_errors
        );
    }
    assert!(faulty_sim.stats().faults_injected() > 0);
    // Each injected fault (a slow answer outlives the 1 s timeout) and each 429 of the server's
    // own limiter costs exactly one retry.
    assert_eq!(
        m_faulty.stats.api.retries,
        faulty_sim.stats().faults_injected() + faulty_sim.stats().rate_limited()
    );
    // Every retry is logged with the request's correlation id.
    assert!(
        faulty.stderr.contains("request failed; retrying")
            && faulty.stderr.contains("correlation_id")
    );
    assert!(!faulty.stderr.contains(SECRET));
}

/// A client of the simulator whose secret comes from a command.
fn api_config(sim: &Sim) -> ApiConfig {
    ApiConfig {
        api_url: sim.base_url(),
        login_url: sim.base_url(),
        credentials: Credentials {
            client_id: "sim-client".into(),
            secret: SecretSource::Command(format!("echo {SECRET}").into()),
        },
        retry: RetryPolicy::default(),
        rate_limit: RateLimitPolicy::default(),
        rotation_grace: Duration::from_secs(1),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn write_requests_are_refused_before_they_leave_the_process() {
    let sim = Sim::start(sim_config(utc(2026, 10, 2, 0))).await.unwrap();
    let config = api_config(&sim);
    // The allowlist of every dataset of the build: still no write gets through.
    let allowlist = Allowlist::new(
        genesys_loader::datasets::registry()
            .iter()
            .flat_map(|d| d.spec().endpoints.iter()),
    );
    let api = config
        .connect(Arc::new(ApiStats::default()), allowlist)
        .unwrap();
    for (method, path) in [
        (
            Method::DELETE,
            "/api/v2/analytics/conversations/details/jobs/abc",
        ),
        (Method::POST, "/api/v2/users"),
        (Method::PUT, "/api/v2/routing/queues/q1"),
        (Method::PATCH, "/api/v2/users/u1"),
        (Method::POST, "/api/v2/recording/jobs"),
    ] {
        let err = api
            .send(method.clone(), path, None)
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("not a read-only endpoint"),
            "{method} {path}: {err}"
        );
    }
    assert_eq!(
        sim.stats().requests(),
        0,
        "nothing may reach the server, not even a token request"
    );
    // Reads go through.
    api.get("/api/v2/tokens/me").await.unwrap();
    assert_eq!(sim.stats().api_requests(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pre_signed_downloads_carry_no_token_and_never_show_their_url() {
    let sim = Sim::start(sim_config(utc(2026, 10, 2, 0))).await.unwrap();
    let config = api_config(&sim);
    let api = config
        .connect(Arc::new(ApiStats::default()), Allowlist::new(&[]))
        .unwrap();
    let body = br#"{"result":{"agentSchedules":[]}}"#.to_vec();
    let url = sim.publish_download(body.clone(), Duration::from_secs(60));
    // The download host refuses a request that carries a bearer token, as S3 does.
    let got = api.download(&url, "a schedule").await.unwrap();
    assert_eq!(got.body.as_ref(), body.as_slice());
    assert_eq!(api.stats().snapshot().downloads, 1);
    assert_eq!(api.stats().snapshot().requests, 0, "not an API request");

    let expired = sim.publish_download(b"{}".to_vec(), Duration::ZERO);
    tokio::time::sleep(Duration::from_millis(20)).await;
    let err = api
        .download(&expired, "a schedule")
        .await
        .unwrap_err()
        .to_string();
    let token = expired.split("/downloads/").nth(1).unwrap();
    assert!(err.contains("the download URL for a schedule"), "{err}");
    assert!(
        !err.contains(token) && !err.contains("X-Amz"),
        "the URL leaked: {err}"
    );

    let err = api
        .download("http://10.0.0.1/file?sig=x", "a schedule")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("not an https URL") && !err.contains("sig=x"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_get_per_key_skips_what_is_not_there() {
    use genesys_loader::genesys::allowlist::Endpoint;
    use genesys_loader::genesys::paging::{Page, get_each};
    let sim = Sim::start(sim_config(utc(2026, 10, 2, 0))).await.unwrap();
    let config = api_config(&sim);
    let api = config
        .connect(
            Arc::new(ApiStats::default()),
            Allowlist::new(&[Endpoint::get("/api/v2/users/{userId}")]),
        )
        .unwrap();
    let users = org_of(&sim).dimension("users");
    let mut paths: Vec<String> = users
        .iter()
        .take(5)
        .map(|u| format!("/api/v2/users/{}", u["id"].as_str().unwrap()))
        .collect();
    paths.push("/api/v2/users/00000000-0000-4000-8000-000000000000".into());
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Page>(2);
    let gather = async move {
        let (mut ids, mut pages) = (Vec::new(), 0);
        while let Some(page) = rx.recv().await {
            pages += 1;
            let body: serde_json::Value = serde_json::from_slice(&page.raw).unwrap();
            assert_eq!(body["entities"].as_array().unwrap().len(), page.len());
            for item in page.items().unwrap() {
                let v: serde_json::Value = serde_json::from_str(item).unwrap();
                ids.push(v["id"].as_str().unwrap().to_string());
            }
        }
        (ids, pages)
    };
    let fetch = async move {
        let requests = paths.into_iter().map(|p| (p, ())).collect();
        let r = get_each(
            &api,
            requests,
            3,
            ("entities", 2),
            |(), raw| Ok(vec![raw]),
            &tx,
        )
        .await;
        drop(tx);
        r
    };
    let (fetched, (ids, pages)) = tokio::join!(fetch, gather);
    let done = fetched.unwrap();
    assert_eq!((done.answered, done.missing, done.pages), (5, 1, 3));
    assert_eq!(pages, 3, "five answers in envelopes of two");
    let want: Vec<String> = users
        .iter()
        .take(5)
        .map(|u| u["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, want, "answers in the order asked");
}
