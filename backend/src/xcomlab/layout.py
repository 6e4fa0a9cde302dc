"""Where an offloaded XCom lives: ``<prefix>/<dag_id>/<run_id>/<task_id>/<map_index>/<key><suffix>``.

Readable (ids stay as they are unless a character would change the path's meaning), deterministic (the
same XCom always maps to the same name, so a retry overwrites instead of orphaning) and safe: ``/``,
``%``, ``\\`` and characters object stores or filesystems treat specially are percent-encoded, and a
part that is ``.`` or ``..`` is encoded whole, so no id can climb out of its folder.
Unambiguous: a key's dot that would make ``<key><suffix>`` read as a longer suffix is percent-encoded
(a DataFrame under key ``x.arrow`` is ``x%2Earrow.parquet``, not the Arrow table of key ``x``).
Canonical: ``ids_under`` accepts a URL only when it is exactly the path its XCom would get under a root, so
a reference with ``..``, an encoded dot, a doubled slash, a missing or extra part, or another bucket,
connection or scheme names no XCom there.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, unquote

from xcomlab import codec

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
    parts = [dag_id, run_id, task_id, str(map_index)]
    name = _unambiguous(encode_part(key), suffix)
    return "/".join([prefix.rstrip("/"), *map(encode_part, parts), name]) + suffix


def _unambiguous(name: str, suffix: str) -> str:
    """name with the dot percent-encoded where name + suffix would end with a longer codec suffix."""
    if suffix not in codec.SUFFIXES:
        return name
    while (longest := codec.suffix_of(name + suffix)) != suffix:
        extra = longest[:-len(suffix)]  # e.g. ".arrow" of key "x.arrow" before ".parquet"
        name = name[:-len(extra)] + "%2E" + extra[1:]
    return name


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


def ids_under(root: str, url: str) -> tuple[XComIds, str] | None:
    """(the XCom, its suffix) when url is exactly where that XCom lies under root; else None.

    Proven by re-encoding, not by a string prefix: whatever decodes to the same ids but is spelt otherwise
    (``..``, ``%2e``, ``//``, ``+1`` for ``1``, extra or missing parts) is not the XCom's path."""
    root = root.rstrip("/")
    if not url.startswith(root + "/"):
        return None
    try:
        suffix = codec.suffix_of(url)
        ids = ids_of(url[len(root):], suffix)
        canonical = ids.path(root, suffix)
    except ValueError:  # no codec suffix, too few parts, a map index that is no integer, an empty part
        return None
    return (ids, suffix) if canonical == url else None
