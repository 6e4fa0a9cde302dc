"""xcomlab-doctor (make doctor): the report, --fix and its exit status, and bad input."""

import json

import pytest

from conftest import IDS, push
from test_audit import pickled
from xcomlab import doctor, metadata, reference

BIG = {"rows": ["x" * 50]}


@pytest.fixture
def run_doctor(store, options, metadata_db, monkeypatch, capsys):
    options(threshold=10)
    monkeypatch.setattr(metadata, "engine", lambda conn_id=None: metadata_db.engine)

    def run(*args):
        status = doctor.main(["--stores", f"xcomlab={store.root}", *args])
        return status, capsys.readouterr().out
    return run


def test_a_clean_store_exits_0(run_doctor, store, metadata_db):
    metadata_db.add(store.backend, BIG)
    status, out = run_doctor()
    assert status == 0
    assert f"xcomlab={store.root}" in out and "1 referencing objects" in out


def test_orphans_are_listed_then_fixed(run_doctor, store, metadata_db):
    orphan = reference.url_of(push(store.backend, BIG, key="orphan"))
    status, out = run_doctor("--json")
    [found] = json.loads(out)["stores"].values()
    assert status == 1 and [o["url"].rsplit("/", 1)[1] for o in found["orphans"]] == ["orphan.json"]
    status, out = run_doctor("--fix")  # the default grace (60 min) spares a fresh orphan
    assert status == 1 and "Deleted 0 orphans" in out
    status, out = run_doctor("--fix", "--grace-minutes", "0")
    assert status == 0 and "Deleted 1 orphans" in out
    with pytest.raises(FileNotFoundError):
        store.backend.read_object(orphan)


def test_a_dangling_row_is_kept_unless_asked(run_doctor, store, metadata_db):
    store.backend.delete_object(reference.url_of(metadata_db.add(store.backend, BIG, days_old=1)))
    status, out = run_doctor("--fix", "--grace-minutes", "0")
    assert status == 1 and "dangling  XCom 'return_value' of task 'extract'" in out
    status, _ = run_doctor("--fix", "--grace-minutes", "0", "--fix-dangling")
    assert status == 0 and metadata_db.keys() == set()


def test_rows_it_cannot_read_are_reported_stop_the_fix_and_exit_3(run_doctor, store, metadata_db):
    live = reference.url_of(push(store.backend, BIG, key="pickled"))
    metadata_db.add_row(pickled(reference.make(live)), run_id=IDS["run_id"], days_old=0, key="pickled")
    status, out = run_doctor("--fix", "--grace-minutes", "0")
    assert status == 3 and "1 unreadable" in out and "Deleted 0 orphans" in out
    assert "Refused: nothing deleted: 1 XCom rows cannot be read" in out and "enable_xcom_pickling" in out
    assert store.backend.read_object(live)
    status, out = run_doctor("--json")
    report = json.loads(out)
    assert status == 3 and report["unreadable"]["count"] == 1 and report["unreadable"]["rows"][0]["key"] == "pickled"
    assert "cannot be read" in report["refused"][0]


def test_the_report_names_the_metadata_db_and_each_root_s_owner(run_doctor, store, metadata_db):
    status, out = run_doctor("--json")
    [(name, found)] = json.loads(out)["stores"].items()
    assert status == 0 and found["owner"]["state"] == "unowned" and json.loads(out)["refused"] == []
    run_doctor("--fix")
    status, out = run_doctor()
    assert status == 0 and f"metadata DB {metadata.identity(metadata_db.engine)}" in out
    [row] = [line for line in out.splitlines() if line.startswith(name + " ")]  # the table's row of the store
    assert row.split()[-1] == "ours"


@pytest.mark.parametrize("args, message", [
    (["--fix-dangling"], "--fix-dangling only works with --fix"),
    (["--grace-minutes", "-1"], "--grace-minutes must be 0 or more"),
])
def test_bad_arguments_say_what_to_do(args, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        doctor.main(args)
    assert exit_.value.code == 2 and message in capsys.readouterr().err


def test_a_bad_stores_setting_exits_2(capsys):
    assert doctor.main(["--stores", "s3://bucket/xcom"]) == 2
    assert "has no kind: write <kind>=<root>" in capsys.readouterr().err
