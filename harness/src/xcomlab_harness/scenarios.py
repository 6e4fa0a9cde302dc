"""The scenarios `make check` runs against a backend, as data (SCENARIOS: id, what each needs, how it runs), each
ending pass / fail / n/a with one line of evidence and, for a failure that matches a known pattern, a fix line
(xcomlab_harness.fixes).

Each DAG scenario runs a DAG from dags/ (xcomlab_harness.dag_runs) and judges what the observer saw in the stores;
none knows the backend's layout. They run one after the other, so everything that appears during one belongs to it.
`loads` and `mwaa-placement` need no DAG: their code is in xcomlab_harness.loading.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone

from xcomlab_harness import loading
from xcomlab_harness.airflow_api import TaskEnded
from xcomlab_harness.dag_runs import (
    Context,
    DagRun,
    db_clean_xcoms,
    decoded_row,
    error_line,
    failure,
    inline_note,
    log_record,
    observed,
    recipe_label,
    rows_of,
    run_dag,
    unless_unexercised,
    where,
    written,
)
from xcomlab_harness.fixes import fix_for, fix_line
from xcomlab_harness.observer import FILE_LEFT, Change, is_file, names
from xcomlab_harness.probes import Item
from xcomlab_harness.sniff import is_pickle
from xcomlab_harness.stack.project import runs_celery
from xcomlab_harness.verdict import (
    FAIL,
    NOT_APPLICABLE,
    NOT_EXERCISED,
    PASS,
    Detail,
    ScenarioResult,
)

OBJECT_STORES = ("s3://", "gs://", "abfs://")  # stores with buckets (Redis and files have no "root")
BIG_BYTES = 64 * 1024 * 1024  # dags/xcom_check_big.py's value, as JSON


# --- the scenarios -----------------------------------------------------------------------------------

def toy(ctx: Context) -> ScenarioResult:
    """The tutorial's DAG: push a small and a big dict, pull both back."""
    run = run_dag(ctx, "toy", "xcom_push_pull")
    if bad := failure(ctx, run):
        return bad
    rows = {row[4]: row for row in rows_of(ctx, run, "push_objects")}
    big = rows.get("big_obj")
    objects = run.change.objects_of(big) if big else []
    if objects:
        ctx.reference = decoded_row(ctx.state.rows[big])
    at_root = [item for item in objects if item.store.startswith(OBJECT_STORES) and "/" not in item.key]
    evidence = "; ".join(f"{key} → {where(run.change, row)}" for key, row in sorted(rows.items()))
    if at_root:
        return ctx.result(FAIL, f"big_obj landed at the bucket root: {at_root[0]}", fix_line("bucket-root"))
    return ctx.result(PASS, f"both came back equal; {evidence}")


def threshold(ctx: Context) -> ScenarioResult:
    """Strings of 10 B to 1 MB: where does the backend draw the line, and is it one line?"""
    run = run_dag(ctx, "threshold", "xcom_check_threshold")
    if bad := failure(ctx, run):
        return bad
    landed = {int(row[4].removeprefix("size_")): bool(run.change.objects_of(row)) for row in rows_of(ctx, run, "push")}
    inline = sorted(size for size, offloaded in landed.items() if not offloaded)
    offloaded = sorted(size for size, off in landed.items() if off)
    if not offloaded:
        return ctx.result(PASS, f"every value stayed in the metadata DB row, up to {max(inline):,} bytes")
    if not inline:
        return ctx.result(PASS, f"every value was offloaded, from {min(offloaded):,} bytes up")
    if max(inline) < min(offloaded):
        return ctx.result(PASS, f"inline up to {max(inline):,} bytes, offloaded from {min(offloaded):,} bytes")
    return ctx.result(FAIL, f"no single threshold: inline {inline}, offloaded {offloaded} (JSON bytes)")


def types(ctx: Context) -> ScenarioResult:
    """Each type pushed and pulled on its own: one that fails hides no other."""
    run = run_dag(ctx, "types", "xcom_check_types")
    pushed, pulled = logged_outcomes(ctx, run, "xcom-lab-types")
    if not pushed:
        return failure(ctx, run) or ctx.result(FAIL, "the types DAG logged no outcome")
    details = [item_outcome(key, outcome, pulled.get(key, "not pulled")) for key, outcome in pushed.items()]
    for detail in details:
        if detail.evidence.startswith("pull failed"):
            detail.evidence += inline_note(ctx, run, detail.evidence, {detail.item})
    bad = [d for d in details if d.status == FAIL]
    big = next((row for row in rows_of(ctx, run, "push") if row[4] == "big"), None)
    if bad:
        evidence = f"{len(bad)} of {len(details)} types failed: " + "; ".join(f"{d.item}: {d.evidence}" for d in bad[:3])
        outcome = ctx.result(FAIL, evidence, fix_for(bad[0].evidence, written(ctx)))
    else:
        own = (log_record(ctx, run.dag_id, run.run_id, "pull", "xcom-lab-baseline") or {}).get("airflow_own_changes")
        note = f" (Airflow's own backend changes some itself: {own[0]})" if own else ""
        outcome = ctx.result(PASS, f"{len(details)} types came back equal and type-exact, alone and inside one big value "
                               f"({where(run.change, big) if big else 'no row'}), as Airflow's own backend returns them{note}")
    outcome.details = details
    return outcome


def logged_outcomes(ctx: Context, run: DagRun, marker: str) -> tuple[dict[str, str], dict[str, str]]:
    """(item -> push outcome, item -> pull outcome) as the DAG's push and pull tasks logged them (xcom_lab_shapes.each)."""
    return tuple((log_record(ctx, run.dag_id, run.run_id, task, marker) or {}).get("outcomes") or {}
                 for task in ("push", "pull"))


def item_outcome(item: str, pushed: str, pulled: str) -> Detail:
    if pushed != "ok":
        return Detail(item, FAIL, pushed)
    return Detail(item, PASS, "came back equal") if pulled == "ok" else Detail(item, FAIL, pulled)


def shapes(ctx: Context) -> ScenarioResult:
    """What makes this backend offload: every shape and key name of dags/xcom_lab_shapes.py, each on its own.
    The first that offloads (and comes back) is what the store scenarios after this one push."""
    run = run_dag(ctx, "shapes", "xcom_check_shapes")
    pushed, pulled = logged_outcomes(ctx, run, "xcom-lab-shapes")
    if not pushed:
        return failure(ctx, run) or ctx.result(FAIL, "the shapes DAG logged no outcome")
    rows = {row[4]: row for row in rows_of(ctx, run, "push")}
    details, offloading = [], []
    for key, outcome in pushed.items():
        detail = item_outcome(key, outcome, pulled.get(key, "not pulled"))
        objects = run.change.objects_of(rows[key]) if key in rows else []
        if objects and outcome == "ok":
            offloading.append((detail.status == PASS, key))
            ctx.reference = ctx.reference or decoded_row(ctx.state.rows[rows[key]])
        detail.evidence = f"{'offloaded' if objects else 'in the row'}; {detail.evidence}"
        details.append(detail)
    if offloading:
        key = sorted(offloading, key=lambda found: not found[0])[0][1]  # the first that also came back
        ctx.recipe = {"shape": key.removeprefix("shape_")} if key.startswith("shape_") else {"shape": "small", "key": key}
        ctx.offloads = True
        ctx.verdict.offload = (f"offloads {', '.join(k for _, k in offloading)}; the store scenarios push "
                               f"{recipe_label(ctx.recipe)}")
    bad = [d for d in details if d.status == FAIL]
    if bad:
        outcome = ctx.result(FAIL, f"{len(bad)} of {len(details)} shapes failed: "
                               + "; ".join(f"{d.item}: {d.evidence}" for d in bad[:3]),
                         fix_for(bad[0].evidence, written(ctx)))
    else:
        ctx.verdict.offload = ctx.verdict.offload or (f"offloads nothing: all {len(details)} shapes and key names "
                                                      "stayed in the metadata DB row")
        outcome = ctx.result(PASS, ctx.verdict.offload)
    outcome.details = details
    return outcome


def reference_lookalike(ctx: Context) -> ScenarioResult:
    """Push, as a plain value, exactly what this backend keeps in a row for an offloaded value."""
    reference = ctx.reference
    if reference is None:
        return ctx.result(NOT_EXERCISED, "no row held a reference (nothing was offloaded in toy or shapes): "
                                     "nothing to imitate")
    run = run_dag(ctx, "reference-lookalike", "xcom_check_lookalike", conf={"value": reference})
    if bad := failure(ctx, run):
        return bad
    return ctx.result(PASS, f"a pushed {type(reference).__name__} equal to a real reference ({str(reference)[:80]}) came back as itself")


def dataframe(ctx: Context) -> ScenarioResult:
    run = run_dag(ctx, "dataframe", "xcom_dataframe")
    if bad := failure(ctx, run):
        return bad
    extract = next(iter(rows_of(ctx, run, "extract")), None)
    return ctx.result(PASS, "values, index, categorical and tz-aware dtypes came back exactly; "
                        f"the DataFrame → {where(run.change, extract) if extract else 'no row'}")


def big(ctx: Context) -> ScenarioResult:
    """64 MB: it must complete; time and peak RSS beside a raw put/get of the same bytes on the same store."""
    run = run_dag(ctx, "big", "xcom_check_big", conf=ctx.recipe, timeout=600)
    if bad := failure(ctx, run):
        return bad
    push = log_record(ctx, run.dag_id, run.run_id, "push", "xcom-lab-metrics") or {}
    pull = log_record(ctx, run.dag_id, run.run_id, "pull", "xcom-lab-metrics") or {}
    row = next(iter(rows_of(ctx, run, "push")))
    objects = run.change.objects_of(row)
    figures = (f"push {push.get('seconds', '?')} s, pull {pull.get('seconds', '?')} s; peak RSS push "
               f"{mib(push.get('peak_rss_bytes'))} (idle {mib(push.get('idle_rss_bytes'))}), pull {mib(pull.get('peak_rss_bytes'))}")
    raw = raw_round_trip(ctx, objects[0]) if objects else None
    if raw:
        figures += (f"; raw put {raw[0]:.2f} s, get {raw[1]:.2f} s "
                    f"({(push.get('seconds', 0) + pull.get('seconds', 0)) / max(sum(raw), 1e-6):.1f}× the raw round trip)")
    return unless_unexercised(ctx, ctx.result(PASS, f"64 MiB of {recipe_label(ctx.recipe)} came back equal → "
                                                f"{where(run.change, row)}; {figures}"), run.change)


def mib(value) -> str:
    return f"{value / 2**20:.0f} MiB" if isinstance(value, (int, float)) else "?"


def raw_round_trip(ctx: Context, item: Item) -> tuple[float, float] | None:
    """The store's physical limit: the same bytes put and got with its own client, from the host."""
    probe = ctx.observer.probe_of(item)
    if not hasattr(probe, "put"):
        return None
    data = b'"' + b"x" * (BIG_BYTES - 2) + b'"'
    scratch = Item(item.store, f"xcom-lab-raw-{uuid.uuid4()}")
    started = time.monotonic()
    probe.put(scratch, data)
    put = time.monotonic() - started
    started = time.monotonic()
    probe.get(scratch)
    got = time.monotonic() - started
    probe.delete(scratch)
    return put, got


def mapped(ctx: Context) -> ScenarioResult:
    run = run_dag(ctx, "mapped", "xcom_check_mapped", conf=ctx.recipe)
    if bad := failure(ctx, run):
        return bad
    rows = rows_of(ctx, run, "produce")
    objects = {item for row in rows for item in run.change.objects_of(row)}
    if objects and len(objects) < len(rows):
        return ctx.result(FAIL, f"{len(rows)} mapped XComs share {len(objects)} objects: map_index is not in the key")
    return unless_unexercised(ctx, ctx.result(PASS, f"{len(rows)} mapped values came back, each its own "
                                                f"({len(objects)} objects)"), run.change)


def retry(ctx: Context) -> ScenarioResult:
    """A task that pushes two XComs on each of three tries (two fail)."""
    run = run_dag(ctx, "retry", "xcom_retry", conf=ctx.recipe)
    ctx.retry_run = run.run_id
    if bad := failure(ctx, run):
        return bad
    return unless_unexercised(ctx, orphans_verdict(ctx, run.change, "a task that failed twice, then succeeded"), run.change)


def orphans_verdict(ctx: Context, change: Change, what: str) -> ScenarioResult:
    linked = sum(1 for item in change.new_objects if change.linked.get(item))
    if change.leaks:
        return ctx.result(FAIL, f"{what} left {len(change.leaks)} orphaned object(s) no row names, e.g. {change.leaks[0]}",
                      fix_line("purge"))
    return ctx.result(PASS, f"{what}: {linked} object(s), each named by a row; 0 orphans")


def clear(ctx: Context) -> ScenarioResult:
    """Push and pull one value, clear the push task (the UI's Clear), let it run again."""
    ids = {}
    dag_id = "xcom_check_roundtrip"

    def run_then_clear():
        ctx.api.wait_for_dag(dag_id)
        ids["run_id"] = ctx.api.trigger(dag_id, ctx.recipe)
        ids["state"] = ctx.api.wait_for_end(dag_id, ids["run_id"])
        if ids["state"] == "success":
            ctx.api.clear_task(dag_id, ids["run_id"], "push")  # the run is queued again before it answers
            ids["state"] = ctx.api.wait_for_end(dag_id, ids["run_id"])

    change = observed(ctx, "clear", run_then_clear)
    ctx.cleared_run = ids["run_id"]
    if bad := failure(ctx, DagRun(dag_id, ids["run_id"], ids["state"], change)):
        return bad
    return unless_unexercised(ctx, orphans_verdict(ctx, change, "a cleared and re-run push task"), change)


def missing_object(ctx: Context) -> ScenarioResult:
    """Delete the object behind Airflow's back, then pull: a clear failure is right."""
    dag_id, ids, gone = "xcom_check_missing", {}, []

    def push_lose_pull():
        before = ctx.state or ctx.observer.snapshot()
        ctx.api.wait_for_dag(dag_id)
        ids["run_id"] = run_id = ctx.api.trigger(dag_id, ctx.recipe)
        try:
            ctx.api.wait_for_task_state(dag_id, run_id, "push", "success")
        except TaskEnded:  # the push failed: nothing to lose, and the run ends with it
            ids["state"] = ctx.api.wait_for_end(dag_id, run_id)
            return
        now = ctx.observer.snapshot()
        row = next((r for r in now.rows if r[:3] == (dag_id, run_id, "push")), None)
        change = ctx.observer.diff(before, now)
        gone.extend(change.objects_of(row) if row else [])
        for item in gone:
            ctx.observer.delete(item)
        ctx.api.set_variable(f"xcom_check_missing_{run_id}", "go")
        ids["state"] = ctx.api.wait_for_end(dag_id, run_id)
        ctx.api.delete_variable(f"xcom_check_missing_{run_id}")

    change = observed(ctx, "missing-object", push_lose_pull)
    run_id = ids["run_id"]
    if not gone:
        if bad := failure(ctx, DagRun(dag_id, run_id, ids["state"], change)):
            return bad
        return ctx.result(NOT_EXERCISED, f"{recipe_label(ctx.recipe)} stayed in the metadata DB row: no object to lose")
    states = ctx.api.task_states(dag_id, run_id)
    if states.get("pull") == "failed":
        task = next(t for t in ctx.api.task_instances(dag_id, run_id) if t["task_id"] == "pull")
        error = error_line(ctx.api.task_log(dag_id, run_id, task, lines=200)) or "no exception logged"
        named = "names the XCom" if "lost" in error else "does not name the XCom 'lost'"
        return ctx.result(PASS, f"the pull failed after {gone[0]} was deleted; its error {named}: {error}")
    pulled = log_record(ctx, dag_id, run_id, "pull", "xcom-lab-pulled") or {}
    if pulled.get("equal"):
        return ctx.result(NOT_APPLICABLE, f"the pull still returned the value after {gone[0]} was deleted (a cache or a copy?)")
    got = "returned None" if pulled.get("type") == "NoneType" else (
        "returned the reference" if pulled.get("type") == "str" else f"returned a {pulled.get('kind') or pulled.get('type')}")
    return ctx.result(FAIL, f"after {gone[0]} was deleted the pull {got} ({pulled.get('repr', '')[:100]}) instead of failing",
                  fix_for("returned None" if got.startswith("returned a") else got))


def pickle(ctx: Context) -> ScenarioResult:
    """Every payload the other scenarios wrote, sniffed: pickle runs code when loaded."""
    formats = [(x.store, x.key, x.format) for x in ctx.verdict.landings + ctx.verdict.leftovers]
    pickled = [f"{store}/{key}" for store, key, fmt in formats if is_pickle(fmt)]
    if pickled:
        return ctx.result(FAIL, f"payload format pickle in {len(pickled)} of {len(formats)} payloads, e.g. {pickled[0]}",
                      fix_line("pickle"))
    if not formats:
        return ctx.result(NOT_EXERCISED, "no payload was written by any scenario: nothing to sniff")
    counts = Counter(fmt for _, _, fmt in formats)
    return ctx.result(PASS, f"{len(formats)} payloads, none pickled: " + ", ".join(f"{f} ×{n}" for f, n in counts.most_common()))


def celery(ctx: Context) -> ScenarioResult:
    if not runs_celery(ctx.settings):
        return ctx.result(NOT_APPLICABLE, "run with PROFILE=celery to push on worker A and pull on worker B")
    run = run_dag(ctx, "celery", "xcom_celery_handoff")
    if bad := failure(ctx, run):
        return bad
    hosts = {t["task_id"]: t["hostname"] for t in ctx.api.task_instances(run.dag_id, run.run_id)}
    return ctx.result(PASS, f"pushed on {hosts.get('produce')}, pulled on {hosts.get('consume')}: equal")


def delete(ctx: Context) -> ScenarioResult:
    """What deleting XComs leaves: a task-side delete must purge; Airflow's REST/UI delete, DAG-run delete and
    `airflow db clean` never call purge, so whatever their rows named stays (reported, not failed)."""
    purge = run_dag(ctx, "delete", "xcom_purge", conf=ctx.recipe)
    if bad := failure(ctx, purge):
        return bad
    parts = []
    left = len(purge.change.leaks)
    parts.append(f"task-side delete (XCom.{'delete' if ctx.major >= 3 else 'clear'}): {left} object(s) left")
    cleared, key = ctx.cleared_run, ctx.recipe.get("key") or "value"
    if ctx.major >= 3 and cleared:
        parts.append("REST/UI delete: " + left_after(ctx, lambda: ctx.api.delete_xcom_entry(
            "xcom_check_roundtrip", cleared, "push", key),
            lambda r: r[:3] == ("xcom_check_roundtrip", cleared, "push") and r[4] == key))
    if ctx.retry_run:
        parts.append("DAG-run delete: " + left_after(ctx, lambda: ctx.api.delete_run("xcom_retry", ctx.retry_run),
                                                     lambda r: r[:2] == ("xcom_retry", ctx.retry_run)))
    parts.append("airflow db clean: " + left_after(ctx, lambda: db_clean(ctx), lambda r: True))
    evidence = "; ".join(parts) + " (Airflow never calls purge for the last ones: `make doctor` finds such orphans)"
    if left:
        return ctx.result(FAIL, evidence, fix_line("purge"))
    return unless_unexercised(ctx, ctx.result(PASS, evidence), purge.change, gone=True)


def left_after(ctx: Context, action, selects) -> str:
    """How many objects the selected rows named are still there after the action."""
    named = objects_named(ctx, selects)
    action()
    ctx.state = ctx.observer.snapshot()
    remaining = [item for item in named if item in ctx.state.objects]
    return f"{len(remaining)} of {len(named)} object(s) left"


def objects_named(ctx: Context, selects) -> set[Item]:
    rows = [stored.head for row, stored in ctx.state.rows.items() if selects(row)]
    stores = Change(file_stores=ctx.observer.file_stores)
    return {item for item in ctx.state.objects if (not is_file(item) or stores.in_file_store(item))
            and any(names(head, item) for head in rows)}


def db_clean(ctx: Context) -> None:
    """`airflow db clean` of the xcom table, as a retention job runs it (every row older than now)."""
    db_clean_xcoms(ctx.compose_env, datetime.now(timezone.utc).isoformat())


def leftovers_scenario(ctx: Context) -> ScenarioResult:
    """Files left in the task containers, and objects no row names from scenarios that judge no orphans."""
    own = {"retry", "clear", "missing-object", "delete"}
    files = [x for x in ctx.verdict.leftovers if x.why == FILE_LEFT]
    leaks = [x for x in ctx.verdict.leftovers if x.why != FILE_LEFT and x.scenario not in own]
    if files:
        places = Counter(("/tmp" if x.key.startswith("/tmp/") else "/home/airflow" if x.key.startswith("/home/")
                          else "the working directory") for x in files)
        examples = ", ".join(dict.fromkeys(x.key for x in files[:3]))
        evidence = f"left files in {', '.join(f'{p} ({n})' for p, n in places.items())}: {examples}"
        return ctx.result(FAIL, evidence + (f"; and {len(leaks)} object(s) no row names" if leaks else ""), fix_for(evidence))
    if leaks:
        return ctx.result(FAIL, f"{len(leaks)} object(s) no row names, e.g. {leaks[0].store}/{leaks[0].key} "
                            f"({leaks[0].why}, during {leaks[0].scenario})", fix_line("purge"))
    return ctx.result(PASS, "no files left in the task containers' working directory, /tmp or home; no stray objects")


@dataclass(frozen=True)
class Scenario:
    id: str
    needs: frozenset[str]  # of NEEDS
    run: Callable[[Context], ScenarioResult] | None  # None: loads, judged while the stack starts (check.py)


NEEDS = {
    "stack": "runs DAGs on the running stack, one scenario at a time (without it: beside them)",
    "push": "pushes XComs: blocked, not run, once every push fails alike",
    "probe": "a push probe: when each probe fails at its push alike, every push fails",
    "recipe": "pushes the shape `shapes` found this backend offloads: selecting it selects shapes",
    "others": "judges what the scenarios before it wrote: a fix-forward layer re-runs it",
}


def _needs(*names: str) -> frozenset[str]:
    return frozenset(names)


PUSHES = _needs("stack", "push")
PUSHES_THE_RECIPE = _needs("stack", "push", "recipe")
# The order they run in: loads first; shapes finds what the store scenarios after it push; reference-lookalike
# needs toy's (or shapes') reference; pickle and leftovers judge what all others wrote; delete goes last but one,
# since `airflow db clean` empties the xcom table; mwaa-placement touches no store and runs beside the others.
SCENARIOS = (
    Scenario("loads", _needs(), None),
    Scenario("toy", PUSHES | {"probe"}, toy),
    Scenario("threshold", PUSHES | {"probe"}, threshold),
    Scenario("types", PUSHES, types),
    Scenario("shapes", PUSHES, shapes),
    Scenario("reference-lookalike", PUSHES_THE_RECIPE, reference_lookalike),
    Scenario("dataframe", PUSHES, dataframe),
    Scenario("big", PUSHES_THE_RECIPE, big),
    Scenario("mapped", PUSHES_THE_RECIPE, mapped),
    Scenario("retry", PUSHES_THE_RECIPE, retry),
    Scenario("clear", PUSHES_THE_RECIPE, clear),
    Scenario("missing-object", PUSHES_THE_RECIPE, missing_object),
    Scenario("celery", _needs("stack"), celery),  # judged on workers A and B: runs even when pushes fail
    Scenario("pickle", _needs("stack", "others"), pickle),
    Scenario("delete", PUSHES_THE_RECIPE, delete),
    Scenario("leftovers", _needs("stack", "others"), leftovers_scenario),
    Scenario("mwaa-placement", _needs(), lambda ctx: loading.mwaa_placement(ctx.settings, ctx.compose_env)),
)


def ids() -> tuple[str, ...]:
    return tuple(s.id for s in SCENARIOS)


def by_id(scenario_id: str) -> Scenario:
    return next(s for s in SCENARIOS if s.id == scenario_id)


def having(need: str) -> tuple[str, ...]:
    """The ids of the scenarios that need `need`, in the order they run."""
    return tuple(s.id for s in SCENARIOS if need in s.needs)
