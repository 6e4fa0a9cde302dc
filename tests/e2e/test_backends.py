"""For each backend: run the toy DAG, then check from outside Airflow where each value landed.

Small values must be the literal value in the metadata DB row; big ones an object whose bytes decode to
the pushed value, with no object for the run in any other store. The object's name is the backend's
layout under its path as compose/backends/ configures it (e.g. s3://xcom_s3@xcom/xcom):
the provider's <path>/<dag_id>/<run_id>/<task_id>/<uuid4>, xcomlab's
xcomlab:ref:<path>/<dag_id>/<run_id>/<task_id>/<map_index>/<key>.json.
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
    store: str | None = None  # key of the `stores` fixture; None = everything in the DB
    xcomlab: bool = False  # xcom-lab's backend, else the common-io provider's

    def base_path(self, settings: dict[str, str]) -> str:
        option = "AIRFLOW__XCOMLAB__OBJECTSTORAGE_PATH" if self.xcomlab else "AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_PATH"
        return sandbox.backend_environment(settings, self.name)[option]

    def reference_pattern(self, settings: dict[str, str], run_id: str, key: str) -> re.Pattern:
        """Provider: <path>/<dag>/<run>/<task>/<uuid4>. xcomlab: xcomlab:ref:<path>/<dag>/<run>/<task>/-1/<key>.json"""
        prefix = f"{self.base_path(settings)}/{DAG_ID}/{run_id}/{PUSH_TASK}/"
        if self.xcomlab:
            return re.compile(re.escape(f"xcomlab:ref:{prefix}-1/{key}.json"))
        return re.compile(re.escape(prefix) + UUID)


BACKENDS = [Backend("db"), Backend("s3", "s3"), Backend("gcs", "gcs"), Backend("azure", "azure"),
            Backend("xcomlab-s3", "s3", xcomlab=True), Backend("xcomlab-gcs", "gcs", xcomlab=True),
            Backend("xcomlab-azure", "azure", xcomlab=True)]
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}"
FOLDERS = ("xcom", "xcomlab")  # where the provider's and xcomlab's objects go in each bucket


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
    """Object name inside the bucket, from the row's full reference ([xcomlab:ref:]scheme://[conn@]xcom/name)."""
    return re.sub(r"^(xcomlab:ref:)?[a-z0-9]+://([^@/]+@)?xcom/", "", reference)


def run_listing(store, run_id: str) -> dict[str, int]:
    """Every object of the run in the store, under either backend's folder."""
    return {name: size for folder in FOLDERS for name, size in store.list(f"{folder}/{DAG_ID}/{run_id}/").items()}


@pytest.mark.parametrize("key", PUSHED)
def test_value_lands_where_the_threshold_says(toy_run, key, settings, stores, report):
    backend, pushed, row = toy_run.backend, PUSHED[key], toy_run.rows[key]
    if expected_in_db(backend, key, int(settings["XCOM_THRESHOLD"])):
        where = f"xcom row ({DAG_ID}, {toy_run.run_id}, {PUSH_TASK}, {key})"
        report.add(Row(backend.name, key, "metadata DB", serialized_size(row), where, row == pushed))
        assert row == pushed, f"{key} should be the literal value in the DB row, got {row!r:.80}"
        return
    assert isinstance(row, str), f"{key} should be a reference string in the DB row, got {row!r:.80}"
    assert backend.reference_pattern(settings, toy_run.run_id, key).fullmatch(row), f"unexpected key layout: {row}"
    store, name = stores[backend.store], object_name(row)
    listed = run_listing(store, toy_run.run_id)
    assert name in listed, f"{row} is not in {backend.store}: it holds {sorted(listed)}"
    stored = json.loads(store.read(name))
    report.add(Row(backend.name, key, f"{backend.store} object", listed[name], row, stored == pushed))
    assert stored == pushed, f"the object {row} does not decode to the pushed value"


def test_objects_only_in_the_configured_store(toy_run, stores, settings):
    """One object per offloaded value in the configured store; nothing for this run anywhere else."""
    threshold = int(settings["XCOM_THRESHOLD"])
    offloaded = [key for key in PUSHED if not expected_in_db(toy_run.backend, key, threshold)]
    for name, store in stores.items():
        listed = run_listing(store, toy_run.run_id)
        expected = len(offloaded) if name == toy_run.backend.store else 0
        assert len(listed) == expected, f"{name} holds {sorted(listed)} for this run; expected {expected} object(s)"
