"""An S3 XCom backend on the `minio` client, as teams running MinIO on-premises write it: values over 1000 bytes
of JSON go to xcom/<dag_id>/<run_id>/<task_id>/<map_index>/<key>.json in the bucket `xcom`, and the row keeps
"minio://xcom/<that key>". Endpoint and keys come from the environment (MINIO_ENDPOINT, MINIO_ACCESS_KEY,
MINIO_SECRET_KEY: its env file points them at the sandbox's S3 emulator).

Correct, but `minio` is not in the Airflow image: it loads only when its requirements.txt is installed
(`make check ... REQUIREMENTS=requirements.txt`), as MWAA installs requirements.txt.
"""

import io
import json
import os
from types import SimpleNamespace

from minio import Minio

try:  # Airflow 3
    from airflow.sdk.bases.xcom import BaseXCom
except ImportError:  # Airflow 2.x
    from airflow.models.xcom import BaseXCom

BUCKET = "xcom"
PREFIX = "minio://"
ESCAPED = "minio-xcom-str:"  # a pushed string that looks like a reference is stored with this in front
THRESHOLD = 1000


def client() -> Minio:
    return Minio(os.environ["MINIO_ENDPOINT"], access_key=os.environ["MINIO_ACCESS_KEY"],
                 secret_key=os.environ["MINIO_SECRET_KEY"], secure=False)


def to_json(value) -> str:
    stored = BaseXCom.serialize_value(value)
    return stored.decode("utf-8") if isinstance(stored, bytes) else json.dumps(stored)


def from_json(text: str):
    stored = json.loads(text) if BaseXCom.__module__.startswith("airflow.sdk") else text.encode("utf-8")
    return BaseXCom.deserialize_value(SimpleNamespace(value=stored))


class MinioXComBackend(BaseXCom):
    @staticmethod
    def serialize_value(value, *, key=None, task_id=None, dag_id=None, run_id=None, map_index=None, **kwargs):
        data = to_json(value)
        if len(data) < THRESHOLD:
            if isinstance(value, str) and value.startswith((PREFIX, ESCAPED)):
                value = ESCAPED + value
            return BaseXCom.serialize_value(value)
        name = f"xcom/{dag_id}/{run_id}/{task_id}/{map_index}/{key}.json"
        body = data.encode("utf-8")
        client().put_object(BUCKET, name, io.BytesIO(body), len(body), content_type="application/json")
        return BaseXCom.serialize_value(f"{PREFIX}{BUCKET}/{name}")

    @staticmethod
    def deserialize_value(result):
        value = BaseXCom.deserialize_value(result)
        if isinstance(value, str) and value.startswith(ESCAPED):
            return value[len(ESCAPED):]
        if isinstance(value, str) and value.startswith(PREFIX):
            bucket, name = value[len(PREFIX):].split("/", 1)
            response = client().get_object(bucket, name)
            try:
                return from_json(response.read().decode("utf-8"))
            finally:
                response.close()
                response.release_conn()
        return value

    @staticmethod
    def purge(xcom, *args, **kwargs):
        value = xcom.value
        if isinstance(value, str) and value.startswith(PREFIX):
            bucket, name = value[len(PREFIX):].split("/", 1)
            client().remove_object(bucket, name)
