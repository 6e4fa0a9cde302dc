"""A DataFrame pipeline, as in the pandas-to-S3 talks: extract a DataFrame, transform it, report on it.

The DataFrames travel as XComs: with xcomlab's backend each is a real .parquet object, read back with its
dtypes and index intact (`report` fails the run otherwise).
"""

from __future__ import annotations

import pendulum

try:  # Airflow 3
    from airflow.sdk import dag, task
except ImportError:  # Airflow 2.x
    from airflow.decorators import dag, task

ROWS = 1000


def readings_frame():
    import pandas as pd

    return pd.DataFrame(
        {
            "city": pd.Categorical(["Zürich", "Oslo", "Lima", "Pune"] * (ROWS // 4)),
            "temp": [float(i % 40) for i in range(ROWS)],
            "at": pd.date_range("2026-01-01", periods=ROWS, freq="h", tz="UTC"),
        },
        index=pd.Index(range(100, 100 + ROWS), name="reading_id"),
    )


def transform_frame(readings):
    return readings.groupby("city", observed=True).agg(mean_temp=("temp", "mean"), last=("at", "max"))


@dag(schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), catchup=False, tags=["xcom-lab"])
def xcom_dataframe():
    @task
    def extract():
        return readings_frame()

    @task
    def transform(readings):
        return transform_frame(readings)

    @task
    def report(readings, summary) -> None:
        import pandas as pd

        # Values, dtypes (categorical, tz-aware datetimes) and the named index, exactly.
        pd.testing.assert_frame_equal(readings, readings_frame())
        pd.testing.assert_frame_equal(summary, transform_frame(readings_frame()))
        print(summary)

    readings = extract()
    report(readings, transform(readings))


xcom_dataframe()
