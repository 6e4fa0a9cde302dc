"""The Redis backend on a real redis-server: key layout, TTL, and Redis's 512 MB limit refused up front."""

import json

import pytest

from conftest import IDS, push
from xcomlab import errors
from xcomlab.layout import XComIds
from xcomlab.redis import REDIS_MAX_BYTES, XComRedisBackend


@pytest.fixture
def redis_store(options, redis_xcom):
    options(threshold=10)
    return redis_xcom


def test_reference_names_connection_and_key(redis_store, options):
    options(redis_prefix="team-a/xcom")
    stored = push(XComRedisBackend, {"v": "x" * 50}, key="k")
    key = "team-a/xcom/etl/manual__2026-11-21T08:00:00+00:00/extract/-1/k.json"
    assert stored == f"xcomlab:ref:redis://xcom_redis/{key}"
    assert json.loads(redis_store.get(key)) == {"v": "x" * 50}
    assert redis_store.ttl(key) == -1  # no TTL unless configured


def test_ttl_applies_to_every_key(redis_store, options):
    options(redis_ttl=600)
    push(XComRedisBackend, "x" * 50)
    [key] = redis_store.keys("*")
    assert 590 < redis_store.ttl(key) <= 600


def test_missing_key_mentions_the_ttl(redis_store, options):
    options(redis_ttl=600)
    stored = push(XComRedisBackend, "x" * 50)
    redis_store.flushall()
    with pytest.raises(errors.XComMissingError, match=r"Keys expire 600 s after the push \(\[xcomlab\] redis_ttl\)"):
        XComRedisBackend.deserialize_value(type("Row", (), {"value": stored})())


def test_over_the_configured_limit_is_refused_before_writing(redis_store, options):
    options(redis_max_bytes=1000)
    with pytest.raises(errors.XComRefusedError, match=r"XCom 'big' of task 'extract' .* is 1002 bytes, over the "
                                                      r"1000-byte limit \(\[xcomlab\] redis_max_bytes\).*Nothing was "
                                                      r"written.*XComObjectStorageBackend"):
        push(XComRedisBackend, "x" * 1000, key="big")
    assert redis_store.keys("*") == []
    push(XComRedisBackend, "x" * 998, key="fits")  # exactly the limit is accepted


def test_default_limit_is_redis_own_512_mb(redis_store):
    ids = XComIds(**IDS, key="k")
    assert REDIS_MAX_BYTES == 512 * 1024 * 1024
    XComRedisBackend.refuse_if_too_big(ids, REDIS_MAX_BYTES)
    with pytest.raises(errors.XComRefusedError, match="536870913 bytes, over the 536870912-byte limit"):
        XComRedisBackend.refuse_if_too_big(ids, REDIS_MAX_BYTES + 1)
