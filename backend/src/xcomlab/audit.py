"""The orphan audit: every store against every xcom row.

- orphan: an object with its store's XCom layout that no row references (left by `airflow db clean`, a
  deleted DAG run or DAG, a retry or clear on backends that do not purge);
- dangling row: a row whose object is gone (deleted by hand, expired in Redis, lost with a disk);
- foreign: an object under a store's root without the layout; listed, never touched.
Rows are read before the stores are listed, so an XCom being pushed during the audit can only look like an
orphan (object written, row not yet), never like a dangling row; `fix` leaves orphans younger than a grace
period alone for that reason.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from xcomlab import metadata
from xcomlab.inventory import Store, StoredObject, backend_class, location_key, referenced_url, store_of
from xcomlab.metadata import XComRow

THREADS = 8  # object stores answer one request per delete; a few at once hide the round trips
logging.getLogger("azure").setLevel(logging.WARNING)  # the Azure SDK logs every request and response at INFO


@dataclass
class Dangling:
    row: XComRow
    url: str


@dataclass
class StoreAudit:
    store: str
    objects: int = 0
    bytes: int = 0
    referenced: int = 0
    foreign: int = 0
    orphans: list[StoredObject] = field(default_factory=list)
    dangling: list[Dangling] = field(default_factory=list)


@dataclass
class Audit:
    rows: int = 0
    inline: int = 0
    stores: dict[str, StoreAudit] = field(default_factory=dict)
    at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    @property
    def orphans(self) -> list[StoredObject]:
        return [orphan for store in self.stores.values() for orphan in store.orphans]

    @property
    def dangling(self) -> list[Dangling]:
        return [dangling for store in self.stores.values() for dangling in store.dangling]


def references(db, stores: list[Store]) -> tuple[int, dict[str, tuple[XComRow, str]]]:
    """The number of xcom rows, and location key -> (row, url) of every row that references an object."""
    count, found = 0, {}
    for rows in metadata.row_batches(db):
        count += len(rows)
        for row in rows:
            url = referenced_url(row.value, stores)
            if url is not None:
                found[location_key(url)] = (row, url)
    return count, found


def run(db, stores: list[Store], *, check_unlisted: bool = True) -> Audit:
    """Audit the stores; check_unlisted also asks, object by object, about references outside them."""
    audit = Audit()
    audit.rows, referenced = references(db, stores)
    audit.inline = audit.rows - len(referenced)
    seen = set()
    for store in stores:
        result = audit.stores[str(store)] = StoreAudit(str(store))
        for obj in store.list():
            key = location_key(obj.url)
            result.objects += 1
            result.bytes += obj.size
            if key in referenced:
                result.referenced += 1
                seen.add(key)
            elif store.has_layout(obj.url):
                result.orphans.append(obj)
            else:
                result.foreign += 1
    for key, (row, url) in referenced.items():
        if key in seen:
            continue
        where = store_of(url, stores)
        if where not in audit.stores:  # outside every listed store: ask the store about this one object
            if not check_unlisted:
                continue
            try:
                backend_class(url).object_size(url)
                continue
            except FileNotFoundError:
                audit.stores[where] = StoreAudit(where)
        audit.stores[where].dangling.append(Dangling(row, url))
    return audit


def old_enough(modified: datetime | None, grace: timedelta, now: datetime) -> bool:
    return modified is not None and now - modified >= grace


def delete_objects(urls: Iterable[str], on_each: Callable[[str, int | None], None] = lambda url, size: None,
                   dry_run: bool = False) -> None:
    """Delete objects in parallel; on_each(url, size) is told each object's size (None: already gone)."""
    def one(url: str) -> None:
        store = backend_class(url)
        try:
            size = store.object_size(url)
        except FileNotFoundError:
            size = None
        if not dry_run and size is not None:
            store.delete_object(url)
        on_each(url, size)

    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(one, urls))


def fix(db, stores: list[Store], audit: Audit, *, grace: timedelta, fix_dangling: bool = False,
        dry_run: bool = False) -> tuple[list[StoredObject], list[Dangling]]:
    """Delete the audit's orphans older than grace (and, with fix_dangling, its dangling rows older than
    grace whose object is still missing). Returns what was (or, dry_run, would be) deleted."""
    now = datetime.now(timezone.utc)
    candidates = [orphan for orphan in audit.orphans if old_enough(orphan.modified, grace, now)]
    if candidates:
        still = references(db, stores)[1]  # a row written since the audit claims its object back
        candidates = [orphan for orphan in candidates if location_key(orphan.url) not in still]
        delete_objects([orphan.url for orphan in candidates], dry_run=dry_run)
    rows = []
    if fix_dangling:
        for dangling in audit.dangling:
            if not old_enough(dangling.row.timestamp, grace, now):
                continue
            try:
                backend_class(dangling.url).object_size(dangling.url)  # it came back: not dangling any more
            except FileNotFoundError:
                rows.append(dangling)
        if not dry_run:
            kept = {id(row) for row in metadata.delete_rows(db, [d.row for d in rows])}
            rows = [d for d in rows if id(d.row) in kept]
    return candidates, rows
