"""An S3 XCom backend that marks references with a bare prefix: a value over 1000 bytes of JSON goes to
s3://xcom/xcom/<dag_id>/<run_id>/<task_id>/<map_index>/<key>.json and the row keeps "S3XCOM" + that key.

Flaw on purpose: the reference is "S3XCOM" glued to the key, with no separator and no escaping, and any
pulled string starting with "S3XCOM" is taken for one: a task's own string that looks like a reference is
fetched from S3 (or fails the pull) instead of coming back as pushed.
"""

import json
from types import SimpleNamespace

try:  # Airflow 3
    from airflow.sdk.bases.xcom import BaseXCom
except ImportError:  # Airflow 2.x
    from airflow.models.xcom import BaseXCom

BUCKET = "xcom"
PREFIX = "S3XCOM"
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


class S3XComBackend(BaseXCom):
    @staticmethod
    def serialize_value(value, *, key=None, task_id=None, dag_id=None, run_id=None, map_index=None, **kwargs):
        data = to_json(value)
        if len(data) < THRESHOLD:
            return BaseXCom.serialize_value(value)
        name = f"xcom/{dag_id}/{run_id}/{task_id}/{map_index}/{key}.json"
        s3().load_string(data, key=name, bucket_name=BUCKET, replace=True)
        return BaseXCom.serialize_value(PREFIX + name)

    @staticmethod
    def deserialize_value(result):
        value = BaseXCom.deserialize_value(result)
        if isinstance(value, str) and value.startswith(PREFIX):
            return from_json(s3().read_key(key=value[len(PREFIX):], bucket_name=BUCKET))
        return value

    @staticmethod
    def purge(xcom, *args, **kwargs):
        value = xcom.value
        if isinstance(value, str) and value.startswith(PREFIX):
            s3().delete_objects(bucket=BUCKET, keys=[value[len(PREFIX):]])
