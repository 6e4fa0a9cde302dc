"""Seed XComs for the cleanup benchmark, inside an Airflow container: `python - <dag_id> <run_id> <task_id> <count>`.

Writes count XComs, spread evenly over four stores (the provider's S3, xcomlab on Azure, Redis and localfs),
each through its real backend class (so objects and rows look exactly as a task would leave them), attached
to one finished task instance under keys bench_<i>, with rows dated 10 days back. Prints one JSON line.
"""

import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

from sqlalchemy import insert, text

from airflow import settings
from xcomlab import compat

dag_id, run_id, task_id, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
VALUE = {"pad": "x" * 1200}  # over the sandbox's 1000-byte threshold: every one goes to its store
os.environ.update({  # each backend's path, whatever BACKEND the stack runs
    "AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_PATH": "s3://xcom_s3@xcom/xcom",
    "AIRFLOW__XCOMLAB__OBJECTSTORAGE_PATH": "abfs://xcom_azure@xcom/xcomlab",
    "AIRFLOW__XCOMLAB__REDIS_CONN_ID": "xcom_redis", "AIRFLOW__XCOMLAB__REDIS_PREFIX": "xcomlab",
    "AIRFLOW__XCOMLAB__LOCALFS_PATH": "/opt/airflow/xcom-localfs/xcomlab",
})
from airflow.providers.common.io.xcom.backend import XComObjectStorageBackend  # noqa: E402
from xcomlab.localfs import XComLocalFsBackend  # noqa: E402
from xcomlab.objectstorage import XComObjectStorageBackend as XcomlabObjectStorage  # noqa: E402
from xcomlab.redis import XComRedisBackend  # noqa: E402

if compat.AIRFLOW_MAJOR >= 3:
    from airflow.models.xcom import XComModel as table
else:
    from airflow.models.xcom import BaseXCom as table
BACKENDS = [XComObjectStorageBackend, XcomlabObjectStorage, XComRedisBackend, XComLocalFsBackend]
ids = {"dag_id": dag_id, "run_id": run_id, "task_id": task_id, "map_index": -1}

with settings.engine.connect() as conn:
    dag_run_id = conn.execute(text("SELECT id FROM dag_run WHERE dag_id = :d AND run_id = :r"),
                              {"d": dag_id, "r": run_id}).scalar_one()
when = datetime.now(timezone.utc) - timedelta(days=10)


def one(i: int) -> dict:
    backend = BACKENDS[i % len(BACKENDS)]
    key = f"bench_{i}"
    return {"dag_run_id": dag_run_id, "key": key, "timestamp": when,
            "value": backend.serialize_value(VALUE, key=key, **ids), **ids}


start = time.monotonic()
with ThreadPoolExecutor(16) as pool:
    rows = list(pool.map(one, range(count)))
with settings.engine.begin() as conn:
    conn.execute(insert(table.__table__), rows)
print(json.dumps({"xcoms": count, "stores": len(BACKENDS), "seconds": round(time.monotonic() - start, 1)}))
