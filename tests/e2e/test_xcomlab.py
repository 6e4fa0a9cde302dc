"""xcomlab's object-storage backend beyond the toy DAG, on the S3 emulator: TaskFlow return values (small
JSON-looking strings come back as the same strings; 20 mapped tasks each land as their own object) and
DataFrames stored as real parquet objects that pandas opens from outside Airflow.
"""

from __future__ import annotations

import io

import pandas as pd
import pytest

pytestmark = pytest.mark.e2e

FOLDER = "xcomlab"  # AIRFLOW__XCOMLAB__OBJECTSTORAGE_PATH of compose/backends/xcomlab-s3.env: s3://xcom_s3@xcom/xcomlab


@pytest.fixture(scope="module")
def xcomlab_s3(stack, airflow):
    stack.switch("xcomlab-s3")
    return airflow


def run_to_success(airflow, dag_id: str) -> str:
    airflow.wait_for_dag(dag_id)
    run_id = airflow.trigger(dag_id)
    airflow.wait_for_run(dag_id, run_id)  # each DAG's last task fails the run unless every value came back equal
    return run_id


def test_taskflow_strings_come_back_as_strings_and_mapped_tasks_get_one_object_each(xcomlab_s3, stores, metadata_db):
    run_id = run_to_success(xcomlab_s3, "xcom_taskflow")
    assert metadata_db.xcom_values("xcom_taskflow", run_id, "one_string") == {"return_value": "123"}
    prefix = f"{FOLDER}/xcom_taskflow/{run_id}/square/"
    assert sorted(stores["s3"].list(prefix)) == sorted(f"{prefix}{i}/return_value.json" for i in range(20))


def test_dataframes_are_parquet_objects_pandas_opens(xcomlab_s3, stores):
    run_id = run_to_success(xcomlab_s3, "xcom_dataframe")
    name = f"{FOLDER}/xcom_dataframe/{run_id}/extract/-1/return_value.parquet"
    data = stores["s3"].read(name)
    assert data[:4] == b"PAR1", f"{name} is not a parquet file"
    frame = pd.read_parquet(io.BytesIO(data))
    assert frame.index.name == "reading_id" and len(frame) == 1000
    assert isinstance(frame["city"].dtype, pd.CategoricalDtype)
    assert str(frame["at"].dt.tz) == "UTC"
