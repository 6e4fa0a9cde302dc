"""Waiting on a task (xcomlab_harness.airflow_api.AirflowAPI.wait_for_task_state): done when it gets there,
given up on as soon as it ends otherwise, a timeout only for a task that never ends. The REST calls are faked."""

import time

import pytest

from xcomlab_harness.airflow_api import AirflowAPI, DagRunFailed, TaskEnded

DAG, RUN = "xcom_check_missing", "manual__2026-12-05T10:14:03+00:00"


@pytest.fixture
def clock(monkeypatch):
    """time.sleep advances a fake monotonic clock instead of waiting."""
    now = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: now[0])  # what tenacity (xcomlab_harness.polling) reads and calls
    monkeypatch.setattr(time, "sleep", lambda seconds: now.__setitem__(0, now[0] + seconds))
    return now


def api_seeing(monkeypatch, *states: str | None) -> tuple[AirflowAPI, list]:
    """An API whose push task goes through states, one per poll (the last one stays)."""
    api = AirflowAPI("http://127.0.0.1:8080", "admin", "admin", airflow_major=3)
    polls = []

    def task_states(dag_id, run_id):
        polls.append((dag_id, run_id))
        state = states[min(len(polls), len(states)) - 1]
        return {"pull": "scheduled"} | ({} if state is None else {"push": state})

    monkeypatch.setattr(api, "task_states", task_states)
    monkeypatch.setattr(api, "explain", lambda dag_id, run_id: "(tasks: push=running, pull=scheduled)")
    return api, polls


def test_it_returns_once_the_task_reaches_the_state(monkeypatch, clock):
    api, polls = api_seeing(monkeypatch, None, "scheduled", "queued", "running", "success")
    api.wait_for_task_state(DAG, RUN, "push", "success")
    assert polls == [(DAG, RUN)] * 5


def test_a_retry_is_waited_on_not_given_up_on(monkeypatch, clock):
    api, polls = api_seeing(monkeypatch, "running", "up_for_retry", "queued", "running", "success")
    api.wait_for_task_state(DAG, RUN, "push", "success")
    assert len(polls) == 5


@pytest.mark.parametrize("ended", ["failed", "upstream_failed", "skipped", "removed"])
def test_a_task_that_ends_otherwise_stops_the_wait_at_once(monkeypatch, clock, ended):
    api, polls = api_seeing(monkeypatch, "running", ended, "success")
    with pytest.raises(TaskEnded, match=rf"^xcom_check_missing.push ended '{ended}', not 'success'$"):
        api.wait_for_task_state(DAG, RUN, "push", "success", timeout=180)
    assert len(polls) == 2 and clock[0] < 1000 + 180  # not after the timeout


def test_a_task_ending_early_is_a_dag_run_failure_so_the_check_calls_it_the_backends():
    assert issubclass(TaskEnded, DagRunFailed)


def test_waiting_for_a_final_state_other_than_success_works_too(monkeypatch, clock):
    api, _ = api_seeing(monkeypatch, "running", "failed")
    api.wait_for_task_state(DAG, RUN, "push", "failed")


def test_a_task_that_never_ends_times_out_with_the_runs_tasks(monkeypatch, clock):
    api, polls = api_seeing(monkeypatch, "running")
    with pytest.raises(DagRunFailed) as raised:
        api.wait_for_task_state(DAG, RUN, "push", "success", timeout=30)
    assert not isinstance(raised.value, TaskEnded)
    assert str(raised.value) == ("xcom_check_missing.push not 'success' after 30 s: "
                                 "(tasks: push=running, pull=scheduled)")
    assert 30 / api.every <= len(polls) <= 30 / api.every + 2  # one poll every api.every seconds, until the timeout
