"""Acme's S3 XCom backend, for Airflow 2.10+ and 3.x. The correct one, with no flaw on purpose.

- A value whose JSON is under ACME_XCOM_THRESHOLD bytes (default 1000) stays in the metadata DB row.
- A bigger one goes to s3://<ACME_XCOM_BUCKET>/acme/<dag_id>/<run_id>/<task_id>/<map_index>/<key>.json,
  encoded by Airflow's own BaseXCom.serialize_value (every type comes back as the DB backend returns it);
  a pandas DataFrame always goes there as <key>.parquet (index and dtypes kept). Deterministic: a retry or
  a clear overwrites its own object.
- The row then holds {"__acme_ref__": "s3://..."}; a pushed dict that uses one of our keys is stored
  wrapped ({"__acme_escaped__": value}), so no pushed value is ever taken for a reference.
- purge() deletes the object with its row; a pull whose object is gone fails, naming the XCom.
"""

from __future__ import annotations

import io
import json
import os
import sys
from types import SimpleNamespace
from typing import Any

try:  # Airflow 3
    from airflow.sdk.bases.xcom import BaseXCom
except ImportError:  # Airflow 2.10+
    from airflow.models.xcom import BaseXCom

REF = "__acme_ref__"
ESCAPED = "__acme_escaped__"
FOLDER = "acme"


def _encode(value: Any) -> bytes:
    """Airflow's own encoding of the value: 3.x's serde structure as JSON, 2.x's JSON bytes."""
    serialized = BaseXCom.serialize_value(value)
    return serialized if isinstance(serialized, bytes) else json.dumps(serialized).encode("utf-8")


def _decode(data: bytes) -> Any:
    """The inverse of _encode, by Airflow's own BaseXCom.deserialize_value (2.x reads bytes, 3.x JSON)."""
    stored = json.loads(data) if BaseXCom.__module__.startswith("airflow.sdk") else data
    return BaseXCom.deserialize_value(SimpleNamespace(value=stored))


class AcmeXComMissingError(FileNotFoundError):
    """The row references an S3 object that no longer exists."""


def _bucket() -> str:
    return os.environ.get("ACME_XCOM_BUCKET", "xcom")


def _threshold() -> int:
    return int(os.environ.get("ACME_XCOM_THRESHOLD", "1000"))


def _s3():
    # Imported here, not at module level: Airflow 2.10 loads this module while airflow.models.xcom is
    # half-imported, and the hook's imports would re-enter it.
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    return S3Hook(aws_conn_id=os.environ.get("ACME_XCOM_AWS_CONN_ID", "aws_default")).get_conn()


def _name(dag_id, run_id, task_id, map_index, key) -> str:
    return f"{FOLDER}/{dag_id}/{run_id}/{task_id}/{-1 if map_index is None else map_index}/{key}"


def _is_dataframe(value: Any) -> bool:
    pandas = sys.modules.get("pandas")  # a DataFrame means pandas is imported already
    return pandas is not None and isinstance(value, pandas.DataFrame)


def _url_of(stored: Any) -> str | None:
    """The object a stored row value references, or None for a value kept in the row."""
    if isinstance(stored, dict) and len(stored) == 1 and isinstance(stored.get(REF), str):
        return stored[REF]
    return None


def _escape(value: Any) -> Any:
    if isinstance(value, dict) and (REF in value or ESCAPED in value):
        return {ESCAPED: value}
    return value


def _unescape(stored: Any) -> Any:
    if isinstance(stored, dict) and len(stored) == 1 and ESCAPED in stored:
        return stored[ESCAPED]
    return stored


def _split(url: str) -> tuple[str, str]:
    bucket, _, name = url.removeprefix("s3://").partition("/")
    return bucket, name


def _missing(url: str) -> AcmeXComMissingError:
    bucket, name = _split(url)
    parts = name.split("/", 5)  # acme/<dag_id>/<run_id>/<task_id>/<map_index>/<key>.<suffix>
    if len(parts) == 6:
        _, dag_id, run_id, task_id, map_index, key = parts
        what = (f"XCom {key.rsplit('.', 1)[0]!r} of task {task_id!r} (dag {dag_id!r}, run {run_id!r}, "
                f"map_index {map_index})")
        todo = f"Clear task {task_id!r} in run {run_id!r} so that it pushes the value again."
    else:
        what, todo = "An XCom", "Clear the task that pushed it so that it pushes the value again."
    return AcmeXComMissingError(
        f"{what} references {url}, but bucket {bucket!r} has no object {name!r} (deleted outside Airflow, "
        f"e.g. by hand or by a lifecycle rule). {todo}")


class AcmeS3XComBackend(BaseXCom):
    @classmethod
    def serialize_value(cls, value: Any, *, key=None, task_id=None, dag_id=None, run_id=None, map_index=None,
                        **kwargs):
        name = _name(dag_id, run_id, task_id, map_index, key)
        if _is_dataframe(value):
            buffer = io.BytesIO()
            value.to_parquet(buffer)
            stored = {REF: cls._write(name + ".parquet", buffer.getvalue())}
        else:
            data = _encode(value)
            if len(data) < _threshold():
                stored = _escape(value)
            else:
                stored = {REF: cls._write(name + ".json", data)}
        return BaseXCom.serialize_value(stored)

    @classmethod
    def deserialize_value(cls, result) -> Any:
        stored = BaseXCom.deserialize_value(result)
        url = _url_of(stored)
        if url is None:
            return _unescape(stored)
        data = cls._read(url)
        if url.endswith(".parquet"):
            import pandas

            return pandas.read_parquet(io.BytesIO(data))
        return _decode(data)

    @classmethod
    def purge(cls, xcom, *args, **kwargs) -> None:
        """Delete the object a row references; Airflow calls this when it deletes the row."""
        if isinstance(xcom, cls):
            # A 2.x row loaded as this class: .value is what orm_deserialize_value shows, the URL for a
            # reference. Only this XCom's own object is deleted, never one a pushed string merely names.
            own = _name(xcom.dag_id, xcom.run_id, xcom.task_id, xcom.map_index, xcom.key)
            shown = xcom.value if isinstance(xcom.value, str) else None
            url = shown if shown in (cls._url(own + ".json"), cls._url(own + ".parquet")) else None
        else:
            # The stored value itself: 3.x passes it parsed, 2.x's XCom.clear a BaseXCom row that decoded it.
            url = _url_of(xcom.value)
        if url is not None:
            bucket, name = _split(url)
            _s3().delete_object(Bucket=bucket, Key=name)

    def orm_deserialize_value(self) -> Any:
        """What Airflow 2.x's UI shows: the object's URL for a reference (without reading it), else the value."""
        stored = BaseXCom.orm_deserialize_value(self)
        url = _url_of(stored)
        return url if url is not None else _unescape(stored)

    # --- S3 ----------------------------------------------------------------------------------------
    @staticmethod
    def _url(name: str) -> str:
        return f"s3://{_bucket()}/{name}"

    @classmethod
    def _write(cls, name: str, data: bytes) -> str:
        _s3().put_object(Bucket=_bucket(), Key=name, Body=data)
        return cls._url(name)

    @staticmethod
    def _read(url: str) -> bytes:
        from botocore.exceptions import ClientError

        bucket, name = _split(url)
        try:
            return _s3().get_object(Bucket=bucket, Key=name)["Body"].read()
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
                raise _missing(url) from None
            raise
