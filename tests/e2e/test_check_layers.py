"""`make check` past the first wall: an Airflow-2-era backend whose bugs hide behind one another on Airflow 3
(tests/check_backends/stacked_airflow2/layers.toml). The check must list the layers in order, each after the
mechanical fix of the one before, and give one patch that, applied to a copy with `git apply`, makes the
mechanically fixable scenarios pass on a re-run. The user's file is never edited.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tomllib

import pytest
from xcomlab_harness import check
from xcomlab_harness.stack.paths import ROOT
from xcomlab_harness.stack.state import offline_from_state
from xcomlab_harness.verdict import FAIL, PASS

pytestmark = pytest.mark.e2e

FOLDER = ROOT / "tests" / "check_backends" / "stacked_airflow2"
SPEC = tomllib.loads((FOLDER / "layers.toml").read_text())


def failing(results) -> list[str]:
    return sorted(s.id for s in results if s.status == FAIL)


def table(results) -> str:
    return "\n".join(f"  {s.id}: {s.status}: {s.evidence[:200]}" for s in results)


def test_layers_in_order_and_a_patch_that_applies(checked, settings, tmp_path):
    version = settings["AIRFLOW_VERSION"]
    expect = SPEC["expect"].get(version.split(".")[0])
    if expect is None:
        pytest.skip(f"no wall on Airflow {version}: the bugs show in the first layer")
    source = FOLDER / SPEC["src"]
    before = hashlib.sha256(source.read_bytes()).hexdigest()
    environ = dict(os.environ, XCOM_BACKEND=SPEC["xcom_backend"], BACKEND_SRC=str(source),
                   SCENARIOS=",".join(SPEC["scenarios"]), CHECK_NAME="e2e-stacked_airflow2")
    offline = {"mode": offline_from_state(settings)}
    verdict = check.check_version(version, environ, offline)
    check.see_past_walls(verdict, environ, offline)
    paths = check.report.write_all([verdict], check.REPORTS)

    assert failing(verdict.scenarios) == sorted(expect["fails"]), table(verdict.scenarios)
    assert [c.title for c in verdict.causes] == expect["causes"]
    assert len(verdict.layers) == len(expect["layers"]), [layer.fixed for layer in verdict.layers]
    for n, (layer, wanted) in enumerate(zip(verdict.layers, expect["layers"]), start=1):
        assert layer.fixed == wanted["fixed"], f"layer {n}"
        assert failing(layer.scenarios) == sorted(wanted["fails"]), f"layer {n}:\n{table(layer.scenarios)}"
        assert sorted(c.title for c in layer.causes) == sorted(wanted["causes"]), f"layer {n}"
    markdown = (check.REPORTS / f"check-{verdict.name}.md").read_text()
    positions = [markdown.find(f"fixing {', '.join(w['fixed'])}") for w in expect["layers"]]
    assert -1 not in positions and positions == sorted(positions), "the report lists the layers in order"
    assert hashlib.sha256(source.read_bytes()).hexdigest() == before, "the user's file was edited"

    # The patch, as the user would apply it: in a copy of their folder, then the check again.
    patch = check.REPORTS / f"check-{verdict.name}-{version}.patch"
    assert patch in paths and patch.read_text() == verdict.patch
    mine = tmp_path / "mine"
    shutil.copytree(FOLDER, mine)
    subprocess.run(["git", "apply", "--verbose", str(patch)], cwd=mine, check=True)
    again = check.check_version(version, dict(environ, BACKEND_SRC=str(mine / SPEC["src"]),
                                              SCENARIOS=",".join(expect["pass_after_patch"])), offline)
    assert all(again.scenario(s).status == PASS for s in expect["pass_after_patch"]), table(again.scenarios)
