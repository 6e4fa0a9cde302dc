"""An S3 XCom backend with a fresh object per push: a value over 1000 bytes of JSON goes to
s3://xcom/xcom/<uuid4>.json and the row keeps "s3://xcom/xcom/<uuid4>.json".

Flaw on purpose: no purge. Nothing deletes the object when Airflow deletes the row (a retry, a clear,
XCom.delete), and the next push writes a new uuid, so every retry or clear leaves an orphan in the bucket.
"""

import json
import uuid
from types import SimpleNamespace

try:  # Airflow 3
    from airflow.sdk.bases.xcom import BaseXCom
except ImportError:  # Airflow 2.x
    from airflow.models.xcom import BaseXCom

BUCKET = "xcom"
PREFIX = "s3://"
ESCAPED = "s3-xcom-str:"  # a pushed string that looks like a reference is stored with this in front
THRESHOLD = 1000


def s3():
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    return S3Hook(aws_conn_id="aws_default")


def to_json(value) -> str:
    """The value as Airflow's own DB backend stores it: 2.x's JSON text, 3.x's serde structure as JSON."""
    stored = BaseXCom.serialize_value(value)
    return stored.decode("utf-8") if isinstance(stored, bytes) else json.dumps(stored)


def from_json(text: str):
    """The inverse of to_json, by Airflow's own BaseXCom.deserialize_value."""
    stored = json.loads(text) if BaseXCom.__module__.startswith("airflow.sdk") else text.encode("utf-8")
    return BaseXCom.deserialize_value(SimpleNamespace(value=stored))


class UuidS3XComBackend(BaseXCom):
    @staticmethod
    def serialize_value(value, *, key=None, task_id=None, dag_id=None, run_id=None, map_index=None, **kwargs):
        data = to_json(value)
        if len(data) < THRESHOLD:
            if isinstance(value, str) and value.startswith((PREFIX, ESCAPED)):
                value = ESCAPED + value
            return BaseXCom.serialize_value(value)
        name = f"xcom/{uuid.uuid4()}.json"
        s3().load_string(data, key=name, bucket_name=BUCKET, replace=True)
        return BaseXCom.serialize_value(f"{PREFIX}{BUCKET}/{name}")

    @staticmethod
    def deserialize_value(result):
        value = BaseXCom.deserialize_value(result)
        if isinstance(value, str) and value.startswith(ESCAPED):
            return value[len(ESCAPED):]
        if isinstance(value, str) and value.startswith(PREFIX):
            bucket, name = value[len(PREFIX):].split("/", 1)
            return from_json(s3().read_key(key=name, bucket_name=bucket))
        return value

    # No purge(): BaseXCom.purge does nothing, so the objects outlive their rows.
