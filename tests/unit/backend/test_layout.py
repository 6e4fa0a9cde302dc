"""The key layout of offloaded XComs: readable, deterministic, and no id can change the path's shape."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xcomlab import codec
from xcomlab.layout import XComIds, decode_part, ids_of, ids_under, object_path, run_prefix

IDS = {"dag_id": "etl", "run_id": "manual__2026-11-21T08:09:02.182529+00:00", "task_id": "extract", "map_index": -1}


def test_layout_is_prefix_dag_run_task_map_index_key():
    assert object_path("s3://conn@xcom/xcom/", **IDS, key="return_value", suffix=".json.gz") == (
        "s3://conn@xcom/xcom/etl/manual__2026-11-21T08:09:02.182529+00:00/extract/-1/return_value.json.gz"
    )


def test_same_xcom_same_path_so_a_retry_overwrites():
    assert object_path("p", **IDS, key="k") == object_path("p", **IDS, key="k")
    assert object_path("p", **dict(IDS, map_index=3), key="k") != object_path("p", **dict(IDS, map_index=4), key="k")


@pytest.mark.parametrize("hostile", ["a/b", "../..", "..", ".", "50%", "x?y#z", "back\\slash", "sp ace", "é"])
def test_path_characters_in_ids_stay_inside_their_part(hostile):
    path = object_path("base", **dict(IDS, task_id=hostile), key="k")
    parts = path.split("/")
    assert len(parts) == 6, path
    assert parts[3] not in (".", "..")
    assert decode_part(parts[3]) == hostile


def test_empty_part_is_refused():
    with pytest.raises(ValueError, match="cannot be empty"):
        object_path("base", **IDS, key="")


def test_run_prefix_holds_every_object_of_the_run():
    assert object_path("base", **IDS, key="k").startswith(run_prefix("base", dag_id="etl", run_id=IDS["run_id"]))


# --- one name, one reading: <key><suffix> parses back to that suffix ----------------------------------

def test_a_dataframe_under_a_key_ending_in_arrow_keeps_its_suffix_and_its_key():
    path = object_path("base", **IDS, key="report.arrow", suffix=codec.PARQUET)
    assert path.endswith("/report%2Earrow.parquet")
    assert codec.suffix_of(path) == codec.PARQUET
    assert ids_of(path, codec.suffix_of(path)).key == "report.arrow"


def test_names_written_before_read_as_before():
    """An object from before (a DataFrame under key "x.arrow") keeps its reading: the Arrow table of key "x"."""
    path = object_path("base", **IDS, key="x", suffix=codec.ARROW)
    assert path.endswith("/x.arrow.parquet") and ids_under("base", path) == (XComIds(**IDS, key="x"), codec.ARROW)


@settings(max_examples=300, deadline=None)
@given(key=st.text(alphabet=st.sampled_from(".arowjsnpqutgzbx%/-"), min_size=1, max_size=12),
       suffix=st.sampled_from(codec.SUFFIXES))
def test_every_key_and_suffix_parse_back_to_themselves(key, suffix):
    path = object_path("s3://conn@bucket/xcom", **IDS, key=key, suffix=suffix)
    assert codec.suffix_of(path) == suffix
    assert ids_under("s3://conn@bucket/xcom", path) == (XComIds(**IDS, key=key), suffix)


@settings(max_examples=300, deadline=None)
@given(ids=st.builds(XComIds, *[st.text(min_size=1, max_size=8)] * 3, st.integers(-1, 10**6), st.text(min_size=1, max_size=8)),
       suffix=st.sampled_from(codec.SUFFIXES), root=st.sampled_from(["s3://conn@bucket/xcom", "redis://c/x/y", "file:///r"]))
def test_every_xcoms_own_path_is_inside_its_root(ids, suffix, root):
    assert ids_under(root, ids.path(root, suffix)) == (ids, suffix)


# --- a URL names an XCom under a root only when it is exactly that XCom's path ---------------------------

ROOT = "s3://conn@bucket/xcom"
GOOD = object_path(ROOT, **IDS, key="k", suffix=".json")


def test_an_xcoms_own_path_is_inside_its_root():
    assert ids_under(ROOT, GOOD) == (XComIds(**IDS, key="k"), ".json")
    assert ids_under(ROOT + "/", GOOD) == (XComIds(**IDS, key="k"), ".json")


@pytest.mark.parametrize("url", [
    GOOD.replace("s3://conn@bucket/xcom/", "s3://conn@bucket/xcom2/"),  # shares the root's string prefix
    GOOD.replace("s3://conn@bucket/", "s3://conn@other/"),  # another bucket
    GOOD.replace("s3://conn@", "s3://admin@"),  # another connection
    GOOD.replace("s3://conn@", "s3://"),
    GOOD.replace("s3://", "gs://"),  # another scheme
    GOOD.replace("/etl/", "/etl/../etl/"),
    GOOD.replace("/etl/", "/x/../etl/"),
    GOOD.replace("/etl/", "/%2e%2e/xcom/etl/"),
    GOOD.replace("/extract/", "/%2e%2e/"),  # task "..", spelt other than the layout spells it (%2E%2E)
    GOOD.replace("/extract/", "/%252e%252e/extract/"),
    GOOD.replace("/extract/", "//extract/"),
    GOOD.replace("/xcom/", "/xcom//"),
    GOOD.replace("/-1/", "/"),  # a missing part
    GOOD.replace("/-1/", "/-1/-1/"),  # an extra part
    GOOD.replace("/-1/", "/+1/"),
    GOOD.replace("/-1/", "/ -1/"),
    GOOD.replace("/-1/", "/x/"),
    GOOD.replace("/etl/", "/%65tl/"),  # a letter percent-encoded
    GOOD.replace("/k.json", "/k.pickle"),
    GOOD.replace("/k.json", "/.json"),
    GOOD + "/",
    "xcom/etl/x/extract/-1/k.json",
    "/xcom/etl/x/extract/-1/k.json",
])
def test_any_other_spelling_is_outside(url):
    assert ids_under(ROOT, url) is None


def test_an_encoded_dot_dot_is_an_xcom_of_that_name_not_a_way_up():
    """Task ".." is stored as the literal name %2E%2E (no store decodes it), so its path is inside."""
    url = object_path(ROOT, **dict(IDS, task_id=".."), key="k", suffix=".json")
    assert "/%2E%2E/" in url and ids_under(ROOT, url)[0].task_id == ".."
