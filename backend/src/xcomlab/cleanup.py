"""The XCom cleanup the xcom_cleanup DAG runs: old XComs go from the metadata DB *and* from their store.

1. delete_old_xcoms: rows older than the age, of DAG runs that have finished (success or failed), batch by
   batch: the rows are deleted in one transaction (re-checking age and run state, so a run cleared meanwhile
   keeps its XComs), then the objects they referenced. If a store fails half-way, what is left is orphans,
   which step 2 (or the next run) removes: a rerun finishes the job, and no row ever points at a deleted object.
2. delete_orphans: the audit's orphans (objects no row references) older than a grace period.
Both report per store what they deleted, or in a dry run what they would delete: XComs (rows), objects,
bytes, and rows whose object was already missing.
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from xcomlab import audit, metadata
from xcomlab.inventory import BACKENDS, Store, backend_of_row, referenced_url, store_of

DB = "db"  # the report line for values kept in the rows themselves


@dataclass
class Tally:
    xcoms: int = 0  # rows
    objects: int = 0
    bytes: int = 0
    missing: int = 0  # rows whose object was already gone


def check_backends(backends: list[str]) -> list[str]:
    unknown = sorted(set(backends) - set(BACKENDS))
    if unknown:
        raise ValueError(f"unknown backends {unknown}: choose among {', '.join(BACKENDS)}")
    return list(backends)


def delete_old_xcoms(db, stores: list[Store], *, older_than: datetime, backends: list[str] = BACKENDS,
                     dry_run: bool = False, batch: int = 1000) -> dict[str, Tally]:
    tallies: dict[str, Tally] = defaultdict(Tally)
    lock = threading.Lock()

    def count_object(url: str, size: int | None) -> None:
        with lock:
            tally = tallies[store_of(url, stores)]
            if size is None:
                tally.missing += 1
            else:
                tally.objects += 1
                tally.bytes += size

    for rows in metadata.row_batches(db, older_than=older_than, finished_only=True, batch=batch):
        picked = [row for row in rows if backend_of_row(referenced_url(row.value, stores), row.value) in backends]
        if not dry_run:
            picked = metadata.delete_rows(db, picked, older_than=older_than)
        urls = []
        for row in picked:
            url = referenced_url(row.value, stores)
            tally = tallies[DB if url is None else store_of(url, stores)]
            tally.xcoms += 1
            if url is None:
                tally.bytes += len(row.value) if isinstance(row.value, bytes) else len(json.dumps(row.value))
            else:
                urls.append(url)
        audit.delete_objects(urls, count_object, dry_run=dry_run)
    return dict(tallies)


def delete_orphans(db, stores: list[Store], *, grace: timedelta, backends: list[str] = BACKENDS,
                   dry_run: bool = False) -> dict[str, Tally]:
    stores = [store for store in stores if store.backend in backends]
    found = audit.run(db, stores, check_unlisted=False)
    deleted, _ = audit.fix(db, stores, found, grace=grace, dry_run=dry_run)
    tallies: dict[str, Tally] = defaultdict(Tally)
    for orphan in deleted:
        tally = tallies[store_of(orphan.url, stores)]
        tally.objects += 1
        tally.bytes += orphan.size
    return dict(tallies)


def as_dict(tallies: dict[str, Tally]) -> dict[str, dict[str, int]]:
    return {store: asdict(tally) for store, tally in sorted(tallies.items())}


def render(title: str, tallies: dict[str, Tally]) -> str:
    """A table for the task log."""
    width = max([len(store) for store in tallies] + [5])
    lines = [title, f"{'store':<{width}}  {'XComs':>7}  {'objects':>7}  {'bytes':>13}  {'missing':>7}"]
    total = Tally()
    for store, tally in sorted(tallies.items()):
        lines.append(f"{store:<{width}}  {tally.xcoms:>7,}  {tally.objects:>7,}  {tally.bytes:>13,}  {tally.missing:>7,}")
        for name, value in asdict(tally).items():
            setattr(total, name, getattr(total, name) + value)
    lines.append(f"{'total':<{width}}  {total.xcoms:>7,}  {total.objects:>7,}  {total.bytes:>13,}  {total.missing:>7,}")
    return "\n".join(lines)
