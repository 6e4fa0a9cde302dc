"""`make check` types: every JSON-able Python type a task returns, small (in the DB row) and inside one big
value (offloaded by most backends); `pull` fails unless each comes back equal *and of the same type* as
Airflow's own DB backend returns it on this version (2.x's own encoder turns tuples into lists, 3.x's serde
keeps them), listing every change as "'123' (str) came back as 123 (int)".
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from types import SimpleNamespace

import pendulum
from xcom_lab_shapes import each

try:  # Airflow 3
    from airflow.sdk import dag, task
except ImportError:  # Airflow 2.x
    from airflow.decorators import dag, task

VALUES = {
    "str": "plain text",
    "str_123": "123",
    "str_null": "null",
    "str_true": "true",
    "str_json": '{"a": 1}',
    "int": 42,
    "float": 3.5,
    "bool": True,
    "none": None,
    "dict": {"a": 1, "b": [1, 2]},
    "list": [1, "two", 3.0],
    "tuple": (1, "two"),
    "nested": {"rows": [{"id": 1, "tags": ["x"], "meta": {"ok": True, "score": 0.5}}]},
    "datetime": datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc),
    "emoji": "Zürich 🚀 東京",
}
BIG = {"values": [VALUES] * 60}  # tens of kB of JSON: over any usual threshold


def airflow_round_trip(value):
    """What Airflow's default backend gives back for value: the row it would store, read back."""
    try:  # Airflow 3: the row holds serde's JSON
        from airflow.sdk.bases.xcom import BaseXCom

        stored = json.loads(json.dumps(BaseXCom.serialize_value(value)))
    except ImportError:  # Airflow 2.x: the row holds JSON bytes
        from airflow.models.xcom import BaseXCom

        stored = BaseXCom.serialize_value(value)
    return BaseXCom.deserialize_value(SimpleNamespace(value=stored))


def changes(expected, got, path: str) -> list[str]:
    """Differences in value or exact type, as one line each."""
    if type(expected) is not type(got):
        return [f"{path}: {expected!r:.60} ({type(expected).__name__}) came back as {got!r:.60} ({type(got).__name__})"]
    if isinstance(expected, dict):
        if expected.keys() != got.keys():
            return [f"{path}: keys {sorted(expected)} came back as {sorted(got)}"]
        return [line for k in expected for line in changes(expected[k], got[k], f"{path}.{k}")]
    if isinstance(expected, (list, tuple)):
        if len(expected) != len(got):
            return [f"{path}: {len(expected)} items came back as {len(got)}"]
        return [line for i, (e, g) in enumerate(zip(expected, got)) for line in changes(e, g, f"{path}[{i}]")]
    return [] if expected == got else [f"{path}: {expected!r:.60} came back as {got!r:.60}"]


@dag(schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), catchup=False, tags=["xcom-lab", "check"])
def xcom_check_types():
    @task
    def push(**context):
        found = each({**VALUES, "big": BIG}, lambda key, value: context["ti"].xcom_push(key=key, value=value), "push")
        print("xcom-lab-types " + json.dumps({"phase": "push", "outcomes": found}), flush=True)

    @task
    def pull(**context):
        values = {**VALUES, "big": BIG}
        airflow_own = [line for key, value in values.items() for line in changes(value, airflow_round_trip(value), key)]

        def compare(key, value):
            return "; ".join(changes(airflow_round_trip(value), context["ti"].xcom_pull(task_ids="push", key=key), key)[:3])

        found = each(values, compare, "pull")
        print("xcom-lab-baseline " + json.dumps({"airflow_own_changes": airflow_own[:3], "count": len(airflow_own)}))
        print("xcom-lab-types " + json.dumps({"phase": "pull", "outcomes": found}), flush=True)
        bad = [line for line in found.values() if line != "ok"]
        if bad:
            raise ValueError(f"{len(bad)} value(s) changed: " + "; ".join(bad[:3]))
        print(f"{len(VALUES) + 1} values came back as Airflow's own backend returns them")

    push() >> pull()


xcom_check_types()
