"""The cleanup on each real store: old XComs of finished runs go, rows and objects; nothing else does."""

from datetime import datetime, timedelta, timezone

import pytest

from conftest import push
from test_audit import backdate, pickled
from xcomlab import cleanup, metadata, reference
from xcomlab.stores import Store

BIG = {"rows": ["x" * 50]}
NEW = {"rows": ["the re-run's value"]}


@pytest.fixture
def xcoms(store, options, metadata_db):
    options(threshold=10)
    made = {
        "old": metadata_db.add(store.backend, BIG, run_id="old", days_old=40),
        "old_small": metadata_db.add(store.backend, "small", run_id="old", days_old=40, key="small"),
        "young": metadata_db.add(store.backend, BIG, run_id="young", days_old=1),
        "running": metadata_db.add(store.backend, BIG, run_id="running", days_old=40, state="running"),
    }
    urls = {name: reference.url_of(value) for name, value in made.items()}
    for name, days in (("old", 40), ("young", 1), ("running", 40)):
        backdate(urls[name], days * 86400)  # objects as old as their rows
    return urls


def clean(store, metadata_db, stores=None, **kwargs) -> cleanup.Outcome:
    return cleanup.delete_old_xcoms(metadata_db.engine, [Store("xcomlab", store.root)] if stores is None else stores,
                                    older_than=datetime.now(timezone.utc) - timedelta(days=30), **kwargs)


def test_old_xcoms_of_finished_runs_go_from_the_db_and_the_store(store, metadata_db, xcoms):
    size = store.backend.object_size(xcoms["old"])
    backdate(xcoms["old"], 40 * 86400)  # Redis dates a key by its last access, and measuring it was one
    outcome = clean(store, metadata_db, batch=1)  # one row per batch: the keyset walks past kept rows
    assert metadata_db.keys() == {("young", "return_value"), ("running", "return_value")}
    with pytest.raises(FileNotFoundError):
        store.backend.read_object(xcoms["old"])
    for kept in ("young", "running"):
        assert store.backend.read_object(xcoms[kept])
    assert cleanup.as_dict(outcome.tallies) == {
        "db": {"xcoms": 1, "objects": 0, "bytes": len('"small"'), "missing": 0},
        f"xcomlab={store.root}": {"xcoms": 1, "objects": 1, "bytes": size, "missing": 0}}
    assert outcome.refused == []


def test_a_dry_run_reports_the_same_and_deletes_nothing(store, metadata_db, xcoms):
    before = (metadata_db.keys(), store.contents())
    dry = clean(store, metadata_db, dry_run=True)
    assert (metadata_db.keys(), store.contents()) == before
    assert cleanup.as_dict(dry.tallies) == cleanup.as_dict(clean(store, metadata_db).tallies)


def test_a_missing_object_is_counted_and_its_row_still_goes(store, metadata_db, xcoms):
    store.backend.delete_object(xcoms["old"])
    outcome = clean(store, metadata_db)
    assert outcome.tallies[f"xcomlab={store.root}"].missing == 1
    assert ("old", "return_value") not in metadata_db.keys()


def test_a_row_that_is_not_json_counts_as_kept_in_the_db_and_goes(store, metadata_db, xcoms):
    """A pickled 2.x row (enable_xcom_pickling): never unpickled, deleted by age like any DB value; an object it
    may reference is not touched (it cannot be attributed; it becomes an orphan)."""
    live = reference.url_of(push(store.backend, BIG, run_id="old", key="pickled"))
    column = pickled(reference.make(live))
    metadata_db.add_row(column, run_id="old", days_old=40, key="pickled")
    backdate(live, 40 * 86400)
    outcome = clean(store, metadata_db)
    assert ("old", "pickled") not in metadata_db.keys()
    assert cleanup.as_dict(outcome.tallies)["db"] == {"xcoms": 2, "objects": 0, "bytes": len('"small"') + len(column),
                                                      "missing": 0}
    assert store.backend.read_object(live)


def test_backends_limit_what_is_cleaned(store, metadata_db, xcoms):
    clean(store, metadata_db, backends=["db"])
    assert ("old", "small") not in metadata_db.keys()
    assert ("old", "return_value") in metadata_db.keys()
    assert store.backend.read_object(xcoms["old"])


@pytest.mark.parametrize("rerun", ["row and object", "object, row not yet", "object and a pickled row"])
def test_a_rerun_between_the_row_and_the_object_deletes_keeps_its_new_object(store, metadata_db, xcoms, monkeypatch,
                                                                            rerun):
    """The task of the old run is cleared and runs again right after the cleanup deleted its row: it writes the
    same deterministic path (and then its row). The cleanup's second step must not delete that new object."""
    delete_rows = metadata.delete_rows

    def then_rerun(db, rows, **kwargs):
        deleted = delete_rows(db, rows, **kwargs)
        if rerun == "row and object":
            metadata_db.add(store.backend, NEW, run_id="old")
        elif rerun == "object, row not yet":
            push(store.backend, NEW, run_id="old")
        else:  # on a deployment that pickles: a row the cleanup cannot read
            metadata_db.add_row(pickled(push(store.backend, NEW, run_id="old")), run_id="old", days_old=0,
                                key="return_value")
        return deleted

    monkeypatch.setattr(metadata, "delete_rows", then_rerun)
    outcome = clean(store, metadata_db)
    assert b"the re-run's value" in store.backend.read_object(xcoms["old"])
    assert outcome.tallies[f"xcomlab={store.root}"].objects == 0


def test_an_old_xcom_whose_object_is_outside_every_store_is_kept(store, metadata_db, xcoms):
    outcome = clean(store, metadata_db, stores=[])
    assert ("old", "return_value") in metadata_db.keys() and ("old", "small") not in metadata_db.keys()
    assert store.backend.read_object(xcoms["old"])
    [refused] = outcome.refused
    assert refused.startswith("1 old XComs kept with their objects: ") and "outside every configured store" in refused


def test_orphans_older_than_the_grace_period_go(store, metadata_db, xcoms):
    orphan = reference.url_of(push(store.backend, BIG, key="orphan"))
    stores = [Store("xcomlab", store.root)]
    assert cleanup.delete_orphans(metadata_db.engine, stores, grace=timedelta(hours=1)).tallies == {}
    assert cleanup.delete_orphans(metadata_db.engine, stores, grace=timedelta(0), dry_run=True).tallies
    assert store.backend.read_object(orphan)
    outcome = cleanup.delete_orphans(metadata_db.engine, stores, grace=timedelta(0))
    assert outcome.tallies[str(stores[0])].objects == 1 and outcome.refused == []
    with pytest.raises(FileNotFoundError):
        store.backend.read_object(orphan)


def test_orphans_stay_while_a_row_cannot_be_read(store, metadata_db, xcoms):
    """The daily cleanup on a deployment with enable_xcom_pickling: every live object looks like an orphan."""
    live = reference.url_of(push(store.backend, BIG, key="pickled"))
    metadata_db.add_row(pickled(reference.make(live)), run_id="young", days_old=1, key="pickled")
    outcome = cleanup.delete_orphans(metadata_db.engine, [Store("xcomlab", store.root)], grace=timedelta(0))
    assert outcome.tallies == {} and "1 XCom rows cannot be read" in outcome.refused[0]
    assert store.backend.read_object(live)


def test_an_unknown_backend_is_refused_with_the_choices():
    with pytest.raises(ValueError, match=r"unknown backends \['s3'\]: choose among db, common-io"):
        cleanup.check_backends(["db", "s3"])


def test_the_report_is_a_table_with_totals_then_what_was_refused():
    text = cleanup.render("Deleted:", {"db": cleanup.Tally(xcoms=2, bytes=10), "s3": cleanup.Tally(1, 1, 2048, 0)},
                          ["s3: nothing deleted: why"])
    assert text.splitlines()[-4].split() == ["total", "3", "1", "2,058", "0"]
    assert text.splitlines()[-2:] == ["Refused:", "- s3: nothing deleted: why"]
