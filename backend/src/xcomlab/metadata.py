"""The metadata DB's xcom table as the lifecycle tools need it: rows with their DAG run's state, read and
deleted in batches, with plain SQL that reads the same on Airflow 2.x and 3.x (same table, same columns).

Airflow 3 blocks task code from the metadata DB, so the cleanup DAG reaches it through a connection,
`[xcomlab] metadata_conn_id` (any SQL connection whose hook has get_sqlalchemy_engine, e.g. postgres).
Without one, the component's own database (`[database] sql_alchemy_conn`) is used: the CLI, and tasks on 2.x.

A value the tools cannot read (2.x bytes that are not JSON: a pickle, from `[core] enable_xcom_pickling`) stays
bytes, never unpickled; `unreadable` names it, and the audit then deletes nothing (xcomlab.audit).
`identity` names the DB itself, for the ownership marker of each store root (xcomlab.ownership).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, exc, inspect, text

from xcomlab import compat
from xcomlab.layout import XComIds

conf = compat.conf()

FINISHED = "('success', 'failed')"  # DAG run states after which nothing writes its XComs any more
SELECT = """
SELECT x.dag_run_id, x.task_id, x.map_index, x.key, x.dag_id, x.run_id, x.timestamp, x.value, r.state
FROM xcom x JOIN dag_run r ON r.id = x.dag_run_id
"""
# Keyset pagination: each batch starts after the last row of the previous one, in primary-key order.
AFTER = "(x.dag_run_id, x.task_id, x.map_index, x.key) > (:dag_run_id, :task_id, :map_index, :key)"
ORDER = " ORDER BY x.dag_run_id, x.task_id, x.map_index, x.key LIMIT :batch"


@dataclass(frozen=True)
class XComRow:
    dag_run_id: int
    task_id: str
    map_index: int
    key: str
    dag_id: str
    run_id: str
    timestamp: datetime
    value: Any  # as the backend stored it (decoded from JSON)
    run_state: str | None

    @property
    def ids(self) -> XComIds:
        return XComIds(self.dag_id, self.run_id, self.task_id, self.map_index, self.key)

    @property
    def primary_key(self) -> dict:
        return {"dag_run_id": self.dag_run_id, "task_id": self.task_id, "map_index": self.map_index, "key": self.key}


def engine(conn_id: str | None = None):
    """A SQLAlchemy engine on the metadata DB."""
    conn_id = conn_id if conn_id is not None else conf.get("xcomlab", "metadata_conn_id", fallback="")
    if conn_id:
        return compat.base_hook().get_connection(conn_id).get_hook().get_sqlalchemy_engine()
    from airflow import settings

    try:
        return settings.engine
    except AttributeError:
        raise RuntimeError(
            "Airflow 3 does not let task code use the metadata DB directly: create a connection to it "
            "(e.g. AIRFLOW_CONN_XCOMLAB_METADATA=postgresql://user:password@host/db) and name it in "
            "[xcomlab] metadata_conn_id (AIRFLOW__XCOMLAB__METADATA_CONN_ID=xcomlab_metadata)") from None


def _decoded(value: Any) -> Any:
    """Airflow 3's JSON column comes back parsed (see _value_type); 2.x stores the JSON as bytes. A 2.x row that
    is not JSON (a pickle) stays bytes, never unpickled."""
    if not isinstance(value, (bytes, memoryview)):
        return value
    try:
        return json.loads(bytes(value))
    except ValueError:
        return bytes(value)


def unreadable(value: Any) -> bool:
    """True for a decoded value the tools cannot read: it may hide a reference to any object."""
    return isinstance(value, bytes)


def _value_type(db):
    """The xcom.value column's type as the DB declares it, so that raw SQL reads it as the ORM would: Airflow 3's
    JSON column comes back as JSON text from SQLite and MySQL unless typed (a reference would read as a string
    with quotes, and its object as an orphan)."""
    return next(column["type"] for column in inspect(db).get_columns("xcom") if column["name"] == "value")


def identity(db) -> str:
    """What names this metadata DB however it is reached (host names differ between containers): Postgres's
    cluster system identifier, MySQL's server UUID, each with the database name; SQLite's file. Else (the
    function refused, MariaDB, another engine) its URL without the password."""
    queries = {"postgresql": "SELECT system_identifier::text, current_database() FROM pg_control_system()",
               "mysql": "SELECT @@server_uuid, DATABASE()"}
    name = db.dialect.name
    if name in queries:
        with db.connect() as conn:
            try:
                server, database = conn.execute(text(queries[name])).one()
                return f"{name}:{server}/{database}"
            except (exc.ProgrammingError, exc.OperationalError):  # EXECUTE revoked, no @@server_uuid
                pass
    if name == "sqlite" and db.url.database not in (None, "", ":memory:"):
        return "sqlite:" + os.path.realpath(db.url.database)
    return "url:" + db.url.set(password=None).render_as_string(hide_password=False)


def row_batches(db, *, older_than: datetime | None = None, finished_only: bool = False,
                batch: int = 1000) -> Iterator[list[XComRow]]:
    """Every xcom row (or only those older than a time, of finished DAG runs), batch rows at a time."""
    where = []
    params: dict[str, Any] = {"batch": batch}
    if older_than is not None:
        where.append("x.timestamp < :older_than")
        params["older_than"] = older_than
    if finished_only:
        where.append("r.state IN " + FINISHED)
    last = None
    value_type = _value_type(db)
    while True:
        clauses = where + ([AFTER] if last else [])
        query = text(SELECT + (" WHERE " + " AND ".join(clauses) if clauses else "") + ORDER).columns(value=value_type)
        with db.connect() as conn:
            found = [XComRow(*row[:7], _decoded(row[7]), row[8])
                     for row in conn.execute(query, {**params, **(last.primary_key if last else {})})]
        if not found:
            return
        yield found
        last = found[-1]


def rows_of_runs(db, dag_run_ids: set[int]) -> list[XComRow]:
    """Every xcom row of these DAG runs as it is now (what a task re-run wrote since they were read)."""
    if not dag_run_ids:
        return []
    query = text(SELECT + " WHERE x.dag_run_id IN :ids").bindparams(bindparam("ids", expanding=True))
    with db.connect() as conn:
        return [XComRow(*row[:7], _decoded(row[7]), row[8])
                for row in conn.execute(query.columns(value=_value_type(db)), {"ids": sorted(dag_run_ids)})]


def delete_rows(db, rows: list[XComRow], *, older_than: datetime | None = None) -> list[XComRow]:
    """Delete rows in one transaction; with older_than, only those still older and still of a finished run
    (a run cleared since they were read is left alone). Returns the rows actually deleted."""
    condition = ""
    if older_than is not None:
        condition = " AND timestamp < :older_than AND dag_run_id IN (SELECT id FROM dag_run WHERE state IN " + FINISHED + ")"
    query = text("DELETE FROM xcom WHERE dag_run_id = :dag_run_id AND task_id = :task_id "
                 "AND map_index = :map_index AND key = :key" + condition)
    deleted = []
    with db.begin() as conn:
        for row in rows:
            if conn.execute(query, {**row.primary_key, "older_than": older_than}).rowcount:
                deleted.append(row)
    return deleted
