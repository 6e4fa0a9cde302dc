"""Facts read from `docker compose config --format json` (xcomlab_harness.stack.compose): the docker CLI
only, no engine."""

import pytest

from xcomlab_harness.stack.compose import pinned_image
from xcomlab_harness.stack.console import SandboxError


def test_the_registry_probe_image_is_the_one_docker_compose_yml_pins(monkeypatch):
    monkeypatch.setenv("COMPOSE_FILE", "/nowhere/else.yml")  # as `sandbox.py run` leaves them for its command
    monkeypatch.setenv("COMPOSE_ENV_FILES", "/nowhere/.env")
    assert pinned_image("postgres").startswith("postgres:15.")
    assert pinned_image("s3").startswith("quay.io/minio/minio:RELEASE.")


@pytest.mark.parametrize("service", ["airflow-init", "nosuch"])
def test_a_built_or_unknown_service_has_no_pinned_image(service):
    with pytest.raises(SandboxError, match=rf"docker-compose.yml has no image for service '{service}'"):
        pinned_image(service)
