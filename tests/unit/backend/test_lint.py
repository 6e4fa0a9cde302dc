"""xcomlab.lint against this Airflow's real configuration schema (the host's Airflow and providers)."""

from __future__ import annotations

import json

import pytest

from xcomlab import lint

# The options `make mwaa-validate` once called AVAILABLE, and the same options corrected.
BROKEN_OPTIONS = {"core.xcom_backend": lint.PROVIDER, "common.io.xcom_objectstore_path": "s3://aws_default@xcom/xcom",
                  "common.io.xcom_objectstorage_threshold": "1000", "common.io.xcom_objectstorage_compression": "gz"}
CORRECT_OPTIONS = {"core.xcom_backend": lint.PROVIDER, "common.io.xcom_objectstorage_path": "s3://aws_default@xcom/xcom",
                   "common.io.xcom_objectstorage_threshold": "1000", "common.io.xcom_objectstorage_compression": "gzip"}
# The tutorial's variables: a dot in the name, and a misspelt option.
TUTORIAL_ENV = ("AIRFLOW__CORE__XCOM_BACKEND=airflow.providers.common.io.xcom.backend.XComObjectStorageBackend\n"
                "AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_PATH=s3://aws_default@xcom/xcom\n"
                "AIRFLOW__COMMON.IO__XCOM_OBJECTSTORAGE_THRESHOLD=1000\n"
                "AIRFLOW__COMMON_IO__XCOM_OBJECTSTORE_COMPRESSION=gzip\n")


@pytest.fixture(scope="module")
def sections():
    return lint.schema()


@pytest.fixture(autouse=True)
def aws_default(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", "aws://")


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_the_schema_holds_core_the_providers_and_xcomlab(sections):
    assert "xcom_backend" in sections["core"]
    assert "xcom_objectstorage_path" in sections["common.io"]
    assert "objectstorage_path" in sections["xcomlab"]


def test_a_misspelt_option_and_a_bad_codec_are_named_with_the_fix(tmp_path, sections):
    findings = lint.lint(options_files=[write(tmp_path, "o.json", json.dumps(BROKEN_OPTIONS))], sections=sections)
    text = "\n".join(map(str, findings))
    assert "common.io.xcom_objectstore_path: no such option" in text
    assert "did you mean common.io.xcom_objectstorage_path" in text
    assert "'gz' is not a codec" in text and "gzip" in text
    assert "reads common.io.xcom_objectstorage_path, which is not set" in text  # the path nobody set


def test_the_corrected_options_have_no_finding(tmp_path, sections):
    assert lint.lint(options_files=[write(tmp_path, "o.json", json.dumps(CORRECT_OPTIONS))], sections=sections) == []


def test_the_tutorials_variables_are_both_caught(tmp_path, sections):
    findings = lint.lint(env_files=[write(tmp_path, ".env", TUTORIAL_ENV)], sections=sections)
    text = "\n".join(map(str, findings))
    assert "AIRFLOW__COMMON.IO__XCOM_OBJECTSTORAGE_THRESHOLD: a variable name with a dot" in text
    assert "write AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_THRESHOLD" in text
    assert "AIRFLOW__COMMON_IO__XCOM_OBJECTSTORE_COMPRESSION: no such option" in text
    assert "did you mean AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_COMPRESSION" in text
    assert "XCOM_OBJECTSTORAGE_THRESHOLD, which is not set" in text  # the dotted one does not count
    assert len(findings) == 3


@pytest.mark.parametrize("line, expected", [
    ("AIRFLOW__CORE__PARALLELISM=lots", "not an integer"),
    ("AIRFLOW__CORE__LOAD_EXAMPLES=maybe", "not a boolean"),
    ("AIRFLOW__XCOMLAB__COMPRESSION=snappy", "not one of xcomlab's codecs"),
    ("AIRFLOW__XCOMLAB__OBJECTSTORAGE_PATH=nowhere/xcom", "has no scheme"),
    ("AIRFLOW__XCOMLAB__OBJECTSTORAGE_PATH=s4://x@b/xcom", "no filesystem is registered for s4://"),
    ("AIRFLOW__XCOMLAB__OBJECTSTORAGE_PATH=s3://nobody_defined_this@b/xcom", "connection 'nobody_defined_this' is not defined"),
    ("AIRFLOW__CORUE__XCOM_BACKEND=x.Y", "no such section"),
    ("AIRFLOW__SCHEDULER__DAG_DIR_LIST_INTERVAL=5", "deprecated"),
    ("AIRFLOW__CORE__XCOM_BACKEND=xcomlab.objectstorage.XComObjectStorageBackend", "AIRFLOW__XCOMLAB__OBJECTSTORAGE_PATH, which is not set"),
])
def test_values_by_type_and_meaning(tmp_path, sections, line, expected):
    findings = lint.lint(env_files=[write(tmp_path, ".env", line + "\n")], sections=sections)
    assert any(expected in str(f) for f in findings), findings


@pytest.mark.parametrize("line", ["AIRFLOW__CORE__PARALLELISM=16", "AIRFLOW__CORE__LOAD_EXAMPLES=false",
                                  "AIRFLOW__XCOMLAB__THRESHOLD=1000", "AIRFLOW_CONN_AWS_DEFAULT=aws://",
                                  "AIRFLOW__CORE__FERNET_KEY_CMD=cat /run/key", "POSTGRES_USER=airflow"])
def test_valid_settings_and_other_variables_pass(tmp_path, sections, line):
    assert lint.lint(env_files=[write(tmp_path, ".env", line + "\n")], sections=sections) == []


def test_airflow_cfg_sections_are_checked(tmp_path, sections):
    cfg = write(tmp_path, "airflow.cfg", "[core]\nxcom_backend = xcomlab.redis.XComRedisBackend\n"
                                          "[common.io]\nxcom_objectstore_path = s3://aws_default@x/y\n")
    findings = lint.lint(cfg_files=[cfg], sections=sections)
    assert [f.where for f in findings] == ["airflow.cfg: [common.io] xcom_objectstore_path"]


def test_main_exits_1_and_counts(tmp_path, capsys, sections, monkeypatch):
    monkeypatch.setattr(lint, "schema", lambda: sections)
    assert lint.main(["--env", str(write(tmp_path, ".env", TUTORIAL_ENV))]) == 1
    assert "3 finding(s)" in capsys.readouterr().out
