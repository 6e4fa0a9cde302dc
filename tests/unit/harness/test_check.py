"""make check's settings (xcomlab_harness.check): which scenarios run, under which name."""

import pytest

from xcomlab_harness import check, sandbox


def test_all_scenarios_run_in_order_by_default_and_loads_always():
    assert check.selected({}) == list(check.ALL)
    assert check.selected({"SCENARIOS": "types, toy"}) == ["loads", "toy", "types"]


def test_an_unknown_scenario_is_named_with_the_choices():
    with pytest.raises(sandbox.SandboxError, match=r"unknown tpyes; choose among loads, toy"):
        check.selected({"SCENARIOS": "tpyes"})


def test_a_built_in_backend_is_named_after_its_env_file():
    settings = sandbox.load_settings(environ={"BACKEND": "xcomlab-s3"})
    assert check.backend_under_test(settings) == ("xcomlab.objectstorage.XComObjectStorageBackend", "xcomlab-s3")
    custom = sandbox.load_settings(environ={"XCOM_BACKEND": "my_xcom.S3XComBackend"})
    assert check.backend_under_test(custom) == ("my_xcom.S3XComBackend", "S3XComBackend")


def test_without_a_backend_it_says_how_to_name_one(capsys, monkeypatch):
    monkeypatch.delenv("XCOM_BACKEND", raising=False)
    monkeypatch.delenv("BACKEND", raising=False)
    assert check.main() == 2
    assert "XCOM_BACKEND is not set" in capsys.readouterr().err
