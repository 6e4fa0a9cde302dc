"""`make check` clear (and the deletes that follow): `push` pushes one value of the shape the run's conf
names (the one that makes this backend offload), `pull` fails unless it comes back the same.
"""

from __future__ import annotations

import pendulum
from xcom_lab_shapes import describe, recipe, same, value_of

try:  # Airflow 3
    from airflow.sdk import dag, task
except ImportError:  # Airflow 2.x
    from airflow.decorators import dag, task


@dag(schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), catchup=False, tags=["xcom-lab", "check"])
def xcom_check_roundtrip():
    @task
    def push(**context):
        shape, key = recipe(context["dag_run"].conf)
        context["ti"].xcom_push(key=key or "value", value=value_of(shape))

    @task
    def pull(**context):
        shape, key = recipe(context["dag_run"].conf)
        got = context["ti"].xcom_pull(task_ids="push", key=key or "value")
        if not same(value_of(shape), got):
            raise ValueError(f"the {shape} value came back as {describe(got)}: {repr(got)[:80]}")
        print(f"the {shape} value came back the same")

    push() >> pull()


xcom_check_roundtrip()
