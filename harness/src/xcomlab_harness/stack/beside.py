#!/usr/bin/env python3
"""Two e2e runs at once, each on its own stack: `make e2e` here, and `make e2e SCOPE=version` on a second
Airflow version in a copy of this checkout, as its own compose project on its own host ports (`make e2e-both`,
what CI runs). An e2e run keeps about three quarters of two cores busy, so the second one mostly fills the gaps.

A copy, not this folder: an e2e run writes the checkout (.cache's build contexts and state, reports/, the MWAA
bucket, dags/); only Docker's names (the project, the metadata DB volume) and the host ports need telling apart.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

if not __package__:  # run as a script (the Makefile), as sandbox.py
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from xcomlab_harness.stack.console import say
from xcomlab_harness.stack.paths import CACHE, ROOT
from xcomlab_harness.stack.settings import load_settings

PROJECT = "xcom-lab-beside"
PORT_SHIFT = 100  # the second stack publishes each host port of .env this much higher
# What a copy leaves out: the first checkout's own environment, reports and caches (.gitignore's, and git's).
NOT_COPIED = (".git", ".venv", ".cache", "reports", "__pycache__", "*.egg-info", "build", ".coverage*",
              ".pytest_cache", ".ruff_cache", ".hypothesis", "xcom_newcomer_*.py")
# Of .cache: large build inputs written once per lock (a changed lock writes new files) are hard-linked, the
# rest (stamps, build contexts rewritten per check) copied; the last up's state is the first stack's alone.
LINKED = ("wheelhouse", "azurite", "fake-gcs")
NOT_CACHED = ("last-up.json", "beside")


def beside_env(settings: Mapping[str, str], version: str) -> dict[str, str]:
    """The second run's environment: its version, its project and every host port shifted."""
    ports = {key: str(int(value) + PORT_SHIFT) for key, value in settings.items() if key.endswith("_PORT")}
    return dict(os.environ, AIRFLOW_VERSION=version, SCOPE="version", COMPOSE_PROJECT_NAME=PROJECT, **ports)


def copy_checkout(target: Path) -> None:
    """This checkout as it is on disk, uncommitted changes included, with .cache as LINKED says."""
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(ROOT, target, ignore=shutil.ignore_patterns(*NOT_COPIED), symlinks=True)
    for entry in CACHE.iterdir():
        if entry.name in NOT_CACHED:
            continue
        if entry.is_dir():
            shutil.copytree(entry, target / ".cache" / entry.name, symlinks=True,
                            copy_function=os.link if entry.name in LINKED else shutil.copy2)
        else:
            shutil.copy2(entry, target / ".cache" / entry.name)


def main(version: str) -> int:
    settings = load_settings()
    sandbox = [sys.executable, str(ROOT / "harness" / "src" / "xcomlab_harness" / "sandbox.py")]
    # this version's images first: the copy then finds the stand-ins and the wheelhouse built
    if subprocess.run([*sandbox, "run", "--", "true"]).returncode != 0:
        return 1
    target = CACHE / "beside" / version
    copy_checkout(target)
    log = ROOT / "reports" / f"e2e-beside-{version}.log"
    log.parent.mkdir(exist_ok=True)
    say(f"e2e on Airflow {version} (SCOPE=version) runs beside this one, in {target}; its output: {log}")
    with log.open("w") as out:
        second = subprocess.Popen(["make", "e2e"], cwd=target, env=beside_env(settings, version), stdout=out,
                                  stderr=subprocess.STDOUT)
        first = subprocess.run(["make", "e2e"]).returncode
        second.wait()
    say(f"--- the e2e on Airflow {version} (SCOPE=version), beside: {log} ---")
    sys.stdout.write(log.read_text(errors="replace"))
    for report in (target / "reports").glob(f"*{version}*"):
        shutil.copy2(report, ROOT / "reports" / report.name)
    return first or second.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "2.11.2"))
