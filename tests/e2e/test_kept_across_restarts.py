"""Nothing lost: what every store holds survives `docker restart` of each store, `make down` + `make up`,
and a switch to another Airflow version and back, and `make doctor` reports no orphan and no dangling row
after each. Each Airflow version keeps its XComs under its own root (airflow-<version>/), so the other
version's audit never counts them as orphans.

Runs after test_backends, which pushed on every store, and before test_lifecycle, which empties them; it
starts from what `make doctor --fix` leaves (the earlier modules break some XComs on purpose). The version
switch runs in Airflow 3's e2e only (to 2.11.2 and back): once per CI run covers both directions' audits.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from stores import doctor
from xcomlab_harness.stack import project
from xcomlab_harness.stack.compose import compose
from xcomlab_harness.stack.paths import ROOT
from xcomlab_harness.stack.settings import airflow_major, version_folder

pytestmark = [pytest.mark.e2e, pytest.mark.version_independent]

STORE_SERVICES = ("postgres", "redis", "s3", "azurite", "fake-gcs")
OTHER_VERSION = "2.11.2"  # the version Airflow 3's e2e switches to and back from
# Backends that fill each store, for a run of this module on its own (test_backends fills all of them).
FILLERS = {"s3": "xcomlab-s3", "gcs": "xcomlab-gcs", "azure": "xcomlab-azure", "redis": "redis", "localfs": "localfs"}


def snapshot(stores, folder: str) -> dict[str, dict[str, int]]:
    """Every object of this version's root in each store: name -> size."""
    return {name: store.list(folder + "/") for name, store in stores.items()}


def problems(found: dict) -> dict[str, list]:
    """Orphans and dangling rows, by store (empty when the audit is clean)."""
    return {name: store["orphans"] + store["dangling"] for name, store in found["stores"].items()
            if store["orphans"] or store["dangling"]}


def referenced_per_store(found: dict) -> dict[str, int]:
    return {name: store["referenced"] for name, store in found["stores"].items() if store["referenced"]}


def sandbox_up(**overrides: str) -> None:
    """`make up` with overrides, as a user runs it (it stops another version's containers first)."""
    done = subprocess.run([sys.executable, str(ROOT / "harness" / "src" / "xcomlab_harness" / "sandbox.py"), "up"],
                          env=dict(os.environ, **overrides), capture_output=True, text=True)
    assert done.returncode == 0, f"make up {overrides} failed: {(done.stdout + done.stderr)[-3000:]}"


@pytest.fixture(scope="module")
def baseline(stack, airflow, stores, compose_env, settings):
    folder = version_folder(settings)
    doctor(compose_env, "--fix", "--grace-minutes", "0", "--fix-dangling")  # first: it may empty a store
    for store, backend in FILLERS.items():
        if not stores[store].list(folder + "/"):
            stack.switch(backend)
            airflow.wait_for_dag("xcom_push_pull")
            run_id = airflow.trigger("xcom_push_pull")
            assert airflow.wait_for_run("xcom_push_pull", run_id) == "success"
    doctor(compose_env, "--fix", "--grace-minutes", "0", "--fix-dangling")
    found = doctor(compose_env)
    assert not problems(found), f"doctor --fix left {problems(found)}"
    held = snapshot(stores, folder)
    assert all(held.values()), f"a store holds nothing to lose: {({k: len(v) for k, v in held.items()})}"
    return {"folder": folder, "objects": held, "referenced": referenced_per_store(found)}


def assert_nothing_lost(stores, compose_env, baseline, after: str) -> None:
    found = doctor(compose_env)
    assert not problems(found), f"after {after}, make doctor finds {problems(found)}"
    assert referenced_per_store(found) == baseline["referenced"], f"after {after}: referenced objects changed"
    assert snapshot(stores, baseline["folder"]) == baseline["objects"], f"after {after}: the stores changed"


def test_docker_restart_of_every_store_loses_nothing(stack, stores, compose_env, baseline):
    compose(compose_env, "restart", *STORE_SERVICES)
    stack.up()  # waits until everything is healthy again
    assert_nothing_lost(stores, compose_env, baseline, "docker restart of " + ", ".join(STORE_SERVICES))


def test_make_down_then_make_up_loses_nothing(stack, stores, compose_env, baseline):
    compose(compose_env, "down")
    stack.up()
    assert_nothing_lost(stores, compose_env, baseline, "make down && make up")


def test_another_version_sees_no_orphans_and_switching_back_loses_nothing(stack, stores, compose_env, settings,
                                                                        baseline):
    if airflow_major(settings) < 3:
        pytest.skip("the version switch runs in Airflow 3's e2e (to 2.11.2 and back)")
    other = OTHER_VERSION
    sandbox_up(AIRFLOW_VERSION=other, BACKEND=settings["BACKEND"])
    other_env = project.compose_env(dict(settings, AIRFLOW_VERSION=other), stack.offline)
    try:
        found = doctor(other_env)  # its own dangling rows (left by an earlier `make clean`) are not the point
        orphans = {name: store["orphans"] for name, store in found["stores"].items() if store["orphans"]}
        assert not orphans, f"Airflow {other}'s audit counts {settings['AIRFLOW_VERSION']}'s objects: {orphans}"
    finally:
        sandbox_up(AIRFLOW_VERSION=settings["AIRFLOW_VERSION"], BACKEND=settings["BACKEND"])
    stack.up()
    assert_nothing_lost(stores, compose_env, baseline, f"a switch to Airflow {other} and back")
