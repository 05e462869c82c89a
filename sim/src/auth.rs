//! The login service's client-credentials grant and bearer-token checks
//! (genesys-api.md §2, §10.2).
//!
//! The secret is read from the shared [`crate::SecretHandle`] on every token request, so a
//! rotation takes effect at once, while tokens already issued stay valid until they expire,
//! as on the platform.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::json;

use crate::error::OAuthError;
use crate::rng::{Rng, mix};
use crate::server::AppState;

/// Requests a token may make per minute; reported in `inin-ratelimit-allowed`.
pub(crate) const RATE_LIMIT_PER_MINUTE: u32 = 300;

/// Issued access tokens with their expiry and per-minute request counts.
#[derive(Debug)]
pub(crate) struct TokenStore {
    tokens: Mutex<HashMap<String, Token>>,
    issued: AtomicU64,
    salt: u64,
}

#[derive(Debug)]
struct Token {
    expires: Instant,
    /// The secret's rotation count when issued (for revocation on rotation).
    generation: u64,
    minute: u64,
    count: u32,
}

/// Where a token stands in its current rate-limit window.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RateWindow {
    pub(crate) count: u32,
    pub(crate) reset_secs: u64,
}

/// The current wall-clock minute and the seconds left in it.
fn minute_window() -> (u64, u64) {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs();
    (secs / 60, 60 - secs % 60)
}

impl TokenStore {
    pub(crate) fn new(seed: u64) -> Self {
        // Tokens need only be unguessable across simulator instances, not reproducible.
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
            .as_nanos() as u64;
        Self {
            tokens: Mutex::default(),
            issued: AtomicU64::new(0),
            salt: mix(&[seed, nanos, u64::from(std::process::id())]),
        }
    }

    /// Mints a token valid for `lifetime`.
    pub(crate) fn issue(&self, lifetime: Duration, generation: u64) -> String {
        let n = self.issued.fetch_add(1, Ordering::Relaxed);
        let mut rng = Rng::new(mix(&[self.salt, n]));
        let bytes: Vec<u8> = (0..4).flat_map(|_| rng.next_u64().to_le_bytes()).collect();
        let token = URL_SAFE_NO_PAD.encode(bytes); // 32 bytes -> 43 characters
        let now = Instant::now();
        let mut tokens = self.tokens.lock().unwrap_or_else(PoisonError::into_inner);
        tokens.retain(|_, t| t.expires > now);
        tokens.insert(
            token.clone(),
            Token {
                expires: now + lifetime,
                generation,
                minute: 0,
                count: 0,
            },
        );
        token
    }

    /// Checks an `Authorization: Bearer` header and counts the request against the token's
    /// current minute; `None` if the token is missing, unknown, expired, or (with `revoked_before`)
    /// issued before the latest rotation.
    pub(crate) fn authorize(
        &self,
        headers: &HeaderMap,
        revoked_before: Option<u64>,
    ) -> Option<RateWindow> {
        let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
        let (scheme, token) = value.trim().split_once(' ')?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return None;
        }
        let mut tokens = self.tokens.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = tokens.get_mut(token.trim())?;
        if revoked_before.is_some_and(|g| entry.generation < g) {
            return None;
        }
        if entry.expires <= Instant::now() {
            tokens.remove(token.trim());
            return None;
        }
        let (minute, reset_secs) = minute_window();
        if entry.minute != minute {
            entry.minute = minute;
            entry.count = 0;
        }
        entry.count += 1;
        Some(RateWindow {
            count: entry.count,
            reset_secs,
        })
    }
}

/// Decodes `Authorization: Basic base64(id:secret)`.
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((id.to_string(), secret.to_string()))
}

/// `POST /oauth/token`: the client-credentials grant.
pub(crate) async fn token(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, OAuthError> {
    let (client_id, secret) =
        basic_credentials(&headers).ok_or(OAuthError::invalid_client("authentication failed"))?;
    if client_id != state.config.client_id {
        return Err(OAuthError::invalid_client("client not found"));
    }
    if secret != state.config.client_secret.get() {
        return Err(OAuthError::invalid_client("authentication failed"));
    }
    let grant_type = form_urlencoded::parse(&body)
        .find(|(key, _)| key == "grant_type")
        .map(|(_, value)| value.into_owned());
    match grant_type.as_deref() {
        Some("client_credentials") => {}
        Some(_) => {
            return Err(OAuthError {
                status: StatusCode::BAD_REQUEST,
                error: "unsupported_grant_type",
                description: "grant type not supported",
            });
        }
        None => {
            return Err(OAuthError {
                status: StatusCode::BAD_REQUEST,
                error: "invalid_request",
                description: "missing grant_type",
            });
        }
    }
    let lifetime = state.config.token_lifetime;
    let access_token = state
        .tokens
        .issue(lifetime, state.config.client_secret.rotations());
    state.stats.record_token_issued();
    Ok(Json(json!({
        "access_token": access_token,
        "token_type": "bearer",
        "expires_in": lifetime.as_secs(),
    }))
    .into_response())
}
