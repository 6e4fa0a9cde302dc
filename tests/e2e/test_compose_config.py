"""The compose project as users and CI run it: valid in every mode, loopback-only, pinned, healthchecked."""

from __future__ import annotations

import json
import subprocess

import pytest

import sandbox

pytestmark = pytest.mark.e2e

MODES = [("minio", False), ("moto", False), ("minio", True)]


def resolved_config(settings: dict[str, str], emulator: str, offline: bool) -> dict:
    env = sandbox.compose_env(dict(settings, S3_EMULATOR=emulator), offline)
    result = subprocess.run(["docker", "compose", "config", "--format", "json"], env=env, capture_output=True, text=True)
    assert result.returncode == 0, f"docker compose config failed ({emulator}, offline={offline}): {result.stderr}"
    return json.loads(result.stdout)


@pytest.mark.parametrize(("emulator", "offline"), MODES, ids=["minio", "moto", "registry-less"])
def test_config_is_valid_and_safe(settings, emulator, offline):
    services = resolved_config(settings, emulator, offline)["services"]
    assert {"postgres", "redis", "s3", "azurite", "fake-gcs", "storage-init", "airflow-init", "airflow-apiserver",
            "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer"} <= set(services)
    for name, service in services.items():
        for port in service.get("ports", []):
            assert port["host_ip"] == "127.0.0.1", f"{name} publishes {port['published']} beyond loopback"
        image = service["image"]
        assert ":" in image.rsplit("/", 1)[-1] and not image.endswith(":latest"), f"{name}: unpinned image {image}"
        long_running = service.get("restart") == "always"
        assert not long_running or service.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"


def test_registry_less_mode_runs_moto_in_minios_place(settings):
    s3 = resolved_config(settings, "minio", True)["services"]["s3"]
    assert s3["image"].startswith("xcom-lab-standin/moto:")
    assert s3["command"] == ["-p", "9000"]


def test_one_shots_are_adopted_so_up_wait_succeeds(settings):
    services = resolved_config(settings, "minio", False)["services"]
    for one_shot in ("storage-init", "airflow-init"):
        adopters = [name for name, svc in services.items()
                    if svc.get("depends_on", {}).get(one_shot, {}).get("condition") == "service_completed_successfully"]
        assert adopters, f"no long-running service waits for {one_shot}: `up --wait` would fail"
