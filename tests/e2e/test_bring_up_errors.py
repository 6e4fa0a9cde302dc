"""A stack that never becomes healthy ends with one clear sentence and the failing service's logs."""

from __future__ import annotations

import subprocess

import pytest
from xcomlab_harness.stack.console import SandboxError
from xcomlab_harness.stack.health import start_and_wait

pytestmark = pytest.mark.e2e


def test_never_healthy_service_is_named(stack, compose_env, tmp_path, capfd):
    images = subprocess.run(["docker", "compose", "config", "--images"], env=compose_env,
                           capture_output=True, text=True, check=True).stdout.split()
    redis_image = next(i for i in images if "redis" in i)  # present locally once the stack is built
    compose_file = tmp_path / "compose.yml"
    compose_file.write_text(f"""
services:
  never-healthy:
    image: {redis_image}
    healthcheck:
      test: ["CMD-SHELL", "echo probe says no; exit 1"]
      interval: 1s
      retries: 2
""")
    env = dict(compose_env, COMPOSE_FILE=str(compose_file), COMPOSE_PROJECT_NAME="xcom-lab-never-healthy")
    try:
        with pytest.raises(SandboxError) as err:
            start_and_wait(env, timeout=30)
    finally:
        subprocess.run(["docker", "compose", "down", "--volumes"], env=env, capture_output=True)
    assert "did not become healthy within 30 s; not healthy: never-healthy" in str(err.value)
    assert "--- last logs of never-healthy ---" in capfd.readouterr().err
