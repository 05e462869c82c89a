//! `CREATE TABLE` statements generated from the table schemas, with column comments.

use std::sync::Arc;

use super::quote;
use crate::schema::TableSchema;

/// DDL for one table.
pub fn create_table(t: &TableSchema) -> String {
    let width = t.columns.iter().map(|c| c.name.len()).max().unwrap_or(0);
    let cols: Vec<String> = t
        .columns
        .iter()
        .map(|c| {
            let not_null = if c.nullable { "" } else { " NOT NULL" };
            format!(
                "  {:<width$} {}{not_null} COMMENT {}",
                c.name,
                c.ty.snowflake_type(),
                quote(&c.description)
            )
        })
        .collect();
    format!(
        "CREATE TABLE IF NOT EXISTS {} (\n{}\n)\nCLUSTER BY ({})\nCOMMENT = {};\n",
        t.table,
        cols.join(",\n"),
        t.partition_column,
        quote(&format!(
            "{} [genesys-loader schema v{}; key: {}]",
            t.description,
            t.version,
            t.primary_key.join(", ")
        ))
    )
}

/// DDL for several tables, one statement each.
pub fn create_tables(tables: &[Arc<TableSchema>]) -> String {
    let mut out = format!(
        "-- genesys-loader {} table definitions, generated from schemas/\n\n",
        env!("CARGO_PKG_VERSION")
    );
    for t in tables {
        out.push_str(&create_table(t));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Catalog;

    #[test]
    fn ddl_types_follow_the_schema() {
        let t = Catalog::builtin().table("session_metrics").unwrap();
        let ddl = create_table(t);
        assert!(ddl.starts_with("CREATE TABLE IF NOT EXISTS session_metrics ("));
        assert!(
            ddl.contains("conversation_date  DATE NOT NULL COMMENT"),
            "{ddl}"
        );
        assert!(
            ddl.contains("emit_date          TIMESTAMP_TZ(6) COMMENT"),
            "{ddl}"
        );
        assert!(
            ddl.contains("value              NUMBER(38,0) COMMENT"),
            "{ddl}"
        );
        assert!(ddl.contains("CLUSTER BY (conversation_date)"));
    }

    #[test]
    fn comments_are_quoted() {
        let all = create_tables(Catalog::builtin().tables());
        assert_eq!(all.matches("CREATE TABLE IF NOT EXISTS").count(), 5);
        assert!(
            !all.contains("COMMENT 'The participant's"),
            "unescaped quote"
        );
    }
}
