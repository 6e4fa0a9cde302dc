"""`make bench` part, run in the Airflow image once per backend, with that backend's env (compose/backends/*.env).

For each case (a JSON size, or a 50 MB DataFrame): push (serialize_value + the row's INSERT) and pull (the
row's SELECT + deserialize_value) through the configured XCom backend, and put + get the same bytes raw
beside it with the store's own client library (boto3, azure-storage-blob, google-cloud-storage, redis-py,
files; an INSERT/SELECT for the DB). Peak RSS of a push and of a pull is measured in forked children (they
start at the idle process's RSS, as a task does). Prints one JSON row per case.
"""

from __future__ import annotations

import functools
import importlib
import io
import json
import logging
import os
import resource
import statistics
import sys
import time
import traceback
import uuid
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit

REPORT, sys.stdout = sys.stdout, sys.stderr  # Airflow logs to stdout; the rows go to the real one
BACKEND = os.environ["BENCH_BACKEND"]
# JSON sizes in bytes, and "dataframe": a 50 MB pandas DataFrame.
CASES = [case if case == "dataframe" else int(case) for case in os.environ["BENCH_SIZES"].split(",") if case]
REPS = int(os.environ.get("BENCH_REPS", "5"))

import sqlalchemy  # noqa: E402

logging.getLogger("azure").setLevel(logging.WARNING)  # azure-storage-blob logs every request at INFO

from xcomlab import compat  # noqa: E402

ENGINE = sqlalchemy.create_engine(compat.conf().get("database", "sql_alchemy_conn"))
INSERT = sqlalchemy.text("INSERT INTO xcomlab_bench VALUES (:id, :v)")
SELECT = sqlalchemy.text("SELECT value FROM xcomlab_bench WHERE id = :id")
DELETE = sqlalchemy.text("DELETE FROM xcomlab_bench WHERE id = :id")
# The DB's raw limit: the same bytes (JSON or parquet) in a bytea column.
RAW_INSERT = sqlalchemy.text("INSERT INTO xcomlab_bench_raw VALUES (:id, :data)")
RAW_SELECT = sqlalchemy.text("SELECT data FROM xcomlab_bench_raw WHERE id = :id")
RAW_DELETE = sqlalchemy.text("DELETE FROM xcomlab_bench_raw WHERE id = :id")


def value_of(case: int | str):
    """Records like a task returns, `case` bytes as JSON give or take one record; or the 50 MB DataFrame."""
    if case == "dataframe":
        return frame_of_50_mb()

    def record(i: int) -> dict:
        return {"id": i, "name": f"customer-{i:06d}", "score": i / 7, "tags": ["a", "b"]}

    count = max(1, case // len(json.dumps(record(0))))
    count = max(1, round(count * case / len(json.dumps([record(i) for i in range(count)]))))
    return [record(i) for i in range(count)]


def frame_of_50_mb():
    """Floats, integers, a categorical and tz-aware timestamps: what a pandas task hands on."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(42)
    rows = 800_000
    return pd.DataFrame({
        **{f"value_{i}": rng.random(rows) for i in range(6)},
        "count": rng.integers(0, 1_000_000, rows),
        "city": pd.Categorical(rng.choice(["Zürich", "Oslo", "Lima", "Pune"], rows)),
        "at": pd.date_range("2026-01-01", periods=rows, freq="s", tz="UTC"),
    })


def bytes_of(value) -> bytes:
    """What a raw put stores: the JSON, or the DataFrame as parquet."""
    return value.to_parquet() if hasattr(value, "to_parquet") else json.dumps(value).encode()


def codec_round_trip(value) -> None:
    """The encode + decode no XCom of this value can skip: json.dumps + loads, or to_parquet + read_parquet."""
    if hasattr(value, "to_parquet"):
        import pandas as pd

        pd.read_parquet(io.BytesIO(value.to_parquet()))
    else:
        json.loads(json.dumps(value))


def same(back, value) -> bool:
    if hasattr(value, "equals"):
        return back.equals(value) and list(back.dtypes) == list(value.dtypes)
    return back == value


def size_of(value, data: bytes) -> int:
    return int(value.memory_usage(deep=True).sum()) if hasattr(value, "memory_usage") else len(data)


@functools.cache
def backend() -> type:
    """The configured XCom backend, imported on first use. The parent forks its memory-measuring children
    before that, so each child makes its own store clients (fsspec's async ones refuse to cross a fork)."""
    module, _, name = (compat.conf().get("core", "xcom_backend") or compat.BASE_XCOM).rpartition(".")
    xcom = getattr(importlib.import_module(module), name)
    row = push(value_of(10), xcom)  # the first push imports the store's client: not a cost of any size
    forget(*row, xcom)
    return xcom


def ids() -> dict:
    return {"key": "return_value", "dag_id": "bench", "run_id": f"bench-{uuid.uuid4()}", "task_id": "push",
            "map_index": -1}


def stored_url(text: str) -> str | None:
    """Where the backend put the value (None: in the row itself), from the row's text."""
    text = text.strip('"')
    if text.startswith("xcomlab:ref:"):
        return text.removeprefix("xcomlab:ref:")
    return text if "://" in text[:12] else None


def stored_bytes(text: str) -> int:
    url = stored_url(text)
    if url is None:
        return len(text.encode())
    if hasattr(backend(), "object_size"):  # xcomlab's backends know their stores
        return backend().object_size(url)
    return compat.object_storage_path(url).stat().st_size


def sql(statement, **params):
    with ENGINE.begin() as db:
        result = db.execute(statement, params)
        return result.scalar() if result.returns_rows else None


def stored_of(text: str, as_bytes: bool):
    """The row's text as serialize_value returned it (bytes on Airflow 2's BaseXCom, JSON-able otherwise)."""
    return text.encode() if as_bytes else json.loads(text)


def push(value, xcom=None) -> tuple[str, str, bool]:
    """An XCom write: serialize_value, then the row's INSERT (the whole value for the DB, else a reference)."""
    row_id, stored = str(uuid.uuid4()), (xcom or backend()).serialize_value(value, **ids())
    as_bytes = isinstance(stored, bytes)
    text = stored.decode() if as_bytes else json.dumps(stored)
    sql(INSERT, id=row_id, v=text)
    return row_id, text, as_bytes


def pull(row_id: str, as_bytes: bool):
    """An XCom read: the row's SELECT, then deserialize_value of what it holds."""
    return backend().deserialize_value(SimpleNamespace(value=stored_of(sql(SELECT, id=row_id), as_bytes)))


def forget(row_id: str, text: str, as_bytes: bool, xcom=None) -> None:
    if stored_url(text):
        (xcom or backend()).purge(SimpleNamespace(value=stored_of(text, as_bytes)))
    sql(DELETE, id=row_id)


def raw_client(url: str):
    """(put, get, delete) of one key beside `url`, with the store's own client library (the physical limit)."""
    parts = urlsplit(url)
    conn, bucket, key = parts.username, parts.hostname, parts.path.rsplit("/", 1)[0].lstrip("/") + f"/raw-{uuid.uuid4()}"
    if parts.scheme == "s3":
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook

        s3 = S3Hook(aws_conn_id=conn).get_conn()
        return (lambda data: s3.put_object(Bucket=bucket, Key=key, Body=data),
                lambda: s3.get_object(Bucket=bucket, Key=key)["Body"].read(),
                lambda: s3.delete_object(Bucket=bucket, Key=key))
    if parts.scheme in ("abfs", "az", "wasb"):
        from airflow.providers.microsoft.azure.hooks.wasb import WasbHook

        blob = WasbHook(wasb_conn_id=conn).get_conn().get_blob_client(bucket, key)
        return (lambda data: blob.upload_blob(data, overwrite=True), lambda: blob.download_blob().readall(),
                blob.delete_blob)
    if parts.scheme in ("gs", "gcs"):
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import storage

        extra = compat.base_hook().get_connection(conn).extra_dejson  # GCSHook ignores the emulator's endpoint
        client = storage.Client(project=extra.get("project"), credentials=AnonymousCredentials(),
                                client_options={"api_endpoint": extra["gcs.endpoint"]})
        blob = client.bucket(bucket).blob(key)
        return blob.upload_from_string, blob.download_as_bytes, blob.delete
    if parts.scheme == "redis":
        from xcomlab.redis import _split

        client, key = _split(url + ".raw")
        return lambda data: client.set(key, data), lambda: client.get(key), lambda: client.delete(key)
    path = Path(parts.path).with_name(f"raw-{uuid.uuid4()}")
    return path.write_bytes, path.read_bytes, path.unlink


def raw_round_trip(url: str | None, data: bytes) -> tuple[float, float]:
    """Put + get of the same bytes beside where the backend wrote, with the store's own client (None: the DB)."""
    if url is None:
        row_id = str(uuid.uuid4())
        put = timed(lambda: sql(RAW_INSERT, id=row_id, data=data))[0]
        get = timed(lambda: sql(RAW_SELECT, id=row_id))[0]
        sql(RAW_DELETE, id=row_id)
        return put, get
    put, get, delete = raw_client(url)
    put_s, get_s = timed(lambda: put(data))[0], timed(get)[0]
    delete()
    return put_s, get_s


def timed(step):
    start = time.perf_counter()
    result = step()
    return time.perf_counter() - start, result


def rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def in_child(work) -> dict:
    """Run `work` in a forked child (it starts at this process's RSS, as a task does); returns its JSON result."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        ENGINE.dispose(close=False)  # the parent's pooled connections are not the child's to use
        try:
            result = work()
        except BaseException:  # noqa: BLE001 - the parent reports it
            traceback.print_exc()
            result = None
        with os.fdopen(write_end, "w") as pipe:
            json.dump(result, pipe)
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        result = json.loads(pipe.read() or "null")
    os.waitpid(pid, 0)
    if result is None:
        raise RuntimeError(f"{BACKEND}: the forked push or pull failed (traceback above)")
    return result


def peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def ready(case: int | str) -> None:
    """What a task has imported before it holds its value: the backend, and pandas for a DataFrame (not the
    value's cost)."""
    backend()
    if case == "dataframe":
        import pandas  # noqa: F401
        import pyarrow.parquet  # noqa: F401


def push_in_child(case: int | str) -> dict:
    """A pushing task: builds the value, holds it, pushes it."""
    ready(case)
    start = rss()
    value = value_of(case)
    holding = rss()
    row_id, text, as_bytes = push(value)
    return {"start": start, "value": holding - start, "peak": peak_rss(), "row": [row_id, text, as_bytes]}


def pull_in_child(case: int | str, row_id: str, text: str, as_bytes: bool) -> dict:
    """A pulling task: pulls the value and holds it."""
    ready(case)
    start = rss()
    pull(row_id, as_bytes)
    peak = peak_rss()
    forget(row_id, text, as_bytes)
    return {"start": start, "peak": peak}


def encode_in_child(case: int | str) -> dict:
    """The codec alone (json.dumps, to_parquet): what any backend's push needs at least, beyond the value."""
    ready(case)
    value = value_of(case)
    holding = rss()
    bytes_of(value)
    return {"beyond": peak_rss() - holding}


def memory(case: int | str) -> dict:
    """Peak RSS of a pushing and a pulling task, and what the backend needs beyond holding the value itself."""
    pushed = in_child(lambda: push_in_child(case))
    row_id, text, as_bytes = pushed["row"]
    pulled = in_child(lambda: pull_in_child(case, row_id, text, as_bytes))
    encoded = in_child(lambda: encode_in_child(case))
    return {"overhead_codec_bytes": encoded["beyond"], "idle_rss_bytes": pushed["start"], "value_rss_bytes": pushed["value"],
            "peak_rss_push_bytes": pushed["peak"], "peak_rss_pull_bytes": pulled["peak"],
            "overhead_push_bytes": pushed["peak"] - pushed["start"] - pushed["value"],
            "overhead_pull_bytes": pulled["peak"] - pulled["start"] - pushed["value"]}


def measure(case: int | str, rss_row: dict) -> dict:
    value = value_of(case)
    data = bytes_of(value)
    pushes, pulls, raw_puts, raw_gets, codecs, stored_size, url = [], [], [], [], [], 0, None
    for rep in range(REPS):
        if rep < 2:  # the codec's time is the machine's, not the store's: two samples do
            codecs.append(timed(lambda: codec_round_trip(value))[0])
        push_s, (row_id, text, as_bytes) = timed(lambda: push(value))
        pull_s, back = timed(lambda: pull(row_id, as_bytes))
        assert same(back, value), f"{BACKEND}: the pulled value differs from the pushed one ({case})"
        stored_size, url = stored_bytes(text), stored_url(text)
        forget(row_id, text, as_bytes)
        raw_put, raw_get = raw_round_trip(url, data)
        pushes.append(push_s), pulls.append(pull_s), raw_puts.append(raw_put), raw_gets.append(raw_get)
    median = statistics.median
    push_s, pull_s, raw_push_s, raw_pull_s = median(pushes), median(pulls), median(raw_puts), median(raw_gets)
    codec_s = min(codecs)  # a floor: a GC pause in one of two samples is not the codec's
    round_trips = [p + q for p, q in zip(pushes, pulls)]
    return {"backend": BACKEND, "size_bytes": size_of(value, data), "reps": REPS,
            "kind": "dataframe" if case == "dataframe" else "json",
            "push_s": push_s, "pull_s": pull_s, "raw_push_s": raw_push_s, "raw_pull_s": raw_pull_s,
            "spread_s": max(round_trips) - min(round_trips), "ratio": (push_s + pull_s) / (raw_push_s + raw_pull_s),
            "codec_s": codec_s, "ratio_with_codec": (push_s + pull_s) / (raw_push_s + raw_pull_s + codec_s),
            "stored_bytes": stored_size, "stored_in": "db" if url is None else url.split("://")[0], **rss_row}


def small_values(count: int = 1_000, batches: int = 5) -> dict:
    """`count` XComs under the threshold (they stay in the row): each backend's cost per XCom vs the DB's own
    INSERT + SELECT of the same row. Run in a process of its own, with the stack's threshold."""
    values = [{"n": i, "status": "ok", "rows": i * 3} for i in range(count)]
    per = count // batches
    pushes, pulls, raw_puts, raw_gets = [], [], [], []
    for batch in range(batches):
        mine = values[batch * per:(batch + 1) * per]
        push_s, rows = timed(lambda: [push(value) for value in mine])
        pull_s, back = timed(lambda: [pull(row_id, as_bytes) for row_id, _, as_bytes in rows])
        assert back == mine, f"{BACKEND}: small values came back different"
        assert not any(stored_url(text) for _, text, _ in rows), f"{BACKEND}: a value under the threshold left the DB"
        for row in rows:
            forget(*row)
        texts = [json.dumps(value) for value in mine]
        ids = [str(uuid.uuid4()) for _ in mine]
        raw_puts.append(timed(lambda: [sql(INSERT, id=i, v=t) for i, t in zip(ids, texts)])[0])
        raw_gets.append(timed(lambda: [sql(SELECT, id=i) for i in ids])[0])  # the row as Airflow stores it
        for i in ids:
            sql(DELETE, id=i)
        pushes.append(push_s / per), pulls.append(pull_s / per)
    raw_puts, raw_gets = [t / per for t in raw_puts], [t / per for t in raw_gets]
    median = statistics.median
    push_s, pull_s, raw_push_s, raw_pull_s = median(pushes), median(pulls), median(raw_puts), median(raw_gets)
    round_trips = [p + q for p, q in zip(pushes, pulls)]
    return {"backend": BACKEND, "kind": "small", "count": count, "size_bytes": len(texts[0]), "reps": batches,
            "push_s": push_s, "pull_s": pull_s, "raw_push_s": raw_push_s, "raw_pull_s": raw_pull_s,
            "spread_s": max(round_trips) - min(round_trips), "ratio": (push_s + pull_s) / (raw_push_s + raw_pull_s)}


def main() -> None:
    with ENGINE.begin() as db:  # a scratch table for the rows, as Airflow's xcom table holds them
        db.execute(sqlalchemy.text("CREATE TABLE IF NOT EXISTS xcomlab_bench (id text PRIMARY KEY, value text)"))
        db.execute(sqlalchemy.text("CREATE TABLE IF NOT EXISTS xcomlab_bench_raw (id text PRIMARY KEY, data bytea)"))
    try:
        # Memory first, in children forked before this process touches the store or grows its heap timing.
        memories = {case: memory(case) for case in CASES}
        backend()
        for case in CASES:
            print(json.dumps(measure(case, memories[case])), file=REPORT, flush=True)
        if os.environ.get("BENCH_SMALL") == "1":
            print(json.dumps(small_values()), file=REPORT, flush=True)
    finally:
        with ENGINE.begin() as db:
            db.execute(sqlalchemy.text("DROP TABLE xcomlab_bench, xcomlab_bench_raw"))


if __name__ == "__main__":
    main()
