"""Deleting an XCom through Airflow's own API deletes what it references: `push_and_delete` pushes a big
value, then deletes it (Airflow 3: XCom.delete; 2.x: XCom.clear, as a cleared task does), and the e2e
checks that neither the row nor the object/key/file is left.
"""

from __future__ import annotations

import pendulum
from xcom_lab_shapes import recipe, value_of

try:  # Airflow 3
    from airflow.sdk import dag, task
except ImportError:  # Airflow 2.x
    from airflow.decorators import dag, task



def delete_xcoms(ti, key: str) -> None:
    """Both call the backend's purge for each row, then delete the rows."""
    try:
        from airflow.sdk.execution_time.xcom import XCom  # Airflow 3: the configured backend
    except ImportError:
        from airflow.models.xcom import XCom  # Airflow 2.x

        XCom.clear(dag_id=ti.dag_id, task_id=ti.task_id, run_id=ti.run_id, map_index=ti.map_index)
        return
    XCom.delete(key=key, task_id=ti.task_id, dag_id=ti.dag_id, run_id=ti.run_id, map_index=ti.map_index)


@dag(schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), catchup=False, tags=["xcom-lab"])
def xcom_purge():
    @task
    def push_and_delete(**context):
        ti = context["ti"]
        shape, key = recipe(context["dag_run"].conf)  # make check: the shape that makes its backend offload
        ti.xcom_push(key=key or "temporary", value=value_of(shape))
        delete_xcoms(ti, key or "temporary")
        if ti.xcom_pull(task_ids=ti.task_id, key=key or "temporary") is not None:
            raise ValueError("the deleted XCom can still be pulled")

    push_and_delete()


xcom_purge()
