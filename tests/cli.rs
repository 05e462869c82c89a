//! The built binary's command line: what it prints about itself.

use std::process::Command;

/// A command line as an Airflow task would set it, with a vault token in it.
const SECRET_COMMAND: &str = "VAULT_TOKEN=hvs.never-print-me vault kv get -field=secret kv/genesys";

#[test]
fn help_never_prints_the_secret_command_set_in_the_environment() {
    for subcommand in ["extract", "preflight"] {
        let out = Command::new(env!("CARGO_BIN_EXE_genesys-loader"))
            .args([subcommand, "--help"])
            .env("GENESYS_CLIENT_SECRET_COMMAND", SECRET_COMMAND)
            .env("GENESYS_CLIENT_SECRET", "plain-secret-never-print-me")
            .output()
            .expect("run genesys-loader");
        assert!(out.status.success(), "{subcommand} --help failed");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        // The flag and its variable are still documented; only the value is hidden.
        assert!(
            text.contains("--client-secret-command")
                && text.contains("GENESYS_CLIENT_SECRET_COMMAND"),
            "{text}"
        );
        for secret in [
            "hvs.never-print-me",
            "vault kv get",
            "plain-secret-never-print-me",
        ] {
            assert!(
                !text.contains(secret),
                "`{subcommand} --help` printed {secret:?}:\n{text}"
            );
        }
    }
}

/// Runs the binary with only these variables set.
fn loader(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_genesys-loader"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().copied())
        .output()
        .expect("run genesys-loader");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The file sits under the environment, the environment under the flags; `config check` says
/// where each value came from and never shows a secret.
#[test]
fn config_file_settings_rank_below_the_environment_and_the_flags() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("genesys.toml");
    std::fs::write(
        &file,
        r#"
region = "mypurecloud.ie"
datasets = ["conversations", "queues"]
max_requests_per_minute = 0
client_secret_command = "echo s3cr3t-never-printed"
[snowflake]
database = "RAW"
schema = "GENESYS"
"#,
    )
    .unwrap();
    let f = file.to_str().unwrap();
    // The file's 0 is validated like a flag's.
    let (code, _, err) = loader(
        &["--config", f, "config", "check"],
        &[("GENESYS_CLIENT_ID", "c")],
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("--max-requests-per-minute must be at least 1"),
        "{err}"
    );
    // The environment wins over the file (GENESYS_CONFIG names it as well as --config).
    let env = [
        ("GENESYS_CLIENT_ID", "c"),
        ("GENESYS_MAX_REQUESTS_PER_MINUTE", "100"),
        ("GENESYS_CONFIG", f),
    ];
    let (code, out, err) = loader(&["config", "check"], &env);
    assert_eq!(code, Some(0), "{out}{err}");
    for line in [
        "region                                   mypurecloud.ie  (file)",
        "max_requests_per_minute                  100  (env)",
        "datasets                                 conversations,queues  (file)",
        "database                                 RAW  (file)",
        "client_secret_command                    <redacted>  (file)",
        "max_attempts                             6  (default)",
        "config ok",
    ] {
        assert!(out.contains(line), "no {line:?} in:\n{out}");
    }
    assert!(!format!("{out}{err}").contains("s3cr3t"), "{out}{err}");
    // A flag wins over the environment and the file.
    let (code, _, err) = loader(&["preflight", "--max-requests-per-minute", "0"], &env);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("--max-requests-per-minute must be at least 1"),
        "{err}"
    );
}

/// Alternatives are one choice: the environment's API URL or secret replaces the file's region
/// or secret command as a whole, instead of meeting it (which would be refused as both set).
#[test]
fn the_environment_chooses_among_alternatives_the_file_also_sets() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("genesys.toml");
    std::fs::write(
        &file,
        r#"
region = "mypurecloud.ie"
client_secret_command = "echo from-the-file"
lookback_days = 3
"#,
    )
    .unwrap();
    let env = [
        ("GENESYS_CLIENT_ID", "c"),
        ("GENESYS_CONFIG", file.to_str().unwrap()),
        ("GENESYS_API_URL", "http://127.0.0.1:9"),
        ("GENESYS_LOGIN_URL", "http://127.0.0.1:9"),
        ("GENESYS_CLIENT_SECRET", "from-the-env"),
    ];
    let (code, out, err) = loader(&["config", "check"], &env);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(!out.contains("mypurecloud.ie"), "{out}");
    assert!(
        out.contains("client_secret_command                    (unset)"),
        "{out}"
    );
    assert!(
        out.contains("lookback_days                            3  (file)"),
        "{out}"
    );
    assert!(out.contains("http://127.0.0.1:9  (env)"), "{out}");
    // A range on the command line replaces the file's lookback, as the DAGs pass one.
    let (code, out, err) = loader(
        &[
            "extract",
            "--dry-run",
            "--from",
            "2026-10-01",
            "--to",
            "2026-10-02",
        ],
        &env,
    );
    assert_ne!(code, Some(2), "{out}{err}");
    assert!(!err.contains("lookback"), "{err}");
}

#[test]
fn an_unknown_config_key_is_one_line_naming_it_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("genesys.toml");
    std::fs::write(
        &file,
        "region = \"mypurecloud.ie\"\n[snowflake]\nwarehouse = \"W\"\n",
    )
    .unwrap();
    let (code, out, err) = loader(&["--config", file.to_str().unwrap(), "ddl"], &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(out.is_empty());
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("unknown key `snowflake.warehouse`"), "{err}");
}
