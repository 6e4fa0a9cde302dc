"""An S3 XCom backend as the tutorials write it, with the connection id they tell you to create:
`S3Hook(aws_conn_id="s3_xcom_backend_conn")`. A value whose JSON is 1000 bytes or more goes to
s3://xcom/xcom/<dag_id>/<run_id>/<task_id>/<map_index>/<key>.json and the row keeps {"__s3_xcom__": <key>};
purge() deletes the object with its row.

No flaw on purpose, but its connection id is its own: nothing in the sandbox defines s3_xcom_backend_conn.
`make check` finds the id in this code (the aws_conn_id argument of S3Hook) and points it at the S3 emulator,
with no CONNECTIONS= and no BACKEND_ENV.
"""

import json
from types import SimpleNamespace

try:  # Airflow 3
    from airflow.sdk.bases.xcom import BaseXCom
except ImportError:  # Airflow 2.x
    from airflow.models.xcom import BaseXCom

BUCKET = "xcom"
REF = "__s3_xcom__"
ESCAPED = "__s3_xcom_escaped__"  # a pushed dict that uses one of our keys is stored wrapped in this
THRESHOLD = 1000


def s3():
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    return S3Hook(aws_conn_id="s3_xcom_backend_conn")


def to_json(value) -> str:
    """The value as Airflow's own DB backend stores it: 2.x's JSON text, 3.x's serde structure as JSON."""
    stored = BaseXCom.serialize_value(value)
    return stored.decode("utf-8") if isinstance(stored, bytes) else json.dumps(stored)


def from_json(text: str):
    stored = json.loads(text) if BaseXCom.__module__.startswith("airflow.sdk") else text.encode("utf-8")
    return BaseXCom.deserialize_value(SimpleNamespace(value=stored))


def reference(stored):
    if isinstance(stored, dict) and len(stored) == 1 and isinstance(stored.get(REF), str):
        return stored[REF]
    return None


class S3XComBackend(BaseXCom):
    @staticmethod
    def serialize_value(value, *, key=None, task_id=None, dag_id=None, run_id=None, map_index=None, **kwargs):
        data = to_json(value)
        if len(data) < THRESHOLD:
            if isinstance(value, dict) and (REF in value or ESCAPED in value):
                value = {ESCAPED: value}
            return BaseXCom.serialize_value(value)
        name = f"xcom/{dag_id}/{run_id}/{task_id}/{map_index}/{key}.json"
        s3().load_string(data, key=name, bucket_name=BUCKET, replace=True)
        return BaseXCom.serialize_value({REF: name})

    @staticmethod
    def deserialize_value(result):
        stored = BaseXCom.deserialize_value(result)
        name = reference(stored)
        if name is not None:
            return from_json(s3().read_key(key=name, bucket_name=BUCKET))  # a missing object raises
        if isinstance(stored, dict) and len(stored) == 1 and ESCAPED in stored:
            return stored[ESCAPED]
        return stored

    @staticmethod
    def purge(xcom, *args, **kwargs):
        name = reference(xcom.value)
        if name is not None:
            s3().delete_objects(bucket=BUCKET, keys=[name])
