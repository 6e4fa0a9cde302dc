"""Observe, don't assume: snapshot every store and the task containers before and after a scenario, and
tell what appeared, which XCom row names each new object, and what no row names (a leak).

Nothing here knows a backend's layout. A row names an object when the object's key is part of the row's
text, or when a reference-looking string in the row (a path, a URL, a uuid) is part of the key.
"""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from xcomlab_harness.probes import BUCKET_KEY, Item, Meta
from xcomlab_harness.probes.metadata import Row
from xcomlab_harness.sniff import sniff
from xcomlab_harness.verdict import Landing, Leftover

SNIFF_BYTES = 64 * 1024
RowId = tuple  # (dag_id, run_id, task_id, map_index, key)
REFERENCE_LIKE = re.compile(r"[/:]|^[0-9a-f-]{16,}$")


@dataclass
class State:
    objects: dict[Item, Meta]
    rows: dict[RowId, Row]


@dataclass
class Change:
    """What one scenario did to the stores."""
    new_objects: dict[Item, Meta] = field(default_factory=dict)  # created or rewritten (files in task containers too)
    new_rows: dict[RowId, Row] = field(default_factory=dict)  # created or rewritten
    linked: dict[Item, list[RowId]] = field(default_factory=dict)  # new object -> rows (of the after-state) naming it
    formats: dict[Item, str] = field(default_factory=dict)
    # Folders of container files that rows named (a backend keeping its XComs in files): shared with the
    # Observer, so files a later scenario shows to be the backend's store count as its objects.
    file_stores: set[str] = field(default_factory=set)

    @property
    def leaks(self) -> list[Item]:
        """New objects in a store, or files in the backend's own file folders, that no row names (orphans)."""
        return sorted(item for item in self.new_objects if not self.linked.get(item)
                      and (not is_file(item) or self.in_file_store(item)))

    @property
    def stray_files(self) -> list[Item]:
        """New files in a task container that no row names, outside the backend's own file folders."""
        return sorted(item for item in self.new_objects if not self.linked.get(item) and is_file(item)
                      and not self.in_file_store(item))

    def in_file_store(self, item: Item) -> bool:
        return any(item.key.startswith(folder + "/") for folder in self.file_stores)

    def objects_of(self, row: RowId) -> list[Item]:
        return sorted(item for item, rows in self.linked.items() if row in rows)


def is_file(item: Item) -> bool:
    return item.store.startswith("container://")


def file_store(item: Item, roots: tuple[str, ...] = ()) -> str | None:
    """The folder a backend keeps its XCom files in: the first folder below the probed root that holds the
    file (/tmp/xcom_files of /tmp/xcom_files/<dag>/..., /opt/airflow/xcoms of /opt/airflow/xcoms/<uuid>.json);
    None for a file lying in a root itself."""
    for root in sorted((r.rstrip("/") for r in roots), key=len, reverse=True):
        if item.key.startswith(root + "/"):
            first, sep, _ = item.key[len(root) + 1:].partition("/")
            return f"{root}/{first}" if sep else None
    return None


def row_label(row: RowId) -> str:
    dag_id, run_id, task_id, map_index, key = row
    return f"{dag_id}/{run_id}/{task_id}{f'[{map_index}]' if map_index >= 0 else ''}/{key}"


def row_text(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace")


def reference_strings(raw: bytes) -> list[str]:
    """Strings in a row that could name an object: the value itself, or its string leaves, when they look
    like a path, URL or id (a row holding plain user text names nothing)."""
    try:
        value = json.loads(raw)
    except ValueError:  # not JSON, or a big value's head only
        return []
    leaves, stack = [], [value]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            stack += node.values()
        elif isinstance(node, list):
            stack += node
        elif isinstance(node, str) and len(node) >= 8 and REFERENCE_LIKE.search(node) and len(node) < 2048:
            leaves.append(node)
    return leaves


def names(raw: bytes, item: Item) -> bool:
    text = row_text(raw)
    if len(item.key) >= 4 and item.key in text:
        return True
    return any(s in item.key for s in reference_strings(raw))


class Observer:
    def __init__(self, stores: list, containers: list, metadata):
        self.stores, self.containers, self.metadata = stores, containers, metadata
        self._by_store = {}
        self.file_stores: set[str] = set()

    def snapshot(self) -> State:
        probes = self.stores + self.containers
        with ThreadPoolExecutor(len(probes) + 1) as pool:
            rows = pool.submit(self.metadata.snapshot)
            listings = list(pool.map(lambda p: p.snapshot(), probes))
        objects = {}
        for probe, listing in zip(probes, listings):
            for item in listing:
                self._by_store[item.store] = probe
            objects.update(listing)
        return State(objects, rows.result())

    def probe_of(self, item: Item):
        return self._by_store[item.store]

    def roots_of(self, item: Item) -> tuple[str, ...]:
        return getattr(self._by_store.get(item.store), "roots", ())

    def diff(self, before: State, after: State) -> Change:
        change = Change(file_stores=self.file_stores)
        change.new_objects = {item: meta for item, meta in after.objects.items() if before.objects.get(item) != meta}
        change.new_rows = {row: stored for row, stored in after.rows.items() if before.rows.get(row) != stored}
        for item in change.new_objects:
            change.linked[item] = [row for row, stored in after.rows.items() if names(stored.head, item)]
            change.formats[item] = "bucket" if item.key == BUCKET_KEY else self.sniff(item)
            if change.linked[item] and is_file(item) and (folder := file_store(item, self.roots_of(item))):
                self.file_stores.add(folder)
        return change

    def sniff(self, item: Item) -> str:
        try:
            return sniff(self.probe_of(item).read(item, SNIFF_BYTES))
        except Exception as err:  # noqa: BLE001 - gone again already (a temp object): say so
            return f"unreadable ({type(err).__name__})"

    def read(self, item: Item) -> bytes:
        return self.probe_of(item).read(item)

    def delete(self, item: Item) -> None:
        self.probe_of(item).delete(item)


def landings(change: Change, scenario: str) -> list[Landing]:
    """Where each XCom the scenario wrote landed: its objects, or the row itself."""
    found = []
    for row, stored in sorted(change.new_rows.items()):
        objects = change.objects_of(row)
        for item in objects:
            found.append(Landing(row_label(row), item.store, item.key, change.new_objects[item].size,
                                 change.formats[item], scenario))
        if not objects:
            found.append(Landing(row_label(row), "metadata DB", "xcom row", stored.size, sniff(stored.head), scenario))
    return found


def leftovers(change: Change, scenario: str) -> list[Leftover]:
    return [Leftover(item.store, item.key, change.new_objects[item].size, change.formats[item], scenario, why(item, change))
            for item in change.leaks + change.stray_files]


FILE_LEFT = "file left in the container"


def why(item: Item, change: Change) -> str:
    if is_file(item) and not change.in_file_store(item):
        return FILE_LEFT
    return "bucket created" if item.key == BUCKET_KEY else "no XCom row names it"
