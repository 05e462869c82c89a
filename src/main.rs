//! The `genesys-loader` binary: parse flags, set up logging, run, map errors to exit codes.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use genesys_loader::cli::{Cli, Command, LogFormat};
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_format, &cli.log);
    let result = match cli.command {
        Command::Ddl(args) => args.render().map(|sql| print!("{sql}")),
        Command::Extract(args) => run_extract(*args),
        Command::Preflight(args) => match run_preflight(*args) {
            Ok(code) => return ExitCode::from(code as u8),
            Err(e) => Err(e),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(exit_code = e.exit_code(), "{e}");
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code() as u8)
        }
    }
}

fn run_extract(args: genesys_loader::cli::ExtractArgs) -> genesys_loader::Result<()> {
    let config = args.into_config()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            genesys_loader::Error::Input(format!("cannot start the async runtime: {e}"))
        })?;
    let summary = runtime.block_on(genesys_loader::pipeline::extract(config))?;
    let rows: serde_json::Map<String, serde_json::Value> = summary
        .manifest
        .tables
        .iter()
        .map(|(t, v)| (t.clone(), v.rows.into()))
        .collect();
    // One JSON line on stdout: what an Airflow task pushes to XCom.
    println!(
        "{}",
        serde_json::json!({
            "run_id": summary.manifest.run_id,
            "manifest": summary.manifest_url,
            "load_script": summary.script_url,
            "conversations": summary.manifest.stats.conversations,
            "files": summary.manifest.files.len(),
            "rows": rows,
            "seconds": summary.manifest.stats.seconds,
        })
    );
    Ok(())
}

/// Prints the preflight report; its verdict is the exit code.
fn run_preflight(args: genesys_loader::cli::PreflightArgs) -> genesys_loader::Result<i32> {
    let json = args.json;
    let config = args.into_config()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            genesys_loader::Error::Input(format!("cannot start the async runtime: {e}"))
        })?;
    let report = runtime.block_on(genesys_loader::preflight::run(config))?;
    if json {
        let text = serde_json::to_string_pretty(&report)
            .map_err(|e| genesys_loader::Error::Input(format!("cannot render the report: {e}")))?;
        println!("{text}");
    } else {
        print!("{}", genesys_loader::preflight::render_text(&report));
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
