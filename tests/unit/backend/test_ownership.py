"""Store roots have an owner: two deployments (two metadata DBs) sharing a root never delete each other's
XComs; the first deleting run claims an unowned root; the marker is never an orphan."""

import json
import os
import sqlite3
from datetime import datetime, timedelta, timezone

import pytest

from conftest import MetadataDB, push
from xcomlab import audit, cleanup, doctor, metadata, ownership, reference
from xcomlab.stores import Store

BIG = {"rows": ["x" * 50]}


def sqlite_engine(path):
    from sqlalchemy import create_engine

    return create_engine(f"sqlite:///{path}", connect_args={"detect_types": sqlite3.PARSE_DECLTYPES})


@pytest.fixture
def other_db(tmp_path, metadata_db):
    """A second deployment's metadata DB (metadata_db registers the timestamp converter both need)."""
    return MetadataDB(sqlite_engine(tmp_path / "other.db"))


@pytest.fixture
def shared(store, options, metadata_db, other_db):
    """Ours (metadata_db) pushed into a root and claimed it; then another deployment pushed into it too."""
    options(threshold=10)
    stores = [Store("xcomlab", store.root)]
    ours = reference.url_of(metadata_db.add(store.backend, BIG, run_id="ours", key="mine", days_old=40))
    assert audit.fix(metadata_db.engine, stores, audit.run(metadata_db.engine, stores), grace=timedelta(0)).refused == []
    theirs = reference.url_of(other_db.add(store.backend, BIG, run_id="theirs", key="theirs", days_old=40))
    return dict(stores=stores, ours=ours, theirs=theirs)


def test_identity_names_the_database_however_it_is_reached(tmp_path, metadata_db):
    os.symlink(tmp_path / "airflow.db", tmp_path / "alias.db")
    same = metadata.identity(sqlite_engine(tmp_path / "alias.db"))
    assert same == metadata.identity(metadata_db.engine) == f"sqlite:{os.path.realpath(tmp_path / 'airflow.db')}"
    assert metadata.identity(sqlite_engine(tmp_path / "other.db")) != same
    from sqlalchemy import create_engine

    assert metadata.identity(create_engine("sqlite://")) == "url:sqlite://"  # in memory: no file to name


def test_a_plain_audit_and_a_dry_run_do_not_claim_the_first_fix_does(store, options, metadata_db):
    options(threshold=10)
    stores = [Store("xcomlab", store.root)]
    marker = ownership.marker_url(store.root)
    push(store.backend, BIG, key="orphan")
    found = audit.run(metadata_db.engine, stores)
    assert found.stores[str(stores[0])].ownership.state == ownership.UNOWNED
    assert found.refusals() == []
    assert audit.fix(metadata_db.engine, stores, found, grace=timedelta(0), dry_run=True).orphans
    cleanup.delete_orphans(metadata_db.engine, stores, grace=timedelta(0), dry_run=True)
    with pytest.raises(FileNotFoundError):
        store.backend.read_object(marker)
    assert len(audit.fix(metadata_db.engine, stores, found, grace=timedelta(0)).orphans) == 1
    assert json.loads(store.backend.read_object(marker))["owner"] == metadata.identity(metadata_db.engine)
    after = audit.run(metadata_db.engine, stores)
    [result] = after.stores.values()
    assert (result.ownership.state, result.orphans, result.foreign) == (ownership.OURS, [], 1)  # the marker


def test_the_cleanup_claims_an_unowned_root_too(store, options, metadata_db):
    options(threshold=10)
    metadata_db.add(store.backend, BIG, run_id="old", days_old=40)
    cleanup.delete_old_xcoms(metadata_db.engine, [Store("xcomlab", store.root)],
                             older_than=datetime.now(timezone.utc) - timedelta(days=30))
    assert ownership.read(Store("xcomlab", store.root), metadata.identity(metadata_db.engine)).state == ownership.OURS


def test_a_root_owned_by_another_metadata_db_is_left_alone(store, metadata_db, other_db, shared):
    """The other deployment sees our XComs as orphans and as old XComs of its own: it deletes none of them."""
    stores = shared["stores"]
    found = audit.run(other_db.engine, stores)
    [result] = found.stores.values()
    assert result.ownership.state == ownership.OTHER and len(result.orphans) == 1
    fixed = audit.fix(other_db.engine, stores, found, grace=timedelta(0), fix_dangling=True)
    assert fixed.orphans == []
    [refused] = fixed.refused
    assert metadata.identity(metadata_db.engine) in refused and metadata.identity(other_db.engine) in refused
    assert "give each its own root or prefix" in refused
    assert cleanup.delete_orphans(other_db.engine, stores, grace=timedelta(0)).refused == [refused]
    old = cleanup.delete_old_xcoms(other_db.engine, stores, older_than=datetime.now(timezone.utc) - timedelta(days=30))
    assert old.tallies == {} and old.refused == [f"1 old XComs kept with their objects: {refused}"]
    assert ("theirs", "theirs") in other_db.keys()
    assert store.backend.read_object(shared["ours"]) and store.backend.read_object(shared["theirs"])


def test_the_doctor_reports_the_conflict_and_exits_3(store, metadata_db, other_db, shared, monkeypatch, capsys):
    monkeypatch.setattr(metadata, "engine", lambda conn_id=None: other_db.engine)
    assert doctor.main(["--stores", f"xcomlab={store.root}", "--fix", "--grace-minutes", "0"]) == 3
    out = capsys.readouterr().out
    assert f"root      owned by another metadata DB ({metadata.identity(metadata_db.engine)})" in out
    assert "Refused: xcomlab=" in out and "Deleted 0 orphans" in out
    assert doctor.main(["--stores", f"xcomlab={store.root}", "--json"]) == 3
    report = json.loads(capsys.readouterr().out)
    [owner] = [s["owner"] for s in report["stores"].values()]
    assert (owner["state"], owner["owner"]) == ("other", metadata.identity(metadata_db.engine))
    assert report["identity"] == metadata.identity(other_db.engine) and len(report["refused"]) == 1
    assert store.backend.read_object(shared["ours"])


def test_a_marker_that_cannot_be_read_stops_deletes_under_its_root(store, options, metadata_db):
    options(threshold=10)
    stores = [Store("xcomlab", store.root)]
    orphan = reference.url_of(push(store.backend, BIG, key="orphan"))
    store.backend.write_object(ownership.marker_url(store.root), b"not json")
    found = audit.run(metadata_db.engine, stores)
    fixed = audit.fix(metadata_db.engine, stores, found, grace=timedelta(0))
    assert fixed.orphans == [] and "cannot be read (not an ownership marker" in fixed.refused[0]
    assert store.backend.read_object(orphan)


def test_a_redis_marker_never_expires(redis_xcom, options, metadata_db):
    options(redis_ttl=60)
    store = Store("xcomlab", "redis://xcom_redis/xcom")
    assert ownership.claim(store, "me").state == ownership.OURS
    assert redis_xcom.ttl("xcom/" + ownership.MARKER) == -1  # no expiry
