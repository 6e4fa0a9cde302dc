"""The provider's size rule, which the e2e tests use to predict where each value lands."""

import pytest

from xcomlab.threshold import serialized_size, stays_in_db, string_of_size

T = 1000


@pytest.mark.parametrize(("size", "inline"), [(T - 1, True), (T, False), (T + 1, False)])
def test_threshold_boundary(size, inline):
    assert stays_in_db(size, T) is inline


def test_negative_threshold_keeps_everything_in_db():
    assert stays_in_db(10**9, -1)


def test_zero_threshold_offloads_everything():
    assert not stays_in_db(0, 0)


def test_size_is_ascii_json_length():
    assert serialized_size({"a": 23}) == len('{"a": 23}')
    # ensure_ascii: "é" is written as \u00e9, six bytes.
    assert serialized_size("é") == len('"\\u00e9"') == 8


def test_toy_dag_values_fall_either_side_of_the_default_threshold():
    small_obj = {"a": 23}
    big_obj = {f"key{i}": "x" * 100 for i in range(100)}
    assert stays_in_db(serialized_size(small_obj), T)
    assert not stays_in_db(serialized_size(big_obj), T)


@pytest.mark.parametrize("char", ["x", "é", "日"])
@pytest.mark.parametrize("size", [2, 999, 1000, 1001])
def test_string_of_size_measures_exactly_size(char, size):
    value = string_of_size(size, char)
    assert serialized_size(value) == size
    assert char in value or size < 8
