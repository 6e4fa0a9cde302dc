"""The scenarios that need no DAG (xcomlab_harness.loading): why a backend does not load, what the MWAA
preflight found for each place in the bucket, and which of the user's settings become MWAA configuration
options. No container: the preflight's output is its own report(), the schema lookup is faked."""

import json
import os
import stat
import subprocess

import pytest
from xcomlab_harness import loading
from xcomlab_harness.stack.settings import load_settings
from xcomlab_harness.verdict import FAIL, NOT_APPLICABLE, PASS
from xcomlab_tools.mwaa.preflight import Problem, report

# What the preflight notes for a bucket it has nothing against (xcomlab_tools.mwaa.preflight.check).
NOTES = ["configuration options: 3 accepted by MWAA's API",
         "  note: MWAA runs Airflow 3.3.1 on Python 3.12; this sandbox on 3.11 (no 3.12 is packaged for the "
         "registry-less images): a wheel built for one Python only is not caught here"]
LOADS = "core.xcom_backend: my_xcom.S3XComBackend loads (my_xcom.S3XComBackend, a subclass of airflow.sdk.bases.xcom.BaseXCom)"
THRESHOLD = Problem("DEPLOYS_THEN_FAILS",
                    "airflow-configuration-options.json: common.io.xcom_objectstorage_threshold",
                    "'1MB' is not an integer: Airflow's getint fails where it is read",
                    "write a whole number, e.g. 1000 (no units, no quotes inside the value)")
FROM_DAGS = Problem("UPDATE_FAILED", "core.xcom_backend = my_xcom.S3XComBackend",
                    "ImportError: The object could not be loaded (caused by ModuleNotFoundError: No module named 'my_xcom')",
                    "Airflow 3 loads the XCom backend before dags/ is on sys.path: move dags/my_xcom.py to plugins/my_xcom.py",
                    ("scheduler", "api-server"))


# --- first_finding: why a place did not get AVAILABLE ---------------------------------------------------------

def test_a_finding_comes_with_its_error_and_without_its_fix():
    both = Problem("UPDATE_FAILED", "plugins", "/mwaa has both plugins.zip and plugins/: MWAA deploys one; keep one of them")
    output = report("3.3.1", [both], NOTES)  # plugins/ failing: no "plugins: ..." note
    assert "    error: /mwaa has both" in output
    assert loading.first_finding(output) == "plugins: /mwaa has both plugins.zip and plugins/: MWAA deploys one; keep one of them"


def test_a_finding_with_several_errors_is_told_by_where_it_is():
    refused = Problem("ValidationException", "airflow-configuration-options.json (the API refuses the update; the "
                      "environment stays as it is)", "core.load_examples: not allowed\ncore.dags_folder: not allowed")
    output = report("3.3.1", [refused], [])  # the options file is refused: nothing else is checked
    assert loading.first_finding(output) == ("airflow-configuration-options.json (the API refuses the update; the "
                                             "environment stays as it is)")


def test_the_finding_of_a_bucket_that_deploys_then_fails_is_its_problem_not_a_note():
    output = report("3.3.1", [THRESHOLD], [*NOTES, "plugins: no plugins", LOADS])
    assert "\n    fix: write a whole number" in output and "Verdict: DEPLOYS_THEN_FAILS" in output
    assert loading.first_finding(output) == ("airflow-configuration-options.json: common.io.xcom_objectstorage_threshold: "
                                             "'1MB' is not an integer: Airflow's getint fails where it is read")


def test_a_backend_that_fails_to_load_from_dags_is_told_by_its_import_error():
    output = report("3.3.1", [FROM_DAGS], [*NOTES, "plugins: no plugins"])
    assert loading.first_finding(output) == f"{FROM_DAGS.what}: {FROM_DAGS.error}"


def test_an_available_bucket_has_no_finding():
    output = report("3.3.1", [], [*NOTES, "plugins: plugins/", LOADS])
    assert output.endswith("Verdict: AVAILABLE")
    assert loading.first_finding(output) == ""


# --- mwaa-placement ------------------------------------------------------------------------------------------

@pytest.fixture
def single_file(tmp_path):
    module = tmp_path / "my_xcom.py"
    module.write_text("class S3XComBackend: ...\n")
    return {"XCOM_BACKEND": "my_xcom.S3XComBackend", "BACKEND_SRC": str(module), "AIRFLOW_VERSION": "3.3.1"}


def placed(monkeypatch, found: dict[str, tuple[str, str]]) -> None:
    monkeypatch.setattr(loading, "user_options", lambda settings, env: {})
    monkeypatch.setattr(loading, "startup_exports", lambda settings: {})
    monkeypatch.setattr(loading, "preflight", lambda settings, place, options, exports: found[place])
    monkeypatch.setattr(loading, "prepare_mwaa_image", lambda settings: None)  # docker: the e2e builds it


def test_placement_passes_when_plugins_works_and_tells_why_the_others_do_not(single_file, monkeypatch):
    placed(monkeypatch, {"plugins": ("AVAILABLE", ""),
                         "dags": ("UPDATE_FAILED", "core.xcom_backend = my_xcom.S3XComBackend: ImportError"),
                         "include": ("AVAILABLE", "a note")})
    result = loading.mwaa_placement(single_file, {})
    assert result.status == PASS
    assert result.evidence == ("plugins/: AVAILABLE; dags/: UPDATE_FAILED (core.xcom_backend = my_xcom.S3XComBackend: "
                               "ImportError); include/: AVAILABLE")


def test_placement_fails_when_not_even_plugins_works(single_file, monkeypatch):
    placed(monkeypatch, {place: ("DEPLOYS_THEN_FAILS", "common.io.xcom_objectstorage_threshold: not an integer")
                         for place in loading.PLACES})
    result = loading.mwaa_placement(single_file, {})
    assert result.status == FAIL and result.evidence.startswith("no place in the bucket works: plugins/: DEPLOYS_THEN_FAILS (")


def test_an_installed_project_has_no_place_in_the_bucket_to_judge(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "acme-xcom"\n')
    result = loading.mwaa_placement({"XCOM_BACKEND": "acme_xcom.backend.X", "BACKEND_SRC": str(tmp_path)}, {})
    assert result.status == NOT_APPLICABLE and "requirements.txt or plugins.zip" in result.evidence


# --- user_options: the user's settings as MWAA configuration options ---------------------------------------

@pytest.fixture
def schema(monkeypatch):
    """Airflow's schema, as option_keys answers from the scheduler; records what it was asked."""
    asked = []
    known = {"AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_PATH": "common.io.xcom_objectstorage_path",
             "AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_THRESHOLD": "common.io.xcom_objectstorage_threshold"}

    def option_keys(env, names):
        asked.append(list(names))
        return {name: known[name] for name in names if name in known}

    monkeypatch.setattr(loading, "option_keys", option_keys)
    return asked


def test_the_users_airflow_settings_become_options_keyed_as_airflows_schema_names_them(tmp_path, schema):
    backend_env = tmp_path / "my.env"
    backend_env.write_text("# my backend's settings\n"
                           "AIRFLOW__CORE__XCOM_BACKEND=my_xcom.S3XComBackend\n"
                           "AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_PATH='s3://aws_default@xcom/data'\n"
                           "AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_THRESHOLD=1000\n"
                           "AIRFLOW__ACME__NO_SUCH_OPTION=1\n"
                           "XCOM_BUCKET=xcom\n")
    options = loading.user_options({"BACKEND_ENV": str(backend_env)}, {})
    assert options == {"common.io.xcom_objectstorage_path": "s3://aws_default@xcom/data",
                       "common.io.xcom_objectstorage_threshold": "1000",
                       "AIRFLOW__ACME__NO_SUCH_OPTION": "1"}  # unknown to the schema: as written, the preflight's lint flags it
    # core.xcom_backend is the placement's own; XCOM_BUCKET goes to startup.sh
    assert schema == [["AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_PATH", "AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_THRESHOLD",
                       "AIRFLOW__ACME__NO_SUCH_OPTION"]]


def test_without_airflow_settings_of_the_users_own_no_container_is_asked(tmp_path, schema):
    assert loading.user_options({}, {"AIRFLOW__CORE__LOAD_EXAMPLES": "False"}) == {}
    backend_env = tmp_path / "my.env"
    backend_env.write_text("AIRFLOW__CORE__XCOM_BACKEND=my_xcom.S3XComBackend\nAWS_DEFAULT_REGION=eu-west-1\n")
    assert loading.user_options({"BACKEND_ENV": str(backend_env)}, {}) == {}
    assert schema == []


# --- loads: why a backend does not load ---------------------------------------------------------------------

def test_a_package_the_image_lacks_is_named_with_how_to_give_it():
    found = {"loaded": False, "error": "ModuleNotFoundError: No module named 'smart_open'",
             "errors": ["File \"/opt/airflow/plugins/my_xcom.py\", line 3", "ModuleNotFoundError: No module named 'smart_open'"]}
    result = loading.not_loaded("airflow-scheduler", found, "my_xcom.S3XComBackend")
    assert result.status == FAIL
    assert result.evidence == "airflow-scheduler cannot load it: ModuleNotFoundError: No module named 'smart_open'"
    assert "no module 'smart_open'" in result.fix and "REQUIREMENTS=" in result.fix


def test_the_backends_own_module_missing_gets_the_cannot_load_fix_not_requirements():
    found = {"loaded": False, "error": "ModuleNotFoundError: No module named 'my_xcom'", "errors": []}
    result = loading.not_loaded("airflow-scheduler", found, "my_xcom.S3XComBackend")
    assert "requirements.in" not in result.fix and "plugins/" in result.fix


# --- the MWAA buckets mwaa-placement writes: the user's settings in startup.sh and the options ------------------

def test_a_bucket_keeps_the_users_settings_private_and_exact(tmp_path, monkeypatch):
    monkeypatch.setattr(loading, "CACHE", tmp_path / "cache")
    (tmp_path / "my_xcom.py").write_text("class S3XComBackend: ...\n")
    (tmp_path / "requirements.txt").write_text("--index-url https://me:token@pypi.example.com/simple\nacme-xcom\n")
    (tmp_path / "my.env").write_text("MY_TOKEN=it's \"quoted\" `id` $HOME $(whoami) \\\n"
                                     "AIRFLOW__ACME__SECRET=s3cr'et\n")
    settings = load_settings(environ={
        "XCOM_BACKEND": "my_xcom.S3XComBackend", "BACKEND_SRC": str(tmp_path / "my_xcom.py"),
        "BACKEND_ENV": str(tmp_path / "my.env"), "REQUIREMENTS": str(tmp_path / "requirements.txt")})
    options = {"acme.secret": "s3cr'et"}
    bucket, _ = loading.mwaa_bucket(settings, "plugins", options, loading.startup_exports(settings))

    for name in ("startup.sh", "airflow-configuration-options.json", "requirements.txt"):
        path = bucket / name
        assert stat.S_IMODE(path.stat().st_mode) == 0o640 and path.stat().st_gid == os.getegid(), name
    assert stat.S_IMODE((bucket / "plugins" / "my_xcom.py").stat().st_mode) == 0o644  # code: any container uid
    assert json.loads((bucket / "airflow-configuration-options.json").read_text())["acme.secret"] == "s3cr'et"

    # sourced as MWAA sources it (bash; sh alike): every value exactly as given, nothing run
    done = subprocess.run(["sh", "-c", '. "$1" && env -0', "sh", str(bucket / "startup.sh")],
                          env={"PATH": os.environ["PATH"]}, capture_output=True, check=True)
    exported = dict(item.split("=", 1) for item in done.stdout.decode().split("\0") if "=" in item)
    assert exported["MY_TOKEN"] == "it's \"quoted\" `id` $HOME $(whoami) \\"
    assert exported["AWS_SECRET_ACCESS_KEY"] == settings["S3_SECRET_KEY"]
    assert not any(k.startswith("AIRFLOW__") for k in exported)  # those are options


# --- task_side: the components a task-side switch of the e2e recreates ----------------------------------------

@pytest.mark.parametrize(("version", "profile", "side"), [
    ("3.3.1", "local", {"airflow-scheduler"}),
    ("2.11.2", "local", {"airflow-scheduler", "airflow-apiserver"}),
    ("3.3.1", "celery", {"airflow-worker-a", "airflow-worker-b"}),
    ("2.11.2", "celery", {"airflow-worker-a", "airflow-worker-b", "airflow-apiserver"})])
def test_the_task_side_runs_the_tasks_and_on_airflow_2_has_the_webserver_that_reads_through_the_backend(version, profile,
                                                                                                         side):
    settings = load_settings(environ={"AIRFLOW_VERSION": version, "PROFILE": profile})
    assert set(loading.task_side(settings)) == side
    assert set(loading.task_side(settings)) <= set(loading.components(settings))  # each imports the backend


# --- what a check restarts: its side of a stack already running in its mode, else everything --------------------

def running(*services: str, health: str = "healthy") -> list[dict]:
    return [{"Service": s, "State": "running", "Health": health} for s in services] + \
        [{"Service": "storage-init", "State": "exited", "ExitCode": 0}]


@pytest.mark.parametrize(("version", "side"), [("3.3.1", {"airflow-scheduler", "airflow-dag-processor"}),
                                               ("2.11.2", {"airflow-scheduler", "airflow-apiserver"})])
def test_a_check_restarts_what_runs_tasks_parses_dags_or_shows_values_when_the_stack_runs(version, side, monkeypatch):
    settings = load_settings(environ={"AIRFLOW_VERSION": version, "PROFILE": "local"})
    monkeypatch.setattr(loading, "containers", lambda env: running("postgres", *loading.components(settings)))
    assert set(loading.restarted(settings, {})) == side | {"storage-init"}  # the buckets its env file names
    assert side <= set(loading.components(settings))
    # what the last check restarted, Docker's next probe of it still to come
    monkeypatch.setattr(loading, "containers", lambda env: running("postgres", *loading.components(settings),
                                                                   health="starting"))
    assert set(loading.restarted(settings, {})) == side | {"storage-init"}


@pytest.mark.parametrize("found", [
    running("postgres"),  # no Airflow component yet: a first start
    running("postgres", "airflow-apiserver", "airflow-scheduler", "airflow-triggerer", "airflow-dag-processor",
            health="unhealthy"),
    running("postgres", "airflow-apiserver", "airflow-scheduler", "airflow-triggerer", "airflow-dag-processor",
            "airflow-worker-a", "airflow-worker-b"),  # an earlier PROFILE=celery or MWAA stack
], ids=["not-running", "unhealthy", "celery-workers-left"])
def test_a_check_restarts_everything_on_a_stack_not_running_healthy_in_its_mode(found, monkeypatch):
    monkeypatch.setattr(loading, "containers", lambda env: found)
    assert loading.restarted(load_settings(environ={"AIRFLOW_VERSION": "3.3.1", "PROFILE": "local"}), {}) == ()


@pytest.mark.parametrize("mode", [{"PROFILE": "celery"}, {"MWAA": "1"}])
def test_celery_and_mwaa_checks_restart_everything(mode, monkeypatch):
    settings = load_settings(environ={"AIRFLOW_VERSION": "3.3.1", "PROFILE": "local", **mode})
    monkeypatch.setattr(loading, "containers", lambda env: running("postgres", *loading.components(settings)))
    assert loading.restarted(settings, {}) == ()


def test_loads_names_the_components_it_restarted_and_those_the_probe_stands_for():
    settings = load_settings(environ={"AIRFLOW_VERSION": "3.3.1", "PROFILE": "local"})
    found = {"loaded": True, "class": "my_xcom.S3XComBackend", "file": "/opt/airflow/plugins/my_xcom.py"}
    everything = loading.loads_in_components(found, settings)
    assert everything.status == PASS and everything.evidence.endswith(
        "healthy with it: apiserver, scheduler, triggerer, dag-processor")
    side = loading.loads_in_components(found, settings, loading.check_side(settings))
    assert side.status == PASS and side.evidence.endswith(
        "healthy with it: scheduler, dag-processor; apiserver, triggerer: the same image, environment and mounts")
