"""xcomlab's Redis XCom backend: big values are Redis strings under
`<[xcomlab] redis_prefix>/<dag_id>/<run_id>/<task_id>/<map_index>/<key><suffix>`, referenced in the row as
`redis://<conn_id>/<redis key>`.

Configuration: AIRFLOW__XCOMLAB__REDIS_CONN_ID (default redis_default; the database is the connection's
`db` extra), REDIS_PREFIX (default xcom), REDIS_TTL (seconds; 0, the default, keeps keys until purged),
REDIS_MAX_BYTES (default 536870912: Redis refuses strings over 512 MB, so bigger values fail the task
before anything is written), STORE_TIMEOUT (seconds, default 30: how long connecting and each command may
take, so a Redis that stops answering fails the push instead of blocking it until its execution_timeout;
not for a connection with the `cluster` extra, whose client the provider connects as it builds it),
THRESHOLD, COMPRESSION.

The first push of each process asks Redis for its maxmemory-policy and refuses to write to one that may
evict XComs (allkeys-*, or volatile-* when REDIS_TTL gives keys a TTL); where CONFIG is not allowed
(managed Redis, ACLs) it logs that it cannot check and writes.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from functools import cache

from xcomlab import codec, compat, errors
from xcomlab.base import SECTION, OffloadingXComBackend
from xcomlab.stores import Option, StoredObject
from xcomlab.layout import XComIds, ids_of

conf = compat.conf()

SCHEME = "redis://"
REDIS_MAX_BYTES = 512 * 1024 * 1024  # Redis's own limit for one string (proto-max-bulk-len)
STORE_TIMEOUT = 30.0  # seconds, [xcomlab] store_timeout's default

log = logging.getLogger(__name__)


@cache
def _client(conn_id: str):
    # imported on use, as redis-py below: the lifecycle tools load this class where no Redis is used
    from airflow.providers.redis.hooks.redis import RedisHook
    from redis import Redis
    from redis.backoff import NoBackoff
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.retry import Retry

    client = RedisHook(redis_conn_id=conn_id).get_conn()
    # The hook passes no timeout (older redis-py then waits forever), and newer redis-py retries a request that
    # timed out several times. The client has not connected yet: each connection it opens waits at most the
    # timeout per request, and only a dropped connection is retried (once); the task's own retries do the rest.
    # A RedisCluster is left as the hook built it: it reached its nodes while being built.
    if isinstance(client, Redis):
        timeout = conf.getfloat(SECTION, "store_timeout", fallback=STORE_TIMEOUT)
        client.get_connection_kwargs().update(socket_timeout=timeout, socket_connect_timeout=timeout,
                                              retry=Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)))
    return client


@cache
def _eviction_policy(conn_id: str) -> str | None:
    """The Redis's maxmemory-policy (asked once per process), or None where CONFIG is not allowed."""
    from redis.exceptions import ResponseError

    try:
        return _client(conn_id).config_get("maxmemory-policy").get("maxmemory-policy")
    except ResponseError as err:  # CONFIG disabled or renamed (managed Redis), or denied by an ACL
        log.warning("Cannot check that Redis %s%s keeps XComs (CONFIG GET maxmemory-policy: %s); make sure its "
                    "maxmemory-policy is noeviction, or volatile-* with [xcomlab] redis_ttl = 0.",
                    SCHEME, conn_id, err)
        return None


def _refuse_evicting_policy(conn_id: str, url: str) -> None:
    policy = _eviction_policy(conn_id) or ""
    ttl = conf.getint(SECTION, "redis_ttl", fallback=0)
    if policy.startswith("allkeys-") or (ttl and policy.startswith("volatile-")):
        raise errors.evicting_policy(ids_of(url, codec.suffix_of(url)), SCHEME + conn_id, policy)


def _split(url: str):
    """(client, key) of a redis://<conn_id>/<key> reference."""
    conn_id, _, key = url.removeprefix(SCHEME).partition("/")
    return _client(conn_id), key


def _modified(idle, now: datetime) -> datetime | None:
    """A key's last access from its OBJECT IDLETIME answer; None (age unknown: never deleted as old) when Redis
    does not track it, as under an LFU maxmemory-policy, which answers with an error."""
    return now - timedelta(seconds=idle) if isinstance(idle, int) else None


def _pattern(prefix: str) -> str:
    """A SCAN pattern matching every key under prefix (its glob characters escaped)."""
    return re.sub(r"([*?\[\]\\])", r"\\\1", prefix.rstrip("/")) + "/*"


class XComRedisBackend(OffloadingXComBackend):
    SCHEMES = ("redis",)
    FAMILY = "xcomlab-redis"
    OPTIONS = (Option("redis_conn_id", "string"), Option("redis_prefix", "string"), Option("redis_max_bytes", "integer"),
               Option("redis_ttl", "integer"), Option("store_timeout", "float"))

    @classmethod
    def configured_root(cls) -> str:
        conn_id = conf.get(SECTION, "redis_conn_id", fallback="")
        return f"{SCHEME}{conn_id}/{conf.get(SECTION, 'redis_prefix', fallback='xcom')}" if conn_id else ""

    @classmethod
    def object_location(cls, ids: XComIds, suffix: str) -> str:
        conn_id = conf.get(SECTION, "redis_conn_id", fallback="redis_default")
        return f"{SCHEME}{conn_id}/" + ids.path(conf.get(SECTION, "redis_prefix", fallback="xcom"), suffix)

    @classmethod
    def refuse_if_too_big(cls, ids: XComIds, size: int) -> None:
        limit = conf.getint(SECTION, "redis_max_bytes", fallback=REDIS_MAX_BYTES)
        if size > limit:
            raise errors.too_big(ids, size, limit, "[xcomlab] redis_max_bytes",
                                 "xcomlab.objectstorage.XComObjectStorageBackend")

    @classmethod
    def write_object(cls, url: str, data: bytes) -> None:
        client, key = _split(url)
        _refuse_evicting_policy(url.removeprefix(SCHEME).partition("/")[0], url)
        ttl = conf.getint(SECTION, "redis_ttl", fallback=0)
        client.set(key, data, ex=ttl or None)

    @classmethod
    def read_object(cls, url: str) -> bytes:
        client, key = _split(url)
        data = client.get(key)
        if data is None:
            raise FileNotFoundError(url)
        return data

    @classmethod
    def delete_object(cls, url: str) -> None:
        client, key = _split(url)
        client.delete(key)

    @classmethod
    def object_size(cls, url: str) -> int:
        client, key = _split(url)
        if not client.exists(key):
            raise FileNotFoundError(url)
        return client.strlen(key)

    @classmethod
    def stat_object(cls, url: str) -> StoredObject:
        client, key = _split(url)
        pipe = client.pipeline(transaction=False)
        pipe.exists(key)
        pipe.object("idletime", key)  # before STRLEN, which counts as an access
        pipe.strlen(key)
        exists, idle, size = pipe.execute(raise_on_error=False)
        for answer in (exists, size):
            if isinstance(answer, Exception):
                raise answer
        if not exists:
            raise FileNotFoundError(url)
        return StoredObject(url, size, _modified(idle, datetime.now(timezone.utc)))

    @classmethod
    def missing_hint(cls, url: str) -> str:
        ttl = conf.getint(SECTION, "redis_ttl", fallback=0)
        return f"Keys expire {ttl} s after the push ([xcomlab] redis_ttl)." if ttl else ""

    @classmethod
    def list_objects(cls, root: str) -> Iterator[StoredObject]:
        """Keys under root; Redis keeps no creation time, so a key's age is its idle time (since the last
        write or read, never more than since the write): a key just pushed or pulled is young."""
        client, prefix = _split(root)
        conn_id = root.removeprefix(SCHEME).partition("/")[0]
        keys = list(client.scan_iter(match=_pattern(prefix), count=1000))
        now = datetime.now(timezone.utc)
        for start in range(0, len(keys), 1000):
            batch = keys[start:start + 1000]
            pipe = client.pipeline(transaction=False)
            for key in batch:
                pipe.object("idletime", key)  # before STRLEN, which counts as an access
                pipe.type(key)
                pipe.strlen(key)
            answers = pipe.execute(raise_on_error=False)
            for key, idle, kind, size in zip(batch, answers[::3], answers[1::3], answers[2::3]):
                if kind != b"string":  # a list, hash, ... is nobody's XCom: not listed, so never deleted
                    continue
                if isinstance(size, Exception):
                    raise size
                yield StoredObject(f"{SCHEME}{conn_id}/{key.decode()}", size, _modified(idle, now))
