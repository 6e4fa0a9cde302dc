"""`make mwaa-validate SMOKE=1`: the preflight, then one small and one big XCom pushed and pulled through the
backend MWAA_DIR configures, in MWAA mode against the emulators, and where each landed: a yes/no in ~30 s.

The toy DAG (dags/xcom_push_pull.py: an 11-byte and an 11 kB value) runs with `airflow dags test` in a
throwaway MWAA worker container (options JSON, plugins, startup.sh and requirements applied as MWAA applies
them); only Postgres, Redis and the store emulators need to run. The stores are snapshotted before and
after, so the answer comes from outside Airflow: the row, the object a row names, a bucket the backend
created. Exit 0 only when the preflight passes and both values came back equal, with nothing left behind.
"""

from __future__ import annotations

import os
import re
import sys
import time

from xcomlab_harness.dag_runs import error_line
from xcomlab_harness.fixes import fix_for
from xcomlab_harness.observer import Observer, landings, leftovers
from xcomlab_harness.probes.metadata import MetadataDB
from xcomlab_harness.stack.compose import compose
from xcomlab_harness.stack.console import SandboxError, say
from xcomlab_harness.stack.lifecycle import prepare, stop_other_version
from xcomlab_harness.stack.mwaa_wheels import fetch_mwaa_requirements
from xcomlab_harness.stack.prerequisites import check_docker
from xcomlab_harness.stack.registry import is_offline
from xcomlab_harness.stack.settings import airflow_major, load_settings
from xcomlab_harness.stack.stores import STORES
from xcomlab_harness.stack.throwaway import mwaa_validate

DAG_ID = "xcom_push_pull"
DAG_FOLDER = "/opt/airflow/dags"  # the sandbox's dags/, in every Airflow container; MWAA_DIR/dags stays as it is
TASKS = ("push_objects", "pull_objects")
RUN_ID = re.compile(r"run_id=(\S+?),")  # `DagRun Finished: dag_id=..., run_id=..., ...` (both majors)


def smoke(settings, env: dict[str, str]) -> tuple[bool, list[str]]:
    """(passed, report lines)."""
    served = [store for store in STORES if store.service]  # a volume (localfs) is seen in a running component only
    observer = Observer([store.make_probe(settings, env) for store in served], [], MetadataDB(settings))
    # The observer reads Postgres and the stores before the worker runs (`compose run` would start Postgres and the
    # init one-shots, not the stores): whether the stack is up or not, they start first.
    needed = ["postgres", *(store.service for store in served)]
    up = compose(env, "up", "--detach", "--wait", *needed, check=False, capture_output=True, text=True)
    if up.returncode != 0:
        raise SandboxError(f"the smoke needs {', '.join(needed)} and they did not start "
                                   f"({(up.stderr.strip().splitlines() or ['no output'])[-1][:300]}): `make up` says why")
    before = observer.snapshot()
    flag = "-f" if airflow_major(settings) >= 3 else "-S"
    started = time.monotonic()
    done = compose(env, "run", "--rm", "-T", "-e", f"AIRFLOW__CORE__DAGS_FOLDER={DAG_FOLDER}",
                           "airflow-worker-a", "python", "-m", "xcomlab_tools.mwaa.entrypoint",
                           "dags", "test", DAG_ID, flag, f"{DAG_FOLDER}/{DAG_ID}.py",
                           check=False, capture_output=True, text=True)
    seconds = time.monotonic() - started
    change = observer.diff(before, observer.snapshot())
    output = done.stdout + done.stderr
    runs = RUN_ID.findall(output)
    states = observer.metadata.task_states(DAG_ID, runs[-1]) if runs else {}
    lines = [f"{DAG_ID} in a throwaway MWAA worker ({seconds:.0f} s): "
             + (", ".join(f"{task} {states.get(task, 'not run')}" for task in TASKS) if states
                else f"no run (exit {done.returncode})")]
    for landing in landings(change, "smoke"):
        where = "the metadata DB (its row)" if landing.store == "metadata DB" else f"{landing.store}/{landing.key}"
        lines.append(f"  {landing.xcom.rsplit('/', 1)[-1]}: {where}, {landing.size:,} bytes, {landing.format}")
    left = leftovers(change, "smoke")
    lines += [f"  left behind: {item.store}/{item.key} ({item.why})" for item in left]
    ran = all(states.get(task) == "success" for task in TASKS)
    if not ran:
        error = error_line(output) or (output.strip().splitlines() or [f"exit {done.returncode}"])[-1]
        lines.append(f"  cause: {error}")
        lines += [f"  fix: {fix}"] if (fix := fix_for(error)) else []
    elif created := [item.store for item in left if item.why == "bucket created"]:
        lines.append(f"  cause: the backend created {', '.join(created)}, which did not exist: on AWS that is a bucket "
                     "nobody meant to have (or AccessDenied under MWAA's execution role); fix the bucket in its path")
    elif left:
        lines.append("  cause: the backend leaves objects no XCom row names: storage nobody cleans up")
    return ran and not left, lines


def main() -> int:
    try:
        settings = load_settings(environ={**os.environ, "MWAA": "1"})
        check_docker()
        offline = is_offline(settings)
        env = prepare(settings, offline, takes_over=False)  # throwaway containers: no stack of its own
        fetch_mwaa_requirements(settings, offline)
        preflight = mwaa_validate(env)
        stop_other_version(settings)
        passed, lines = smoke(settings, env)
    except SandboxError as err:
        say(f"error: {err}")
        return 2
    print("\nSmoke: " + ("PASS" if passed else "FAIL"))
    print("\n".join(lines))
    return 0 if passed and preflight == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
