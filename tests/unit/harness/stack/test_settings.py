"""Settings (xcomlab_harness.stack.settings): the typed views of .env, and copies with overrides still count."""

import pytest

from xcomlab_harness.stack import project, state
from xcomlab_harness.stack.paths import DOTENV
from xcomlab_harness.stack.console import SandboxError
from xcomlab_harness.stack.settings import Settings, airflow_major, check_mwaa_version, load_settings


@pytest.fixture
def dotenv(tmp_path):
    path = tmp_path / ".env"
    path.write_text(DOTENV.read_text())
    return path


def test_the_project_env_reads_as_typed_values(dotenv):
    settings = load_settings(environ={}, dotenv=dotenv)
    assert isinstance(settings, Settings)
    assert (settings.version, settings.major, settings.mwaa, settings.celery) == ("3.3.1", 3, False, False)
    assert (settings.workers, settings.s3_emulator, settings.xcom_backend) == (2, "minio", "")


@pytest.mark.parametrize(("value", "choice"), [("auto", None), ("1", True), ("0", False)])
def test_offline_choice_is_none_only_for_auto(dotenv, value, choice):
    assert load_settings(environ={"OFFLINE": value}, dotenv=dotenv).offline_choice is choice


@pytest.mark.parametrize(("environ", "celery"), [
    ({"PROFILE": "celery"}, True), ({"MWAA": "1"}, True), ({"PROFILE": "local", "MWAA": "0"}, False)])
def test_celery_means_tasks_run_on_workers_which_mwaa_mode_always_does(dotenv, environ, celery):
    assert load_settings(environ=environ, dotenv=dotenv).celery is celery


def test_the_port_defaults_to_8080_when_dotenv_sets_none():
    assert Settings(AIRFLOW_VERSION="3.3.1").port == "8080"
    assert Settings(AIRFLOW_VERSION="3.3.1", AIRFLOW_PORT="8181").port == "8181"


def test_a_plain_dict_copy_with_overrides_is_read_with_the_overrides(dotenv):
    settings = load_settings(environ={}, dotenv=dotenv)
    copy = dict(settings, AIRFLOW_VERSION="2.11.2", MWAA="1", OFFLINE="1")
    assert type(copy) is dict
    assert airflow_major(copy) == 2
    assert project.runs_celery(copy) is True
    assert state.offline_from_state(copy) is True
    assert [p.name for p in project.compose_files(copy, offline=False)] == ["docker-compose.yml", "airflow-2.yml", "mwaa.yml"]


def test_settings_of_the_last_up_stay_typed(dotenv, tmp_path, monkeypatch):
    monkeypatch.setattr(state, "STATE_FILE", tmp_path / "last-up.json")
    state.remember(load_settings(environ={"PROFILE": "celery", "WORKERS": "3"}, dotenv=dotenv), offline=False)
    previous = state.with_last_up(load_settings(environ={}, dotenv=dotenv), environ={})
    assert (previous.celery, previous.workers) == (True, 3)


@pytest.mark.parametrize("version", ["2.9.2", "2.11.2", "3.3.1"])
def test_a_version_mwaa_runs_is_taken(version):
    check_mwaa_version(version)


@pytest.mark.parametrize(("version", "named"), [("3.3.2", "3.3.1"), ("2.10.2", "2.10.1 and 2.10.3")])
def test_a_version_mwaa_does_not_run_is_refused_naming_the_nearest(version, named):
    with pytest.raises(SandboxError) as refused:
        check_mwaa_version(version)
    assert f"MWAA does not run Airflow {version}" in str(refused.value)
    assert f"the nearest: {named}" in str(refused.value)


def test_mwaa_mode_on_a_version_mwaa_does_not_run_is_a_settings_error(dotenv):
    with pytest.raises(SandboxError, match="MWAA does not run Airflow 3.3.2"):
        load_settings(environ={"MWAA": "1", "AIRFLOW_VERSION": "3.3.2"}, dotenv=dotenv)
