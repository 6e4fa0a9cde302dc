"""`make check` missing-object: `push` pushes a value of the shape the run's conf names; `pull` waits until the harness has deleted the
object behind Airflow's back (it sets the Variable xcom_check_missing_<run_id>), then pulls. A good backend
fails `pull` with an error naming the XCom; `pull` logs `xcom-lab-pulled {...}` when it got a value instead.
"""

from __future__ import annotations

import json
import time

import pendulum
from xcom_lab_shapes import describe, recipe, same, value_of

try:  # Airflow 3
    from airflow.sdk import Variable, dag, task
except ImportError:  # Airflow 2.x
    from airflow.decorators import dag, task
    from airflow.models import Variable

WAIT_SECONDS = 120


def go_signal(run_id: str):
    try:
        return Variable.get(f"xcom_check_missing_{run_id}")
    except KeyError:  # Airflow 3 raises when the Variable is not set
        return None
    except Exception:  # noqa: BLE001 - Airflow 2.x raises its own KeyError subclass
        return None


@dag(schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), catchup=False, tags=["xcom-lab", "check"])
def xcom_check_missing():
    @task
    def push(**context):
        shape, key = recipe(context["dag_run"].conf)
        context["ti"].xcom_push(key=key or "lost", value=value_of(shape))

    @task
    def pull(**context):
        deadline = time.monotonic() + WAIT_SECONDS
        while go_signal(context["run_id"]) is None:
            if time.monotonic() > deadline:
                raise TimeoutError("the harness never deleted the object")
            time.sleep(0.5)
        shape, key = recipe(context["dag_run"].conf)
        value = context["ti"].xcom_pull(task_ids="push", key=key or "lost")
        print("xcom-lab-pulled " + json.dumps({"type": type(value).__name__, "repr": repr(value)[:200],
                                               "kind": describe(value), "equal": same(value_of(shape), value)}),
              flush=True)

    push() >> pull()


xcom_check_missing()
