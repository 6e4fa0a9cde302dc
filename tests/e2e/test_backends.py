"""For each backend: run the toy DAG, then check from outside Airflow where each value landed.

Small values must be the literal value in the metadata DB row; big ones an object under
<xcom_objectstorage_path>/<dag_id>/<run_id>/<task_id>/<uuid> (the path as compose/backends/ configures it,
e.g. s3://xcom_s3@xcom/xcom) whose bytes decode to the pushed value, with no object for the run in any
other store.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import pytest

import sandbox
from report import Row
from xcomlab.threshold import serialized_size, stays_in_db

pytestmark = pytest.mark.e2e

DAG_ID = "xcom_push_pull"
PUSH_TASK = "push_objects"
# What dags/xcom_push_pull.py pushes (the spec of the toy DAG).
PUSHED = {"small_obj": {"a": 23}, "big_obj": {f"key{i}": "x" * 100 for i in range(100)}}


@dataclass(frozen=True)
class Backend:
    name: str
    store: str | None  # key of the `stores` fixture; None = everything in the DB


BACKENDS = [Backend("db", store=None), Backend("s3", "s3"), Backend("gcs", "gcs"), Backend("azure", "azure")]
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}"


def reference_pattern(settings: dict[str, str], backend: Backend, run_id: str) -> re.Pattern:
    base = sandbox.backend_environment(settings, backend.name)["AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_PATH"]
    return re.compile(re.escape(f"{base}/{DAG_ID}/{run_id}/{PUSH_TASK}/") + UUID)


@dataclass
class Run:
    backend: Backend
    run_id: str
    rows: dict[str, object]  # XCom key -> value of its metadata DB row


@pytest.fixture(scope="module", params=BACKENDS, ids=lambda b: b.name)
def toy_run(request, stack, airflow, metadata_db) -> Run:
    """Switch the stack to the backend, run the toy DAG to success, read its XCom rows."""
    backend = request.param
    stack.switch(backend.name)
    airflow.wait_for_dag(DAG_ID)
    run_id = airflow.trigger(DAG_ID)
    airflow.wait_for_run(DAG_ID, run_id)
    return Run(backend, run_id, metadata_db.xcom_values(DAG_ID, run_id, PUSH_TASK))


def expected_in_db(backend: Backend, key: str, threshold: int) -> bool:
    return backend.store is None or stays_in_db(serialized_size(PUSHED[key]), threshold)


def object_name(reference: str) -> str:
    """Object name inside the bucket, from the row's full reference (scheme://[conn@]xcom/name)."""
    return re.sub(r"^[a-z0-9]+://([^@/]+@)?xcom/", "", reference)


def run_prefix(run_id: str) -> str:
    return f"xcom/{DAG_ID}/{run_id}/"


@pytest.mark.parametrize("key", PUSHED)
def test_value_lands_where_the_threshold_says(toy_run, key, settings, stores, report):
    backend, pushed, row = toy_run.backend, PUSHED[key], toy_run.rows[key]
    if expected_in_db(backend, key, int(settings["XCOM_THRESHOLD"])):
        where = f"xcom row ({DAG_ID}, {toy_run.run_id}, {PUSH_TASK}, {key})"
        report.add(Row(backend.name, key, "metadata DB", serialized_size(row), where, row == pushed))
        assert row == pushed, f"{key} should be the literal value in the DB row, got {row!r:.80}"
        return
    assert isinstance(row, str), f"{key} should be a reference string in the DB row, got {row!r:.80}"
    assert reference_pattern(settings, backend, toy_run.run_id).fullmatch(row), f"unexpected key layout: {row}"
    store, name = stores[backend.store], object_name(row)
    listed = store.list(run_prefix(toy_run.run_id))
    assert name in listed, f"{row} is not in {backend.store}: it holds {sorted(listed)}"
    stored = json.loads(store.read(name))
    report.add(Row(backend.name, key, f"{backend.store} object", listed[name], row, stored == pushed))
    assert stored == pushed, f"the object {row} does not decode to the pushed value"


def test_objects_only_in_the_configured_store(toy_run, stores, settings):
    """One object per offloaded value in the configured store; nothing for this run anywhere else."""
    threshold = int(settings["XCOM_THRESHOLD"])
    offloaded = [key for key in PUSHED if not expected_in_db(toy_run.backend, key, threshold)]
    for name, store in stores.items():
        listed = store.list(run_prefix(toy_run.run_id))
        expected = len(offloaded) if name == toy_run.backend.store else 0
        assert len(listed) == expected, f"{name} holds {sorted(listed)} for this run; expected {expected} object(s)"
