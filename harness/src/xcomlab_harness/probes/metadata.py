"""The metadata DB's xcom table, through psycopg: the rows Airflow wrote, and what decides scheduling."""

from __future__ import annotations

import json

from dataclasses import dataclass

import psycopg

HEAD_BYTES = 64 * 1024  # enough for any reference; the rest of a big inline value is not needed


@dataclass(frozen=True)
class Row:
    head: bytes  # the stored value's first HEAD_BYTES (characters of JSON text on Airflow 3)
    digest: str  # md5 of the whole value: tells a rewritten row from an untouched one
    size: int


class MetadataDB:
    """The xcom table as Airflow wrote it."""

    def __init__(self, settings: dict[str, str]):
        self.dsn = (
            f"postgresql://{settings['POSTGRES_USER']}:{settings['POSTGRES_PASSWORD']}"
            f"@127.0.0.1:{settings.get('POSTGRES_PORT', '5432')}/{settings['POSTGRES_DB']}"
        )

    def scheduling_state(self) -> str:
        """What decides whether the scheduler starts a queued run (for a failed test's report): the DAGs'
        flags (2.x is_active, 3.x is_stale), the runs per state, the running components' heartbeats."""
        flags = ("dag_id", "is_active", "is_stale", "is_paused", "max_active_runs", "last_parsed_time")
        with psycopg.connect(self.dsn) as conn:
            dags = [{k: dag[k] for k in flags if k in dag}
                    for (dag,) in conn.execute("SELECT row_to_json(d) FROM dag d ORDER BY dag_id")]
            runs = conn.execute("SELECT dag_id, state, count(*), max(last_scheduling_decision) FROM dag_run "
                                "GROUP BY 1, 2 ORDER BY 1, 2").fetchall()
            jobs = conn.execute("SELECT id, job_type, hostname, latest_heartbeat, now() FROM job "
                                "WHERE state = 'running' AND job_type <> 'LocalTaskJob'").fetchall()
        return "\n".join(["dags:", *map(str, dags), "runs (dag, state, count, last decision):", *map(str, runs),
                          "running jobs:", *map(str, jobs)])

    def xcom_values(self, dag_id: str, run_id: str, task_id: str) -> dict[str, object]:
        """key -> stored value, decoded."""
        with psycopg.connect(self.dsn) as conn:
            rows = conn.execute(
                "SELECT key, value FROM xcom WHERE dag_id = %s AND run_id = %s AND task_id = %s",
                (dag_id, run_id, task_id),
            ).fetchall()
        return {key: _decoded(value) for key, value in rows}

    def mapped_values(self, dag_id: str, run_id: str, task_id: str, key: str = "return_value") -> dict[int, object]:
        """map_index -> stored value of one key of a mapped task."""
        with psycopg.connect(self.dsn) as conn:
            rows = conn.execute(
                "SELECT map_index, value FROM xcom WHERE dag_id = %s AND run_id = %s AND task_id = %s AND key = %s",
                (dag_id, run_id, task_id, key),
            ).fetchall()
        return {index: _decoded(value) for index, value in rows}

    def rows(self) -> dict[tuple, object]:
        """(dag_id, run_id, task_id, map_index, key) -> stored value, of every row."""
        with psycopg.connect(self.dsn) as conn:
            rows = conn.execute("SELECT dag_id, run_id, task_id, map_index, key, value FROM xcom").fetchall()
        return {tuple(row[:5]): _decoded(row[5]) for row in rows}

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str]:
        """task_id -> state, of one run."""
        with psycopg.connect(self.dsn) as conn:
            rows = conn.execute("SELECT task_id, state FROM task_instance WHERE dag_id = %s AND run_id = %s",
                                (dag_id, run_id)).fetchall()
        return {task_id: state or "none" for task_id, state in rows}

    def backdate(self, dag_id: str, run_id: str, days: int) -> int:
        """Make a run's XComs look `days` older; returns how many rows changed."""
        with psycopg.connect(self.dsn) as conn:
            return conn.execute("UPDATE xcom SET timestamp = timestamp - make_interval(days => %s) "
                                "WHERE dag_id = %s AND run_id = %s", (days, dag_id, run_id)).rowcount

    def plant(self, dag_id: str, run_id: str, task_id: str, key: str, value) -> None:
        """Write a row as anyone with the metadata DB's credentials could: value as JSON, no backend."""
        with psycopg.connect(self.dsn) as conn:
            cast = "%s::json" if self.json_column(conn) else "convert_to(%s, 'UTF8')"
            conn.execute("INSERT INTO xcom (dag_run_id, task_id, map_index, key, dag_id, run_id, value, timestamp) "
                         f"SELECT id, %s, -1, %s, dag_id, run_id, {cast}, now() FROM dag_run "
                         "WHERE dag_id = %s AND run_id = %s", (task_id, key, json.dumps(value), dag_id, run_id))

    def snapshot(self) -> dict[tuple, Row]:
        """(dag_id, run_id, task_id, map_index, key) -> the stored value's first bytes, digest and size. 2.x's
        column holds bytes a backend may fill with anything, 3.x's JSON; a 64 MB row is not fetched whole."""
        with psycopg.connect(self.dsn) as conn:
            value = "value::text" if self.json_column(conn) else "value"
            rows = conn.execute(f"SELECT dag_id, run_id, task_id, map_index, key, substring({value} from 1 for %s), "
                                f"md5({value}), length({value}) FROM xcom", (HEAD_BYTES,)).fetchall()
        return {tuple(r[:5]): Row(r[5].encode() if isinstance(r[5], str) else bytes(r[5] or b""), r[6] or "", r[7] or 0)
                for r in rows}

    @staticmethod
    def json_column(conn) -> bool:
        kind = conn.execute("SELECT data_type FROM information_schema.columns WHERE table_name = 'xcom' "
                            "AND column_name = 'value'").fetchone()
        return bool(kind) and kind[0] in ("json", "jsonb")


def _decoded(value):
    """Airflow 3 keeps JSON (psycopg decodes it), 2.x JSON bytes (or whatever bytes a custom backend wrote)."""
    if not isinstance(value, (bytes, memoryview)):
        return value
    try:
        return json.loads(bytes(value))
    except ValueError:
        return bytes(value)
