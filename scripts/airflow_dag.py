"""Example Airflow DAGs for genesys-loader: a nightly load and a manual backfill.

Each run extracts a range to object storage, then executes the run's own load script in
Snowflake. The script is idempotent (it replaces the days the run covers in one transaction
and checks loaded rows against the manifest), so Airflow retries and re-runs of a past night
are safe. It is a session setting and one Snowflake Scripting block that commits everything or
rolls back and fails: the hook runs it as two statements on one connection.

Requirements: the `genesys-loader` binary on the worker's PATH, the Amazon and Snowflake
providers (apache-airflow-providers-amazon, apache-airflow-providers-snowflake), an Airflow
connection `snowflake_default`, and the variables below. Secrets come from the environment
or a mounted file (GENESYS_CLIENT_SECRET_FILE), never from the DAG.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta
from urllib.parse import urlparse

from airflow import DAG
from airflow.decorators import task
from airflow.models.param import Param
from airflow.operators.bash import BashOperator

OUT = "s3://lake/genesys"  # the Snowflake stage @genesys_stage points here
REGION = "mypurecloud.ie"
COMMON_ENV = {
    "GENESYS_REGION": REGION,
    "GENESYS_OUT": OUT,
    "GENESYS_CLIENT_ID": "{{ var.value.genesys_client_id }}",
    "GENESYS_CLIENT_SECRET_FILE": "/run/secrets/genesys_client_secret",
    "GENESYS_SNOWFLAKE_DATABASE": "RAW",
    "GENESYS_SNOWFLAKE_SCHEMA": "GENESYS",
    "GENESYS_LOG_FORMAT": "json",
}
DEFAULT_ARGS = {"owner": "data-eng", "retries": 2, "retry_delay": timedelta(minutes=15), "retry_exponential_backoff": True}


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


@task(retries=3, retry_delay=timedelta(minutes=5))
def load(summary: str) -> dict:
    """Runs the run's load script in one Snowflake session: the session setting, then the block,
    which the connector's splitter keeps whole ($$ ... $$). Any failure rolls the load back and
    fails the task. Synchronous on purpose: a deferrable run would not wait for the outcome."""
    from airflow.providers.snowflake.hooks.snowflake import SnowflakeHook

    run = json.loads(summary.strip().splitlines()[-1])
    sql = read_script(run["load_script"])
    SnowflakeHook(snowflake_conn_id="snowflake_default").run(sql, split_statements=True)
    return {"run_id": run["run_id"], "rows": run["rows"]}


with DAG(
    dag_id="genesys_nightly",
    description="Yesterday's Genesys Cloud conversations and dimensions into Snowflake",
    schedule="30 3 * * *",
    start_date=datetime(2026, 11, 1),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["genesys"],
) as nightly:
    # {{ ds }} is the night being loaded: re-running an old DagRun re-extracts the same window.
    extract = BashOperator(
        task_id="extract",
        # The night being loaded and the two before it: late wrap-ups, evaluations and metrics land.
        bash_command="genesys-loader extract --from {{ macros.ds_add(ds, -2) }} --to {{ data_interval_end | ds }} "
        "--dataset conversations --dataset divisions "
        # Late evaluations: the older call days whose evaluations changed this month, whole.
        "--dataset evaluations --evaluations-changed-since-days 30",
        env=COMMON_ENV,
        append_env=True,
        do_xcom_push=True,
        execution_timeout=timedelta(hours=2),
    )
    load(extract.output)

with DAG(
    dag_id="genesys_backfill",
    description="Backfill a date range of Genesys Cloud conversations into Snowflake",
    schedule=None,
    start_date=datetime(2026, 11, 1),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    params={
        "from": Param("2026-10-01", type="string", format="date"),
        "to": Param("2026-11-01", type="string", format="date"),
    },
    tags=["genesys"],
) as backfill:
    extract = BashOperator(
        task_id="extract",
        bash_command="genesys-loader extract --from {{ params['from'] }} --to {{ params['to'] }} --dataset conversations",
        env=COMMON_ENV,
        append_env=True,
        do_xcom_push=True,
        execution_timeout=timedelta(hours=12),
    )
    load(extract.output)
