"""An S3 XCom backend that keeps the bare object key in the row: a value over 1000 bytes of JSON goes to
s3://xcom/xcom_data/<uuid4>.json and the row keeps "xcom_data/<uuid4>.json", nothing more; purge() deletes
the object with its row.

Flaw on purpose: no marker. The pull cannot tell a reference from a string the task pushed, so it takes
every string for an object key: a small string kept in the row ("plain text", "123") is looked up in the
bucket and the pull fails with botocore's 404 (Not Found / NoSuchKey).
"""

import json
import uuid
from types import SimpleNamespace

try:  # Airflow 3
    from airflow.sdk.bases.xcom import BaseXCom
except ImportError:  # Airflow 2.x
    from airflow.models.xcom import BaseXCom

BUCKET = "xcom"
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


class BareKeyS3XComBackend(BaseXCom):
    @staticmethod
    def serialize_value(value, *, key=None, task_id=None, dag_id=None, run_id=None, map_index=None, **kwargs):
        data = to_json(value)
        if len(data) < THRESHOLD:
            return BaseXCom.serialize_value(value)
        name = f"xcom_data/{uuid.uuid4()}.json"
        s3().load_string(data, key=name, bucket_name=BUCKET, replace=True)
        return BaseXCom.serialize_value(name)

    @staticmethod
    def deserialize_value(result):
        value = BaseXCom.deserialize_value(result)
        if isinstance(value, str):  # a string in the row is the object's key
            return from_json(s3().read_key(key=value, bucket_name=BUCKET))
        return value

    @staticmethod
    def purge(xcom, *args, **kwargs):
        if isinstance(xcom.value, str):
            s3().delete_objects(bucket=BUCKET, keys=[xcom.value])
