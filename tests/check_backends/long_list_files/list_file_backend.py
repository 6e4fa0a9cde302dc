"""A "file" XCom backend for long lists, as the "keep your metadata DB small" posts write it: a list of more
than 50 items is written with json.dump to /tmp/xcom_files/<dag_id>/<run_id>/<task_id>/<uuid4>.json on the
worker, and the row keeps "xcomfile://" + that path. Everything else stays in the row, through BaseXCom.
(Local files only work while every task runs on one machine, as with the LocalExecutor.)

Flaws on purpose: no purge, so a retry, a clear or a delete leaves the old file behind (the next push writes
a new uuid); and a file that is gone comes back as [] (FileNotFoundError is swallowed), so the downstream
task runs on an empty list instead of failing.
"""

import json
import os
import uuid

try:  # Airflow 3
    from airflow.sdk.bases.xcom import BaseXCom
except ImportError:  # Airflow 2.x
    from airflow.models.xcom import BaseXCom

BASE_DIR = "/tmp/xcom_files"
PREFIX = "xcomfile://"
ESCAPED = "xcomfile-str:"  # a pushed string that looks like a reference is stored with this in front
MAX_INLINE_ITEMS = 50


class ListFileXComBackend(BaseXCom):
    @staticmethod
    def serialize_value(value, *, key=None, task_id=None, dag_id=None, run_id=None, map_index=None, **kwargs):
        if isinstance(value, list) and len(value) > MAX_INLINE_ITEMS:
            folder = os.path.join(BASE_DIR, str(dag_id), str(run_id), str(task_id))
            os.makedirs(folder, exist_ok=True)
            path = os.path.join(folder, f"{uuid.uuid4()}.json")
            with open(path, "w") as f:
                json.dump(value, f, default=str)
            return BaseXCom.serialize_value(PREFIX + path)
        if isinstance(value, str) and value.startswith((PREFIX, ESCAPED)):
            value = ESCAPED + value
        return BaseXCom.serialize_value(value)

    @staticmethod
    def deserialize_value(result):
        value = BaseXCom.deserialize_value(result)
        if isinstance(value, str) and value.startswith(ESCAPED):
            return value[len(ESCAPED):]
        if isinstance(value, str) and value.startswith(PREFIX):
            try:
                with open(value[len(PREFIX):]) as f:
                    return json.load(f)
            except FileNotFoundError:
                return []  # the file was cleaned up: nothing to pass on
        return value

    # No purge(): BaseXCom.purge does nothing, so the files outlive their rows.
