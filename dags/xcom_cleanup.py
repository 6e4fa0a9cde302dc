"""Maintenance: delete old XComs from the metadata DB *and* from the stores they point into, then orphans.

Parameters (trigger with config, or edit the defaults):
- age_days: XComs older than this, of DAG runs that have finished, are deleted (rows and objects/keys/files);
- dry_run: only report what would be deleted;
- backends: which to clean, among db (values kept in rows), common-io, xcomlab-objectstorage, xcomlab-redis,
  xcomlab-localfs;
- orphan_grace_minutes: orphans (objects no row references) younger than this are kept: they may be an
  XCom being pushed right now;
- batch_size: rows per transaction.
Stores come from `[xcomlab] stores` plus the current backend's settings (see xcomlab.stores). On Airflow 3
the tasks reach the metadata DB through the connection `[xcomlab] metadata_conn_id`. Each task logs a
table per store and returns it. What a task refuses to delete (rows it cannot read, a root another metadata DB
owns, objects outside every configured store; see xcomlab.cleanup) it logs with what to do, and then fails, so
that it is seen; delete_orphans runs even when delete_old_xcoms failed.
Schedule: `[xcomlab] cleanup_schedule` (default @daily; empty = manual only).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pendulum

try:  # Airflow 3
    from airflow.sdk import Param, dag, get_current_context, task
except ImportError:  # Airflow 2.x
    from airflow.decorators import dag, task
    from airflow.models.param import Param
    from airflow.operators.python import get_current_context

from xcomlab.compat import conf
from xcomlab.inventory import BACKENDS


def _settings() -> dict:
    params = get_current_context()["params"]
    from xcomlab import cleanup

    return dict(backends=cleanup.check_backends(params["backends"]), dry_run=bool(params["dry_run"]))


def _report(title: str, outcome, dry_run: bool) -> dict:
    """Log the outcome; fail the task if something was refused (after logging what and why)."""
    from xcomlab import cleanup

    print(cleanup.render(title, outcome.tallies, outcome.refused))
    if outcome.refused:
        raise RuntimeError("xcom_cleanup refused to delete some XComs: " + " | ".join(outcome.refused))
    return {"dry_run": dry_run, "stores": cleanup.as_dict(outcome.tallies)}


@dag(
    schedule=conf().get("xcomlab", "cleanup_schedule", fallback="@daily") or None,
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["xcom-lab", "maintenance"],
    params={
        "age_days": Param(30, type="number", minimum=0, description="Delete XComs older than this many days"),
        "dry_run": Param(False, type="boolean", description="Only report what would be deleted"),
        "backends": Param(list(BACKENDS), type="array", items={"enum": list(BACKENDS)},
                          description="Which backends' XComs and stores to clean"),
        "orphan_grace_minutes": Param(60, type="number", minimum=0,
                                      description="Keep orphans younger than this (in-flight pushes)"),
        "batch_size": Param(1000, type="integer", minimum=1, description="Rows per transaction"),
    },
)
def xcom_cleanup():
    @task
    def delete_old_xcoms():
        from xcomlab import cleanup, metadata, stores

        params = get_current_context()["params"]
        older_than = datetime.now(timezone.utc) - timedelta(days=float(params["age_days"]))
        settings = _settings()
        outcome = cleanup.delete_old_xcoms(metadata.engine(), stores.configured_stores(), older_than=older_than,
                                           batch=int(params["batch_size"]), **settings)
        verb = "Would delete" if settings["dry_run"] else "Deleted"
        return _report(f"{verb} XComs older than {older_than:%Y-%m-%d %H:%M:%S} UTC of finished DAG runs:",
                       outcome, settings["dry_run"])

    @task(trigger_rule="all_done")
    def delete_orphans():
        from xcomlab import cleanup, metadata, stores

        grace = timedelta(minutes=float(get_current_context()["params"]["orphan_grace_minutes"]))
        settings = _settings()
        outcome = cleanup.delete_orphans(metadata.engine(), stores.configured_stores(), grace=grace, **settings)
        verb = "Would delete" if settings["dry_run"] else "Deleted"
        return _report(f"{verb} orphans (objects no XCom row references) older than {grace}:", outcome,
                       settings["dry_run"])

    delete_old_xcoms() >> delete_orphans()


xcom_cleanup()
