//! The library's error type. Each variant names the thing that failed (a URL, a table, an
//! interval, an object path) so the message alone tells the user what to fix, and maps to a
//! documented process exit code (see [`Error::exit_code`]).

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A flag, environment variable or date the user gave is wrong.
    #[error("invalid input: {0}")]
    Input(String),

    /// The client secret could not be read from its source.
    #[error("cannot read the client secret from {source_name}: {message}")]
    Secret {
        source_name: String,
        message: String,
    },

    /// The login host refused the client's credentials (`invalid_client` and the like).
    #[error("authentication failed at {url}: {error}: {description}")]
    Auth {
        url: String,
        error: String,
        description: String,
    },

    /// The API refused a request for lack of permission (403).
    #[error("permission denied for {method} {path}: {message}")]
    Permission {
        method: String,
        path: String,
        message: String,
    },

    /// The API answered with an error, or kept failing after the allowed retries.
    #[error("API request {method} {path} failed: {message}")]
    Api {
        method: String,
        path: String,
        status: Option<u16>,
        message: String,
    },

    /// A response body did not have the expected shape.
    #[error("unexpected API payload from {path}: {message}")]
    Payload { path: String, message: String },

    /// Reading or writing object storage failed.
    #[error("storage error at {location}: {message}")]
    Storage { location: String, message: String },

    /// A schema file is malformed (a build defect when it is one of the built-in files).
    #[error("schema {table}: {message}")]
    Schema { table: String, message: String },

    /// Encoding a batch as Arrow or Parquet failed.
    #[error("encoding {table} failed: {message}")]
    Encode { table: String, message: String },

    /// Another run holds the lock for the same output and range.
    #[error("locked: {0}")]
    Locked(String),

    /// The run was stopped by a signal (SIGTERM, SIGINT); its checkpoints are kept.
    #[error("interrupted: {0}")]
    Interrupted(String),

    #[error("I/O error at {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl Error {
    /// The process exit code for this error; documented in the README.
    ///
    /// 2 bad input (flags, config, dates) · 3 authentication · 4 permission ·
    /// 5 API failure or unexpected payload · 6 storage · 8 another run holds the lock ·
    /// 11 interrupted by a signal · 1 anything else (7 is preflight's refusal of an
    /// over-privileged client, 9 reconcile's mismatches, 10 a committed run that quarantined
    /// records).
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Input(_) | Error::Schema { .. } => 2,
            Error::Secret { .. } | Error::Auth { .. } => 3,
            Error::Permission { .. } => 4,
            Error::Api { .. } | Error::Payload { .. } => 5,
            Error::Storage { .. } => 6,
            Error::Locked(_) => 8,
            Error::Interrupted(_) => 11,
            Error::Encode { .. } | Error::Io { .. } => 1,
        }
    }

    pub(crate) fn storage(location: impl std::fmt::Display, err: impl std::fmt::Display) -> Error {
        Error::Storage {
            location: location.to_string(),
            message: err.to_string(),
        }
    }
}
