"""Fixtures the unit tests of the backend package and of the harness share."""

from __future__ import annotations

import shutil
import socket
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest

from xcomlab_harness.polling import poll


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
    poll(client.ping, bool, 5, lambda _: RuntimeError(f"redis-server on port {port} did not answer in 5 s"),
         every=0.05, retry_on=(redis.ConnectionError,))
    yield SimpleNamespace(port=port, client=client)
    server.terminate()
    server.wait(timeout=10)


# A docker CLI whose answers the test chooses through its environment: COMPOSE (what `compose version` prints;
# unset: no Compose v2 plugin) and ENGINE (what `info` prints; unset: the engine does not answer).
FAKE_DOCKER = """#!/bin/sh
case "$1 $2" in
  "compose version") [ -n "$COMPOSE" ] && echo "$COMPOSE" && exit 0; echo "docker: 'compose' is not a docker command." >&2; exit 1;;
  "info "*) [ -n "$ENGINE" ] && echo "$ENGINE" && exit 0; echo "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?" >&2; exit 1;;
  "pull --quiet") echo "pull should not be tried" >&2; exit 7;;
esac
exit 0
"""


@pytest.fixture
def fake_docker():
    """Writes FAKE_DOCKER as `docker` into a folder (to put on PATH); returns its path."""
    def write(folder: Path) -> Path:
        (folder / "docker").write_text(FAKE_DOCKER)
        (folder / "docker").chmod(0o755)
        return folder / "docker"
    return write
