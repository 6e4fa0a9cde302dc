"""xcomlab-doctor: the orphan audit from the command line (`make doctor` runs it in the scheduler container).

    python -m xcomlab.doctor [--fix [--grace-minutes 60] [--fix-dangling]] [--json] [--stores SPEC]

Lists, per store, orphans (objects no XCom row references) and dangling rows (rows whose object is
missing), with sizes and ages. --fix deletes orphans older than the grace period; dangling rows are only
reported unless --fix-dangling is given too. Runs wherever Airflow is configured (it reads the metadata DB
and the stores' connections). Exit status: 0 when nothing is left to fix, 1 when orphans or dangling rows
remain, 2 on bad input.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from datetime import datetime, timedelta

from xcomlab import audit, metadata
from xcomlab.inventory import configured_stores, parse_stores


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


def as_json(found: audit.Audit, fixed_orphans, fixed_rows) -> dict:
    return {
        "at": found.at.isoformat(),
        "rows": found.rows,
        "inline": found.inline,
        "stores": {
            name: {
                "objects": store.objects, "bytes": store.bytes, "referenced": store.referenced,
                "foreign": store.foreign,
                "orphans": [{"url": o.url, "size": o.size, "modified": o.modified and o.modified.isoformat()}
                            for o in store.orphans],
                "dangling": [{**d.row.primary_key, "dag_id": d.row.dag_id, "run_id": d.row.run_id, "url": d.url,
                              "timestamp": d.row.timestamp.isoformat()} for d in store.dangling],
            }
            for name, store in found.stores.items()
        },
        "fixed": {"orphans": [o.url for o in fixed_orphans], "dangling": [d.url for d in fixed_rows]},
    }


def as_text(found: audit.Audit, limit: int) -> str:
    now = found.at
    width = max([len(name) for name in found.stores] + [5])
    lines = [f"XCom audit, {now:%Y-%m-%d %H:%M:%S} UTC: {found.rows:,} rows ({found.inline:,} kept in the DB, "
             f"{found.rows - found.inline:,} referencing objects), {len(found.stores)} stores", "",
             f"{'store':<{width}}  {'objects':>7}  {'bytes':>13}  {'referenced':>10}  {'orphans':>7}  "
             f"{'orphan bytes':>13}  {'dangling':>8}  {'foreign':>7}"]
    for name, store in found.stores.items():
        lines.append(f"{name:<{width}}  {store.objects:>7,}  {store.bytes:>13,}  {store.referenced:>10,}  "
                     f"{len(store.orphans):>7,}  {sum(o.size for o in store.orphans):>13,}  "
                     f"{len(store.dangling):>8,}  {store.foreign:>7,}")
    for name, store in found.stores.items():
        if store.orphans or store.dangling:
            lines += ["", name]
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
        fixed_orphans, fixed_rows = [], []
        if args.fix:
            fixed_orphans, fixed_rows = audit.fix(db, stores, found, grace=timedelta(minutes=args.grace_minutes),
                                                  fix_dangling=args.fix_dangling)
    if args.json:
        print(json.dumps(as_json(found, fixed_orphans, fixed_rows), indent=2))
    else:
        print(as_text(found, args.limit))
        print()
        if args.fix:
            print(f"Deleted {len(fixed_orphans):,} orphans ({sum(o.size for o in fixed_orphans):,} bytes) older "
                  f"than {args.grace_minutes:g} min and {len(fixed_rows):,} dangling rows.")
        else:
            print(f"--fix deletes orphans older than --grace-minutes ({args.grace_minutes:g}); --fix-dangling "
                  "also deletes dangling rows.")
    left = len(found.orphans) - len(fixed_orphans) + len(found.dangling) - len(fixed_rows)
    return 1 if left else 0


if __name__ == "__main__":
    sys.exit(main())
