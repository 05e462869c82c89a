#!/usr/bin/env python3
"""Prove that the loader's SQL and Parquet load into Snowflake as intended, using fakesnow.

Given an output root with several runs, the DDL, and the rows the warehouse should hold at the
end, this:
  1. parses every generated statement with sqlglot's Snowflake dialect and checks that each COPY
     names exactly its manifest's files (sqlglot is lenient, so the AST is checked too);
  2. validates each manifest against schemas/manifest.schema.json;
  3. checks the Parquet types with pyarrow (timestamps microseconds UTC, no unsigned, strings);
  4. creates the tables in fakesnow, a stage over the output root (file://), and runs each run's
     load script in order, checking after each one that every table holds no duplicate key;
  5. checks the final row counts against the expectation;
  6. runs a tampered copy of a script whose reconciliation must fail, and checks that it stops
     there, before COMMIT;
  7. runs the first run's script again after the newer ones, which its order guard must refuse
     before it changes anything.
fakesnow ignores Parquet options and ETags; those rules are pinned by the Rust tests instead.
It also keeps COPY load history in a second DuckDB database, and DuckDB writes one database per
transaction, so a DELETE and a COPY cannot share a transaction there (Snowflake allows it): the
scripts' BEGIN/COMMIT are left out when run in fakesnow, and rollback itself is Snowflake's.

Prints 'N passed, M failed' and exits non-zero on any failure.

Usage: check_snowflake.py --root OUT --ddl DDL.sql --expect EXPECT.json MANIFEST.json...
"""
import argparse
import io
import json
import os
import sys
import traceback

import jsonschema
import pyarrow.parquet as pq
import sqlglot
from sqlglot import exp

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = {"passed": 0, "failed": 0}


def check(name, fn):
    try:
        fn()
        RESULTS["passed"] += 1
        print(f"ok   {name}")
    except Exception:  # report every failure, keep going
        RESULTS["failed"] += 1
        print(f"FAIL {name}\n{traceback.format_exc()}")


def statements(sql):
    from snowflake.connector.util_text import split_statements
    return [s for s, _ in split_statements(io.StringIO(sql), remove_comments=True) if s.strip()]


def parse_all(sql, what):
    out = []
    for stmt in statements(sql):
        tree = sqlglot.parse_one(stmt, read="snowflake")
        assert tree is not None, f"{what}: sqlglot could not parse {stmt[:80]!r}"
        assert not isinstance(tree, exp.Command) or stmt.upper().startswith(("BEGIN", "COMMIT")), \
            f"{what}: sqlglot fell back to an opaque command for {stmt[:80]!r}"
        out.append((stmt, tree))
    return out


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


def key_columns(ddl_sql):
    """Table → primary key, from the DDL comments ("key: a, b")."""
    keys = {}
    for stmt, tree in parse_all(ddl_sql, "ddl"):
        if isinstance(tree, exp.Create) and "key: " in stmt:
            name = tree.this.this.name if isinstance(tree.this, exp.Schema) else tree.this.name
            keys[name.lower()] = [k.strip() for k in stmt.rsplit("key: ", 1)[1].split("]")[0].split(",")]
    return keys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True)
    ap.add_argument("--ddl", required=True)
    ap.add_argument("--expect", required=True)
    ap.add_argument("--parse-only", action="append", default=[], help="more SQL files that must parse (stage templates, upgrades)")
    ap.add_argument("manifests", nargs="+")
    args = ap.parse_args()

    ddl = open(args.ddl).read()
    expect = json.load(open(args.expect))
    schema = json.load(open(os.path.join(HERE, "..", "schemas", "manifest.schema.json")))
    manifests = [json.load(open(m)) for m in args.manifests]
    scripts = [open(os.path.join(args.root, m["load_script"])).read() for m in manifests]

    def sqlglot_parses_everything():
        parse_all(ddl, "ddl")
        for path in args.parse_only:
            parsed = parse_all(open(path).read(), path)
            assert parsed, f"{path} holds no statement"
        for m, sql in zip(manifests, scripts):
            parsed = parse_all(sql, m["run_id"])
            copies = [t for _, t in parsed if isinstance(t, exp.Copy)]
            named = sorted(f for t in copies for f in copy_files(t))
            assert named == sorted(f["path"] for f in m["files"]), f"{m['run_id']}: COPY files differ from the manifest"
            for t in copies:
                assert len(copy_files(t)) <= 1000
                text = t.sql(dialect="snowflake").upper()
                for option in ("TYPE=PARQUET", "USE_VECTORIZED_SCANNER=TRUE", "MATCH_BY_COLUMN_NAME=CASE_INSENSITIVE", "FORCE=TRUE"):
                    assert option in text.replace(" ", ""), f"{option} missing in {text[:120]}"
    check("every generated statement parses as Snowflake SQL", sqlglot_parses_everything)

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

    with fakesnow.patch():
        conn = snowflake.connector.connect(database="GENESYS", schema="RAW")
        cur = conn.cursor()

        def run(sql):
            """Runs a script statement by statement; returns the index of COMMIT."""
            commit_at = None
            for i, stmt in enumerate(statements(sql)):
                upper = stmt.strip().upper()
                if upper.startswith("BEGIN"):
                    continue
                if upper.startswith("COMMIT"):
                    commit_at = i
                    continue
                try:
                    cur.execute(stmt)
                except Exception as e:
                    e.statement_index = i
                    raise
            return commit_at

        def counts():
            out = {}
            for table in expect:
                cur.execute(f"SELECT COUNT(*) FROM {table}")
                out[table] = cur.fetchone()[0]
            return out

        keys = key_columns(ddl)

        def ddl_runs():
            run(ddl)
            cur.execute(f"CREATE OR REPLACE STAGE genesys_stage URL='file://{os.path.abspath(args.root)}/'")
        check("DDL creates every table", ddl_runs)

        for m, sql in zip(manifests, scripts):
            def load_one(m=m, sql=sql):
                run(sql)
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

        def tampered_reconciliation_fails_before_commit():
            m, sql = manifests[-1], scripts[-1]
            table = next(t for t, v in m["tables"].items() if v["rows"] > 0)
            n = m["tables"][table]["rows"]
            needle = f"IFF(loaded = {n}, 'ok'"
            assert needle in sql, needle
            bad = sql.replace(needle, f"IFF(loaded = {n + 1}, 'ok'", 1)
            stmts = statements(bad)
            commit_at = next(i for i, s in enumerate(stmts) if s.strip().upper().startswith("COMMIT"))
            try:
                run(bad)
            except Exception as e:
                assert "reconciliation failed" in str(e) and table in str(e), e
                assert e.statement_index < commit_at, "the check must come before COMMIT"
                assert "_reconciled" in stmts[e.statement_index]
            else:
                raise AssertionError("a wrong count did not fail the script")
        check("a reconciliation mismatch fails the script before COMMIT", tampered_reconciliation_fails_before_commit)

        def an_older_script_cannot_replace_newer_data():
            before = counts()
            try:
                run(scripts[0])
            except Exception as e:
                assert "refusing to load run " + manifests[0]["run_id"] in str(e), e
                assert "order_guard" in statements(scripts[0])[e.statement_index]
            else:
                raise AssertionError("an older run's script replaced newer data")
            assert counts() == before, "the refused script changed tables"
            run(scripts[-1])  # the newest run may load again
            assert counts() == before
        check("an older run's script is refused after a newer one, and the newest reloads", an_older_script_cannot_replace_newer_data)

    print(f"{RESULTS['passed']} passed, {RESULTS['failed']} failed")
    sys.exit(1 if RESULTS["failed"] else 0)


if __name__ == "__main__":
    main()
