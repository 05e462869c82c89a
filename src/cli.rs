//! Command-line flags (clap), each with an environment variable for Airflow, and their
//! validation into the library's configuration types.

use std::path::PathBuf;
use std::time::Duration;

use chrono::Utc;
use clap::{Args, Parser, Subcommand, ValueEnum};
use secrecy::SecretString;

use crate::datasets::aggregates::{AggregateSettings, parse_granularity};
use crate::datasets::conversations::{DetailsSettings, QUERY_RESULT_CAP};
use crate::datasets::{self, Options};
use crate::error::{Error, Result};
use crate::genesys::{ApiConfig, Credentials, RateLimitPolicy, RetryPolicy, SecretSource, regions};
use crate::pipeline::{ExtractConfig, RebuildConfig};
use crate::plan::Range;
use crate::preflight::PreflightConfig;
use crate::sink::{Output, WriteBudget, WriterSettings};
use crate::snowflake::ddl::{self, DdlOptions, StageOptions, StageTemplate};
use crate::snowflake::load::{Names, identifier, stage_reference};
use crate::snowflake::manifest::SnowflakeTarget;

/// The variable holding the client secret when no file or command is given.
pub const SECRET_ENV: &str = "GENESYS_CLIENT_SECRET";

/// `--zstd-level`'s default: see [`crate::sink::WriterSettings::zstd_level`].
const DEFAULT_ZSTD_LEVEL: i32 = 1;
/// The fastest zstd level `--zstd-level` takes.
const MIN_ZSTD_LEVEL: i32 = -7;

/// `--write-buffer-mb`'s default: see [`crate::sink::DEFAULT_BUDGET_BYTES`].
pub const DEFAULT_WRITE_BUFFER_MB: usize = crate::sink::DEFAULT_BUDGET_BYTES / (1024 * 1024);

#[derive(Debug, Parser)]
#[command(name = "genesys-loader", version, about = "Genesys Cloud history → partitioned Parquet → Snowflake", long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Log format on stderr.
    #[arg(long, global = true, env = "GENESYS_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Log filter (tracing syntax, e.g. `info`, `genesys_loader=debug`).
    #[arg(long, global = true, env = "GENESYS_LOG", default_value = "info")]
    pub log: String,
    /// TOML file of pipeline settings (flag names in snake case); flags and the environment
    /// override it. `config check` shows what it resolves to.
    #[arg(long, global = true, env = "GENESYS_CONFIG")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Extract a date range into partitioned Parquet plus a manifest and a Snowflake load script.
    Extract(Box<ExtractCommand>),
    /// Cut a run into chunks (dataset, day) for a fan-out; calls only what planning needs.
    Plan(Box<PlanArgs>),
    /// Chunk manifests into one run: `manifest merge`.
    Manifest(ManifestArgs),
    /// The config file: `config check`.
    Config(ConfigArgs),
    /// List (with --delete, remove) data files no manifest names, old raw pages and idle run
    /// state; never a file a manifest names.
    Gc(GcArgs),
    /// Check what the OAuth client can do against what the chosen datasets need.
    Preflight(Box<PreflightArgs>),
    /// Re-derive the tables of partitioned datasets over a range from the raw zone (no API call).
    Rebuild(Box<RebuildArgs>),
    /// Print Snowflake DDL for the output tables (and stage templates, upgrades).
    Ddl(DdlArgs),
    /// Print the table reference (Markdown) generated from the schemas: every dataset, the
    /// permissions it needs, its tables, keys, partitions and columns.
    Docs,
    /// Compare the conversation aggregates with counts derived from the conversation tables
    /// of an output, per queue, media type and day.
    Reconcile(ReconcileArgs),
}

impl Command {
    /// Whether the command fetches or writes for long enough to show a status line.
    pub fn shows_progress(&self) -> bool {
        match self {
            Command::Extract(c) => !c.dry_run,
            Command::Rebuild(_) | Command::Manifest(_) => true,
            _ => false,
        }
    }
}

/// Where the org is and how to authenticate: shared by `extract` and `preflight`.
#[derive(Debug, Args)]
pub struct ConnectionArgs {
    /// Genesys Cloud region domain, e.g. mypurecloud.ie or euw2.pure.cloud.
    #[arg(long, env = "GENESYS_REGION")]
    pub region: Option<String>,
    /// API base URL (instead of --region; needs --login-url).
    #[arg(long, env = "GENESYS_API_URL")]
    pub api_url: Option<String>,
    /// Login (OAuth) base URL (instead of --region; needs --api-url).
    #[arg(long, env = "GENESYS_LOGIN_URL")]
    pub login_url: Option<String>,
    /// OAuth client id of a client-credentials client.
    #[arg(long, env = "GENESYS_CLIENT_ID")]
    pub client_id: Option<String>,
    /// File holding the client secret (wins over GENESYS_CLIENT_SECRET); re-read on every token request.
    #[arg(
        long,
        env = "GENESYS_CLIENT_SECRET_FILE",
        conflicts_with = "client_secret_command"
    )]
    pub client_secret_file: Option<PathBuf>,
    /// Command whose output is the client secret (e.g. a vault CLI); run on every token request.
    /// Its text may carry a token, so `--help` never shows the variable's value.
    #[arg(long, env = "GENESYS_CLIENT_SECRET_COMMAND", hide_env_values = true)]
    pub client_secret_command: Option<SecretString>,
    /// Requests per minute this run allows itself (the platform allows 300 per client).
    #[arg(long, env = "GENESYS_MAX_REQUESTS_PER_MINUTE", default_value_t = 240)]
    pub max_requests_per_minute: u32,
    /// Attempts per API request before the run fails.
    #[arg(long, env = "GENESYS_MAX_ATTEMPTS", default_value_t = 6)]
    pub max_attempts: u32,
    /// Seconds to keep retrying a refused secret that worked earlier in the run (a rotation).
    #[arg(
        long,
        env = "GENESYS_SECRET_ROTATION_GRACE_SECS",
        default_value_t = 120
    )]
    pub secret_rotation_grace_secs: u64,
    /// Seconds before one API request times out (and is retried).
    #[arg(long, env = "GENESYS_REQUEST_TIMEOUT_SECS", default_value_t = 120)]
    pub request_timeout_secs: u64,
}

impl ConnectionArgs {
    pub fn into_api_config(self) -> Result<ApiConfig> {
        let (api_url, login_url) = match (&self.region, &self.api_url, &self.login_url) {
            (Some(r), None, None) => regions::hosts(r).ok_or_else(|| {
                Error::Input(format!(
                    "--region {r:?} is not a Genesys Cloud region domain; known: {}",
                    regions::REGIONS
                        .iter()
                        .map(|(d, _)| *d)
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })?,
            (None, Some(a), Some(l)) => (check_url("--api-url", a)?, check_url("--login-url", l)?),
            (Some(_), _, _) => {
                return Err(Error::Input(
                    "give either --region or --api-url with --login-url, not both".into(),
                ));
            }
            (None, Some(_), None) => {
                return Err(Error::Input(
                    "--api-url needs --login-url (they are separate hosts)".into(),
                ));
            }
            (None, None, Some(_)) => {
                return Err(Error::Input(
                    "--login-url needs --api-url (they are separate hosts)".into(),
                ));
            }
            (None, None, None) => {
                return Err(Error::Input(
                    "give --region (e.g. mypurecloud.ie) or --api-url with --login-url".into(),
                ));
            }
        };
        let client_id = self
            .client_id
            .filter(|c| !c.trim().is_empty())
            .ok_or_else(|| {
                Error::Input("no client id: set GENESYS_CLIENT_ID or --client-id".into())
            })?;
        let secret = match (self.client_secret_file, self.client_secret_command) {
            (Some(p), _) => SecretSource::File(p),
            (None, Some(c)) => SecretSource::Command(c),
            (None, None) => SecretSource::Env(SECRET_ENV.into()),
        };
        // Fail now, not after the first request, when the secret cannot be read.
        secret.read()?;
        if self.max_requests_per_minute == 0 {
            return Err(Error::Input(
                "--max-requests-per-minute must be at least 1".into(),
            ));
        }
        if self.max_attempts == 0 {
            return Err(Error::Input("--max-attempts must be at least 1".into()));
        }
        if self.request_timeout_secs == 0 {
            return Err(Error::Input(
                "--request-timeout-secs must be at least 1".into(),
            ));
        }
        Ok(ApiConfig {
            api_url,
            login_url,
            credentials: Credentials { client_id, secret },
            retry: RetryPolicy {
                max_attempts: self.max_attempts,
                request_timeout: Duration::from_secs(self.request_timeout_secs),
                ..RetryPolicy::default()
            },
            rate_limit: RateLimitPolicy {
                max_per_minute: self.max_requests_per_minute,
                ..RateLimitPolicy::default()
            },
            rotation_grace: Duration::from_secs(self.secret_rotation_grace_secs),
        })
    }
}

/// Where a run writes and how its load script names things: shared by `extract` and `rebuild`.
#[derive(Debug, Args)]
pub struct TargetArgs {
    /// Output root: a local path, file://..., or s3://bucket/prefix.
    #[arg(long, env = "GENESYS_OUT", default_value = "./genesys-out")]
    pub out: String,
    /// Snowflake stage that points at the output root.
    #[arg(long, env = "GENESYS_STAGE", default_value = "@genesys_stage")]
    pub stage: String,
    /// Snowflake database the load script qualifies table names with.
    #[arg(long, env = "GENESYS_SNOWFLAKE_DATABASE")]
    pub database: Option<String>,
    /// Snowflake schema the load script qualifies table names with.
    #[arg(long, env = "GENESYS_SNOWFLAKE_SCHEMA")]
    pub schema: Option<String>,
}

impl TargetArgs {
    /// Checks the names, then opens the output (last: it may create a folder).
    fn resolve(self) -> Result<(Output, String, SnowflakeTarget)> {
        self.resolve_with(true)
    }

    /// As [`resolve`](Self::resolve); with `touch` false the output is named, not opened (a
    /// plan or a dry run writes nothing).
    fn resolve_with(self, touch: bool) -> Result<(Output, String, SnowflakeTarget)> {
        stage_reference(&self.stage)?;
        let names = names(self.database.as_deref(), self.schema.as_deref())?;
        let output = if touch {
            Output::open(&self.out)?
        } else {
            Output::detached(&self.out)?
        };
        Ok((
            output,
            self.stage,
            SnowflakeTarget {
                database: names.database,
                schema: names.schema,
            },
        ))
    }
}

#[derive(Debug, Args)]
pub struct ExtractArgs {
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// Dataset to extract (repeatable, or comma-separated): conversations,
    /// conversation-aggregates, evaluations (with evaluation-forms), recordings, users, queues,
    /// divisions, wrapup-codes, skills, languages, groups, teams, evaluation-forms; or a
    /// group: dimensions, all.
    #[arg(
        long = "dataset",
        env = "GENESYS_DATASETS",
        value_delimiter = ',',
        default_value = "conversations"
    )]
    pub datasets: Vec<String>,
    /// Start of the range, inclusive: a UTC date (YYYY-MM-DD) or an RFC 3339 instant.
    #[arg(long, env = "GENESYS_FROM")]
    pub from: Option<String>,
    /// End of the range, exclusive (default with --from: the start of today, UTC).
    #[arg(long, env = "GENESYS_TO")]
    pub to: Option<String>,
    /// One UTC day. Without --date or --from: yesterday, UTC.
    #[arg(long, env = "GENESYS_DATE")]
    pub date: Option<String>,
    /// Nightly window: re-extract the last N whole UTC days (default without a range: 1, yesterday).
    #[arg(long, env = "GENESYS_LOOKBACK_DAYS")]
    pub lookback_days: Option<u32>,
    /// Only conversations of these divisions (name or id; repeatable).
    #[arg(long = "division", env = "GENESYS_DIVISIONS", value_delimiter = ',')]
    pub divisions: Vec<String>,
    /// Let this run's load replace days that the run which last loaded them reached more
    /// divisions for (a client that lost a division); without it the load script refuses,
    /// naming the divisions.
    #[arg(long, env = "GENESYS_ALLOW_COVERAGE_SHRINK")]
    pub allow_coverage_shrink: bool,
    #[command(flatten)]
    pub target: TargetArgs,
    /// Chunks (days, snapshots) fetched at once, over all datasets.
    #[arg(long, env = "GENESYS_CONCURRENCY", default_value_t = 2)]
    pub concurrency: usize,
    /// Page size of the synchronous details query (the API allows at most 100).
    #[arg(long, env = "GENESYS_PAGE_SIZE", default_value_t = 100)]
    pub page_size: u32,
    /// Page size of async job results.
    #[arg(long, env = "GENESYS_JOB_PAGE_SIZE", default_value_t = 1000)]
    pub job_page_size: u32,
    /// Milliseconds before the first job status poll; later waits grow 1.5× up to 30 s. Once
    /// a job of the run has finished, the next one's first poll waits a tenth longer than it
    /// took.
    #[arg(long, env = "GENESYS_JOB_POLL_MS", default_value_t = 3000)]
    pub job_poll_ms: u64,
    /// Roll Parquet files at about this many MiB.
    #[arg(long, env = "GENESYS_TARGET_FILE_MB", default_value_t = 128)]
    pub target_file_mb: usize,
    /// Memory, in MiB, that all open Parquet files may hold at once in row groups and upload
    /// buffers; past it, files close row groups early and send what they buffered.
    #[arg(long, env = "GENESYS_WRITE_BUFFER_MB", default_value_t = DEFAULT_WRITE_BUFFER_MB)]
    pub write_buffer_mb: usize,
    /// zstd level of the Parquet files: 1 by default; higher (up to 22) for smaller files at
    /// more CPU, negative (zstd's fast levels, down to -7) for less CPU and larger files.
    #[arg(long, env = "GENESYS_ZSTD_LEVEL", default_value_t = DEFAULT_ZSTD_LEVEL, allow_negative_numbers = true)]
    pub zstd_level: i32,
    /// The details query's result cap (the platform's is 100,000); an interval with more
    /// results is split. For tests and orgs with a different cap.
    #[arg(long, hide = true, default_value_t = QUERY_RESULT_CAP)]
    pub query_result_cap: u64,
    /// conversation-aggregates: bucket length (ISO-8601: PT15M, PT30M, PT1H, P1D).
    #[arg(long, env = "GENESYS_GRANULARITY", default_value = "PT30M")]
    pub granularity: String,
    /// conversation-aggregates: dimensions to group by (repeatable, or comma-separated).
    #[arg(
        long = "group-by",
        env = "GENESYS_GROUP_BY",
        value_delimiter = ',',
        default_value = "queueId,mediaType"
    )]
    pub group_by: Vec<String>,
    /// conversation-aggregates: metrics to compute (default: every conversation metric).
    #[arg(long = "metric", env = "GENESYS_METRICS", value_delimiter = ',')]
    pub metrics: Vec<String>,
    /// Page size of listings and searches instead of each endpoint's largest (for tests).
    #[arg(long, hide = true)]
    pub listing_page_size: Option<u32>,
    /// evaluations: also re-extract, whole, the older conversation days whose evaluations were
    /// created or changed in the N days before the range's end (late evaluations; the nightly
    /// DAG passes 30). Needs quality:evaluation:searchAny.
    #[arg(long, env = "GENESYS_EVALUATIONS_CHANGED_SINCE_DAYS")]
    pub evaluations_changed_since_days: Option<u32>,
    /// evaluations and recordings: requests in flight at once per day (one per evaluation or
    /// recorded conversation), all under the run's one rate limit.
    #[arg(long, env = "GENESYS_FANOUT_CONCURRENCY", default_value_t = 4)]
    pub fanout_concurrency: usize,
    /// Leave free text out of everything written, raw pages included: evaluation comments
    /// (quality_evaluations.comments, private_comments, agent_comments,
    /// quality_question_scores.comments and ai_answer's explanation) and recording annotation
    /// descriptions (recording_annotations.description).
    #[arg(long, env = "GENESYS_DROP_FREE_TEXT")]
    pub drop_free_text: bool,
    /// Keep every API page, zstd-compressed, under <out>/_raw/, so `rebuild` can re-derive
    /// the tables later with no API call.
    #[arg(long, env = "GENESYS_KEEP_RAW")]
    pub keep_raw: bool,
    /// Redo everything, ignoring the checkpoints of an interrupted run of the same command.
    #[arg(long)]
    pub force: bool,
    /// Records that cannot be decoded to tolerate: they are kept under <out>/_quarantine/,
    /// the rest is committed and the exit code is 10; more fail the run.
    #[arg(long, env = "GENESYS_MAX_QUARANTINED", default_value_t = 10)]
    pub max_quarantined: u64,
}

/// `extract`: a whole run, one chunk of a planned run (`--chunk`), or a dry run.
#[derive(Debug, Args)]
pub struct ExtractCommand {
    #[command(flatten)]
    pub args: ExtractArgs,
    /// Run exactly one chunk of a planned run: its JSON as `plan --json` prints it, or its id
    /// (`conversations/2026-11-01`) with --run-id and the plan's range and datasets. Writes a
    /// chunk manifest for `manifest merge`.
    #[arg(long, env = "GENESYS_CHUNK")]
    pub chunk: Option<String>,
    /// The run id a chunk belongs to (the one `plan` printed).
    #[arg(long, env = "GENESYS_RUN_ID")]
    pub run_id: Option<String>,
    /// Print the plan and what would be written and loaded; write nothing, load nothing.
    #[arg(long, env = "GENESYS_DRY_RUN", conflicts_with = "chunk")]
    pub dry_run: bool,
}

/// `plan`: the chunks of a run, for a fan-out.
#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub args: ExtractArgs,
    /// Fix the run id (default: a new one, from the current time).
    #[arg(long, env = "GENESYS_RUN_ID")]
    pub run_id: Option<String>,
    /// Print the plan as one JSON line (for Airflow's XCom) instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct GcArgs {
    /// The output root (a path, file://... or s3://...).
    #[arg(long, env = "GENESYS_OUT", default_value = "./genesys-out")]
    pub out: String,
    /// Remove what is listed (default: only list it).
    #[arg(long)]
    pub delete: bool,
    /// Hours an unnamed data file or idle run state is left alone: longer than the longest
    /// run, whose files are named only when it commits.
    #[arg(long, env = "GENESYS_GC_GRACE_HOURS", default_value_t = 168)]
    pub grace_hours: u32,
    /// Also list raw pages (`_raw/`) older than this many days (default: keep them all;
    /// `rebuild` needs them).
    #[arg(long, env = "GENESYS_RAW_RETENTION_DAYS")]
    pub raw_retention_days: Option<u32>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

impl GcArgs {
    pub fn into_config(self) -> Result<crate::gc::GcConfig> {
        if self.grace_hours == 0 {
            return Err(Error::Input(
                "--grace-hours must be at least 1: a running run's files are not named yet".into(),
            ));
        }
        if self.raw_retention_days == Some(0) {
            return Err(Error::Input(
                "--raw-retention-days must be at least 1".into(),
            ));
        }
        Ok(crate::gc::GcConfig {
            output: Output::open(&self.out)?,
            grace: chrono::Duration::hours(i64::from(self.grace_hours)),
            raw_retention_days: self.raw_retention_days,
            delete: self.delete,
            now: Utc::now(),
        })
    }
}

#[derive(Debug, Args)]
pub struct ConfigArgs {
    #[command(subcommand)]
    pub command: ConfigCommand,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate the config file (--config or GENESYS_CONFIG) with the environment, and print
    /// the settings `extract` resolves, each with its source, secrets redacted.
    Check,
}

#[derive(Debug, Args)]
pub struct ManifestArgs {
    #[command(subcommand)]
    pub command: ManifestCommand,
}

#[derive(Debug, Subcommand)]
pub enum ManifestCommand {
    /// Combine the chunk manifests of a planned run into one manifest and one load script;
    /// refuses a missing or duplicated chunk.
    Merge(MergeArgs),
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// The run id `plan` printed.
    #[arg(long, env = "GENESYS_RUN_ID")]
    pub run_id: String,
    /// Records that cannot be decoded to tolerate over all chunks (as for extract).
    #[arg(long, env = "GENESYS_MAX_QUARANTINED", default_value_t = 10)]
    pub max_quarantined: u64,
    /// Chunk manifests (as `extract --chunk` printed them, or relative to --out); none: every
    /// chunk manifest of the run under <out>/_chunks/<run_id>/.
    pub chunk_manifests: Vec<String>,
}

impl MergeArgs {
    pub fn into_config(self) -> Result<crate::pipeline::fanout::MergeConfig> {
        crate::pipeline::fanout::check_run_id("--run-id", &self.run_id)?;
        let (output, stage, snowflake) = self.target.resolve()?;
        Ok(crate::pipeline::fanout::MergeConfig {
            output,
            run_id: self.run_id,
            chunk_manifests: self.chunk_manifests,
            stage,
            snowflake,
            max_quarantined: self.max_quarantined,
        })
    }
}

impl ExtractArgs {
    /// Checks the flags and resolves them into the library's configuration.
    pub fn into_config(self) -> Result<ExtractConfig> {
        self.into_config_with(true)
    }

    /// As [`into_config`](Self::into_config), for a plan or a dry run: the output is named,
    /// never opened, so nothing is created or written.
    pub fn into_plan_config(self) -> Result<ExtractConfig> {
        self.into_config_with(false)
    }

    fn into_config_with(self, touch: bool) -> Result<ExtractConfig> {
        let now = Utc::now();
        let range = Range::from_flags(
            self.from.as_deref(),
            self.to.as_deref(),
            self.date.as_deref(),
            self.lookback_days,
            now,
        )?
        .clamp_to_now(now, chrono::Duration::minutes(5))?;
        let datasets = dataset_names("--dataset", &self.datasets)?;
        let divisions: Vec<String> = self
            .divisions
            .iter()
            .map(|d| d.trim().to_string())
            .filter(|d| !d.is_empty())
            .collect();
        // Aggregates are sums over the divisions asked for and carry none: a division-scoped
        // run of them could only replace whole days.
        let unscopable = datasets
            .iter()
            .filter_map(|n| datasets::get(n))
            .find(|d| d.spec().division_scoped && datasets::division_column(*d).is_none());
        if let (false, Some(d)) = (divisions.is_empty(), unscopable) {
            return Err(Error::Input(format!(
                "--division: {name} rows carry no division (the API filters them, then sums), so a run restricted to divisions could only replace whole days and lose the other divisions' rows; extract {name} in a run without --division",
                name = d.spec().name
            )));
        }
        let api = self.connection.into_api_config()?;
        parse_granularity(&self.granularity)?;
        let group_by: Vec<String> = self
            .group_by
            .iter()
            .map(|g| g.trim().to_string())
            .filter(|g| !g.is_empty())
            .collect();
        let metrics: Vec<String> = self
            .metrics
            .iter()
            .map(|m| m.trim().to_string())
            .filter(|m| !m.is_empty())
            .collect();
        if let Some(m) = metrics
            .iter()
            .find(|m| !datasets::aggregates::METRICS.contains(&m.as_str()))
        {
            return Err(Error::Input(format!(
                "--metric {m:?} is not a conversation aggregate metric (e.g. nOffered, tHandle)"
            )));
        }
        if self.page_size == 0 || self.page_size > 100 {
            return Err(Error::Input(format!(
                "--page-size {} must be between 1 and 100",
                self.page_size
            )));
        }
        if self.job_page_size == 0 {
            return Err(Error::Input("--job-page-size must be at least 1".into()));
        }
        if self.concurrency == 0 || self.concurrency > 16 {
            return Err(Error::Input(format!(
                "--concurrency {} must be between 1 and 16",
                self.concurrency
            )));
        }
        if self.target_file_mb == 0 {
            return Err(Error::Input("--target-file-mb must be at least 1".into()));
        }
        check_write_buffer(self.write_buffer_mb)?;
        check_zstd_level(self.zstd_level)?;
        if self.fanout_concurrency == 0 || self.fanout_concurrency > 32 {
            return Err(Error::Input(format!(
                "--fanout-concurrency {} must be between 1 and 32",
                self.fanout_concurrency
            )));
        }
        if let Some(days) = self.evaluations_changed_since_days
            && !(1..=365).contains(&days)
        {
            return Err(Error::Input(format!(
                "--evaluations-changed-since-days {days} must be between 1 and 365"
            )));
        }
        let (output, stage, snowflake) = self.target.resolve_with(touch)?;
        Ok(ExtractConfig {
            datasets,
            range,
            divisions,
            allow_coverage_shrink: self.allow_coverage_shrink,
            output,
            api,
            stage,
            snowflake,
            concurrency: self.concurrency,
            options: Options {
                details: DetailsSettings {
                    query_page_size: self.page_size,
                    job_page_size: self.job_page_size,
                    job_poll_interval: Duration::from_millis(self.job_poll_ms),
                    query_result_cap: self.query_result_cap.max(1),
                    ..DetailsSettings::default()
                },
                aggregates: AggregateSettings {
                    granularity: self.granularity,
                    group_by,
                    metrics: if metrics.is_empty() {
                        AggregateSettings::default().metrics
                    } else {
                        metrics
                    },
                },
                listing: datasets::dimensions::ListingSettings {
                    page_size: self.listing_page_size,
                },
                evaluations: datasets::quality::EvaluationSettings {
                    changed_since_days: self.evaluations_changed_since_days,
                },
                fanout: datasets::FanoutSettings {
                    concurrency: self.fanout_concurrency,
                    drop_free_text: self.drop_free_text,
                },
            },
            writer: WriterSettings {
                target_file_bytes: self.target_file_mb * 1024 * 1024,
                budget: WriteBudget::new(self.write_buffer_mb * 1024 * 1024),
                zstd_level: self.zstd_level,
                ..WriterSettings::default()
            },
            keep_raw: self.keep_raw,
            force: self.force,
            max_quarantined: self.max_quarantined,
        })
    }
}

#[derive(Debug, Args)]
pub struct RebuildArgs {
    /// Datasets to rebuild (partitioned ones only; default conversations).
    #[arg(
        long = "dataset",
        value_delimiter = ',',
        default_value = "conversations"
    )]
    pub datasets: Vec<String>,
    /// First day, inclusive (YYYY-MM-DD).
    #[arg(long)]
    pub from: Option<String>,
    /// Last day, exclusive (YYYY-MM-DD).
    #[arg(long)]
    pub to: Option<String>,
    /// One day.
    #[arg(long)]
    pub date: Option<String>,
    #[command(flatten)]
    pub target: TargetArgs,
    /// Days rebuilt at once.
    #[arg(long, default_value_t = 2)]
    pub concurrency: usize,
    #[arg(long, default_value_t = 128)]
    pub target_file_mb: usize,
    /// As for extract.
    #[arg(long, env = "GENESYS_WRITE_BUFFER_MB", default_value_t = DEFAULT_WRITE_BUFFER_MB)]
    pub write_buffer_mb: usize,
    /// As for extract.
    #[arg(long, env = "GENESYS_ZSTD_LEVEL", default_value_t = DEFAULT_ZSTD_LEVEL, allow_negative_numbers = true)]
    pub zstd_level: i32,
    /// Records that cannot be decoded to tolerate (as for extract).
    #[arg(long, env = "GENESYS_MAX_QUARANTINED", default_value_t = 10)]
    pub max_quarantined: u64,
}

impl RebuildArgs {
    pub fn into_config(self) -> Result<RebuildConfig> {
        let range = whole_days("rebuild", &self.from, &self.to, &self.date)?;
        if self.concurrency == 0 || self.concurrency > 16 {
            return Err(Error::Input(format!(
                "--concurrency {} must be between 1 and 16",
                self.concurrency
            )));
        }
        if self.target_file_mb == 0 {
            return Err(Error::Input("--target-file-mb must be at least 1".into()));
        }
        check_write_buffer(self.write_buffer_mb)?;
        check_zstd_level(self.zstd_level)?;
        let datasets = datasets::resolve_named("--dataset", &self.datasets)?
            .iter()
            .map(|d| d.spec().name.to_string())
            .collect();
        let (output, stage, snowflake) = self.target.resolve()?;
        Ok(RebuildConfig {
            datasets,
            range,
            output,
            stage,
            snowflake,
            concurrency: self.concurrency,
            writer: WriterSettings {
                target_file_bytes: self.target_file_mb * 1024 * 1024,
                budget: WriteBudget::new(self.write_buffer_mb * 1024 * 1024),
                zstd_level: self.zstd_level,
                ..WriterSettings::default()
            },
            max_quarantined: self.max_quarantined,
        })
    }
}

#[derive(Debug, Args)]
pub struct ReconcileArgs {
    /// First day, inclusive (YYYY-MM-DD).
    #[arg(long)]
    pub from: Option<String>,
    /// Last day, exclusive (YYYY-MM-DD).
    #[arg(long)]
    pub to: Option<String>,
    /// One day.
    #[arg(long)]
    pub date: Option<String>,
    /// The output root holding both datasets (a path, file://... or s3://...).
    #[arg(long, env = "GENESYS_OUT", default_value = "./genesys-out")]
    pub out: String,
    /// Largest difference per count that is not reported as a mismatch.
    #[arg(long, default_value_t = 0)]
    pub tolerance: u64,
    /// Days before a day its conversations may have started and still emit metrics in it
    /// (1 for voice and chat; more for e-mail and messaging threads).
    #[arg(long, default_value_t = 1)]
    pub span_days: u64,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

impl ReconcileArgs {
    pub fn into_config(self) -> Result<crate::reconcile::ReconcileConfig> {
        let range = whole_days("reconcile", &self.from, &self.to, &self.date)?;
        Ok(crate::reconcile::ReconcileConfig {
            output: Output::open(&self.out)?,
            range,
            tolerance: self.tolerance,
            span_days: self.span_days,
        })
    }
}

#[derive(Debug, Args)]
pub struct PreflightArgs {
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// Datasets to check (repeatable, or comma-separated; default: all).
    #[arg(long = "dataset", env = "GENESYS_DATASETS", value_delimiter = ',')]
    pub datasets: Vec<String>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Accept a client with write or admin permissions (not recommended).
    #[arg(long, env = "GENESYS_ALLOW_EXCESS_PRIVILEGE")]
    pub allow_excess_privilege: bool,
}

impl PreflightArgs {
    pub fn into_config(self) -> Result<PreflightConfig> {
        let datasets = if self.datasets.is_empty() {
            vec!["all".to_string()]
        } else {
            dataset_names("--dataset", &self.datasets)?
        };
        Ok(PreflightConfig {
            api: self.connection.into_api_config()?,
            datasets,
            allow_excess_privilege: self.allow_excess_privilege,
        })
    }
}

#[derive(Debug, Args)]
pub struct DdlArgs {
    /// Database to qualify names with.
    #[arg(long, env = "GENESYS_SNOWFLAKE_DATABASE")]
    pub database: Option<String>,
    /// Schema to qualify names with.
    #[arg(long, env = "GENESYS_SNOWFLAKE_SCHEMA")]
    pub schema: Option<String>,
    /// Only the tables of these datasets (default: all).
    #[arg(long = "dataset", value_delimiter = ',')]
    pub datasets: Vec<String>,
    /// Emit ALTER TABLE ... ADD COLUMN (and CREATE TABLE) for what was added after this schema version.
    #[arg(long)]
    pub upgrade_from: Option<u32>,
    /// Also print a named Parquet file format and a CREATE STAGE template for this storage.
    #[arg(long, value_enum)]
    pub stage_template: Option<StageTemplate>,
    /// Stage name for the template.
    #[arg(long, env = "GENESYS_STAGE", default_value = "genesys_stage")]
    pub stage: String,
    /// Stage URL (s3://..., s3compat://..., gcs://..., azure://...); a placeholder when omitted.
    #[arg(long)]
    pub stage_url: Option<String>,
    /// Storage integration name for the s3, gcs and azure templates (default genesys_storage_integration).
    #[arg(long)]
    pub storage_integration: Option<String>,
    /// Endpoint host for the s3compat template (no scheme, no port).
    #[arg(long)]
    pub endpoint: Option<String>,
}

impl DdlArgs {
    /// Renders the DDL these flags ask for.
    pub fn render(self) -> Result<String> {
        let names = names(self.database.as_deref(), self.schema.as_deref())?;
        let wanted = dataset_names("--dataset", &self.datasets)?;
        let tables: Vec<_> = crate::schema::Catalog::builtin()
            .tables()
            .iter()
            .filter(|t| wanted.is_empty() || wanted.contains(&t.dataset))
            .cloned()
            .collect();
        let stage = match self.stage_template {
            Some(template) => Some(StageOptions {
                template,
                name: stage_reference(&self.stage)?
                    .trim_start_matches('@')
                    .to_string(),
                url: self.stage_url,
                storage_integration: self.storage_integration,
                endpoint: self.endpoint,
            }),
            None => None,
        };
        ddl::render(
            &tables,
            &DdlOptions {
                names,
                stage,
                upgrade_from: self.upgrade_from,
            },
        )
    }
}

/// Checks dataset and group names (`all`, `dimensions`) and expands them into dataset names,
/// each once, in the registry's order.
fn dataset_names(flag: &str, given: &[String]) -> Result<Vec<String>> {
    Ok(datasets::resolve(flag, given)?
        .iter()
        .map(|d| d.spec().name.to_string())
        .collect())
}

/// A range of whole UTC days from `--from`/`--to` or `--date` (commands that read what runs
/// wrote, day by day).
fn whole_days(
    command: &str,
    from: &Option<String>,
    to: &Option<String>,
    date: &Option<String>,
) -> Result<Range> {
    for (flag, v) in [("--from", from), ("--to", to)] {
        if let Some(v) = v {
            crate::plan::parse_date(flag, v)?;
        }
    }
    if from.is_none() && date.is_none() {
        return Err(Error::Input(format!(
            "{command} needs --from (with --to) or --date"
        )));
    }
    Range::from_flags(
        from.as_deref(),
        to.as_deref(),
        date.as_deref(),
        None,
        Utc::now(),
    )
}

/// Validates the database and schema flags into the names the SQL uses.
fn names(database: Option<&str>, schema: Option<&str>) -> Result<Names> {
    if database.is_some() && schema.is_none() {
        return Err(Error::Input("--database needs --schema".into()));
    }
    Ok(Names {
        database: database.map(|d| identifier("--database", d)).transpose()?,
        schema: schema.map(|s| identifier("--schema", s)).transpose()?,
    })
}

/// An API or login base URL: https, or plain http on loopback (a simulator or a local proxy).
fn check_url(flag: &str, value: &str) -> Result<String> {
    let url = url::Url::parse(value)
        .map_err(|e| Error::Input(format!("{flag} {value:?} is not a URL: {e}")))?;
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => {
            return Err(Error::Input(format!(
                "{flag} {value} must use https (plain http only on loopback)"
            )));
        }
        other => {
            return Err(Error::Input(format!(
                "{flag} {value}: unsupported scheme {other}"
            )));
        }
    }
    Ok(value.trim_end_matches('/').to_string())
}

/// zstd's fast levels below -7 compress little (a day of conversations' Parquet was 77% larger
/// at -5 than at 1, for 12% fewer instructions: benches/profile.md, "Thirteenth round"), and
/// zstd takes nothing above 22.
fn check_zstd_level(level: i32) -> Result<()> {
    if !(MIN_ZSTD_LEVEL..=22).contains(&level) {
        return Err(Error::Input(format!(
            "--zstd-level {level} must be between {MIN_ZSTD_LEVEL} and 22"
        )));
    }
    Ok(())
}

/// The write budget is checked, not clamped: zero leaves room for no row group, and more than
/// 64 GiB is a typo.
fn check_write_buffer(mb: usize) -> Result<()> {
    if !(1..=65_536).contains(&mb) {
        return Err(Error::Input(format!(
            "--write-buffer-mb {mb} must be between 1 and 65536"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(extra: &[&str]) -> ExtractArgs {
        let mut argv = vec!["genesys-loader", "extract"];
        argv.extend_from_slice(extra);
        match Cli::try_parse_from(argv).unwrap().command {
            Command::Extract(a) => a.args,
            _ => unreachable!(),
        }
    }

    /// A command line that passes every check (a region, a client, a secret command that
    /// prints one), then `extra`.
    fn valid_with(extra: &[&str]) -> ExtractArgs {
        let mut argv = vec![
            "--region",
            "mypurecloud.ie",
            "--client-id",
            "c",
            "--client-secret-command",
            "echo s",
        ];
        argv.extend_from_slice(extra);
        args(&argv)
    }

    #[test]
    fn region_and_urls_are_exclusive_and_checked() {
        let e = args(&["--region", "mypurecloud.ie", "--api-url", "https://x"])
            .into_config()
            .unwrap_err();
        assert!(e.to_string().contains("not both"), "{e}");
        let e = args(&["--api-url", "https://api.example.com"])
            .into_config()
            .unwrap_err();
        assert!(e.to_string().contains("needs --login-url"), "{e}");
        let e = args(&["--region", "mypurecloud.xx"])
            .into_config()
            .unwrap_err();
        assert!(e.to_string().contains("not a Genesys Cloud region"), "{e}");
        assert!(check_url("--api-url", "http://10.1.1.1:8080").is_err());
        assert!(check_url("--api-url", "http://127.0.0.1:8080").is_ok());
    }

    #[test]
    fn the_secret_source_must_be_readable_up_front() {
        let e = args(&[
            "--region",
            "mypurecloud.ie",
            "--client-id",
            "c",
            "--client-secret-file",
            "/nonexistent/secret",
        ])
        .into_config()
        .unwrap_err();
        assert!(e.to_string().contains("file /nonexistent/secret"), "{e}");
        assert_eq!(e.exit_code(), 3);
        let e = args(&[
            "--region",
            "mypurecloud.ie",
            "--client-id",
            "c",
            "--client-secret-command",
            "exit 7",
        ])
        .into_config()
        .unwrap_err();
        assert!(e.to_string().contains("exited with status 7"), "{e}");
    }

    /// Aggregates are sums over the divisions asked for: a division-scoped run of them could
    /// only replace whole days, losing the other divisions' counts.
    #[test]
    fn aggregates_refuse_a_division_filter() {
        let e = args(&[
            "--dataset",
            "conversations,conversation-aggregates",
            "--division",
            "Sales",
        ])
        .into_config()
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("conversation-aggregates rows carry no division"),
            "{e}"
        );
        assert_eq!(e.exit_code(), 2);
    }

    #[test]
    fn the_write_buffer_is_checked_not_clamped() {
        for bad in ["0", "65537"] {
            let e = valid_with(&["--write-buffer-mb", bad])
                .into_config()
                .unwrap_err();
            assert!(e.to_string().contains("--write-buffer-mb"), "{e}");
            assert_eq!(e.exit_code(), 2);
        }
        assert!(check_write_buffer(1).is_ok() && check_write_buffer(65_536).is_ok());
    }

    #[test]
    fn the_zstd_level_is_checked_and_reaches_the_writer() {
        for bad in ["-8", "23"] {
            let e = valid_with(&["--zstd-level", bad])
                .into_config()
                .unwrap_err();
            assert!(e.to_string().contains("--zstd-level"), "{e}");
            assert_eq!(e.exit_code(), 2);
        }
        for (given, level) in [
            (&[][..], 1),
            (&["--zstd-level", "-3"], -3),
            (&["--zstd-level", "22"], 22),
        ] {
            assert_eq!(
                valid_with(given).into_config().unwrap().writer.zstd_level,
                level
            );
        }
    }

    #[test]
    fn datasets_are_checked_and_deduplicated() {
        assert_eq!(
            dataset_names(
                "--dataset",
                &["conversations".into(), "conversations".into()]
            )
            .unwrap(),
            ["conversations"]
        );
        assert!(
            dataset_names("--dataset", &["calls".into()])
                .unwrap_err()
                .to_string()
                .contains("unknown dataset \"calls\"")
        );
    }
}
