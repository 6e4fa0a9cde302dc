"""A psycopg2 connection to the metadata DB, for the small scripts that must not import all of Airflow."""

import os

import psycopg2


def connect(timeout: int):
    # Same URL the components use, minus SQLAlchemy's driver suffix.
    dsn = os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].replace("postgresql+psycopg2://", "postgresql://")
    return psycopg2.connect(dsn, connect_timeout=timeout)
