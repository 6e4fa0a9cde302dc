"""The orphan audit on each real store (file:// folder, Redis, local folder) against a metadata DB."""

from datetime import timedelta

import pytest

from conftest import push
from xcomlab import audit, reference
from xcomlab.inventory import Store, location_key

BIG = {"rows": ["x" * 50]}


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
    assert (found.rows, found.inline) == (3, 1)
    assert result.orphans[0].size > 0 and result.orphans[0].modified is not None


def test_fix_spares_young_orphans_and_keeps_dangling_rows_unless_asked(world, store, metadata_db):
    found = audit.run(metadata_db.engine, world["stores"])
    assert audit.fix(metadata_db.engine, world["stores"], found, grace=timedelta(hours=1)) == ([], [])
    deleted, rows = audit.fix(metadata_db.engine, world["stores"], found, grace=timedelta(0))
    assert [location_key(o.url) for o in deleted] == [location_key(world["orphan"])] and rows == []
    assert "lost" in {key for _, key in metadata_db.keys()}
    _, rows = audit.fix(metadata_db.engine, world["stores"], found, grace=timedelta(0), fix_dangling=True)
    assert [d.row.key for d in rows] == ["lost"]
    assert {key for _, key in metadata_db.keys()} == {"kept", "inline"}
    after = audit.run(metadata_db.engine, world["stores"])
    assert (after.orphans, after.dangling) == ([], [])
    assert store.backend.read_object(world["kept"])


def test_fix_leaves_an_orphan_whose_row_arrived_after_the_audit(world, store, metadata_db):
    found = audit.run(metadata_db.engine, world["stores"])
    metadata_db.add(store.backend, BIG, key="orphan")  # the push that wrote it finishes: its row lands now
    deleted, _ = audit.fix(metadata_db.engine, world["stores"], found, grace=timedelta(0))
    assert deleted == []
    assert store.backend.read_object(world["orphan"])


def test_a_reference_outside_every_store_is_checked_one_by_one(world, metadata_db):
    found = audit.run(metadata_db.engine, [])
    assert [d.row.key for d in found.dangling] == ["lost"]  # "kept" exists, so it is not reported
