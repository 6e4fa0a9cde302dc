"""A custom XCom backend that keeps values in local files, as tutorials show it: every value is a JSON file
under /tmp/xcom-files/ and the DB row holds its path.

It works wherever all tasks share one machine (LocalExecutor, a laptop). On MWAA every task runs on a Celery
worker of its own, so a task on another worker finds no file: the e2e runs it in MWAA mode to show that.
"""

import json
import re
from pathlib import Path

try:  # Airflow 3
    from airflow.sdk.bases.xcom import BaseXCom
except ImportError:  # Airflow 2.x
    from airflow.models.xcom import BaseXCom

ROOT = Path("/tmp/xcom-files")
REFERENCE = "tmp-xcom://"


class TmpFileXComBackend(BaseXCom):
    @staticmethod
    def serialize_value(value, *, key=None, task_id=None, dag_id=None, run_id=None, map_index=None):
        path = ROOT / re.sub(r"[^\w.-]", "_", f"{dag_id}.{run_id}.{task_id}.{map_index}.{key}.json")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))
        return BaseXCom.serialize_value(REFERENCE + str(path))

    @staticmethod
    def deserialize_value(result):
        reference = BaseXCom.deserialize_value(result)
        if isinstance(reference, str) and reference.startswith(REFERENCE):
            return json.loads(Path(reference[len(REFERENCE):]).read_text())
        return reference
