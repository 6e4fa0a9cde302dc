"""What every xcomlab backend does the same way, on each real store (file:// object storage, Redis,
a local folder): where a value lands, that it comes back unchanged, and what is refused."""

import json
import pathlib
import pickle
import shutil
from datetime import datetime, timezone
from types import SimpleNamespace

import pandas as pd
import pyarrow as pa
import pytest

from conftest import IDS, pull, push, roundtrip
from xcomlab import compat, errors
from xcomlab.threshold import string_of_size

THRESHOLD = 100


@pytest.fixture(autouse=True)
def threshold(options):
    options(threshold=THRESHOLD)


@pytest.mark.parametrize("char", ["x", "é"])
@pytest.mark.parametrize("size, offloaded", [(THRESHOLD - 1, False), (THRESHOLD, True), (THRESHOLD + 1, True)])
def test_threshold_boundary(store, char, size, offloaded):
    value = string_of_size(size, char)
    stored = push(store.backend, value)
    assert (stored != value) is offloaded
    assert len(store.contents()) == offloaded
    assert pull(store.backend, stored) == value


def test_offloaded_value_is_a_reference_to_its_layout_path(store):
    stored = push(store.backend, {"rows": ["x" * 200]}, key="rows")
    assert stored.startswith("xcomlab:ref:")
    assert stored.endswith("/etl/manual__2026-11-21T08:00:00+00:00/extract/-1/rows.json")
    [(name, data)] = store.contents().items()
    assert json.loads(data) == {"rows": ["x" * 200]}


@pytest.mark.parametrize("value", ["123", "null", "true", '{"a": 1}', "xcomlab:ref:s3://b/k.json", "xcomlab:str:x"])
def test_small_strings_come_back_as_the_same_strings(store, value):
    assert roundtrip(store.backend, value) == value
    assert store.contents() == {}


@pytest.mark.parametrize("compression", ["", "gzip", "bz2", "lzma"])
def test_every_codec_round_trips(store, options, compression):
    options(compression=compression)
    value = {"text": "é" * 500}
    stored = push(store.backend, value)
    assert stored.endswith({"": ".json", "gzip": ".json.gz", "bz2": ".json.bz2", "lzma": ".json.xz"}[compression])
    assert pull(store.backend, stored) == value


def test_a_retry_overwrites_its_own_object(store):
    push(store.backend, "a" * 500)
    stored = push(store.backend, "b" * 500)
    assert len(store.contents()) == 1
    assert pull(store.backend, stored) == "b" * 500


def test_mapped_tasks_get_one_object_each(store):
    for index in range(3):
        push(store.backend, {"n": index, "pad": "x" * 200}, map_index=index)
    assert sorted(name.split("/")[-2] for name in store.contents()) == ["0", "1", "2"]


@pytest.mark.parametrize("value, message", [
    (b"\x00\x01", r"XCom 'blob' of task 'extract' .* raw bytes \(2 bytes\) are not an XCom value.*base64"),
    (object(), r"XCom 'blob' of task 'extract' .* a object is not serialisable.*never pickles"),
    ({"callback": print}, r"XCom 'blob' of task 'extract' .* a dict is not serialisable \(.*builtin_function_or_method"),
])
def test_refused_values_name_the_xcom_and_write_nothing(store, value, message):
    with pytest.raises(errors.XComRefusedError, match=message + r".*Nothing was written"):
        push(store.backend, value, key="blob")
    assert store.contents() == {}


def test_a_missing_object_fails_the_pull_with_the_xcoms_name(store):
    stored = push(store.backend, "x" * 500, key="report")
    store.backend.purge(type("Row", (), {"value": stored})())
    assert store.contents() == {}
    with pytest.raises(errors.XComMissingError, match=r"XCom 'report' of task 'extract' \(DAG 'etl', run "
                                                      r"'manual__2026-11-21T08:00:00\+00:00'\) references .* does not "
                                                      r"exist.*Clear task 'extract'"):
        pull(store.backend, stored)


def test_purge_of_an_inline_value_touches_nothing(store):
    push(store.backend, "x" * 500, key="big")
    store.backend.purge(type("Row", (), {"value": push(store.backend, "small", key="small")})())
    assert len(store.contents()) == 1


def test_dataframes_round_trip_through_the_store(store):
    frame = pd.DataFrame({"a": [1.5, 2.5]}, index=pd.Index(["x", "y"], name="id"))
    stored = push(store.backend, frame)
    assert stored.endswith("/return_value.parquet")
    pd.testing.assert_frame_equal(pull(store.backend, stored), frame)


def test_ids_keep_path_characters_inside_their_part(store):
    stored = push(store.backend, "x" * 500, **dict(IDS, task_id="group.a/b"), key="../k")
    assert stored.endswith("/group.a%2Fb/-1/..%2Fk.json")
    assert pull(store.backend, stored) == "x" * 500


def test_a_dataframe_under_a_key_ending_in_arrow_comes_back_as_a_dataframe(store):
    frame = pd.DataFrame({"a": [1, 2]})
    stored = push(store.backend, frame, key="report.arrow")
    assert stored.endswith("/report%2Earrow.parquet")
    pd.testing.assert_frame_equal(pull(store.backend, stored), frame)


def test_an_arrow_object_written_before_is_read_as_before(store):
    """Before keys were unambiguous, a DataFrame under key "x.arrow" was written as x.arrow.parquet: the
    name of key "x"'s Arrow table, which is what it keeps reading as."""
    table = pa.table({"n": [1, 2]})
    stored = push(store.backend, table, key="x")
    assert stored.endswith("/x.arrow.parquet") and pull(store.backend, stored).equals(table)


# --- a row's reference is followed only inside the backend's roots ------------------------------------------

PLANTED = dict(IDS, key="planted")


def row(stored, **ids):
    return SimpleNamespace(value=stored, **dict(PLANTED, **ids))


def outside_references(store) -> list[str]:
    """References to objects beside the root, spelt as a row's writer may spell them."""
    own = push(store.backend, "x" * 500, key="own").removeprefix("xcomlab:ref:")
    head, tail = own.split("/xcom/", 1)
    return [f"{head}/xcom2/{tail}",  # a folder that shares the root's string prefix
            f"{head}/xcom/../xcom2/{tail}",
            f"{head}/xcom/%2e%2e/xcom2/{tail}",
            f"{head}/xcom/{tail.replace('/extract/', '/../../../xcom2/')}"]


@pytest.mark.parametrize("case", range(4))
def test_a_reference_outside_the_root_is_neither_read_nor_deleted(store, caplog, case):
    url = outside_references(store)[case]
    store.backend.write_object(url, json.dumps({"secret": "kept"}).encode())
    before = store.contents()
    with pytest.raises(errors.XComOutsideRootError,
                       match=r"XCom 'planted' of task 'extract' \(DAG 'etl', run .*\) references .*: reference outside "
                             r"this backend's root \(roots: .*xcom\b.*Nothing was read.*add that store to \[xcomlab\] stores"):
        store.backend.deserialize_value(row("xcomlab:ref:" + url))
    store.backend.purge(row("xcomlab:ref:" + url))
    assert store.contents() == before
    assert "XCom 'planted'" in caplog.text and "reference outside this backend's root" in caplog.text
    assert "Nothing was deleted" in caplog.text


def test_airflow_3_rows_carry_only_the_key_and_the_error_names_it(store):
    url = outside_references(store)[0]
    with pytest.raises(errors.XComOutsideRootError, match=r"^XCom 'planted' references "):
        store.backend.deserialize_value(SimpleNamespace(key="planted", value="xcomlab:ref:" + url))


@pytest.mark.parametrize("backend, setting", [
    ("localfs", "localfs_path={}/xcom"),
    ("objectstorage", "objectstorage_path=file://{}/xcom"),
    ("objectstorage", "objectstorage_path=local://{}/xcom"),  # fsspec's other name for the local filesystem
])
def test_a_symlink_planted_inside_the_root_leads_nowhere_else(options, tmp_path, backend, setting):
    """Canonical paths inside the root whose file, or folder, is a link to a file outside."""
    from xcomlab.localfs import XComLocalFsBackend
    from xcomlab.objectstorage import XComObjectStorageBackend

    backend = {"localfs": XComLocalFsBackend, "objectstorage": XComObjectStorageBackend}[backend]
    name, _, value = setting.partition("=")
    options(threshold=100, stores="", **{name: value.format(tmp_path)})
    outside = tmp_path / "outside"
    (outside / "-1").mkdir(parents=True)
    for secret in (outside / "secret.json", outside / "-1" / "own.json"):
        secret.write_text('{"secret": "kept"}')
    own = push(backend, "x" * 500, key="own").removeprefix("xcomlab:ref:")
    run = tmp_path / "xcom" / "etl" / IDS["run_id"]
    (run / "extract" / "-1" / "linked.json").symlink_to(outside / "secret.json")
    (run / "linked").symlink_to(outside, target_is_directory=True)
    for url in (own.replace("/own.json", "/linked.json"), own.replace("/extract/", "/linked/")):
        with pytest.raises(errors.XComOutsideRootError):
            backend.deserialize_value(row("xcomlab:ref:" + url))
        backend.purge(row("xcomlab:ref:" + url))
    assert [p.read_text() for p in (outside / "secret.json", outside / "-1" / "own.json")] == ['{"secret": "kept"}'] * 2
    assert pull(backend, "xcomlab:ref:" + own) == "x" * 500


def test_a_root_that_is_a_link_is_followed(options, tmp_path):
    """A root configured as a link (/opt/airflow/xcom -> /mnt/efs/xcom) holds what lies under its target."""
    from xcomlab.localfs import XComLocalFsBackend

    (tmp_path / "efs").mkdir()
    (tmp_path / "xcom").symlink_to(tmp_path / "efs", target_is_directory=True)
    options(threshold=100, localfs_path=f"{tmp_path}/xcom")
    assert roundtrip(XComLocalFsBackend, "x" * 500) == "x" * 500


def test_a_localfs_reference_names_its_writer_host_which_may_be_any(options, tmp_path):
    from xcomlab.localfs import XComLocalFsBackend

    options(threshold=100, localfs_path=f"{tmp_path}/xcom")
    stored = push(XComLocalFsBackend, "x" * 500)
    host = stored.removeprefix("xcomlab:ref:file://").partition("/")[0]
    assert pull(XComLocalFsBackend, stored.replace(f"file://{host}/", "file://worker-7/")) == "x" * 500


def test_a_host_in_a_file_reference_never_leads_to_the_working_folder(options, tmp_path, monkeypatch):
    """For ObjectStoragePath, file://<host>/<path> is <working folder>/<host>/<path>. Such a reference is read
    as the path under the root (a file:// store of [xcomlab] stores is read by path, as localfs writes it)."""
    from xcomlab.objectstorage import XComObjectStorageBackend

    monkeypatch.chdir(tmp_path)
    options(threshold=100, objectstorage_path=f"file://{tmp_path}/xcom")
    stored = push(XComObjectStorageBackend, "x" * 500)
    hosted = stored.replace("file:///", "file://here/")
    relative = tmp_path / "here" / stored.removeprefix("xcomlab:ref:file:///")
    relative.parent.mkdir(parents=True)
    relative.write_text('{"secret": "kept"}')
    assert pull(XComObjectStorageBackend, hosted) == "x" * 500
    XComObjectStorageBackend.purge(SimpleNamespace(value=hosted))
    assert relative.read_text() == '{"secret": "kept"}'


# --- rows written before a backend switch, and subclasses ------------------------------------------------------

def test_rows_from_before_a_backend_switch_are_read_and_purged_by_the_backend_that_wrote_them(
        options, tmp_path, redis_xcom, monkeypatch):
    from xcomlab.localfs import XComLocalFsBackend
    from xcomlab.objectstorage import XComObjectStorageBackend
    from xcomlab.redis import XComRedisBackend

    options(localfs_path=f"{tmp_path}/local")
    on_localfs, on_redis = push(XComLocalFsBackend, "l" * 500), push(XComRedisBackend, "r" * 500)
    # The switch: object storage now, the other backends' settings gone.
    for name in ("LOCALFS_PATH", "REDIS_CONN_ID"):
        monkeypatch.delenv(f"AIRFLOW__XCOMLAB__{name}")
    options(objectstorage_path=f"file://{tmp_path}/objects")
    for stored in (on_localfs, on_redis):
        with pytest.raises(errors.XComOutsideRootError, match=r"roots: file://.*/objects\)"):
            pull(XComObjectStorageBackend, stored)
    options(stores=f"xcomlab=file://{tmp_path}/local, xcomlab=redis://xcom_redis/xcom")
    assert pull(XComObjectStorageBackend, on_localfs) == "l" * 500
    assert pull(XComObjectStorageBackend, on_redis) == "r" * 500
    for stored in (on_localfs, on_redis):
        XComObjectStorageBackend.purge(SimpleNamespace(value=stored))
    assert not [p for p in (tmp_path / "local").rglob("*") if p.is_file()] and redis_xcom.keys("*") == []


def test_a_subclass_reads_and_deletes_its_own_root_with_its_own_methods(store):
    used = []

    class Audited(store.backend):
        @classmethod
        def read_object(cls, url):
            used.append("read")
            return super().read_object(url)

        @classmethod
        def delete_object(cls, url):
            used.append("delete")
            super().delete_object(url)

    stored = push(Audited, "x" * 500)
    assert pull(Audited, stored) == "x" * 500
    Audited.purge(SimpleNamespace(value=stored))
    assert used == ["read", "delete"] and store.contents() == {}


# --- rows are JSON: never pickled, never unpickled (Airflow 2's [core] enable_xcom_pickling) ----------------

class Unpickled:
    """A pickle whose loading creates a file."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return open, (self.path, "w")


def test_airflow_2_rows_are_the_json_bytes_airflow_2_writes_without_pickling(monkeypatch):
    monkeypatch.setenv("AIRFLOW__CORE__ENABLE_XCOM_PICKLING", "True")
    when = datetime(2026, 11, 21, 8, tzinfo=timezone.utc)
    assert compat.encode_row("xcomlab:ref:s3://c@b/x.json", 2) == b'"xcomlab:ref:s3://c@b/x.json"'
    for stored in ("xcomlab:ref:s3://c@b/x.json", {"a": [1, None]}, when, None):
        assert compat.decode_row(compat.encode_row(stored, 2), 2) == stored


@pytest.mark.parametrize("major", [2, 3])
def test_a_pickled_row_is_never_unpickled(store, monkeypatch, tmp_path, caplog, major):
    monkeypatch.setenv("AIRFLOW__CORE__ENABLE_XCOM_PICKLING", "True")
    monkeypatch.setattr(compat, "AIRFLOW_MAJOR", major)
    created = tmp_path / "unpickled"
    for pickled in (pickle.dumps(Unpickled(created)), pickle.dumps(Unpickled(created), protocol=0)):
        with pytest.raises(errors.XComRowError, match=r"XCom 'planted' of task 'extract' .*: the metadata DB row is "
                                                      r"not JSON .*xcomlab never unpickles a row"):
            store.backend.deserialize_value(row(pickled))
        store.backend.purge(row(pickled))  # Airflow must still be able to delete the row
        assert "never unpickles" in caplog.text
    assert not created.exists()


def test_with_pickling_on_airflow_2_still_gets_json_rows_that_round_trip(store, monkeypatch):
    monkeypatch.setenv("AIRFLOW__CORE__ENABLE_XCOM_PICKLING", "True")
    monkeypatch.setattr(compat, "AIRFLOW_MAJOR", 2)
    for value in ("x" * 500, {"small": 1}):
        stored = store.backend.serialize_value(value, key="k", **IDS)
        assert isinstance(stored, bytes) and json.loads(stored) is not None  # JSON, not a pickle
        assert store.backend.deserialize_value(SimpleNamespace(value=stored)) == value
        store.backend.purge(SimpleNamespace(value=stored))
    assert store.contents() == {}


# --- Airflow 2's UI list: a reference's size, never an error ---------------------------------------------

@pytest.fixture
def airflow_2(monkeypatch):
    """xcomlab's Airflow 2 path (rows of JSON bytes) on the installed Airflow: what differs lives in compat."""
    monkeypatch.setattr(compat, "AIRFLOW_MAJOR", 2)


def ui_row(backend, column: bytes):
    """A row as Airflow 2's UI loads it: an instance of the XCom class holding the value column."""
    shown = backend()
    shown.value = column
    return shown


def push_2(backend, value) -> tuple[bytes, str]:
    """The row's column as Airflow 2 stores it, and the URL it references."""
    column = backend.serialize_value(value, key="return_value", **IDS)
    return column, json.loads(column).removeprefix("xcomlab:ref:")


def break_store(request, url):
    """Make the object unreadable for a reason other than absence: its folder a file, its key a list."""
    if url.startswith("redis://"):
        client, key = request.getfixturevalue("redis_xcom"), url.split("/", 3)[3]
        client.delete(key)
        client.rpush(key, "not a string")
    else:
        folder = pathlib.Path("/" + url.removeprefix("file://").partition("/")[2]).parent
        shutil.rmtree(folder)
        folder.write_text("a file where a folder was")


def test_the_ui_list_shows_the_reference_and_its_size(store, airflow_2):
    column, url = push_2(store.backend, "x" * 500)
    assert ui_row(store.backend, column).orm_deserialize_value() == f"{url} (502 bytes)"
    assert ui_row(store.backend, b'"small"').orm_deserialize_value() == "small"


def test_the_ui_list_shows_a_store_error_instead_of_failing(store, airflow_2, request):
    column, url = push_2(store.backend, "x" * 500)
    break_store(request, url)
    shown = ui_row(store.backend, column).orm_deserialize_value()
    assert shown in (f"{url} (store error: NotADirectoryError)", f"{url} (store error: ResponseError)"), shown


def test_the_ui_list_never_follows_a_reference_outside_the_root(store, monkeypatch):
    url = outside_references(store)[0]
    monkeypatch.setattr(compat, "AIRFLOW_MAJOR", 2)
    assert ui_row(store.backend, json.dumps("xcomlab:ref:" + url).encode()).orm_deserialize_value() == (
        f"{url} (outside this backend's root: not read)")


def test_the_ui_list_shows_a_row_that_is_not_json_without_unpickling_it(store, airflow_2, tmp_path):
    shown = ui_row(store.backend, pickle.dumps(Unpickled(tmp_path / "unpickled")))
    assert shown.orm_deserialize_value() == "(not JSON: xcomlab never unpickles a row)"
    assert not (tmp_path / "unpickled").exists()


def test_a_planted_reference_cannot_forge_lines_in_the_task_log(store, caplog):
    url = outside_references(store)[0] + "\nERROR - forged line"
    with pytest.raises(errors.XComOutsideRootError) as raised:
        store.backend.deserialize_value(row("xcomlab:ref:" + url))
    store.backend.purge(row("xcomlab:ref:" + url))
    assert "\n" not in str(raised.value) and "\n" not in caplog.text.strip()
    assert "\\nERROR - forged line" in str(raised.value)
