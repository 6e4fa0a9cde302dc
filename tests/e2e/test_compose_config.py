"""The compose project as users and CI run it: valid in every mode and for every Airflow version with a
lock, loopback-only, pinned, healthchecked; 2.x and MWAA mode change only what they must."""

from __future__ import annotations

import json
import subprocess

import pytest
from xcomlab_harness.stack import project
from xcomlab_harness.stack.compose import pinned_image
from xcomlab_harness.stack.console import SandboxError
from xcomlab_harness.stack.custom_backend import write_custom_backend_env
from xcomlab_harness.stack.paths import COMPOSE_DIR

pytestmark = [pytest.mark.e2e, pytest.mark.version_independent]

MODES = [("minio", False), ("ministack", False), ("moto", False), ("minio", True)]
MODE_IDS = ["minio", "ministack", "moto", "registry-less"]
STORES = ("postgres", "redis", "s3", "azurite", "fake-gcs")
VERSIONS = sorted(p.stem.removeprefix("requirements-") for p in (COMPOSE_DIR / "airflow").glob("requirements-*.txt"))
COMPONENTS = {"airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer"}


def resolved_config(settings: dict[str, str], emulator: str, offline: bool, **overrides: str) -> dict:
    env = project.compose_env(dict(settings, S3_EMULATOR=emulator, **overrides), offline)
    result = subprocess.run(["docker", "compose", "config", "--format", "json"], env=env, capture_output=True, text=True)
    assert result.returncode == 0, f"docker compose config failed ({emulator}, offline={offline}): {result.stderr}"
    return json.loads(result.stdout)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(("emulator", "offline"), MODES, ids=MODE_IDS)
def test_config_is_valid_and_safe(settings, emulator, offline, version):
    services = resolved_config(settings, emulator, offline, AIRFLOW_VERSION=version)["services"]
    components = COMPONENTS - ({"airflow-dag-processor"} if version.startswith("2.") else set())
    assert {"postgres", "redis", "s3", "azurite", "fake-gcs", "storage-init", "airflow-init"} | components == set(services)
    assert services["airflow-apiserver"]["command"] == (["webserver"] if version.startswith("2.") else ["api-server"])
    for name, service in services.items():
        for port in service.get("ports", []):
            assert port["host_ip"] == "127.0.0.1", f"{name} publishes {port['published']} beyond loopback"
        image = service["image"]
        assert ":" in image.rsplit("/", 1)[-1] and not image.endswith(":latest"), f"{name}: unpinned image {image}"
        long_running = service.get("restart") == "always"
        assert not long_running or service.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"


def test_registry_less_mode_runs_ministack_in_minios_place(settings):
    s3 = resolved_config(settings, "minio", True)["services"]["s3"]
    assert s3["image"].startswith("xcom-lab-standin/ministack:")
    assert s3["environment"]["S3_PERSIST"] == "1" and s3["environment"]["S3_DATA_DIR"].startswith("/data/")


@pytest.mark.parametrize(("emulator", "offline"), MODES, ids=MODE_IDS)
def test_every_store_keeps_its_data_in_a_named_volume(settings, emulator, offline):
    """What survives `docker restart` and `make down`: only moto (S3_EMULATOR=moto) keeps objects in memory."""
    services = resolved_config(settings, emulator, offline)["services"]
    for name in STORES:
        named = [m for m in services[name].get("volumes", []) if m["type"] == "volume" and m.get("source")]
        assert bool(named) == (name != "s3" or emulator != "moto"), f"{name}: volumes {services[name].get('volumes')}"


def test_one_shots_are_adopted_so_up_wait_succeeds(settings):
    services = resolved_config(settings, "minio", False)["services"]
    for one_shot in ("storage-init", "airflow-init"):
        adopters = [name for name, svc in services.items()
                    if svc.get("depends_on", {}).get(one_shot, {}).get("condition") == "service_completed_successfully"]
        assert adopters, f"no long-running service waits for {one_shot}: `up --wait` would fail"


@pytest.mark.parametrize("version", ["2.11.2", "3.3.1"])
def test_mwaa_mode_changes_only_the_components(settings, version):
    plain = resolved_config(settings, "minio", True, AIRFLOW_VERSION=version)["services"]
    mwaa = resolved_config(settings, "minio", True, AIRFLOW_VERSION=version, MWAA="1")["services"]
    workers = {"airflow-worker-a", "airflow-worker-b", "airflow-worker"}  # MWAA runs tasks on Celery workers
    assert set(mwaa) == set(plain) | workers
    for name in set(mwaa) & (COMPONENTS | workers):
        service = mwaa[name]
        assert service["command"][:3] == ["python", "-m", "xcomlab_tools.mwaa.entrypoint"], name
        assert service["environment"]["AIRFLOW_HOME"] == "/usr/local/airflow"
        assert service["environment"]["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
        # Configured by the bucket's options JSON only, as on MWAA: nothing from BACKEND, no PYTHONPATH.
        assert "AIRFLOW__CORE__XCOM_BACKEND" not in service["environment"]
        assert "PYTHONPATH" not in service["environment"]
        mounts = {v["target"] for v in service["volumes"]}
        assert "/mwaa" in mounts
        # MWAA's web server gets plugins and requirements, not dags/.
        assert ("/usr/local/airflow/dags" in mounts) == (name != "airflow-apiserver"), (name, mounts)
    for name in set(plain) - COMPONENTS - workers:  # the stores and one-shots: the executor differs, and the
        for config in (mwaa[name], plain[name]):      # one-shots' image holds MWAA's package set
            config.get("environment", {}).pop("AIRFLOW__CORE__EXECUTOR", None)
        if "build" in plain[name] and plain[name]["build"]["dockerfile"] == "compose/airflow/Dockerfile":
            assert mwaa[name].pop("image") == f"xcom-lab/airflow:{version}-mwaa" and plain[name].pop("image")
            lock = mwaa[name].pop("build")["args"]["AIRFLOW_LOCK"]
            assert lock == f"compose/mwaa-packages/{version}/lock-python3.11.txt" and plain[name].pop("build")
        assert mwaa[name] == plain[name], f"MWAA mode changed {name}"


@pytest.mark.parametrize("version", ["2.11.2", "3.3.1"])
def test_an_idle_stack_stays_cheap(settings, version):
    """At rest Docker probes each Airflow component at most twice a minute (every probe is a `docker exec`; the
    harness runs the probe itself while it waits for a component), and a DAG file is parsed again only when it
    changes: at one probe a second and a parse of every file every 30 s, an idle stack took a quarter of two cores."""
    services = resolved_config(settings, "minio", True, AIRFLOW_VERSION=version)["services"]
    for name in COMPONENTS & set(services):
        interval = services[name]["healthcheck"]["interval"]
        assert interval.endswith("s") and int(interval[:-1]) >= 30, f"{name} probed every {interval}"
    parser, section = ("airflow-scheduler", "SCHEDULER") if version.startswith("2.") else ("airflow-dag-processor",
                                                                                          "DAG_PROCESSOR")
    assert int(services[parser]["environment"][f"AIRFLOW__{section}__MIN_FILE_PROCESS_INTERVAL"]) >= 600


@pytest.mark.parametrize("mode", [{}, {"MWAA": "1"}], ids=["plain", "mwaa"])
def test_airflow_3s_api_server_cannot_run_out_of_db_connections(settings, mode):
    """Airflow 3.3.1's API server checks a REST caller's token with a blocking DB query on its event loop: with
    every pooled connection held by task requests (~30 tasks start at once after a trigger here) the whole server
    stalls for the pool timeout, 30 s (seen in CI). Its pool must hold more than the 40 request threads."""
    environment = resolved_config(settings, "minio", True, AIRFLOW_VERSION="3.3.1", **mode)["services"][
        "airflow-apiserver"]["environment"]
    pool = int(environment.get("AIRFLOW__DATABASE__SQL_ALCHEMY_POOL_SIZE", 5))
    assert pool + int(environment.get("AIRFLOW__DATABASE__SQL_ALCHEMY_MAX_OVERFLOW", 10)) > 40


@pytest.mark.parametrize("version", ["2.11.2", "3.3.1"])
def test_a_users_backend_gets_its_own_thresholds_and_is_measured_where_it_runs(settings, version, tmp_path):
    """`make check` with BACKEND_ENV: the thresholds its env file sets reach every component (not .env's
    XCOM_THRESHOLD); coverage.py runs where the backend's code runs (the scheduler, whose processes run the tasks,
    and Airflow 2's webserver), not where it is only imported."""
    user_env = tmp_path / "backend.env"
    user_env.write_text("AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_THRESHOLD=0\nAIRFLOW__XCOMLAB__THRESHOLD=5\n")
    user = {"XCOM_BACKEND": "my_xcom.MyXComBackend", "BACKEND_SRC": str(tmp_path / "my_xcom.py"),
            "BACKEND_ENV": str(user_env)}
    (tmp_path / "my_xcom.py").write_text("")
    write_custom_backend_env(dict(settings, AIRFLOW_VERSION=version, **user))  # as the check writes it before `up`
    services = resolved_config(settings, "minio", True, AIRFLOW_VERSION=version, **user)["services"]
    measured = {"airflow-scheduler"} | ({"airflow-apiserver"} if version.startswith("2.") else set())
    for name in COMPONENTS & set(services):
        environment = services[name]["environment"]
        assert environment["AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_THRESHOLD"] == "0", name
        assert environment["AIRFLOW__XCOMLAB__THRESHOLD"] == "5", name
        assert bool(environment.get("COVERAGE_PROCESS_START")) == (name in measured), name


# --- facts the driver reads from `docker compose config` (the docker CLI, no engine) ----------------------------

def test_the_registry_probe_image_is_the_one_docker_compose_yml_pins(monkeypatch):
    monkeypatch.setenv("COMPOSE_FILE", "/nowhere/else.yml")  # as `sandbox.py run` leaves them for its command
    monkeypatch.setenv("COMPOSE_ENV_FILES", "/nowhere/.env")
    assert pinned_image("postgres").startswith("postgres:15.")
    assert pinned_image("s3").startswith("quay.io/minio/minio:RELEASE.")
    assert pinned_image("fake-gcs") == "fsouza/fake-gcs-server:1.54.0"


@pytest.mark.parametrize("service", ["airflow-init", "nosuch"])
def test_a_built_or_unknown_service_has_no_pinned_image(service):
    with pytest.raises(SandboxError, match=rf"docker-compose.yml has no image for service '{service}'"):
        pinned_image(service)
