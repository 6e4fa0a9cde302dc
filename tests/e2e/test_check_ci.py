"""`make check` as a CI job runs it: the GitHub Actions recipe users copy (docs/ci/xcom-check.yml), its `run:`
commands executed as the runner would (the `uses:` steps done by hand: checkout, artifacts), and the exit codes
a job sees through make. The backend is another repository's: tests/check_backends/minio_client, which imports
a package the image lacks and loads only through its requirements.txt.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import pytest
import yaml
from xcomlab_harness import check
from xcomlab_harness.stack.paths import ROOT
from xcomlab_harness.stack.settings import load_settings
from xcomlab_harness.verdict import FAIL, PASS

# The recipe's commands, the exit codes and the requirements' install are the same on both majors: Airflow 3's
# e2e runs them (SCOPE=version skips them).
pytestmark = [pytest.mark.e2e, pytest.mark.version_independent]

WORKFLOW = ROOT / "docs" / "ci" / "xcom-check.yml"
MINIO = ROOT / "tests" / "check_backends" / "minio_client"
BACKEND = {"XCOM_BACKEND": "minio_backend.MinioXComBackend", "BACKEND_SRC": "minio_backend.py"}
# The recipe runs every scenario; here the ones that prove the install reached every component and MWAA's bucket.
SCENARIOS = "toy,mwaa-placement"


def expressions(text: str, values: dict[str, str]) -> str:
    """GitHub's ${{ matrix.x }} / ${{ env.x }} as the runner substitutes them."""
    return re.sub(r"\$\{\{\s*([\w.]+)\s*\}\}", lambda m: values[m.group(1)], text)


def run_job(job: dict, workspace, values: dict[str, str], env: dict[str, str]) -> int:
    """The job's `run:` steps in order, in bash -e as the runner runs them; the first failing step's exit code."""
    for step in job["steps"]:
        if "run" not in step:
            continue
        cwd = ROOT if step.get("working-directory") == "xcom-lab" else workspace
        done = subprocess.run(["bash", "-e", "-c", expressions(step["run"], values)], cwd=cwd, env=env)
        if done.returncode != 0:
            return done.returncode
    return 0


def test_the_ci_recipe_checks_a_backend_from_another_repository(checked, settings, tmp_path):
    workflow = yaml.safe_load(WORKFLOW.read_text())
    version = settings["AIRFLOW_VERSION"]
    assert version in workflow["jobs"]["check"]["strategy"]["matrix"]["airflow"]
    shutil.copytree(MINIO, tmp_path / "backend")  # actions/checkout of the user's repository
    env = dict(os.environ, **{**workflow["env"], **BACKEND}, GITHUB_WORKSPACE=str(tmp_path), SCENARIOS=SCENARIOS)
    values = {"matrix.airflow": version, **{f"env.{k}": v for k, v in workflow["env"].items()}}

    assert run_job(workflow["jobs"]["check"], tmp_path, values, env) == 0
    verdict = json.loads((check.REPORTS / f"check-xcom-check-{version}.json").read_text())
    statuses = {s["id"]: s["status"] for s in verdict["scenarios"]}
    assert statuses == {"loads": PASS, "toy": PASS, "mwaa-placement": PASS}, verdict["scenarios"]

    shard = tmp_path / "shards" / f"xcom-check-{version}"  # actions/upload-artifact + download-artifact
    shard.mkdir(parents=True)
    for path in check.REPORTS.glob("check-xcom-check*"):
        shutil.copy(path, shard)
    assert run_job(workflow["jobs"]["report"], tmp_path, values, env) == 0
    merged = (check.REPORTS / "check-xcom-check.junit.xml").read_text()
    assert f'name="{version}"' in merged or version in merged


def make_check(env: dict[str, str], **settings: str) -> subprocess.CompletedProcess:
    args = [f"{k}={v}" for k, v in settings.items()]
    return subprocess.run(["make", "check", *args], cwd=ROOT, env=env, capture_output=True, text=True)


def test_make_check_exits_1_for_the_backend_and_2_for_the_settings(checked, tmp_path):
    """Through make, as a CI job sees it: a requirement that does not exist fails `loads` naming it (1);
    settings that name no class are refused (2)."""
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("minio==7.2.20\nxcomlab-no-such-package==1.0\n")
    env = dict(os.environ, SCENARIOS="toy")
    done = make_check(env, **{**BACKEND, "BACKEND_SRC": str(MINIO / BACKEND["BACKEND_SRC"])},
                      REQUIREMENTS=str(requirements), CHECK_NAME="e2e-bad-requirement")
    assert done.returncode == 1, done.stderr[-2000:]
    version = load_settings()["AIRFLOW_VERSION"]
    verdict = json.loads((check.REPORTS / f"check-e2e-bad-requirement-{version}.json").read_text())
    loads = verdict["scenarios"][0]
    assert loads["id"] == "loads" and loads["status"] == FAIL
    assert "xcomlab-no-such-package" in loads["evidence"], loads

    done = make_check(env, XCOM_BACKEND="not-a-class", CHECK_NAME="e2e-bad-settings")
    assert done.returncode == 2 and "dotted class path" in done.stderr, done.stderr[-2000:]
