//! The status line and the summary, seen as a person sees them: `extract` run in a
//! pseudo-terminal (`script`), and the same run with stderr on a pipe, as Airflow runs it.

mod util;

use genesys_sim::Sim;
use util::*;

/// Clears the line and returns to its start: how the status line redraws itself.
const CLEAR: &str = "\r\x1b[2K";

/// Whether `script` (util-linux) can make a pseudo-terminal here; where the test script requires
/// every test to run, its absence fails instead of skipping.
fn pseudo_terminal_available() -> bool {
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_ok()
    {
        return true;
    }
    assert!(
        std::env::var("GENESYS_REQUIRE_PYTHON_TESTS").is_err(),
        "script (util-linux) is needed for the terminal test"
    );
    eprintln!("skipped: no `script` (util-linux) to make a pseudo-terminal");
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terminal_shows_the_status_line_and_the_summary_a_pipe_only_the_summary() {
    if !pseudo_terminal_available() {
        return;
    }
    let sim = Sim::start(sim_config(utc(2026, 10, 2, 6))).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("tty");
    let command = format!(
        // A wide terminal, so the status line is never cut to the caller's width.
        "stty cols 250 2>/dev/null; {} extract --api-url {url} --login-url {url} --out {} --job-poll-ms 20 --from 2026-10-01 --to 2026-10-04 --dataset conversations,queues",
        env!("CARGO_BIN_EXE_genesys-loader"),
        out.display(),
        url = sim.base_url(),
    );
    let tty = tokio::process::Command::new("script")
        .args(["-q", "-e", "-c", &command, "/dev/null"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("TERM", "xterm")
        .env("GENESYS_CLIENT_ID", "sim-client")
        .env("GENESYS_CLIENT_SECRET", SECRET)
        .output()
        .await
        .expect("run script");
    let screen = String::from_utf8_lossy(&tty.stdout).into_owned();
    assert!(tty.status.success(), "{screen}");
    let manifest = read_manifest(&out);

    // The status line was drawn, and ended with the run's final figures.
    assert!(screen.contains(CLEAR), "no status line drawn:\n{screen}");
    let last = format!(
        "chunks 4/4 · pages {} · rows {} · ",
        manifest.stats.pages,
        genesys_loader::progress::thousands(manifest.stats.rows)
    );
    assert!(
        screen.contains(&last),
        "no final status {last:?} in:\n{screen}"
    );
    assert!(screen.contains("ETA "), "{screen}");
    // Every log line starts on a line of its own: after the status line is cleared.
    let logs: Vec<&str> = screen.split('\n').filter(|l| l.contains("INFO")).collect();
    assert!(logs.len() >= 4, "{screen}");
    for l in &logs {
        let shown = l.rsplit(CLEAR).next().unwrap();
        let shown = shown.trim_start_matches("\x1b[2m");
        assert!(
            shown.starts_with("2026-") || shown.starts_with("20"),
            "a log line shares its line with something else: {l:?}"
        );
    }
    // The summary: rows per table and the API figures, as the manifest has them.
    assert!(
        screen.contains(&format!(
            "run {} committed: 4 chunk(s), {} file(s)",
            manifest.run_id,
            manifest.files.len()
        )),
        "{screen}"
    );
    for (table, t) in manifest.tables.iter().filter(|(_, t)| t.rows > 0) {
        let line = format!(
            "  {table:<34} {:>12} rows",
            genesys_loader::progress::thousands(t.rows)
        );
        assert!(screen.contains(&line), "no {line:?} in:\n{screen}");
    }
    let api = &manifest.stats.api;
    assert!(
        screen.contains(&format!(
            "API: {} requests, {} retries, {} answered 429, {} token requests",
            api.requests, api.retries, api.rate_limited, api.token_requests
        )),
        "{screen}"
    );
    assert!(
        manifest.stats.rows == manifest.tables.values().map(|t| t.rows).sum::<u64>()
            && manifest.stats.bytes == manifest.files.iter().map(|f| f.bytes).sum::<u64>()
            && manifest.stats.chunks == 4
    );
    // Kept for the record (scripts print it; the report quotes it).
    if let Ok(path) = std::env::var("GENESYS_CAPTURE_TTY") {
        std::fs::write(path, &tty.stdout).unwrap();
    }

    // On a pipe: no status line, the same summary on stderr, and the figures on stdout.
    let piped = extract(
        &sim,
        dir.path().join("pipe").to_str().unwrap(),
        &[
            "--from",
            "2026-10-01",
            "--to",
            "2026-10-04",
            "--dataset",
            "conversations,queues",
        ],
        &[],
    )
    .await;
    assert!(piped.ok(), "{}", piped.stderr);
    assert!(!piped.stderr.contains(CLEAR) && !piped.stderr.contains("chunks 4/4"));
    assert!(
        piped.stderr.contains("committed: 4 chunk(s)"),
        "{}",
        piped.stderr
    );
    let s = piped.summary();
    assert_eq!(s["summary"]["rows"], manifest.stats.rows);
    assert_eq!(s["summary"]["chunks"], 4);
    for key in [
        "requests",
        "retries",
        "rate_limited",
        "token_requests",
        "bytes",
        "seconds",
    ] {
        assert!(s["summary"][key].is_number(), "{key}: {s}");
    }
}

/// The README's first command, as a person runs it in a terminal: `scripts/demo.sh` in a
/// pseudo-terminal, against this test's simulated org (today's data, every dataset) and the
/// loader this build made. The status line is drawn, and the summary (the loader's on stderr,
/// the demo's table on stdout) gives the rows the manifest lists.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_in_a_terminal_shows_the_status_line_and_a_right_summary() {
    if !pseudo_terminal_available() {
        return;
    }
    // The org as of now, its jobs' data available up to 36 hours ago, as the demo's own.
    let now = chrono::Utc::now();
    let mut config = sim_config(now - chrono::Duration::hours(36));
    config.conversations_per_day = 40;
    let sim = Sim::start(config).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("demo-out");
    let demo = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/demo.sh");
    let command = format!("stty cols 250 2>/dev/null; bash {demo} {}", out.display());
    let tty = tokio::process::Command::new("script")
        .args(["-q", "-e", "-c", &command, "/dev/null"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("TERM", "xterm")
        .env("GENESYS_LOADER", env!("CARGO_BIN_EXE_genesys-loader"))
        .env("GENESYS_SIM_URL", sim.base_url())
        .env("GENESYS_CLIENT_ID", "sim-client")
        .env("GENESYS_CLIENT_SECRET", SECRET)
        .output()
        .await
        .expect("run the demo");
    let screen = String::from_utf8_lossy(&tty.stdout).into_owned();
    assert!(tty.status.success(), "{screen}");
    let manifest = read_manifest(&out);

    assert!(screen.contains(CLEAR), "no status line drawn:\n{screen}");
    let chunks = manifest.stats.chunks;
    assert!(
        screen.contains(&format!("chunks {chunks}/{chunks} · ")),
        "no final status line in:\n{screen}"
    );
    assert!(
        screen.contains(&format!(
            "run {} committed: {chunks} chunk(s), {} file(s)",
            manifest.run_id,
            manifest.files.len()
        )),
        "{screen}"
    );
    // Every dataset ran, and both summaries agree with the manifest, table by table.
    for table in [
        "conversations",
        "quality_evaluations",
        "recordings",
        "wfm_shifts",
        "queues",
    ] {
        assert!(
            manifest.tables.get(table).is_some_and(|t| t.rows > 0),
            "{table} is empty in the demo's manifest"
        );
    }
    for (table, t) in manifest.tables.iter().filter(|(_, t)| t.rows > 0) {
        let loader = format!(
            "  {table:<34} {:>12} rows",
            genesys_loader::progress::thousands(t.rows)
        );
        assert!(screen.contains(&loader), "no {loader:?} in:\n{screen}");
        let demo = format!("  {table:<30} {:>8} rows", t.rows);
        assert!(screen.contains(&demo), "no {demo:?} in:\n{screen}");
    }
    assert!(
        screen.contains(&format!("run {}: ", manifest.run_id)),
        "{screen}"
    );
    if let Ok(path) = std::env::var("GENESYS_CAPTURE_DEMO_TTY") {
        std::fs::write(path, &tty.stdout).unwrap();
    }
}
