"""`make bench` (in the running Airflow image, on the S3 emulator): a 50 MB DataFrame's XCom round trip.

Compares xcomlab's object-storage backend (push = serialize_value, pull = deserialize_value) with a raw
parquet put + get of the same frame on the same store and connection, and with the common-io provider's
backend (Airflow's serializer: hex-encoded parquet inside JSON). Prints a markdown report; the target is
xcomlab <= 1.5x raw. Medians of ROUNDS runs. Not a test: the numbers depend on the machine.
"""

from __future__ import annotations

import io
import os
import statistics
import sys
import time
import uuid
from types import SimpleNamespace

import numpy as np
import pandas as pd

# Airflow logs to stdout: send that to stderr, so stdout carries the report alone.
REPORT, sys.stdout = sys.stdout, sys.stderr
ROUNDS = 5
STORE = "s3://xcom_s3@xcom/bench"
TARGET_RATIO = 1.5
# Configured before Airflow reads its config; threshold 0 sends every value to the store.
os.environ.update(AIRFLOW__XCOMLAB__OBJECTSTORAGE_PATH=f"{STORE}/xcomlab", AIRFLOW__XCOMLAB__THRESHOLD="0",
                  AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_PATH=f"{STORE}/provider",
                  AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_THRESHOLD="0")

from airflow.providers.common.io.xcom.backend import XComObjectStorageBackend as ProviderBackend  # noqa: E402

from xcomlab import compat  # noqa: E402
from xcomlab.objectstorage import XComObjectStorageBackend  # noqa: E402


def frame_of_50_mb() -> pd.DataFrame:
    rng = np.random.default_rng(42)
    rows = 800_000
    return pd.DataFrame({
        **{f"value_{i}": rng.random(rows) for i in range(6)},
        "count": rng.integers(0, 1_000_000, rows),
        "city": pd.Categorical(rng.choice(["Zürich", "Oslo", "Lima", "Pune"], rows)),
        "at": pd.date_range("2026-01-01", periods=rows, freq="s", tz="UTC"),
    })


def timed(step):
    start = time.perf_counter()
    result = step()
    return time.perf_counter() - start, result


def raw_round_trip(frame: pd.DataFrame) -> tuple[float, float, int]:
    path = compat.object_storage_path(f"{STORE}/raw/{uuid.uuid4()}.parquet")
    put, _ = timed(lambda: path.write_bytes(frame.to_parquet()))
    get, back = timed(lambda: pd.read_parquet(io.BytesIO(path.read_bytes())))
    pd.testing.assert_frame_equal(back, frame)
    size = path.stat().st_size
    path.unlink()
    return put, get, size


def xcom_round_trip(backend, frame: pd.DataFrame) -> tuple[float, float, int]:
    ids = {"key": "return_value", "dag_id": "bench", "run_id": f"bench-{uuid.uuid4()}", "task_id": "push", "map_index": -1}
    put, stored = timed(lambda: backend.serialize_value(frame, **ids))
    row = SimpleNamespace(value=stored)
    get, back = timed(lambda: backend.deserialize_value(row))
    pd.testing.assert_frame_equal(back, frame)
    size = object_size(stored)
    backend.purge(row)
    return put, get, size


def object_size(stored) -> int:
    text = stored.decode() if isinstance(stored, bytes) else str(stored)
    url = text.strip('"').removeprefix("xcomlab:ref:")
    return compat.object_storage_path(url).stat().st_size


def report(*lines: str) -> None:
    print(*lines, file=REPORT)


def main() -> None:
    frame = frame_of_50_mb()
    memory_mb = frame.memory_usage(deep=True).sum() / 1e6
    ways = {"raw parquet put + get": lambda: raw_round_trip(frame),
            "xcomlab object storage": lambda: xcom_round_trip(XComObjectStorageBackend, frame),
            "common-io provider": lambda: xcom_round_trip(ProviderBackend, frame)}
    results = {name: [way() for _ in range(ROUNDS)] for name, way in ways.items()}
    medians = {name: [statistics.median(r[i] for r in runs) for i in range(3)] for name, runs in results.items()}
    raw_total = sum(medians["raw parquet put + get"][:2])
    report(f"# DataFrame XCom round trip (Airflow {compat.AIRFLOW_VERSION}, {STORE.split(':')[0]} emulator)\n")
    report(f"A {memory_mb:.0f} MB DataFrame ({len(frame):,} rows, {frame.shape[1]} columns); median of {ROUNDS} runs.\n")
    report("| way | push (s) | pull (s) | round trip (s) | object (MB) | x raw |")
    report("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, (put, get, size) in medians.items():
        report(f"| {name} | {put:.2f} | {get:.2f} | {put + get:.2f} | {size / 1e6:.1f} | {(put + get) / raw_total:.2f} |")
    ratio = sum(medians["xcomlab object storage"][:2]) / raw_total
    verdict = "meets" if ratio <= TARGET_RATIO else "MISSES"
    report(f"\nxcomlab / raw = {ratio:.2f}: {verdict} the target (<= {TARGET_RATIO}x).")
    sys.exit(0 if ratio <= TARGET_RATIO else 1)


if __name__ == "__main__":
    main()
