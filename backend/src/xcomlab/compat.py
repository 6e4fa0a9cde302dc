"""The one place that knows how Airflow 2.x and 3.x differ, so nothing else in xcomlab branches on it."""

from __future__ import annotations

from importlib.metadata import version

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
