//! `genesys-sim`: runs the simulated org until SIGINT/SIGTERM.
//!
//! Prints exactly one line, `genesys-sim listening on http://127.0.0.1:PORT`, once it accepts
//! connections, so scripts that start it in the background can parse the address.

use std::io::Write;
use std::time::Duration;

use chrono::Utc;
use clap::Parser;
use clap::ValueEnum;
use genesys_sim::{DIVISIONS, FaultKind, Role, SecretHandle, Sim, SimConfig, availability_lagging};

/// Which client the org pairs roles with, for trying `preflight` by hand.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum Profile {
    /// A read-only loader role in every division.
    LeastPrivilege,
    /// Every permission everywhere ("God mode").
    GodMode,
    /// The loader role without any analytics permission (details and aggregates).
    NoAnalytics,
    /// The loader role granted in the first division only.
    OneDivision,
    /// The loader role without `quality:evaluation:searchAny`: evaluations are read one by one.
    NoQualitySearch,
}

impl Profile {
    fn roles(self) -> Vec<Role> {
        let mut role = Role::least_privilege_loader();
        match self {
            Profile::LeastPrivilege => {}
            Profile::GodMode => return vec![Role::god_mode()],
            Profile::NoAnalytics => role.permissions.retain(|p| !p.starts_with("analytics:")),
            Profile::OneDivision => role.divisions = vec![DIVISIONS[0].0.to_string()],
            Profile::NoQualitySearch => role
                .permissions
                .retain(|p| p != "quality:evaluation:searchAny"),
        }
        vec![role]
    }
}

fn fault_kind(s: &str) -> Result<FaultKind, String> {
    Ok(match s.trim() {
        "503" => FaultKind::Unavailable503,
        "429" => FaultKind::RateLimited429,
        "504" => FaultKind::Timeout504,
        "500" => FaultKind::InternalError500,
        "drop" => FaultKind::DroppedConnection,
        "slow" => FaultKind::Slow,
        "truncated" => FaultKind::TruncatedBody,
        "malformed" => FaultKind::MalformedBody,
        other => {
            return Err(format!(
                "unknown fault kind {other:?} (503, 429, 504, 500, drop, slow, truncated, malformed)"
            ));
        }
    })
}

#[derive(Debug, Parser)]
#[command(
    name = "genesys-sim",
    about = "A simulated Genesys Cloud org on loopback"
)]
struct Args {
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Seed of the generated data.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Conversations per UTC day.
    #[arg(long, default_value_t = 120)]
    per_day: u32,
    /// OAuth client id accepted by /oauth/token.
    #[arg(long, default_value = "sim-client")]
    client_id: String,
    /// OAuth client secret accepted by /oauth/token.
    #[arg(long, default_value = "sim-secret")]
    client_secret: String,
    /// Lifetime of issued tokens, in seconds.
    #[arg(long, default_value_t = 86_400)]
    token_lifetime_secs: u64,
    /// How far (hours) the jobs' data availability lags now; truncated to the hour.
    #[arg(long, default_value_t = 36)]
    availability_lag_hours: u32,
    /// Fraction of /api/v2 requests answered with an injected transient fault.
    #[arg(long, default_value_t = 0.0)]
    fault_rate: f64,
    /// The injected faults, in turn.
    #[arg(long, value_delimiter = ',', value_parser = fault_kind, default_value = "503,429,504")]
    fault_kinds: Vec<FaultKind>,
    /// Enforce this many /api/v2 requests per minute (429 with Retry-After beyond).
    #[arg(long)]
    rate_limit_per_minute: Option<u32>,
    /// Details jobs (and WFM bulk adherence jobs) complete this many milliseconds after
    /// submission, however often they are polled (as the platform's do); without it, details
    /// jobs after two polls and adherence jobs at the first.
    #[arg(long)]
    job_processing_ms: Option<u64>,
    /// Fraction of sync-query pages that repeat the previous page's last conversation.
    #[arg(long, default_value_t = 0.0)]
    duplicate_rate: f64,
    /// The roles paired with the client.
    #[arg(long, value_enum, default_value_t = Profile::LeastPrivilege)]
    profile: Profile,
    /// Dimension listings refuse pageNumber × pageSize beyond this many results.
    #[arg(long, default_value_t = 10_000)]
    listing_result_cap: u64,
    /// The aggregate query refuses more buckets (interval ÷ granularity) than this.
    #[arg(long, default_value_t = 2_000)]
    aggregate_max_buckets: u64,
    /// The aggregate query refuses intervals longer than this many days.
    #[arg(long, default_value_t = 31)]
    aggregate_max_interval_days: u64,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let config = SimConfig {
        seed: args.seed,
        conversations_per_day: args.per_day,
        client_id: args.client_id,
        client_secret: SecretHandle::new(&args.client_secret),
        token_lifetime: Duration::from_secs(args.token_lifetime_secs),
        data_availability: availability_lagging(Utc::now(), args.availability_lag_hours),
        fault_rate: args.fault_rate,
        fault_kinds: args.fault_kinds,
        rate_limit_per_minute: args.rate_limit_per_minute,
        job_processing_time: args.job_processing_ms.map(Duration::from_millis),
        duplicate_rate: args.duplicate_rate,
        roles: args.profile.roles(),
        listing_result_cap: args.listing_result_cap,
        aggregate_max_buckets: args.aggregate_max_buckets,
        aggregate_max_interval_days: args.aggregate_max_interval_days,
        ..SimConfig::default()
    };
    let sim = Sim::start_on(config, args.port).await?;
    {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "genesys-sim listening on {}", sim.base_url())?;
        stdout.flush()?;
    }
    shutdown_signal().await;
    sim.shutdown();
    Ok(())
}

/// Resolves on SIGINT (Ctrl-C) or, on Unix, SIGTERM.
async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}
