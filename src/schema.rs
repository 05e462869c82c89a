//! Output table schemas: `schemas/<dataset>/<table>.json` is the source of truth.
//!
//! Each file lists a table's columns with their type, nullability, where the value comes
//! from in the API payload, and a one-line description. The Arrow schema the decoder emits,
//! the Parquet files and the Snowflake DDL are all derived from it, so the files are compiled
//! into the binary (a shipped binary never depends on a checkout being present).

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use serde::Deserialize;

use crate::error::{Error, Result};

/// A column's logical type. Kept small on purpose: each maps to one Arrow type that
/// Snowflake reads correctly from Parquet (no unsigned, no nanoseconds, no INT96).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum ColumnType {
    #[serde(rename = "string")]
    String,
    #[serde(rename = "int64")]
    Int64,
    #[serde(rename = "float64")]
    Float64,
    #[serde(rename = "boolean")]
    Boolean,
    /// An instant: Arrow `Timestamp(Microsecond, "UTC")`, Parquet INT64 micros, UTC-adjusted.
    #[serde(rename = "timestamp")]
    Timestamp,
    #[serde(rename = "date")]
    Date,
    #[serde(rename = "list<string>")]
    StringList,
    #[serde(rename = "list<int64>")]
    Int64List,
    /// A JSON document stored as text (nested objects this schema keeps whole).
    #[serde(rename = "json")]
    Json,
}

impl ColumnType {
    /// The Arrow type written to Parquet for this column.
    pub fn arrow_type(self) -> DataType {
        match self {
            ColumnType::String | ColumnType::Json => DataType::Utf8,
            ColumnType::Int64 => DataType::Int64,
            ColumnType::Float64 => DataType::Float64,
            ColumnType::Boolean => DataType::Boolean,
            ColumnType::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            ColumnType::Date => DataType::Date32,
            ColumnType::StringList => {
                DataType::List(Arc::new(Field::new("item", DataType::Utf8, true)))
            }
            ColumnType::Int64List => {
                DataType::List(Arc::new(Field::new("item", DataType::Int64, true)))
            }
        }
    }

    /// The Snowflake column type for this column.
    pub fn snowflake_type(self) -> &'static str {
        match self {
            ColumnType::String => "VARCHAR",
            ColumnType::Int64 => "NUMBER(38,0)",
            ColumnType::Float64 => "FLOAT",
            ColumnType::Boolean => "BOOLEAN",
            ColumnType::Timestamp => "TIMESTAMP_TZ(6)",
            ColumnType::Date => "DATE",
            ColumnType::StringList | ColumnType::Int64List => "ARRAY",
            ColumnType::Json => "VARIANT",
        }
    }
}

/// Where a column's value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A field of the entity the row is made from (`field:sessionId`).
    Field(String),
    /// A value nested in a field of the entity (`field:division.id`). It reads without
    /// claiming the field: the schema keeps the whole field too (as a `json` column, or in a
    /// child table), so nothing is lost.
    Path(Vec<String>),
    /// A field of an enclosing entity (`parent:conversation.conversationId`).
    Parent { entity: String, field: String },
    /// The position of an enclosing entity in its list (`parent_index:segment`), to carry a
    /// key that has no id of its own down to child rows.
    ParentIndex(String),
    /// The run id (`meta:run_id`).
    RunId,
    /// The UTC date of the conversation's start (`meta:conversation_date`).
    ConversationDate,
    /// The UTC date of a dimension snapshot: the run's date (`meta:snapshot_date`).
    SnapshotDate,
    /// The partition date the dataset assigns each root row (`meta:partition_date`), e.g. the
    /// UTC date of an aggregate interval's start.
    PartitionDate,
    /// The row's position in its parent's list (`meta:index`).
    Index,
    /// Fields of the entity that no column names, as a JSON object (`meta:extra_fields`).
    ExtraFields,
}

impl<'de> Deserialize<'de> for Source {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        parse_source(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown column source {s:?}")))
    }
}

fn parse_source(s: &str) -> Option<Source> {
    let (kind, rest) = s.split_once(':')?;
    match (kind, rest) {
        ("field", f) if f.contains('.') => {
            let steps: Vec<String> = f.split('.').map(str::to_string).collect();
            steps
                .iter()
                .all(|s| !s.is_empty())
                .then_some(Source::Path(steps))
        }
        ("field", f) if !f.is_empty() => Some(Source::Field(f.to_string())),
        ("parent", p) => {
            let (entity, field) = p.split_once('.')?;
            Some(Source::Parent {
                entity: entity.to_string(),
                field: field.to_string(),
            })
        }
        ("parent_index", entity) if !entity.is_empty() => {
            Some(Source::ParentIndex(entity.to_string()))
        }
        ("meta", "run_id") => Some(Source::RunId),
        ("meta", "conversation_date") => Some(Source::ConversationDate),
        ("meta", "snapshot_date") => Some(Source::SnapshotDate),
        ("meta", "partition_date") => Some(Source::PartitionDate),
        ("meta", "index") => Some(Source::Index),
        ("meta", "extra_fields") => Some(Source::ExtraFields),
        _ => None,
    }
}

/// One column of an output table.
#[derive(Debug, Clone, Deserialize)]
pub struct Column {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: ColumnType,
    pub nullable: bool,
    pub source: Source,
    pub description: String,
    /// The schema version that added this column (`ddl --upgrade-from` adds what came later);
    /// when omitted, the table's own `since`.
    #[serde(default)]
    pub since: u32,
}

fn first_version() -> u32 {
    1
}

/// How a table is loaded into Snowflake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TableKind {
    /// Facts: the run replaces its partitions (delete, then COPY).
    Fact,
    /// Dimensions: a full snapshot per run, merged by key (COPY into staging, dedupe, MERGE).
    Dimension,
}

/// One output table, as declared in `schemas/<dataset>/<table>.json`.
#[derive(Debug, Clone, Deserialize)]
pub struct TableSchema {
    pub table: String,
    pub version: u32,
    pub description: String,
    pub kind: TableKind,
    /// The schema version that added this table.
    #[serde(default = "first_version")]
    pub since: u32,
    pub dataset: String,
    /// The API model a row is made from (e.g. `AnalyticsSession`).
    pub model: String,
    /// Where those entities sit in a response page (e.g. `conversations[].participants[]`).
    pub path: String,
    pub partition_column: String,
    /// The instant column that bounds a partial-day reload (`conversation_start`): a run over
    /// part of a day replaces only the rows whose instant falls in its range. None: this
    /// table's partitions are only ever replaced whole.
    #[serde(default)]
    pub range_column: Option<String>,
    /// The column listing the divisions a row belongs to (`division_ids`), on the root table of
    /// a division-scoped dataset: a run that extracted only some divisions replaces only the
    /// rows that carry one of them, and the child tables' rows of those (through the root's
    /// key). None: the table's rows carry no division.
    #[serde(default)]
    pub division_column: Option<String>,
    pub primary_key: Vec<String>,
    /// Entity fields that child tables take apart, so they are neither columns nor extras.
    pub nested: Vec<String>,
    pub columns: Vec<Column>,
    #[serde(skip)]
    arrow: OnceLock<SchemaRef>,
}

impl TableSchema {
    /// Parses and checks one schema document.
    pub fn parse(name: &str, text: &str) -> Result<TableSchema> {
        let mut schema: TableSchema = serde_json::from_str(text).map_err(|e| Error::Schema {
            table: name.to_string(),
            message: e.to_string(),
        })?;
        for c in schema.columns.iter_mut().filter(|c| c.since == 0) {
            c.since = schema.since;
        }
        schema.validate()?;
        Ok(schema)
    }

    fn validate(&self) -> Result<()> {
        let fail = |message: String| Error::Schema {
            table: self.table.clone(),
            message,
        };
        let mut seen = HashMap::new();
        for (i, c) in self.columns.iter().enumerate() {
            if seen.insert(c.name.as_str(), i).is_some() {
                return Err(fail(format!("column {} is declared twice", c.name)));
            }
            if c.name != c.name.to_ascii_lowercase() || c.name.contains(' ') {
                return Err(fail(format!("column {} must be lower snake_case", c.name)));
            }
        }
        for key in self
            .primary_key
            .iter()
            .chain(std::iter::once(&self.partition_column))
            .chain(self.range_column.iter())
        {
            if !seen.contains_key(key.as_str()) {
                return Err(fail(format!("key column {key} is not a column")));
            }
        }
        if let Some(d) = &self.division_column {
            match seen.get(d.as_str()).map(|&i| self.columns[i].ty) {
                Some(ColumnType::StringList) => {}
                Some(other) => {
                    return Err(fail(format!(
                        "division column {d} is {other:?}, not a list of division ids"
                    )));
                }
                None => return Err(fail(format!("division column {d} is not a column"))),
            }
        }
        if self
            .columns
            .iter()
            .filter(|c| c.source == Source::ExtraFields)
            .count()
            > 1
        {
            return Err(fail("more than one extra_fields column".into()));
        }
        if let Some(c) = self
            .columns
            .iter()
            .find(|c| c.since > self.version || c.since < self.since)
        {
            return Err(fail(format!(
                "column {} says since v{}, outside the table's v{}..=v{}",
                c.name, c.since, self.since, self.version
            )));
        }
        if self.kind == TableKind::Dimension && self.primary_key.is_empty() {
            return Err(fail("a dimension needs a primary key to merge on".into()));
        }
        Ok(())
    }

    /// The Arrow schema of this table's record batches and Parquet files.
    pub fn arrow_schema(&self) -> SchemaRef {
        self.arrow
            .get_or_init(|| {
                let fields: Vec<Field> = self
                    .columns
                    .iter()
                    .map(|c| Field::new(&c.name, c.ty.arrow_type(), c.nullable))
                    .collect();
                Arc::new(Schema::new(fields))
            })
            .clone()
    }

    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// The transient table a dimension snapshot is copied into before the merge.
    pub fn staging_table(&self) -> String {
        format!("{}_staging", self.table)
    }
}

/// All output tables known to this build.
#[derive(Debug)]
pub struct Catalog {
    tables: Vec<Arc<TableSchema>>,
}

impl Catalog {
    /// The catalog compiled into the binary: every dataset's tables, in registry order.
    pub fn builtin() -> &'static Catalog {
        static CATALOG: OnceLock<Catalog> = OnceLock::new();
        CATALOG.get_or_init(|| {
            let tables = crate::datasets::registry()
                .iter()
                .flat_map(|d| d.spec().schemas.iter())
                .map(|(name, text)| {
                    // The files are compiled in and covered by tests: a parse failure is a
                    // build defect, not user input.
                    Arc::new(TableSchema::parse(name, text).expect("built-in schema is valid"))
                })
                .collect();
            Catalog { tables }
        })
    }

    pub fn tables(&self) -> &[Arc<TableSchema>] {
        &self.tables
    }

    pub fn table(&self, name: &str) -> Option<&Arc<TableSchema>> {
        self.tables.iter().find(|t| t.table == name)
    }

    /// The tables a dataset fills, parents first.
    pub fn dataset_tables(&self, dataset: &str) -> Vec<Arc<TableSchema>> {
        self.tables
            .iter()
            .filter(|t| t.dataset == dataset)
            .cloned()
            .collect()
    }
}

/// `conversationStart` → `conversation_start`, `q850ResponseCodes` → `q850_response_codes`,
/// `mediaStatsMinConversationRFactor` → `media_stats_min_conversation_r_factor`.
pub fn snake_case(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() {
            let prev = i.checked_sub(1).map(|p| chars[p]);
            let next = chars.get(i + 1).copied();
            let boundary = match prev {
                Some(p) if p.is_ascii_lowercase() || p.is_ascii_digit() => true,
                Some(p) if p.is_ascii_uppercase() => next.is_some_and(|n| n.is_ascii_lowercase()),
                _ => false,
            };
            if boundary {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_catalog_parses_and_orders_parents_first() {
        let tables = Catalog::builtin().tables();
        assert_eq!(tables[0].table, "conversations");
        for (i, t) in tables.iter().enumerate() {
            let parent = t.path.rsplit_once('.').map(|(p, _)| p);
            if let Some(parent) = parent {
                let at = tables
                    .iter()
                    .position(|p| p.path == parent && p.dataset == t.dataset)
                    .expect("parent table");
                assert!(at < i, "{} comes before its parent", t.table);
            }
        }
    }

    #[test]
    fn column_names_are_the_snake_case_of_api_fields() {
        for t in Catalog::builtin().tables() {
            for c in &t.columns {
                match &c.source {
                    // Every fact table keyed to a conversation names its start
                    // `conversation_start`, whatever the API calls it (an evaluation's
                    // `conversationDate`).
                    Source::Field(_)
                        if t.range_column.as_deref() == Some(c.name.as_str())
                            && c.name == "conversation_start" => {}
                    Source::Field(f) => assert_eq!(c.name, snake_case(f), "{}.{}", t.table, c.name),
                    // `division.id` is `division_id`, or named after its last step
                    // (`groupDimensions.queueId` is `queue_id`).
                    Source::Path(steps) => assert!(
                        c.name == snake_case(&steps.join("_"))
                            || c.name == snake_case(steps.last().unwrap()),
                        "{}.{}",
                        t.table,
                        c.name
                    ),
                    _ => {}
                }
            }
        }
    }

    #[test]
    fn snake_case_handles_acronyms_and_digits() {
        assert_eq!(snake_case("conversationStart"), "conversation_start");
        assert_eq!(snake_case("q850ResponseCodes"), "q850_response_codes");
        assert_eq!(
            snake_case("mediaStatsMinConversationRFactor"),
            "media_stats_min_conversation_r_factor"
        );
        assert_eq!(snake_case("oTotalScore"), "o_total_score");
        assert_eq!(snake_case("minRFactor"), "min_r_factor");
    }

    #[test]
    fn every_table_is_partitioned_and_carries_the_run_id() {
        for t in Catalog::builtin().tables() {
            let p = t.column(&t.partition_column).expect("partition column");
            assert_eq!(p.ty, ColumnType::Date);
            assert!(
                t.columns.iter().any(|c| c.source == Source::RunId),
                "{}",
                t.table
            );
            assert!(
                t.columns.iter().any(|c| c.source == Source::ExtraFields),
                "{}",
                t.table
            );
        }
    }

    #[test]
    fn timestamps_are_utc_microseconds() {
        assert_eq!(
            ColumnType::Timestamp.arrow_type(),
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
        );
    }

    #[test]
    fn a_duplicate_column_is_rejected_with_its_name() {
        let text = r#"{"table":"t","version":1,"description":"","kind":"fact","dataset":"d","model":"M",
            "path":"p","partition_column":"d","primary_key":[],"nested":[],
            "columns":[{"name":"d","type":"date","nullable":false,"source":"meta:conversation_date","description":""},
                       {"name":"d","type":"string","nullable":true,"source":"field:d","description":""}]}"#;
        let err = TableSchema::parse("t", text).unwrap_err().to_string();
        assert!(err.contains("column d is declared twice"), "{err}");
    }
}
