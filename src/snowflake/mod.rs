//! What Snowflake needs: table DDL from the schemas, the run manifest, and the run's load script.

pub mod ddl;
pub mod load;
pub mod manifest;

pub use manifest::Manifest;

/// A SQL string literal: single quotes doubled.
pub(crate) fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}
