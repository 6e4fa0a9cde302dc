"""Fixtures the unit tests of the backend package and of the harness share."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from types import SimpleNamespace

import pytest


@pytest.fixture(scope="session")
def redis_server():
    """A redis-server of its own on a free 127.0.0.1 port, no persistence; stopped by its PID."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server not found: the Redis backend's unit tests need a real Redis "
                    "(Debian: apt-get install redis-server; `make setup` installs it)", pytrace=False)
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
