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
