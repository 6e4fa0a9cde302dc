"""`make check` big: a 64 MB value pushed and pulled back. Each task logs its wall time and peak RSS as
`xcom-lab-metrics {...}` for the harness, which compares them with a raw put/get of the same bytes.
"""

from __future__ import annotations

import json
import resource
import time

import pendulum
from xcom_lab_shapes import describe, recipe, same, value_of

try:  # Airflow 3
    from airflow.sdk import dag, task
except ImportError:  # Airflow 2.x
    from airflow.decorators import dag, task

SIZE = 64 * 1024 * 1024  # JSON bytes, quotes included


def peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB


def big_value(conf):
    """64 MB of JSON: a string, or the conf's shape (the one that makes the backend offload) scaled up."""
    shape, _ = recipe(conf)
    if not conf.get("shape"):
        return "x" * (SIZE - 2)
    one = value_of(shape)
    size = len(one.to_json()) if shape == "dataframe" else len(json.dumps(one))
    return value_of(shape, scale=max(1, SIZE // size))


def report(phase: str, started: float, idle_rss: int) -> None:
    print("xcom-lab-metrics " + json.dumps({"phase": phase, "seconds": round(time.monotonic() - started, 3),
                                            "peak_rss_bytes": peak_rss(), "idle_rss_bytes": idle_rss}), flush=True)


@dag(schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), catchup=False, tags=["xcom-lab", "check"])
def xcom_check_big():
    @task
    def push(**context):
        idle = peak_rss()
        value = big_value(context["dag_run"].conf)
        started = time.monotonic()
        context["ti"].xcom_push(key=recipe(context["dag_run"].conf)[1] or "big", value=value)  # pushed, not returned: Airflow 3 logs a returned repr
        report("push", started, idle)

    @task
    def pull(**context):
        idle = peak_rss()
        started = time.monotonic()
        value = context["ti"].xcom_pull(task_ids="push", key=recipe(context["dag_run"].conf)[1] or "big")
        report("pull", started, idle)
        if not same(big_value(context["dag_run"].conf), value):
            raise ValueError(f"the 64 MB value came back different: {describe(value)}")

    push() >> pull()


xcom_check_big()
