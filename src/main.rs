//! The `genesys-loader` binary: parse flags, set up logging, run, map errors to exit codes.

use std::io::IsTerminal;
use std::process::ExitCode;

use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use genesys_loader::cli::{
    Cli, Command, ConfigArgs, ConfigCommand, ExtractCommand, LogFormat, ManifestArgs,
    ManifestCommand, PlanArgs,
};
use genesys_loader::pipeline::{RunSummary, fanout};
use genesys_loader::progress::{StatusLine, StatusWriter};
use genesys_loader::{Error, Result};
use tracing_subscriber::EnvFilter;

/// jemalloc: a decode allocates many short-lived values (each record's parsed fields, each
/// page's builders), which glibc's malloc served at a fifth of the CPU (benches/profile.md).
#[global_allocator]
static ALLOC: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// One arena, and freed pages returned after five seconds: each page's builders and Parquet
/// buffers reuse the memory of the page before instead of faulting in fresh zeroed pages (half
/// a second cost 12% more CPU and 40% more page faults on `rebuild`, for 25 MB less peak RSS).
/// Two arenas likely kept memory freed in one (a batch written on one thread) from the other
/// (the next page decoded on another thread): one arena gave the bench's rebuilds 10–21% less
/// peak RSS and 10–14% fewer page faults, at the same or 2% less CPU (benches/profile.md,
/// "Twenty-fourth round"). Small allocations come from each thread's cache either way; on a
/// worker with many cores running many chunks at once, `_RJEM_MALLOC_CONF=narenas:4` (say)
/// trades memory back for less locking. jemalloc reads this C string (`malloc_conf`) at start;
/// `_RJEM_MALLOC_CONF` in the environment still overrides it.
#[unsafe(export_name = "_rjem_malloc_conf")]
static MALLOC_CONF: &[u8; 47] = b"narenas:1,dirty_decay_ms:5000,muzzy_decay_ms:0\0";

fn main() -> ExitCode {
    // The config file's settings join the command line under the flags and the environment.
    let args = match genesys_loader::config::apply(std::env::args_os().collect()) {
        Ok(args) => args,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(e.exit_code() as u8);
        }
    };
    // Bad flags are one line (a DAG shows a task's last line), with the usual exit code 2;
    // help and version print as clap prints them.
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e)
            if !e.use_stderr()
                || e.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand =>
        {
            e.exit()
        }
        Err(e) => {
            let text = e.render().to_string();
            let first = text
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("error: bad command line");
            eprintln!("{} (see --help)", first.trim_end());
            return ExitCode::from(2);
        }
    };
    // A status line only for people: on a terminal, with text logs, for commands that fetch.
    let status = (std::io::stderr().is_terminal()
        && matches!(cli.log_format, LogFormat::Text)
        && cli.command.shows_progress())
    .then(|| StatusLine::start(Duration::from_millis(200)));
    init_logging(cli.log_format, &cli.log, status.clone());
    let log_format = cli.log_format;
    let result = match cli.command {
        Command::Ddl(args) => args.render().map(|sql| {
            print!("{sql}");
            0
        }),
        Command::Docs => {
            print!("{}", genesys_loader::reference::tables_markdown());
            Ok(0)
        }
        Command::Extract(cmd) => run_extract(*cmd, status.as_deref()),
        Command::Plan(args) => run_plan(*args),
        Command::Manifest(ManifestArgs {
            command: ManifestCommand::Merge(args),
        }) => args
            .into_config()
            .and_then(|c| runtime()?.block_on(fanout::merge(c)))
            .map(|s| finish_run(&s, status.as_deref())),
        Command::Rebuild(args) => args
            .into_config()
            .and_then(|c| runtime()?.block_on(genesys_loader::pipeline::rebuild(c)))
            .map(|s| finish_run(&s, status.as_deref())),
        Command::Preflight(args) => run_preflight(*args),
        Command::Reconcile(args) => run_reconcile(args),
        Command::Gc(args) => run_gc(args),
        Command::Config(ConfigArgs {
            command: ConfigCommand::Check,
        }) => run_config_check(cli.config.as_deref()),
    };
    if let Some(line) = &status {
        line.finish();
    }
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

/// `extract`: a whole run, one chunk of a planned run, or a dry run.
fn run_extract(cmd: ExtractCommand, status: Option<&StatusLine>) -> Result<i32> {
    if cmd.dry_run {
        let config = cmd.args.into_plan_config()?;
        let dry = runtime()?.block_on(genesys_loader::pipeline::dry_run::dry_run(&config))?;
        if let Some(line) = status {
            line.finish();
        }
        eprint!("{}", dry.render_text());
        println!("{}", to_json(&dry)?);
        return Ok(0);
    }
    if let Some(chunk) = &cmd.chunk {
        let chunk = fanout::ChunkRef::parse(chunk, cmd.run_id.as_deref())?;
        // An id is re-planned from the flags; the chunk's JSON carries its plan.
        let config = cmd.args.into_config()?;
        let done = runtime()?.block_on(fanout::extract_chunk(config, chunk))?;
        let (m, rows) = (&done.manifest, done.rows());
        if let Some(line) = status {
            line.finish();
        }
        eprint!("{}", done.render_text());
        println!(
            "{}",
            serde_json::json!({
                "run_id": m.run_id,
                "chunk": m.chunk.id,
                "chunk_manifest": done.manifest_url,
                "ran": done.ran,
                "files": m.outcome.files.len(),
                "rows": rows,
                "quarantined": m.outcome.quarantined.values().sum::<u64>(),
                "requests": m.api.requests,
                "retries": m.api.retries,
                "seconds": m.seconds,
            })
        );
        return Ok(0);
    }
    let config = cmd.args.into_config()?;
    let summary = runtime()?.block_on(genesys_loader::pipeline::extract(config))?;
    Ok(finish_run(&summary, status))
}

/// `config check`: resolves `extract`'s settings from the file, the environment and the
/// defaults, prints them with their sources (secrets redacted), then validates them as a run
/// would (the secret source included); the exit code is the validation's.
fn run_config_check(path: Option<&std::path::Path>) -> Result<i32> {
    use clap::CommandFactory;
    let mut argv: Vec<std::ffi::OsString> = vec!["genesys-loader".into()];
    if let Some(p) = path {
        argv.push("--config".into());
        argv.push(p.into());
    }
    argv.push("extract".into());
    let argv = genesys_loader::config::apply(argv)?;
    let file_keys = match path {
        Some(p) => genesys_loader::config::file_keys(p)?,
        None => Vec::new(),
    };
    let mut cmd = Cli::command();
    let matches = cmd
        .try_get_matches_from_mut(argv.clone())
        .map_err(|e| Error::Input(e.to_string().trim().to_string()))?;
    let extract = cmd.find_subcommand("extract").expect("extract exists");
    let (_, sub) = matches.subcommand().expect("extract was given");
    match path {
        Some(p) => println!("config file: {}", p.display()),
        None => println!("config file: none (set --config or GENESYS_CONFIG)"),
    }
    print!(
        "{}",
        genesys_loader::config::resolved(sub, extract, &file_keys)
    );
    let cli = Cli::try_parse_from(argv).map_err(|e| Error::Input(e.to_string()))?;
    if let Command::Extract(cmd) = cli.command {
        cmd.args.into_plan_config()?;
    }
    println!("config ok");
    Ok(0)
}

/// `gc`: lists (or removes) what no manifest names.
fn run_gc(args: genesys_loader::cli::GcArgs) -> Result<i32> {
    let json = args.json;
    let report = runtime()?.block_on(genesys_loader::gc::run(args.into_config()?))?;
    if json {
        println!("{}", to_json(&report)?);
    } else {
        print!("{}", report.render_text());
    }
    Ok(0)
}

/// `plan`: the chunks of a run, as a table or one JSON line.
fn run_plan(args: PlanArgs) -> Result<i32> {
    let json = args.json;
    let run_id = match args.run_id {
        Some(id) => id,
        None => genesys_loader::pipeline::new_run_id(chrono::Utc::now()),
    };
    let config = args.args.into_plan_config()?;
    let plan = runtime()?.block_on(fanout::plan(&config, run_id))?;
    if json {
        println!("{}", to_json(&plan)?);
    } else {
        print!("{}", genesys_loader::pipeline::dry_run::render_plan(&plan));
    }
    Ok(0)
}

fn to_json(v: &impl serde::Serialize) -> Result<String> {
    serde_json::to_string(v).map_err(|e| Error::Input(format!("cannot render JSON: {e}")))
}

/// Ends the status line, prints the summary for people (stderr) and for machines (stdout).
fn finish_run(summary: &RunSummary, status: Option<&StatusLine>) -> i32 {
    if let Some(line) = status {
        line.finish();
    }
    eprint!("{}", summary.manifest.render_summary());
    print_summary(summary)
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
    let api = &m.stats.api;
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
            "summary": {
                "rows": m.stats.rows,
                "bytes": m.stats.bytes,
                "chunks": m.stats.chunks,
                "pages": m.stats.pages,
                "requests": api.requests,
                "retries": api.retries,
                "rate_limited": api.rate_limited,
                "token_requests": api.token_requests,
                "seconds": m.stats.seconds,
            },
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

fn init_logging(format: LogFormat, filter: &str, status: Option<Arc<StatusLine>>) {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal());
    match (format, status) {
        // Log lines clear the status line, then redraw it: the two never share a line.
        (LogFormat::Text, Some(line)) => builder
            .with_writer(StatusWriter { line })
            .with_target(false)
            .init(),
        (LogFormat::Text, None) => builder
            .with_writer(std::io::stderr)
            .with_target(false)
            .init(),
        (LogFormat::Json, _) => builder.with_writer(std::io::stderr).json().init(),
    }
}
