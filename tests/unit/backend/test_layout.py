"""The key layout of offloaded XComs: readable, deterministic, and no id can change the path's shape."""

import pytest

from xcomlab.layout import decode_part, object_path, run_prefix

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
