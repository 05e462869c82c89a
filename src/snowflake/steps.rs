//! A load as an ordered list of steps, and its two renderings.
//!
//! [`super::load::plan`] turns a manifest into a [`Plan`]: session settings, then steps, each a
//! guard (a count that must hold before anything changes), a change (DELETE, COPY, MERGE,
//! INSERT) or a check (a count that must hold once the changes are made). The same list is
//! rendered twice:
//! - [`block`]: the load script, `_manifests/<run_id>.sql`: the session settings, then one
//!   Snowflake Scripting block (`EXECUTE IMMEDIATE $$ ... $$`) that begins a transaction, runs
//!   the steps in order, raises a declared exception when a count is wrong, commits, and on
//!   any error rolls back and re-raises. It is one statement, so whatever a runner does after
//!   an error (snowsql carries on by default), nothing of a failed load is committed.
//! - [`Plan::to_jsonl`]: the same steps as plain statements, one JSON object a line,
//!   `_manifests/<run_id>.steps.jsonl` (not `.json`: whatever lists `_manifests/*.json` finds
//!   manifests only), for tools that cannot run or parse Snowflake Scripting. The fakesnow proof
//!   in `scripts/check_snowflake.py` runs exactly these, in order, and checks that the block is
//!   made of them and nothing else.
//!
//! Exception messages are constants (Snowflake takes only a literal there), written when the
//! script is generated: they name what failed, the table or dataset, the expected count and
//! the run. Figures only known at load time (the rows a table holds, the newer run's id) come
//! from running the failed step's query, which the script shows just above its `IF`.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The block's one variable: each guard and check counts into it.
pub const COUNTED: &str = "counted";

/// How every assertion's query starts; the block inserts `INTO :counted` after it.
pub const COUNT: &str = "SELECT COUNT(*) ";

/// The first exception number; Snowflake allows -20000 to -20999 for declared exceptions.
const FIRST_CODE: i32 = -20001;
const LAST_CODE: i32 = -20999;

/// A count that must equal `expected`, or the load raises `exception` and rolls back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assertion {
    /// The declared exception's name: an identifier saying what failed
    /// (`newer_run_loaded`, `reconciliation_failed_conversations`).
    pub exception: String,
    /// The exception's number, one per assertion (-20001, -20002, ...).
    pub code: i32,
    /// The exception's message: a constant.
    pub message: String,
    /// `SELECT COUNT(*) FROM ...`.
    pub sql: String,
    pub expected: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// One step of a load.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Step {
    /// Before any change: a refusal here leaves every table as it was.
    Guard(Assertion),
    /// A change: DELETE, COPY INTO, MERGE or INSERT.
    Dml {
        sql: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    /// After the changes, before COMMIT: a mismatch rolls every change back.
    Check(Assertion),
}

impl Step {
    pub fn sql(&self) -> &str {
        match self {
            Step::Guard(a) | Step::Check(a) => &a.sql,
            Step::Dml { sql, .. } => sql,
        }
    }

    fn note(&self) -> Option<&str> {
        match self {
            Step::Guard(a) | Step::Check(a) => a.note.as_deref(),
            Step::Dml { note, .. } => note.as_deref(),
        }
    }
}

/// A run's load: what both renderings are made from.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub run_id: String,
    /// Comment lines that open the script (without `-- `).
    pub header: Vec<String>,
    /// Session settings, run before the block and outside the transaction.
    pub session: Vec<String>,
    pub steps: Vec<Step>,
    /// What the block returns once committed.
    pub returns: String,
}

/// Builds assertions with exception numbers in step order.
#[derive(Debug)]
pub struct Assertions {
    next: i32,
}

impl Default for Assertions {
    fn default() -> Self {
        Assertions { next: FIRST_CODE }
    }
}

impl Assertions {
    /// An assertion that `SELECT COUNT(*) <from>` equals `expected`.
    pub fn count(
        &mut self,
        exception: String,
        message: String,
        from: &str,
        expected: u64,
        note: Option<String>,
    ) -> Result<Assertion> {
        if self.next < LAST_CODE {
            return Err(Error::Input(format!(
                "a load script declares at most {} exceptions",
                FIRST_CODE - LAST_CODE + 1
            )));
        }
        let code = self.next;
        self.next -= 1;
        Ok(Assertion {
            exception,
            code,
            message,
            sql: format!("{COUNT}{from}"),
            expected,
            note,
        })
    }
}

/// A session setting, as a line of the plain statement list.
#[derive(Serialize)]
struct Session<'a> {
    kind: &'static str,
    sql: &'a str,
}

impl Plan {
    /// The plain statement list, `_manifests/<run_id>.steps.jsonl`: one JSON object a line,
    /// `{"kind": "session", "sql": ...}` for each session setting, then each step
    /// (`{"kind": "guard" | "dml" | "check", "sql": ..., ...}`), in order.
    pub fn to_jsonl(&self) -> Result<String> {
        let encode = |e: serde_json::Error| Error::Encode {
            table: "load steps".into(),
            message: e.to_string(),
        };
        let mut out = String::new();
        for sql in &self.session {
            let line = Session {
                kind: "session",
                sql,
            };
            out.push_str(&serde_json::to_string(&line).map_err(encode)?);
            out.push('\n');
        }
        for step in &self.steps {
            out.push_str(&serde_json::to_string(step).map_err(encode)?);
            out.push('\n');
        }
        Ok(out)
    }
}

/// `'text'`, quotes doubled.
fn literal(s: &str) -> String {
    super::quote(s)
}

fn indent(text: &str, by: &str) -> String {
    text.lines()
        .map(|l| {
            if l.is_empty() {
                String::new()
            } else {
                format!("{by}{l}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The load script: session settings, then one Snowflake Scripting block running every step
/// in one transaction.
pub fn block(plan: &Plan) -> Result<String> {
    let mut out = String::new();
    for line in &plan.header {
        if line.is_empty() {
            out.push_str("--\n");
        } else {
            out.push_str(&format!("-- {line}\n"));
        }
    }
    out.push('\n');
    for s in &plan.session {
        out.push_str(&format!("{s};\n"));
    }
    out.push_str("\nEXECUTE IMMEDIATE $$\nDECLARE\n");
    out.push_str(&format!("  {COUNTED} INTEGER DEFAULT 0;\n"));
    let mut body = String::new();
    for step in &plan.steps {
        // A blank line opens each group of steps (a note) and each guard or check.
        if step.note().is_some() || !matches!(step, Step::Dml { .. }) {
            body.push('\n');
        }
        if let Some(note) = step.note() {
            for line in note.lines() {
                body.push_str(&format!("  -- {line}\n"));
            }
        }
        match step {
            Step::Dml { sql, .. } => {
                body.push_str(&indent(sql, "  "));
                body.push_str(";\n");
            }
            Step::Guard(a) | Step::Check(a) => {
                out.push_str(&format!(
                    "  {} EXCEPTION ({}, {});\n",
                    a.exception,
                    a.code,
                    literal(&a.message)
                ));
                let from = a.sql.strip_prefix(COUNT).ok_or_else(|| {
                    Error::Input(format!(
                        "{}: an assertion must start with {COUNT:?}",
                        a.exception
                    ))
                })?;
                body.push_str(&indent(&format!("{COUNT}INTO :{COUNTED} {from}"), "  "));
                body.push_str(&format!(
                    ";\n  IF ({COUNTED} <> {}) THEN RAISE {}; END IF;\n",
                    a.expected, a.exception
                ));
            }
        }
    }
    out.push_str("BEGIN\n  BEGIN TRANSACTION;\n");
    out.push_str(&body);
    out.push_str(&format!(
        "\n  COMMIT;\n  RETURN {};\nEXCEPTION\n  WHEN OTHER THEN\n    ROLLBACK;\n    RAISE;\nEND;\n$$;\n",
        literal(&plan.returns)
    ));
    // `$$` ends the block: nothing inside may hold it (a stage or division name could).
    let inner = out
        .split_once("EXECUTE IMMEDIATE $$\n")
        .and_then(|(_, rest)| rest.strip_suffix("$$;\n"))
        .unwrap_or_default();
    if inner.contains("$$") {
        return Err(Error::Input(format!(
            "run {}: a name in the load script holds \"$$\", which would end its Snowflake Scripting block",
            plan.run_id
        )));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> Plan {
        let mut a = Assertions::default();
        Plan {
            run_id: "r".into(),
            header: vec!["a load".into(), String::new()],
            session: vec!["ALTER SESSION SET TIMEZONE = 'UTC'".into()],
            steps: vec![
                Step::Guard(
                    a.count(
                        "newer_run_loaded".into(),
                        "refusing: it's newer".into(),
                        "FROM l WHERE run_id > 'r'",
                        0,
                        Some("Order guard".into()),
                    )
                    .unwrap(),
                ),
                Step::Dml {
                    sql: "DELETE FROM t\n WHERE d = 1".into(),
                    note: None,
                },
                Step::Check(
                    a.count(
                        "reconciliation_failed_t".into(),
                        "t: 3 rows expected".into(),
                        "FROM t WHERE run_id = 'r'",
                        3,
                        None,
                    )
                    .unwrap(),
                ),
            ],
            returns: "loaded".into(),
        }
    }

    #[test]
    fn assertions_count_into_the_variable_and_raise_their_own_exception() {
        let sql = block(&plan()).unwrap();
        assert!(sql.contains(
            "  newer_run_loaded EXCEPTION (-20001, 'refusing: it''s newer');\n  reconciliation_failed_t EXCEPTION (-20002, 't: 3 rows expected');\n"
        ), "{sql}");
        assert!(sql.contains(
            "  SELECT COUNT(*) INTO :counted FROM l WHERE run_id > 'r';\n  IF (counted <> 0) THEN RAISE newer_run_loaded; END IF;\n"
        ), "{sql}");
        assert!(sql.contains("  DELETE FROM t\n   WHERE d = 1;\n"), "{sql}");
        assert!(sql.starts_with("-- a load\n--\n\nALTER SESSION SET TIMEZONE = 'UTC';\n"));
    }

    #[test]
    fn a_name_holding_the_block_delimiter_is_refused() {
        let mut p = plan();
        p.steps.push(Step::Dml {
            sql: "COPY INTO t FROM @st$$x".into(),
            note: None,
        });
        assert!(block(&p).unwrap_err().to_string().contains("$$"));
    }

    #[test]
    fn steps_are_listed_one_a_line_with_their_kind() {
        let lines: Vec<serde_json::Value> = plan()
            .to_jsonl()
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 4);
        assert_eq!(lines[0]["kind"], "session");
        assert_eq!(lines[0]["sql"], "ALTER SESSION SET TIMEZONE = 'UTC'");
        assert_eq!(lines[1]["kind"], "guard");
        assert_eq!(lines[1]["expected"], 0);
        assert_eq!(lines[1]["sql"], "SELECT COUNT(*) FROM l WHERE run_id > 'r'");
        assert_eq!(lines[2]["kind"], "dml");
        assert_eq!(lines[3]["kind"], "check");
        let step: Step = serde_json::from_value(lines[3].clone()).unwrap();
        assert_eq!(step, plan().steps[2]);
    }
}
