//! What Snowflake needs: table DDL from the schemas, the run manifest, and the run's load script.

pub mod ddl;
pub mod load;
pub mod manifest;
pub mod steps;

pub use manifest::{Manifest, ManifestLog};

/// A SQL string literal: single quotes doubled.
pub(crate) fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Snowflake's reserved keywords (documentation: "Reserved & limited keywords"), and
/// AUTHORIZATION, reserved in ANSI SQL (and in DuckDB, which the tests load into): a column of
/// one of these names is quoted in SQL.
const RESERVED: &[&str] = &[
    "AUTHORIZATION",
    "ALL",
    "ALTER",
    "AND",
    "ANY",
    "AS",
    "BETWEEN",
    "BY",
    "CASE",
    "CAST",
    "CHECK",
    "COLUMN",
    "CONNECT",
    "CONNECTION",
    "CONSTRAINT",
    "CREATE",
    "CROSS",
    "CURRENT",
    "CURRENT_DATE",
    "CURRENT_TIME",
    "CURRENT_TIMESTAMP",
    "CURRENT_USER",
    "DATABASE",
    "DELETE",
    "DISTINCT",
    "DROP",
    "ELSE",
    "EXISTS",
    "FALSE",
    "FOLLOWING",
    "FOR",
    "FROM",
    "FULL",
    "GRANT",
    "GROUP",
    "GSCLUSTER",
    "HAVING",
    "ILIKE",
    "IN",
    "INCREMENT",
    "INNER",
    "INSERT",
    "INTERSECT",
    "INTO",
    "IS",
    "ISSUE",
    "JOIN",
    "LATERAL",
    "LEFT",
    "LIKE",
    "LOCALTIME",
    "LOCALTIMESTAMP",
    "MINUS",
    "NATURAL",
    "NOT",
    "NULL",
    "OF",
    "ON",
    "OR",
    "ORDER",
    "ORGANIZATION",
    "QUALIFY",
    "REGEXP",
    "REVOKE",
    "RIGHT",
    "RLIKE",
    "ROW",
    "ROWS",
    "SAMPLE",
    "SCHEMA",
    "SELECT",
    "SET",
    "SOME",
    "START",
    "TABLE",
    "TABLESAMPLE",
    "THEN",
    "TO",
    "TRIGGER",
    "TRUE",
    "TRY_CAST",
    "UNION",
    "UNIQUE",
    "UPDATE",
    "USING",
    "VALUES",
    "VIEW",
    "WHEN",
    "WHENEVER",
    "WHERE",
    "WITH",
];

/// A column name as SQL: as is, or quoted in upper case when it is a reserved word (`view` is
/// `"VIEW"`, which Snowflake resolves exactly as it would an unquoted `view`, so
/// `MATCH_BY_COLUMN_NAME` still matches the Parquet column).
pub fn ident(name: &str) -> String {
    let upper = name.to_ascii_uppercase();
    if RESERVED.contains(&upper.as_str()) {
        format!("\"{upper}\"")
    } else {
        name.to_string()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn reserved_words_are_quoted_in_upper_case() {
        assert_eq!(super::ident("view"), "\"VIEW\"");
        assert_eq!(super::ident("current"), "\"CURRENT\"");
        assert_eq!(super::ident("queue_id"), "queue_id");
    }
}
