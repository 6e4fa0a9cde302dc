"""`make bench` fan-out: `count` mapped tasks return a value of about `size` bytes each (1 MB: every one goes
to the store); `collect` pulls them all and fails unless each map index came back whole with its own value.
"""

from __future__ import annotations

import pendulum

try:  # Airflow 3
    from airflow.sdk import Param, dag, task
except ImportError:  # Airflow 2.x
    from airflow.decorators import dag, task
    from airflow.models.param import Param


@dag(schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), catchup=False, tags=["xcom-lab", "bench"],
     params={"count": Param(200, type="integer", minimum=1), "size": Param(1_000_000, type="integer", minimum=1)},
     max_active_tasks=32)
def xcom_fanout():
    @task
    def indexes(params=None) -> list[int]:
        return list(range(params["count"]))

    @task(multiple_outputs=False)  # one XCom each, not one per dict key
    def produce(n: int, params=None) -> dict:
        return {"n": n, "padding": "x" * params["size"]}

    @task
    def collect(values, params=None) -> int:
        got = [(v["n"], len(v["padding"])) for v in values]
        want = [(n, params["size"]) for n in range(params["count"])]
        if got != want:
            lost = sorted(set(want) - set(got))
            raise ValueError(f"{len(lost)} of {len(want)} mapped values did not come back whole: {lost[:10]}")
        return len(got)

    collect(produce.expand(n=indexes()))


xcom_fanout()
