"""`make check` reference-lookalike: push the value given in the run's conf (the harness derives it from a
reference this very backend wrote), pull it back, and fail unless it comes back as itself, not as whatever
the reference points to.
"""

from __future__ import annotations

import pendulum

try:  # Airflow 3
    from airflow.sdk import dag, task
except ImportError:  # Airflow 2.x
    from airflow.decorators import dag, task


@dag(schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), catchup=False, params={"value": None},
     tags=["xcom-lab", "check"])
def xcom_check_lookalike():
    @task
    def push(**context):
        context["ti"].xcom_push(key="lookalike", value=context["params"]["value"])

    @task
    def pull(**context):
        pushed = context["params"]["value"]
        pulled = context["ti"].xcom_pull(task_ids="push", key="lookalike")
        if pulled != pushed or type(pulled) is not type(pushed):
            raise ValueError(f"a pushed {type(pushed).__name__} that looks like this backend's references was taken "
                             f"for a reference: pushed {pushed!r:.100}, pulled {pulled!r:.100}")
        print("the look-alike came back as itself")

    push() >> pull()


xcom_check_lookalike()
