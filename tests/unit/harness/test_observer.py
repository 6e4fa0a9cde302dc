"""The observer's linking and diffing (xcomlab_harness.observer): which row names which object, what is new,
what no row names. Pure logic: probes are replaced by dicts."""

import json


from xcomlab_harness.observer import (FILE_LEFT, Change, Observer, State, file_store, landings, leftovers, names,
                                      reference_strings, why)
from xcomlab_harness.probes import BUCKET_KEY, Item, Meta
from xcomlab_harness.probes.containers import ContainerProbe
from xcomlab_harness.probes.metadata import Row

ROW = ("dag", "run", "push", -1, "big_obj")


def row(value) -> Row:
    head = json.dumps(value).encode()
    return Row(head, str(hash(head)), len(head))


class DictProbe:
    roots = ContainerProbe.ROOTS  # what its files stand for: a task container's

    def __init__(self, objects: dict[Item, bytes]):
        self.objects = objects

    def snapshot(self):
        return {item: Meta(len(data), str(hash(data))) for item, data in self.objects.items()}

    def read(self, item, limit=None):
        return self.objects[item][:limit]


def observer(*probes) -> Observer:
    obs = Observer(list(probes), [], metadata=None)
    for probe in probes:
        for item in probe.objects:
            obs._by_store[item.store] = probe
    return obs


def test_a_row_holding_the_objects_url_names_it():
    item = Item("s3://xcom", "xcom/dag/run/push/3f2a1c3e-0000-4000-8000-000000000000")
    assert names(row(f"s3://aws_default@xcom/{item.key}").head, item)


def test_a_row_holding_only_a_uuid_names_the_object_keyed_by_it():
    item = Item("s3://xcom", "xcom/3f2a1c3e-0000-4000-8000-000000000000.json")
    assert names(row("3f2a1c3e-0000-4000-8000-000000000000").head, item)


def test_a_reference_inside_a_dict_names_its_object():
    item = Item("gs://bucket", "acme/dag/run/push/-1/big_obj.json")
    assert names(row({"__acme_ref__": f"gs://bucket/{item.key}"}).head, item)


def test_plain_user_text_names_nothing():
    item = Item("s3://xcom", "xcom/dag/run/push/report.json")
    assert not names(row("a long sentence a user pushed as a value").head, item)
    assert not names(row({"a": 23}).head, item)


def test_reference_strings_are_path_url_or_id_like_leaves():
    assert reference_strings(json.dumps({"a": ["s3://b/k/1", "hello world!"], "n": 1}).encode()) == ["s3://b/k/1"]
    assert reference_strings(b"\x80\x04not json") == []


def test_diff_links_new_objects_and_calls_the_rest_leaks():
    linked = Item("s3://xcom", "xcom/dag/run/push/big_obj.json")
    stray = Item("s3://xcom", "data_0d5c.csv")
    old = Item("s3://xcom", "xcom/old.json")
    probe = DictProbe({old: b"{}", linked: b'{"a": 1}', stray: b"a,b\n1,2\n3,4\n"})
    obs = observer(probe)
    before = State({old: Meta(2, str(hash(b"{}")))}, {})
    after = State(probe.snapshot(), {ROW: row(f"s3://xcom/{linked.key}")})
    change = obs.diff(before, after)
    assert set(change.new_objects) == {linked, stray}
    assert change.linked[linked] == [ROW] and change.leaks == [stray]
    assert change.formats[linked] == "json" and change.formats[stray] == "csv"
    [landing] = landings(change, "toy")
    assert (landing.xcom, landing.store, landing.key, landing.format) == ("dag/run/push/big_obj", "s3://xcom", linked.key, "json")
    [leak] = leftovers(change, "toy")
    assert (leak.key, leak.why) == (stray.key, "no XCom row names it")


def test_a_rewritten_object_counts_as_new_and_a_row_without_objects_lands_in_the_db():
    item = Item("redis://db1", "xcom:key")
    probe = DictProbe({item: b"new"})
    obs = observer(probe)
    change = obs.diff(State({item: Meta(3, "old")}, {}), State(probe.snapshot(), {ROW: row({"a": 23})}))
    assert list(change.new_objects) == [item]
    assert [(x.store, x.format) for x in landings(change, "toy")] == [("metadata DB", "json")]


def test_a_file_a_row_names_is_a_landing_and_an_unnamed_one_a_stray_file():
    kept = Item("container://airflow-scheduler", "/tmp/xcoms/dag/run/push/big_obj.json")
    stray = Item("container://airflow-scheduler", "/opt/airflow/data_1f2e.csv")
    probe = DictProbe({kept: b"{}", stray: b"a,b\n1,2\n3,4\n"})
    change = observer(probe).diff(State({}, {}), State(probe.snapshot(), {ROW: row(f"file://{kept.key}")}))
    assert change.leaks == [] and change.stray_files == [stray]
    assert [x.store for x in landings(change, "toy")] == [kept.store]
    assert [(x.key, x.why) for x in leftovers(change, "toy")] == [(stray.key, "file left in the container")]


def test_a_bucket_the_backend_creates_is_a_leftover_that_says_so():
    bucket = Item("s3://xcom-typo", BUCKET_KEY)
    probe = DictProbe({bucket: b""})
    change = observer(probe).diff(State({}, {}), State(probe.snapshot(), {}))
    assert [(x.store, x.why, x.format) for x in leftovers(change, "toy")] == [("s3://xcom-typo", "bucket created", "bucket")]


# --- a backend that keeps its XComs in files: its folder is its store ---------------------------------------------

SCHEDULER = "container://airflow-scheduler"
FIRST = ("list_dag", "manual__1", "push", -1, "return_value")
RETRY = ("list_dag", "manual__2", "push", -1, "return_value")


def file_item(path: str) -> Item:
    return Item(SCHEDULER, path)


def test_the_folder_of_a_named_file_is_the_first_below_its_probed_root():
    roots = ContainerProbe.ROOTS
    assert file_store(file_item("/tmp/xcom_files/list_dag/manual__1/push/3f2a.json"), roots) == "/tmp/xcom_files"
    assert file_store(file_item("/opt/airflow/xcoms/3f2a.json"), roots) == "/opt/airflow/xcoms"
    assert file_store(file_item("/tmp/tmpab12.json"), roots) is None  # a file lying in /tmp itself names no folder


def after_two_runs(obs: Observer, probe: DictProbe, first: dict[Item, bytes], second: dict[Item, bytes],
                   rows_after_second: dict) -> Change:
    """The first run writes files a row names; the second (a retry) writes more, and the rows move on."""
    probe.objects.update(first)
    state = State(probe.snapshot(), {FIRST: row(f"xcomfile://{next(iter(first)).key}")})
    obs.diff(State({}, {}), state)
    probe.objects.update(second)
    return obs.diff(state, State(probe.snapshot(), rows_after_second))


def test_an_unnamed_file_in_a_folder_a_row_once_named_is_an_orphan_not_a_stray_file():
    old = file_item("/tmp/xcom_files/list_dag/manual__1/push/3f2a.json")
    orphan = file_item("/tmp/xcom_files/list_dag/manual__2/push/9b1c.json")  # the failed try's
    kept = file_item("/tmp/xcom_files/list_dag/manual__2/push/d4e5.json")  # the successful try's
    tmp = file_item("/tmp/tmpab12.json")
    probe = DictProbe({})
    obs = observer(probe)
    obs._by_store[SCHEDULER] = probe
    change = after_two_runs(obs, probe, {old: b"[1, 2]"}, {orphan: b"[1]", kept: b"[1, 2, 3]", tmp: b"{}"},
                            {FIRST: row(f"xcomfile://{old.key}"), RETRY: row(f"xcomfile://{kept.key}")})
    assert obs.file_stores == {"/tmp/xcom_files"} and change.file_stores is obs.file_stores
    assert change.leaks == [orphan]  # retry/clear/delete judge these: the purge fix
    assert change.stray_files == [tmp]
    assert sorted((x.key, x.why) for x in leftovers(change, "retry")) == [
        (tmp.key, FILE_LEFT), (orphan.key, "no XCom row names it")]


def test_without_a_row_naming_a_file_there_an_unnamed_file_is_a_stray_file():
    orphan = file_item("/tmp/xcom_files/list_dag/manual__2/push/9b1c.json")
    probe = DictProbe({orphan: b"[1]"})
    change = observer(probe).diff(State({}, {}), State(probe.snapshot(), {RETRY: row({"a": 1})}))
    assert change.leaks == [] and change.stray_files == [orphan]
    assert why(orphan, change) == FILE_LEFT


def test_a_sibling_folder_sharing_the_prefix_is_not_the_backends():
    change = Change(file_stores={"/tmp/xcom_files"})
    assert change.in_file_store(file_item("/tmp/xcom_files/d/r/t/a.json"))
    assert not change.in_file_store(file_item("/tmp/xcom_files_old/d/r/t/a.json"))
    assert not change.in_file_store(file_item("/tmp/xcom_files"))


def test_why_says_file_left_only_for_files_outside_the_backends_folders():
    in_store = file_item("/tmp/xcom_files/d/r/t/a.json")
    change = Change(new_objects={in_store: Meta(2), file_item("/tmp/a.json"): Meta(2)}, file_stores={"/tmp/xcom_files"})
    assert why(file_item("/tmp/a.json"), change) == FILE_LEFT
    assert why(in_store, change) == "no XCom row names it"
    assert why(Item("s3://xcom", "xcom/a.json"), change) == "no XCom row names it"
    assert why(Item("s3://xcom", BUCKET_KEY), change) == "bucket created"


def test_a_backend_folder_in_the_working_directory_does_not_swallow_the_working_directory():
    kept = file_item("/opt/airflow/xcom_files/list_dag/manual__1/push/3f2a.json")
    stray = file_item("/opt/airflow/data_1f2e.csv")
    probe = DictProbe({kept: b"[1, 2]", stray: b"a,b\n1,2\n"})
    change = observer(probe).diff(State({}, {}), State(probe.snapshot(), {FIRST: row(f"xcomfile://{kept.key}")}))
    assert change.stray_files == [stray] and change.leaks == []
    assert [(x.key, x.why) for x in leftovers(change, "toy")] == [(stray.key, FILE_LEFT)]


def test_a_backend_keeping_its_files_flat_in_one_folder_has_its_orphans_found():
    old = file_item("/tmp/xcoms/3f2a1c3e-0000-4000-8000-000000000000.json")
    orphan = file_item("/tmp/xcoms/9b1c1c3e-0000-4000-8000-000000000000.json")
    kept = file_item("/tmp/xcoms/d4e51c3e-0000-4000-8000-000000000000.json")
    probe = DictProbe({})
    obs = observer(probe)
    obs._by_store[SCHEDULER] = probe
    change = after_two_runs(obs, probe, {old: b"[1, 2]"}, {orphan: b"[1]", kept: b"[1, 2, 3]"},
                            {FIRST: row(f"xcomfile://{old.key}"), RETRY: row(f"xcomfile://{kept.key}")})
    assert change.leaks == [orphan]
