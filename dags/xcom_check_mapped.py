"""`make check` mapped: 20 mapped tasks each return a value of the shape the run's conf names with their own
n inside; `collect` fails unless every map index came back with its own value (a backend that ignores
map_index hands all of them the same one).
"""

from __future__ import annotations

import pendulum
from xcom_lab_shapes import recipe, value_of

try:  # Airflow 3
    from airflow.sdk import dag, task
except ImportError:  # Airflow 2.x
    from airflow.decorators import dag, task

MAPPED = 20


def number_of(value) -> int:
    if isinstance(value, list):
        return value[0]
    if isinstance(value, dict):
        return value["n"]
    if isinstance(value, str):
        return int(value.split(":", 1)[0])
    return int(value["n"].iloc[0])


@dag(schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), catchup=False, tags=["xcom-lab", "check"])
def xcom_check_mapped():
    @task
    def produce(n: int, **context):
        """The shape that makes the backend offload, with n inside (first item, key, prefix or column)."""
        shape, _ = recipe(context["dag_run"].conf)
        value = value_of(shape)
        if isinstance(value, list):
            return [n, *value]
        if isinstance(value, dict):
            return {"n": n, **value}
        if isinstance(value, str):
            return f"{n}:{value}"
        value.insert(0, "n", n)  # a DataFrame
        return value

    @task
    def collect(values: list):
        got = [number_of(v) for v in values]
        if got != list(range(MAPPED)):
            raise ValueError(f"mapped values came back as {got}, expected 0..{MAPPED - 1}")
        print(f"{MAPPED} mapped values came back, each its own")

    collect(produce.expand(n=list(range(MAPPED))))


xcom_check_mapped()
