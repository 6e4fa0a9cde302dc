"""Healthcheck for the Celery workers: this worker answers a ping through the broker.

The same control message as `celery --app airflow.providers.celery.executors.celery_executor.app inspect ping`,
sent by a Celery app with nothing but the broker URL: that command imports all of Airflow first (~3 CPU-s a
probe against ~0.5), and Docker probes every worker twice a minute, the harness every second while it waits.
Usage: python celery_ping.py (broker: AIRFLOW__CELERY__BROKER_URL; worker: celery@<this hostname>, Airflow's default)
"""

import os
import socket
import sys

from celery import Celery

TIMEOUT_SECONDS = 5


def main() -> int:
    worker = f"celery@{socket.gethostname()}"
    app = Celery(broker=os.environ["AIRFLOW__CELERY__BROKER_URL"])
    replies = app.control.ping(destination=[worker], timeout=TIMEOUT_SECONDS, limit=1)
    if not any(worker in reply for reply in replies):
        print(f"{worker} did not answer a ping within {TIMEOUT_SECONDS} s")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
