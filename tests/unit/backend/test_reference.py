"""References in the DB row: explicit, and a user's string is never mistaken for one."""

import pytest

from xcomlab import reference


def test_reference_round_trip():
    stored = reference.make("s3://conn@xcom/xcom/etl/run/t/-1/k.json")
    assert stored == "xcomlab:ref:s3://conn@xcom/xcom/etl/run/t/-1/k.json"
    assert reference.url_of(stored) == "s3://conn@xcom/xcom/etl/run/t/-1/k.json"


@pytest.mark.parametrize(
    "value",
    ["s3://conn@xcom/xcom/etl/run/t/-1/k.json", "xcomlab:ref:s3://looks/like/ours", "xcomlab:str:x", "123", "null", "", 5, None, {"a": 1}],
)
def test_user_values_come_back_unchanged_and_are_never_references(value):
    stored = reference.escape(value)
    assert reference.url_of(stored) is None
    assert reference.unescape(stored) == value
