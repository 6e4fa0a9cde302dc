"""`make check` shapes: what makes this backend offload? `push` pushes every shape of xcom_lab_shapes (long
lists, many-key dicts, a long string, records, nested values, a DataFrame) and a small dict under key names
backends single out; `pull` pulls each back. Each is tried on its own (one failing shape hides no other) and
logged as `xcom-lab-shapes {...}`; where each landed (row or store) the harness sees for itself.
"""

from __future__ import annotations

import json

import pendulum
from xcom_lab_shapes import KEYS, SHAPES, describe, each, same, value_of

try:  # Airflow 3
    from airflow.sdk import dag, task
except ImportError:  # Airflow 2.x
    from airflow.decorators import dag, task


def tries() -> dict[str, object]:
    """XCom key -> a fresh value: each shape, and a small dict under each key name."""
    return {**{f"shape_{shape}": value_of(shape) for shape in SHAPES}, **{key: value_of("small") for key in KEYS}}


@dag(schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), catchup=False, tags=["xcom-lab", "check"])
def xcom_check_shapes():
    @task
    def push(**context):
        found = each(tries(), lambda key, value: context["ti"].xcom_push(key=key, value=value), "push")
        print("xcom-lab-shapes " + json.dumps({"phase": "push", "outcomes": found}), flush=True)

    @task
    def pull(**context):
        def compare(key, value):
            got = context["ti"].xcom_pull(task_ids="push", key=key)
            return "" if same(value, got) else f"came back as {describe(got)}: {repr(got)[:80]}"

        found = each(tries(), compare, "pull")
        print("xcom-lab-shapes " + json.dumps({"phase": "pull", "outcomes": found}), flush=True)

    push() >> pull()


xcom_check_shapes()
