"""xcomlab's object-storage XCom backend, for any ObjectStoragePath (s3, gs, abfs, file).

- Values whose JSON is at least `[xcomlab] threshold` bytes (the provider's rule: inline if T < 0 or size
  < T) are written to `<objectstorage_path>/<dag_id>/<run_id>/<task_id>/<map_index>/<key>.json[.gz|...]`
  and the DB row holds `xcomlab:ref:<url>`; smaller ones stay in the row, exactly as pushed ("123" stays a
  string on both majors).
- pandas DataFrames and pyarrow Tables are written as real `.parquet` objects (pandas.read_parquet opens
  them) and come back with dtypes and index intact. No pickle anywhere.
- The path is deterministic, so a retry overwrites its own object instead of leaving an orphan.
Configuration: AIRFLOW__XCOMLAB__OBJECTSTORAGE_PATH, AIRFLOW__XCOMLAB__THRESHOLD (default -1: all in the
DB), AIRFLOW__XCOMLAB__COMPRESSION (gzip, bz2, lzma; default none).
"""

from __future__ import annotations

import json
from typing import Any

from airflow.providers.common.compat.sdk import conf
from airflow.utils.json import XComDecoder, XComEncoder

from xcomlab import compat, layout, reference
from xcomlab.threshold import stays_in_db

BaseXCom = compat.base_xcom()
SECTION = "xcomlab"
SUFFIXES = {"gzip": ".gz", "bz2": ".bz2", "lzma": ".xz"}
PARQUET = ".parquet"
ARROW = ".arrow.parquet"


def _kind(value: Any) -> str | None:
    """'pandas' or 'arrow' for the tabular types stored as parquet; found without importing either."""
    cls = type(value)
    if cls.__name__ == "DataFrame" and cls.__module__.startswith("pandas"):
        return "pandas"
    if cls.__name__ == "Table" and cls.__module__.startswith("pyarrow"):
        return "arrow"
    return None


def _compression() -> str | None:
    codec = conf.get(SECTION, "compression", fallback="") or None
    if codec and codec not in SUFFIXES:
        raise ValueError(f"[xcomlab] compression = {codec!r} is not supported: use one of {', '.join(SUFFIXES)}")
    return codec


class XComObjectStorageBackend(BaseXCom):
    @staticmethod
    def serialize_value(value: Any, *, key=None, task_id=None, dag_id=None, run_id=None, map_index=None, **kwargs):
        ids = {"key": key, "task_id": task_id, "dag_id": dag_id, "run_id": run_id, "map_index": map_index}
        kind, compression = _kind(value), None
        if kind == "pandas":
            suffix, write = PARQUET, value.to_parquet
        elif kind == "arrow":
            import pyarrow.parquet as pq

            suffix, write = ARROW, lambda f: pq.write_table(value, f)
        else:
            data = json.dumps(value, cls=XComEncoder)
            if stays_in_db(len(data), conf.getint(SECTION, "threshold", fallback=-1)):
                return BaseXCom.serialize_value(reference.escape(value), **ids)
            compression = _compression()
            suffix, write = ".json" + SUFFIXES.get(compression, ""), lambda f: f.write(data.encode("utf-8"))
        path = XComObjectStorageBackend._path(dag_id, run_id, task_id, map_index, key, suffix)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb", compression=compression) as f:
            write(f)
        return BaseXCom.serialize_value(reference.make(str(path)), **ids)

    @staticmethod
    def _path(dag_id, run_id, task_id, map_index, key, suffix):
        base = conf.get(SECTION, "objectstorage_path")
        url = layout.object_path(base, dag_id=dag_id, run_id=run_id, task_id=task_id,
                                 map_index=-1 if map_index is None else map_index, key=key, suffix=suffix)
        return compat.object_storage_path(url)

    @staticmethod
    def deserialize_value(result) -> Any:
        stored = BaseXCom.deserialize_value(result)
        url = reference.url_of(stored)
        if url is None:
            return reference.unescape(stored)
        return _read(url)

    @staticmethod
    def purge(xcom, *args, **kwargs) -> None:
        """Delete the object a row references (Airflow calls this when it deletes the row)."""
        url = reference.url_of(BaseXCom.deserialize_value(xcom))
        if url is not None:
            compat.object_storage_path(url).unlink(missing_ok=True)

    def orm_deserialize_value(self) -> Any:
        """What Airflow 2.x's UI shows: the reference and the object's size, without reading the object."""
        stored = BaseXCom.deserialize_value(self)
        url = reference.url_of(stored)
        if url is None:
            return reference.unescape(stored)
        return f"{url} ({compat.object_storage_path(url).stat().st_size} bytes)"


def _read(url: str) -> Any:
    path = compat.object_storage_path(url)
    if url.endswith(ARROW):
        import pyarrow.parquet as pq

        with path.open("rb") as f:
            return pq.read_table(f)
    if url.endswith(PARQUET):
        import pandas

        with path.open("rb") as f:
            return pandas.read_parquet(f)
    with path.open("rb", compression="infer") as f:
        return json.loads(f.read().decode("utf-8"), cls=XComDecoder)
