"""Airflow DAG: one `complaints run` per logical date (``{{ ds }}`` is the run's night).

Retries are safe: the run id is derived from the night and the input, so a retry after a
crash recovers the interrupted run and a retry after success is a no-op. Exit code 3 (too
many quarantined rows) is committed work: it is surfaced as a skipped-with-warning task
instead of a retry.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow import DAG
from airflow.exceptions import AirflowSkipException
from airflow.operators.bash import BashOperator
from airflow.operators.python import PythonOperator

COMPLAINTS = "/srv/feedback/.venv/bin/complaints"
CONFIG = "/srv/feedback/config.toml"

with DAG(
    dag_id="complaints_nightly",
    schedule="15 2 * * *",
    start_date=datetime(2026, 1, 1),
    catchup=False,  # set True (with --since/--until in the command) to backfill night by night
    max_active_runs=1,  # the command refuses concurrent runs anyway (exit 1)
    default_args={"retries": 2, "retry_delay": timedelta(minutes=15)},
    tags=["feedback"],
) as dag:
    # A dry run that would quarantine too many rows (exit 3) is a warning, not a failure.
    validate = BashOperator(
        task_id="validate",
        bash_command=(
            f"{COMPLAINTS} run --config {CONFIG} --night {{{{ ds }}}} --dry-run --log-json; "
            "rc=$?; [ $rc -eq 0 ] || [ $rc -eq 3 ]"
        ),
    )
    run = BashOperator(
        task_id="run",
        bash_command=f"{COMPLAINTS} run --config {CONFIG} --night {{{{ ds }}}} --log-json",
        skip_on_exit_code=3,
        execution_timeout=timedelta(hours=6),
    )

    def _history(**_):
        import subprocess

        out = subprocess.run([COMPLAINTS, "history", "--config", CONFIG, "--limit", "1", "--json"],
                             capture_output=True, text=True, check=True)
        if not out.stdout.strip():
            raise AirflowSkipException("no runs recorded")
        print(out.stdout)

    history = PythonOperator(task_id="history", python_callable=_history, trigger_rule="none_failed")

    validate >> run >> history
