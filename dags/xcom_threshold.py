"""The threshold's boundary: values whose JSON is T-1, T and T+1 bytes, in ASCII and with non-ASCII
characters (each counts 6 bytes: \\uXXXX), where T is the threshold the backends are configured with.

With the provider's rule (inline if T < 0 or size < T), T-1 stays in the metadata DB and T, T+1 leave it.
`check` fails the run unless every value comes back equal. Keys say what was pushed: ascii_999, ...
"""

from __future__ import annotations

import os

import pendulum

try:  # Airflow 3
    from airflow.sdk import dag, task
except ImportError:  # Airflow 2.x
    from airflow.decorators import dag, task


def boundary_values() -> dict[str, str]:
    from xcomlab.threshold import string_of_size

    threshold = int(os.environ["AIRFLOW__XCOMLAB__THRESHOLD"])  # compose sets it for every backend
    return {f"{name}_{size}": string_of_size(size, char)
            for name, char in (("ascii", "x"), ("non_ascii", "é"))
            for size in (threshold - 1, threshold, threshold + 1)}


@dag(schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), catchup=False, tags=["xcom-lab"])
def xcom_threshold():
    @task
    def push_sizes(**context):
        for key, value in boundary_values().items():
            context["ti"].xcom_push(key=key, value=value)

    @task
    def check(**context):
        for key, value in boundary_values().items():
            if context["ti"].xcom_pull(task_ids="push_sizes", key=key) != value:
                raise ValueError(f"XCom {key!r} came back different")
        print("every boundary value came back equal")

    push_sizes() >> check()


xcom_threshold()
