"""An Airflow 2-era S3 XCom backend as company code kept it since 2022: values over 1000 bytes of JSON are
written to a temporary file, uploaded with S3Hook.load_file to s3://xcom/xcom/<uuid>.json, and the row keeps
"s3://xcom/xcom/<uuid>.json"; smaller ones stay in the row as JSON text.

Flaws on purpose, stacked: on Airflow 3 each one hides behind the one before it.
1. the one-argument `serialize_value(value)` (Airflow 3 calls it with key=, task_id=, ...);
2. `conf.getboolean("core", "enable_xcom_pickling")` without a fallback (the option is gone in Airflow 3);
3. its own `json.dumps(value, default=str)`: datetimes come back as strings, tuples as lists;
4. the temporary file is never removed: every big XCom leaves its data on the worker's disk.
"""

import json
import tempfile
import uuid

from airflow.configuration import conf

try:  # Airflow 3
    from airflow.sdk.bases.xcom import BaseXCom
except ImportError:  # Airflow 2.x
    from airflow.models.xcom import BaseXCom

BUCKET = "xcom"
PREFIX = "s3://"
THRESHOLD = 1000


def s3():
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    return S3Hook(aws_conn_id="aws_default")


class LegacyS3XComBackend(BaseXCom):
    @staticmethod
    def serialize_value(value):
        if conf.getboolean("core", "enable_xcom_pickling"):
            raise ValueError("LegacyS3XComBackend stores JSON: turn enable_xcom_pickling off")
        data = json.dumps(value, default=str)
        if len(data) >= THRESHOLD:
            with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
                f.write(data)
            key = f"xcom/{uuid.uuid4()}.json"
            s3().load_file(filename=f.name, key=key, bucket_name=BUCKET, replace=True)
            data = json.dumps(f"{PREFIX}{BUCKET}/{key}")
        return BaseXCom.serialize_value(data)

    @staticmethod
    def deserialize_value(result):
        data = BaseXCom.deserialize_value(result)
        value = json.loads(data)
        if isinstance(value, str) and value.startswith(PREFIX + BUCKET + "/"):
            bucket, key = value[len(PREFIX):].split("/", 1)
            return json.loads(s3().read_key(key=key, bucket_name=bucket))
        return value
