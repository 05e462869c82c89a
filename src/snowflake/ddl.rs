//! Snowflake DDL generated from the table schemas: tables with column comments, the staging
//! tables dimension merges use, a named Parquet file format, stage templates, and
//! `ALTER TABLE ... ADD COLUMN` for upgrading from an older schema version.

use std::sync::Arc;

use super::load::Names;
use super::{ident, quote};
use crate::error::{Error, Result};
use crate::schema::{TableKind, TableSchema};

/// Where the stage points; each variant renders a `CREATE STAGE` template.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StageTemplate {
    /// AWS S3 through a storage integration (recommended by Snowflake).
    S3,
    /// An S3-compatible store: `s3compat://`, HTTPS with virtual-host addressing, no port,
    /// direct credentials only (no storage integration).
    S3compat,
    /// Google Cloud Storage through a storage integration.
    Gcs,
    /// Azure Blob Storage through a storage integration.
    Azure,
}

/// What `ddl` prints.
#[derive(Debug, Clone, Default)]
pub struct DdlOptions {
    pub names: Names,
    pub stage: Option<StageOptions>,
    /// Emit only what was added after this schema version.
    pub upgrade_from: Option<u32>,
}

#[derive(Debug, Clone)]
pub struct StageOptions {
    pub template: StageTemplate,
    pub name: String,
    /// Stage URL; a placeholder in the template when not given.
    pub url: Option<String>,
    pub storage_integration: Option<String>,
    /// S3-compatible endpoint host (no scheme, no port).
    pub endpoint: Option<String>,
}

/// The named file format the stage uses.
pub const FILE_FORMAT: &str = "genesys_parquet";

fn column_lines(t: &TableSchema, filter: impl Fn(&crate::schema::Column) -> bool) -> Vec<String> {
    let width = t
        .columns
        .iter()
        .map(|c| ident(&c.name).len())
        .max()
        .unwrap_or(0);
    t.columns
        .iter()
        .filter(|c| filter(c))
        .map(|c| {
            let not_null = if c.nullable { "" } else { " NOT NULL" };
            format!(
                "  {:<width$} {}{not_null} COMMENT {}",
                ident(&c.name),
                c.ty.snowflake_type(),
                quote(&c.description)
            )
        })
        .collect()
}

/// `CREATE TABLE IF NOT EXISTS` for one table.
pub fn create_table(t: &TableSchema, names: &Names) -> String {
    let cols = column_lines(t, |_| true);
    let mut out = format!(
        "CREATE TABLE IF NOT EXISTS {} (\n{}\n)\nCLUSTER BY ({})\nCOMMENT = {};\n",
        names.table(&t.table),
        cols.join(",\n"),
        t.partition_column,
        quote(&format!(
            "{} [genesys-loader schema v{}; key: {}]",
            t.description,
            t.version,
            t.primary_key.join(", ")
        ))
    );
    if t.kind == TableKind::Dimension {
        // Transient: staging data is rebuilt every run and needs no fail-safe history.
        out.push_str(&format!(
            "CREATE TRANSIENT TABLE IF NOT EXISTS {} (\n{}\n)\nCOMMENT = {};\n",
            names.table(&t.staging_table()),
            cols.join(",\n"),
            quote(&format!(
                "Staging for {}: each load script empties it, copies a snapshot in, and merges it",
                t.table
            ))
        ));
    }
    out
}

/// What `genesys_loaded_partitions.divisions` means (the column a later version added).
const LOADS_DIVISIONS_COMMENT: &str = "Ids of the divisions the loading client reached for the dataset (NULL: not known, or not division-scoped); a later load that does not reach one of them is refused";

/// The table the load scripts' order and coverage guards keep (see
/// [`super::load::LOADS_TABLE`]).
pub fn loads_table(names: &Names) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {} (\n  \
         dataset         VARCHAR NOT NULL COMMENT 'Dataset whose tables were loaded (conversations, divisions, ...)',\n  \
         partition_value DATE NOT NULL COMMENT 'The partition (conversation_date or snapshot_date) that was replaced',\n  \
         run_id          VARCHAR NOT NULL COMMENT 'The run whose files are loaded there now; run ids sort by start time',\n  \
         loaded_at       TIMESTAMP_TZ(6) NOT NULL COMMENT 'When its load script committed',\n  \
         divisions       ARRAY COMMENT {}\n)\n\
         COMMENT = 'genesys-loader bookkeeping: the last run to load each partition; load scripts refuse to replace newer data with older';\n",
        names.table(super::load::LOADS_TABLE),
        quote(LOADS_DIVISIONS_COMMENT)
    )
}

/// Brings a `genesys_loaded_partitions` created by an earlier version up to date.
pub fn upgrade_loads_table(names: &Names) -> String {
    format!(
        "ALTER TABLE {} ADD COLUMN IF NOT EXISTS divisions ARRAY COMMENT {};\n",
        names.table(super::load::LOADS_TABLE),
        quote(LOADS_DIVISIONS_COMMENT)
    )
}

/// `ALTER TABLE ... ADD COLUMN` for the columns a table gained after `from` (and a
/// `CREATE TABLE` for tables that did not exist at `from`).
pub fn upgrade_table(t: &TableSchema, names: &Names, from: u32) -> String {
    if t.since > from {
        return create_table(t, names);
    }
    let mut out = String::new();
    let targets = if t.kind == TableKind::Dimension {
        vec![t.table.clone(), t.staging_table()]
    } else {
        vec![t.table.clone()]
    };
    for target in targets {
        for c in t.columns.iter().filter(|c| c.since > from) {
            out.push_str(&format!(
                "ALTER TABLE {} ADD COLUMN IF NOT EXISTS {} {} COMMENT {};\n",
                names.table(&target),
                ident(&c.name),
                c.ty.snowflake_type(),
                quote(&c.description)
            ));
        }
    }
    out
}

fn stage_sql(s: &StageOptions, names: &Names) -> Result<String> {
    let stage = names.table(&s.name);
    let format = names.table(FILE_FORMAT);
    let integration = s
        .storage_integration
        .clone()
        .unwrap_or_else(|| "genesys_storage_integration".into());
    let url = |placeholder: &str| s.url.clone().unwrap_or_else(|| placeholder.to_string());
    let body = match s.template {
        StageTemplate::S3 => format!(
            "-- Needs: CREATE STORAGE INTEGRATION {integration} TYPE = EXTERNAL_STAGE STORAGE_PROVIDER = 'S3'\n\
             --   STORAGE_AWS_ROLE_ARN = '<role arn>' STORAGE_ALLOWED_LOCATIONS = ('s3://<bucket>/<prefix>/');\n\
             CREATE STAGE IF NOT EXISTS {stage}\n  URL = {}\n  STORAGE_INTEGRATION = {integration}\n  FILE_FORMAT = {format};\n",
            quote(&url("s3://<bucket>/<prefix>/"))
        ),
        StageTemplate::S3compat => {
            let endpoint = s
                .endpoint
                .clone()
                .unwrap_or_else(|| "<host, no scheme, no port>".into());
            if endpoint.contains("://") || endpoint.contains(':') {
                return Err(Error::Input(format!(
                    "--endpoint {endpoint:?}: Snowflake wants a bare HTTPS host with no scheme and no port"
                )));
            }
            let u = url("s3compat://<bucket>/<prefix>/");
            if !u.starts_with("s3compat://") {
                return Err(Error::Input(format!(
                    "--stage-url {u:?}: an S3-compatible stage URL starts with s3compat://"
                )));
            }
            format!(
                "-- S3-compatible stages need HTTPS with a valid certificate, virtual-host addressing, no port,\n\
                 -- and direct credentials (no storage integration); the feature must be enabled on the account.\n\
                 CREATE STAGE IF NOT EXISTS {stage}\n  URL = {}\n  ENDPOINT = {}\n  \
                 CREDENTIALS = (AWS_KEY_ID = '<key id>' AWS_SECRET_KEY = '<secret key>')\n  FILE_FORMAT = {format};\n",
                quote(&u),
                quote(&endpoint)
            )
        }
        StageTemplate::Gcs => format!(
            "-- Needs: CREATE STORAGE INTEGRATION {integration} TYPE = EXTERNAL_STAGE STORAGE_PROVIDER = 'GCS'\n\
             --   STORAGE_ALLOWED_LOCATIONS = ('gcs://<bucket>/<prefix>/');\n\
             CREATE STAGE IF NOT EXISTS {stage}\n  URL = {}\n  STORAGE_INTEGRATION = {integration}\n  FILE_FORMAT = {format};\n",
            quote(&url("gcs://<bucket>/<prefix>/"))
        ),
        StageTemplate::Azure => format!(
            "-- Needs: CREATE STORAGE INTEGRATION {integration} TYPE = EXTERNAL_STAGE STORAGE_PROVIDER = 'AZURE'\n\
             --   AZURE_TENANT_ID = '<tenant id>' STORAGE_ALLOWED_LOCATIONS = ('azure://<account>.blob.core.windows.net/<container>/<prefix>/');\n\
             CREATE STAGE IF NOT EXISTS {stage}\n  URL = {}\n  STORAGE_INTEGRATION = {integration}\n  FILE_FORMAT = {format};\n",
            quote(&url(
                "azure://<account>.blob.core.windows.net/<container>/<prefix>/"
            ))
        ),
    };
    Ok(format!(
        "CREATE FILE FORMAT IF NOT EXISTS {format}\n  TYPE = PARQUET\n  USE_VECTORIZED_SCANNER = TRUE;\n{body}"
    ))
}

/// The whole `ddl` output.
pub fn render(tables: &[Arc<TableSchema>], opts: &DdlOptions) -> Result<String> {
    let mut out = format!(
        "-- genesys-loader {} Snowflake DDL, generated from schemas/\n",
        env!("CARGO_PKG_VERSION")
    );
    match opts.upgrade_from {
        Some(from) => {
            out.push_str(&format!("-- Upgrade from schema version {from}\n\n"));
            for t in tables {
                out.push_str(&upgrade_table(t, &opts.names, from));
            }
            out.push_str(&loads_table(&opts.names));
            out.push_str(&upgrade_loads_table(&opts.names));
        }
        None => {
            out.push('\n');
            if let Some(s) = &opts.stage {
                out.push_str(&stage_sql(s, &opts.names)?);
                out.push('\n');
            }
            for t in tables {
                out.push_str(&create_table(t, &opts.names));
                out.push('\n');
            }
            out.push_str(&loads_table(&opts.names));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Catalog;

    #[test]
    fn ddl_types_follow_the_schema() {
        let t = Catalog::builtin().table("session_metrics").unwrap();
        let ddl = create_table(t, &Names::default());
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
    fn dimensions_get_a_transient_staging_table() {
        let t = Catalog::builtin().table("divisions").unwrap();
        let names = Names {
            database: Some("RAW".into()),
            schema: Some("GENESYS".into()),
        };
        let ddl = create_table(t, &names);
        assert!(ddl.contains("CREATE TABLE IF NOT EXISTS RAW.GENESYS.divisions ("));
        assert!(
            ddl.contains("CREATE TRANSIENT TABLE IF NOT EXISTS RAW.GENESYS.divisions_staging (")
        );
    }

    #[test]
    fn upgrades_add_only_newer_columns() {
        let text = r#"{"table":"t","version":2,"description":"d","kind":"fact","dataset":"x","model":"M",
            "path":"p","partition_column":"d","primary_key":[],"nested":[],
            "columns":[{"name":"d","type":"date","nullable":false,"source":"meta:conversation_date","description":"day"},
                       {"name":"n","type":"int64","nullable":true,"source":"field:n","description":"new","since":2}]}"#;
        let t = TableSchema::parse("t", text).unwrap();
        let sql = upgrade_table(&t, &Names::default(), 1);
        assert_eq!(
            sql,
            "ALTER TABLE t ADD COLUMN IF NOT EXISTS n NUMBER(38,0) COMMENT 'new';\n"
        );
        assert_eq!(upgrade_table(&t, &Names::default(), 2), "");
        let newer = text.replace(r#""version":2,"#, r#""version":2,"since":2,"#);
        let t2 = TableSchema::parse("t", &newer).unwrap();
        assert!(
            upgrade_table(&t2, &Names::default(), 1).starts_with("CREATE TABLE IF NOT EXISTS t (")
        );
    }

    #[test]
    fn a_column_newer_than_its_table_is_rejected() {
        let text = r#"{"table":"t","version":1,"description":"d","kind":"fact","dataset":"x","model":"M",
            "path":"p","partition_column":"d","primary_key":[],"nested":[],
            "columns":[{"name":"d","type":"date","nullable":false,"source":"meta:conversation_date","description":"day","since":2}]}"#;
        assert!(
            TableSchema::parse("t", text)
                .unwrap_err()
                .to_string()
                .contains("since v2")
        );
    }

    #[test]
    fn stage_templates_render_and_check_s3compat_rules() {
        let tables = Catalog::builtin().tables().to_vec();
        for template in [
            StageTemplate::S3,
            StageTemplate::S3compat,
            StageTemplate::Gcs,
            StageTemplate::Azure,
        ] {
            let opts = DdlOptions {
                stage: Some(StageOptions {
                    template,
                    name: "genesys_stage".into(),
                    url: None,
                    storage_integration: None,
                    endpoint: None,
                }),
                ..Default::default()
            };
            let sql = render(&tables, &opts).unwrap();
            assert!(sql.contains("CREATE FILE FORMAT IF NOT EXISTS genesys_parquet"));
            assert!(sql.contains("CREATE STAGE IF NOT EXISTS genesys_stage"));
        }
        let bad = StageOptions {
            template: StageTemplate::S3compat,
            name: "s".into(),
            url: Some("s3compat://b/p/".into()),
            storage_integration: None,
            endpoint: Some("minio.example.com:9000".into()),
        };
        assert!(
            stage_sql(&bad, &Names::default())
                .unwrap_err()
                .to_string()
                .contains("no port")
        );
    }

    #[test]
    fn comments_are_quoted() {
        let all = render(Catalog::builtin().tables(), &DdlOptions::default()).unwrap();
        assert_eq!(
            all.matches("CREATE TABLE IF NOT EXISTS").count(),
            Catalog::builtin().tables().len() + 1,
            "every table and the load record"
        );
        assert!(
            all.contains("\"VIEW\"                     BOOLEAN NOT NULL"),
            "reserved words are quoted"
        );
        assert!(
            !all.contains("COMMENT 'The participant's"),
            "unescaped quote"
        );
    }
}
