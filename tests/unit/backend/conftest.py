"""The backend package under Airflow (the dev group's version), with real stores: file:// folders for
object storage and the local filesystem, a throwaway redis-server for Redis. Options are set the way
users set them, as AIRFLOW__XCOMLAB__* environment variables.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
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


@pytest.fixture(scope="session")
def redis_server():
    """A redis-server of its own on a free 127.0.0.1 port, no persistence; stopped by its PID."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server not found: the Redis backend's unit tests need a real Redis "
                    "(Debian: apt-get install redis-server; .ci/run installs it)", pytrace=False)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "",
                               "--appendonly", "no"], stdout=subprocess.DEVNULL)
    import redis

    client = redis.Redis(port=port)
    for _ in range(100):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    yield SimpleNamespace(port=port, client=client)
    server.terminate()
    server.wait(timeout=10)


def _files(root) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.fixture(params=["objectstorage", "redis", "localfs"])
def store(request, options, tmp_path):
    """Each xcomlab backend on a real, empty store: .backend is the XCom class, .contents() what it holds."""
    if request.param == "objectstorage":
        from xcomlab.objectstorage import XComObjectStorageBackend as backend

        options(objectstorage_path=f"file://{tmp_path}/xcom")
        return SimpleNamespace(backend=backend, contents=lambda: _files(tmp_path))
    if request.param == "localfs":
        from xcomlab.localfs import XComLocalFsBackend as backend

        options(localfs_path=f"{tmp_path}/xcom")
        return SimpleNamespace(backend=backend, contents=lambda: _files(tmp_path))
    from xcomlab.redis import XComRedisBackend as backend

    client = request.getfixturevalue("redis_xcom")
    return SimpleNamespace(backend=backend, contents=lambda: {k.decode(): client.get(k) for k in client.keys("*")})


@pytest.fixture
def redis_xcom(options, redis_server, monkeypatch):
    """The Redis backend pointed (connection xcom_redis) at the empty throwaway server; its client."""
    redis_server.client.flushall()
    monkeypatch.setenv("AIRFLOW_CONN_XCOM_REDIS", json.dumps({"conn_type": "redis", "host": "127.0.0.1",
                                                             "port": redis_server.port, "extra": {"db": 0}}))
    options(redis_conn_id="xcom_redis")
    return redis_server.client
