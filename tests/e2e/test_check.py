"""`make check` on backends written the way people write them: tests/check_backends/ holds one deliberately
flawed backend per bug class and one correct backend, each with a manifest.toml saying which scenario must
flag it, per Airflow major (or minor), and what its fix line must say. The check knows none of them.

A flawed backend runs the scenarios its manifest names plus `toy` (what every user runs first); the
correct one runs every scenario and must fail none.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import pytest

from xcomlab_harness import check, sandbox
from xcomlab_harness.verdict import FAIL, PASS

pytestmark = pytest.mark.e2e

BACKENDS = sandbox.ROOT / "tests" / "check_backends"
MANIFESTS = sorted(BACKENDS.glob("*/manifest.toml"))


def manifest(path: Path) -> dict:
    with path.open("rb") as f:
        return tomllib.load(f)


def expectation(spec: dict, version: str) -> dict:
    """The most specific [expect.<major>.<minor>] or [expect.<major>] for this version; none: no failure."""
    major, minor = version.split(".")[:2]
    return spec.get("expect", {}).get(f"{major}.{minor}") or spec.get("expect", {}).get(major) or {"fails": []}


@pytest.fixture(scope="module")
def checked(stack):
    yield
    stack.start()  # back to the session's own backend


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.parent.name)
def test_check_flags_the_flaw_in_the_right_scenario(path, checked, settings, report):
    spec = manifest(path)
    version = settings["AIRFLOW_VERSION"]
    expected = expectation(spec, version)
    folder = path.parent
    environ = {"XCOM_BACKEND": spec["xcom_backend"], "BACKEND_SRC": str(folder / spec["src"]),
               "CHECK_NAME": f"e2e-{folder.name}", "WAIT_TIMEOUT": "240"}
    if spec.get("env"):
        environ["BACKEND_ENV"] = str(folder / spec["env"])
    if expected["fails"] or folder.name != "correct":
        environ["SCENARIOS"] = ",".join(["toy", *expected["fails"]])
    verdict = check.check_version(version, dict(os.environ, **environ), {"mode": sandbox.offline_from_state(settings)})
    check.report.write_all([verdict], check.REPORTS)
    results = {s.id: s for s in verdict.scenarios}
    table = "\n".join(f"  {s.id}: {s.status}: {s.evidence[:200]} | fix: {s.fix[:80]}" for s in verdict.scenarios)
    report.add_check(folder.name, version, {s.id: s.status for s in verdict.scenarios})
    failed = sorted(s.id for s in verdict.scenarios if s.status == FAIL)
    assert failed == sorted(expected["fails"]), f"{folder.name} on {version}: expected {expected['fails']} to fail\n{table}"
    for scenario in expected["fails"]:
        assert expected["fix"].lower() in results[scenario].fix.lower(), \
            f"{folder.name}: {scenario}'s fix line should say {expected['fix']!r}\n{table}"
    if folder.name == "correct":
        assert all(s.status in (PASS, "n/a") for s in verdict.scenarios)
        assert results["toy"].status == PASS and results["leftovers"].status == PASS, table
