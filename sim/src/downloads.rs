//! A pre-signed download host, like the object-store URLs the platform hands out for large
//! results (WFM schedules, activity codes, adherence, exports): `GET /downloads/{token}`.
//!
//! As with S3 pre-signed URLs, the signature is in the URL: a request that also carries an
//! `Authorization` header is refused (400), and a URL past its expiry answers 403. The path is
//! outside `/api/v2`, so no bearer token is checked and no API rate limit applies.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::rng::{Rng, mix};
use crate::server::AppState;

/// Published downloads: token → (body, expiry).
#[derive(Debug, Default)]
pub(crate) struct Downloads {
    files: Mutex<HashMap<String, (Bytes, Instant)>>,
    issued: Mutex<u64>,
}

impl Downloads {
    /// Publishes `body` for `ttl`; returns the token of its URL.
    pub(crate) fn publish(&self, seed: u64, body: Bytes, ttl: Duration) -> String {
        let n = {
            let mut issued = self.issued.lock().unwrap_or_else(PoisonError::into_inner);
            *issued += 1;
            *issued
        };
        let stream = u64::from_be_bytes(*b"sim:dnld");
        let token = format!("{:032x}", Rng::new(mix(&[seed, stream, n])).uuid());
        self.files
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(token.clone(), (body, Instant::now() + ttl));
        token
    }
}

/// `GET /downloads/{token}`.
pub(crate) async fn get(
    State(state): State<Arc<AppState>>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Response {
    if headers.contains_key(header::AUTHORIZATION) {
        return (
            StatusCode::BAD_REQUEST,
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, \
             Signature query string parameter or the Authorization header should be specified",
        )
            .into_response();
    }
    let files = state
        .downloads
        .files
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    match files.get(&token) {
        None => (StatusCode::NOT_FOUND, "The specified key does not exist.").into_response(),
        Some((_, expiry)) if Instant::now() > *expiry => {
            (StatusCode::FORBIDDEN, "Request has expired").into_response()
        }
        Some((body, _)) => {
            ([(header::CONTENT_TYPE, "application/json")], body.clone()).into_response()
        }
    }
}
