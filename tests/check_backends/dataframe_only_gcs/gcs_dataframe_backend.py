"""A GCS XCom backend for pandas pipelines, as the "pass DataFrames between tasks" tutorials write it: every
pandas DataFrame goes, as parquet (index and dtypes kept), to
gs://xcom/xcom/<dag_id>/<run_id>/<task_id>/<key>_<uuid4>.parquet and the row keeps
"gcs-df://xcom/<object name>". Every other value stays in the row, through BaseXCom.

Flaw on purpose: no purge. Nothing deletes the object when Airflow deletes the row (a retry, a clear,
XCom.delete), and the next push writes a new uuid, so every retry or clear leaves an orphan parquet file.
"""

import io
import os
import uuid

import pandas as pd
from google.auth.credentials import AnonymousCredentials
from google.cloud import storage

try:  # Airflow 3
    from airflow.sdk.bases.xcom import BaseXCom
except ImportError:  # Airflow 2.x
    from airflow.models.xcom import BaseXCom

BUCKET = "xcom"
PREFIX = "gcs-df://"
ESCAPED = "gcs-df-str:"  # a pushed string that looks like a reference is stored with this in front


def gcs():
    # Airflow's GCSHook ignores the emulator's endpoint, so build the client ourselves
    # (STORAGE_EMULATOR_HOST points at fake-gcs-server locally; unset in production).
    return storage.Client(
        project="test",
        credentials=AnonymousCredentials(),
        client_options={"api_endpoint": os.environ.get("STORAGE_EMULATOR_HOST", "https://storage.googleapis.com")},
    )


class GCSDataFrameXComBackend(BaseXCom):
    @staticmethod
    def serialize_value(value, *, key=None, task_id=None, dag_id=None, run_id=None, map_index=None, **kwargs):
        if isinstance(value, pd.DataFrame):
            buffer = io.BytesIO()
            value.to_parquet(buffer, index=True)
            name = f"xcom/{dag_id}/{run_id}/{task_id}/{key}_{uuid.uuid4()}.parquet"
            gcs().bucket(BUCKET).blob(name).upload_from_string(
                buffer.getvalue(), content_type="application/octet-stream"
            )
            return BaseXCom.serialize_value(f"{PREFIX}{BUCKET}/{name}")
        if isinstance(value, str) and value.startswith((PREFIX, ESCAPED)):
            value = ESCAPED + value
        return BaseXCom.serialize_value(value)

    @staticmethod
    def deserialize_value(result):
        value = BaseXCom.deserialize_value(result)
        if isinstance(value, str) and value.startswith(ESCAPED):
            return value[len(ESCAPED):]
        if isinstance(value, str) and value.startswith(PREFIX):
            bucket, name = value[len(PREFIX):].split("/", 1)
            data = gcs().bucket(bucket).blob(name).download_as_bytes()
            return pd.read_parquet(io.BytesIO(data))
        return value

    # No purge(): BaseXCom.purge does nothing, so the parquet objects outlive their rows.
