"""A producer that pushes an offloaded value and a consumer that pulls it, both with retries: the e2e
stops a store, restarts Postgres or the scheduler while they run, and asserts the run ends with the value
equal and nothing lost. dag_run.conf {"sleep": s} keeps the producer busy s seconds before it pushes."""

from __future__ import annotations

import time
from datetime import timedelta

import pendulum

try:  # Airflow 3
    from airflow.sdk import dag, task
except ImportError:  # Airflow 2.x
    from airflow.decorators import dag, task

BIG = {"rows": ["x" * 100] * 30}
RETRIES = {"retries": 3, "retry_delay": timedelta(seconds=5)}


@dag(schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), catchup=False, tags=["xcom-lab"])
def xcom_fault_run():
    @task(**RETRIES)
    def produce(**context):
        time.sleep(float((context["dag_run"].conf or {}).get("sleep", 0)))
        return BIG

    @task(**RETRIES)
    def consume(value):
        if value != BIG:
            raise ValueError("the value came back different")

    consume(produce())


xcom_fault_run()
