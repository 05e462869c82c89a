//! The config file: pipeline settings in TOML (`--config FILE` or `GENESYS_CONFIG`), under the
//! environment and the flags.
//!
//! Every key is a flag's name in snake case (`max_requests_per_minute`, `datasets`,
//! `group_by`), at the top level or in a table that names its family (`[snowflake] database`,
//! `[evaluations] changed_since_days` for `--evaluations-changed-since-days`). The file is
//! applied by adding its values to the command line for each flag that neither the command line
//! nor the environment set, so flags override the environment, the environment overrides the
//! file, and clap validates the file's values exactly as it validates flags. A key no command
//! knows is an error naming it; a key another command knows (`tolerance` for `reconcile`) is
//! left to that command. Secrets never belong in the file: give a secret file or command.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory};

use crate::cli::Cli;
use crate::error::{Error, Result};

/// Settings that are one choice between alternatives: where the environment or a flag sets any
/// of a group, the file's values for the whole group are not used (flags override env, env
/// overrides the file, also across alternatives).
const CHOICES: &[&[&str]] = &[
    &["region", "api_url", "login_url"],
    &["from", "to", "date", "lookback_days"],
    &["client_secret_file", "client_secret_command"],
];

/// Tables that name a family of settings whose keys are flag names as they are.
const FAMILIES: &[&str] = &[
    "snowflake",
    "api",
    "auth",
    "output",
    "jobs",
    "fanout",
    "aggregates",
    "evaluations",
    "wfm",
];

/// The environment variable naming the config file.
pub const CONFIG_ENV: &str = "GENESYS_CONFIG";

/// Flags whose values are secret: shown as `<redacted>`.
const SECRET_ARGS: &[&str] = &["client_secret_command"];

/// Keys people put in a config file that must not be there, with where they belong.
const REFUSED: &[(&str, &str)] = &[
    (
        "client_secret",
        "secrets do not belong in the config file: set client_secret_file (a mounted secret) or client_secret_command (a vault CLI), or GENESYS_CLIENT_SECRET in the environment",
    ),
    ("config", "a config file cannot name another config file"),
];

/// One setting from the file: a key and its values as they would be typed after the flag
/// (`true` for a switch that is on; none for one that is off).
#[derive(Debug, Clone, PartialEq)]
struct Setting {
    key: String,
    values: Vec<String>,
}

/// The command line with the config file's settings added for every flag the command line and
/// the environment left unset. Without `--config` or `GENESYS_CONFIG` it is `args` unchanged.
pub fn apply(args: Vec<OsString>) -> Result<Vec<OsString>> {
    // `--help`, `--version` and malformed command lines are the real parse's to report.
    let Ok(probe) = Cli::command()
        .ignore_errors(true)
        .try_get_matches_from(args.clone())
    else {
        return Ok(args);
    };
    let Some(path) = probe.get_one::<PathBuf>("config").cloned() else {
        return Ok(args);
    };
    let settings = read(&path)?;
    // Built, so each flag knows whether it takes a value.
    let (mut cmd, mut matches) = (Cli::command(), &probe);
    cmd.build();
    // The innermost subcommand (`manifest merge`) takes the settings.
    let mut names = Vec::new();
    while let Some((name, sub)) = matches.subcommand() {
        names.push(name.to_string());
        matches = sub;
    }
    for n in &names {
        cmd = cmd
            .find_subcommand(n)
            .cloned()
            .expect("a parsed subcommand exists");
    }
    let known = |id: &str| cmd.get_arguments().any(|a| a.get_id() == id);
    let set = |id: &str| {
        known(id)
            && !matches!(
                matches.value_source(id),
                None | Some(ValueSource::DefaultValue)
            )
    };
    // A setting of a group the environment or a flag already chose is left out with its group:
    // the file's region must not meet the environment's API URL, nor its secret file the
    // environment's secret.
    let env_secret = std::env::var_os("GENESYS_CLIENT_SECRET").is_some_and(|v| !v.is_empty());
    let chosen = |key: &str| {
        CHOICES
            .iter()
            .find(|group| group.contains(&key))
            .is_some_and(|group| {
                group.iter().any(|k| set(k))
                    || (env_secret && group.contains(&"client_secret_file"))
            })
    };
    let mut out = args;
    for s in settings {
        let Some(arg) = cmd.get_arguments().find(|a| a.get_id() == s.key.as_str()) else {
            continue;
        };
        if set(&s.key) || chosen(&s.key) {
            continue;
        }
        let flag = format!(
            "--{}",
            arg.get_long().expect("settings are long flags only")
        );
        let takes_value = arg.get_num_args().is_some_and(|n| n.takes_values());
        if takes_value {
            for v in &s.values {
                out.push(OsString::from(format!("{flag}={v}")));
            }
        } else if s.values.iter().any(|v| v == "true") {
            out.push(OsString::from(flag));
        }
    }
    Ok(out)
}

/// Reads and checks the file: every key must be a setting of some command.
fn read(path: &Path) -> Result<Vec<Setting>> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::Input(format!(
            "config file {}: cannot read it: {e}",
            path.display()
        ))
    })?;
    parse(&text).map_err(|e| Error::Input(format!("config file {}: {e}", path.display())))
}

/// Every flag id of every command that a file may set.
fn known_keys() -> BTreeMap<String, ()> {
    fn walk(cmd: &clap::Command, out: &mut BTreeMap<String, ()>) {
        for a in cmd.get_arguments() {
            if a.get_long().is_some()
                && !["help", "version", "config"].contains(&a.get_id().as_str())
            {
                out.insert(a.get_id().to_string(), ());
            }
        }
        for s in cmd.get_subcommands() {
            walk(s, out);
        }
    }
    let mut out = BTreeMap::new();
    walk(&Cli::command(), &mut out);
    out
}

fn parse(text: &str) -> std::result::Result<Vec<Setting>, String> {
    let table: toml::Table = toml::from_str(text).map_err(|e| e.to_string())?;
    let known = known_keys();
    let mut out = Vec::new();
    let mut add = |path: &str,
                   candidates: &[String],
                   value: &toml::Value|
     -> std::result::Result<(), String> {
        if let Some((_, why)) = REFUSED
            .iter()
            .find(|(k, _)| candidates.iter().any(|c| c == k))
        {
            return Err(format!("key `{path}`: {why}"));
        }
        let key = candidates
            .iter()
            .find(|c| known.contains_key(c.as_str()))
            .ok_or_else(|| format!("unknown key `{path}` (keys are flag names in snake case, e.g. max_requests_per_minute, or [snowflake] database)"))?;
        out.push(Setting {
            key: key.clone(),
            values: values(path, value)?,
        });
        Ok(())
    };
    for (k, v) in &table {
        match v {
            toml::Value::Table(section) => {
                for (sk, sv) in section {
                    let path = format!("{k}.{sk}");
                    let prefixed = format!("{}_{}", k.replace('-', "_"), sk.replace('-', "_"));
                    // `[evaluations] changed_since_days` is a flag's name; `[snowflake]
                    // database` names a family; any other table is a typo, not a family.
                    if !known.contains_key(prefixed.as_str()) && !FAMILIES.contains(&k.as_str()) {
                        return Err(format!(
                            "unknown table `[{k}]` (key `{path}`): tables are {}, or a flag's prefix",
                            FAMILIES.join(", ")
                        ));
                    }
                    add(&path, &[prefixed, sk.replace('-', "_")], sv)?;
                }
            }
            _ => add(k, &[k.replace('-', "_")], v)?,
        }
    }
    Ok(out)
}

/// A TOML value as the text after a flag (arrays: one value each).
fn values(path: &str, v: &toml::Value) -> std::result::Result<Vec<String>, String> {
    Ok(match v {
        toml::Value::String(s) => vec![s.clone()],
        toml::Value::Integer(i) => vec![i.to_string()],
        toml::Value::Float(f) => vec![f.to_string()],
        toml::Value::Boolean(b) => vec![b.to_string()],
        toml::Value::Array(items) => {
            let mut out = Vec::new();
            for i in items {
                match i {
                    toml::Value::Array(_) | toml::Value::Table(_) => {
                        return Err(format!("key `{path}`: a list of plain values is expected"));
                    }
                    other => out.extend(values(path, other)?),
                }
            }
            out
        }
        toml::Value::Datetime(d) => vec![d.to_string()],
        toml::Value::Table(_) => return Err(format!("key `{path}`: tables nest one level only")),
    })
}

/// `config check`: the settings `extract` resolves from flags, environment, file and defaults,
/// each with where it came from, secrets redacted.
pub fn resolved(matches: &ArgMatches, cmd: &clap::Command, file_args: &[String]) -> String {
    let mut s = String::new();
    for a in cmd.get_arguments() {
        let id = a.get_id().as_str();
        if a.get_long().is_none() || ["help", "version"].contains(&id) || a.is_hide_set() {
            continue;
        }
        let Some(source) = matches.value_source(id) else {
            s.push_str(&format!("{id:<40} (unset)\n"));
            continue;
        };
        let raw: Vec<String> = matches
            .get_raw(id)
            .map(|vs| vs.map(|v| v.to_string_lossy().into_owned()).collect())
            .unwrap_or_default();
        let from = match source {
            ValueSource::CommandLine if file_args.iter().any(|f| f == id) => "file",
            ValueSource::CommandLine => "flag",
            ValueSource::EnvVariable => "env",
            _ => "default",
        };
        let shown = if SECRET_ARGS.contains(&id) {
            "<redacted>".to_string()
        } else if raw.is_empty() {
            "true".to_string()
        } else {
            raw.join(",")
        };
        s.push_str(&format!("{id:<40} {shown}  ({from})\n"));
    }
    s
}

/// The keys of the file that `extract` takes, for [`resolved`] to say which values came from it.
pub fn file_keys(path: &Path) -> Result<Vec<String>> {
    Ok(read(path)?.into_iter().map(|s| s.key).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_flag_names_at_the_top_or_in_a_family() {
        let s = parse(
            r#"
            region = "mypurecloud.ie"
            datasets = ["conversations", "queues"]
            max_requests_per_minute = 120
            keep_raw = true
            [snowflake]
            database = "RAW"
            [evaluations]
            changed_since_days = 30
            "#,
        )
        .unwrap();
        let got: Vec<(&str, Vec<&str>)> = s
            .iter()
            .map(|s| {
                (
                    s.key.as_str(),
                    s.values.iter().map(String::as_str).collect(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("datasets", vec!["conversations", "queues"]),
                ("evaluations_changed_since_days", vec!["30"]),
                ("keep_raw", vec!["true"]),
                ("max_requests_per_minute", vec!["120"]),
                ("region", vec!["mypurecloud.ie"]),
                ("database", vec!["RAW"]),
            ]
        );
    }

    #[test]
    fn unknown_keys_and_secrets_are_refused_by_name() {
        let e = parse("regoin = \"x\"").unwrap_err();
        assert!(e.contains("unknown key `regoin`"), "{e}");
        let e = parse("[snowflake]\nwarehouse = \"W\"").unwrap_err();
        assert!(e.contains("unknown key `snowflake.warehouse`"), "{e}");
        let e = parse("[snowflak]\ndatabase = \"RAW\"").unwrap_err();
        assert!(e.contains("unknown table `[snowflak]`"), "{e}");
        let e = parse("client_secret = \"s\"").unwrap_err();
        assert!(e.contains("secrets do not belong"), "{e}");
        let e = parse("region = [[1]]").unwrap_err();
        assert!(e.contains("key `region`"), "{e}");
    }
}
