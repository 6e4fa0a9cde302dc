"""MWAA configuration options: refused as MWAA's API refuses them, applied in MWAA's priority order."""

import json

import pytest

from xcomlab_tools.mwaa import options


def load(tmp_path, content):
    path = tmp_path / "airflow-configuration-options.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return options.load(path)


def test_valid_options_become_airflow_variables(tmp_path):
    config = load(tmp_path, {"core.xcom_backend": "pkg.mod.MyXCom", "common.io.xcom_objectstorage_threshold": "0"})
    assert options.to_environ(config) == {
        "AIRFLOW__CORE__XCOM_BACKEND": "pkg.mod.MyXCom",
        "AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_THRESHOLD": "0",
    }


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"Core.xcom_backend": "x"}, r"key 'Core.xcom_backend' does not match MWAA's pattern .*: keys are lowercase: write 'core.xcom_backend'"),
        ({"core.xcom_backend.": "x"}, r"key 'core.xcom_backend.' does not match MWAA's pattern"),
        ({"core." + "k" * 60: "x"}, r"is 65 characters long: MWAA allows 1 to 64"),
        ({"xcom_backend": "x"}, r"key 'xcom_backend' has no section: write it as section.option, e.g. core.xcom_backend"),
        ({"core.multi_team": "True"}, r"key 'core.multi_team' is an option MWAA does not let you set"),
        ({"core.xcom_backend": ""}, r"value of 'core.xcom_backend' is 0 characters long: MWAA allows 1 to 65536"),
        ({"core.xcom_backend": "x" * 65537}, r"value of 'core.xcom_backend' is 65537 characters long"),
        ({"webserver.instance_name": "Zürich"}, r"value of 'webserver.instance_name' has 'ü' \(U\+00FC\) at position 1: MWAA takes printable ASCII only"),
        ({"core.parallelism": "a\tb"}, r"value of 'core.parallelism' has '\\t' \(U\+0009\) at position 1"),
        ({"core.parallelism": 32}, r"value of 'core.parallelism' is int 32: MWAA takes strings only, write \"32\""),
    ],
)
def test_each_refusal_names_the_key_and_the_rule(tmp_path, config, message):
    with pytest.raises(options.OptionsError, match=message):
        load(tmp_path, config)


def test_every_problem_is_listed_not_just_the_first(tmp_path):
    with pytest.raises(options.OptionsError) as err:
        load(tmp_path, {"BAD": "x", "core.ok": "", "core.fine": "yes"})
    assert len(err.value.problems) == 2
    assert "ValidationException" in str(err.value)


@pytest.mark.parametrize("content", ['{"core.xcom_backend": ', '["core.xcom_backend"]'])
def test_not_a_json_object_is_refused(tmp_path, content):
    with pytest.raises(options.OptionsError, match="JSON"):
        load(tmp_path, content)


def test_priority_options_beat_startup_exports_and_reserved_names_are_restored():
    container = {"AIRFLOW__CORE__EXECUTOR": "LocalExecutor", "AIRFLOW_HOME": "/usr/local/airflow", "PATH": "/bin"}
    startup = {
        "PYTHONPATH": "/usr/local/airflow/include",  # reserved: dropped
        "AIRFLOW_HOME": "/tmp",  # reserved: the container's value stays
        "AIRFLOW__CORE__XCOM_BACKEND": "from.startup.XCom",  # beaten by the options
        "MY_SETTING": "kept",
    }
    config = {"core.xcom_backend": "from.options.XCom", "core.executor": "CeleryExecutor"}
    env = options.merge(container, startup, config)
    assert "PYTHONPATH" not in env
    assert env["AIRFLOW_HOME"] == "/usr/local/airflow"
    assert env["AIRFLOW__CORE__XCOM_BACKEND"] == "from.options.XCom"
    assert env["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"  # essential: MWAA's own value wins
    assert env["MY_SETTING"] == "kept"
    assert options.overridden(config) == ["core.executor"]
