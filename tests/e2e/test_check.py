"""`make check` on backends written the way people write them: tests/check_backends/ holds one deliberately
flawed backend per bug class and one correct backend, each with a manifest.toml saying which scenario must
flag it, per Airflow major (or minor), and what its fix line must say. The check knows none of them.

A flawed backend runs the scenarios its manifest names plus `toy` (what every user runs first) and, given as
a single file that imports more than the standard library or brings connections or settings, `mwaa-placement`
(which must pass); the correct one runs every scenario and must fail none, as a package and given as its
single module file. For a user's own code the report must show which of its lines ran: coverage in every
scenario, the never-run lines marked in the HTML. Built-in backends whose manifest (compose/backends/
<name>.toml) has a [check] table are judged alike: their listed failures are upstream bugs, expected
strictly (a scenario that starts to pass fails the test, so an upstream fix shows).
On Airflow 2 only the cases whose expectation differs from Airflow 3's run, those whose manifest says
`every_major = true`, and the correct backend.
"""

from __future__ import annotations

import ast
import os
import sys
import tomllib
from pathlib import Path

import pytest
from xcomlab_harness import check
from xcomlab_harness.stack import project
from xcomlab_harness.stack.compose import compose
from xcomlab_harness.stack.paths import COMPOSE_DIR, ROOT
from xcomlab_harness.stack.settings import load_settings
from xcomlab_harness.stack.state import offline_from_state
from xcomlab_harness.verdict import FAIL, NOT_EXERCISED, PASS

pytestmark = pytest.mark.e2e

BACKENDS = ROOT / "tests" / "check_backends"
BUILT_IN = [path for path in sorted((COMPOSE_DIR / "backends").glob("*.toml")) if "[check" in path.read_text()]
MANIFESTS = sorted(BACKENDS.glob("*/manifest.toml")) + BUILT_IN
AS_FILE = "correct-as-file"  # the correct backend's module given as a single file ([as_file] of its manifest)
CASES = [*MANIFESTS, BACKENDS / "correct" / AS_FILE]


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
    if path.name == AS_FILE:
        name, environ = case(path.parent / "manifest.toml")
        as_file = manifest(path.parent / "manifest.toml")["as_file"]
        return AS_FILE, dict(environ, XCOM_BACKEND=as_file["xcom_backend"], BACKEND_SRC=str(path.parent / as_file["src"]))
    spec = manifest(path)
    if path.parent == COMPOSE_DIR / "backends":
        return path.stem, {"BACKEND": path.stem}
    folder = path.parent
    environ = {"XCOM_BACKEND": spec["xcom_backend"], "BACKEND_SRC": str(folder / spec["src"])}
    if spec.get("env"):
        environ["BACKEND_ENV"] = str(folder / spec["env"])
    if spec.get("connections"):  # CONNECTIONS=id=store; without it the check finds the ids in the code
        environ["CONNECTIONS"] = spec["connections"]
    return folder.name, environ


def runs_on(path: Path, version: str) -> bool:
    if version.startswith("3.") or path.name == AS_FILE:  # on 2.x the correct backend runs as a file
        return True
    if path.parent.name == "correct":
        return False
    spec = manifest(path)
    return (expectation(spec, version) != expectation(spec, "3.0") or path.parent == COMPOSE_DIR / "backends"
            or spec.get("every_major", False))


@pytest.mark.parametrize("path", CASES, ids=lambda p: case(p)[0])
def test_check_flags_the_flaw_in_the_right_scenario(path, checked, settings, report):
    version = settings["AIRFLOW_VERSION"]
    if not runs_on(path, version):
        pytest.skip("expected as on Airflow 3: run there")
    spec = manifest(path if path.name != AS_FILE else path.parent / "manifest.toml")
    expected = expectation(spec, version)
    name, environ = case(path)
    environ.update(CHECK_NAME=f"e2e-{name}", WAIT_TIMEOUT="240")
    if not name.startswith("correct"):
        environ["SCENARIOS"] = ",".join(["toy", *expected["fails"], *(["mwaa-placement"] if placed(environ) else [])])
    elif name == AS_FILE and runs_on(path.parent / "manifest.toml", version):
        # the package ran every scenario on this version: as a file only the mount and the lines measured differ
        environ["SCENARIOS"] = "toy,types,leftovers,mwaa-placement"
    verdict = check.check_version(version, dict(os.environ, **environ), {"mode": offline_from_state(settings)})
    check.report.write_all([verdict], check.REPORTS)
    results = {s.id: s for s in verdict.scenarios}
    table = "\n".join(f"  {s.id}: {s.status}: {s.evidence[:200]} | fix: {s.fix[:80]}" for s in verdict.scenarios)
    report.add_check(name, version, {s.id: s.status for s in verdict.scenarios})
    failed = sorted(s.id for s in verdict.scenarios if s.status == FAIL)
    assert failed == sorted(expected["fails"]), f"{name} on {version}: expected {expected['fails']} to fail\n{table}"
    unexercised = sorted(s.id for s in verdict.scenarios if s.status == NOT_EXERCISED)
    assert unexercised == sorted(expected.get("not_exercised", [])), f"{name}: the store path never ran\n{table}"
    fixes = {**{s: expected["fix"] for s in expected["fails"] if expected.get("fix")}, **expected.get("fixes", {})}
    for scenario, fix in fixes.items():
        assert fix.lower() in results[scenario].fix.lower(), f"{name}: {scenario}'s fix line should say {fix!r}\n{table}"
    if name.startswith("correct"):
        assert all(s.status in (PASS, "n/a") for s in verdict.scenarios), f"{name}: every scenario should pass or be n/a\n{table}"
    if "XCOM_BACKEND" in environ:
        assert_own_code_measured(name, verdict)
    for conn_id in spec.get("connection_ids", []):  # its own ids: an undefined aws_conn_id still works via boto3's env
        assert resolves(conn_id, dict(os.environ, **environ), version), f"{name}: {conn_id!r} is not defined\n{table}"


def placed(environ: dict) -> bool:
    """mwaa-placement for a single file whose placement can differ from the others': the preflight imports the
    module in each place, so one importing more than the standard library at its top, or one with connections or
    settings of its own (startup.sh exports, configuration options). Modules of the standard library alone judge
    alike: correct-as-file stands for them."""
    source = Path(environ.get("BACKEND_SRC", ""))
    if source.suffix != ".py":
        return False
    tree = ast.parse(source.read_text())
    top = {alias.name.split(".")[0] for node in tree.body if isinstance(node, ast.Import) for alias in node.names}
    top |= {node.module.split(".")[0] for node in tree.body if isinstance(node, ast.ImportFrom) and node.module}
    return bool(top - set(sys.stdlib_module_names) - {"__future__"}) or "CONNECTIONS" in environ or "BACKEND_ENV" in environ


def resolves(conn_id: str, environ: dict, version: str) -> bool:
    """Task code in the task container (the scheduler's under LocalExecutor) finds the connection."""
    settings = load_settings(environ=dict(environ, AIRFLOW_VERSION=version))
    code = "import sys; from airflow.hooks.base import BaseHook; print('conn-type', BaseHook.get_connection(sys.argv[1]).conn_type)"
    done = compose(project.compose_env(settings, offline_from_state(settings)), "exec", "-T",
                           "airflow-scheduler", "python", "-c", code, conn_id, check=False, capture_output=True, text=True)
    return "conn-type " in done.stdout


def assert_own_code_measured(name: str, verdict) -> None:
    """The user's own lines as they ran: every scenario that ran a DAG ran some, and the HTML marks the
    statements no scenario ran."""
    toy = verdict.scenario("toy")
    assert toy.lines_run and any(toy.lines_run.values()), f"{name}: toy ran none of the backend's lines"
    assert verdict.sources, f"{name}: no source file of the backend in the report"
    never = {f.path: sorted(set(f.statements) - set(f.run)) for f in verdict.sources}
    page = (check.REPORTS / f"check-{verdict.name}.html").read_text()
    for path, lines in never.items():
        if lines:
            assert 'class="not-run"' in page, f"{name}: {path} has never-run lines {lines[:5]} the HTML does not mark"
