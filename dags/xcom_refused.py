"""What xcomlab's backends refuse, and a value lost from its store. Each `push_*` task must fail with an
error that names the XCom and says what to do, having written nothing; `pull_lost` must fail saying the
object is gone. The run as a whole fails; the e2e checks each task's outcome and log.
"""

from __future__ import annotations

import importlib
import os

import pendulum

try:  # Airflow 3
    from airflow.sdk import dag, task
except ImportError:  # Airflow 2.x
    from airflow.decorators import dag, task

try:  # Airflow 3
    from airflow.sdk.exceptions import AirflowSkipException
except ImportError:  # Airflow 2.x
    from airflow.exceptions import AirflowSkipException

REDIS_MAX_BYTES = 512 * 1024 * 1024


def configured_backend():
    module, _, name = os.environ["AIRFLOW__CORE__XCOM_BACKEND"].rpartition(".")
    return getattr(importlib.import_module(module), name)


@dag(schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), catchup=False, tags=["xcom-lab"])
def xcom_refused():
    @task
    def push_raw_bytes():
        return b"\x89PNG\r\n"

    @task
    def push_unserializable():
        return {"callback": print}

    @task
    def push_too_big_for_redis(**context):
        if not os.environ["AIRFLOW__CORE__XCOM_BACKEND"].startswith("xcomlab.redis."):
            raise AirflowSkipException("only the Redis backend has a size limit")
        # Its JSON (with the quotes) is one byte over Redis's limit. Pushed, not returned: Airflow would
        # write a returned value's repr (512 MB) to the task log.
        context["ti"].xcom_push(key="too_big", value="x" * (REDIS_MAX_BYTES - 1))

    @task
    def push_then_lose(**context):
        """Push a big value, then delete its object behind Airflow's back (as a lifecycle rule would)."""
        from xcomlab import codec
        from xcomlab.layout import XComIds

        ti = context["ti"]
        ti.xcom_push(key="lost", value={"rows": ["x" * 100] * 30})
        backend = configured_backend()
        ids = XComIds(ti.dag_id, ti.run_id, ti.task_id, -1, "lost")
        backend.delete_object(backend.object_location(ids, codec.json_suffix(None)))

    @task
    def pull_lost(**context):
        context["ti"].xcom_pull(task_ids="push_then_lose", key="lost")

    push_raw_bytes()
    push_unserializable()
    push_too_big_for_redis()
    push_then_lose() >> pull_lost()


xcom_refused()
