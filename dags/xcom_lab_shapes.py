"""The shapes of value `make check` pushes to find what makes a backend offload (xcom_check_shapes), and
that its store scenarios then push (their run's conf names a shape and, for backends that offload by key
name, a key). Real backends offload by JSON size, by type (DataFrames), by list length or by key name: each
shape here is ordinary for one of those rules and small for the others where it can be.

A plain module (no DAG): the check DAGs import it from dags/, which is on sys.path wherever tasks run.
"""

from __future__ import annotations

SIZED = ("dict", "list_long", "records", "str_long", "nested")  # bigger than any usual size threshold
# Key names backends single out ("offload when the key is 'df'"); pushed with a small dict.
KEYS = ("return_value", "large_data", "big_data", "data", "df", "dataframe", "file", "payload", "result",
        "output", "s3", "gcs", "blob", "offload")
SMALL = {"a": 1}


def value_of(shape: str, scale: int = 1):
    """A fresh value of the shape; scale multiplies its size (the big scenario's 64 MB)."""
    if shape == "dict":  # the toy's big_obj: 100 keys of 100 characters, 11 kB of JSON
        return {f"key{i}": "x" * 100 for i in range(100 * scale)}
    if shape == "list_long":  # 1,000 small items: long for list-length rules, 5 kB of JSON
        return list(range(1000 * scale))
    if shape == "records":  # 200 rows as dicts, as a query result
        return [{"id": i, "name": f"row {i}", "ok": i % 2 == 0} for i in range(200 * scale)]
    if shape == "str_long":
        return "x" * (100_000 * scale)
    if shape == "nested":
        return {"level1": [{"level2": {"values": list(range(50)), "text": "y" * 200}} for _ in range(40 * scale)]}
    if shape == "dataframe":
        import pandas as pd

        rows = 1000 * scale
        return pd.DataFrame({"id": range(rows), "value": [i * 0.5 for i in range(rows)],
                             "name": [f"row {i}" for i in range(rows)]})
    if shape == "small":
        return dict(SMALL)
    raise ValueError(f"unknown shape {shape!r}")


SHAPES = (*SIZED, "dataframe")


def same(pushed, pulled) -> bool:
    """Equal, and of the same type (DataFrames by content, dtypes included)."""
    if type(pushed).__name__ == "DataFrame":
        return type(pulled).__name__ == "DataFrame" and pushed.equals(pulled) and list(pushed.dtypes) == list(pulled.dtypes)
    return type(pushed) is type(pulled) and pushed == pulled


def describe(value) -> str:
    kind = type(value).__name__
    if kind == "DataFrame":
        return f"DataFrame of {value.shape[0]} rows × {value.shape[1]} columns"
    return f"{kind} of {len(value)} items" if isinstance(value, (list, dict, tuple)) else kind


def each(items: dict, act, phase: str) -> dict[str, str]:
    """act(key, value) for each item on its own, so one that fails hides no other: key -> "ok", the problem act
    returns, or "<phase> failed: <exception>"."""
    found = {}
    for key, value in items.items():
        try:
            found[key] = act(key, value) or "ok"
        except Exception as err:  # noqa: BLE001 - each item's own outcome is the point
            name = f"{type(err).__module__}.{type(err).__name__}".removeprefix("builtins.")
            found[key] = f"{phase} failed: {name}: {str(err)[:300]}"
    return found


def recipe(params) -> tuple[str, str | None]:
    """(shape, key) from a run's params/conf; the DAG's own key when the recipe names none."""
    return (params or {}).get("shape") or "dict", (params or {}).get("key") or None
