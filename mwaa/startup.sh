#!/usr/bin/env bash
# Sourced before requirements.txt is installed, with a 5-minute limit, as on MWAA. What it exports reaches
# Airflow, except MWAA's reserved variables (PYTHONPATH, AIRFLOW_HOME, AIRFLOW__CORE__EXECUTOR, ...).
export XCOM_LAB_STARTUP_RAN=1
