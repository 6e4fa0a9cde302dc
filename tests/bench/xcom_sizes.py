"""`make bench` part, run in the Airflow image once per backend, with that backend's env (compose/backends/*.env).

For each size: push (serialize_value) and pull (deserialize_value) a JSON value through the configured XCom
backend, and put + get the same bytes raw on the same store with its own client (fsspec for object stores
and files, redis-py for Redis, an INSERT/SELECT for the DB). Peak RSS of a push and of a pull is measured
in a forked child (it starts at the idle process's RSS, as a task does). Prints one JSON row per size.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import sys
import time
import uuid
from types import SimpleNamespace

REPORT, sys.stdout = sys.stdout, sys.stderr  # Airflow logs to stdout; the rows go to the real one
BACKEND = os.environ["BENCH_BACKEND"]
SIZES = [int(size) for size in os.environ["BENCH_SIZES"].split(",")]
REPS = int(os.environ.get("BENCH_REPS", "5"))

import sqlalchemy  # noqa: E402
from airflow.configuration import conf  # noqa: E402
from airflow.utils.module_loading import import_string  # noqa: E402

from xcomlab import compat  # noqa: E402

XCom = import_string(conf.get("core", "xcom_backend"))
ENGINE = sqlalchemy.create_engine(conf.get("database", "sql_alchemy_conn"))
INSERT = sqlalchemy.text("INSERT INTO xcomlab_bench VALUES (:id, :v)")
SELECT = sqlalchemy.text("SELECT value FROM xcomlab_bench WHERE id = :id")
DELETE = sqlalchemy.text("DELETE FROM xcomlab_bench WHERE id = :id")


def value_of(size: int) -> list[dict]:
    """Records like a task returns, about `size` bytes as JSON."""
    record = {"id": 0, "name": "customer-000000", "score": 0.123456789, "tags": ["a", "b"]}
    count = max(1, size // len(json.dumps(record)))
    return [{**record, "id": i, "name": f"customer-{i:06d}", "score": i / 7} for i in range(count)]


def ids() -> dict:
    return {"key": "return_value", "dag_id": "bench", "run_id": f"bench-{uuid.uuid4()}", "task_id": "push",
            "map_index": -1}


def stored_url(stored) -> str | None:
    text = stored.decode() if isinstance(stored, bytes) else stored if isinstance(stored, str) else json.dumps(stored)
    text = text.strip('"')
    if text.startswith("xcomlab:ref:"):
        return text.removeprefix("xcomlab:ref:")
    return text if "://" in text[:12] else None


def stored_bytes(stored) -> int:
    url = stored_url(stored)
    if url is None:
        return len(stored if isinstance(stored, bytes) else json.dumps(stored).encode())
    if url.startswith("redis://"):
        return XCom.object_size(url)
    return compat.object_storage_path(url).stat().st_size


def sql(statement, **params):
    with ENGINE.begin() as db:
        return db.execute(statement, params).scalar()


def push(value):
    """An XCom write: serialize_value, then the row's INSERT (the whole value for the DB, else a reference)."""
    row_id, stored = str(uuid.uuid4()), XCom.serialize_value(value, **ids())
    text = stored.decode() if isinstance(stored, bytes) else json.dumps(stored)
    sql(INSERT, id=row_id, v=text)
    return row_id, stored


def pull(row_id: str, stored):
    """An XCom read: the row's SELECT, then deserialize_value of what the backend stored."""
    sql(SELECT, id=row_id)
    return XCom.deserialize_value(SimpleNamespace(value=stored))


def forget(row_id: str, stored) -> None:
    if stored_url(stored):
        XCom.purge(SimpleNamespace(value=stored))
    sql(DELETE, id=row_id)


def raw_round_trip(url: str | None, data: bytes) -> tuple[float, float]:
    """Put + get of the same bytes with the store's own client, beside where the backend wrote (None: the DB)."""
    if url is None:
        row_id = str(uuid.uuid4())
        put = timed(lambda: sql(INSERT, id=row_id, v=data.decode()))[0]
        get = timed(lambda: sql(SELECT, id=row_id))[0]
        sql(DELETE, id=row_id)
        return put, get
    target = url.rsplit("/", 1)[0] + f"/raw-{uuid.uuid4()}.json"
    if target.startswith("redis://"):
        from xcomlab.redis import _split

        client, key = _split(target)
        put, get = timed(lambda: client.set(key, data))[0], timed(lambda: client.get(key))[0]
        client.delete(key)
        return put, get
    path = compat.object_storage_path(target)
    put, get = timed(lambda: path.write_bytes(data))[0], timed(path.read_bytes)[0]
    path.unlink()
    return put, get


def timed(step):
    start = time.perf_counter()
    result = step()
    return time.perf_counter() - start, result


def peak_rss_in_child(work) -> int:
    """Peak RSS (bytes) of a forked child that runs `work`; the child starts at this process's RSS."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        try:
            work()
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        except BaseException:  # noqa: BLE001 - the parent reports it
            peak = -1
        os.write(write_end, str(peak).encode())
        os._exit(0)
    os.close(write_end)
    peak = int(os.read(read_end, 64) or b"-1")
    os.waitpid(pid, 0)
    if peak < 0:
        raise RuntimeError(f"{BACKEND}: the forked push or pull failed; run it in-process to see why")
    return peak


def measure(size: int) -> dict:
    value = value_of(size)
    data = json.dumps(value).encode()
    pushes, pulls, raw_puts, raw_gets, stored_size, url = [], [], [], [], 0, None
    for _ in range(REPS):
        push_s, (row_id, stored) = timed(lambda: push(value))
        pull_s, back = timed(lambda: pull(row_id, stored))
        assert back == value, f"{BACKEND}: the pulled value differs from the pushed one at {size} bytes"
        stored_size, url = stored_bytes(stored), stored_url(stored)
        forget(row_id, stored)
        raw_put, raw_get = raw_round_trip(url, data)
        pushes.append(push_s), pulls.append(pull_s), raw_puts.append(raw_put), raw_gets.append(raw_get)
    idle = peak_rss_in_child(lambda: None)
    push_rss = peak_rss_in_child(lambda: push(value_of(size)))
    row_id, stored = push(value_of(size))
    pull_rss = peak_rss_in_child(lambda: pull(row_id, stored))
    forget(row_id, stored)
    median = statistics.median
    push_s, pull_s, raw_push_s, raw_pull_s = median(pushes), median(pulls), median(raw_puts), median(raw_gets)
    return {"backend": BACKEND, "size_bytes": len(data), "reps": REPS,
            "push_s": push_s, "pull_s": pull_s, "raw_push_s": raw_push_s, "raw_pull_s": raw_pull_s,
            "spread_s": max(p + q for p, q in zip(pushes, pulls)) - min(p + q for p, q in zip(pushes, pulls)),
            "ratio": (push_s + pull_s) / (raw_push_s + raw_pull_s), "stored_bytes": stored_size,
            "stored_in": "db" if url is None else url.split("://")[0],
            "idle_rss_bytes": idle, "peak_rss_push_bytes": push_rss, "peak_rss_pull_bytes": pull_rss}


def main() -> None:
    with ENGINE.begin() as db:  # a scratch table for the rows, as Airflow's xcom table holds them
        db.execute(sqlalchemy.text("CREATE TABLE IF NOT EXISTS xcomlab_bench (id text PRIMARY KEY, value text)"))
    for size in SIZES:
        print(json.dumps(measure(size)), file=REPORT, flush=True)


if __name__ == "__main__":
    main()
