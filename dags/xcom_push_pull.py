"""The toy DAG: push a small and a big XCom, pull both back and fail unless they are what was pushed.

With an object-storage backend and the default threshold (1000 bytes), small_obj stays in the metadata
DB and big_obj (about 11 kB of JSON) goes to the bucket.
"""

from __future__ import annotations

import pendulum

try:  # Airflow 3
    from airflow.sdk import dag, task
except ImportError:  # Airflow 2.x
    from airflow.decorators import dag, task

SMALL_OBJ = {"a": 23}
BIG_OBJ = {f"key{i}": "x" * 100 for i in range(100)}


@dag(schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), catchup=False, tags=["xcom-lab"])
def xcom_push_pull():
    @task
    def push_objects(**context):
        ti = context["ti"]
        ti.xcom_push(key="small_obj", value=SMALL_OBJ)
        ti.xcom_push(key="big_obj", value=BIG_OBJ)

    @task
    def pull_objects(**context):
        ti = context["ti"]
        for key, expected in (("small_obj", SMALL_OBJ), ("big_obj", BIG_OBJ)):
            pulled = ti.xcom_pull(task_ids="push_objects", key=key)
            if pulled != expected:
                raise ValueError(f"XCom {key!r} came back different: pushed {expected!r:.80}, pulled {pulled!r:.80}")
            print(f"{key}: pulled value equals the pushed one")

    push_objects() >> pull_objects()


xcom_push_pull()
