"""docker compose itself, and the facts the driver reads from it as JSON rather than parsing YAML or tables."""

from __future__ import annotations

import json
import os
import subprocess

from xcomlab_harness.stack.console import SandboxError
from xcomlab_harness.stack.paths import COMPOSE_DIR


def compose(env: dict[str, str], *args: str, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", "compose", *args], env=env, check=check, **kwargs)


def compose_config(env: dict[str, str], *args: str) -> dict:
    """The project as compose resolves it (files merged, anchors expanded); needs no engine."""
    result = compose(env, "config", "--format", "json", *args, check=False, capture_output=True, text=True)
    if result.returncode != 0:
        raise SandboxError(f"`docker compose config` failed: {result.stderr.strip()}")
    return json.loads(result.stdout)


def pinned_image(service: str) -> str:
    """The official image a service names in docker-compose.yml. Read uninterpolated from that file alone, so
    it needs no settings and no stack: it feeds the registry probe before either exists."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")}  # no other project's files
    env["COMPOSE_FILE"] = str(COMPOSE_DIR / "docker-compose.yml")
    services = compose_config(env, "--no-interpolate")["services"]
    image = services.get(service, {}).get("image", "")
    if not image or "$" in image:  # a ${...} tag is one the sandbox builds, not one a registry has
        raise SandboxError(f"docker-compose.yml has no image for service {service!r}")
    return image


def parse_ps_json(text: str) -> list[dict]:
    """`docker compose ps --format json`: one object per line since compose 2.21, one JSON array before."""
    text = text.strip()
    if text.startswith("["):
        return json.loads(text)
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def containers(env: dict[str, str]) -> list[dict]:
    """Every container of the project, stopped ones included: Service, State, Health, ExitCode, ..."""
    out = compose(env, "ps", "--all", "--format", "json", check=False, capture_output=True, text=True).stdout
    return parse_ps_json(out)
