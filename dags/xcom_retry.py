"""A task that fails on its first two tries and succeeds on the third, pushing the same XComs on every try.

What stays in the store afterwards is the point: xcomlab's deterministic paths mean a retry overwrites
its own objects (one per XCom). The provider's backend writes new uuid objects on every try; Airflow purges
the previous try's (measured on 2.11.2 and 3.3.1), and the e2e records what it finds. `make check` names in
the run's conf the shape (and key) that makes the backend under test offload.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from xcom_lab_shapes import recipe, same, value_of

try:  # Airflow 3
    from airflow.sdk import dag, task
except ImportError:  # Airflow 2.x
    from airflow.decorators import dag, task

@dag(schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), catchup=False, tags=["xcom-lab"])
def xcom_retry():
    @task(retries=2, retry_delay=timedelta(seconds=1))
    def flaky(**context):
        ti = context["ti"]
        shape, key = recipe(context["dag_run"].conf)
        ti.xcom_push(key=key or "attempt", value=value_of(shape))
        if ti.try_number <= 2:
            raise RuntimeError(f"failing try {ti.try_number} on purpose; the third succeeds")
        return value_of(shape)

    @task
    def check(value, **context):
        if not same(value_of(recipe(context["dag_run"].conf)[0]), value):
            raise ValueError("the retry's return value came back different")
        print("the retry's value came back equal")

    check(flaky())


xcom_retry()
