"""What every xcomlab backend shares: an XCom class that keeps small values in the metadata DB and writes
big ones to a store, leaving `xcomlab:ref:<url>` in the row.

- Threshold ([xcomlab] threshold, default -1): the provider's rule, inline if T < 0 or JSON size < T.
  pandas DataFrames and pyarrow Tables always go to the store, as parquet.
- Layout: <prefix>/<dag_id>/<run_id>/<task_id>/<map_index>/<key><suffix>, deterministic, so a retry or a
  clear overwrites its own object instead of leaving an orphan.
- Refused values (raw bytes, unserialisable objects, over the store's limit) fail the task before
  anything is written; a reference whose object is gone, or is not what was written, fails the pull with
  the XCom's name; a store that fails (unreachable, credentials, permission, full, throttling, no bucket)
  fails the task with the XCom, the URL, the cause and what to do (xcomlab.errors).
A store subclass says where an XCom goes (`object_location`) and how to write, read, delete, size and list
what it stores.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from airflow.utils.json import XComDecoder, XComEncoder

from xcomlab import codec, compat, errors, reference
from xcomlab.inventory import StoredObject
from xcomlab.layout import XComIds, ids_of
from xcomlab.threshold import stays_in_db

conf = compat.conf()

BaseXCom = compat.base_xcom()
SECTION = "xcomlab"


class OffloadingXComBackend(BaseXCom):
    # --- what a store implements -------------------------------------------------------------------
    @classmethod
    def object_location(cls, ids: XComIds, suffix: str) -> str:
        """The URL this XCom is stored at (what the row references)."""
        raise NotImplementedError

    @classmethod
    def write_object(cls, url: str, data: bytes) -> None:
        raise NotImplementedError

    @classmethod
    def read_object(cls, url: str) -> bytes:
        """The stored bytes; FileNotFoundError when there are none."""
        raise NotImplementedError

    @classmethod
    def delete_object(cls, url: str) -> None:
        """Remove the stored bytes; no error when they are already gone."""
        raise NotImplementedError

    @classmethod
    def object_size(cls, url: str) -> int:
        raise NotImplementedError

    @classmethod
    def list_objects(cls, root: str) -> Iterator[StoredObject]:
        """Every object under root, with its size and last change, in as few requests as the store allows
        (for the orphan audit and the cleanup)."""
        raise NotImplementedError

    @classmethod
    def refuse_if_too_big(cls, ids: XComIds, size: int) -> None:
        """Stores with a value size limit raise errors.too_big here, before anything is written."""

    @classmethod
    def missing_hint(cls, url: str) -> str:
        """What the error for a missing object adds, e.g. why this store may have lost it."""
        return ""

    # --- Airflow's XCom interface ------------------------------------------------------------------
    @classmethod
    def serialize_value(cls, value: Any, *, key=None, task_id=None, dag_id=None, run_id=None, map_index=None,
                        **kwargs):
        ids = XComIds(dag_id, run_id, task_id, -1 if map_index is None else map_index, key)
        encoded = cls._encode(ids, value)
        if encoded is None:
            stored = reference.escape(value)
        else:
            cls.refuse_if_too_big(ids, len(encoded.data))
            url = cls.object_location(ids, encoded.suffix)
            try:
                cls.write_object(url, encoded.data)
            except errors.XComRefusedError:
                raise
            except Exception as err:
                raise errors.store_failed(ids, url, "write", err) from err
            stored = reference.make(url)
        return BaseXCom.serialize_value(stored, key=key, task_id=task_id, dag_id=dag_id, run_id=run_id,
                                        map_index=map_index)

    @classmethod
    def _encode(cls, ids: XComIds, value: Any) -> codec.Encoded | None:
        """The object to write, or None when the value stays in the DB row."""
        kind = codec.tabular_kind(value)
        if kind:
            return codec.encode_tabular(value, kind)
        if isinstance(value, (bytes, bytearray, memoryview)):
            raise errors.raw_bytes(ids, bytes(value))
        try:
            text = json.dumps(value, cls=XComEncoder)
        except (TypeError, ValueError) as err:
            raise errors.unserializable(ids, value, err) from err
        if stays_in_db(len(text), conf.getint(SECTION, "threshold", fallback=-1)):
            return None
        return codec.encode_json(text, codec.check_compression(conf.get(SECTION, "compression", fallback="")))

    @classmethod
    def deserialize_value(cls, result) -> Any:
        stored = BaseXCom.deserialize_value(result)
        url = reference.url_of(stored)
        if url is None:
            return reference.unescape(stored)
        suffix = codec.suffix_of(url)
        ids = ids_of(url, suffix)
        try:
            data = cls.read_object(url)
        except FileNotFoundError:
            raise errors.missing(ids, url, cls.missing_hint(url)) from None
        except Exception as err:
            raise errors.store_failed(ids, url, "read", err) from err
        try:
            return codec.decode(data, suffix, XComDecoder)
        except Exception as err:
            raise errors.corrupt(ids, url, err) from err

    @classmethod
    def purge(cls, xcom, *args, **kwargs) -> None:
        """Delete what a row references (Airflow calls this when it deletes the row)."""
        # Airflow 3 passes the row's value parsed; 2.x's XCom.clear a row whose value its loader decoded.
        stored = xcom.value if isinstance(xcom.value, str) else BaseXCom.deserialize_value(xcom)
        url = reference.url_of(stored)
        if url is not None:
            try:
                cls.delete_object(url)
            except Exception as err:
                raise errors.store_failed(ids_of(url, codec.suffix_of(url)), url, "delete", err) from err

    def orm_deserialize_value(self) -> Any:
        """What Airflow 2.x's UI shows: the reference and the object's size, without reading the object."""
        stored = BaseXCom.deserialize_value(self)
        url = reference.url_of(stored)
        if url is None:
            return reference.unescape(stored)
        try:
            return f"{url} ({self.object_size(url)} bytes)"
        except FileNotFoundError:
            return f"{url} (missing)"
