"""An Azure Blob Storage XCom backend as the tutorials write it, on a connection id with a dash:
`WasbHook(wasb_conn_id="wasb-default")` (valid in Airflow, but no AIRFLOW_CONN_<ID> variable can carry it).
A value whose JSON is 1000 bytes or more goes to the `xcom` container as
xcom/<dag_id>/<run_id>/<task_id>/<map_index>/<key>.json and the row keeps {"__wasb_xcom__": <blob name>};
purge() deletes the blob with its row.

No flaw on purpose, but its connection id is its own and has a dash: `make check CONNECTIONS=wasb-default=azure`
points it at Azurite through a connections file (Airflow's local-filesystem secrets backend).
"""

import json
from types import SimpleNamespace

try:  # Airflow 3
    from airflow.sdk.bases.xcom import BaseXCom
except ImportError:  # Airflow 2.x
    from airflow.models.xcom import BaseXCom

CONTAINER = "xcom"
REF = "__wasb_xcom__"
ESCAPED = "__wasb_xcom_escaped__"  # a pushed dict that uses one of our keys is stored wrapped in this
THRESHOLD = 1000


def wasb():
    from airflow.providers.microsoft.azure.hooks.wasb import WasbHook

    return WasbHook(wasb_conn_id="wasb-default")


def to_json(value) -> str:
    """The value as Airflow's own DB backend stores it: 2.x's JSON text, 3.x's serde structure as JSON."""
    stored = BaseXCom.serialize_value(value)
    return stored.decode("utf-8") if isinstance(stored, bytes) else json.dumps(stored)


def from_json(text: str):
    stored = json.loads(text) if BaseXCom.__module__.startswith("airflow.sdk") else text.encode("utf-8")
    return BaseXCom.deserialize_value(SimpleNamespace(value=stored))


def reference(stored):
    if isinstance(stored, dict) and len(stored) == 1 and isinstance(stored.get(REF), str):
        return stored[REF]
    return None


class WasbXComBackend(BaseXCom):
    @staticmethod
    def serialize_value(value, *, key=None, task_id=None, dag_id=None, run_id=None, map_index=None, **kwargs):
        data = to_json(value)
        if len(data) < THRESHOLD:
            if isinstance(value, dict) and (REF in value or ESCAPED in value):
                value = {ESCAPED: value}
            return BaseXCom.serialize_value(value)
        name = f"xcom/{dag_id}/{run_id}/{task_id}/{map_index}/{key}.json"
        wasb().load_string(data, container_name=CONTAINER, blob_name=name, overwrite=True)
        return BaseXCom.serialize_value({REF: name})

    @staticmethod
    def deserialize_value(result):
        stored = BaseXCom.deserialize_value(result)
        name = reference(stored)
        if name is not None:
            return from_json(wasb().read_file(container_name=CONTAINER, blob_name=name))  # a missing blob raises
        if isinstance(stored, dict) and len(stored) == 1 and ESCAPED in stored:
            return stored[ESCAPED]
        return stored

    @staticmethod
    def purge(xcom, *args, **kwargs):
        name = reference(xcom.value)
        if name is not None:
            wasb().delete_file(container_name=CONTAINER, blob_name=name, ignore_if_missing=True)
