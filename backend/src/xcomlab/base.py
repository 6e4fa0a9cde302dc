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
- A row is untrusted (Airflow 3's REST API and UI, or SQL, write rows without the backend). Its reference is
  followed only when it is an XCom's own path (layout.ids_under: no `..`, encoded dot, `//`, other bucket,
  connection or scheme) inside this class's root or an xcomlab store of `[xcomlab] stores`, and, on file://,
  when its real path (symlinks resolved) stays inside the root's; the class whose root holds it reads and
  deletes it. Otherwise the pull fails (errors.outside_root) and purge deletes nothing and logs why.
- Rows are JSON on both majors (compat.encode_row, compat.decode_row): never pickled, never unpickled, even
  with Airflow 2's `[core] enable_xcom_pickling = True`; a row that is not JSON fails the pull.
A store subclass says where an XCom goes (`object_location`, from which `root` follows) and how to write,
read, delete, size and list what it stores.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from typing import Any

from airflow.utils.json import XComDecoder, XComEncoder

from xcomlab import codec, compat, errors, reference
from xcomlab.stores import SECTION, Option, StoredObject, configured_stores, store_class
from xcomlab.layout import XComIds, ids_under
from xcomlab.threshold import stays_in_db

conf = compat.conf()
log = logging.getLogger(__name__)

BaseXCom = compat.base_xcom()
FILE = "file://"
PROBE = XComIds("dag", "run", "task", -1, "key")  # any XCom: root() finds the folder above the layout with it


class OffloadingXComBackend(BaseXCom):
    # --- what a store declares (xcomlab.stores reads it) -------------------------------------------------
    SCHEMES: tuple[str, ...] = ()  # the URL schemes its references use; stores.ANY: every other one
    FAMILY = ""  # its name in the cleanup DAG's `backends` parameter
    OPTIONS = (Option("threshold", "integer"), Option("compression", "string"))  # its [xcomlab] options
    NAMES_WRITER = False  # its references name the host that wrote them (file://<host>/<path>), read by path alone

    @classmethod
    def configured_root(cls) -> str:
        """The store its current [xcomlab] settings name, "" when they name none."""
        return ""

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
    def stat_object(cls, url: str) -> StoredObject:
        """The object's size and last change as the store reports them now (no cached listing); FileNotFoundError
        when there is none. The lifecycle tools ask it right before deleting."""
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
        return compat.encode_row(stored, key=key, task_id=task_id, dag_id=dag_id, run_id=run_id, map_index=map_index)

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
        stored = _stored(result)
        url = reference.url_of(stored)
        if url is None:
            return reference.unescape(stored)
        store, ids, suffix = cls._locate(result, url)
        try:
            data = store.read_object(url)
        except FileNotFoundError:
            raise errors.missing(ids, url, store.missing_hint(url)) from None
        except Exception as err:
            raise errors.store_failed(ids, url, "read", err) from err
        try:
            return codec.decode(data, suffix, XComDecoder)
        except Exception as err:
            raise errors.corrupt(ids, url, err) from err

    @classmethod
    def purge(cls, xcom, *args, **kwargs) -> None:
        """Delete what a row references (Airflow calls this when it deletes the row). A row that is not JSON
        or references something outside every root deletes nothing and is logged: Airflow still deletes it."""
        # Airflow 3 passes the row's value parsed, 2.x's XCom.clear a row its loader decoded; bytes are a 2.x
        # value column as stored.
        try:
            stored = _stored(xcom) if isinstance(xcom.value, (bytes, bytearray, memoryview)) else xcom.value
            url = reference.url_of(stored)
            if url is None:
                return
            store, ids, _ = cls._locate(xcom, url, "delete")
        except (errors.XComRowError, errors.XComOutsideRootError) as err:
            log.warning("%s", err)
            return
        try:
            store.delete_object(url)
        except Exception as err:
            raise errors.store_failed(ids, url, "delete", err) from err

    def orm_deserialize_value(self) -> Any:
        """What Airflow 2.x's UI shows: the reference and the object's size, without reading the object. Never
        an error: one row that cannot be shown must not break the UI's XCom list."""
        try:
            stored = _stored(self, orm=True)
        except errors.XComRowError:
            return "(not JSON: xcomlab never unpickles a row)"
        except Exception as err:
            return f"(row not shown: {type(err).__name__})"
        url = reference.url_of(stored)
        if url is None:
            return reference.unescape(stored)
        try:
            store = self._locate(self, url)[0]
            return f"{url} ({store.object_size(url)} bytes)"
        except errors.XComOutsideRootError:
            return f"{url} (outside this backend's root: not read)"
        except FileNotFoundError:
            return f"{url} (missing)"
        except Exception as err:
            return f"{url} (store error: {type(err).__name__})"

    # --- where a row's reference may point ---------------------------------------------------------------
    @classmethod
    def root(cls) -> str:
        """The store root this class writes under: object_location's folder above the layout."""
        url, tail = cls.object_location(PROBE, codec.JSON), PROBE.path("", codec.JSON)
        if not url.endswith(tail):
            raise ValueError(f"{cls.__name__}.object_location({PROBE}) is {url}, not in xcomlab's layout "
                             f"(<root>{tail}): override root() to say where this class stores")
        return url[:-len(tail)]

    @classmethod
    def roots(cls) -> Iterator[tuple[str, type]]:
        """Where a row's reference may point, each root with the class that handles it: this class's own root
        (so a subclass keeps its overrides), then each xcomlab store of [xcomlab] stores (rows from before a
        backend switch stay readable, by the class that wrote them). A localfs root without its host."""
        yield _for(cls.root(), cls)
        for store in configured_stores():
            if store.kind == "xcomlab":
                yield _for(store.root, store_class(store.root))

    @classmethod
    def _locate(cls, row, url: str, action: str = "read") -> tuple[type, XComIds, str]:
        """(the class that handles url, its XCom, its suffix) when url is an XCom's own path in one of the roots
        (canonical: layout.ids_under; for file://, symlinks resolved); else errors.outside_root."""
        for root, store in cls.roots():  # lazily: most references lie in the first
            found = ids_under(root, _without_host(url) if store.NAMES_WRITER else url)
            if found and _resolves_inside(store, root, url):
                return (store, *found)
        raise errors.outside_root(row, url, [root for root, _ in cls.roots()], action)


def _stored(row, orm: bool = False) -> Any:
    """What xcomlab kept in the row: JSON always (compat.decode_row), never unpickled."""
    try:
        return compat.decode_row(row.value, orm=orm)
    except compat.NotJSONError as err:
        raise errors.not_json(row, err) from err


def _for(root: str, store: type) -> tuple[str, type]:
    return (_without_host(root) if store.NAMES_WRITER else root), store


def _without_host(url: str) -> str:
    return FILE + "/" + url.removeprefix(FILE).partition("/")[2] if url.startswith(FILE) else url


def _resolves_inside(store: type, root: str, url: str) -> bool:
    """For a store on the local filesystem, the object's real path (symlinks resolved) lies inside the root's
    real path, so a link planted inside the root leads nowhere else. Other stores have no links."""
    path = _local_file(store, url)
    return path is None or os.path.realpath(path).startswith(os.path.realpath(_local_file(store, root)).rstrip("/") + "/")


def _local_file(store: type, url: str) -> str | None:
    """The file the store reads for url, when it is on the local filesystem (fsspec's file:// and local://)."""
    if store.NAMES_WRITER:
        return _without_host(url).removeprefix(FILE)
    if url.partition(":")[0].lower() not in ("file", "local"):
        return None
    return compat.object_storage_path(url).path
