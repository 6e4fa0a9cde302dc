"""xcomlab_tools.lint against this Airflow's real configuration schema (the host's Airflow and providers)."""

from __future__ import annotations

import importlib.util
import json

import pytest

from xcomlab_tools import lint

# The options `make mwaa-validate` once called AVAILABLE, and the same options corrected.
BROKEN_OPTIONS = {"core.xcom_backend": lint.PROVIDER, "common.io.xcom_objectstore_path": "s3://aws_default@xcom/xcom",
                  "common.io.xcom_objectstorage_threshold": "1000", "common.io.xcom_objectstorage_compression": "gz"}
CORRECT_OPTIONS = {"core.xcom_backend": lint.PROVIDER, "common.io.xcom_objectstorage_path": "s3://aws_default@xcom/xcom",
                   "common.io.xcom_objectstorage_threshold": "1000", "common.io.xcom_objectstorage_compression": "gzip"}
# The tutorial's variables: a dot in the name, and a misspelt option.
# s3fs is not in the unit tests' venv (the sandbox's images have it): the lint rightly reports that here.
S3FS_INSTALLED = importlib.util.find_spec("s3fs") is not None
SECRETS_MANAGER = "airflow.providers.amazon.aws.secrets.secrets_manager.SecretsManagerBackend"
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


def usable_here(findings):
    """The findings, less the one about s3fs when this venv lacks it."""
    return [f for f in findings if S3FS_INSTALLED or "s3fs" not in f.rule]


def test_the_corrected_options_have_no_finding(tmp_path, sections):
    findings = lint.lint(options_files=[write(tmp_path, "o.json", json.dumps(CORRECT_OPTIONS))], sections=sections)
    assert usable_here(findings) == []


def test_the_tutorials_variables_are_both_caught(tmp_path, sections):
    findings = usable_here(lint.lint(env_files=[write(tmp_path, ".env", TUTORIAL_ENV)], sections=sections))
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
    ("AIRFLOW__CORE__LOAD_EXAMPLES=yes", "not a boolean"),  # configparser's yes/on: Airflow's getboolean refuses them
    ("AIRFLOW__API__EXPOSE_CONFIG=maybe", "not a boolean"),
    # Airflow reads an empty variable as '' (the default applies only when the variable is absent)
    ("AIRFLOW__CORE__PARALLELISM=", "an empty value is not unset"),
    ("AIRFLOW__XCOMLAB__THRESHOLD=", "getint fails"),
    ("AIRFLOW__CORE__PARALLELISM_CMD=echo 4", "only for sensitive options"),
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
                                  "AIRFLOW__CORE__FERNET_KEY_CMD=cat /run/key", "POSTGRES_USER=airflow",
                                  # an option whose own name ends in _SECRET (the sandbox's compose file sets it)
                                  "AIRFLOW__API_AUTH__JWT_SECRET=sandbox", "AIRFLOW__API_AUTH__JWT_SECRET_CMD=cat /run/jwt",
                                  "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_SECRET=airflow/db",
                                  # a string option with a False default, documented values beyond booleans
                                  "AIRFLOW__API__EXPOSE_CONFIG=non-sensitive-only", "AIRFLOW__API__EXPOSE_CONFIG=True",
                                  "AIRFLOW__CORE__LOAD_EXAMPLES=True # the sandbox's",  # getboolean drops the comment
                                  "AIRFLOW__CORE__DEFAULT_TASK_EXECUTION_TIMEOUT=",  # empty is this option's default
                                  "AIRFLOW__XCOMLAB__OBJECTSTORAGE_PATH=file:///tmp/xcom"])
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
    assert f"{3 if S3FS_INSTALLED else 4} finding(s)" in capsys.readouterr().out  # 4: and s3fs is missing


def test_env_files_are_read_as_compose_reads_them(tmp_path, sections):
    dotenv = write(tmp_path, ".env", "XCOM_THRESHOLD=1000 # bytes\nexport WORKERS='4'\n")
    backend = write(tmp_path, "backend.env", "AIRFLOW__XCOMLAB__THRESHOLD=${XCOM_THRESHOLD}\n"
                                             'AIRFLOW__CORE__PARALLELISM="${PARALLELISM:-32}"  # per scheduler\n'
                                             "AIRFLOW__CELERY__WORKER_CONCURRENCY=${WORKERS}\n")
    settings, _, _ = lint.collect(env_files=[dotenv, backend], sections=sections)
    assert {s.option: s.value for s in settings} == {"threshold": "1000", "parallelism": "32", "worker_concurrency": "4"}
    assert lint.lint(env_files=[dotenv, backend], sections=sections) == []


@pytest.mark.skipif(S3FS_INSTALLED, reason="needs a venv without s3fs")
def test_a_missing_s3fs_is_caught_and_named(tmp_path, sections):
    line = "AIRFLOW__XCOMLAB__OBJECTSTORAGE_PATH=s3://aws_default@xcom/xcomlab\n"
    findings = lint.lint(env_files=[write(tmp_path, ".env", line)], sections=sections)
    assert len(findings) == 1 and "s3:// needs the s3fs package, which is not installed here" in findings[0].rule
    assert "install s3fs" in findings[0].fix


def airflow_2(sections):
    """This schema plus the option Airflow 2 has and Airflow 3 dropped."""
    return dict(sections, core=dict(sections["core"], enable_xcom_pickling={"type": "boolean", "default": "False"}))


@pytest.mark.parametrize("backend, why", [
    ("xcomlab.redis.XComRedisBackend", "xcomlab's backends ignore it: their rows stay JSON and are never unpickled"),
    (lint.PROVIDER, "runs code on the workers; and xcomlab's audit cannot read pickled rows"),
])
def test_xcom_pickling_with_an_offloading_backend_is_a_finding_on_airflow_2(tmp_path, sections, backend, why):
    env = write(tmp_path, ".env", f"AIRFLOW__CORE__XCOM_BACKEND={backend}\nAIRFLOW__CORE__ENABLE_XCOM_PICKLING=True\n")
    findings = [f for f in lint.lint(env_files=[env], sections=airflow_2(sections)) if "pickl" in f.rule]
    assert len(findings) == 1, findings
    assert findings[0].where == ".env: AIRFLOW__CORE__ENABLE_XCOM_PICKLING"
    assert why in findings[0].rule
    assert "AIRFLOW__CORE__ENABLE_XCOM_PICKLING=False" in findings[0].fix


def test_xcom_pickling_off_or_on_airflow_3_is_no_pickling_finding(tmp_path, sections):
    backend = "AIRFLOW__CORE__XCOM_BACKEND=xcomlab.redis.XComRedisBackend\n"
    off = write(tmp_path, "off.env", backend + "AIRFLOW__CORE__ENABLE_XCOM_PICKLING=False\n")
    assert lint.lint(env_files=[off], sections=airflow_2(sections)) == []
    on = write(tmp_path, "on.env", backend + "AIRFLOW__CORE__ENABLE_XCOM_PICKLING=True\n")
    assert ["no such option" in f.rule for f in lint.lint(env_files=[on], sections=sections)] == [True]  # 3.x ignores it


def test_a_deprecated_name_beside_its_replacement_with_the_same_value_is_fine(tmp_path, sections):
    """A file serving Airflow 2 and 3 sets both names; Airflow 3 reads the new one."""
    same = write(tmp_path, "same.env", "AIRFLOW__SCHEDULER__DAG_DIR_LIST_INTERVAL=5\nAIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL=5\n")
    assert lint.lint(env_files=[same], sections=sections) == []
    differ = write(tmp_path, "differ.env", "AIRFLOW__SCHEDULER__DAG_DIR_LIST_INTERVAL=5\nAIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL=30\n")
    findings = lint.lint(env_files=[differ], sections=sections)
    assert len(findings) == 1 and "dag_processor.refresh_interval is set too, to '30'" in findings[0].rule


def test_a_connection_kept_in_a_secrets_backend_cannot_be_verified_and_does_not_fail(tmp_path, sections, capsys,
                                                                                      monkeypatch):
    options = {"core.xcom_backend": "xcomlab.objectstorage.XComObjectStorageBackend",
               "xcomlab.objectstorage_path": "s3://xcom_prod@xcom/xcomlab", "secrets.backend": SECRETS_MANAGER,
               "secrets.backend_kwargs": '{"connections_prefix": "airflow/connections"}'}
    path = write(tmp_path, "options.json", json.dumps(options))
    findings = usable_here(lint.lint(options_files=[path], sections=sections))
    assert [(f.unverified, f.where) for f in findings] == [(True, "options.json: xcomlab.objectstorage_path")]
    assert "connection 'xcom_prod': cannot verify (kept in SecretsManagerBackend" in findings[0].rule
    assert "airflow/connections/xcom_prod" in findings[0].fix
    monkeypatch.setattr(lint, "schema", lambda: sections)
    assert lint.main(["--options", str(path)]) == (0 if S3FS_INSTALLED else 1)  # 1: only for the missing s3fs
    assert f"{0 if S3FS_INSTALLED else 1} finding(s), 1 that cannot be verified here" in capsys.readouterr().out


@pytest.mark.skipif(importlib.util.find_spec("airflow.providers.celery") is not None, reason="needs a venv without it")
def test_an_option_of_a_provider_not_installed_here_cannot_be_verified(tmp_path, sections):
    """This venv has no celery provider: Airflow knows [celery] only from its fallback defaults."""
    findings = lint.lint(env_files=[write(tmp_path, ".env", "AIRFLOW__CELERY__RESULT_BACKEND=db+postgresql://x\n")],
                         sections=sections)
    assert [(f.unverified, "[celery] belongs to a provider that is not installed here" in f.rule) for f in findings] \
        == [(True, True)]
