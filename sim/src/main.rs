//! `genesys-sim`: runs the simulated org until SIGINT/SIGTERM.
//!
//! Prints exactly one line, `genesys-sim listening on http://127.0.0.1:PORT`, once it accepts
//! connections, so scripts that start it in the background can parse the address.

use std::io::Write;
use std::time::Duration;

use chrono::Utc;
use clap::Parser;
use genesys_sim::{SecretHandle, Sim, SimConfig, availability_lagging};

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
