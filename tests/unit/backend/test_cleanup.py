"""The cleanup on each real store: old XComs of finished runs go, rows and objects; nothing else does."""

from datetime import datetime, timedelta, timezone

import pytest

from xcomlab import cleanup, reference
from xcomlab.inventory import Store

BIG = {"rows": ["x" * 50]}


@pytest.fixture
def xcoms(store, options, metadata_db):
    options(threshold=10)
    made = {
        "old": metadata_db.add(store.backend, BIG, run_id="old", days_old=40),
        "old_small": metadata_db.add(store.backend, "small", run_id="old", days_old=40, key="small"),
        "young": metadata_db.add(store.backend, BIG, run_id="young", days_old=1),
        "running": metadata_db.add(store.backend, BIG, run_id="running", days_old=40, state="running"),
    }
    return {name: reference.url_of(value) for name, value in made.items()}


def clean(store, metadata_db, **kwargs):
    return cleanup.delete_old_xcoms(metadata_db.engine, [Store("xcomlab", store.root)],
                                    older_than=datetime.now(timezone.utc) - timedelta(days=30), **kwargs)


def test_old_xcoms_of_finished_runs_go_from_the_db_and_the_store(store, metadata_db, xcoms):
    size = store.backend.object_size(xcoms["old"])
    tallies = clean(store, metadata_db, batch=1)  # one row per batch: the keyset walks past kept rows
    assert metadata_db.keys() == {("young", "return_value"), ("running", "return_value")}
    with pytest.raises(FileNotFoundError):
        store.backend.read_object(xcoms["old"])
    for kept in ("young", "running"):
        assert store.backend.read_object(xcoms[kept])
    assert cleanup.as_dict(tallies) == {
        "db": {"xcoms": 1, "objects": 0, "bytes": len('"small"'), "missing": 0},
        f"xcomlab={store.root}": {"xcoms": 1, "objects": 1, "bytes": size, "missing": 0}}


def test_a_dry_run_reports_the_same_and_deletes_nothing(store, metadata_db, xcoms):
    before = (metadata_db.keys(), store.contents())
    dry = clean(store, metadata_db, dry_run=True)
    assert (metadata_db.keys(), store.contents()) == before
    assert cleanup.as_dict(dry) == cleanup.as_dict(clean(store, metadata_db))


def test_a_missing_object_is_counted_and_its_row_still_goes(store, metadata_db, xcoms):
    store.backend.delete_object(xcoms["old"])
    tallies = clean(store, metadata_db)
    assert tallies[f"xcomlab={store.root}"].missing == 1
    assert ("old", "return_value") not in metadata_db.keys()


def test_a_row_that_is_not_json_counts_as_kept_in_the_db_and_goes(store, metadata_db, xcoms):
    """A pickled 2.x row (enable_xcom_pickling, once): never unpickled, deleted by age like any DB value."""
    pickled = b"\x80\x04\x95\x05\x00\x00\x00\x00\x00\x00\x00K\x01."
    metadata_db.add_row(pickled, run_id="old", days_old=40, key="pickled")
    tallies = clean(store, metadata_db)
    assert ("old", "pickled") not in metadata_db.keys()
    assert cleanup.as_dict(tallies)["db"] == {"xcoms": 2, "objects": 0, "bytes": len('"small"') + len(pickled),
                                              "missing": 0}


def test_backends_limit_what_is_cleaned(store, metadata_db, xcoms):
    clean(store, metadata_db, backends=["db"])
    assert ("old", "small") not in metadata_db.keys()
    assert ("old", "return_value") in metadata_db.keys()
    assert store.backend.read_object(xcoms["old"])


def test_orphans_older_than_the_grace_period_go(store, metadata_db, xcoms):
    from conftest import push

    orphan = reference.url_of(push(store.backend, BIG, key="orphan"))
    stores = [Store("xcomlab", store.root)]
    assert cleanup.delete_orphans(metadata_db.engine, stores, grace=timedelta(hours=1)) == {}
    assert cleanup.delete_orphans(metadata_db.engine, stores, grace=timedelta(0), dry_run=True)
    assert store.backend.read_object(orphan)
    tallies = cleanup.delete_orphans(metadata_db.engine, stores, grace=timedelta(0))
    assert tallies[str(stores[0])].objects == 1
    with pytest.raises(FileNotFoundError):
        store.backend.read_object(orphan)


def test_an_unknown_backend_is_refused_with_the_choices():
    with pytest.raises(ValueError, match=r"unknown backends \['s3'\]: choose among db, common-io"):
        cleanup.check_backends(["db", "s3"])


def test_the_report_is_a_table_with_totals():
    text = cleanup.render("Deleted:", {"db": cleanup.Tally(xcoms=2, bytes=10), "s3": cleanup.Tally(1, 1, 2048, 0)})
    assert text.splitlines()[-1].split() == ["total", "3", "1", "2,058", "0"]
