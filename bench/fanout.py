"""`make bench`: fan-out. 200 mapped tasks × 1 MB (dags/xcom_fanout.py) on xcomlab's object stores and Redis:
the run's wall time, and from outside Airflow that every value landed (one object each) and none was lost
(`collect` pulls all of them back). Switches BACKEND for each, then back. Writes reports/bench-fanout.md.
"""

from __future__ import annotations

import os
import sys
from datetime import datetime

from stack import timed_up as switch  # bench/stack.py: `make up BACKEND=...`
from xcomlab_harness.airflow_api import AirflowAPI
from xcomlab_harness.probes import all_probes
from xcomlab_harness.stack import project
from xcomlab_harness.stack.paths import ROOT
from xcomlab_harness.stack.settings import load_settings
from xcomlab_harness.stack.state import offline_from_state

BACKENDS = ["xcomlab-s3", "xcomlab-gcs", "xcomlab-azure", "redis"]
COUNT, SIZE = int(os.environ.get("FANOUT_COUNT", "200")), 1_000_000
DAG = "xcom_fanout"


def landed(probes: list, run_id: str) -> tuple[int, int]:
    """Objects of this run's produce task in every store, and how many of them hold the whole value."""
    items = {item: meta for probe in probes for item, meta in probe.snapshot().items()
             if f"/{run_id}/produce/" in f"/{item.key}" and "/return_value" in item.key}
    return len(items), sum(1 for meta in items.values() if meta.size >= SIZE)


def run_on(backend: str) -> str:
    switch(backend)
    settings = load_settings()
    api = AirflowAPI.of_sandbox(settings)
    api.wait_for_dag(DAG)
    run_id = api.trigger(DAG, {"count": COUNT, "size": SIZE})
    api.wait_for_run(DAG, run_id, timeout=1800)
    tasks = api.task_instances(DAG, run_id)
    times = [datetime.fromisoformat(t[k]) for t in tasks for k in ("start_date", "end_date")]
    wall = (max(times) - min(times)).total_seconds()
    probes = all_probes(settings, project.compose_env(settings, offline_from_state(settings)), [])
    objects, whole = landed(probes, run_id)
    api.delete_run(DAG, run_id)
    lost = COUNT - whole
    print(f"bench: fan-out on {backend}: {wall:.0f} s, {objects} objects, {lost} lost", file=sys.stderr)
    return f"| {backend} | {COUNT} × {SIZE / 1e6:.0f} MB | {wall:.0f} | {COUNT / wall:.1f} | {objects} | {lost} |"


def main() -> None:
    settings = load_settings()
    before = os.environ.get("BACKEND") or settings["BACKEND"]
    rows = []
    try:
        rows = [run_on(backend) for backend in BACKENDS]
    finally:
        switch(before)
    lines = [f"# Fan-out: {COUNT} mapped tasks × 1 MB (Airflow {settings['AIRFLOW_VERSION']}, LocalExecutor)", "",
             "First task start to last task end; objects counted from outside Airflow; lost = map indexes whose "
             "object is missing or short (`collect` also pulls every value back and fails on any).", "",
             "| backend | values | wall (s) | tasks/s | objects | lost |", "| --- | --- | ---: | ---: | ---: | ---: |",
             *rows]
    ROOT.joinpath("reports").mkdir(exist_ok=True)
    ROOT.joinpath("reports/bench-fanout.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
