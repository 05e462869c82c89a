//! OAuth2 client-credentials tokens: one token per lifetime, shared by every task.
//!
//! The token is cached and refreshed shortly before it expires (a minute before, or a tenth of
//! its lifetime when that is shorter, so short-lived tokens work too). Refreshing happens under
//! a lock, so when many tasks find the token stale at once exactly one of them asks the login
//! host while the others wait for its answer (single flight). The client secret is read from its
//! source each time a token is requested, so a rotated secret is picked up without a restart.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tokio::sync::Mutex;

use super::retry::{RetryPolicy, backoff_delay, retry_after, without_url};
use super::stats::ApiStats;
use crate::error::{Error, Result};

/// Where the client secret lives. Never the secret itself: it is read when needed.
///
/// `Debug` names the kind of source and, for a variable or a file, where it is; a command is
/// shown as `Command(<redacted>)`, because its text may carry a vault token or the secret.
#[derive(Clone)]
pub enum SecretSource {
    /// An environment variable (`GENESYS_CLIENT_SECRET`).
    Env(String),
    /// A file whose content (trimmed) is the secret, e.g. a mounted Kubernetes or Vault secret.
    File(PathBuf),
    /// A shell command whose standard output (trimmed) is the secret, e.g. a vault CLI.
    Command(SecretString),
}

impl std::fmt::Debug for SecretSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SecretSource::Env(var) => f.debug_tuple("Env").field(var).finish(),
            SecretSource::File(path) => f.debug_tuple("File").field(path).finish(),
            SecretSource::Command(_) => f.write_str("Command(<redacted>)"),
        }
    }
}

/// How long a secret command may run.
const SECRET_COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

/// The most a secret command may print; anything past it is read and thrown away, so the
/// command never blocks on a full pipe, and the read fails.
const SECRET_COMMAND_MAX_OUTPUT: u64 = 1024 * 1024;

/// Reads a pipe to its end on its own thread, keeping at most `limit` + 1 bytes: a command
/// that prints more than a pipe holds (64 KiB on Linux) must not stall while nobody reads.
fn drain<R: std::io::Read + Send + 'static>(
    pipe: Option<R>,
    limit: u64,
) -> std::sync::mpsc::Receiver<std::io::Result<Vec<u8>>> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::Read;
        let Some(mut pipe) = pipe else {
            let _ = tx.send(Ok(Vec::new()));
            return;
        };
        let mut kept = Vec::new();
        let read = (&mut pipe)
            .take(limit + 1)
            .read_to_end(&mut kept)
            .and_then(|_| std::io::copy(&mut pipe, &mut std::io::sink()));
        let _ = tx.send(read.map(|_| kept));
    });
    rx
}

/// Runs a secret command; its stdout is the secret and is never logged, its stderr is quoted
/// (shortened) when it fails.
///
/// Both pipes are read while the command runs, and the whole run, reading included, is bounded
/// by [`SECRET_COMMAND_TIMEOUT`]. On a timeout the command is killed; a process it started in
/// the background that still holds a pipe open is not waited for (its reader thread ends when
/// that process does).
fn run_secret_command(command: &SecretString) -> std::result::Result<String, String> {
    use std::process::{Command, Stdio};
    use std::sync::mpsc::RecvTimeoutError;
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(command.expose_secret())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start it: {e}"))?;
    let deadline = Instant::now() + SECRET_COMMAND_TIMEOUT;
    let stdout = drain(child.stdout.take(), SECRET_COMMAND_MAX_OUTPUT);
    let stderr = drain(child.stderr.take(), 4096);
    let timed_out = |child: &mut std::process::Child| {
        let _ = child.kill();
        let _ = child.wait();
        format!(
            "it did not finish within {}s",
            SECRET_COMMAND_TIMEOUT.as_secs()
        )
    };
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= deadline => return Err(timed_out(&mut child)),
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => return Err(e.to_string()),
        }
    };
    let mut collect = |rx: std::sync::mpsc::Receiver<std::io::Result<Vec<u8>>>| match rx
        .recv_timeout(deadline.saturating_duration_since(Instant::now()))
    {
        Ok(read) => Ok(read),
        Err(RecvTimeoutError::Timeout) => Err(timed_out(&mut child)),
        Err(RecvTimeoutError::Disconnected) => Err("its output could not be read".to_string()),
    };
    let out = collect(stdout)?.map_err(|e| format!("cannot read its output: {e}"))?;
    let err = collect(stderr)?.unwrap_or_default();
    if !status.success() {
        let code = status
            .code()
            .map_or("a signal".to_string(), |c| format!("status {c}"));
        let err: String = String::from_utf8_lossy(&err)
            .trim()
            .chars()
            .take(200)
            .collect();
        return Err(format!(
            "it exited with {code}{}",
            if err.is_empty() {
                String::new()
            } else {
                format!(": {err}")
            }
        ));
    }
    if out.len() as u64 > SECRET_COMMAND_MAX_OUTPUT {
        return Err(format!(
            "it printed more than {} KiB, too much for a secret",
            SECRET_COMMAND_MAX_OUTPUT / 1024
        ));
    }
    String::from_utf8(out).map_err(|_| "its output is not text (UTF-8)".to_string())
}

impl SecretSource {
    pub fn read(&self) -> Result<SecretString> {
        let (value, name) = match self {
            SecretSource::Env(var) => (
                std::env::var(var).map_err(|_| Error::Secret {
                    source_name: self.describe(),
                    message: format!("{var} is not set"),
                })?,
                self.describe(),
            ),
            SecretSource::File(path) => (
                std::fs::read_to_string(path).map_err(|e| Error::Secret {
                    source_name: self.describe(),
                    message: e.to_string(),
                })?,
                self.describe(),
            ),
            SecretSource::Command(command) => (
                run_secret_command(command).map_err(|message| Error::Secret {
                    source_name: self.describe(),
                    message,
                })?,
                self.describe(),
            ),
        };
        let trimmed = value.trim();
        if trimmed.is_empty() {
            return Err(Error::Secret {
                source_name: name,
                message: "it is empty".into(),
            });
        }
        Ok(SecretString::from(trimmed.to_string()))
    }

    /// Names the source without revealing the secret.
    pub fn describe(&self) -> String {
        match self {
            SecretSource::Env(var) => format!("environment variable {var}"),
            SecretSource::File(path) => format!("file {}", path.display()),
            SecretSource::Command(_) => "the secret command".to_string(),
        }
    }
}

/// The client id and where its secret is.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub client_id: String,
    pub secret: SecretSource,
}

/// A token and when to stop using it.
struct Cached {
    token: Arc<SecretString>,
    refresh_at: Instant,
    /// Incremented per token, so a task that saw a 401 drops only the token it used.
    generation: u64,
}

/// A bearer token handed to a request, with the generation to report a 401 against.
#[derive(Clone)]
pub struct Token {
    pub(crate) value: Arc<SecretString>,
    pub(crate) generation: u64,
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Token(generation {}, redacted)", self.generation)
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    expires_in: Option<u64>,
}

#[derive(Deserialize, Default)]
struct OAuthError {
    #[serde(default)]
    error: String,
    #[serde(default)]
    error_description: Option<String>,
    #[serde(default)]
    description: Option<String>,
}

/// Hands out the shared token; see the module docs.
pub struct TokenProvider {
    http: reqwest::Client,
    token_url: String,
    credentials: Credentials,
    retry: RetryPolicy,
    stats: Arc<ApiStats>,
    state: Mutex<Option<Cached>>,
    /// How long a client that has authenticated before keeps retrying a refused secret.
    rotation_grace: Duration,
}

/// Default time to wait for a rotated secret to appear in its source (see
/// [`TokenProvider::with_rotation_grace`]).
pub const DEFAULT_ROTATION_GRACE: Duration = Duration::from_secs(120);

impl TokenProvider {
    pub fn new(
        http: reqwest::Client,
        login_url: &str,
        credentials: Credentials,
        retry: RetryPolicy,
        stats: Arc<ApiStats>,
    ) -> Self {
        TokenProvider {
            http,
            token_url: format!("{}/oauth/token", login_url.trim_end_matches('/')),
            credentials,
            retry,
            stats,
            state: Mutex::new(None),
            rotation_grace: DEFAULT_ROTATION_GRACE,
        }
    }

    /// During a rotation the old secret stops working before the new one reaches the file or
    /// vault. A client that has authenticated in this run before therefore treats a refused
    /// secret as "rotation in progress" for this long, re-reading the source, before failing.
    /// Before the first success a refused secret fails at once: it is a configuration error.
    pub fn with_rotation_grace(mut self, grace: Duration) -> Self {
        self.rotation_grace = grace;
        self
    }

    /// The current token, fetching a new one if there is none or it is due for refresh.
    pub async fn token(&self) -> Result<Token> {
        let mut state = self.state.lock().await;
        if let Some(c) = state.as_ref().filter(|c| Instant::now() < c.refresh_at) {
            return Ok(Token {
                value: c.token.clone(),
                generation: c.generation,
            });
        }
        let generation = state.as_ref().map_or(1, |c| c.generation + 1);
        let (token, lifetime) = self.fetch(state.is_some()).await?;
        let token = Arc::new(token);
        *state = Some(Cached {
            token: token.clone(),
            refresh_at: Instant::now() + lifetime.saturating_sub(refresh_margin(lifetime)),
            generation,
        });
        Ok(Token {
            value: token,
            generation,
        })
    }

    /// Forgets `used` after the API refused it (401), unless another task already replaced it.
    pub async fn invalidate(&self, used: &Token) {
        let mut state = self.state.lock().await;
        if let Some(c) = state.as_mut().filter(|c| c.generation == used.generation) {
            c.refresh_at = Instant::now();
        }
    }

    async fn fetch(&self, authenticated_before: bool) -> Result<(SecretString, Duration)> {
        let started = Instant::now();
        let mut attempt = 0u32;
        let mut refused_since: Option<Instant> = None;
        loop {
            attempt += 1;
            // Re-read on every attempt: a rotated secret is picked up here. Reading may run a
            // command or touch a file, so it happens off the async workers.
            let source = self.credentials.secret.clone();
            let secret = tokio::task::spawn_blocking(move || source.read())
                .await
                .map_err(|e| Error::Secret {
                    source_name: self.credentials.secret.describe(),
                    message: e.to_string(),
                })??;
            ApiStats::bump(&self.stats.token_requests);
            let sent = self
                .http
                .post(&self.token_url)
                .basic_auth(&self.credentials.client_id, Some(secret.expose_secret()))
                .header(
                    reqwest::header::CONTENT_TYPE,
                    "application/x-www-form-urlencoded",
                )
                .body("grant_type=client_credentials")
                .send()
                .await;
            let transient = match sent {
                Ok(resp) => {
                    let status = resp.status();
                    let retry_after = retry_after(resp.headers());
                    let body = resp.bytes().await.unwrap_or_default();
                    if status.is_success() {
                        let t: TokenResponse =
                            serde_json::from_slice(&body).map_err(|e| Error::Payload {
                                path: self.token_url.clone(),
                                message: format!("token response is not the expected JSON: {e}"),
                            })?;
                        let lifetime = Duration::from_secs(t.expires_in.unwrap_or(86_400).max(1));
                        tracing::debug!(
                            lifetime_secs = lifetime.as_secs(),
                            "obtained an access token"
                        );
                        return Ok((SecretString::from(t.access_token), lifetime));
                    }
                    let oauth: OAuthError = serde_json::from_slice(&body).unwrap_or_default();
                    if status.as_u16() == 429 || status.is_server_error() {
                        (format!("HTTP {status}"), retry_after)
                    } else {
                        let description = oauth
                            .error_description
                            .or(oauth.description)
                            .unwrap_or_else(|| format!("HTTP {status}"));
                        let error = if oauth.error.is_empty() {
                            format!("HTTP {status}")
                        } else {
                            oauth.error
                        };
                        let refused = *refused_since.get_or_insert_with(Instant::now);
                        if authenticated_before
                            && error == "invalid_client"
                            && refused.elapsed() < self.rotation_grace
                        {
                            let wait = Duration::from_secs(2)
                                .min(self.rotation_grace.saturating_sub(refused.elapsed()));
                            tracing::warn!(
                                secret_source = %self.credentials.secret.describe(),
                                waited_secs = refused.elapsed().as_secs(),
                                "the login host refused the secret that worked earlier in this run; \
                                 waiting for the rotated secret to appear in its source"
                            );
                            tokio::time::sleep(wait).await;
                            continue;
                        }
                        return Err(Error::Auth {
                            url: self.token_url.clone(),
                            error,
                            description: format!(
                                "{description} (client id {}, secret from {})",
                                self.credentials.client_id,
                                self.credentials.secret.describe()
                            ),
                        });
                    }
                }
                Err(e) => (without_url(&e), None),
            };
            let (reason, retry_after) = transient;
            if attempt >= self.retry.max_attempts || started.elapsed() >= self.retry.max_elapsed {
                return Err(Error::Auth {
                    url: self.token_url.clone(),
                    error: "unavailable".into(),
                    description: format!("{reason} after {attempt} attempts"),
                });
            }
            let wait = retry_after.unwrap_or_else(|| backoff_delay(&self.retry, attempt));
            tracing::warn!(attempt, wait_ms = wait.as_millis() as u64, reason = %reason, "token request failed; retrying");
            ApiStats::bump(&self.stats.retries);
            tokio::time::sleep(wait).await;
        }
    }
}

/// How long before expiry a token is replaced: a minute, or a tenth of its lifetime if shorter.
pub fn refresh_margin(lifetime: Duration) -> Duration {
    Duration::from_secs(60).min(lifetime / 10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn margin_is_a_minute_or_a_tenth_of_short_lifetimes() {
        assert_eq!(
            refresh_margin(Duration::from_secs(86_400)),
            Duration::from_secs(60)
        );
        assert_eq!(
            refresh_margin(Duration::from_secs(3)),
            Duration::from_millis(300)
        );
        assert_eq!(
            refresh_margin(Duration::from_secs(600)),
            Duration::from_secs(60)
        );
    }

    #[test]
    fn secrets_are_read_trimmed_from_files_and_never_debug_printed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        std::fs::write(&path, "s3cr3t-value\n").unwrap();
        let src = SecretSource::File(path.clone());
        assert_eq!(src.read().unwrap().expose_secret(), "s3cr3t-value");
        assert!(!format!("{:?}", src.read().unwrap()).contains("s3cr3t"));
        let token = Token {
            value: Arc::new(SecretString::from("tok-123".to_string())),
            generation: 1,
        };
        assert!(!format!("{token:?}").contains("tok-123"));
        std::fs::write(&path, "  \n").unwrap();
        assert!(src.read().unwrap_err().to_string().contains("empty"));
    }

    #[test]
    fn secret_commands_are_run_and_their_failures_named() {
        let src = SecretSource::Command("printf 'from-vault\\n'".into());
        assert_eq!(src.read().unwrap().expose_secret(), "from-vault");
        let err = SecretSource::Command("echo oops >&2; exit 3".into())
            .read()
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("the secret command") && err.contains("status 3: oops"),
            "{err}"
        );
        assert!(
            !src.describe().contains("printf"),
            "the command line may hold a token: not echoed"
        );
    }

    #[test]
    fn debug_never_shows_a_secret_command_or_a_secret() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("client-secret");
        std::fs::write(&path, "file-held-secret-value\n").unwrap();
        let command = "VAULT_TOKEN=hvs.token-in-the-command vault kv get -field=secret kv/genesys";
        let credentials = Credentials {
            client_id: "loader".into(),
            secret: SecretSource::Command(command.into()),
        };
        let sources = [
            // PATH is set in any test environment: its value must not be printed either.
            SecretSource::Env("PATH".into()),
            SecretSource::File(path.clone()),
            SecretSource::Command(command.into()),
        ];
        let path_value = std::env::var("PATH").unwrap_or_default();
        for source in &sources {
            for shown in [format!("{source:?}"), format!("{source:#?}")] {
                for secret in [
                    "hvs.token-in-the-command",
                    "vault kv get",
                    "file-held-secret-value",
                ] {
                    assert!(!shown.contains(secret), "{shown}");
                }
                assert!(
                    path_value.is_empty() || !shown.contains(&path_value),
                    "{shown}"
                );
            }
        }
        assert_eq!(format!("{:?}", sources[2]), "Command(<redacted>)");
        assert_eq!(format!("{:?}", sources[0]), "Env(\"PATH\")");
        assert!(format!("{:?}", sources[1]).contains("client-secret"));
        assert!(!format!("{credentials:?}").contains("hvs."));
    }

    #[test]
    fn a_secret_command_printing_more_than_a_pipe_holds_is_read_while_it_runs() {
        // 200 KiB fills a 64 KiB pipe: a reader that waits for the exit first would wait for
        // the 30 s timeout, holding the token lock all along, and then fail.
        let started = Instant::now();
        let src = SecretSource::Command(
            "head -c 204800 /dev/zero | tr '\\0' x; echo 'a warning' >&2".into(),
        );
        let value = src.read().expect("the command's output is the secret");
        let value = value.expose_secret();
        assert_eq!(value.len(), 204_800);
        assert!(value.bytes().all(|b| b == b'x'));
        assert!(
            started.elapsed() < SECRET_COMMAND_TIMEOUT / 2,
            "took {:?}",
            started.elapsed()
        );
    }

    #[test]
    fn a_secret_command_printing_megabytes_fails_without_blocking() {
        let err = SecretSource::Command("head -c 3000000 /dev/zero | tr '\\0' x".into())
            .read()
            .unwrap_err()
            .to_string();
        assert!(err.contains("printed more than 1024 KiB"), "{err}");
    }

    #[test]
    fn a_missing_variable_names_it() {
        let err = SecretSource::Env("GENESYS_LOADER_TEST_UNSET_VAR".into())
            .read()
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("GENESYS_LOADER_TEST_UNSET_VAR is not set")
        );
    }
}
