//! `preflight` against simulated orgs: a least-privilege client passes, a God-mode client is
//! refused unless allowed, a missing permission is named, and missing divisions are reported.
//! Extraction with a division-restricted client records what it could not see.

mod util;

use genesys_sim::{DIVISIONS, Role, Sim, SimConfig};
use util::*;

async fn preflight(sim: &Sim, extra: &[&str]) -> Run {
    let mut args = vec![
        "preflight".to_string(),
        "--api-url".into(),
        sim.base_url(),
        "--login-url".into(),
        sim.base_url(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_genesys-loader"))
        .args(&args)
        .env_clear()
        .env("GENESYS_CLIENT_ID", "sim-client")
        .env("GENESYS_CLIENT_SECRET", SECRET)
        .output()
        .await
        .unwrap();
    Run {
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        output,
    }
}

fn with_roles(roles: Vec<Role>) -> SimConfig {
    sim_config(utc(2026, 10, 2, 0)).with_roles(roles)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_least_privilege_client_passes() {
    let sim = Sim::start(with_roles(vec![Role::least_privilege_loader()]))
        .await
        .unwrap();
    let run = preflight(&sim, &[]).await;
    assert_eq!(run.code(), Some(0), "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("Excess privilege: none"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("conversations   analytics:conversationDetail:view    yes      4/4"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("Verdict: OK"));
    assert!(
        run.stdout.contains("  analytics:conversationDetail:view\n"),
        "the custom role is printed"
    );
    assert!(!run.stdout.contains(SECRET) && !run.stderr.contains(SECRET));

    let json = preflight(&sim, &["--json", "--dataset", "conversations"]).await;
    assert_eq!(json.code(), Some(0));
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v["verdict"], "ok");
    assert_eq!(v["access"]["grant_type"], "CLIENT-CREDENTIALS");
    assert_eq!(
        v["datasets"][0]["coverage"]["missing"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    assert!(
        v["datasets"][0]["probes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["status"] == "ok")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_god_mode_client_is_refused_unless_allowed() {
    let sim = Sim::start(with_roles(vec![Role::god_mode()]))
        .await
        .unwrap();
    let run = preflight(&sim, &[]).await;
    assert_eq!(run.code(), Some(7), "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("REFUSED: excess privilege"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("*:*:*") && run.stdout.contains("an administrator role"),
        "{}",
        run.stdout
    );
    let allowed = preflight(&sim, &["--allow-excess-privilege"]).await;
    assert_eq!(allowed.code(), Some(0), "{}", allowed.stdout);
    assert!(
        allowed
            .stdout
            .contains("allowed by --allow-excess-privilege")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_permission_is_named() {
    let mut role = Role::least_privilege_loader();
    role.permissions.retain(|p| {
        !p.starts_with("analytics:conversationDetail")
            && !p.starts_with("analytics:agentConversationDetail")
    });
    let sim = Sim::start(with_roles(vec![role])).await.unwrap();
    let run = preflight(&sim, &["--dataset", "conversations"]).await;
    assert_eq!(run.code(), Some(4), "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("conversations   analytics:conversationDetail:view    NO"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("missing the following permission(s)"),
        "the 403 names it: {}",
        run.stdout
    );
    assert!(run.stdout.contains("MISSING PERMISSION"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_divisions_are_reported_and_extraction_records_them() {
    let mut role = Role::least_privilege_loader();
    role.divisions = vec![DIVISIONS[0].0.to_string()];
    let sim = Sim::start(with_roles(vec![role])).await.unwrap();
    let run = preflight(&sim, &["--dataset", "conversations"]).await;
    assert_eq!(run.code(), Some(0), "{}", run.stdout);
    assert!(run.stdout.contains("1/4"), "{}", run.stdout);
    assert!(
        run.stdout.contains("will be silently missing"),
        "{}",
        run.stdout
    );
    for (_, name) in &DIVISIONS[1..] {
        assert!(
            run.stdout.contains(name),
            "{name} not named: {}",
            run.stdout
        );
    }

    // An extraction with this client gets exactly the visible conversations, and says what it missed.
    let dir = tempfile::tempdir().unwrap();
    let out = extract(
        &sim,
        dir.path().to_str().unwrap(),
        &["--date", "2026-10-01"],
        &[],
    )
    .await;
    assert!(out.ok(), "{}", out.stderr);
    assert!(out.stderr.contains("silently left out"), "{}", out.stderr);
    let manifest = read_manifest(dir.path());
    let org = org_of(&sim);
    let visible = org.conversations_visible_in(
        utc(2026, 10, 1, 0),
        utc(2026, 10, 2, 0),
        Some(&[DIVISIONS[0].0.to_string()]),
    );
    assert_eq!(manifest.tables["conversations"].rows, visible.len() as u64);
    assert!(
        visible.len()
            < org
                .conversations_started_in(utc(2026, 10, 1, 0), utc(2026, 10, 2, 0))
                .len()
    );
    let coverage = manifest.divisions.coverage.expect("coverage recorded");
    assert_eq!(coverage.missing.len(), 3);
    assert!(coverage.exact);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_division_filter_keeps_only_the_named_divisions() {
    let sim = Sim::start(sim_config(utc(2026, 10, 2, 0))).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (id, name) = DIVISIONS[1];
    let run = extract(
        &sim,
        dir.path().to_str().unwrap(),
        &[
            "--from",
            "2026-10-01",
            "--to",
            "2026-10-03",
            "--division",
            name,
        ],
        &[],
    )
    .await;
    assert!(run.ok(), "{}", run.stderr);
    let manifest = read_manifest(dir.path());
    let org = org_of(&sim);
    let visible = org.conversations_visible_in(
        utc(2026, 10, 1, 0),
        utc(2026, 10, 3, 0),
        Some(&[id.to_string()]),
    );
    assert!(!visible.is_empty());
    assert_eq!(manifest.tables["conversations"].rows, visible.len() as u64);
    assert_eq!(manifest.divisions.requested.len(), 1);
    assert_eq!(manifest.divisions.requested[0].id, id);

    let bad = extract(
        &sim,
        dir.path().join("x").to_str().unwrap(),
        &["--date", "2026-10-01", "--division", "Nowhere"],
        &[],
    )
    .await;
    assert_eq!(bad.code(), Some(2), "{}", bad.stderr);
    assert!(
        bad.stderr
            .contains("--division \"Nowhere\" is not a division of this org"),
        "{}",
        bad.stderr
    );
}

/// A dataset with two ways of reading it: preflight says which the roles allow, and passes
/// when the fallback is open though the best route's probe is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preflight_says_which_evaluation_route_the_roles_allow() {
    let mut role = Role::least_privilege_loader();
    role.permissions
        .retain(|p| p != "quality:evaluation:searchAny");
    let sim = Sim::start(with_roles(vec![role.clone()])).await.unwrap();
    let run = preflight(&sim, &["--dataset", "evaluations,recordings"]).await;
    assert_eq!(run.code(), Some(0), "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("route evaluation search (100 per request): not allowed"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(
            "route conversation details, then one read per evaluation: allowed (the run reads it this way)"
        ),
        "{}",
        run.stdout
    );
    // The recommended role holds everything the best route of each dataset needs.
    for p in [
        "quality:evaluation:searchAny",
        "quality:evaluationForm:view",
        "recording:recording:view",
        "analytics:conversationDetail:view",
    ] {
        assert!(
            run.stdout.contains(&format!("  {p}\n")),
            "{p}: {}",
            run.stdout
        );
    }

    // Neither route: the dataset cannot be read.
    role.permissions
        .retain(|p| !p.starts_with("quality:evaluation:"));
    let sim = Sim::start(with_roles(vec![role])).await.unwrap();
    let run = preflight(&sim, &["--dataset", "evaluations"]).await;
    assert_eq!(run.code(), Some(4), "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("MISSING PERMISSION"), "{}", run.stdout);
}
