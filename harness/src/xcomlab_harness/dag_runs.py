"""Running a DAG of dags/ and seeing what it did: the toolkit `make check`'s scenarios (xcomlab_harness.scenarios),
the MWAA smoke and the e2e use. A run is observed from outside Airflow: the stores snapshotted before and after,
the difference recorded as landings and leftovers of the scenario running."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from xcomlab_harness.airflow_api import AirflowAPI
from xcomlab_harness.fixes import INLINE_NOT_FOUND, NOT_FOUND, fix_for
from xcomlab_harness.observer import Change, Observer, State, landings, leftovers
from xcomlab_harness.probes import BUCKET_KEY
from xcomlab_harness.stack.compose import compose
from xcomlab_harness.stack.settings import airflow_major
from xcomlab_harness.verdict import FAIL, NOT_EXERCISED, PASS, ScenarioResult, Verdict


@dataclass
class Context:
    api: AirflowAPI
    observer: Observer
    verdict: Verdict
    settings: dict[str, str]
    compose_env: dict[str, str]
    state: State | None = None  # the stores as the previous scenario left them
    scenario: str = ""  # the scenario running (one at a time): the id its results are born with
    reference: object | None = None  # a reference the backend wrote (toy's or shapes'): reference-lookalike pushes it
    retry_run: str | None = None  # retry's run, and clear's: delete removes them
    cleared_run: str | None = None
    # The run conf of the store scenarios: the shape (and key) that made this backend offload in `shapes`.
    recipe: dict = field(default_factory=lambda: {"shape": "dict"})
    offloads: bool = False  # shapes saw the recipe offload

    @property
    def major(self) -> int:
        return airflow_major(self.settings)

    def result(self, status: str, evidence: str, fix: str = "") -> ScenarioResult:
        return ScenarioResult(self.scenario, status, evidence, fix)


@dataclass
class DagRun:
    dag_id: str
    run_id: str
    state: str
    change: Change


def observed(ctx: Context, scenario: str, action) -> Change:
    """Snapshot, act, snapshot: what the action changed, recorded as landings and leftovers."""
    before = ctx.state or ctx.observer.snapshot()
    action()
    ctx.state = ctx.observer.snapshot()
    change = ctx.observer.diff(before, ctx.state)
    ctx.verdict.landings += landings(change, scenario)
    ctx.verdict.leftovers += leftovers(change, scenario)
    return change


def run_dag(ctx: Context, scenario: str, dag_id: str, conf: dict | None = None, timeout: float = 300) -> DagRun:
    ids = {}

    def trigger_and_wait():
        ctx.api.wait_for_dag(dag_id)
        ids["run_id"] = ctx.api.trigger(dag_id, conf)
        ids["state"] = ctx.api.wait_for_end(dag_id, ids["run_id"], timeout)

    change = observed(ctx, scenario, trigger_and_wait)
    return DagRun(dag_id, ids["run_id"], ids["state"], change)


def failure(ctx: Context, run: DagRun) -> ScenarioResult | None:
    """A failed run as a result: which task failed and the exception it logged."""
    if run.state == "success":
        return None
    failed = [t for t in ctx.api.task_instances(run.dag_id, run.run_id) if t["state"] == "failed"]
    if not failed:
        return ScenarioResult(ctx.scenario, FAIL, f"{run.dag_id} ended {run.state} with no failed task")
    task = failed[0]
    error = error_line(ctx.api.task_log(run.dag_id, run.run_id, task, lines=200)) or "no exception in its log"
    index = f"[{task['map_index']}]" if task.get("map_index", -1) >= 0 else ""
    error += inline_note(ctx, run, error) if not task["task_id"].startswith("push") else ""
    return ScenarioResult(ctx.scenario, FAIL, f"{task['task_id']}{index} failed: {error}", fix_for(error, written(ctx)))


def inline_note(ctx: Context, run: DagRun, error: str, keys: set[str] | None = None) -> str:
    """A pull that found no object, where the pulled strings never left their rows: the backend fetched an
    object for a plain value. Said outright, since the store's 404 rarely names what was asked for."""
    if not NOT_FOUND.search(error) or ctx.state is None:
        return ""
    inline = [decoded_row(stored) for row, stored in rows_of(ctx, run).items()
              if (keys is None or row[4] in keys) and not run.change.objects_of(row)]
    strings = [value for value in inline if isinstance(value, str)]
    if not strings:
        return ""
    return f" (the pulled values include strings kept inline in their rows, e.g. {strings[0][:40]!r}: {INLINE_NOT_FOUND})"


def written(ctx: Context) -> set[str]:
    """The object keys this backend wrote so far (fix lines tell its own keys from names it never wrote)."""
    return {landing.key for landing in ctx.verdict.landings if landing.store != "metadata DB"}


def exercised(change: Change) -> bool:
    """Did the run reach the backend's store path: any object or file written, named by a row or not?"""
    return any(item.key != BUCKET_KEY for item in change.new_objects)


def unless_unexercised(ctx: Context, outcome: ScenarioResult, change: Change, gone: bool = False) -> ScenarioResult:
    """A pass proves nothing when no value reached the store: say so instead. gone: the scenario deletes what it
    wrote, so its push counts when shapes saw this very recipe offload."""
    if outcome.status != PASS or exercised(change) or (gone and ctx.offloads):
        return outcome
    return ScenarioResult(outcome.id, NOT_EXERCISED, f"no object was written ({recipe_label(ctx.recipe)} stayed in the metadata DB): "
                                 f"the backend's store path never ran here, so nothing was judged"
                                 + ("; `shapes` found nothing this backend offloads"
                                    if ctx.verdict.offload.startswith("offloads nothing") else ""))


def recipe_label(recipe: dict) -> str:
    return f"a small dict under key {recipe['key']!r}" if recipe.get("key") else f"the {recipe['shape']} shape"


EXCEPTION_LINE = re.compile(r"\s*(?:[a-z_]\w*\.)*[A-Z]\w*: \S")  # botocore.errorfactory.NoSuchKey: An error ...


def error_line(log: str) -> str:
    """The last exception line of a task log (Airflow 3: structured events; 2.x: a traceback), preferring
    classes named *Error/*Exception over other `Name: message` lines."""
    lines = [line.strip() for line in log.splitlines() if EXCEPTION_LINE.match(line)]
    named = [line for line in lines if re.match(r"[\w.]*(Error|Exception|Exit)\b", line)]
    return (named or lines or [""])[-1][:400]


def log_record(ctx: Context, dag_id: str, run_id: str, task_id: str, marker: str) -> dict | None:
    """The JSON a DAG logged after `marker ` (metrics, what a pull returned)."""
    for line in reversed(ctx.api.log_of(dag_id, run_id, task_id).splitlines()):
        if marker in line:
            return json.loads(line.split(marker, 1)[1].strip())
    return None


def rows_of(ctx: Context, run: DagRun, task_id: str | None = None) -> dict[tuple, object]:
    return {row: stored for row, stored in ctx.state.rows.items()
            if row[0] == run.dag_id and row[1] == run.run_id and (task_id is None or row[2] == task_id)}


def where(change: Change, row: tuple) -> str:
    objects = change.objects_of(row)
    if not objects:
        return "the metadata DB row"
    item = objects[0]
    return f"{item}" + (f" (+{len(objects) - 1} more)" if len(objects) > 1 else "") + f" ({change.formats[item]})"


def decoded_row(stored) -> object | None:
    try:
        return json.loads(stored.head)
    except ValueError:
        return None


def db_clean_xcoms(compose_env: dict[str, str], before: str) -> None:
    """`airflow db clean --tables xcom` of every row older than `before` (ISO time), in the scheduler."""
    compose(compose_env, "exec", "-T", "airflow-scheduler", "airflow", "db", "clean", "--tables", "xcom",
                    "--clean-before-timestamp", before, "--skip-archive", "--yes", capture_output=True)
