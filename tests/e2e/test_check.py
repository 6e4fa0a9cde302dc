"""`make check` on backends written the way people write them: tests/check_backends/ holds one deliberately
flawed backend per bug class and one correct backend, each with a manifest.toml saying which scenario must
flag it, per Airflow major (or minor), and what its fix line must say. The check knows none of them.

A flawed backend runs the scenarios its manifest names plus `toy` (what every user runs first); the
correct one runs every scenario and must fail none. Built-in backends whose manifest (compose/backends/
<name>.toml) has a [check] table are judged alike: their listed failures are upstream bugs, expected
strictly (a scenario that starts to pass fails the test, so an upstream fix shows).
On Airflow 2 only the cases whose expectation differs from Airflow 3's run, and the correct backend.
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
BUILT_IN = [path for path in sorted((sandbox.COMPOSE_DIR / "backends").glob("*.toml")) if "[check" in path.read_text()]
MANIFESTS = sorted(BACKENDS.glob("*/manifest.toml")) + BUILT_IN


def manifest(path: Path) -> dict:
    with path.open("rb") as f:
        return tomllib.load(f)


def expectation(spec: dict, version: str) -> dict:
    """The most specific [expect.<major>.<minor>] or [expect.<major>] for this version; none: no failure."""
    major, minor = version.split(".")[:2]
    expect = spec.get("check", spec).get("expect", {})
    return expect.get(f"{major}.{minor}") or expect.get(major) or {"fails": []}


def case(path: Path) -> tuple[str, dict]:
    """(name, environ) of make check for a manifest: a user's folder, or a built-in BACKEND."""
    spec = manifest(path)
    if path.parent == sandbox.COMPOSE_DIR / "backends":
        return path.stem, {"BACKEND": path.stem}
    folder = path.parent
    environ = {"XCOM_BACKEND": spec["xcom_backend"], "BACKEND_SRC": str(folder / spec["src"])}
    if spec.get("env"):
        environ["BACKEND_ENV"] = str(folder / spec["env"])
    return folder.name, environ


def runs_on(path: Path, version: str) -> bool:
    if version.startswith("3.") or path.parent.name == "correct":
        return True
    spec = manifest(path)
    return expectation(spec, version) != expectation(spec, "3.0") or path.parent == sandbox.COMPOSE_DIR / "backends"


@pytest.fixture(scope="module")
def checked(stack):
    yield
    stack.start()  # back to the session's own backend


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: case(p)[0])
def test_check_flags_the_flaw_in_the_right_scenario(path, checked, settings, report):
    version = settings["AIRFLOW_VERSION"]
    if not runs_on(path, version):
        pytest.skip("expected as on Airflow 3: run there")
    expected = expectation(manifest(path), version)
    name, environ = case(path)
    environ.update(CHECK_NAME=f"e2e-{name}", WAIT_TIMEOUT="240")
    if name != "correct":
        environ["SCENARIOS"] = ",".join(["toy", *expected["fails"]])
    verdict = check.check_version(version, dict(os.environ, **environ), {"mode": sandbox.offline_from_state(settings)})
    check.report.write_all([verdict], check.REPORTS)
    results = {s.id: s for s in verdict.scenarios}
    table = "\n".join(f"  {s.id}: {s.status}: {s.evidence[:200]} | fix: {s.fix[:80]}" for s in verdict.scenarios)
    report.add_check(name, version, {s.id: s.status for s in verdict.scenarios})
    failed = sorted(s.id for s in verdict.scenarios if s.status == FAIL)
    assert failed == sorted(expected["fails"]), f"{name} on {version}: expected {expected['fails']} to fail\n{table}"
    for scenario in expected["fails"] if expected.get("fix") else []:
        assert expected["fix"].lower() in results[scenario].fix.lower(), \
            f"{name}: {scenario}'s fix line should say {expected['fix']!r}\n{table}"
    if name == "correct":
        assert all(s.status in (PASS, "n/a") for s in verdict.scenarios)
        assert results["toy"].status == PASS and results["leftovers"].status == PASS, table
