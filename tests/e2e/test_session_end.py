"""After every other module (conftest runs this one last): what the whole e2e left behind holds no secret and
no pickle. Task logs (the logs volume) and the REST API's answers are searched for the S3 secret key, the
Azure account key, the Fernet key and the JWT secret; every payload under this version's store roots, and
every XCom row, is sniffed for pickle. `make check`'s own DAGs (xcom_check_*) are left out: its fixtures
include backends that pickle on purpose, to be caught."""

from __future__ import annotations

import pytest
from xcomlab_harness.probes import all_probes
from xcomlab_harness.sniff import SNIFF_BYTES, is_pickle, sniff
from xcomlab_harness.stack.compose import compose
from xcomlab_harness.stack.settings import version_folder

pytestmark = pytest.mark.e2e

LOGS = "/opt/airflow/logs"
API_PATHS = ("/connections", "/variables", "/config", "/version", "/providers", "/pools", "/importErrors",
             "/dags/~/dagRuns/~/taskInstances/~/xcomEntries?limit=1000", "/dags/~/dagRuns?limit=1000")


def secrets(settings) -> dict[str, str]:
    azure = settings["AIRFLOW_CONN_XCOM_AZURE"].split("AccountKey=")[1].split(";")[0]
    return {"S3 secret key": settings["S3_SECRET_KEY"], "Azure account key": azure,
            "Fernet key": settings["AIRFLOW_FERNET_KEY"], "JWT secret": settings["AIRFLOW_JWT_SECRET"]}


def test_no_secret_in_any_task_log(stack, compose_env, settings):
    found = {}
    for name, secret in secrets(settings).items():
        done = compose(compose_env, "exec", "-T", "airflow-scheduler", "grep", "-rlF", "--", secret, LOGS,
                               check=False, capture_output=True, text=True)
        assert done.returncode in (0, 1), done.stderr  # 1: no match
        if done.stdout.strip():
            found[name] = done.stdout.split()
    assert not found, f"secrets in task logs: {found}"


def test_no_secret_in_any_api_response(airflow, settings):
    found = {}
    for path in API_PATHS:
        response = airflow.session.get(airflow.api + path, timeout=30)
        for name, secret in secrets(settings).items():
            if secret in response.text:
                found.setdefault(path, []).append(name)
    assert not found, f"secrets in API responses: {found}"


def test_no_pickle_in_any_stored_payload(stack, settings, compose_env, metadata_db):
    folder = version_folder(settings) + "/"
    pickled, sniffed = [], 0
    for probe in all_probes(settings, compose_env, []):
        for item, meta in probe.snapshot().items():
            if folder not in item.key or not meta.size:
                continue
            sniffed += 1
            if is_pickle(sniff(probe.read(item, SNIFF_BYTES))):
                pickled.append(str(item))
    for ids, row in metadata_db.snapshot().items():
        if not ids[0].startswith("xcom_check_"):
            sniffed += 1
            if is_pickle(sniff(row.head)):
                pickled.append(f"xcom row {ids}")
    assert sniffed, "nothing to sniff: the e2e stored nothing"
    assert not pickled, f"{len(pickled)} pickled payloads of {sniffed}: {pickled[:10]}"
