"""`make check` threshold: strings whose JSON measures from 10 bytes to 1 MB; `pull` fails unless each comes
back equal. Where each landed (row or store) tells the harness the backend's real threshold.
"""

from __future__ import annotations

import pendulum

try:  # Airflow 3
    from airflow.sdk import dag, task
except ImportError:  # Airflow 2.x
    from airflow.decorators import dag, task

SIZES = (10, 100, 500, 999, 1000, 1001, 2000, 10_000, 100_000, 1_000_000)  # JSON bytes, quotes included


def value_of(size: int) -> str:
    return "x" * (size - 2)


@dag(schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), catchup=False, tags=["xcom-lab", "check"])
def xcom_check_threshold():
    @task
    def push(**context):
        for size in SIZES:
            context["ti"].xcom_push(key=f"size_{size}", value=value_of(size))

    @task
    def pull(**context):
        changed = [size for size in SIZES if context["ti"].xcom_pull(task_ids="push", key=f"size_{size}") != value_of(size)]
        if changed:
            raise ValueError(f"values of {changed} JSON bytes came back different")
        print("every size came back equal")

    push() >> pull()


xcom_check_threshold()
