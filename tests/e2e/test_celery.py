"""PROFILE=celery: CeleryExecutor on the Redis broker, workers A and B on queues of their own, sharing no
XCom filesystem. xcom_celery_handoff pushes on A and pulls on B: object storage and Redis hand the value
over; localfs fails with an error that says it needs a shared filesystem and names the alternatives.
"""

from __future__ import annotations

import re

import pytest
from xcomlab_harness.stack.compose import compose
from xcomlab_harness.stack.health import inspect_containers, probe_command

pytestmark = [pytest.mark.e2e, pytest.mark.version_independent]

DAG_ID = "xcom_celery_handoff"
OUTCOME = {"xcomlab-s3": "success", "redis": "success", "localfs": "failed"}
WORKERS = {"produce": "airflow-worker-a", "consume": "airflow-worker-b"}  # task -> the worker its queue pins


@pytest.fixture(scope="module")
def celery(stack, request):
    """The stack on CeleryExecutor: every component restarts once; a backend switch then recreates only the
    workers, which run the tasks (loading.task_side)."""
    stack.start(PROFILE="celery")
    yield stack
    stack.restore_after(request)  # back to the default profile (the workers removed), or the next check's switch


def hostname(env: dict[str, str], service: str) -> str:
    done = compose(env, "exec", "-T", service, "hostname", capture_output=True, text=True)
    return done.stdout.strip()


@pytest.mark.parametrize("backend", OUTCOME)
def test_push_on_worker_a_pull_on_worker_b(celery, airflow, backend):
    env = celery.switch_task_side(backend, PROFILE="celery")
    airflow.wait_for_dag(DAG_ID)
    run_id = airflow.trigger(DAG_ID)
    state = airflow.wait_for_end(DAG_ID, run_id)
    ran_on = {t["task_id"]: t["hostname"] for t in airflow.task_instances(DAG_ID, run_id)}
    for task_id, service in WORKERS.items():
        assert ran_on[task_id] == hostname(env, service), f"{task_id} ran on {ran_on[task_id]}, not on {service}"
    assert state == OUTCOME[backend], f"{backend}: {airflow.explain(DAG_ID, run_id)}"
    if state == "failed":
        log = " ".join(airflow.failed_task_log(DAG_ID, run_id, "consume").split())
        expected = (rf"XCom 'return_value' of task 'produce' .* written on host '{ran_on['produce']}' and this task runs "
                    rf"on '{ran_on['consume']}': the localfs backend needs a filesystem every worker shares .* "
                    r"xcomlab.objectstorage.XComObjectStorageBackend .* xcomlab.redis.XComRedisBackend")
        assert re.search(expected, log), f"consume's log lacks the shared-filesystem error:\n{log}"


def test_worker_healthcheck_passes_only_where_a_worker_answers(celery):
    """The workers' healthcheck (compose/airflow/celery_ping.py) pings this host's worker through the broker: it
    passes on worker A and fails on the scheduler's host, where no worker answers."""
    env = celery.env_with(PROFILE="celery")
    worker_a = compose(env, "ps", "--quiet", "airflow-worker-a", capture_output=True, text=True).stdout.split()
    probe = probe_command(inspect_containers(worker_a)[0])  # as Docker and the harness's waits run it
    worker = compose(env, "exec", "-T", "airflow-worker-a", *probe, capture_output=True, text=True, check=False)
    assert worker.returncode == 0, worker.stdout + worker.stderr
    nobody = compose(env, "exec", "-T", "airflow-scheduler", *probe, capture_output=True, text=True, check=False)
    assert nobody.returncode == 1 and "did not answer a ping" in nobody.stdout, nobody.stdout + nobody.stderr


def test_workers_scale(celery):
    env = celery.start(PROFILE="celery", WORKERS="3")
    done = compose(env, "exec", "-T", "airflow-worker-a", "celery", "--app",
                           "airflow.providers.celery.executors.celery_executor.app", "inspect", "ping",
                           capture_output=True, text=True, check=False)
    answered = re.findall(r"->\s+(celery@\S+): OK", done.stdout)
    assert len(answered) == 3, f"expected 3 workers to answer the broker's ping, got {answered}:\n{done.stdout}{done.stderr}"
