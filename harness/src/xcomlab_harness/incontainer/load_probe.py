"""Run inside an Airflow container (`python - < load_probe.py`): resolve [core] xcom_backend the way this
component does at start, and print one JSON line: the class, where it came from, and what is wrong with it.

Standard library, Airflow and the sandbox image's xcomlab only: this file is piped into containers that know
nothing of the harness.
"""

import importlib
import inspect
import json
import sys
import traceback

from xcomlab.compat import AIRFLOW_MAJOR as MAJOR
from xcomlab.compat import XCOM_RESOLVER

KEYWORDS = ("key", "task_id", "dag_id", "run_id", "map_index")


def resolve():
    return importlib.import_module(XCOM_RESOLVER).XCom  # importing it resolves the class, as at start


def keyword_problem(cls) -> str:
    """Airflow 3 calls serialize_value(value, key=..., task_id=..., ...); 2.x adapts to older signatures."""
    if MAJOR < 3:
        return ""
    try:
        inspect.signature(cls.serialize_value).bind("value", **{k: None for k in KEYWORDS})
    except TypeError as err:
        return f"serialize_value{inspect.signature(cls.serialize_value)} cannot take Airflow 3's keywords: {err}"
    return ""


def main() -> dict:
    try:
        cls = resolve()
    except BaseException as err:  # noqa: BLE001 - the point is to report whatever the import raises
        lines = traceback.format_exception(err)
        causes = [line.strip() for line in "".join(lines).splitlines() if line and not line.startswith(" ")]
        return {"loaded": False, "error": causes[-1] if causes else repr(err), "errors": causes[-6:]}
    return {"loaded": True, "class": f"{cls.__module__}.{cls.__qualname__}",
            "file": inspect.getsourcefile(cls) or "", "problem": keyword_problem(cls)}


print("xcom-lab-load-probe " + json.dumps(main()), flush=True)
sys.exit(0)
