"""`make check` mapped: 20 mapped tasks return a big value each; `collect` fails unless every map index
came back with its own value (a backend that ignores map_index hands all of them the same one).
"""

from __future__ import annotations

import pendulum

try:  # Airflow 3
    from airflow.sdk import dag, task
except ImportError:  # Airflow 2.x
    from airflow.decorators import dag, task

MAPPED = 20


@dag(schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), catchup=False, tags=["xcom-lab", "check"])
def xcom_check_mapped():
    @task
    def produce(n: int):
        return {"n": n, "padding": "x" * 2000}

    @task
    def collect(values: list):
        got = [v["n"] for v in values]
        if got != list(range(MAPPED)):
            raise ValueError(f"mapped values came back as {got}, expected 0..{MAPPED - 1}")
        print(f"{MAPPED} mapped values came back, each its own")

    collect(produce.expand(n=list(range(MAPPED))))


xcom_check_mapped()
