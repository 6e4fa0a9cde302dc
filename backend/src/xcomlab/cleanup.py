"""The XCom cleanup the xcom_cleanup DAG runs: old XComs go from the metadata DB *and* from their store.

1. delete_old_xcoms: rows older than the age, of DAG runs that have finished (success or failed), batch by
   batch: the rows are deleted in one transaction (re-checking age and run state, so a run cleared meanwhile
   keeps its XComs), then the objects they referenced. Right before deleting an object it checks that no row of
   its DAG run references it again and, by a fresh stat, that nothing wrote it since the batch began: a task
   re-run between the two steps keeps its new object (what is kept and unclaimed is an orphan for step 2).
   If a store fails half-way, what is left is orphans, which step 2 (or the next run) removes: a rerun finishes
   the job, and no row ever points at a deleted object.
   An old row whose object lies outside every configured store, or under a root another metadata DB owns
   (xcomlab.ownership), is kept with its object, and reported. A row the tools cannot read (a pickle) goes by
   age like a value kept in the DB; an object it referenced is left, to be found as an orphan.
2. delete_orphans: the audit's orphans (objects no row references) older than a grace period, under the roots
   this metadata DB owns; nothing at all while a row cannot be read (xcomlab.audit).
Both report per store what they deleted, or in a dry run what they would delete: XComs (rows), objects,
bytes, and rows whose object was already missing; and what they refused to delete, why, and what to do.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone

from xcomlab import audit, metadata, ownership
from xcomlab.inventory import BACKENDS, backend_of_row, referenced_url, store_of
from xcomlab.stores import Store, location_key
from xcomlab.tables import table
from xcomlab.metadata import XComRow

DB = "db"  # the report line for values kept in the rows themselves
log = logging.getLogger(__name__)


@dataclass
class Tally:
    xcoms: int = 0  # rows
    objects: int = 0
    bytes: int = 0
    missing: int = 0  # rows whose object was already gone


@dataclass
class Outcome:
    tallies: dict[str, Tally] = field(default_factory=dict)  # store (or DB) -> what was deleted
    refused: list[str] = field(default_factory=list)  # what was left alone, why, and what to do


def check_backends(backends: list[str]) -> list[str]:
    unknown = sorted(set(backends) - set(BACKENDS))
    if unknown:
        raise ValueError(f"unknown backends {unknown}: choose among {', '.join(BACKENDS)}")
    return list(backends)


class Owners:
    """Whether this metadata DB may delete an object at a URL: only in a configured store whose root it owns
    (claimed on first need, except in a dry run)."""

    def __init__(self, stores: list[Store], identity: str, dry_run: bool):
        self.stores, self.identity, self.dry_run = stores, identity, dry_run
        self.known: dict[str, ownership.Ownership] = {}

    def refusal(self, url: str) -> str | None:
        """None when the object may go; else why not, and what to do."""
        store = next((store for store in self.stores if store.relative(url) is not None), None)
        if store is None:
            return (f"{store_of(url, self.stores)}: the objects lie outside every configured store, so nothing tells "
                    "them from another deployment's. If this deployment writes there, add the store to "
                    "[xcomlab] stores (<kind>=<root>).")
        if str(store) not in self.known:
            found = ownership.read(store, self.identity)
            if found.state == ownership.UNOWNED and not self.dry_run:
                found = ownership.claim(store, self.identity)
            self.known[str(store)] = found
        found = self.known[str(store)]
        return None if found.state in (ownership.OURS, ownership.UNOWNED) else found.refusal()


def _unclaimed(db, deleted: list[tuple[XComRow, str]], stores: list[Store]) -> list[str]:
    """The URLs of deleted rows that no row of their DAG run references now (a re-run may have written one since).
    A run with a row that cannot be read keeps all its objects: that row may reference any of them."""
    now = metadata.rows_of_runs(db, {row.dag_run_id for row, _ in deleted})
    unreadable_runs = {row.dag_run_id for row in now if metadata.unreadable(row.value)}
    referenced = {location_key(url) for url in (referenced_url(row.value, stores) for row in now) if url}
    return [url for row, url in deleted if row.dag_run_id not in unreadable_runs and location_key(url) not in referenced]


def delete_old_xcoms(db, stores: list[Store], *, older_than: datetime, backends: list[str] = BACKENDS,
                     dry_run: bool = False, batch: int = 1000) -> Outcome:
    tallies: dict[str, Tally] = defaultdict(Tally)
    owners = Owners(stores, metadata.identity(db), dry_run)
    kept_rows: dict[str, int] = defaultdict(int)  # refusal -> rows kept for it
    for rows in metadata.row_batches(db, older_than=older_than, finished_only=True, batch=batch):
        picked = []
        for row in rows:
            url = referenced_url(row.value, stores)
            if backend_of_row(url, row.value) not in backends:
                continue
            refusal = url and owners.refusal(url)
            if refusal:
                kept_rows[refusal] += 1
            else:
                picked.append(row)
        started = datetime.now(timezone.utc)  # a write at an object's URL after this is a re-run's
        if not dry_run:
            picked = metadata.delete_rows(db, picked, older_than=older_than)
        with_objects = []
        for row in picked:
            url = referenced_url(row.value, stores)
            tally = tallies[DB if url is None else store_of(url, stores)]
            tally.xcoms += 1
            if url is None:
                tally.bytes += len(row.value) if isinstance(row.value, bytes) else len(json.dumps(row.value))
            else:
                with_objects.append((row, url))
        # In a dry run every row still references its object: only the stat can be asked.
        urls = [url for _, url in with_objects] if dry_run else _unclaimed(db, with_objects, stores)
        deletions = audit.delete_objects(urls, lambda found: found.modified is not None and found.modified < started,
                                         dry_run=dry_run)
        kept = []
        for deletion in deletions:
            tally = tallies[store_of(deletion.url, stores)]
            if deletion.found is None:
                tally.missing += 1
            elif deletion.deleted:
                tally.objects += 1
                tally.bytes += deletion.found.size
            else:
                kept.append(deletion.url)
        if kept or len(urls) < len(with_objects):
            log.info("Kept %d objects of deleted rows that a row references again or that were written since "
                     "(a task re-run?), e.g. %s; those no row claims are orphans for delete_orphans.",
                     len(with_objects) - len(urls) + len(kept), kept[:5])
    refused = [f"{count:,} old XComs kept with their objects: {reason}" for reason, count in kept_rows.items()]
    return Outcome(dict(tallies), refused)


def delete_orphans(db, stores: list[Store], *, grace: timedelta, backends: list[str] = BACKENDS,
                   dry_run: bool = False) -> Outcome:
    stores = [store for store in stores if store.backend in backends]
    found = audit.run(db, stores, check_unlisted=False)
    fixed = audit.fix(db, stores, found, grace=grace, dry_run=dry_run)
    tallies: dict[str, Tally] = defaultdict(Tally)
    for orphan in fixed.orphans:
        tally = tallies[store_of(orphan.url, stores)]
        tally.objects += 1
        tally.bytes += orphan.size
    return Outcome(dict(tallies), fixed.refused)


def as_dict(tallies: dict[str, Tally]) -> dict[str, dict[str, int]]:
    return {store: asdict(tally) for store, tally in sorted(tallies.items())}


def render(title: str, tallies: dict[str, Tally], refused: list[str] = ()) -> str:
    """A table for the task log, then what was refused."""
    total, rows = Tally(), []
    for store, tally in sorted(tallies.items()):
        rows.append([store, tally.xcoms, tally.objects, tally.bytes, tally.missing])
        for name, value in asdict(tally).items():
            setattr(total, name, getattr(total, name) + value)
    rows.append(["total", total.xcoms, total.objects, total.bytes, total.missing])
    lines = [title, table(["store", "XComs", "objects", "bytes", "missing"], rows)]
    if refused:
        lines += ["", "Refused:", *(f"- {reason}" for reason in refused)]
    return "\n".join(lines)
