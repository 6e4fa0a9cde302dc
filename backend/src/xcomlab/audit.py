"""The orphan audit: every store against every xcom row.

- orphan: an object with its store's XCom layout that no row references (left by `airflow db clean`, a
  deleted DAG run or DAG, a retry or clear on backends that do not purge);
- dangling row: a row whose object is gone (deleted by hand, expired in Redis, lost with a disk);
- foreign: an object under a store's root without the layout (the root's ownership marker among them); listed,
  never touched;
- unreadable row: a row the audit cannot read (Airflow 2.x bytes that are not JSON: a pickle, written with
  `[core] enable_xcom_pickling`). It may reference any object in any store, so while one exists `fix` deletes
  nothing at all and says which rows and what to do.
Rows are read before the stores are listed, so an XCom being pushed during the audit can only look like an
orphan (object written, row not yet), never like a dangling row; `fix` leaves orphans younger than a grace
period alone for that reason, and right before deleting one checks again that no row references it and, by a
fresh stat of the object, that it is still older than the grace period (a push may have rewritten it since the
listing). `fix` deletes only under roots this metadata DB owns (xcomlab.ownership), claiming unowned ones first.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from xcomlab import metadata, ownership
from xcomlab.inventory import referenced_url, store_of
from xcomlab.stores import Store, StoredObject, location_key, store_class
from xcomlab.metadata import XComRow
from xcomlab.ownership import Ownership

THREADS = 8  # object stores answer one request per delete; a few at once hide the round trips
SAMPLE = 5  # unreadable rows named in reports
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
    ownership: Ownership | None = None  # None: not a configured store (where references outside them point)


@dataclass
class Rows:
    """What the xcom rows reference."""
    count: int = 0
    referenced: dict[str, tuple[XComRow, str]] = field(default_factory=dict)  # location key -> (row, url)
    unreadable: int = 0
    unreadable_sample: list[XComRow] = field(default_factory=list)  # the first SAMPLE


@dataclass
class Audit:
    rows: int = 0
    inline: int = 0
    unreadable: int = 0
    unreadable_sample: list[XComRow] = field(default_factory=list)
    identity: str = ""  # this metadata DB's (metadata.identity)
    stores: dict[str, StoreAudit] = field(default_factory=dict)
    at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    @property
    def orphans(self) -> list[StoredObject]:
        return [orphan for store in self.stores.values() for orphan in store.orphans]

    @property
    def dangling(self) -> list[Dangling]:
        return [dangling for store in self.stores.values() for dangling in store.dangling]

    def refusals(self) -> list[str]:
        """Why fix would leave everything, or a root, alone; with what to do."""
        if self.unreadable:
            return [unreadable_message(self.unreadable, self.unreadable_sample)]
        return [store.ownership.refusal() for store in self.stores.values()
                if store.ownership and store.ownership.state in (ownership.OTHER, ownership.UNKNOWN)]


@dataclass
class Fixed:
    orphans: list[StoredObject] = field(default_factory=list)
    dangling: list[Dangling] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # what was left alone and why, with what to do


@dataclass(frozen=True)
class Deletion:
    url: str
    found: StoredObject | None  # the object as a stat right before saw it; None: already gone
    deleted: bool  # deleted (in a dry run: would be); False when gone or kept


def unreadable_message(count: int, sample: list[XComRow]) -> str:
    named = "; ".join(str(row.ids) for row in sample) + ("; ..." if count > len(sample) else "")
    return (f"nothing deleted: {count:,} XCom rows cannot be read (not JSON: pickled, with Airflow 2's "
            f"[core] enable_xcom_pickling = True?), e.g. {named}. Any of them may reference an object in any store. "
            "Set enable_xcom_pickling to False (xcomlab never pickles its own rows), then let the pickled rows go "
            "(the xcom_cleanup DAG deletes them by age, without touching any object; or clear or delete their DAG "
            "runs): their objects then become orphans a later --fix deletes.")


def read_rows(db, stores: list[Store]) -> Rows:
    rows = Rows()
    for batch in metadata.row_batches(db):
        rows.count += len(batch)
        for row in batch:
            if metadata.unreadable(row.value):
                rows.unreadable += 1
                if len(rows.unreadable_sample) < SAMPLE:
                    rows.unreadable_sample.append(row)
                continue
            url = referenced_url(row.value, stores)
            if url is not None:
                rows.referenced[location_key(url)] = (row, url)
    return rows


def run(db, stores: list[Store], *, check_unlisted: bool = True) -> Audit:
    """Audit the stores; check_unlisted also asks, object by object, about references outside them."""
    audit = Audit(identity=metadata.identity(db))
    rows = read_rows(db, stores)
    referenced = rows.referenced
    audit.rows, audit.unreadable, audit.unreadable_sample = rows.count, rows.unreadable, rows.unreadable_sample
    audit.inline = rows.count - len(referenced) - rows.unreadable
    seen = set()
    for store in stores:
        result = audit.stores[str(store)] = StoreAudit(str(store), ownership=ownership.read(store, audit.identity))
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
                store_class(url).object_size(url)
                continue
            except FileNotFoundError:
                audit.stores[where] = StoreAudit(where)
        audit.stores[where].dangling.append(Dangling(row, url))
    return audit


def old_enough(modified: datetime | None, grace: timedelta, now: datetime) -> bool:
    return modified is not None and now - modified >= grace


def delete_objects(urls: Iterable[str], may_delete: Callable[[StoredObject], bool], *,
                   dry_run: bool = False) -> list[Deletion]:
    """Delete, in parallel, each object that may_delete allows as a stat right before shows it (its size and
    timestamp now, not as some listing saw them)."""
    def one(url: str) -> Deletion:
        store = store_class(url)
        try:
            found = store.stat_object(url)
        except FileNotFoundError:
            return Deletion(url, None, False)
        if not may_delete(found):
            return Deletion(url, found, False)
        if not dry_run:
            store.delete_object(url)
        return Deletion(url, found, True)

    with ThreadPoolExecutor(THREADS) as pool:
        return list(pool.map(one, urls))


def fix(db, stores: list[Store], audit: Audit, *, grace: timedelta, fix_dangling: bool = False,
        dry_run: bool = False) -> Fixed:
    """Delete the audit's orphans older than grace (and, with fix_dangling, its dangling rows older than
    grace whose object is still missing), under the roots this metadata DB owns. What was (or, dry_run, would
    be) deleted, and what was refused."""
    fixed = Fixed()
    if audit.unreadable:
        fixed.refused.append(unreadable_message(audit.unreadable, audit.unreadable_sample))
        return fixed
    by_name = {str(store): store for store in stores}
    allowed = []
    for name, result in audit.stores.items():
        if result.ownership is None:  # not a store: only dangling rows (nothing to delete there)
            allowed.append(name)
            continue
        if result.ownership.state == ownership.UNOWNED and not dry_run:
            result.ownership = ownership.claim(by_name[name], audit.identity)
        if result.ownership.state in (ownership.OURS, ownership.UNOWNED):  # UNOWNED: a dry run's, claimed for real
            allowed.append(name)
        else:
            fixed.refused.append(result.ownership.refusal())
    now = datetime.now(timezone.utc)
    candidates = [orphan for name in allowed for orphan in audit.stores[name].orphans
                  if old_enough(orphan.modified, grace, now)]
    if candidates:
        still = read_rows(db, stores)  # a row written since the audit claims its object back
        if still.unreadable:
            fixed.refused.append(unreadable_message(still.unreadable, still.unreadable_sample))
            return fixed
        urls = [orphan.url for orphan in candidates if location_key(orphan.url) not in still.referenced]
        deletions = delete_objects(
            urls, lambda found: old_enough(found.modified, grace, datetime.now(timezone.utc)), dry_run=dry_run)
        fixed.orphans = [deletion.found for deletion in deletions if deletion.deleted]
    if fix_dangling:
        rows = []
        for name in allowed:
            for dangling in audit.stores[name].dangling:
                if not old_enough(dangling.row.timestamp, grace, now):
                    continue
                try:
                    store_class(dangling.url).object_size(dangling.url)  # it came back: not dangling any more
                except FileNotFoundError:
                    rows.append(dangling)
        if not dry_run:
            kept = {id(row) for row in metadata.delete_rows(db, [d.row for d in rows])}
            rows = [d for d in rows if id(d.row) in kept]
        fixed.dangling = rows
    return fixed
