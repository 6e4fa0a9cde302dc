"""XComs for the lifecycle e2e (orphans, dangling rows, the cleanup DAG): one value offloaded to the
store, one kept in the row. With conf {"hold": true} the task pushes both and then fails; its retry is an
hour away, so the run stays unfinished (up_for_retry survives restarts) and the cleanup must leave it alone.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum

try:  # Airflow 3
    from airflow.sdk import dag, task
except ImportError:  # Airflow 2.x
    from airflow.decorators import dag, task

BIG = {"rows": ["x" * 100] * 30}  # over the sandbox's 1000-byte threshold


@dag(schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), catchup=False, params={"hold": False},
     tags=["xcom-lab"])
def xcom_lifecycle():
    @task(retries=1, retry_delay=timedelta(hours=1))
    def produce(**context):
        ti = context["ti"]
        ti.xcom_push(key="big", value=BIG)
        ti.xcom_push(key="small", value="kept in the row")
        if context["params"]["hold"]:
            raise RuntimeError("holding this DAG run open on purpose: the retry is an hour away")

    produce()


xcom_lifecycle()
