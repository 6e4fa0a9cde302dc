"""The orphan audit on each real store (file:// folder, Redis, local folder) against a metadata DB."""

import json
import os
import sqlite3
from datetime import datetime, timedelta, timezone

import pytest

from conftest import IDS, push
from xcomlab import audit, reference
from xcomlab.stores import Store, location_key

BIG = {"rows": ["x" * 50]}


def backdate(url: str, seconds: float) -> None:
    """Make an object look last written `seconds` ago, by the store's own clock."""
    if url.startswith("redis://"):
        from xcomlab.redis import _split

        client, key = _split(url)
        client.restore(key, 0, client.dump(key), replace=True, idletime=int(seconds))
    else:
        path = "/" + url.removeprefix("file://").partition("/")[2]
        then = datetime.now(timezone.utc).timestamp() - seconds
        os.utime(path, (then, then))


def pickled(text: str) -> bytes:
    """The bytes pickle.dumps(text, protocol=2) writes (BINUNICODE), without importing pickle."""
    data = text.encode()
    return b"\x80\x02X" + len(data).to_bytes(4, "little") + data + b"q\x00."


@pytest.fixture
def world(store, options, metadata_db):
    """One referenced XCom, one orphan (its row never written), one dangling row (its object deleted),
    one inline XCom and a file that is not an XCom."""
    options(threshold=10)
    kept = reference.url_of(metadata_db.add(store.backend, BIG, key="kept"))
    orphan = reference.url_of(push(store.backend, BIG, key="orphan"))
    lost = reference.url_of(metadata_db.add(store.backend, BIG, key="lost"))
    store.backend.delete_object(lost)
    metadata_db.add(store.backend, "small", key="inline")
    store.backend.write_object(store.root + "/README", b"not an XCom")
    return dict(kept=kept, orphan=orphan, lost=lost, stores=[Store("xcomlab", store.root)])


def test_the_audit_finds_orphans_dangling_rows_and_leaves_foreign_objects(world, metadata_db):
    found = audit.run(metadata_db.engine, world["stores"])
    [result] = found.stores.values()
    assert [location_key(o.url) for o in result.orphans] == [location_key(world["orphan"])]
    assert [(d.url, d.row.key) for d in result.dangling] == [(world["lost"], "lost")]
    assert (result.objects, result.referenced, result.foreign) == (3, 1, 1)
    assert (found.rows, found.inline, found.unreadable) == (3, 1, 0)
    assert result.orphans[0].size > 0 and result.orphans[0].modified is not None


def test_fix_spares_young_orphans_and_keeps_dangling_rows_unless_asked(world, store, metadata_db):
    found = audit.run(metadata_db.engine, world["stores"])
    assert audit.fix(metadata_db.engine, world["stores"], found, grace=timedelta(hours=1)) == audit.Fixed()
    fixed = audit.fix(metadata_db.engine, world["stores"], found, grace=timedelta(0))
    assert [location_key(o.url) for o in fixed.orphans] == [location_key(world["orphan"])] and fixed.dangling == []
    assert "lost" in {key for _, key in metadata_db.keys()}
    fixed = audit.fix(metadata_db.engine, world["stores"], found, grace=timedelta(0), fix_dangling=True)
    assert [d.row.key for d in fixed.dangling] == ["lost"]
    assert {key for _, key in metadata_db.keys()} == {"kept", "inline"}
    after = audit.run(metadata_db.engine, world["stores"])
    assert (after.orphans, after.dangling) == ([], [])
    assert store.backend.read_object(world["kept"])


def test_fix_leaves_an_orphan_whose_row_arrived_after_the_audit(world, store, metadata_db):
    found = audit.run(metadata_db.engine, world["stores"])
    metadata_db.add(store.backend, BIG, key="orphan")  # the push that wrote it finishes: its row lands now
    assert audit.fix(metadata_db.engine, world["stores"], found, grace=timedelta(0)).orphans == []
    assert store.backend.read_object(world["orphan"])


def test_fix_leaves_an_old_orphan_that_a_push_rewrote_after_the_listing(world, store, metadata_db):
    """Listed two hours old; pushed again (same deterministic path, row not written yet) before the delete: its
    own timestamp is now fresh, so it stays."""
    backdate(world["orphan"], 2 * 3600)
    found = audit.run(metadata_db.engine, world["stores"])
    assert [location_key(o.url) for o in found.orphans] == [location_key(world["orphan"])]
    push(store.backend, {"rows": ["the new try"]}, key="orphan")
    assert audit.fix(metadata_db.engine, world["stores"], found, grace=timedelta(hours=1)).orphans == []
    assert b"the new try" in store.backend.read_object(world["orphan"])
    backdate(world["orphan"], 2 * 3600)  # nobody wrote it again: now it goes
    assert len(audit.fix(metadata_db.engine, world["stores"], found, grace=timedelta(hours=1)).orphans) == 1


def test_a_reference_outside_every_store_is_checked_one_by_one(world, metadata_db):
    found = audit.run(metadata_db.engine, [])
    assert [d.row.key for d in found.dangling] == ["lost"]  # "kept" exists, so it is not reported


def test_a_row_it_cannot_read_stops_fix_from_deleting_anything(world, store, metadata_db):
    """Airflow 2 with enable_xcom_pickling: a pickled row may reference any object (here the only reference to a
    live one). Nothing is deleted, orphans nor dangling rows, and the refusal names the row and what to do."""
    live = reference.url_of(push(store.backend, BIG, key="pickled"))
    metadata_db.add_row(pickled(reference.make(live)), run_id=IDS["run_id"], days_old=1, key="pickled")
    backdate(live, 2 * 3600)
    found = audit.run(metadata_db.engine, world["stores"])
    assert (found.unreadable, [row.key for row in found.unreadable_sample]) == (1, ["pickled"])
    assert {location_key(o.url) for o in found.orphans} == {location_key(world["orphan"]), location_key(live)}
    fixed = audit.fix(metadata_db.engine, world["stores"], found, grace=timedelta(0), fix_dangling=True)
    assert (fixed.orphans, fixed.dangling) == ([], [])
    [refused] = fixed.refused
    assert "1 XCom rows cannot be read" in refused and "XCom 'pickled' of task 'extract'" in refused
    assert "enable_xcom_pickling" in refused and found.refusals() == [refused]
    assert store.backend.read_object(live) and store.backend.read_object(world["orphan"])
    assert "lost" in {key for _, key in metadata_db.keys()}


def test_a_row_that_turns_unreadable_after_the_audit_still_stops_fix(world, store, metadata_db):
    found = audit.run(metadata_db.engine, world["stores"])
    metadata_db.add_row(pickled(reference.make(world["orphan"])), run_id=IDS["run_id"], days_old=0, key="orphan")
    fixed = audit.fix(metadata_db.engine, world["stores"], found, grace=timedelta(0))
    assert fixed.orphans == [] and "cannot be read" in fixed.refused[0]
    assert store.backend.read_object(world["orphan"])


def test_an_airflow_3_json_column_is_read_as_json(store, options, tmp_path, metadata_db):
    """Airflow 3's xcom.value is a JSON column; SQLite (and MySQL) hand raw SQL its JSON text, in which a
    reference is a quoted string: read untyped, every live object would be an orphan."""
    from sqlalchemy import create_engine

    options(threshold=10)
    engine = create_engine(f"sqlite:///{tmp_path}/airflow3.db", connect_args={"detect_types": sqlite3.PARSE_DECLTYPES})
    stored = push(store.backend, BIG, key="live")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE dag_run (id INTEGER PRIMARY KEY, dag_id TEXT, run_id TEXT, state TEXT)")
        conn.exec_driver_sql("CREATE TABLE xcom (dag_run_id INTEGER, task_id TEXT, map_index INTEGER, key TEXT, "
                             "dag_id TEXT, run_id TEXT, timestamp TIMESTAMPTZ, value JSON)")
        conn.exec_driver_sql("INSERT INTO dag_run VALUES (1, ?, ?, 'success')", (IDS["dag_id"], IDS["run_id"]))
        conn.exec_driver_sql("INSERT INTO xcom VALUES (1, ?, -1, 'live', ?, ?, ?, ?)",
                             (IDS["task_id"], IDS["dag_id"], IDS["run_id"], datetime.now(timezone.utc).isoformat(),
                              json.dumps(stored)))
    found = audit.run(engine, [Store("xcomlab", store.root)])
    assert (found.orphans, [s.referenced for s in found.stores.values()]) == ([], [1])
    assert audit.fix(engine, [Store("xcomlab", store.root)], found, grace=timedelta(0)).orphans == []
    assert store.backend.read_object(reference.url_of(stored))


def test_stat_object_reports_the_object_as_it_is_now(store, options):
    options(threshold=10)
    url = reference.url_of(push(store.backend, BIG, key="k"))
    backdate(url, 3600)
    first = store.backend.stat_object(url)
    assert first.size == len(store.backend.read_object(url))
    assert timedelta(minutes=59) < datetime.now(timezone.utc) - first.modified < timedelta(minutes=61)
    push(store.backend, {"rows": ["y" * 500]}, key="k")
    again = store.backend.stat_object(url)
    assert again.size > first.size and datetime.now(timezone.utc) - again.modified < timedelta(minutes=1)
    store.backend.delete_object(url)
    for gone in (url, store.root + "/etl"):  # a deleted object, a folder
        with pytest.raises(FileNotFoundError):
            store.backend.stat_object(gone)


def test_under_an_lfu_policy_redis_ages_are_unknown_and_nothing_is_deleted(redis_xcom, options, metadata_db):
    """OBJECT IDLETIME fails under an LFU maxmemory-policy: the audit reports the age unknown instead of
    crashing, and never deletes what it cannot date."""
    from xcomlab.redis import XComRedisBackend

    options(threshold=10)
    orphan = reference.url_of(push(XComRedisBackend, BIG, key="orphan"))
    stores = [Store("xcomlab", "redis://xcom_redis/xcom")]
    policy = redis_xcom.config_get("maxmemory-policy")["maxmemory-policy"]
    redis_xcom.config_set("maxmemory-policy", "allkeys-lfu")
    try:
        found = audit.run(metadata_db.engine, stores)
        assert [(o.url, o.modified) for o in found.orphans] == [(orphan, None)]
        assert XComRedisBackend.stat_object(orphan).modified is None
        assert audit.fix(metadata_db.engine, stores, found, grace=timedelta(0)).orphans == []
    finally:
        redis_xcom.config_set("maxmemory-policy", policy)
    assert XComRedisBackend.read_object(orphan)
