"""REQUIREMENTS=: what the resolvers' refusals become (a `loads` failure naming the requirement) and which
constraints apply, as MWAA decides it."""

import stat
from pathlib import Path

import pytest

from xcomlab_harness.stack import requirements

UV_NOT_FOUND = """\
  × No solution found when resolving dependencies:
  ╰─▶ Because xcomlab-no-such-package was not found in the package registry and you require
      xcomlab-no-such-package==1.0, we can conclude that your requirements are unsatisfiable.
"""
UV_CONSTRAINED = """\
  × No solution found when resolving dependencies:
  ╰─▶ Because you require minio==7.2.20 and urllib3==1.0, we can conclude that your requirements are unsatisfiable.
"""
PIP_NOT_FOUND = """\
ERROR: Could not find a version that satisfies the requirement smart-open==99.0 (from versions: 1.0, 7.3.0)
ERROR: No matching distribution found for smart-open==99.0
"""


def test_a_requirement_that_does_not_exist_is_named():
    err = requirements.failure(Path("/x/requirements.txt"), "3.3.1", UV_NOT_FOUND, forced=True)
    assert err.requirement == "xcomlab-no-such-package"
    assert str(err).startswith("REQUIREMENTS=requirements.txt: xcomlab-no-such-package cannot be installed under "
                               "Airflow 3.3.1's constraints: ")
    assert "not found in the package registry" in str(err)


def test_a_requirement_the_constraints_exclude_is_named():
    err = requirements.failure(Path("r.txt"), "2.11.2", UV_CONSTRAINED, forced=False)
    assert err.requirement == "minio==7.2.20"
    assert "under its own constraints" in str(err)


def test_pips_refusal_is_named_too():
    err = requirements.failure(Path("r.txt"), "3.3.1", PIP_NOT_FOUND, forced=True)
    assert err.requirement == "smart-open==99.0"
    assert str(err).endswith("constraints: Could not find a version that satisfies the requirement smart-open==99.0 "
                             "(from versions: 1.0, 7.3.0)")


def test_a_constraints_url_gives_way_to_the_versions_lock():
    text = "minio==7.2.20\n-c https://raw.githubusercontent.com/apache/airflow/constraints-3.0.6/constraints-3.12.txt\n"
    assert requirements.URL_CONSTRAINT.sub("", text) == "minio==7.2.20\n"
    assert requirements.URL_CONSTRAINT.sub("", "-c ./pins.txt\nminio\n") == "-c ./pins.txt\nminio\n"


def test_the_copy_without_the_constraints_url_is_the_owners_alone(tmp_path):
    # it keeps the file's index lines, and with them any token in an index URL
    source = tmp_path / "requirements.txt"
    source.write_text("--index-url https://me:token@127.0.0.1:9/simple\n--no-index\nxcomlab-no-such-package==1.0\n"
                      "-c https://raw.githubusercontent.com/apache/airflow/constraints-3.0.6/constraints-3.12.txt\n")
    (tmp_path / "image").mkdir()
    with pytest.raises(requirements.RequirementsFailed):  # --no-index: nothing to install it from
        requirements.fetch({"REQUIREMENTS": str(source), "AIRFLOW_VERSION": "3.3.1"}, tmp_path / "image")
    copy = tmp_path / "image" / "requirements.in"
    assert "token" in copy.read_text() and stat.S_IMODE(copy.stat().st_mode) == 0o600
