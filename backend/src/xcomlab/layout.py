"""Where an offloaded XCom lives: ``<prefix>/<dag_id>/<run_id>/<task_id>/<map_index>/<key><suffix>``.

Readable (ids stay as they are unless a character would change the path's meaning), deterministic (the
same XCom always maps to the same name, so a retry overwrites instead of orphaning) and safe: ``/``,
``%``, ``\\`` and characters object stores or filesystems treat specially are percent-encoded, and a
part that is ``.`` or ``..`` is encoded whole, so no id can climb out of its folder.
"""

from __future__ import annotations

from dataclasses import dataclass
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


@dataclass(frozen=True)
class XComIds:
    """What names one XCom: the key, and the task instance that pushed it."""

    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    key: str

    def path(self, prefix: str, suffix: str = "") -> str:
        return object_path(prefix, dag_id=self.dag_id, run_id=self.run_id, task_id=self.task_id,
                           map_index=self.map_index, key=self.key, suffix=suffix)

    def __str__(self) -> str:
        mapped = "" if self.map_index == -1 else f"[{self.map_index}]"
        return f"XCom {self.key!r} of task {self.task_id!r}{mapped} (DAG {self.dag_id!r}, run {self.run_id!r})"


def ids_of(path: str, suffix: str) -> XComIds:
    """The XCom a path names: the inverse of XComIds.path for a known suffix."""
    *_, dag_id, run_id, task_id, map_index, name = path.removesuffix(suffix).split("/")
    return XComIds(*map(decode_part, (dag_id, run_id, task_id)), int(map_index), decode_part(name))
