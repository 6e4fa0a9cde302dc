"""Where an offloaded XCom lives: ``<prefix>/<dag_id>/<run_id>/<task_id>/<map_index>/<key><suffix>``.

Readable (ids stay as they are unless a character would change the path's meaning), deterministic (the
same XCom always maps to the same name, so a retry overwrites instead of orphaning) and safe: ``/``,
``%``, ``\\`` and characters object stores or filesystems treat specially are percent-encoded, and a
part that is ``.`` or ``..`` is encoded whole, so no id can climb out of its folder.
"""

from __future__ import annotations

from urllib.parse import quote, unquote

# Kept as they are: what Airflow allows in ids and run ids (letters, digits, - _ . : + @ ~ =).
SAFE = "-_.:+@~="


def encode_part(part: str) -> str:
    if part in (".", ".."):
        return part.replace(".", "%2E")
    if not part:
        raise ValueError("an XCom path part cannot be empty")
    return quote(part, safe=SAFE)


def object_path(prefix: str, *, dag_id: str, run_id: str, task_id: str, map_index: int, key: str,
                suffix: str = "") -> str:
    """The object's path under prefix (a store URL or folder; its own slashes are kept)."""
    parts = [dag_id, run_id, task_id, str(map_index), key]
    return "/".join([prefix.rstrip("/"), *map(encode_part, parts)]) + suffix


def run_prefix(prefix: str, *, dag_id: str, run_id: str) -> str:
    """Everything one DAG run stored lies under this folder (for purge and audits)."""
    return "/".join([prefix.rstrip("/"), encode_part(dag_id), encode_part(run_id)]) + "/"


def decode_part(part: str) -> str:
    return unquote(part)
