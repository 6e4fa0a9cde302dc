"""`make bench`: the xcom_cleanup DAG on 10,000 old XComs spread over four stores (needs `make up`).

Seeds the XComs (bench/seed_xcoms.py, in the scheduler container), triggers xcom_cleanup with
age_days=5, checks that none of them is left (rows or objects, via `make doctor`'s audit) and writes
reports/bench-cleanup.md. Not a test: the times depend on the machine.
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
from xcomlab_harness.airflow_api import AirflowAPI  # noqa: E402
from xcomlab_harness.probes.metadata import MetadataDB  # noqa: E402
from xcomlab_harness.stack import project  # noqa: E402
from xcomlab_harness.stack.compose import compose  # noqa: E402
from xcomlab_harness.stack.settings import load_settings  # noqa: E402
from xcomlab_harness.stack.state import offline_from_state  # noqa: E402

COUNT = int(os.environ.get("BENCH_XCOMS", "10000"))
SOURCE, CLEANUP = "xcom_lifecycle", "xcom_cleanup"


def seconds(task: dict) -> float:
    return (datetime.fromisoformat(task["end_date"]) - datetime.fromisoformat(task["start_date"])).total_seconds()


def main() -> None:
    settings = load_settings()
    env = project.compose_env(settings, offline_from_state(settings))
    api = AirflowAPI.of_sandbox(settings)
    db = MetadataDB(settings)
    for dag_id in (SOURCE, CLEANUP):
        api.wait_for_dag(dag_id)
    run_id = api.trigger(SOURCE)
    api.wait_for_run(SOURCE, run_id)
    with open(ROOT / "bench/seed_xcoms.py") as script:
        seeded = compose(env, "exec", "-T", "airflow-scheduler", "python", "-", SOURCE, run_id, "produce",
                                 str(COUNT), stdin=script, capture_output=True, text=True)
    seed = json.loads(seeded.stdout.strip().splitlines()[-1])

    start = time.monotonic()
    cleanup_run = api.trigger(CLEANUP, {"age_days": 5})
    api.wait_for_run(CLEANUP, cleanup_run, timeout=1800)
    wall = time.monotonic() - start
    tasks = {t["task_id"]: seconds(t) for t in api.task_instances(CLEANUP, cleanup_run)}
    left = sum(1 for key in db.xcom_values(SOURCE, run_id, "produce") if key.startswith("bench_"))
    audit = json.loads(compose(env, "exec", "-T", "airflow-scheduler", "python", "-m", "xcomlab.doctor",
                                       "--json", check=False, capture_output=True, text=True).stdout)
    orphans = sum(1 for store in audit["stores"].values() for o in store["orphans"] if f"/{run_id}/" in o["url"])
    report = db.xcom_values(CLEANUP, cleanup_run, "delete_old_xcoms").get("return_value")
    lines = [
        f"# Cleanup at scale: Airflow {settings['AIRFLOW_VERSION']}, BACKEND={settings['BACKEND']}", "",
        f"- Seeded {seed['xcoms']:,} XComs of {len(json.dumps({'pad': 'x' * 1200}))} bytes over {seed['stores']} stores "
        f"(provider S3, xcomlab Azure, Redis, localfs) in {seed['seconds']} s, rows dated 10 days back.",
        f"- xcom_cleanup (age_days=5): delete_old_xcoms {tasks['delete_old_xcoms']:.1f} s "
        f"({COUNT / tasks['delete_old_xcoms']:,.0f} XComs/s), delete_orphans {tasks['delete_orphans']:.1f} s; "
        f"trigger to end {wall:.1f} s.",
        f"- Left afterwards: {left} rows, {orphans} orphans of the seeded run.", "",
        "delete_old_xcoms reported:", "", "```", json.dumps(report, indent=2), "```",
    ]
    (ROOT / "reports").mkdir(exist_ok=True)
    (ROOT / "reports/bench-cleanup.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    if left or orphans:
        sys.exit(f"the cleanup left {left} rows and {orphans} orphans of the {COUNT:,} seeded XComs")


if __name__ == "__main__":
    main()
