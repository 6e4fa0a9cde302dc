"""xcomlab's Redis XCom backend: big values are Redis strings under
`<[xcomlab] redis_prefix>/<dag_id>/<run_id>/<task_id>/<map_index>/<key><suffix>`, referenced in the row as
`redis://<conn_id>/<redis key>`.

Configuration: AIRFLOW__XCOMLAB__REDIS_CONN_ID (default redis_default; the database is the connection's
`db` extra), REDIS_PREFIX (default xcom), REDIS_TTL (seconds; 0, the default, keeps keys until purged),
REDIS_MAX_BYTES (default 536870912: Redis refuses strings over 512 MB, so bigger values fail the task
before anything is written), THRESHOLD, COMPRESSION.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from functools import cache

from xcomlab import compat, errors
from xcomlab.base import SECTION, OffloadingXComBackend
from xcomlab.inventory import StoredObject
from xcomlab.layout import XComIds

conf = compat.conf()

SCHEME = "redis://"
REDIS_MAX_BYTES = 512 * 1024 * 1024  # Redis's own limit for one string (proto-max-bulk-len)


@cache
def _client(conn_id: str):
    from airflow.providers.redis.hooks.redis import RedisHook  # imported on use: it loads Airflow's hooks

    return RedisHook(redis_conn_id=conn_id).get_conn()


def _split(url: str):
    """(client, key) of a redis://<conn_id>/<key> reference."""
    conn_id, _, key = url.removeprefix(SCHEME).partition("/")
    return _client(conn_id), key


def _pattern(prefix: str) -> str:
    """A SCAN pattern matching every key under prefix (its glob characters escaped)."""
    return re.sub(r"([*?\[\]\\])", r"\\\1", prefix.rstrip("/")) + "/*"


class XComRedisBackend(OffloadingXComBackend):
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
    def missing_hint(cls, url: str) -> str:
        ttl = conf.getint(SECTION, "redis_ttl", fallback=0)
        return f"Keys expire {ttl} s after the push ([xcomlab] redis_ttl)." if ttl else ""

    @classmethod
    def list_objects(cls, root: str) -> Iterator[StoredObject]:
        """Keys under root; Redis keeps no creation time, so a key's age is its idle time (since the last
        write or read): a key just pushed or pulled is young."""
        client, prefix = _split(root)
        conn_id = root.removeprefix(SCHEME).partition("/")[0]
        keys = list(client.scan_iter(match=_pattern(prefix), count=1000))
        now = datetime.now(timezone.utc)
        for start in range(0, len(keys), 1000):
            batch = keys[start:start + 1000]
            pipe = client.pipeline(transaction=False)
            for key in batch:
                pipe.strlen(key)
                pipe.object("idletime", key)
            answers = pipe.execute()
            for key, size, idle in zip(batch, answers[::2], answers[1::2]):
                modified = None if idle is None else now - timedelta(seconds=idle)
                yield StoredObject(f"{SCHEME}{conn_id}/{key.decode()}", size, modified)
