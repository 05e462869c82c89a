"""Airflow DAGs for genesys-loader: a nightly load, and a backfill fanned out over the workers.

genesys_nightly  extracts the three UTC days before data_interval_end (late wrap-ups, evaluations
                 and metrics land), then runs the run's load script in Snowflake.
genesys_backfill plans a range (`genesys-loader plan --json`), maps one task over each chunk
                 (dynamic task mapping; `extract --chunk`), merges the chunk manifests into one
                 run (`manifest merge`), then loads it.

Both load scripts are idempotent (they replace the days the run covers in one transaction and
check loaded rows against the manifest), so retries and re-runs of a past night are safe.

Settings: nothing here names a region, an output or a secret. Each setting is read, when a task
runs, from the worker's environment (GENESYS_*), else from the Airflow Variable of the same name
in lower case (genesys_region, genesys_out, ...), else the loader's own default (see the
README's flag table); a config file (GENESYS_CONFIG) works too. The OAuth client may also come
from an Airflow Connection `genesys_default` (login: client id, password: client secret, host:
region), used only for what neither the environment nor a Variable sets.

Prerequisites: the `genesys-loader` binary on the workers' PATH (or GENESYS_LOADER), the
Snowflake provider and an Airflow connection `snowflake_default`, the tables and stage created
once (`genesys-loader ddl --stage-template s3 ...`), AWS credentials on the workers when the
output is on S3 (the loader reads the standard AWS_* variables; the load task reads the script
through the Amazon provider's S3Hook). On Airflow 3, a new DAG file is picked up by a running
dag-processor (or `airflow dags reserialize`).

Tested with Airflow 3.3.2 (`scripts/airflow_check.sh`); written to keep Airflow 2.10 working
(the imports fall back to their 2.x homes).
"""
from __future__ import annotations

import json
import os
import subprocess
from datetime import datetime, timedelta, timezone
from urllib.parse import urlparse

try:  # Airflow 3
    from airflow.sdk import DAG, Param, task
except ImportError:  # Airflow 2.10
    from airflow import DAG
    from airflow.decorators import task
    from airflow.models.param import Param

# The settings a task passes on to the loader, looked up as described above.
SETTINGS = [
    "GENESYS_REGION",
    "GENESYS_API_URL",
    "GENESYS_LOGIN_URL",
    "GENESYS_CLIENT_ID",
    "GENESYS_CLIENT_SECRET_FILE",
    "GENESYS_CLIENT_SECRET_COMMAND",
    "GENESYS_OUT",
    "GENESYS_STAGE",
    "GENESYS_SNOWFLAKE_DATABASE",
    "GENESYS_SNOWFLAKE_SCHEMA",
    "GENESYS_CONFIG",
    "GENESYS_JOB_POLL_MS",
]
# Retries: a few, 11 minutes apart by default (a killed task's lock is free after 10 minutes
# without a heartbeat, when the retry lands on another host); tests set GENESYS_DAG_RETRIES=0.
RETRIES = int(os.environ.get("GENESYS_DAG_RETRIES", "2"))
RETRY_DELAY = timedelta(seconds=int(os.environ.get("GENESYS_DAG_RETRY_DELAY_SECS", "660")))
# The OAuth client's request budget, shared by the backfill's parallel chunk tasks.
CLIENT_BUDGET = int(os.environ.get("GENESYS_CLIENT_REQUESTS_PER_MINUTE", "240"))
PARALLEL = max(1, int(os.environ.get("GENESYS_BACKFILL_PARALLEL", "4")))
SNOWFLAKE_CONN_ID = os.environ.get("GENESYS_SNOWFLAKE_CONN_ID", "snowflake_default")
DEFAULT_ARGS = {"owner": "data-eng", "retries": RETRIES, "retry_delay": RETRY_DELAY}


def _variable(name: str) -> str | None:
    try:
        from airflow.sdk import Variable

        return Variable.get(name, default=None)
    except ImportError:
        from airflow.models import Variable

        return Variable.get(name, default_var=None)


def _connection(conn_id: str):
    try:
        try:
            from airflow.sdk import Connection

            return Connection.get(conn_id)
        except ImportError:
            from airflow.hooks.base import BaseHook

            return BaseHook.get_connection(conn_id)
    except Exception:  # no such connection: the environment or Variables must hold the client
        return None


def loader_env() -> dict:
    """The worker's environment, with what it lacks taken from Variables, then the Connection."""
    env = dict(os.environ)
    for name in SETTINGS:
        if not env.get(name):
            value = _variable(name.lower())
            if value:
                env[name] = value
    if not env.get("GENESYS_CLIENT_ID") or not (
        env.get("GENESYS_CLIENT_SECRET")
        or env.get("GENESYS_CLIENT_SECRET_FILE")
        or env.get("GENESYS_CLIENT_SECRET_COMMAND")
    ):
        conn = _connection("genesys_default")
        if conn is not None:
            env.setdefault("GENESYS_CLIENT_ID", conn.login or "")
            if conn.password:
                env.setdefault("GENESYS_CLIENT_SECRET", conn.password)
            if conn.host and not (env.get("GENESYS_REGION") or env.get("GENESYS_API_URL")):
                env["GENESYS_REGION"] = conn.host
    env.setdefault("GENESYS_LOG_FORMAT", "json")
    return env


def require_snowflake_connection() -> None:
    """Fails the first task, before anything is extracted, when the load could not connect:
    a missing connection found only at load time would cost the whole extraction."""
    if _connection(SNOWFLAKE_CONN_ID) is None:
        raise RuntimeError(
            f"no Airflow connection {SNOWFLAKE_CONN_ID!r}: the load task needs it (create it, "
            "or set GENESYS_SNOWFLAKE_CONN_ID to the one to use)"
        )


def run_loader(*args: str, env: dict | None = None) -> dict:
    """Runs the loader; returns its stdout JSON line. Its stderr (JSON logs) goes to the task log.
    A failure raises with the loader's exit code (see the README's table) and its last line."""
    cmd = [os.environ.get("GENESYS_LOADER", "genesys-loader"), *args]
    done = subprocess.run(cmd, env=env or loader_env(), capture_output=True, text=True)
    print(done.stderr[-20000:])
    if done.returncode not in (0, 10):
        last = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise RuntimeError(f"genesys-loader {args[0]} exited {done.returncode}: {last}")
    if done.returncode == 10:
        print("WARNING: the run committed, but quarantined records that cannot be decoded (exit 10)")
    return json.loads(done.stdout.strip().splitlines()[-1])


def read_script(url: str) -> str:
    """Reads the run's load script from where the loader wrote it."""
    parsed = urlparse(url)
    if parsed.scheme == "s3":
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook

        return S3Hook().read_key(key=parsed.path.lstrip("/"), bucket_name=parsed.netloc)
    if parsed.scheme == "file":
        with open(parsed.path) as f:
            return f.read()
    raise ValueError(f"unsupported load script location {url}")


def run_steps(hook, steps_url: str) -> None:
    """Runs the load's steps (`<run_id>.steps.jsonl`, the script's statements one a line) in one
    transaction: each guard and check must count its expected value, or the load rolls back and
    fails with the step's message. For engines that speak Snowflake SQL but not Snowflake
    Scripting (GENESYS_LOAD_WITH_STEPS=1); Snowflake itself runs the script."""
    steps = [json.loads(line) for line in read_script(steps_url).splitlines() if line.strip()]
    conn = hook.get_conn()
    cur = conn.cursor()
    for s in (s for s in steps if s["kind"] == "session"):
        cur.execute(s["sql"])
    cur.execute("BEGIN TRANSACTION")
    try:
        for s in (s for s in steps if s["kind"] != "session"):
            cur.execute(s["sql"])
            if s["kind"] in ("guard", "check"):
                counted = cur.fetchone()[0]
                if counted != s["expected"]:
                    raise RuntimeError(f"{s['message']} (counted {counted}, expected {s['expected']})")
        cur.execute("COMMIT")
    except Exception:
        cur.execute("ROLLBACK")
        raise
    finally:
        conn.close()


@task(retries=RETRIES, retry_delay=RETRY_DELAY)
def load(run: dict) -> dict:
    """Runs the run's load script in one Snowflake session: the session setting, then the block,
    which the connector's splitter keeps whole ($$ ... $$). Any failure rolls the load back and
    fails the task. Synchronous on purpose: a deferrable run would not wait for the outcome."""
    from airflow.providers.snowflake.hooks.snowflake import SnowflakeHook

    hook = SnowflakeHook(snowflake_conn_id=SNOWFLAKE_CONN_ID)
    if os.environ.get("GENESYS_LOAD_WITH_STEPS") == "1":
        run_steps(hook, run["load_script"].removesuffix(".sql") + ".steps.jsonl")
    else:
        hook.run(read_script(run["load_script"]), split_statements=True)
    return {"run_id": run["run_id"], "rows": run["rows"]}


def window(data_interval_end, logical_date, days: int = 3) -> tuple[str, str]:
    """The `days` whole UTC days before data_interval_end (a manual run without one: before the
    run's logical date, or now). Re-running an old DagRun re-extracts the same window."""
    end = data_interval_end or logical_date or datetime.now(timezone.utc)
    to = end.astimezone(timezone.utc).date()
    return (to - timedelta(days=days)).isoformat(), to.isoformat()


with DAG(
    dag_id="genesys_nightly",
    description="The last three UTC days of Genesys Cloud conversations and dimensions into Snowflake",
    schedule="30 3 * * *",
    start_date=datetime(2026, 11, 1),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["genesys"],
) as nightly:

    @task(execution_timeout=timedelta(hours=2))
    def extract(data_interval_end=None, logical_date=None) -> dict:
        require_snowflake_connection()
        start, end = window(data_interval_end, logical_date)
        # Late evaluations: the older call days whose evaluations changed this month, whole.
        datasets = os.environ.get("GENESYS_NIGHTLY_DATASETS", "conversations,divisions,evaluations")
        return run_loader(
            "extract", "--from", start, "--to", end, "--dataset", datasets,
            "--evaluations-changed-since-days", "30",
        )

    load(extract())

with DAG(
    dag_id="genesys_backfill",
    description="Backfill a date range of Genesys Cloud data into Snowflake, one task per chunk",
    schedule=None,
    start_date=datetime(2026, 11, 1),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    params={
        "from": Param("2026-10-01", type="string", format="date"),
        "to": Param("2026-11-01", type="string", format="date"),
        "datasets": Param("conversations", type="string"),
    },
    tags=["genesys"],
) as backfill:

    @task
    def plan(params=None) -> list[str]:
        """The chunks, each as the JSON `extract --chunk` takes (it carries the run id)."""
        require_snowflake_connection()
        p = run_loader("plan", "--json", "--from", params["from"], "--to", params["to"],
                       "--dataset", params["datasets"])
        print(f"run {p['run_id']}: {len(p['chunks'])} chunks, about {p['estimated_requests']} requests")
        return [json.dumps(c) for c in p["chunks"]]

    @task(max_active_tis_per_dagrun=PARALLEL, execution_timeout=timedelta(hours=2))
    def extract_chunk(chunk: str) -> dict:
        # Each of the PARALLEL tasks takes its share of the client's request budget.
        budget = str(max(1, CLIENT_BUDGET // PARALLEL))
        return run_loader("extract", "--chunk", chunk, "--max-requests-per-minute", budget)

    @task
    def merge(chunks: list[dict]) -> dict:
        run_id = chunks[0]["run_id"]
        return run_loader("manifest", "merge", "--run-id", run_id,
                          *[c["chunk_manifest"] for c in chunks])

    load(merge(extract_chunk.expand(chunk=plan())))
