"""Airflow paths that change XCom rows without asking the backend, measured on this version with xcomlab on
S3: the REST API's (and the UI's) add, edit and delete of an XCom entry, a DAG-run delete and `airflow db
clean`. Each is recorded in the report's bypass table with what it left, and asserted as docs/faults.md says
it behaves, so that a change in Airflow shows; `make doctor` must find every object left behind, and
`make doctor --fix` removes them.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
import requests
from stores import doctor
from xcomlab_harness.dag_runs import db_clean_xcoms
from xcomlab_harness.probes import Item
from xcomlab_harness.stack.settings import airflow_major, version_folder

pytestmark = pytest.mark.e2e

DAG, TASK = "xcom_push_pull", "push_objects"
BIG = {"rows": ["x" * 100] * 30}  # 3,009 bytes of JSON: over the sandbox's threshold (1000)
BACKEND = "xcomlab-s3"


def objects_of(stores, folder: str, run_id: str) -> dict[str, int]:
    return stores["s3"].list(f"{folder}/xcomlab/{DAG}/{run_id}/")


def audit(compose_env) -> dict:
    return doctor(compose_env, "--limit", "100000")  # every orphan listed, not the first 20


def orphan_names(found: dict) -> set[str]:
    return {item["url"].rsplit("@xcom/", 1)[-1] for store in found["stores"].values() for item in store["orphans"]}


def row_of(metadata_db, run_id: str, key: str):
    return metadata_db.rows().get((DAG, run_id, TASK, -1, key))


@pytest.fixture(scope="module")
def runs(stack, airflow, settings):
    stack.switch_task_side(BACKEND)  # tasks push; make doctor and db clean run in the scheduler
    airflow.wait_for_dag(DAG)
    made = {"clean": airflow.trigger(DAG)}
    airflow.wait_for_run(DAG, made["clean"])
    made["cutoff"] = datetime.now(timezone.utc).isoformat()  # db clean drops rows older than this, not the rest
    made.update({role: airflow.trigger(DAG) for role in ("entry", "delete", "run", "plant")})
    for role in ("entry", "delete", "run", "plant"):
        airflow.wait_for_run(DAG, made[role])
    return made


@pytest.fixture(scope="module")
def folder(settings) -> str:
    return version_folder(settings)


def test_rest_add_edit_delete_of_an_xcom_entry(airflow, runs, stores, metadata_db, compose_env, folder, report, settings):
    run_id = runs["entry"]
    before = objects_of(stores, folder, run_id)
    if airflow_major(settings) < 3:
        with pytest.raises(requests.HTTPError) as refused:
            airflow.add_xcom_entry(DAG, run_id, TASK, "added_big", BIG)
        report.add_bypass("REST add, edit and delete of an XCom", "not in Airflow 2's REST API (HTTP "
                          f"{refused.value.response.status_code})", "-")
        assert refused.value.response.status_code == 405, "Airflow 2's REST API has no method to write an XCom"
        return
    airflow.add_xcom_entry(DAG, run_id, TASK, "added_big", BIG)
    stored = row_of(metadata_db, run_id, "added_big")
    added = set(objects_of(stores, folder, run_id)) - set(before)
    inline = not (isinstance(stored, str) and stored.startswith("xcomlab:ref:"))
    report.add_bypass("REST/UI add of an XCom (3,009 bytes)", "row written " + ("inline, the backend skipped" if inline
                      else "through the backend"), f"{len(added)} new object(s)")
    # Airflow 3's REST API writes the row itself (XComModel.set, serialize=False), never through the backend
    assert (stored, added) == (BIG, set()), f"the REST add should keep the value inline: row {stored!r:.120}, {added}"

    airflow.edit_xcom_entry(DAG, run_id, TASK, "big_obj", BIG)
    after_edit = row_of(metadata_db, run_id, "big_obj")
    left = {n for n in set(before) & set(objects_of(stores, folder, run_id)) if n.endswith("/big_obj.json")}
    report.add_bypass("REST/UI edit of an offloaded XCom", "row replaced " + (
        "by the value inline" if not str(after_edit).startswith("xcomlab:ref:") else "through the backend"),
        f"{len(left)} object(s) no row names")
    # the edit replaces the row the same way and never calls purge: the object the old row named is an orphan
    assert (after_edit, len(left)) == (BIG, 1), \
        f"the REST edit should put the value inline and leave big_obj's object: row {after_edit!r:.120}, {left}"

    airflow.delete_xcom_entry(DAG, runs["delete"], TASK, "big_obj")
    assert row_of(metadata_db, runs["delete"], "big_obj") is None
    orphans = orphan_names(audit(compose_env))
    found = {role: {n.rsplit("/", 1)[1] for n in orphans if f"/{runs[role]}/" in n} for role in ("entry", "delete")}
    report.add_bypass("REST/UI delete of an offloaded XCom", "row deleted, purge not called",
                      f"{len(found['delete'])} object(s) left, found by make doctor")
    assert found == {"entry": {"big_obj.json"}, "delete": {"big_obj.json"}}, found


def test_a_planted_reference_outside_the_root_is_neither_deleted_by_a_clear_nor_kept(airflow, runs, stores, metadata_db,
                                                                                   folder, report, settings):
    """Whoever may write a row (Airflow 3's REST API and UI "Add XCom"; on 2.x the metadata DB) points it at an
    object outside the backend's root; clearing the task purges the task's rows at the start of its next try."""
    victims = {f"{folder}-victim/secret.json": "s3://xcom_s3@xcom/{}",
               f"{folder}-victim/dotted.json": f"s3://xcom_s3@xcom/{folder}/xcomlab/{DAG}/x/{TASK}/-1/../../../../../../{{}}"}
    s3 = stores["s3"].probe
    for name in victims:
        s3.put(Item("s3://xcom", name), b'{"secret": "kept"}')
    planted = {f"planted_{n}": "xcomlab:ref:" + url.format(name) for n, (name, url) in enumerate(victims.items())}
    via_rest = airflow_major(settings) >= 3
    for key, value in planted.items():
        if via_rest:
            airflow.add_xcom_entry(DAG, runs["plant"], TASK, key, value)
        else:
            metadata_db.plant(DAG, runs["plant"], TASK, key, value)
    assert {key: row_of(metadata_db, runs["plant"], key) for key in planted} == planted, "the rows hold the references"
    airflow.clear_task(DAG, runs["plant"], TASK)
    airflow.wait_for_run(DAG, runs["plant"])
    kept = set(stores["s3"].list(f"{folder}-victim/"))
    report.add_bypass("reference outside the root planted " + ("through the REST API" if via_rest else "in the metadata DB")
                      + ", then the task cleared", "rows purged, objects outside the root left alone",
                      f"outside-root deletes: {len(victims) - len(kept & set(victims))}")
    assert kept == set(victims), f"a clear deleted an object outside the backend's root: {set(victims) - kept}"
    assert not {key for key in planted if row_of(metadata_db, runs["plant"], key) is not None}, "the clear keeps rows"
    for name in victims:
        s3.delete(Item("s3://xcom", name))


def test_dag_run_delete_and_db_clean_leave_orphans_that_doctor_finds(airflow, runs, stores, compose_env, folder,
                                                                     report):
    left_by = {}
    airflow.delete_run(DAG, runs["run"])
    left_by["DAG-run delete (REST/UI)"] = objects_of(stores, folder, runs["run"])
    db_clean_xcoms(compose_env, runs["cutoff"])
    left_by["airflow db clean --tables xcom"] = objects_of(stores, folder, runs["clean"])
    orphans = orphan_names(audit(compose_env))
    for path, left in left_by.items():
        report.add_bypass(path, "rows deleted, purge not called", f"{len(left)} object(s), all found by make doctor"
                          if set(left) <= orphans else f"{len(left)} object(s), {len(set(left) - orphans)} missed")
        assert left and {f"{folder}/xcomlab/{DAG}/" in n for n in left} == {True}
        assert set(left) <= orphans, f"{path}: make doctor misses {set(left) - orphans}"


def test_doctor_fix_removes_what_the_bypasses_left(compose_env):
    doctor(compose_env, "--fix", "--grace-minutes", "0", "--fix-dangling")
    assert not orphan_names(audit(compose_env))
