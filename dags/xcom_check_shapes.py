"""`make check` shapes: what makes this backend offload? `push` pushes every shape of xcom_lab_shapes (long
lists, many-key dicts, a long string, records, nested values, a DataFrame) and a small dict under key names
backends single out; `pull` pulls each back. Each is tried on its own (one failing shape hides no other) and
logged as `xcom-lab-shapes {...}`; where each landed (row or store) the harness sees for itself.
"""

from __future__ import annotations

import json

import pendulum
from xcom_lab_shapes import KEYS, SHAPES, describe, same, value_of

try:  # Airflow 3
    from airflow.sdk import dag, task
except ImportError:  # Airflow 2.x
    from airflow.decorators import dag, task


def tries() -> dict[str, tuple[str, object]]:
    """XCom key -> (shape, value)."""
    found = {f"shape_{shape}": (shape, value_of(shape)) for shape in SHAPES}
    found.update({key: ("small", value_of("small")) for key in KEYS})
    return found


def outcome(error: BaseException) -> str:
    return f"{type(error).__module__}.{type(error).__name__}: {str(error)[:300]}".removeprefix("builtins.")


@dag(schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), catchup=False, tags=["xcom-lab", "check"])
def xcom_check_shapes():
    @task
    def push(**context):
        found = {}
        for key, (_shape, value) in tries().items():
            try:
                context["ti"].xcom_push(key=key, value=value)
                found[key] = "ok"
            except Exception as err:  # noqa: BLE001 - each shape's own outcome is the point
                found[key] = f"push failed: {outcome(err)}"
        print("xcom-lab-shapes " + json.dumps({"phase": "push", "outcomes": found}), flush=True)

    @task
    def pull(**context):
        found = {}
        for key, (_shape, value) in tries().items():
            try:
                got = context["ti"].xcom_pull(task_ids="push", key=key)
                found[key] = "ok" if same(value, got) else f"came back as {describe(got)}: {repr(got)[:80]}"
            except Exception as err:  # noqa: BLE001
                found[key] = f"pull failed: {outcome(err)}"
        print("xcom-lab-shapes " + json.dumps({"phase": "pull", "outcomes": found}), flush=True)

    push() >> pull()


xcom_check_shapes()
