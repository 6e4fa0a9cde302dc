"""A Redis XCom backend on redis-py, as the "XComs in Redis" posts write it: a value whose serialized form
is longer than 1000 characters is SET under xcom:<dag_id>:<run_id>:<task_id>:<map_index>:<key> in Redis db 1
and the row keeps "redis-xcom:" + that key; purge() deletes the key with its row.

Flaw on purpose: it hands Airflow's own BaseXCom.serialize_value(value) straight to r.set(). On Airflow 2.x
that is JSON bytes and all is well; on Airflow 3 it is a JSON-able object (a dict for a dict), and every
offloaded push fails with redis-py's "DataError: Invalid input of type: 'dict'. Convert to a bytes, string,
int or float first."
"""

from types import SimpleNamespace

import redis

try:  # Airflow 3
    from airflow.sdk.bases.xcom import BaseXCom
except ImportError:  # Airflow 2.x
    from airflow.models.xcom import BaseXCom

PREFIX = "redis-xcom:"
ESCAPED = "redis-xcom-str:"  # a pushed string that looks like a reference is stored with this in front
MAX_INLINE_SIZE = 1000

r = redis.Redis(host="redis", port=6379, db=1)


class RedisXComBackend(BaseXCom):
    @staticmethod
    def serialize_value(value, *, key=None, task_id=None, dag_id=None, run_id=None, map_index=None, **kwargs):
        serialized = BaseXCom.serialize_value(value)
        if len(str(serialized)) <= MAX_INLINE_SIZE:
            if isinstance(value, str) and value.startswith((PREFIX, ESCAPED)):
                return BaseXCom.serialize_value(ESCAPED + value)
            return serialized
        redis_key = f"xcom:{dag_id}:{run_id}:{task_id}:{map_index}:{key}"
        r.set(redis_key, serialized)
        return BaseXCom.serialize_value(PREFIX + redis_key)

    @staticmethod
    def deserialize_value(result):
        value = BaseXCom.deserialize_value(result)
        if isinstance(value, str) and value.startswith(ESCAPED):
            return value[len(ESCAPED):]
        if isinstance(value, str) and value.startswith(PREFIX):
            redis_key = value[len(PREFIX):]
            data = r.get(redis_key)
            if data is None:
                raise KeyError(f"XCom value {redis_key!r} is no longer in Redis (db 1)")
            return BaseXCom.deserialize_value(SimpleNamespace(value=data))
        return value

    @staticmethod
    def purge(xcom, *args, **kwargs):
        value = xcom.value
        if isinstance(value, str) and value.startswith(PREFIX):
            r.delete(value[len(PREFIX):])
