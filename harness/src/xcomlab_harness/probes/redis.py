"""The Redis service through redis-py: every key of every database (strings, hashes, lists, ...) but the
Celery broker's bookkeeping."""

from __future__ import annotations

import re

import redis

from xcomlab_harness.probes import Item, Meta

SCHEME = "redis://db"
# The Celery broker's own bookkeeping (kombu's), which comes and goes with workers and their health checks.
BROKER_KEYS = re.compile(rb"_kombu\.|unacked(_index|_mutex)?$")


class RedisProbe:
    name = "redis"

    @classmethod
    def for_sandbox(cls, settings: dict[str, str], compose_env: dict[str, str]) -> RedisProbe:
        return cls(settings)

    def __init__(self, settings: dict[str, str]):
        self.port = int(settings.get("REDIS_PORT", "6379"))
        self._clients: dict[int, redis.Redis] = {}

    def client(self, db: int) -> redis.Redis:
        if db not in self._clients:
            self._clients[db] = redis.Redis(host="127.0.0.1", port=self.port, db=db)
        return self._clients[db]

    def databases(self) -> list[int]:
        """Only the databases that hold keys (INFO keyspace), not all 16."""
        return sorted(int(name.removeprefix("db")) for name in self.client(0).info("keyspace"))

    def snapshot(self) -> dict[Item, Meta]:
        return {item: meta for db in self.databases() for item, meta in self.list(f"{SCHEME}{db}").items()}

    def list(self, store: str, prefix: str = "") -> dict[Item, Meta]:
        client = self.client(int(store.removeprefix(SCHEME)))
        pattern = re.sub(r"([*?\[\]\\])", r"\\\1", prefix) + "*"
        found = {}
        for key in client.scan_iter(match=pattern, count=1000):
            if BROKER_KEYS.match(key):
                continue
            size = client.strlen(key) if client.type(key) == b"string" else (client.memory_usage(key) or 0)
            found[Item(store, key.decode(errors="backslashreplace"))] = Meta(size)
        return found

    def _split(self, item: Item) -> tuple[redis.Redis, str]:
        return self.client(int(item.store.removeprefix(SCHEME))), item.key

    def read(self, item: Item, limit: int | None = None) -> bytes:
        client, key = self._split(item)
        if client.type(key) != b"string":
            return repr(client.dump(key)).encode()[: limit or None]
        return client.getrange(key, 0, limit - 1) if limit else client.get(key)

    def delete(self, item: Item) -> None:
        client, key = self._split(item)
        client.delete(key)

    def put(self, item: Item, data: bytes) -> None:
        client, key = self._split(item)
        client.set(key, data)

    get = read
