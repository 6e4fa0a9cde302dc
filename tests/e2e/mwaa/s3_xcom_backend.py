"""A small custom S3 XCom backend, as MWAA users write them: every value is a JSON object in S3
(s3://xcom/mwaa-custom/<dag_id>/<run_id>/<task_id>/<key>.json) and the DB row holds its reference.

The e2e deploys this module to include/, dags/ or plugins/ of an MWAA bucket to show where MWAA can load it.
The hook is imported where it is used: on Airflow 2.10 a module-level S3Hook import re-enters
airflow.models.xcom while Airflow loads the backend (a circular import that crashes every component).
"""

import json

try:  # Airflow 3
    from airflow.sdk.bases.xcom import BaseXCom
except ImportError:  # Airflow 2.x
    from airflow.models.xcom import BaseXCom

BUCKET = "xcom"
REFERENCE = "s3-xcom://"


def s3():
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    return S3Hook(aws_conn_id="xcom_s3")


class S3XComBackend(BaseXCom):
    @staticmethod
    def serialize_value(value, *, key=None, task_id=None, dag_id=None, run_id=None, map_index=None):
        name = f"mwaa-custom/{dag_id}/{run_id}/{task_id}/{key}.json"
        s3().load_string(json.dumps(value), name, BUCKET, replace=True)
        return BaseXCom.serialize_value(REFERENCE + name)

    @staticmethod
    def deserialize_value(result):
        reference = BaseXCom.deserialize_value(result)
        if isinstance(reference, str) and reference.startswith(REFERENCE):
            name = reference[len(REFERENCE):]
            return json.loads(s3().read_key(name, BUCKET))
        return reference
