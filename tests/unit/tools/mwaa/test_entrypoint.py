"""The entrypoint's pip install of requirements.txt, as MWAA runs it."""

import subprocess

import pytest

from xcomlab_tools.mwaa import entrypoint

MWAA_FAILURE = ("ERROR: pip installation exited with a non-zero error code. This could be the result of package "
                "conflict. Notice that MWAA enforces a list of critical packages, e.g. Airflow, Celery, among others, "
                "whose version cannot be overridden by the customer as that can break our setup. Please double check "
                "your requirements.txt file.")


@pytest.fixture
def install(tmp_path, monkeypatch, capsys):
    """Runs install_requirements on a requirements.txt; returns pip's command and timeout, and what was logged."""
    for name, value in {"BUCKET": tmp_path / "bucket", "HOME": tmp_path / "home"}.items():
        monkeypatch.setattr(entrypoint, name, value)
        value.mkdir()
    monkeypatch.setattr(entrypoint, "CONSTRAINTS", tmp_path / "lock.txt")

    def run(text, essential=None, returncode=0):
        (tmp_path / "bucket" / "requirements.txt").write_text(text)
        monkeypatch.setattr(entrypoint, "ESSENTIAL_CONSTRAINTS", essential)
        calls = []

        def fake_run(command, **kwargs):
            calls.append((command, kwargs["timeout"]))
            if returncode is None:
                raise subprocess.TimeoutExpired(command, kwargs["timeout"])
            return subprocess.CompletedProcess(command, returncode)
        monkeypatch.setattr(entrypoint.subprocess, "run", fake_run)
        installed = entrypoint.install_requirements({})
        assert installed == (returncode == 0)  # the preflight's verdict follows it
        return calls, capsys.readouterr().err
    return run


def pip_args(command):
    return command[command.index("install") + 1:]


def test_essential_constraints_apply_even_when_the_file_has_its_own(install, tmp_path):
    essential = tmp_path / "essential.txt"
    calls, _ = install("-c /usr/local/airflow/dags/constraints.txt\nboto3\n", essential=essential)
    target = tmp_path / "home" / "requirements" / "requirements.txt"
    assert pip_args(calls[0][0])[-4:] == ["--constraint", str(essential), "-r", str(target)]


def test_without_essential_constraints_only_the_forced_ones_apply(install, tmp_path):
    calls, _ = install("boto3\n")
    assert "--constraint" not in calls[0][0]
    assert pip_args(calls[0][0])[-2:] == ["-c", str(tmp_path / "lock.txt")]


def test_a_failed_install_is_logged_in_mwaas_words(install):
    _, log = install("boto3\n", returncode=1)
    assert f"mwaa: {MWAA_FAILURE}\n" in log


def test_pip_gets_mwaas_nine_minutes_then_fails_as_on_mwaa(install):
    calls, log = install("boto3\n", returncode=None)
    assert calls[0][1] == 9 * 60
    assert "did not finish within 9 minutes" in log and MWAA_FAILURE in log
