"""xcomlab-doctor: the orphan audit from the command line (`make doctor` runs it in the scheduler container).

    python -m xcomlab.doctor [--fix [--grace-minutes 60] [--fix-dangling]] [--json] [--stores SPEC]

Lists, per store, orphans (objects no XCom row references) and dangling rows (rows whose object is
missing), with sizes and ages, and who owns the store's root (xcomlab.ownership). --fix deletes orphans older
than the grace period, under roots this metadata DB owns (claiming unowned ones); dangling rows are only
reported unless --fix-dangling is given too. Rows it cannot read (pickles) stop --fix from deleting anything.
Runs wherever Airflow is configured (it reads the metadata DB and the stores' connections).
Exit status: 0 when nothing is left to fix, 1 when orphans or dangling rows remain, 2 on bad input, 3 when
it refuses: rows it cannot read, or a root another metadata DB owns (or whose marker it cannot read).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from datetime import datetime, timedelta

from xcomlab import audit, metadata, ownership
from xcomlab.stores import configured_stores, parse_stores
from xcomlab.tables import table


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="xcomlab-doctor", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stores", help="comma-separated <kind>=<root> pairs (default: [xcomlab] stores and "
                                         "the current backend's settings)")
    parser.add_argument("--fix", action="store_true", help="delete orphans older than the grace period")
    parser.add_argument("--fix-dangling", action="store_true", help="with --fix: also delete dangling rows")
    parser.add_argument("--grace-minutes", type=float, default=60,
                        help="never delete anything younger than this (in-flight writes; default 60)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--limit", type=int, default=20, help="orphans and dangling rows listed per store")
    parser.add_argument("--conn-id", help="connection to the metadata DB (default [xcomlab] metadata_conn_id, "
                                          "else Airflow's own database)")
    args = parser.parse_args(argv)
    if args.fix_dangling and not args.fix:
        parser.error("--fix-dangling only works with --fix")
    if args.grace_minutes < 0:
        parser.error(f"--grace-minutes must be 0 or more, got {args.grace_minutes}")
    return args


def age(then: datetime | None, now: datetime) -> str:
    if then is None:
        return "age unknown"
    seconds = int((now - then).total_seconds())
    for unit, size, smaller, smaller_size in (("d", 86400, "h", 3600), ("h", 3600, "min", 60), ("min", 60, "s", 1)):
        if seconds >= size:
            return f"{seconds // size} {unit} {seconds % size // smaller_size} {smaller} old"
    return f"{seconds} s old"


def as_json(found: audit.Audit, fixed: audit.Fixed) -> dict:
    return {
        "at": found.at.isoformat(),
        "identity": found.identity,
        "rows": found.rows,
        "inline": found.inline,
        "unreadable": {"count": found.unreadable,
                       "rows": [{**row.primary_key, "dag_id": row.dag_id, "run_id": row.run_id}
                                for row in found.unreadable_sample]},
        "stores": {
            name: {
                "objects": store.objects, "bytes": store.bytes, "referenced": store.referenced,
                "foreign": store.foreign,
                "owner": store.ownership and {"state": store.ownership.state, "owner": store.ownership.owner,
                                              "marker": store.ownership.marker, "error": store.ownership.error},
                "orphans": [{"url": o.url, "size": o.size, "modified": o.modified and o.modified.isoformat()}
                            for o in store.orphans],
                "dangling": [{**d.row.primary_key, "dag_id": d.row.dag_id, "run_id": d.row.run_id, "url": d.url,
                              "timestamp": d.row.timestamp.isoformat()} for d in store.dangling],
            }
            for name, store in found.stores.items()
        },
        "fixed": {"orphans": [o.url for o in fixed.orphans], "dangling": [d.url for d in fixed.dangling]},
        "refused": refusals(found, fixed),
    }


def refusals(found: audit.Audit, fixed: audit.Fixed) -> list[str]:
    """What --fix refused, or (without --fix) would refuse."""
    return list(dict.fromkeys(fixed.refused + found.refusals()))


def as_text(found: audit.Audit, limit: int) -> str:
    now = found.at
    unreadable = f", {found.unreadable:,} unreadable" if found.unreadable else ""
    rows = [[name, store.objects, store.bytes, store.referenced, len(store.orphans), sum(o.size for o in store.orphans),
             len(store.dangling), store.foreign, store.ownership.state if store.ownership else "-"]
            for name, store in found.stores.items()]
    lines = [f"XCom audit, {now:%Y-%m-%d %H:%M:%S} UTC: {found.rows:,} rows ({found.inline:,} kept in the DB, "
             f"{found.rows - found.inline - found.unreadable:,} referencing objects{unreadable}), "
             f"{len(found.stores)} stores; metadata DB {found.identity}", "",
             table(["store", "objects", "bytes", "referenced", "orphans", "orphan bytes", "dangling", "foreign", "owner"],
                   rows)]
    for name, store in found.stores.items():
        owner = store.ownership
        if store.orphans or store.dangling or (owner and owner.state != ownership.OURS):
            lines += ["", name]
        if owner and owner.state != ownership.OURS:
            lines.append(f"  root      {owner.describe()}")
        for orphan in sorted(store.orphans, key=lambda o: o.modified or now)[:limit]:
            lines.append(f"  orphan    {orphan.url}  {orphan.size:,} bytes, {age(orphan.modified, now)}")
        for dangling in store.dangling[:limit]:
            lines.append(f"  dangling  {dangling.row.ids} -> {dangling.url}, row {age(dangling.row.timestamp, now)}")
        if max(len(store.orphans), len(store.dangling)) > limit:
            lines.append(f"  ... (--limit {limit}; --json lists all)")
    return "\n".join(lines)


@contextlib.contextmanager
def stdout_to_stderr():
    """Airflow 3 logs to the stdout it saw at start: send file descriptor 1 to stderr, so stdout holds only the
    report (and --json output parses)."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        stores = parse_stores(args.stores) if args.stores is not None else configured_stores()
    except ValueError as err:
        print(f"xcomlab-doctor: {err}", file=sys.stderr)
        return 2
    with stdout_to_stderr():
        db = metadata.engine(args.conn_id)
        found = audit.run(db, stores)
        fixed = audit.Fixed()
        if args.fix:
            fixed = audit.fix(db, stores, found, grace=timedelta(minutes=args.grace_minutes),
                              fix_dangling=args.fix_dangling)
    refused = refusals(found, fixed)
    if args.json:
        print(json.dumps(as_json(found, fixed), indent=2))
    else:
        print(as_text(found, args.limit))
        print()
        if args.fix:
            print(f"Deleted {len(fixed.orphans):,} orphans ({sum(o.size for o in fixed.orphans):,} bytes) older "
                  f"than {args.grace_minutes:g} min and {len(fixed.dangling):,} dangling rows.")
        else:
            print(f"--fix deletes orphans older than --grace-minutes ({args.grace_minutes:g}); --fix-dangling "
                  "also deletes dangling rows.")
        for reason in refused:
            print(f"Refused: {reason}")
    if refused:
        return 3
    left = len(found.orphans) - len(fixed.orphans) + len(found.dangling) - len(fixed.dangling)
    return 1 if left else 0


if __name__ == "__main__":
    sys.exit(main())
