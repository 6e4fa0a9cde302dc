"""The backend package under Airflow (the dev group's version), with real stores: file:// folders for
object storage and the local filesystem, a throwaway redis-server for Redis. Options are set the way
users set them, as AIRFLOW__XCOMLAB__* environment variables.
"""

from __future__ import annotations

import json
import os
import tempfile
from types import SimpleNamespace

import pytest

# Before anything imports Airflow: its home (airflow.cfg, a SQLite DB nobody uses) goes to a scratch folder.
os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="xcomlab-unit-airflow-"))

IDS = {"dag_id": "etl", "run_id": "manual__2026-11-21T08:00:00+00:00", "task_id": "extract", "map_index": -1}


@pytest.fixture
def options(monkeypatch):
    """set(name=value, ...) sets [xcomlab] options for one test."""
    def set_options(**values):
        for name, value in values.items():
            monkeypatch.setenv(f"AIRFLOW__XCOMLAB__{name.upper()}", str(value))
    return set_options


def push(backend, value, key="return_value", **ids):
    """What XCom.set stores in the row (Airflow 3: a JSON-able value the API sends to the DB as JSON)."""
    return json.loads(json.dumps(backend.serialize_value(value, key=key, **dict(IDS, **ids))))


def pull(backend, stored):
    return backend.deserialize_value(SimpleNamespace(value=stored))


def roundtrip(backend, value, key="return_value", **ids):
    return pull(backend, push(backend, value, key, **ids))


def _files(root) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.fixture(params=["objectstorage", "redis", "localfs"])
def store(request, options, tmp_path):
    """Each xcomlab backend on a real, empty store: .backend is the XCom class, .contents() what it holds,
    .root the store as the lifecycle tools name it."""
    if request.param == "objectstorage":
        from xcomlab.objectstorage import XComObjectStorageBackend as backend

        options(objectstorage_path=f"file://{tmp_path}/xcom")
        return SimpleNamespace(backend=backend, contents=lambda: _files(tmp_path), root=f"file://{tmp_path}/xcom")
    if request.param == "localfs":
        from xcomlab.localfs import XComLocalFsBackend as backend

        options(localfs_path=f"{tmp_path}/xcom")
        return SimpleNamespace(backend=backend, contents=lambda: _files(tmp_path), root=f"file://{tmp_path}/xcom")
    from xcomlab.redis import XComRedisBackend as backend

    client = request.getfixturevalue("redis_xcom")
    return SimpleNamespace(backend=backend, contents=lambda: {k.decode(): client.get(k) for k in client.keys("*")},
                           root="redis://xcom_redis/xcom")


@pytest.fixture
def redis_xcom(options, redis_server, monkeypatch):
    """The Redis backend pointed (connection xcom_redis) at the empty throwaway server; its client."""
    redis_server.client.flushall()
    monkeypatch.setenv("AIRFLOW_CONN_XCOM_REDIS", json.dumps({"conn_type": "redis", "host": "127.0.0.1",
                                                             "port": redis_server.port, "extra": {"db": 0}}))
    options(redis_conn_id="xcom_redis")
    return redis_server.client


# --- a metadata DB for the lifecycle tools: Airflow's xcom and dag_run columns, in SQLite ----------------

class MetadataDB:
    """The two tables xcomlab.metadata reads, holding what a backend stored (JSON bytes, as on Airflow 2.x)."""

    def __init__(self, engine):
        self.engine = engine
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE dag_run (id INTEGER PRIMARY KEY, dag_id TEXT, run_id TEXT, state TEXT)")
            conn.exec_driver_sql("CREATE TABLE xcom (dag_run_id INTEGER, task_id TEXT, map_index INTEGER, key TEXT, "
                                 "dag_id TEXT, run_id TEXT, timestamp TIMESTAMPTZ, value BLOB, "
                                 "PRIMARY KEY (dag_run_id, task_id, map_index, key))")

    def add_run(self, run_id: str, state: str = "success", dag_id: str = IDS["dag_id"]) -> int:
        with self.engine.begin() as conn:
            return conn.exec_driver_sql("INSERT INTO dag_run (dag_id, run_id, state) VALUES (?, ?, ?)",
                                        (dag_id, run_id, state)).lastrowid

    def add(self, backend, value, *, run_id: str = IDS["run_id"], days_old: float = 0, key: str = "return_value",
            state: str = "success", map_index: int = -1):
        """Push value through backend as task IDS['task_id'] of run_id (made if new); the stored value."""
        stored = push(backend, value, key=key, run_id=run_id, map_index=map_index)
        self.add_row(json.dumps(stored).encode(), run_id=run_id, days_old=days_old, key=key, state=state,
                     map_index=map_index)
        return stored

    def add_row(self, column: bytes, *, run_id: str, days_old: float, key: str, state: str = "success",
                map_index: int = -1) -> None:
        """An xcom row holding column as it is (what Airflow 2.x keeps in its value column)."""
        from datetime import datetime, timedelta, timezone

        from sqlalchemy import text

        with self.engine.connect() as conn:
            found = conn.execute(text("SELECT id FROM dag_run WHERE run_id = :r"), {"r": run_id}).scalar()
        run = found or self.add_run(run_id, state)
        when = datetime.now(timezone.utc) - timedelta(days=days_old)
        with self.engine.begin() as conn:
            conn.exec_driver_sql("INSERT INTO xcom VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                                 (run, IDS["task_id"], map_index, key, IDS["dag_id"], run_id, when.isoformat(),
                                  column))

    def keys(self) -> set[tuple[str, str]]:
        with self.engine.connect() as conn:
            return set(conn.exec_driver_sql("SELECT run_id, key FROM xcom").fetchall())


@pytest.fixture
def metadata_db(tmp_path):
    import sqlite3
    from datetime import datetime

    from sqlalchemy import create_engine

    sqlite3.register_converter("TIMESTAMPTZ", lambda raw: datetime.fromisoformat(raw.decode()))
    return MetadataDB(create_engine(f"sqlite:///{tmp_path}/airflow.db",
                                    connect_args={"detect_types": sqlite3.PARSE_DECLTYPES}))
