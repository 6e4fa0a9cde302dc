"""Faults around a running DAG (xcom_fault_run, xcomlab on S3): a store outage that the task's retry rides
out, and Postgres or the scheduler restarted while a task runs. Each run must end with the value pulled
equal, its row referencing an object that exists, and no orphan left. Recorded in the report's faults table.
The restarts run in Airflow 3's e2e only (each waits out the 60 s heartbeat timeout): CI's budget.
"""

from __future__ import annotations

import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest
from report import Fault
from stores import doctor
from xcomlab_harness.polling import poll
from xcomlab_harness.probes import Item
from xcomlab_harness.stack.compose import compose
from xcomlab_harness.stack.settings import airflow_major, version_folder

pytestmark = pytest.mark.e2e

DAG = "xcom_fault_run"
BACKEND = "xcomlab-s3"
RACING_RUNS = 6
ORPHANS = 2000
PID_FILE = "/tmp/xcom-lab-doctor.pid"
BUSY_S = 20  # how long the producer works before it pushes: the disruption lands inside it


@pytest.fixture(scope="module")
def fault_dag(stack, airflow):
    stack.switch_task_side(BACKEND)  # tasks push, make doctor runs in the scheduler
    airflow.wait_for_dag(DAG)


def tries(airflow, run_id: str) -> dict[str, int]:
    return {t["task_id"]: t["try_number"] for t in airflow.task_instances(DAG, run_id)}


def assert_nothing_lost(stores, metadata_db, compose_env, run_id: str) -> int:
    """The run's value is referenced and its object exists; make doctor finds no orphan or dangling row of
    the run. Returns the XComs lost (0)."""
    stored = metadata_db.xcom_values(DAG, run_id, "produce")["return_value"]
    assert isinstance(stored, str) and stored.startswith("xcomlab:ref:"), stored
    url = stored.removeprefix("xcomlab:ref:")
    name = stores["s3"].name_of(url)
    lost = 0 if name in stores["s3"].list(name) else 1
    run_folder = url.rsplit("/", 3)[0] + "/"
    problems = [item["url"] for store in doctor(compose_env)["stores"].values()
                for item in store["orphans"] + store["dangling"] if item["url"].startswith(run_folder)]
    assert not lost and not problems, f"lost {lost}; make doctor: {problems}"
    return lost


def test_a_store_outage_fails_the_push_and_the_retry_succeeds_once_it_is_back(fault_dag, airflow, stores, metadata_db,
                                                                           compose_env, report):
    compose(compose_env, "stop", "s3")
    try:
        run_id = airflow.trigger(DAG)
        airflow.wait_for_task_state(DAG, run_id, "produce", "up_for_retry")
    finally:
        compose(compose_env, "start", "s3")
        compose(compose_env, "up", "--wait", "--no-recreate", "s3")
    first = airflow.task_log(DAG, run_id, {"task_id": "produce", "try_number": 1}, lines=300)
    state = airflow.wait_for_end(DAG, run_id)
    lost = assert_nothing_lost(stores, metadata_db, compose_env, run_id) if state == "success" else 1
    report.add_fault(Fault("S3 down while a task pushes, back before its retry", BACKEND,
                           "try 1 fails naming the XCom and the store; the retry succeeds",
                           f"run {state} after tries {tries(airflow, run_id)}", lost))
    assert state == "success"
    assert "XComStoreError" in first and "the store is unreachable" in first and "'return_value'" in first, first[-3000:]


@pytest.mark.parametrize("service", ["postgres", "airflow-scheduler"])
def test_a_restart_mid_run_loses_nothing(fault_dag, airflow, stack, stores, metadata_db, compose_env, report, settings,
                                        service):
    if airflow_major(settings) < 3:
        pytest.skip("restarts mid-run run in Airflow 3's e2e: each costs minutes of CI")
    run_id = airflow.trigger(DAG, {"sleep": BUSY_S})
    airflow.wait_for_task_state(DAG, run_id, "produce", "running")
    compose(compose_env, "restart", service)
    stack.switch_task_side(BACKEND)  # recreates nothing that runs as it was; waits until every service is healthy
    state = airflow.wait_for_end(DAG, run_id, timeout=600)
    lost = assert_nothing_lost(stores, metadata_db, compose_env, run_id) if state == "success" else 1
    report.add_fault(Fault(f"{service} restarted while a task runs", BACKEND, "the run succeeds, value equal",
                           f"run {state} after tries {tries(airflow, run_id)}", lost))
    assert state == "success", airflow.explain(DAG, run_id)


def test_doctor_fix_racing_live_pushes_deletes_nothing_in_flight(fault_dag, airflow, stores, metadata_db, compose_env,
                                                                 report):
    """`make doctor --fix` (its default grace period) run again and again while runs push: an object written
    before its row is committed is young, so it is never taken for an orphan."""
    run_ids = [airflow.trigger(DAG) for _ in range(RACING_RUNS)]
    fixes = 0
    while not all(airflow.run_state(DAG, r) in ("success", "failed") for r in run_ids):
        doctor(compose_env, "--fix")
        fixes += 1
    lost = sum(assert_nothing_lost(stores, metadata_db, compose_env, r) for r in run_ids)
    report.add_fault(Fault("make doctor --fix racing live pushes", BACKEND, "nothing in flight deleted",
                           f"{fixes} fixes during {RACING_RUNS} runs: {[airflow.wait_for_end(DAG, r) for r in run_ids]}", lost))
    assert fixes and all(airflow.wait_for_end(DAG, r) == "success" for r in run_ids)


def test_an_interrupted_cleanup_completes_on_the_next_run(stack, stores, settings, compose_env, report):
    """2,000 orphans; `make doctor --fix` SIGKILLed once it has deleted some; the next --fix deletes the rest."""
    prefix = f"{version_folder(settings)}/xcomlab/xcom_orphans/"
    names = [f"{prefix}run_{n}/t/-1/return_value.json" for n in range(ORPHANS)]
    probe = stores["s3"].probe
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda name: probe.put(Item(stores["s3"].store, name), b'"orphan"'), names))
    fixing = subprocess.Popen(["docker", "compose", "exec", "-T", "airflow-scheduler", "sh", "-c",
                               f"echo $$ > {PID_FILE}; exec python -m xcomlab.doctor --fix --grace-minutes 0"],
                              env=compose_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        poll(lambda: len(stores["s3"].list(prefix)) < ORPHANS or fixing.poll() is not None, bool, 600,
             lambda _: AssertionError(f"make doctor --fix deleted none of {ORPHANS} orphans in 600 s"), every=0.2)
    finally:
        compose(compose_env, "exec", "-T", "airflow-scheduler", "sh", "-c", f"kill -9 $(cat {PID_FILE})",
                        check=False, capture_output=True)
        fixing.wait()
    left = len(stores["s3"].list(prefix))
    doctor(compose_env, "--fix", "--grace-minutes", "0")
    after = len(stores["s3"].list(prefix))
    report.add_fault(Fault("make doctor --fix SIGKILLed mid-batch, then run again", BACKEND,
                           "the second run deletes the rest", f"{ORPHANS} orphans; {left} left by the killed run; "
                                                              f"{after} after the next", 0))
    assert 0 < left < ORPHANS, f"the kill did not land mid-batch: {left} of {ORPHANS} left"
    assert after == 0
