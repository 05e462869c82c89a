#!/usr/bin/env bash
# Runs both DAGs of scripts/airflow_dag.py in a real Airflow (`airflow dags test`), against the
# simulated org and the loader binary, the load task included: `dags test` runs every task in
# one process, so fakesnow is patched into it (a sitecustomize.py under target/), and the
# Snowflake hook connects through AIRFLOW_CONN_SNOWFLAKE_DEFAULT to fakesnow. fakesnow cannot run
# Snowflake Scripting, so the load runs the script's steps (GENESYS_LOAD_WITH_STEPS=1); the
# tables are then counted against the runs' manifests.
# Airflow is installed, pinned, into a venv under target/ (about a minute, and 700 MB).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
AIRFLOW_VERSION="${AIRFLOW_VERSION:-3.3.2}"
VENV="target/airflow-venv-$AIRFLOW_VERSION"
WORK="$PWD/target/airflow-check"
rm -rf "$WORK" && mkdir -p "$WORK"

if ! "$VENV/bin/airflow" version 2>/dev/null | grep -qx "$AIRFLOW_VERSION"; then
  echo "installing apache-airflow $AIRFLOW_VERSION into $VENV ..." >&2
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "apache-airflow==$AIRFLOW_VERSION" \
    apache-airflow-providers-standard apache-airflow-providers-snowflake \
    "fakesnow==0.12.1" "snowflake-connector-python<5"
fi
cargo build --locked --quiet -p genesys-loader -p genesys-sim --bins

SECRET="airflow-check-$(date +%s)"
target/debug/genesys-sim --port 0 --client-id airflow-client --client-secret "$SECRET" --per-day 60 >"$WORK/sim.log" 2>&1 &
SIM_PID=$!
trap 'kill "$SIM_PID" 2>/dev/null || true' EXIT
URL=""
for _ in $(seq 1 100); do
  URL=$(sed -n 's/^genesys-sim listening on //p' "$WORK/sim.log"); [ -n "$URL" ] && break; sleep 0.1
done
[ -n "$URL" ] || { cat "$WORK/sim.log" >&2; exit 1; }

# What a worker's environment would hold (no region: the simulator's URLs instead).
export GENESYS_API_URL="$URL" GENESYS_LOGIN_URL="$URL" GENESYS_CLIENT_ID=airflow-client GENESYS_CLIENT_SECRET="$SECRET"
export GENESYS_OUT="$WORK/out" GENESYS_LOADER="$PWD/target/debug/genesys-loader" GENESYS_JOB_POLL_MS=100
export GENESYS_SNOWFLAKE_DATABASE=RAW GENESYS_SNOWFLAKE_SCHEMA=GENESYS
export GENESYS_DAG_RETRIES=0 GENESYS_LOAD_WITH_STEPS=1 GENESYS_NIGHTLY_DATASETS=conversations
export AIRFLOW_HOME="$WORK/home" AIRFLOW__CORE__DAGS_FOLDER="$WORK/dags" AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__UNIT_TEST_MODE=False AIRFLOW__LOGGING__LOGGING_LEVEL=WARNING
export AIRFLOW_CONN_SNOWFLAKE_DEFAULT='snowflake://loader:unused@/GENESYS?account=fake&database=RAW&warehouse=LOAD'
mkdir -p "$WORK/dags" && cp scripts/airflow_dag.py "$WORK/dags/"

# fakesnow in every Python process of this check, persisted to one DuckDB file, with the tables
# and a stage over the output root (as `ddl` and the README's stage step would create them).
target/debug/genesys-loader ddl --dataset conversations --database RAW --schema GENESYS >"$WORK/ddl.sql"
export GENESYS_FAKESNOW_DB="$WORK/fakesnow"
mkdir -p "$GENESYS_FAKESNOW_DB"
mkdir -p "$WORK/site" && cat >"$WORK/site/sitecustomize.py" <<'PY'
import os
if os.environ.get("GENESYS_FAKESNOW_DB"):
    import sys
    import fakesnow
    # The same emulator fix as the load proof (a $1:"key" naming a DuckDB reserved word).
    sys.path.insert(0, os.environ["GENESYS_SCRIPTS"])
    from check_snowflake import quote_fakesnow_parquet_keys
    quote_fakesnow_parquet_keys()
    # The hook imports snowflake.connector.connect when it connects: the standard target.
    # fakesnow has no ALTER SESSION SET TIMEZONE (the load proof parses it, not runs it).
    _patch = fakesnow.patch(db_path=os.environ["GENESYS_FAKESNOW_DB"],
                            nop_regexes=["^ALTER SESSION SET TIMEZONE"])
    _patch.__enter__()
    # A stage is created once in Snowflake; fakesnow keeps stages per process, so each
    # connection of this check declares it again, over the same output root.
    import snowflake.connector
    _connect = snowflake.connector.connect

    def _connect_with_stage(*args, **kwargs):
        conn = _connect(*args, **kwargs)
        out = os.environ["GENESYS_OUT"]
        conn.cursor().execute(f"CREATE OR REPLACE STAGE RAW.GENESYS.genesys_stage URL='file://{out}/'")
        return conn

    snowflake.connector.connect = _connect_with_stage
PY
export PYTHONPATH="$WORK/site" GENESYS_SCRIPTS="$PWD/scripts"
"$VENV/bin/python" - "$WORK/ddl.sql" "$GENESYS_OUT" <<'PY'
import sys, snowflake.connector
ddl, out = sys.argv[1], sys.argv[2]
cur = snowflake.connector.connect(database="RAW", schema="GENESYS").cursor()
for stmt in [s for s in open(ddl).read().split(";\n") if s.strip() and "CREATE" in s]:
    try:
        cur.execute(stmt)
    except Exception as e:
        if "STAGE" not in stmt and "FILE FORMAT" not in stmt.upper():
            raise
cur.execute(f"CREATE OR REPLACE STAGE RAW.GENESYS.genesys_stage URL='file://{out}/'")
print("fakesnow: tables and stage created")
PY

"$VENV/bin/airflow" db migrate >"$WORK/db.log" 2>&1
"$VENV/bin/airflow" dags reserialize >/dev/null 2>&1 || true
status=0
for dag in genesys_nightly genesys_backfill; do
  conf='{}'
  [ "$dag" = genesys_backfill ] && conf='{"from": "2026-10-01", "to": "2026-10-04", "datasets": "conversations"}'
  echo "== airflow dags test $dag" >&2
  if "$VENV/bin/airflow" dags test "$dag" -c "$conf" >"$WORK/$dag.log" 2>&1; then :; else status=1; fi
  grep -E "state=|Marking run|DagRun Finished|failed|Task instance in (success|failure)" "$WORK/$dag.log" | grep -v DEBUG | tail -20 || true
done

# The warehouse holds what the manifests list (each run replaced its own days).
"$VENV/bin/python" - "$GENESYS_OUT" <<'PY' || status=1
import glob, json, sys, snowflake.connector
out = sys.argv[1]
runs = sorted(glob.glob(f"{out}/_manifests/*.json"))
assert len(runs) == 2, runs
cur = snowflake.connector.connect(database="RAW", schema="GENESYS").cursor()
for path in runs:
    m = json.load(open(path))
    cur.execute(f"SELECT COUNT(*) FROM conversations WHERE run_id = '{m['run_id']}'")
    got = cur.fetchone()[0]
    want = m["tables"]["conversations"]["rows"]
    print(f"run {m['run_id']} ({m['range']['from']} .. {m['range']['to']}): {got} conversations loaded, manifest lists {want}")
    assert got == want, (got, want)
cur.execute("SELECT dataset, COUNT(*) FROM genesys_loaded_partitions GROUP BY dataset")
print("loaded partitions:", cur.fetchall())
PY
[ "$status" = 0 ] && echo "airflow $AIRFLOW_VERSION: both DAGs passed dags test, loads included" || echo "airflow check FAILED (logs in $WORK)"
exit "$status"
