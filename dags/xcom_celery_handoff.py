"""Push on one machine, pull on another: `produce` runs on Celery worker A (queue worker_a), `consume` on
worker B (queue worker_b), which shares no filesystem with A (PROFILE=celery).

Object storage and Redis hand the value over; the localfs backend cannot, and `consume` fails saying
that it needs a shared filesystem. Under LocalExecutor the queues are ignored and both run in one place.
"""

from __future__ import annotations

import pendulum

try:  # Airflow 3
    from airflow.sdk import dag, task
except ImportError:  # Airflow 2.x
    from airflow.decorators import dag, task

VALUE = {"rows": [{"id": i, "city": "Zürich", "pad": "x" * 100} for i in range(50)]}


@dag(schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), catchup=False, tags=["xcom-lab"])
def xcom_celery_handoff():
    @task(queue="worker_a")
    def produce():
        return VALUE

    @task(queue="worker_b")
    def consume(value):
        if value != VALUE:
            raise ValueError("the value came back different on the other worker")
        print("worker B pulled what worker A pushed")

    consume(produce())


xcom_celery_handoff()
