"""`make bench` part, run in the Airflow image: where a 16 MB JSON XCom's time goes, through the common-io
provider's backend and xcomlab's, on the S3 emulator. cProfile of one push (serialize_value) and one pull
(deserialize_value), grouped by phase: encode, compress, store I/O, decompress, decode. Prints Markdown.
"""

from __future__ import annotations

import cProfile
import json
import os
import pstats
import sys
import time
import uuid
from types import SimpleNamespace

REPORT, sys.stdout = sys.stdout, sys.stderr  # Airflow logs to stdout; the report goes to the real one
SIZE = 16_000_000
STORE = "s3://xcom_s3@xcom/bench"
os.environ.update(AIRFLOW__XCOMLAB__OBJECTSTORAGE_PATH=f"{STORE}/xcomlab", AIRFLOW__XCOMLAB__THRESHOLD="0",
                  AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_PATH=f"{STORE}/provider",
                  AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_THRESHOLD="0")

from airflow.providers.common.io.xcom.backend import XComObjectStorageBackend as Provider  # noqa: E402

from xcomlab.objectstorage import XComObjectStorageBackend as Xcomlab  # noqa: E402

# phase -> the (file suffix, function) entries whose cumulative time is that phase
PHASES = {
    "encode": [("json/__init__.py", "dumps")],
    "compress": [("gzip.py", "compress"), ("bz2.py", "compress"), ("lzma.py", "compress")],
    "decompress": [("gzip.py", "decompress"), ("bz2.py", "decompress"), ("lzma.py", "decompress")],
    "store I/O": [("fsspec/asyn.py", "sync")],  # every s3fs call waits here for its request
    "decode": [("json/__init__.py", "loads")],
}


def records(size: int) -> list[dict]:
    count = size // 88
    return [{"id": i, "name": f"customer-{i:06d}", "score": i / 7, "tags": ["a", "b"]} for i in range(count)]


def phases(profile: cProfile.Profile) -> dict[str, float]:
    stats = pstats.Stats(profile).stats  # (file, line, function) -> (calls, primitive, tottime, cumtime, callers)
    found = {phase: sum(entry[3] for (file, _, function), entry in stats.items()
                        if any(file.endswith(suffix) and function == name for suffix, name in names))
             for phase, names in PHASES.items()}
    return {phase: seconds for phase, seconds in found.items() if seconds}


def profiled(step):
    profile = cProfile.Profile()
    start = time.perf_counter()
    result = profile.runcall(step)
    return result, time.perf_counter() - start, phases(profile)


def one(name: str, backend) -> list[str]:
    value = records(SIZE)
    ids = {"key": "return_value", "dag_id": "bench", "run_id": f"profile-{uuid.uuid4()}", "task_id": "push",
           "map_index": -1}
    backend.purge(SimpleNamespace(value=backend.serialize_value(records(10), **ids)))  # imports, connections
    stored, push_s, push_phases = profiled(lambda: backend.serialize_value(value, **ids))
    row = SimpleNamespace(value=stored)
    back, pull_s, pull_phases = profiled(lambda: backend.deserialize_value(row))
    assert back == value, f"{name}: the pulled value differs"
    backend.purge(row)
    lines = []
    for step, total, found in (("push", push_s, push_phases), ("pull", pull_s, pull_phases)):
        parts = [f"{phase} {seconds:.2f} s ({seconds / total:.0%})" for phase, seconds in found.items()]
        other = total - sum(found.values())
        lines.append(f"| {name} | {step} | {total:.2f} | {', '.join(parts)}, other {other:.2f} s ({other / total:.0%}) |")
    return lines


def main() -> None:
    size = len(json.dumps(records(SIZE))) / 1e6
    print(f"# Where the time goes: a {size:.0f} MB JSON XCom on the S3 emulator\n", file=REPORT)
    print("One push and one pull under cProfile (which slows Python-level calls, such as the per-object hook of "
          "Airflow's XComDecoder, so the totals are higher than the matrix's).\n", file=REPORT)
    print("| backend | step | total (s) | phases |", "| --- | --- | ---: | --- |", sep="\n", file=REPORT)
    for name, backend in (("common-io provider", Provider), ("xcomlab", Xcomlab)):
        print("\n".join(one(name, backend)), file=REPORT)


if __name__ == "__main__":
    main()
