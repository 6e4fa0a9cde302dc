"""What a newcomer does first: save a DAG file in dags/, see it in Airflow within seconds, run it.

The sandbox lists dags/ every 5 s (Airflow's default is 300 s; MWAA mode keeps that), so a new file
must be parsed and runnable well inside the 20 s this allows (parsing one file takes a few seconds on
two cores).
"""

from __future__ import annotations

import os

import pytest

from xcomlab_harness import sandbox

pytestmark = pytest.mark.e2e

APPEARS_WITHIN_S = 20


@pytest.fixture
def new_dag_file():
    """A copy of the toy DAG under a new id, as a user would save one; removed afterwards."""
    dag_id = f"xcom_newcomer_{os.getpid()}"
    source = (sandbox.ROOT / "dags" / "xcom_push_pull.py").read_text()
    path = sandbox.ROOT / "dags" / f"{dag_id}.py"
    path.write_text(source.replace("xcom_push_pull", dag_id))
    yield dag_id
    path.unlink()


def test_a_new_dag_file_appears_within_seconds_and_runs(stack, airflow, new_dag_file):
    airflow.wait_for_dag(new_dag_file, timeout=APPEARS_WITHIN_S)
    run_id = airflow.trigger(new_dag_file)
    assert airflow.wait_for_end(new_dag_file, run_id) == "success", airflow.explain(new_dag_file, run_id)
