"""The sandbox driver's configuration logic (xcomlab_harness.sandbox): no Docker needed."""

import json
import subprocess
import sys

import pytest
from xcomlab_harness import sandbox
from xcomlab_harness.stack import project, state
from xcomlab_harness.stack.console import SandboxError
from xcomlab_harness.stack.custom_backend import (
    custom_backend_env,
    custom_backend_package,
    custom_backend_source,
    write_check_bucket,
)
from xcomlab_harness.stack.paths import DOTENV, ROOT
from xcomlab_harness.stack.project import backend_environment, compose_files
from xcomlab_harness.stack.settings import load_settings
from xcomlab_harness.stack.state import offline_from_state, remember, with_last_up


@pytest.fixture
def dotenv(tmp_path):
    """A copy of the project's .env that a test may edit."""
    path = tmp_path / ".env"
    path.write_text(DOTENV.read_text())
    return path


def test_project_env_is_valid_and_defaults_to_s3_on_minio(dotenv):
    settings = load_settings(environ={}, dotenv=dotenv)
    assert settings["BACKEND"] == "s3"
    assert settings["S3_EMULATOR"] == "minio"
    assert settings["XCOM_THRESHOLD"] == "1000"


def test_dotenv_quotes_are_stripped_like_compose_does(dotenv):
    settings = load_settings(environ={}, dotenv=dotenv)
    assert settings["AIRFLOW_CONN_XCOM_S3"].startswith('{"conn_type": "aws"')


def test_environment_overrides_dotenv(dotenv):
    assert load_settings(environ={"BACKEND": "gcs"}, dotenv=dotenv)["BACKEND"] == "gcs"


def test_unknown_backend_names_the_choices(dotenv):
    with pytest.raises(SandboxError, match=r"BACKEND='memcached' is unknown: choose one of azure, db, gcs, localfs, redis, s3, xcomlab-azure, xcomlab-gcs, xcomlab-s3"):
        load_settings(environ={"BACKEND": "memcached"}, dotenv=dotenv)


def test_missing_key_is_named(dotenv):
    dotenv.write_text("\n".join(line for line in dotenv.read_text().splitlines() if not line.startswith("AIRFLOW_JWT_SECRET=")))
    with pytest.raises(SandboxError, match=r"lacks AIRFLOW_JWT_SECRET"):
        load_settings(environ={}, dotenv=dotenv)


def test_missing_dotenv_says_how_to_restore(tmp_path):
    with pytest.raises(SandboxError, match=r"git checkout -- .env"):
        load_settings(environ={}, dotenv=tmp_path / ".env")


def test_malformed_line_is_reported_with_its_number(dotenv):
    dotenv.write_text(dotenv.read_text() + "this is not a setting\n")
    with pytest.raises(SandboxError, match=r"line \d+ is not KEY=VALUE"):
        load_settings(environ={}, dotenv=dotenv)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("S3_EMULATOR", "localstack", "choose minio, ministack or moto"),
        ("OFFLINE", "yes", "use auto, 0 or 1"),
        ("XCOM_THRESHOLD", "1kb", "not a whole number"),
        ("AIRFLOW_VERSION", "9.9.9", "make lock AIRFLOW_VERSION=9.9.9"),
        ("MWAA", "yes", r"MWAA='yes' is unknown: use 1 \(MWAA mode\) or 0"),
        ("PROFILE", "kubernetes", r"PROFILE='kubernetes' is unknown: use local \(LocalExecutor\) or celery"),
        ("WORKERS", "1", r"WORKERS='1': give a whole number, at least 2"),
        ("WORKERS", "two", r"WORKERS='two': give a whole number"),
    ],
)
def test_bad_values_get_a_clear_message(dotenv, key, value, message):
    with pytest.raises(SandboxError, match=message):
        load_settings(environ={key: value}, dotenv=dotenv)


@pytest.mark.parametrize(
    ("emulator", "offline", "files"),
    [
        ("minio", False, ["docker-compose.yml"]),
        ("moto", False, ["docker-compose.yml", "s3-moto.yml"]),
        # No MinIO server exists as a package: registry-less mode always runs MiniStack.
        ("ministack", False, ["docker-compose.yml", "s3-ministack.yml"]),
        ("minio", True, ["docker-compose.yml", "s3-ministack.yml", "offline.yml"]),
        ("moto", True, ["docker-compose.yml", "s3-ministack.yml", "offline.yml"]),
    ],
)
def test_compose_file_set(dotenv, emulator, offline, files):
    settings = load_settings(environ={"S3_EMULATOR": emulator}, dotenv=dotenv)
    assert [p.name for p in compose_files(settings, offline)] == files


@pytest.mark.parametrize(
    ("overrides", "files"),
    [
        ({"AIRFLOW_VERSION": "2.10.3"}, ["docker-compose.yml", "airflow-2.yml"]),
        ({"AIRFLOW_VERSION": "3.0.6"}, ["docker-compose.yml"]),
        ({"AIRFLOW_VERSION": "2.11.2", "MWAA": "1"}, ["docker-compose.yml", "airflow-2.yml", "mwaa.yml"]),
    ],
)
def test_version_and_mwaa_files(dotenv, overrides, files):
    settings = load_settings(environ=overrides, dotenv=dotenv)
    assert [p.name for p in compose_files(settings, offline=False)] == files


def test_mwaa_dir_must_look_like_a_bucket(dotenv, tmp_path):
    (tmp_path / "bucket" / "dags").mkdir(parents=True)
    with pytest.raises(SandboxError, match=r"has no airflow-configuration-options.json: it must look like an MWAA bucket"):
        load_settings(environ={"MWAA": "1", "MWAA_DIR": str(tmp_path / "bucket")}, dotenv=dotenv)


def test_the_example_bucket_is_valid(dotenv):
    settings = load_settings(environ={"MWAA": "1"}, dotenv=dotenv)
    assert project.compose_env(settings, offline=False)["MWAA_DIR"] == str(ROOT / "mwaa")


def test_down_addresses_the_version_the_last_up_started(dotenv, tmp_path, monkeypatch):
    monkeypatch.setattr(state, "STATE_FILE", tmp_path / "last-up.json")
    settings = load_settings(environ={"AIRFLOW_VERSION": "2.11.2"}, dotenv=dotenv)
    remember(settings, offline=True)
    default = load_settings(environ={}, dotenv=dotenv)
    assert with_last_up(default, environ={})["AIRFLOW_VERSION"] == "2.11.2"
    assert with_last_up(default, environ={"AIRFLOW_VERSION": "3.3.1"})["AIRFLOW_VERSION"] == "3.3.1"
    assert offline_from_state(default) is True


def test_backend_settings_layer_the_version_override(dotenv):
    settings = load_settings(environ={"AIRFLOW_VERSION": "2.10.3"}, dotenv=dotenv)
    gcs = backend_environment(settings, "gcs")
    assert gcs["AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_PATH"] == "gs://xcom/airflow-2.10.3/xcom"
    assert gcs["STORAGE_EMULATOR_HOST"] == "http://fake-gcs:4443"
    assert backend_environment(dict(settings, AIRFLOW_VERSION="3.3.1"), "gcs")[
        "AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_PATH"] == "gs://xcom_gcs@xcom/airflow-3.3.1/xcom"


def test_offline_points_the_airflow_build_at_the_stand_in(dotenv, monkeypatch):
    monkeypatch.delenv("AIRFLOW_IMAGE", raising=False)
    settings = load_settings(environ={}, dotenv=dotenv)
    assert project.compose_env(settings, offline=True)["AIRFLOW_IMAGE"] == "xcom-lab-standin/airflow:3.3.1-python3.11"
    assert "AIRFLOW_IMAGE" not in project.compose_env(settings, offline=False)


def test_cli_reports_bad_backend_without_a_traceback():
    result = subprocess.run(
        [sys.executable, sandbox.__file__, "check"],
        env={"BACKEND": "nosuch", "PATH": "/usr/bin:/bin"}, capture_output=True, text=True,
    )
    assert result.returncode == 1
    assert "BACKEND='nosuch' is unknown" in result.stderr
    assert "Traceback" not in result.stderr


def test_celery_profile_enables_the_workers_and_the_executor(dotenv):
    settings = load_settings(environ={"PROFILE": "celery", "WORKERS": "5"}, dotenv=dotenv)
    env = project.compose_env(settings, offline=False)
    assert (env["COMPOSE_PROFILES"], env["AIRFLOW_EXECUTOR"], env["CELERY_EXTRA_WORKERS"]) == ("celery", "CeleryExecutor", "3")


def test_local_profile_runs_no_workers(dotenv):
    env = project.compose_env(load_settings(environ={}, dotenv=dotenv), offline=False)
    assert "AIRFLOW_EXECUTOR" not in env and env.get("COMPOSE_PROFILES") != "celery"


def test_mwaa_mode_runs_celery_workers_as_mwaa_does(dotenv):
    settings = load_settings(environ={"MWAA": "1"}, dotenv=dotenv)
    env = project.compose_env(settings, offline=True)
    assert (env["COMPOSE_PROFILES"], env["AIRFLOW_EXECUTOR"], env["CELERY_EXTRA_WORKERS"]) == ("celery", "CeleryExecutor", "0")


@pytest.mark.parametrize("version, offline, image, tag", [
    ("3.3.1", False, "apache/airflow:3.3.1-python3.12", "3.3.1-mwaa-python3.12"),
    ("2.11.2", False, "apache/airflow:2.11.2-python3.12", "2.11.2-mwaa-python3.12"),
    ("2.10.3", False, None, "2.10.3-mwaa"), ("3.3.1", True, "xcom-lab-standin/airflow:3.3.1-mwaa-python3.11", "3.3.1-mwaa")])
def test_mwaa_mode_builds_mwaas_package_set_on_mwaas_python(dotenv, monkeypatch, version, offline, image, tag):
    monkeypatch.delenv("AIRFLOW_IMAGE", raising=False)
    settings = load_settings(environ={"MWAA": "1", "AIRFLOW_VERSION": version}, dotenv=dotenv)
    env = project.compose_env(settings, offline=offline)
    assert env.get("AIRFLOW_IMAGE") == image  # None: the compose file's default, apache/airflow:<v>-python3.11
    assert env["AIRFLOW_IMAGE_TAG"] == tag  # apart from the sandbox's image of the same version
    python = "3.12" if tag.endswith("python3.12") else "3.11"
    assert env["XCOM_LAB_AIRFLOW_LOCK"] == f"compose/mwaa-packages/{version}/lock-python{python}.txt"
    assert (ROOT / env["XCOM_LAB_AIRFLOW_LOCK"]).exists()
    forced = env["XCOM_LAB_MWAA_CONSTRAINTS"]
    assert (ROOT / "compose" / "mwaa-packages" / version / forced).exists()


def test_the_sandbox_keeps_its_own_lock_and_image(dotenv):
    env = project.compose_env(load_settings(environ={"AIRFLOW_VERSION": "3.3.1"}, dotenv=dotenv), offline=True)
    assert (env["AIRFLOW_IMAGE_TAG"], env["XCOM_LAB_AIRFLOW_LOCK"]) == ("3.3.1", "compose/airflow/requirements-3.3.1.txt")
    assert env["AIRFLOW_IMAGE"] == "xcom-lab-standin/airflow:3.3.1-python3.11" and "XCOM_LAB_MWAA_CONSTRAINTS" not in env


# --- a user's own backend (make check) ---------------------------------------------------------------------

def custom(dotenv, **environ):
    return load_settings(environ={"XCOM_BACKEND": "my_xcom.S3XComBackend", **environ}, dotenv=dotenv)


def test_a_module_file_is_mounted_inside_plugins(dotenv, tmp_path):
    module = tmp_path / "my_xcom.py"
    module.write_text("")
    settings = custom(dotenv, BACKEND_SRC=str(module))
    assert custom_backend_source(settings) == (module, "/opt/airflow/plugins/my_xcom.py")
    assert compose_files(settings, offline=True)[-1].name == "custom-backend.yml"


def test_a_package_folder_goes_inside_plugins_and_a_plain_folder_becomes_plugins(dotenv, tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    assert custom_backend_source(custom(dotenv, BACKEND_SRC=str(tmp_path / "pkg")))[1] == "/opt/airflow/plugins/pkg"
    assert custom_backend_source(custom(dotenv, BACKEND_SRC=str(tmp_path)))[1] == "/opt/airflow/plugins"


def test_a_folder_with_a_pyproject_is_installed_into_an_image_not_mounted(dotenv, tmp_path):
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    settings = custom(dotenv, BACKEND_SRC=str(tmp_path))
    assert custom_backend_source(settings) is None
    assert custom_backend_package(settings) == tmp_path
    assert project.compose_env(settings, offline=True)["XCOM_LAB_COMPONENT_IMAGE"] == "xcom-lab/airflow-custom:3.3.1"


def test_default_connections_point_at_the_emulators_and_the_users_env_wins(dotenv, tmp_path):
    env_file = tmp_path / "backend.env"
    env_file.write_text("AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_THRESHOLD=5000\nAIRFLOW__CORE__XCOM_BACKEND=other.Class\n")
    values = custom_backend_env(custom(dotenv, BACKEND_ENV=str(env_file)))
    assert '"endpoint_url": "http://s3:9000"' in values["AIRFLOW_CONN_AWS_DEFAULT"]
    assert values["AWS_ENDPOINT_URL"] == "http://s3:9000"  # plain boto3 never reaches a real cloud
    assert values["AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_THRESHOLD"] == "5000"
    assert values["AIRFLOW__CORE__XCOM_BACKEND"] == "my_xcom.S3XComBackend"  # XCOM_BACKEND names the class


@pytest.mark.parametrize(("environ", "message"), [
    ({"XCOM_BACKEND": "S3XComBackend"}, "not a dotted class path"),
    ({"BACKEND_SRC": "/nowhere/my_xcom.py"}, "BACKEND_SRC=/nowhere/my_xcom.py does not exist"),
])
def test_custom_backend_settings_are_checked(dotenv, environ, message):
    with pytest.raises(SandboxError, match=message):
        custom(dotenv, **environ)


def test_check_mwaa_runs_the_backend_from_an_mwaa_bucket_on_mwaas_package_set(dotenv, tmp_path, monkeypatch):
    """`make check MWAA=1`: the user's module in the bucket's plugins/, REQUIREMENTS as its requirements.txt (MWAA's
    constraints forced at start, no image of its own), core.xcom_backend its option, the check's DAGs in dags/."""
    from xcomlab_harness.stack import custom_backend

    monkeypatch.setattr(custom_backend, "CHECK_BUCKETS", tmp_path / "buckets")
    module, requirements = tmp_path / "my_xcom.py", tmp_path / "requirements.txt"
    module.write_text("class S3XComBackend: ...\n")
    requirements.write_text("cowsay==6.1\n")
    environ = {"XCOM_BACKEND": "my_xcom.S3XComBackend", "BACKEND_SRC": str(module), "REQUIREMENTS": str(requirements),
               "MWAA": "1"}
    bucket = write_check_bucket(environ)
    assert (bucket / "plugins" / "my_xcom.py").read_text() == module.read_text()
    assert (bucket / "requirements.txt").read_text() == "cowsay==6.1\n"
    assert (bucket / "requirements.txt").stat().st_mode & 0o777 == 0o640
    assert json.loads((bucket / "airflow-configuration-options.json").read_text()) == {
        "core.xcom_backend": "my_xcom.S3XComBackend"}
    assert {p.name for p in (bucket / "dags").iterdir()} >= {"xcom_push_pull.py", "xcom_check_types.py"}
    # the same content is the same folder (running components mount it); changed code is a new one, the old gone
    assert write_check_bucket(environ) == bucket and bucket.exists()
    module.write_text("class S3XComBackend: fixed = True\n")
    changed = write_check_bucket(environ)
    assert changed != bucket and not bucket.exists() and [p.name for p in (tmp_path / "buckets").iterdir()] == [changed.name]
    bucket = changed
    settings = custom(dotenv, **environ, MWAA_DIR=str(bucket))
    files = [f.name for f in compose_files(settings, offline=True)]
    assert files.index("mwaa.yml") < files.index("custom-backend.yml")  # the check's env file over MWAA's reset
    assert "AIRFLOW__CORE__XCOM_BACKEND" not in custom_backend_env(settings)  # the option alone, as on MWAA
    env = project.compose_env(settings, offline=True)
    assert env["XCOM_LAB_COMPONENT_IMAGE"] == "xcom-lab/airflow:3.3.1-mwaa"
    assert env["MWAA_DIR"] == str(bucket)
