"""The preflight's verdict on MWAA configuration options, from the settings lint under this Airflow."""

import importlib.util
import json

import pytest

from xcomlab_tools.mwaa import entrypoint, preflight

SECRETS_MANAGER = "airflow.providers.amazon.aws.secrets.secrets_manager.SecretsManagerBackend"
OPTIONS = {"core.xcom_backend": "xcomlab.objectstorage.XComObjectStorageBackend",
           "xcomlab.objectstorage_path": "s3://xcom_prod@my-bucket/xcomlab"}


@pytest.fixture
def verdict(tmp_path):
    def lint(config):
        path = tmp_path / "airflow-configuration-options.json"
        path.write_text(json.dumps(config), encoding="utf-8")
        problems, notes = preflight.lint_options(path)
        if importlib.util.find_spec("s3fs") is None:  # true in this venv, not in MWAA's image: left out here
            problems = [p for p in problems if "s3fs" not in p.error]
        return preflight.report("3.3.1", problems, notes)
    return lint


def test_a_connection_kept_in_the_secrets_backend_is_noted_not_failed(verdict):
    text = verdict(dict(OPTIONS, **{"secrets.backend": SECRETS_MANAGER}))
    assert "connection 'xcom_prod': cannot verify (kept in SecretsManagerBackend" in text
    assert text.endswith("Verdict: AVAILABLE")


def test_a_connection_nobody_defines_deploys_then_fails(verdict):
    text = verdict(OPTIONS)
    assert "DEPLOYS_THEN_FAILS: airflow-configuration-options.json: xcomlab.objectstorage_path" in text
    assert "connection 'xcom_prod' is not defined" in text
    assert text.endswith("Verdict: DEPLOYS_THEN_FAILS")


@pytest.fixture
def requirements_verdict(tmp_path, monkeypatch):
    """The preflight's report on a bucket holding only requirements.txt (pip is not run: pip_succeeds says its fate)."""
    bucket, home = tmp_path / "bucket", tmp_path / "home"
    bucket.mkdir()
    home.mkdir()
    (bucket / "airflow-configuration-options.json").write_text("{}")
    (tmp_path / "lock.txt").write_text("boto3==1.40.0\n")
    (tmp_path / "essential.txt").write_text("celery==5.6.3\n")
    for name, value in {"BUCKET": bucket, "HOME": home, "OPTIONS_FILE": bucket / "airflow-configuration-options.json",
                        "CONSTRAINTS": tmp_path / "lock.txt", "ESSENTIAL_CONSTRAINTS": tmp_path / "essential.txt",
                        "install_requirements": lambda env: installed[0]}.items():
        monkeypatch.setattr(preflight, name, value)
    for name, value in {"BUCKET": bucket, "HOME": home}.items():  # where deploy_requirements reads and writes
        monkeypatch.setattr(entrypoint, name, value)

    installed = [True]

    def run(text, airflow_version, beside=None, pip_succeeds=True):
        installed[0] = pip_succeeds
        (bucket / "requirements.txt").write_text(text)
        for name, content in (beside or {}).items():
            (bucket / name).write_text(content)
        return preflight.report(airflow_version, *preflight.check(airflow_version))
    return run


def test_requirements_markers_follow_the_python_mwaa_runs_for_that_airflow(requirements_verdict):
    text = 'boto3>=2; python_version < "3.12"\n'  # MWAA: 2.10.x on Python 3.11, 2.11+ on 3.12
    assert "REQUIREMENTS_NOT_INSTALLED: requirements.txt" in requirements_verdict(text, "2.10.3")
    assert requirements_verdict(text, "2.11.2").endswith("Verdict: AVAILABLE")


def test_an_essential_pin_fails_the_requirements_even_with_own_constraints(requirements_verdict):
    text = requirements_verdict("-c https://example.invalid/c.txt\ncelery==5.5.0\n", "3.3.1")
    assert "requirements.txt line 2: 'celery==5.5.0' conflicts with celery==5.6.3" in text
    assert "Notice that MWAA enforces a list of critical packages" in text
    assert text.endswith("Verdict: REQUIREMENTS_NOT_INSTALLED")


def test_an_include_beside_requirements_in_the_bucket_is_not_there_on_mwaa(requirements_verdict):
    """MWAA downloads requirements.txt alone into $AIRFLOW_HOME/requirements/: `-r extra.txt` finds nothing."""
    text = requirements_verdict("-r extra.txt\n", "3.3.1", beside={"extra.txt": "boto3==1.40.0\n"})
    assert "Could not open requirements file extra.txt" in text
    assert "MWAA downloads requirements.txt alone" in text and "/usr/local/airflow/plugins/extra.txt" in text
    assert text.endswith("Verdict: REQUIREMENTS_NOT_INSTALLED")


def test_requirements_pip_cannot_resolve_fail_though_no_pin_excludes_a_line(requirements_verdict):
    """A dependency's own range against the constraints (no line of the file names it): only pip finds it."""
    text = requirements_verdict("apache-airflow-providers-snowflake\n", "3.3.1", pip_succeeds=False)
    assert "REQUIREMENTS_NOT_INSTALLED: requirements.txt" in text and "pip cannot install them" in text
    assert text.endswith("Verdict: REQUIREMENTS_NOT_INSTALLED")
