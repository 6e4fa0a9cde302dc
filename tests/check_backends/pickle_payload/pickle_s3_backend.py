"""An S3 XCom backend that pickles: every value over ~1 KB (of JSON) is written as pickle.dumps(value) to
s3://xcom/xcom/<dag_id>/<run_id>/<task_id>/<map_index>/<key>.pkl (one object per XCom: a retry overwrites it).

Flaw on purpose: pickle. Anyone who can write to the bucket runs code on every worker that pulls the XCom.
"""

import json
import pickle

try:  # Airflow 3
    from airflow.sdk.bases.xcom import BaseXCom
except ImportError:  # Airflow 2.x
    from airflow.models.xcom import BaseXCom

BUCKET = "xcom"
PREFIX = "s3://"
ESCAPED = "s3-xcom-str:"  # a pushed string that looks like a reference is stored with this in front
THRESHOLD = 1000  # bytes of JSON (str() for whatever JSON cannot take)


def s3():
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    return S3Hook(aws_conn_id="aws_default")


class PickleS3XComBackend(BaseXCom):
    @staticmethod
    def serialize_value(value, *, key=None, task_id=None, dag_id=None, run_id=None, map_index=None, **kwargs):
        if len(json.dumps(value, default=str)) < THRESHOLD:
            if isinstance(value, str) and value.startswith((PREFIX, ESCAPED)):
                value = ESCAPED + value
            return BaseXCom.serialize_value(value)
        name = f"xcom/{dag_id}/{run_id}/{task_id}/{map_index}/{key}.pkl"
        s3().load_bytes(pickle.dumps(value), key=name, bucket_name=BUCKET, replace=True)
        return BaseXCom.serialize_value(f"{PREFIX}{BUCKET}/{name}")

    @staticmethod
    def deserialize_value(result):
        value = BaseXCom.deserialize_value(result)
        if isinstance(value, str) and value.startswith(ESCAPED):
            return value[len(ESCAPED):]
        if isinstance(value, str) and value.startswith(PREFIX):
            bucket, name = value[len(PREFIX):].split("/", 1)
            return pickle.loads(s3().get_key(name, bucket).get()["Body"].read())
        return value

    @staticmethod
    def purge(xcom, *args, **kwargs):
        value = xcom.value
        if isinstance(value, str) and value.startswith(PREFIX):
            bucket, name = value[len(PREFIX):].split("/", 1)
            s3().delete_objects(bucket=bucket, keys=[name])
