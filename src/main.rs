//! The `genesys-loader` binary: parse flags, set up logging, run, map errors to exit codes.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use genesys_loader::cli::{Cli, Command, LogFormat};
use genesys_loader::pipeline::RunSummary;
use genesys_loader::{Error, Result};
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_format, &cli.log);
    let log_format = cli.log_format;
    let result = match cli.command {
        Command::Ddl(args) => args.render().map(|sql| {
            print!("{sql}");
            0
        }),
        Command::Extract(args) => args
            .into_config()
            .and_then(|c| runtime()?.block_on(genesys_loader::pipeline::extract(c)))
            .map(|s| print_summary(&s)),
        Command::Rebuild(args) => args
            .into_config()
            .and_then(|c| runtime()?.block_on(genesys_loader::pipeline::rebuild(c)))
            .map(|s| print_summary(&s)),
        Command::Preflight(args) => run_preflight(*args),
        Command::Reconcile(args) => run_reconcile(args),
    };
    match result {
        Ok(code) => ExitCode::from(code as u8),
        Err(e) => {
            // One line naming the problem; a JSON log also gets it as a record for its parser.
            if matches!(log_format, LogFormat::Json) {
                tracing::error!(exit_code = e.exit_code(), "{e}");
            }
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code() as u8)
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Input(format!("cannot start the async runtime: {e}")))
}

/// One JSON line on stdout: what an Airflow task pushes to XCom. The exit code is 10
/// ("partial") when records were quarantined: the run committed the rest.
fn print_summary(summary: &RunSummary) -> i32 {
    let m = &summary.manifest;
    let rows: serde_json::Map<String, serde_json::Value> = m
        .tables
        .iter()
        .map(|(t, v)| (t.clone(), v.rows.into()))
        .collect();
    println!(
        "{}",
        serde_json::json!({
            "run_id": m.run_id,
            "manifest": summary.manifest_url,
            "load_script": summary.script_url,
            "datasets": m.datasets,
            "conversations": m.stats.conversations,
            "files": m.files.len(),
            "rows": rows,
            "quarantined": m.stats.quarantined,
            "seconds": m.stats.seconds,
        })
    );
    if m.stats.quarantined > 0 {
        tracing::warn!(
            quarantined = m.stats.quarantined,
            files = ?m.quarantine_files,
            "the run committed, but records that cannot be decoded were left out (exit code 10)"
        );
        10
    } else {
        0
    }
}

/// Prints the preflight report; its verdict is the exit code.
fn run_preflight(args: genesys_loader::cli::PreflightArgs) -> Result<i32> {
    let json = args.json;
    let config = args.into_config()?;
    let report = runtime()?.block_on(genesys_loader::preflight::run(config))?;
    if json {
        let text = serde_json::to_string_pretty(&report)
            .map_err(|e| Error::Input(format!("cannot render the report: {e}")))?;
        println!("{text}");
    } else {
        print!("{}", genesys_loader::preflight::render_text(&report));
    }
    Ok(report.exit_code())
}

/// Prints the reconciliation; mismatches beyond the tolerance are exit code 9.
fn run_reconcile(args: genesys_loader::cli::ReconcileArgs) -> Result<i32> {
    let json = args.json;
    let config = args.into_config()?;
    let report = runtime()?.block_on(genesys_loader::reconcile::run(config))?;
    if json {
        let text = serde_json::to_string_pretty(&report)
            .map_err(|e| Error::Input(format!("cannot render the report: {e}")))?;
        println!("{text}");
    } else {
        print!("{}", report.render_text());
    }
    Ok(report.exit_code())
}

fn init_logging(format: LogFormat, filter: &str) {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    match format {
        LogFormat::Text => builder.with_target(false).init(),
        LogFormat::Json => builder.json().init(),
    }
}
