"""Healthcheck for Airflow components without a safe HTTP health endpoint.

Used by the dag-processor, the triggerer and the 2.x scheduler (see compose/airflow-2.yml).

Healthy = this host's job of the given type is running and heartbeated recently. One small query with
psycopg2 instead of `airflow jobs check`, which imports all of Airflow every few seconds.
Usage: python job_heartbeat.py DagProcessorJob|TriggererJob
"""

import socket
import sys

import metadata_db

MAX_AGE_SECONDS = 60


def main(job_type: str) -> int:
    with metadata_db.connect(timeout=5) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT count(*) FROM job WHERE job_type = %s AND hostname = %s AND state = 'running'"
            " AND latest_heartbeat > now() - make_interval(secs => %s)",
            (job_type, socket.getfqdn(), MAX_AGE_SECONDS),
        )
        alive = cur.fetchone()[0] > 0
    if not alive:
        print(f"no running {job_type} on {socket.getfqdn()} heartbeated in the last {MAX_AGE_SECONDS} s")
    return 0 if alive else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
