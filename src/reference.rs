//! The table reference: every dataset, what it needs and the tables it fills, rendered as
//! Markdown from the same schemas the decoder and the DDL are made from.
//!
//! `genesys-loader docs` prints it; `docs/tables.md` is the checked-in copy, which a test keeps
//! equal to this output, so the reference cannot drift from what the loader writes.

use std::fmt::Write;

use crate::datasets::{self, Group, LoadMode};
use crate::schema::{Catalog, TableKind};

/// The whole reference, one section per dataset in registry order.
pub fn tables_markdown() -> String {
    let catalog = Catalog::builtin();
    let mut out = String::new();
    out.push_str(
        "# Table reference\n\n\
         Generated from `schemas/` by `genesys-loader docs` (a test keeps this file current).\n\
         Types are Snowflake's, as `genesys-loader ddl` creates them. `run_id` is the run that\n\
         wrote a row; `extra_fields` (on root tables) holds, as JSON, fields the schema does not\n\
         know, so nothing served is lost.\n\n",
    );
    for ds in datasets::registry() {
        let spec = ds.spec();
        // Dataset names are lower case with dashes: their own heading anchors.
        let _ = writeln!(out, "- [`{0}`](#{0}): {1}", spec.name, spec.summary);
    }
    out.push('\n');
    for ds in datasets::registry() {
        let spec = ds.spec();
        let _ = writeln!(out, "## {}\n\n{}\n", spec.name, spec.summary);
        let group = match spec.group {
            Group::Facts => "facts",
            Group::Dimensions => "dimension",
        };
        let load = match spec.load {
            LoadMode::ReplacePartitions => "replaces the partitions the run covers",
            LoadMode::MergeByKey => "merged by key (entities are never deleted)",
        };
        let _ = writeln!(out, "- group: {group}; load: {load}");
        if spec.permissions.is_empty() {
            let _ = writeln!(out, "- permissions: none");
        } else {
            let _ = writeln!(
                out,
                "- permissions (any one): {}",
                code_list(spec.permissions)
            );
        }
        for route in spec.routes {
            let needs: Vec<String> = route.needs.iter().map(|g| code_list(g)).collect();
            let _ = writeln!(
                out,
                "- route \"{}\": needs {}",
                route.name,
                needs.join(" and ")
            );
        }
        if spec.division_scoped {
            let _ = writeln!(
                out,
                "- division-scoped: rows outside the divisions the client's roles are granted in are silently missing"
            );
        }
        if !spec.includes.is_empty() {
            let _ = writeln!(out, "- includes: {}", code_list(spec.includes));
        }
        out.push('\n');
        for t in catalog.dataset_tables(spec.name) {
            let kind = match t.kind {
                TableKind::Fact => "fact",
                TableKind::Dimension => "dimension",
            };
            let _ = writeln!(out, "### {}\n\n{}\n", t.table, t.description);
            let _ = writeln!(
                out,
                "{kind} table, key {}, partitioned by `{}`, one row per `{}` of `{}`.\n",
                code_list(&t.primary_key.iter().map(String::as_str).collect::<Vec<_>>()),
                t.partition_column,
                t.model,
                t.path
            );
            out.push_str("| column | type | null | description |\n|---|---|---|---|\n");
            for c in &t.columns {
                let _ = writeln!(
                    out,
                    "| `{}` | {} | {} | {} |",
                    c.name,
                    c.ty.snowflake_type(),
                    if c.nullable { "yes" } else { "no" },
                    c.description.replace('|', "\\|").replace('\n', " ")
                );
            }
            out.push('\n');
        }
    }
    out
}

fn code_list(items: &[&str]) -> String {
    items
        .iter()
        .map(|i| format!("`{i}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_and_column_is_in_the_reference() {
        let text = tables_markdown();
        for t in Catalog::builtin().tables() {
            assert!(text.contains(&format!("### {}\n", t.table)), "{}", t.table);
            for c in &t.columns {
                assert!(
                    text.contains(&format!("| `{}` |", c.name)),
                    "{}.{}",
                    t.table,
                    c.name
                );
            }
        }
    }
}
