"""The one place that knows how Airflow 2.x and 3.x differ, so nothing else in xcomlab branches on it.

xcomlab's rows are JSON on both majors. 3.x keeps BaseXCom's own path (serde; its rows are JSON). With
`[core] enable_xcom_pickling = True`, 2.x's BaseXCom pickles every row it writes and unpickles every row it
reads, so on 2.x xcomlab writes and reads its rows itself: exactly the JSON bytes 2.x writes with pickling
off, and a row that is not JSON is an error, never a pickle.
"""

from __future__ import annotations

import json
from importlib.metadata import version
from typing import Any

AIRFLOW_VERSION = version("apache-airflow")
AIRFLOW_MAJOR = int(AIRFLOW_VERSION.split(".")[0])

if AIRFLOW_MAJOR >= 3:
    BASE_XCOM = "airflow.sdk.bases.xcom.BaseXCom"
    # Importing this module resolves [core] xcom_backend; every component does so at start.
    XCOM_RESOLVER = "airflow.sdk.execution_time.xcom"
    # The long-running components, all of which load the XCom backend at start (so all crash with it).
    COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer", "workers")
    UI_COMMAND = "api-server"  # `airflow <this>` serves the UI and the REST API
else:
    BASE_XCOM = "airflow.models.xcom.BaseXCom"
    XCOM_RESOLVER = "airflow.models.xcom"
    COMPONENTS = ("webserver", "scheduler", "triggerer", "workers")
    UI_COMMAND = "webserver"


def base_xcom() -> type:
    """This major's BaseXCom (imported on use: importing it loads Airflow)."""
    if AIRFLOW_MAJOR >= 3:
        from airflow.sdk.bases.xcom import BaseXCom
    else:
        from airflow.models.xcom import BaseXCom
    return BaseXCom


def encode_row(stored: Any, major: int | None = None, **ids) -> Any:
    """The metadata DB row's value for what xcomlab keeps in it (a reference or an inline value)."""
    if (major or AIRFLOW_MAJOR) >= 3:
        return base_xcom().serialize_value(stored, **ids)
    from airflow.utils.json import XComEncoder

    return json.dumps(stored, cls=XComEncoder).encode("UTF-8")


class NotJSONError(ValueError):
    """A row that is not JSON (a pickle, or anything else): never decoded any further."""


def decode_row(value: Any, major: int | None = None, *, orm: bool = False) -> Any:
    """What xcomlab kept in a row, from the row's value column; NotJSONError when the row is not JSON.

    orm: Airflow 2.x's UI listing, whose decoder shows serialised objects without importing their classes."""
    if (major or AIRFLOW_MAJOR) >= 3:
        if isinstance(value, (bytes, bytearray, memoryview)):  # a 3.x row is a JSON value, never bytes
            raise NotJSONError(f"a row of {len(value)} bytes, not a JSON value")
        from types import SimpleNamespace

        return base_xcom().deserialize_value(SimpleNamespace(value=value))
    if value is None:
        return None
    from airflow.utils.json import XComDecoder

    try:
        text = bytes(value).decode("UTF-8") if isinstance(value, (bytes, bytearray, memoryview)) else value
        return json.loads(text, cls=XComDecoder, object_hook=XComDecoder.orm_object_hook if orm else None)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise NotJSONError(str(err)) from err


def object_storage_path(url: str):
    if AIRFLOW_MAJOR >= 3:
        from airflow.sdk import ObjectStoragePath
    else:
        from airflow.io.path import ObjectStoragePath
    return ObjectStoragePath(url)


# conf and BaseHook moved into the task SDK during 3.x. The common-compat provider maps them only from
# its 1.10 on, which needs Airflow 2.11+, so on 2.10 xcomlab picks them itself, as that provider does.
def conf():
    """Airflow's configuration (imported on use: importing it loads Airflow)."""
    try:
        from airflow.sdk.configuration import conf
    except ImportError:
        from airflow.configuration import conf
    return conf


def base_hook() -> type:
    try:
        from airflow.sdk import BaseHook
    except ImportError:
        from airflow.hooks.base import BaseHook
    return BaseHook
