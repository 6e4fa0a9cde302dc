"""The blog-post S3 XCom backend that goes through local files: a value over 1000 bytes of JSON is written
to data_<uuid>.json, uploaded with S3Hook.load_file to
s3://xcom/xcom/<dag_id>/<run_id>/<task_id>/<map_index>/<key>.json, and pulled back with S3Hook.download_file.

Flaw on purpose: temp files. The data_*.json files (in the working directory) and the /tmp/airflow_tmp_*
downloads are never removed, so every big XCom leaves its data on the worker's disk, twice.
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


class FileS3XComBackend(BaseXCom):
    @staticmethod
    def serialize_value(value, *, key=None, task_id=None, dag_id=None, run_id=None, map_index=None, **kwargs):
        data = to_json(value)
        if len(data) < THRESHOLD:
            if isinstance(value, str) and value.startswith((PREFIX, ESCAPED)):
                value = ESCAPED + value
            return BaseXCom.serialize_value(value)
        filename = f"data_{uuid.uuid4()}.json"
        with open(filename, "w") as f:
            f.write(data)
        name = f"xcom/{dag_id}/{run_id}/{task_id}/{map_index}/{key}.json"
        s3().load_file(filename=filename, key=name, bucket_name=BUCKET, replace=True)
        return BaseXCom.serialize_value(f"{PREFIX}{BUCKET}/{name}")

    @staticmethod
    def deserialize_value(result):
        value = BaseXCom.deserialize_value(result)
        if isinstance(value, str) and value.startswith(ESCAPED):
            return value[len(ESCAPED):]
        if isinstance(value, str) and value.startswith(PREFIX):
            bucket, name = value[len(PREFIX):].split("/", 1)
            filename = s3().download_file(key=name, bucket_name=bucket)
            with open(filename) as f:
                return from_json(f.read())
        return value

    @staticmethod
    def purge(xcom, *args, **kwargs):
        value = xcom.value
        if isinstance(value, str) and value.startswith(PREFIX):
            bucket, name = value[len(PREFIX):].split("/", 1)
            s3().delete_objects(bucket=bucket, keys=[name])
