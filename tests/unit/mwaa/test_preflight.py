"""The preflight's verdict on MWAA configuration options, from the settings lint under this Airflow."""

import importlib.util
import json

import pytest

from xcomlab.mwaa import preflight

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
