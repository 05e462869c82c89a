#!/usr/bin/env python3
"""Prove that the loader's SQL and Parquet load into Snowflake as intended, using fakesnow.

A load script (_manifests/<run_id>.sql) is session settings, then one Snowflake Scripting block
(EXECUTE IMMEDIATE $$ ... $$) that neither fakesnow nor sqlglot can run or parse. Both it and
_manifests/<run_id>.steps.jsonl (one statement a line) are rendered from the same list of steps, so this proof runs the
steps, and checks that the block is made of exactly those steps, in order, and nothing else.

Given an output root with several runs, the DDL, and the rows the warehouse should hold at the
end, this:
  1. checks that each script splits (as snowsql, the Python connector and Airflow split it) into
     its session settings and one block, and that the block, comments aside, is exactly: the
     declarations (a counter, one exception per guard and check), BEGIN TRANSACTION, every step
     in order (a guard or check as SELECT COUNT(*) INTO :counted ... and its IF ... RAISE),
     COMMIT, RETURN, and a handler that rolls back and re-raises;
  2. parses every step, the DDL and the other SQL with sqlglot's Snowflake dialect, and checks the
     COPYs by their AST: together they name exactly the manifest's files, at most 1,000 each;
     each is a transformation listing every column of its table, read as $1:"<column>" (the
     Parquet name, which the file must have) and PARSE_JSON(...::VARCHAR) for VARIANT columns;
     guards come before any change and checks after all of them;
  3. validates each manifest against schemas/manifest.schema.json;
  4. checks the Parquet types with pyarrow (timestamps microseconds UTC, no unsigned, strings);
  5. creates the tables in fakesnow, a stage over the output root (file://), and runs each run's
     steps as the block would: BEGIN TRANSACTION, each step in order (a guard or check must
     count its expected value, or the load stops and rolls back), COMMIT (a load with a MERGE
     runs outside a transaction, fakesnow's MERGE writing to a second DuckDB database, and its
     rollback is emulated by restoring copies of the tables); after each load every
     table holds no duplicate key; a run named by --expect-refused must instead be refused by a
     guard whose message holds the given text, before any change, leaving every table as it was;
  6. checks the final row counts against the expectation;
  7. runs a copy of the last run's steps with one reconciliation expecting a row more: it must
     fail at that check, after the changes and before COMMIT, and the rollback must leave every
     table as it was;
  8. runs the first run's steps again after the newer ones, which the order guard must refuse
     before any change; the newest run's steps then load again, changing nothing.
What fakesnow cannot show: the session settings (fakesnow has no ALTER SESSION SET TIMEZONE;
they are parsed, not run), Snowflake Scripting itself (exceptions, the handler), Parquet logical
types and ETags, and JSON text landing as a string in a VARIANT (DuckDB's JSON type holds both
alike). The Rust tests pin those rules instead. One fix to fakesnow's translation is applied
(quote_fakesnow_parquet_keys: a $1:"key" naming a DuckDB reserved word); the statements run are
those of the script.

Prints 'N passed, M failed' and exits non-zero on any failure.

Usage: check_snowflake.py --root OUT --ddl DDL.sql --expect EXPECT.json
                          [--parse-only SQL]... [--expect-refused RUN_ID:TEXT]... MANIFEST.json...
"""
import argparse
import copy
import io
import json
import os
import re
import sys
import traceback

import jsonschema
import pyarrow.parquet as pq
import sqlglot
from sqlglot import exp

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = {"passed": 0, "failed": 0}
# What the block counts into, and how each guard's and check's query starts.
COUNTED = "counted"
COUNT = "SELECT COUNT(*) "
# Session settings fakesnow cannot run; they are parsed only.
SESSION_SETTINGS = ["ALTER SESSION SET TIMEZONE = 'UTC'"]


def check(name, fn):
    try:
        fn()
        RESULTS["passed"] += 1
        print(f"ok   {name}")
    except Exception:  # report every failure, keep going
        RESULTS["failed"] += 1
        print(f"FAIL {name}\n{traceback.format_exc()}")


def statements(sql, remove_comments=True):
    from snowflake.connector.util_text import split_statements
    return [s for s, _ in split_statements(io.StringIO(sql), remove_comments=remove_comments) if s.strip()]


def parse(stmt, what):
    tree = sqlglot.parse_one(stmt, read="snowflake")
    assert tree is not None, f"{what}: sqlglot could not parse {stmt[:80]!r}"
    assert not isinstance(tree, exp.Command), f"{what}: sqlglot fell back to an opaque command for {stmt[:80]!r}"
    return tree


def parse_all(sql, what):
    return [(stmt, parse(stmt, what)) for stmt in statements(sql)]


def squash(text):
    """Whitespace runs as one space (the block indents the steps)."""
    return " ".join(text.split())


def sql_literal(s):
    return "'" + s.replace("'", "''") + "'"


def assertions(plan):
    return [s for s in plan["steps"] if s["kind"] in ("guard", "check")]


def block_of(plan):
    """The block's text, whitespace squashed and comments left out, that the steps make."""
    parts = ["DECLARE", f"{COUNTED} INTEGER DEFAULT 0;"]
    parts += [f"{a['exception']} EXCEPTION ({a['code']}, {sql_literal(a['message'])});" for a in assertions(plan)]
    parts += ["BEGIN", "BEGIN TRANSACTION;"]
    for step in plan["steps"]:
        if step["kind"] == "dml":
            parts.append(step["sql"] + ";")
        else:
            assert step["sql"].startswith(COUNT), step["sql"]
            parts.append(COUNT + f"INTO :{COUNTED} " + step["sql"][len(COUNT):] + ";")
            parts.append(f"IF ({COUNTED} <> {step['expected']}) THEN RAISE {step['exception']}; END IF;")
    parts += ["COMMIT;", "RETURN <summary>;", "EXCEPTION", "WHEN OTHER THEN", "ROLLBACK;", "RAISE;", "END;"]
    return squash(" ".join(parts))


def read_steps(path):
    """A .steps.jsonl file as {"session": [sql...], "steps": [step...]}."""
    plan = {"session": [], "steps": []}
    with open(path) as f:
        for line in f:
            if not line.strip():
                continue
            step = json.loads(line)
            assert step["kind"] in ("session", "guard", "dml", "check"), step
            if step["kind"] == "session":
                assert not plan["steps"], f"{path}: a session setting after the first step"
                plan["session"].append(step["sql"])
            else:
                plan["steps"].append(step)
    return plan


# The block's RETURN value: one string literal (a summary of the rows loaded).
RETURN = re.compile(r"COMMIT; RETURN '(?:[^']|'')*'; EXCEPTION")


def copy_files(tree):
    """The names in a COPY's FILES=(...) list."""
    files = []
    for param in tree.args.get("params") or []:
        if param.this.name.upper() != "FILES":
            continue
        value = param.args.get("expression")
        if isinstance(value, exp.Paren):
            value = value.this
        items = value.expressions if isinstance(value, exp.Tuple) else [value]
        files += [e.name for e in items if isinstance(e, exp.Literal)]
    return files


def parquet_key(e):
    """'name' for $1:"name" (a top-level field of the staged row), else None."""
    if isinstance(e, exp.JSONExtract) and isinstance(e.this, exp.Parameter) and e.this.this.name == "1":
        path = e.expression.expressions
        if len(path) == 2 and isinstance(path[0], exp.JSONPathRoot) and isinstance(path[1], exp.JSONPathKey):
            return path[1].this
    return None


def copy_transform(tree, what):
    """(table, [(column, Parquet key, parsed as JSON)]) of a COPY INTO t (cols) FROM (SELECT ...)."""
    target = tree.this
    assert isinstance(target, exp.Schema), f"{what}: a COPY without a column list: {tree.sql()[:120]}"
    table = target.this.name.lower()
    columns = [c.name for c in target.expressions]
    sources = tree.args.get("files") or []
    assert len(sources) == 1 and isinstance(sources[0], exp.Subquery), f"{what}: COPY INTO {table} is not a transformation"
    select = sources[0].this
    out = []
    for column, e in zip(columns, select.expressions, strict=True):
        parsed = isinstance(e, exp.ParseJSON)
        if parsed:
            cast = e.this
            assert isinstance(cast, exp.Cast) and cast.to.this == exp.DataType.Type.VARCHAR, f"{what}: PARSE_JSON of {cast.sql()}"
            e = cast.this
        key = parquet_key(e)
        assert key is not None, f"{what}: COPY INTO {table}: {column} is read as {e.sql(dialect='snowflake')}"
        out.append((column, key, parsed))
    return table, out


def ddl_tables(ddl_sql):
    """Table → [(column, is VARIANT)], and table → primary key (from the comments: "key: a, b")."""
    columns, keys = {}, {}
    for stmt, tree in parse_all(ddl_sql, "ddl"):
        if not isinstance(tree, exp.Create) or not isinstance(tree.this, exp.Schema):
            continue
        name = tree.this.this.name.lower()
        columns[name] = [
            (c.name, c.args["kind"].this == exp.DataType.Type.VARIANT)
            for c in tree.this.expressions if isinstance(c, exp.ColumnDef)
        ]
        if "key: " in stmt:
            keys[name] = [k.strip() for k in stmt.rsplit("key: ", 1)[1].split("]")[0].split(",")]
    return columns, keys


def quote_fakesnow_parquet_keys():
    """fakesnow runs COPY INTO t (...) FROM (SELECT $1:"key" ...) by reading the Parquet file in
    DuckDB with each $1:"key" turned into the bare column name key, which DuckDB rejects for its
    reserved words ("authorization", a users column). A Snowflake path key is an exact name, as a
    quoted identifier is: this quotes it. The statements run are unchanged; only the emulator's
    translation is (fakesnow 0.12.1, pinned in requirements-test.txt)."""
    import fakesnow.copy_into as copy_into
    from importlib.metadata import version

    assert version("fakesnow") == "0.12.1", "re-check quote_fakesnow_parquet_keys against this fakesnow"
    assert hasattr(copy_into, "_strip_json_extract")
    dollar1 = exp.Parameter(this=exp.Literal(this="1", is_string=False))

    def strip_json_extract(select):
        for p in list(select.find_all(exp.Parameter)):
            if p == dollar1 and p.parent and (key := p.parent.expression.find(exp.JSONPathKey)):
                p.parent.parent.args["this"] = exp.Identifier(this=key.this, quoted=True)
        return select

    copy_into._strip_json_extract = strip_json_extract


class StepFailed(Exception):
    def __init__(self, index, step, counted, changes):
        self.index, self.step, self.counted, self.changes = index, step, counted, changes
        super().__init__(
            f"step {index} ({step['kind']}) raised {step['exception']}: {step['message']} "
            f"[counted {counted}, expected {step['expected']}]"
        )


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True)
    ap.add_argument("--ddl", required=True)
    ap.add_argument("--expect", required=True)
    ap.add_argument("--parse-only", action="append", default=[], help="more SQL files that must parse (stage templates, upgrades)")
    ap.add_argument("--expect-refused", action="append", default=[], metavar="RUN_ID:TEXT",
                    help="this run's load must be refused by a guard whose message holds TEXT")
    ap.add_argument("manifests", nargs="+")
    args = ap.parse_args()

    ddl = open(args.ddl).read()
    expect = json.load(open(args.expect))
    refused = dict(r.split(":", 1) for r in args.expect_refused)
    schema = json.load(open(os.path.join(HERE, "..", "schemas", "manifest.schema.json")))
    manifests = [json.load(open(m)) for m in args.manifests]
    scripts = [open(os.path.join(args.root, m["load_script"])).read() for m in manifests]
    plans = [read_steps(os.path.join(args.root, m["load_steps"])) for m in manifests]
    table_columns, keys = ddl_tables(ddl)

    def scripts_are_one_block_made_of_their_steps():
        for m, sql, plan in zip(manifests, scripts, plans):
            assert m["load_steps"] == m["load_script"][:-len(".sql")] + ".steps.jsonl", m["load_steps"]
            for remove_comments in (True, False):
                split = statements(sql, remove_comments)
                assert len(split) == len(plan["session"]) + 1, f"{m['run_id']}: {len(split)} statements"
                for stmt, setting in zip(split, plan["session"]):
                    lines = [line for line in stmt.splitlines() if not line.strip().startswith("--")]
                    assert squash(" ".join(lines)) == setting + ";", stmt
            block = statements(sql)[-1]
            assert block.startswith("EXECUTE IMMEDIATE $$\n") and block.endswith("\n$$;"), block[:40]
            body = block[len("EXECUTE IMMEDIATE $$\n"):-len("$$;")]
            assert "$$" not in body
            body = "\n".join(line for line in body.splitlines() if not line.strip().startswith("--"))
            want = block_of(plan)
            got = squash(body)
            assert len(RETURN.findall(got)) == 1, "the block returns one string literal"
            got = RETURN.sub("COMMIT; RETURN <summary>; EXCEPTION", got)
            if got != want:
                at = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))
                raise AssertionError(f"{m['run_id']}: the block differs from its steps at\n  block: ...{got[max(0, at - 80):at + 120]}\n  steps: ...{want[max(0, at - 80):at + 120]}")
            codes = [a["code"] for a in assertions(plan)]
            names = [a["exception"] for a in assertions(plan)]
            assert len(set(codes)) == len(codes) and all(-20999 <= c <= -20000 for c in codes), codes
            assert len(set(names)) == len(names), names
    check("each script is its session settings and one block made of exactly its steps, in order", scripts_are_one_block_made_of_their_steps)

    def sqlglot_parses_everything():
        for path in args.parse_only:
            parsed = parse_all(open(path).read(), path)
            assert parsed, f"{path} holds no statement"
        for m, plan in zip(manifests, plans):
            what = m["run_id"]
            for setting in plan["session"]:
                assert setting in SESSION_SETTINGS, setting
                parse(setting, what)
            kinds = [s["kind"] for s in plan["steps"]]
            first_change = kinds.index("dml") if "dml" in kinds else len(kinds)
            last_change = len(kinds) - 1 - kinds[::-1].index("dml") if "dml" in kinds else -1
            assert all(k == "guard" for k in kinds[:first_change]), f"{what}: a check before the first change"
            assert "guard" not in kinds[first_change:], f"{what}: a guard after a change"
            assert all(k == "check" for k in kinds[last_change + 1:]) and "check" not in kinds[:last_change], f"{what}: a check before the last change"
            copied = []
            for step in plan["steps"]:
                tree = parse(step["sql"], what)
                if not isinstance(tree, exp.Copy):
                    continue
                files = copy_files(tree)
                assert 0 < len(files) <= 1000, len(files)
                copied += files
                text = tree.sql(dialect="snowflake").upper().replace(" ", "")
                for option in ("TYPE=PARQUET", "USE_VECTORIZED_SCANNER=TRUE", "ON_ERROR=ABORT_STATEMENT", "FORCE=TRUE"):
                    assert option in text, f"{option} missing in {text[:120]}"
                assert "MATCH_BY_COLUMN_NAME" not in text, "a transformation cannot match by name"
                table, transform = copy_transform(tree, what)
                declared = table_columns[table]
                assert [c.upper() for c, _, _ in transform] == [c.upper() for c, _ in declared], f"{what}: COPY INTO {table} does not list every column in order"
                for (column, key, parsed), (_, variant) in zip(transform, declared):
                    assert key == column.lower(), f"{what}: {table}.{column} is read from {key!r}"
                    assert parsed == variant, f"{what}: {table}.{column}: PARSE_JSON {'missing' if variant else 'on a non-VARIANT column'}"
                for f in files:
                    names = set(pq.read_schema(os.path.join(args.root, f)).names)
                    missing = {k for _, k, _ in transform} - names
                    assert not missing, f"{f} has no column {sorted(missing)}: Snowflake would load NULLs"
            assert sorted(copied) == sorted(f["path"] for f in m["files"]), f"{what}: COPY files differ from the manifest"
    check("every step parses as Snowflake SQL; each COPY reads every column by its Parquet name and its manifest's files", sqlglot_parses_everything)

    def manifests_match_their_schema():
        for m in manifests:
            jsonschema.validate(m, schema, format_checker=jsonschema.FormatChecker())
    check("manifests validate against schemas/manifest.schema.json", manifests_match_their_schema)

    def parquet_types():
        for m in manifests:
            for f in m["files"]:
                s = pq.read_schema(os.path.join(args.root, f["path"]))
                for field in s:
                    t = str(field.type)
                    assert not t.startswith("uint"), f"{f['path']}: unsigned {field.name}"
                    if t.startswith("timestamp"):
                        assert t == "timestamp[us, tz=UTC]", f"{f['path']}: {field.name} is {t}"
                    assert t not in ("large_string", "binary", "large_binary"), f"{f['path']}: {field.name} is {t}"
    check("Parquet types read back as Snowflake expects", parquet_types)

    import fakesnow
    import snowflake.connector

    quote_fakesnow_parquet_keys()

    with fakesnow.patch():
        conn = snowflake.connector.connect(database="GENESYS", schema="RAW")
        cur = conn.cursor()

        def run(plan):
            """Runs a load's steps as its block does: one transaction, a guard or check that
            counts anything but its expected value stops it, and any error rolls it back.

            fakesnow runs MERGE through a working table in another DuckDB database, and a DuckDB
            transaction writes to one database only: a load with a MERGE (a dimension's) runs
            without a transaction, and its rollback is emulated by restoring a copy of every
            table taken before it."""
            # plan["session"]: parsed above; fakesnow has no ALTER SESSION SET TIMEZONE.
            emulated = any(s["sql"].lstrip().upper().startswith("MERGE") for s in plan["steps"])
            tables = list(table_columns) + ["genesys_loaded_partitions"]
            if emulated:
                for t in tables:
                    cur.execute(f"CREATE OR REPLACE TABLE _undo_{t} AS SELECT * FROM {t}")
            else:
                cur.execute("BEGIN TRANSACTION")
            changes = 0
            try:
                for i, step in enumerate(plan["steps"]):
                    cur.execute(step["sql"])
                    if step["kind"] == "dml":
                        changes += 1
                        continue
                    counted = cur.fetchone()[0]
                    if counted != step["expected"]:
                        raise StepFailed(i, step, counted, changes)
                if not emulated:
                    cur.execute("COMMIT")
            except BaseException:
                if emulated:
                    for t in tables:
                        cur.execute(f"DELETE FROM {t}")
                        cur.execute(f"INSERT INTO {t} SELECT * FROM _undo_{t}")
                else:
                    cur.execute("ROLLBACK")
                raise

        def state():
            """Every table's rows per run, and the load record: what a refused load must not change."""
            out = {}
            for table in table_columns:
                cur.execute(f"SELECT run_id, COUNT(*) FROM {table} GROUP BY run_id ORDER BY run_id")
                out[table] = cur.fetchall()
            cur.execute("SELECT dataset, partition_value, run_id, TO_JSON(divisions) FROM genesys_loaded_partitions ORDER BY 1, 2")
            out["genesys_loaded_partitions"] = cur.fetchall()
            return out

        def counts():
            out = {}
            for table in expect:
                cur.execute(f"SELECT COUNT(*) FROM {table}")
                out[table] = cur.fetchone()[0]
            return out

        def ddl_runs():
            for stmt in statements(ddl):
                cur.execute(stmt)
            cur.execute(f"CREATE OR REPLACE STAGE genesys_stage URL='file://{os.path.abspath(args.root)}/'")
        check("DDL creates every table", ddl_runs)

        for m, plan in zip(manifests, plans):
            if m["run_id"] in refused:
                text = refused[m["run_id"]]

                def refused_untouched(m=m, plan=plan, text=text):
                    before = state()
                    try:
                        run(plan)
                    except StepFailed as e:
                        assert e.step["kind"] == "guard" and e.changes == 0, e
                        assert text in e.step["message"], e
                        print(f"     refused: {e.step['exception']}: {e.step['message']}")
                    else:
                        raise AssertionError(f"run {m['run_id']} was loaded")
                    assert state() == before, "the refused load changed tables"
                check(f"run {m['run_id']} is refused before any change, naming {text!r}", refused_untouched)
                continue

            def load_one(m=m, plan=plan):
                run(plan)
                for table, totals in m["tables"].items():
                    if totals.get("kind") == "dimension":
                        cur.execute(f"SELECT COUNT(*) FROM {table}_staging WHERE run_id = %s", (m["run_id"],))
                    else:
                        cur.execute(f"SELECT COUNT(*) FROM {table} WHERE run_id = %s", (m["run_id"],))
                    assert cur.fetchone()[0] == totals["rows"], f"{table}: loaded rows differ from the manifest"
                    key = ", ".join(keys[table])
                    cur.execute(f"SELECT COUNT(*) FROM (SELECT {key} FROM {table} GROUP BY {key} HAVING COUNT(*) > 1)")
                    assert cur.fetchone()[0] == 0, f"{table}: duplicate keys after run {m['run_id']}"
            check(f"run {m['run_id']} loads its manifest's rows, no duplicate keys", load_one)

        def final_counts():
            got = counts()
            assert got == expect, f"final rows {got} != expected {expect}"
            print("     rows loaded: " + ", ".join(f"{t}={n}" for t, n in got.items()))
        check("the warehouse holds exactly the expected rows", final_counts)

        def a_failed_reconciliation_rolls_everything_back():
            loaded = [(m, p) for m, p in zip(manifests, plans) if m["run_id"] not in refused]
            m, plan = loaded[-1]
            bad = copy.deepcopy(plan)
            at = next(i for i, s in enumerate(bad["steps"]) if s["kind"] == "check" and s["expected"] > 0)
            bad["steps"][at]["expected"] += 1
            before = state()
            try:
                run(bad)
            except StepFailed as e:
                assert e.index == at and e.changes > 0, e
                assert e.step["exception"].startswith("reconciliation_failed_"), e
            else:
                raise AssertionError("a wrong count did not fail the load")
            assert state() == before, "the failed load left changes behind"
        check("a reconciliation mismatch fails the load after its changes, and the rollback undoes them", a_failed_reconciliation_rolls_everything_back)

        def an_older_load_cannot_replace_newer_data():
            before = state()
            try:
                run(plans[0])
            except StepFailed as e:
                assert e.step["exception"] == "newer_run_loaded" and e.changes == 0, e
                assert "refusing to load run " + manifests[0]["run_id"] in e.step["message"], e
            else:
                raise AssertionError("an older run's load replaced newer data")
            assert state() == before, "the refused load changed tables"
            loaded = [(m["run_id"], p) for m, p in zip(manifests, plans) if m["run_id"] not in refused]
            run(max(loaded, key=lambda r: r[0])[1])  # the newest run may load again
            assert state() == before, "loading the newest run again changed tables"
        check("an older run's load is refused after a newer one, and the newest reloads", an_older_load_cannot_replace_newer_data)

    print(f"{RESULTS['passed']} passed, {RESULTS['failed']} failed")
    sys.exit(1 if RESULTS["failed"] else 0)


if __name__ == "__main__":
    main()
