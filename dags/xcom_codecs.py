"""Every compression codec: one task per codec pushes the same big value compressed with it, `check` pulls
them all back and fails the run unless each equals what was pushed.

Compression is a setting ([xcomlab] compression, [common.io] xcom_objectstorage_compression). Each push task
sets it for its own process, as AIRFLOW__... variables in that worker's environment would, so one stack
exercises every codec; the object's suffix says which codec wrote it (.json.gz, .json.bz2, .json.xz).
"""

from __future__ import annotations

import os

import pendulum

try:  # Airflow 3
    from airflow.sdk import dag, task
except ImportError:  # Airflow 2.x
    from airflow.decorators import dag, task

CODECS = ("gzip", "bz2", "lzma")
VALUE = {"codec test": ["Zürich", "Pune", "x" * 2000]}


@dag(schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), catchup=False, tags=["xcom-lab"])
def xcom_codecs():
    @task
    def push(codec: str):
        os.environ["AIRFLOW__XCOMLAB__COMPRESSION"] = codec
        os.environ["AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_COMPRESSION"] = codec
        return VALUE

    @task
    def check(values: list):
        changed = [codec for codec, value in zip(CODECS, values) if value != VALUE]
        if changed:
            raise ValueError(f"values compressed with {', '.join(changed)} came back different: "
                             f"{[str(v)[:80] for v in values]}")
        print(f"{', '.join(CODECS)}: every value came back equal")

    check(push.expand(codec=list(CODECS)))


xcom_codecs()
