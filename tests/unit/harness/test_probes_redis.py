"""The Redis probe on a real redis-server: what it lists is what a backend wrote, not the Celery broker's keys."""

from __future__ import annotations

import redis

from xcomlab_harness.probes import Item
from xcomlab_harness.probes.redis import RedisProbe


def test_snapshot_lists_every_database_but_not_the_celery_brokers_bookkeeping(redis_server):
    broker, store = redis.Redis(port=redis_server.port, db=0), redis.Redis(port=redis_server.port, db=1)
    broker.flushall()
    broker.sadd("_kombu.binding.reply.celery.pidbox", "x")  # a worker's `celery inspect ping` health check
    broker.hset("unacked", "tag", "message")
    broker.set("xcom/etl/run/extract/-1/return_value.json", b"[1, 2]")  # a backend that shares the broker's DB
    store.set("xcomlab/etl/run/extract/-1/return_value.json", b'{"a": 1}')

    snapshot = RedisProbe({"REDIS_PORT": str(redis_server.port)}).snapshot()

    assert {item: meta.size for item, meta in snapshot.items()} == {
        Item("redis://db0", "xcom/etl/run/extract/-1/return_value.json"): 6,
        Item("redis://db1", "xcomlab/etl/run/extract/-1/return_value.json"): 8}
