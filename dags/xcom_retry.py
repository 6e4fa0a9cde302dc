"""A task that fails on its first try and succeeds on its retry, pushing the same XComs on both tries.

What stays in the store afterwards is the point: xcomlab's deterministic paths mean the retry overwrites
its own objects (one per XCom); the provider's backend on Airflow 3 writes new uuid objects on every try
and the server deletes the old rows without purging, leaving orphans.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum

try:  # Airflow 3
    from airflow.sdk import dag, task
except ImportError:  # Airflow 2.x
    from airflow.decorators import dag, task

BIG = {"rows": ["x" * 100] * 30}


@dag(schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), catchup=False, tags=["xcom-lab"])
def xcom_retry():
    @task(retries=1, retry_delay=timedelta(seconds=1))
    def flaky(**context):
        ti = context["ti"]
        ti.xcom_push(key="attempt", value={"try": "any", **BIG})
        if ti.try_number == 1:
            raise RuntimeError("failing the first try on purpose; the retry succeeds")
        return BIG

    @task
    def check(value):
        if value != BIG:
            raise ValueError("the retry's return value came back different")
        print("the retry's value came back equal")

    check(flaky())


xcom_retry()
