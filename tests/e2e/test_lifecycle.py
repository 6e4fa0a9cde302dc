"""XCom lifecycle: orphans and a dangling row made on purpose, found by the audit (`make doctor`), removed
by the xcom_cleanup DAG, which leaves young XComs and unfinished DAG runs alone.

One scenario, built once (module fixture), over four stores (the provider's S3, xcomlab on Azure, Redis,
localfs). For each backend xcom_lifecycle runs four times:
- old:     its rows are backdated 10 days (the cleanup, age 5 days, deletes rows and objects);
- young:   untouched (the cleanup must keep it);
- deleted: the DAG run is deleted through the REST API (its rows go, its objects become orphans);
- cleaned: backdated 100 days, then `airflow db clean` drops its rows (orphans again);
- cleared: its task cleared once it succeeded, so it runs again (xcomlab must leave one object per XCom).
Plus: on S3, xcom_retry (the provider's backend with a task that fails twice); on Redis, the old run's
big key deleted by hand (a dangling row); on localfs, a run held open (up_for_retry), backdated 10 days.
Expectations come from outside Airflow: each store's own client and the metadata DB.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import pytest
from stores import bucket_name, doctor
from xcomlab_harness.dag_runs import db_clean_xcoms
from xcomlab_harness.stack.settings import load_settings, version_folder
from xcomlab_harness.stack.stores import STORES

# SCOPE=version skips it: what is version-specific in it (reading 2.x's and 3.x's xcom rows, the cleanup DAG
# on each major) test_bypasses and test_airflow_faults also exercise, in a fraction of the time.
pytestmark = [pytest.mark.e2e, pytest.mark.version_independent]

LIFECYCLE, RETRY, CLEANUP = "xcom_lifecycle", "xcom_retry", "xcom_cleanup"
ROLES = ("old", "young", "deleted", "cleaned", "cleared")
# backend -> (key of the `stores` fixture, the store's name in reports: <kind>=<root> from XCOMLAB_STORES)
VERSION_FOLDER = version_folder(load_settings())
BACKENDS = {
    "s3": ("s3", f"common-io=s3://xcom_s3@xcom/{VERSION_FOLDER}/xcom"),
    "xcomlab-azure": ("azure", f"xcomlab=abfs://xcom_azure@xcom/{VERSION_FOLDER}/xcomlab"),
    "redis": ("redis", f"xcomlab=redis://xcom_redis/{VERSION_FOLDER}/xcomlab"),
    "localfs": ("localfs", f"xcomlab=file:///opt/airflow/xcom-localfs/{VERSION_FOLDER}/xcomlab"),
}
FOLDERS = {backend: f"{VERSION_FOLDER}/{'xcom' if backend == 's3' else 'xcomlab'}" for backend in BACKENDS}
AGE_DAYS = 5


@dataclass
class Made:
    backend: str
    run_id: str
    rows: dict[tuple, object]  # (dag_id, run_id, task_id, map_index, key) -> stored value
    objects: dict[str, int]  # name in the store -> size

    @property
    def store(self) -> str:
        return BACKENDS[self.backend][0]

    @property
    def store_name(self) -> str:
        return BACKENDS[self.backend][1]


@dataclass
class Scenario:
    made: dict[tuple[str, str], Made] = field(default_factory=dict)  # (backend, role) -> what it made
    orphans: set[tuple[str, str]] = field(default_factory=set)  # (store, name) the audit must find
    dangling: tuple[str, str] | None = None  # (store, name) of the object deleted by hand
    retry_orphans: int = 0
    clear_orphans: int = 0
    audit: dict = field(default_factory=dict)  # doctor --json before the cleanup
    before_dry_run: tuple = ()
    after_dry_run: tuple = ()
    dry_run_report: dict = field(default_factory=dict)
    report: dict = field(default_factory=dict)
    audit_after: dict = field(default_factory=dict)
    after: tuple = ()


def locate(url: str) -> tuple[str, str]:
    """(store, name) of a URL the audit reports, as the e2e's store clients name objects."""
    scheme = url.partition("://")[0]
    if scheme == "redis":
        return "redis", url.removeprefix("redis://").partition("/")[2]
    if scheme == "file":
        return "localfs", url.removeprefix("file://").partition("/")[2].removeprefix("opt/airflow/xcom-localfs/")
    return next(s.name for s in STORES if scheme in s.schemes), bucket_name(url)


def referenced_name(value) -> str | None:
    """The object a row points at (xcomlab's reference or the provider's plain URL), as the store names it."""
    if not isinstance(value, str) or "://" not in value:
        return None
    return locate(value.removeprefix("xcomlab:ref:"))[1]


def snapshot(stores, metadata_db) -> tuple[dict, dict]:
    """Every row but the cleanup's own reports, and every object of the four stores."""
    rows = {k: v for k, v in metadata_db.rows().items() if k[0] != CLEANUP}
    return rows, {store: stores[store].list("") for store, _ in BACKENDS.values()}


def cleanup(airflow, metadata_db, **conf) -> dict:
    """Run xcom_cleanup; its two reports (returned values kept in the DB: BACKEND=db)."""
    run_id = airflow.trigger(CLEANUP, conf)
    airflow.wait_for_run(CLEANUP, run_id)
    return {task: metadata_db.xcom_values(CLEANUP, run_id, task)["return_value"]
            for task in ("delete_old_xcoms", "delete_orphans")}


def run_objects(stores, backend: str, dag_id: str, run_id: str) -> dict[str, int]:
    store = stores[BACKENDS[backend][0]]
    return store.list(f"{FOLDERS[backend]}/{dag_id}/{run_id}/")


@pytest.fixture(scope="module")
def scenario(stack, airflow, stores, metadata_db, compose_env, settings) -> Scenario:
    done = Scenario()
    stack.switch_task_side("db")  # tasks push and the cleanup purges: the scheduler is the side that counts
    for dag_id in (LIFECYCLE, RETRY, CLEANUP):
        airflow.wait_for_dag(dag_id)
    cleanup(airflow, metadata_db, age_days=0, orphan_grace_minutes=0)  # start from empty stores
    held = None
    for backend in BACKENDS:
        stack.switch_task_side(backend)
        run_ids = {role: airflow.trigger(LIFECYCLE) for role in ROLES}
        if backend == "s3":
            run_ids["retry"] = airflow.trigger(RETRY)
        if backend == "localfs":
            held = run_ids["held"] = airflow.trigger(LIFECYCLE, {"hold": True})
            airflow.wait_for_task_state(LIFECYCLE, held, "produce", "up_for_retry")
        for role, run_id in run_ids.items():
            if role != "held":
                airflow.wait_for_run(RETRY if role == "retry" else LIFECYCLE, run_id)
        airflow.clear_task(LIFECYCLE, run_ids["cleared"], "produce")
        airflow.wait_for_run(LIFECYCLE, run_ids["cleared"])
        rows = metadata_db.rows()
        for role, run_id in run_ids.items():
            dag_id = RETRY if role == "retry" else LIFECYCLE
            done.made[backend, role] = Made(backend, run_id, {k: v for k, v in rows.items() if k[:2] == (dag_id, run_id)},
                                            run_objects(stores, backend, dag_id, run_id))
    stack.switch_task_side("db")  # the cleanup's reports stay in its rows; the held run survives (up_for_retry)

    for (backend, role), made in done.made.items():
        days = {"old": 10, "held": 10, "cleaned": 100}.get(role)
        if days:
            assert metadata_db.backdate(RETRY if role == "retry" else LIFECYCLE, made.run_id, days) == len(made.rows)
        if role in ("deleted", "cleaned"):
            done.orphans |= {(made.store, name) for name in made.objects}
        if role in ("retry", "cleared"):  # whatever the provider's backend left is an orphan too
            referenced = {referenced_name(value) for value in made.rows.values()}
            left = {(made.store, name) for name in made.objects if name not in referenced}
            if role == "retry":
                done.retry_orphans = len(left)
            elif backend == "s3":
                done.clear_orphans = len(left)
            done.orphans |= left
    for backend in BACKENDS:
        airflow.delete_run(LIFECYCLE, done.made[backend, "deleted"].run_id)
    before = (datetime.now(timezone.utc) - timedelta(days=50)).isoformat()
    db_clean_xcoms(compose_env, before)
    old_redis = done.made["redis", "old"]
    [lost] = [name for name in old_redis.objects if name.endswith("/big.json")]
    stores["redis"].client.delete(lost)
    done.dangling = ("redis", lost)

    done.audit = doctor(compose_env)
    done.before_dry_run = snapshot(stores, metadata_db)
    done.dry_run_report = cleanup(airflow, metadata_db, age_days=AGE_DAYS, dry_run=True, orphan_grace_minutes=0)
    done.after_dry_run = snapshot(stores, metadata_db)
    done.report = cleanup(airflow, metadata_db, age_days=AGE_DAYS, orphan_grace_minutes=0)
    done.audit_after = doctor(compose_env)
    done.after = snapshot(stores, metadata_db)
    airflow.set_run_state(LIFECYCLE, held, "failed")  # let the held run end
    return done


def audited(audit: dict, what: str) -> set[tuple[str, str]]:
    return {locate(item["url"]) for store in audit["stores"].values() for item in store[what]}


def test_the_audit_finds_exactly_the_orphans_made(scenario, report):
    """db clean and deleted runs on all four stores (and whatever the provider's retries left)."""
    report.add_known_difference("s3", "orphans the audit finds after a task failed twice, then succeeded "
                                "(xcom_retry)", f"{scenario.retry_orphans} objects")
    report.add_known_difference("s3", "orphans the audit finds after a successful task was cleared and ran again",
                                f"{scenario.clear_orphans} objects")
    assert audited(scenario.audit, "orphans") == scenario.orphans


@pytest.mark.parametrize("backend", [b for b in BACKENDS if b != "s3"])
def test_xcomlab_leaves_one_object_per_xcom_after_a_clear(scenario, backend):
    cleared = scenario.made[backend, "cleared"]
    assert [name.rsplit("/", 3)[1:] for name in cleared.objects] == [["produce", "-1", "big.json"]], cleared.objects
    assert {referenced_name(value) for value in cleared.rows.values()} == {*cleared.objects, None}


def test_the_audit_reports_the_dangling_row(scenario):
    assert audited(scenario.audit, "dangling") == {scenario.dangling}
    [row] = [d for s in scenario.audit["stores"].values() for d in s["dangling"]]
    assert (row["dag_id"], row["run_id"], row["key"]) == (LIFECYCLE, scenario.made["redis", "old"].run_id, "big")


def test_a_dry_run_deletes_nothing_and_reports_what_the_cleanup_deleted(scenario):
    assert scenario.after_dry_run == scenario.before_dry_run
    assert all(report["dry_run"] for report in scenario.dry_run_report.values())
    assert {task: r["stores"] for task, r in scenario.dry_run_report.items()} == \
        {task: r["stores"] for task, r in scenario.report.items()}


def test_the_cleanup_leaves_no_orphans_and_no_dangling_rows(scenario):
    assert audited(scenario.audit_after, "orphans") == set()
    assert audited(scenario.audit_after, "dangling") == set()


def test_the_cleanup_deletes_old_xcoms_rows_and_objects(scenario):
    rows, objects = scenario.after
    for backend in BACKENDS:
        old = scenario.made[backend, "old"]
        assert not set(old.rows) & set(rows), f"{backend}: old rows left"
        assert not set(old.objects) & set(objects[old.store]), f"{backend}: old objects left"


def test_the_cleanup_keeps_young_xcoms_and_unfinished_runs(scenario):
    """Rows and the objects they reference, of the young runs and of the held run (backdated but not
    finished), untouched."""
    rows, objects = scenario.after
    kept = [made for (backend, role), made in scenario.made.items() if role in ("young", "held", "retry", "cleared")]
    assert any(role == "held" for _, role in scenario.made)
    for made in kept:
        assert made.rows and {k: rows.get(k) for k in made.rows} == made.rows, f"{made.backend} {made.run_id}"
        referenced = {n: size for n, size in made.objects.items() if n in map(referenced_name, made.rows.values())}
        assert {n: objects[made.store].get(n) for n in referenced} == referenced, f"{made.backend} {made.run_id}"


def test_the_cleanup_reports_xcoms_objects_and_bytes_per_store(scenario):
    """What delete_old_xcoms and delete_orphans report, against what was there (outside Airflow)."""
    expected_rows: dict[str, dict[str, int]] = {}
    for backend in BACKENDS:
        old = scenario.made[backend, "old"]
        line = expected_rows.setdefault(old.store_name, {"xcoms": 0, "objects": 0, "bytes": 0, "missing": 0})
        for value in old.rows.values():
            name = referenced_name(value)
            if name is None:
                db = expected_rows.setdefault("db", {"xcoms": 0, "objects": 0, "bytes": 0, "missing": 0})
                db["xcoms"] += 1
                db["bytes"] += len(json.dumps(value))
                continue
            line["xcoms"] += 1
            if (old.store, name) == scenario.dangling:
                line["missing"] += 1
            else:
                line["objects"] += 1
                line["bytes"] += old.objects[name]
    assert scenario.report["delete_old_xcoms"]["stores"] == expected_rows

    expected_orphans: dict[str, dict[str, int]] = {}
    sizes = {(made.store, n): size for made in scenario.made.values() for n, size in made.objects.items()}
    names = {store: name for store, name in BACKENDS.values()}
    for store, name in scenario.orphans:
        line = expected_orphans.setdefault(names[store], {"xcoms": 0, "objects": 0, "bytes": 0, "missing": 0})
        line["objects"] += 1
        line["bytes"] += sizes[store, name]
    assert scenario.report["delete_orphans"]["stores"] == expected_orphans
