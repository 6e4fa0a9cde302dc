"""The Redis backend on a real redis-server: key layout, TTL, Redis's 512 MB limit refused up front, a timeout
on every request, and a maxmemory-policy that would evict XComs refused at the first push."""

import json
import logging
import socket
import threading
import time

import pytest

from conftest import IDS, pull, push
from xcomlab import errors, redis
from xcomlab.layout import XComIds
from xcomlab.redis import REDIS_MAX_BYTES, XComRedisBackend


@pytest.fixture(autouse=True)
def new_process():
    """Each test is a task process of its own: its client (and its timeout) and its policy check start afresh."""
    redis._client.cache_clear()
    redis._eviction_policy.cache_clear()


@pytest.fixture
def redis_store(options, redis_xcom):
    options(threshold=10)
    return redis_xcom


@pytest.fixture
def policy(redis_store):
    """set(name) sets the throwaway server's maxmemory-policy for one test."""
    before = redis_store.config_get("maxmemory-policy")["maxmemory-policy"]
    yield lambda name: redis_store.config_set("maxmemory-policy", name)
    redis_store.config_set("maxmemory-policy", before)


@pytest.fixture
def hung_redis(options, monkeypatch):
    """Connection xcom_hung: a server that accepts connections and never answers."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.1)
    accepted, stop = [], threading.Event()

    def accept():
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept)
    thread.start()
    monkeypatch.setenv("AIRFLOW_CONN_XCOM_HUNG", json.dumps({"conn_type": "redis", "host": "127.0.0.1",
                                                            "port": server.getsockname()[1], "extra": {"db": 0}}))
    options(redis_conn_id="xcom_hung", threshold=10)
    yield
    stop.set()
    thread.join()
    for conn in accepted:
        conn.close()  # a client still waiting gets its answer: the connection is gone
    server.close()


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


def test_a_redis_that_never_answers_fails_the_push_within_the_timeout(hung_redis, options):
    options(store_timeout=1)
    outcome = {}

    def push_k():
        try:
            push(XComRedisBackend, "x" * 50, key="k")
        except Exception as err:
            outcome["error"] = err
        outcome["after"] = time.monotonic() - start

    start = time.monotonic()
    pusher = threading.Thread(target=push_k, daemon=True)
    pusher.start()
    pusher.join(10)
    assert not pusher.is_alive(), "the push still waits for Redis after 10 s"
    assert outcome["after"] < 1.9  # one wait of store_timeout, not one per retry
    assert isinstance(outcome["error"], errors.XComStoreError)
    assert str(outcome["error"]).startswith("XCom 'k' of task 'extract' (DAG 'etl', run "
                                            "'manual__2026-11-21T08:00:00+00:00'): cannot write redis://xcom_hung/")
    assert "did not answer in time" in str(outcome["error"])
    assert "[xcomlab] store_timeout" in str(outcome["error"])


def test_a_connection_redis_closed_is_opened_again(redis_store):
    push(XComRedisBackend, "a" * 50, key="k")
    redis_store.client_kill_filter(_type="normal", skipme=True)  # e.g. Redis restarted, or its idle timeout
    assert pull(XComRedisBackend, push(XComRedisBackend, "b" * 50, key="k")) == "b" * 50


@pytest.mark.parametrize(("name", "ttl", "evicts"), [
    ("allkeys-lru", 0, "evicts any key"),
    ("allkeys-lfu", 0, "evicts any key"),
    ("allkeys-random", 0, "evicts any key"),
    ("volatile-lru", 600, "evicts keys with a TTL, and [xcomlab] redis_ttl gives one"),
    ("volatile-ttl", 600, "evicts keys with a TTL, and [xcomlab] redis_ttl gives one"),
])
def test_a_policy_that_evicts_xcoms_is_refused_at_the_first_push(redis_store, policy, options, name, ttl, evicts):
    policy(name)
    options(redis_ttl=ttl)
    with pytest.raises(errors.XComRefusedError) as refused:
        push(XComRedisBackend, "x" * 50, key="k")
    assert str(refused.value).startswith("XCom 'k' of task 'extract' (DAG 'etl', run "
                                         f"'manual__2026-11-21T08:00:00+00:00') cannot be stored: Redis "
                                         f"redis://xcom_redis has maxmemory-policy '{name}', which {evicts}")
    assert "Nothing was written. Set the policy to noeviction" in str(refused.value)
    assert "volatile-* policy with [xcomlab] redis_ttl = 0" in str(refused.value)
    assert redis_store.keys("*") == []


@pytest.mark.parametrize("name", ["noeviction", "volatile-lru", "volatile-ttl"])
def test_a_policy_that_keeps_keys_without_a_ttl_is_accepted(redis_store, policy, name):
    policy(name)
    assert pull(XComRedisBackend, push(XComRedisBackend, "x" * 50, key="k")) == "x" * 50


def test_where_config_is_not_allowed_the_push_works_and_the_log_says_the_policy_is_unchecked(
        redis_store, redis_server, options, monkeypatch, caplog):
    redis_store.acl_setuser("no-config", enabled=True, passwords=["+secret"], keys=["*"], channels=["*"],
                            commands=["+@all", "-config"])
    try:
        monkeypatch.setenv("AIRFLOW_CONN_XCOM_MANAGED", json.dumps({
            "conn_type": "redis", "host": "127.0.0.1", "port": redis_server.port, "login": "no-config",
            "password": "secret", "extra": {"db": 0}}))
        options(redis_conn_id="xcom_managed")
        with caplog.at_level(logging.WARNING, logger="xcomlab.redis"):
            assert pull(XComRedisBackend, push(XComRedisBackend, "x" * 50, key="k")) == "x" * 50
    finally:
        redis_store.acl_deluser("no-config")
    assert "Cannot check that Redis redis://xcom_managed keeps XComs (CONFIG GET maxmemory-policy: " in caplog.text
    assert "noeviction" in caplog.text


def test_under_an_lfu_policy_listing_works_and_no_key_has_an_age(redis_store, policy):
    push(XComRedisBackend, "x" * 50, key="k")
    policy("allkeys-lfu")  # Redis tracks no idle time under LFU: OBJECT IDLETIME fails
    [stored] = XComRedisBackend.list_objects("redis://xcom_redis/xcom")
    assert stored.url == "redis://xcom_redis/xcom/etl/manual__2026-11-21T08:00:00+00:00/extract/-1/k.json"
    assert (stored.size, stored.modified) == (52, None)  # age unknown: the audit never deletes it as old


def test_a_key_that_is_not_a_string_under_the_prefix_is_not_listed_and_listing_goes_on(redis_store):
    push(XComRedisBackend, "x" * 50, key="k")
    redis_store.hset("xcom/etl/run/extract/-1/someone.json", "field", "value")  # not an XCom: xcomlab writes strings
    listed = [o.url for o in XComRedisBackend.list_objects("redis://xcom_redis/xcom")]
    assert listed == ["redis://xcom_redis/xcom/etl/manual__2026-11-21T08:00:00+00:00/extract/-1/k.json"]
