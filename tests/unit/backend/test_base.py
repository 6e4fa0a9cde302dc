"""What every xcomlab backend does the same way, on each real store (file:// object storage, Redis,
a local folder): where a value lands, that it comes back unchanged, and what is refused."""

import json

import pandas as pd
import pytest

from conftest import IDS, pull, push, roundtrip
from xcomlab import errors
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
