"""The scenarios' judgement (xcomlab_harness.scenarios): reading a task log, judging orphans, telling a pass
that never reached the store, saying why a plain value was not found, and building each shape's and type's
outcome from the DAGs' logs. The stores, the xcom table and Airflow's API are small fakes."""

import json
from types import SimpleNamespace

from xcomlab_harness.fixes import INLINE_NOT_FOUND, fix_for
from xcomlab_harness.observer import Change, Observer, State
from xcomlab_harness.probes import BUCKET_KEY, Item, Meta
from xcomlab_harness.probes.metadata import Row
from xcomlab_harness.dag_runs import (Context, DagRun, error_line, exercised, inline_note, recipe_label,
                                      unless_unexercised)
from xcomlab_harness.scenarios import NEEDS, SCENARIOS, by_id, item_outcome, orphans_verdict, pickle, shapes, types
from xcomlab_harness.verdict import FAIL, NOT_EXERCISED, PASS, Detail, ScenarioResult, Verdict

AIRFLOW_3_LOG = """INFO Task started
ERROR Task failed with exception
  TypeError: S3XComBackend.serialize_value() got an unexpected keyword argument 'key'"""
AIRFLOW_2_LOG = """Traceback (most recent call last):
  File "/opt/airflow/plugins/b.py", line 12, in deserialize_value
botocore.errorfactory.NoSuchKey: An error occurred (NoSuchKey) when calling the GetObject operation
[2026-12-03, 08:00:00 UTC] {taskinstance.py:1225} INFO - Marking task as FAILED."""


def test_the_last_exception_line_of_either_majors_log():
    assert error_line(AIRFLOW_3_LOG) == "TypeError: S3XComBackend.serialize_value() got an unexpected keyword argument 'key'"
    assert error_line(AIRFLOW_2_LOG).startswith("botocore.errorfactory.NoSuchKey: An error occurred")
    assert error_line("INFO all fine") == ""


def test_orphans_fail_with_the_purge_fix_and_linked_objects_pass():
    named, orphan = Item("s3://xcom", "xcom/a.json"), Item("s3://xcom", "xcom/b.json")
    change = Change(new_objects={named: Meta(1), orphan: Meta(1)}, linked={named: [("d", "r", "t", -1, "k")]})
    ctx = Context(None, None, None, {}, {}, scenario="retry")
    failed = orphans_verdict(ctx, change, "a retry")
    assert failed.id == "retry"  # born with the scenario's id
    assert failed.status == "fail" and "1 orphaned object(s)" in failed.evidence and "purge()" in failed.fix
    change.linked[orphan] = [("d", "r", "t", -1, "k2")]
    assert orphans_verdict(ctx, change, "a retry").evidence == "a retry: 2 object(s), each named by a row; 0 orphans"


def test_scenarios_that_judge_what_others_wrote_come_after_them():
    order = [s.id for s in SCENARIOS]
    assert order.index("toy") < order.index("reference-lookalike")
    assert order[-3:] == ["delete", "leftovers", "mwaa-placement"] and order.index("pickle") > order.index("missing-object")
    assert order[0] == "loads" and by_id("loads").run is None  # judged while the stack starts, before the others
    judges = [s.id for s in SCENARIOS if "others" in s.needs]
    assert all(order.index(j) > order.index(s.id) for j in judges for s in SCENARIOS if "push" in s.needs and s.id != "delete")


def test_every_scenario_is_one_entry_whose_needs_are_known():
    assert len({s.id for s in SCENARIOS}) == len(SCENARIOS)
    assert all(s.needs <= set(NEEDS) for s in SCENARIOS)
    assert all("stack" in s.needs for s in SCENARIOS if {"push", "recipe", "others", "probe"} & s.needs)


# --- fakes: the stores, the xcom table and Airflow's API, as the scenarios see them ---------------------------

DAG_RUN = "manual__2026-12-05T10:14:03+00:00"


def stored(value) -> Row:
    head = json.dumps(value).encode()
    return Row(head, str(hash(head)), len(head))


class DictProbe:
    """A store holding what the fake DAGs write."""

    def __init__(self):
        self.objects: dict[Item, bytes] = {}

    def snapshot(self):
        return {item: Meta(len(data), str(hash(data))) for item, data in self.objects.items()}

    def read(self, item, limit=None):
        return self.objects[item][:limit]


class XComTable:
    def __init__(self):
        self.rows: dict[tuple, Row] = {}

    def snapshot(self):
        return dict(self.rows)


class FakeAirflow:
    """Runs a DAG by calling dags[dag_id](run_id, conf), which writes to the stores and returns its task logs."""

    def __init__(self, dags):
        self.dags, self.logs, self.triggered = dags, {}, []

    def wait_for_dag(self, dag_id):
        pass

    def trigger(self, dag_id, conf=None):
        self.triggered.append((dag_id, conf))
        self.logs[dag_id] = self.dags[dag_id](DAG_RUN, conf)
        return DAG_RUN

    def wait_for_end(self, dag_id, run_id, timeout=300):
        return "success"

    def log_of(self, dag_id, run_id, task_id):
        return self.logs[dag_id].get(task_id, "")


def context(dags, verdict: Verdict | None = None) -> tuple[Context, DictProbe, XComTable]:
    probe, table = DictProbe(), XComTable()
    observer = Observer([probe], [], table)
    observer._by_store["s3://xcom"] = probe
    verdict = verdict or Verdict("my_xcom.S3XComBackend", "S3XComBackend", "3.3.1")
    built = {dag_id: dag(probe, table) for dag_id, dag in dags.items()}
    return Context(FakeAirflow(built), observer, verdict, {}, {}), probe, table


def backend(probe: DictProbe, table: XComTable, dag_id: str, task_id: str, key: str, value, offload: bool) -> None:
    """What an S3 backend does with one push: the value into an object and its URL into the row, or the row."""
    row = (dag_id, DAG_RUN, task_id, -1, key)
    if not offload:
        table.rows[row] = stored(value)
        return
    item = Item("s3://xcom", f"xcom/{dag_id}/{DAG_RUN}/{task_id}/{key}.json")
    probe.objects[item] = json.dumps(value).encode()
    table.rows[row] = stored(f"s3://aws_default@xcom/{item.key}")


def logged(marker: str, pushed: dict, pulled: dict, *extra: str) -> dict[str, str]:
    return {"push": f"INFO {marker} " + json.dumps({"phase": "push", "outcomes": pushed}),
            "pull": "\n".join([*extra, f"INFO {marker} " + json.dumps({"phase": "pull", "outcomes": pulled})])}


# --- item_outcome, recipe_label, exercised, unless_unexercised -------------------------------------------------

def test_an_item_passes_only_when_pushed_and_pulled_back_equal():
    assert item_outcome("int", "ok", "ok") == Detail("int", PASS, "came back equal")
    assert item_outcome("str_123", "ok", "str_123: '123' (str) came back as 123 (int)") == \
        Detail("str_123", FAIL, "str_123: '123' (str) came back as 123 (int)")
    assert item_outcome("tuple", "push failed: TypeError: Object of type tuple is not JSON serializable",
                        "not pulled").evidence == "push failed: TypeError: Object of type tuple is not JSON serializable"
    assert item_outcome("emoji", "ok", "not pulled").status == FAIL  # the pull task never got to it


def test_the_recipe_is_told_as_a_shape_or_a_key():
    assert recipe_label({"shape": "list_long"}) == "the list_long shape"
    assert recipe_label({"shape": "small", "key": "df"}) == "a small dict under key 'df'"


def ctx_of(offloads: bool = False, offload: str = "", recipe: dict | None = None) -> SimpleNamespace:
    return SimpleNamespace(offloads=offloads, recipe=recipe or {"shape": "dict"},
                           verdict=Verdict("my_xcom.S3XComBackend", "S3XComBackend", "3.3.1", offload=offload))


WROTE = Change(new_objects={Item("s3://xcom", "xcom/d/r/t/value.json"): Meta(11)})
WROTE_NOTHING = Change(new_rows={("d", "r", "t", -1, "value"): stored({"a": 1})})
ONLY_A_BUCKET = Change(new_objects={Item("s3://xcom-typo", BUCKET_KEY): Meta(0)})


def test_a_pass_that_wrote_an_object_stands():
    passed = ScenarioResult("", PASS, "1 object(s), each named by a row; 0 orphans")
    assert exercised(WROTE) and unless_unexercised(ctx_of(), passed, WROTE) is passed


def test_a_pass_that_wrote_nothing_to_the_store_is_not_exercised():
    outcome = unless_unexercised(ctx_of(recipe={"shape": "small", "key": "df"}), ScenarioResult("", PASS, "0 orphans"),
                                 WROTE_NOTHING)
    assert outcome.status == NOT_EXERCISED
    assert outcome.evidence == ("no object was written (a small dict under key 'df' stayed in the metadata DB): the "
                                "backend's store path never ran here, so nothing was judged")


def test_a_created_bucket_alone_does_not_exercise_the_store_path():
    assert not exercised(ONLY_A_BUCKET)
    assert unless_unexercised(ctx_of(), ScenarioResult("", PASS, ""), ONLY_A_BUCKET).status == NOT_EXERCISED


def test_not_exercised_says_when_shapes_found_nothing_to_offload():
    nothing = ctx_of(offload="offloads nothing: all 19 shapes and key names stayed in the metadata DB row")
    assert unless_unexercised(nothing, ScenarioResult("", PASS, ""), WROTE_NOTHING).evidence.endswith(
        "; `shapes` found nothing this backend offloads")
    found = ctx_of(offloads=True, offload="offloads shape_dict; the store scenarios push the dict shape")
    assert "shapes" not in unless_unexercised(found, ScenarioResult("", PASS, ""), WROTE_NOTHING).evidence


def test_a_failure_stands_even_when_nothing_reached_the_store():
    failed = ScenarioResult("", FAIL, "push failed: TypeError")
    assert unless_unexercised(ctx_of(), failed, WROTE_NOTHING) is failed


def test_a_scenario_that_deletes_what_it_wrote_counts_when_shapes_saw_the_recipe_offload():
    passed = ScenarioResult("", PASS, "task-side delete: 0 object(s) left")
    assert unless_unexercised(ctx_of(offloads=True), passed, WROTE_NOTHING, gone=True) is passed
    assert unless_unexercised(ctx_of(offloads=False), passed, WROTE_NOTHING, gone=True).status == NOT_EXERCISED
    assert unless_unexercised(ctx_of(offloads=True), passed, WROTE_NOTHING).status == NOT_EXERCISED  # not a deleter


# --- inline_note: a pull's not-found for a value that never left its row -----------------------------------

PULL_404 = ("pull failed: FileNotFoundError: [Errno 2] No such file or directory: "
            "'/tmp/xcoms/plain text'")


def run_with(rows: dict[str, object], offloaded: set[str] = frozenset()) -> tuple[SimpleNamespace, DagRun]:
    """A types run whose push rows hold rows' values, the offloaded ones as a URL naming their object."""
    table, change = {}, Change()
    for key, value in rows.items():
        row = ("xcom_check_types", DAG_RUN, "push", -1, key)
        if key in offloaded:
            item = Item("s3://xcom", f"xcom/{key}.json")
            table[row] = stored(f"s3://xcom/{item.key}")
            change.new_objects[item], change.linked[item] = Meta(10), [row]
        else:
            table[row] = stored(value)
        change.new_rows[row] = table[row]
    table[("xcom_push_pull", "other_run", "push", -1, "str")] = stored("another run's string")
    return SimpleNamespace(state=State({}, table)), DagRun("xcom_check_types", DAG_RUN, "success", change)


def test_a_not_found_for_a_string_kept_in_its_row_says_no_object_was_ever_written():
    ctx, run = run_with({"str": "plain text", "int": 42})
    note = inline_note(ctx, run, PULL_404, {"str"})
    assert note == f" (the pulled values include strings kept inline in their rows, e.g. 'plain text': {INLINE_NOT_FOUND})"
    assert "deserialize_value takes every string" in fix_for(PULL_404 + note)  # the string-as-reference fix


def test_no_note_when_the_error_is_no_not_found():
    ctx, run = run_with({"str": "plain text"})
    assert inline_note(ctx, run, "pull failed: TypeError: expected str, got int", {"str"}) == ""


def test_no_note_when_the_pulled_value_was_offloaded():
    ctx, run = run_with({"str": "plain text", "str_long": "x" * 100}, offloaded={"str_long"})
    assert inline_note(ctx, run, PULL_404, {"str_long"}) == ""


def test_no_note_for_an_item_whose_row_holds_no_string():
    ctx, run = run_with({"str": "plain text", "int": 42})
    assert inline_note(ctx, run, PULL_404, {"int"}) == ""  # the str row is another item's
    assert inline_note(ctx, run, PULL_404).startswith(" (the pulled values include strings")  # every row of the run


def test_no_note_when_the_stores_are_unknown():
    _, run = run_with({"str": "plain text"})
    assert inline_note(SimpleNamespace(state=None), run, PULL_404) == ""


# --- shapes and types: a Detail per item from the DAGs' logs --------------------------------------------------

SHAPES_PUSHED = {"shape_dict": "ok", "shape_list_long": "ok", "shape_str_long": "ok", "data": "ok",
                 "df": "push failed: TypeError: Object of type DataFrame is not JSON serializable"}


def shapes_dag(offloaded: set[str], pulled: dict[str, str], pushed: dict[str, str] = SHAPES_PUSHED):
    def dag(probe, table):
        def run(run_id, conf):
            for key, outcome in pushed.items():
                if outcome == "ok":
                    backend(probe, table, "xcom_check_shapes", "push", key, [1, 2, 3], key in offloaded)
            return logged("xcom-lab-shapes", pushed, pulled)
        return run
    return {"xcom_check_shapes": dag}


def test_shapes_picks_the_first_offloaded_shape_that_came_back_for_the_store_scenarios():
    pulled = {"shape_dict": "ok", "shape_list_long": "came back as list 0: []", "shape_str_long": "ok", "data": "ok"}
    ctx, _, _ = context(shapes_dag({"shape_list_long", "shape_str_long"}, pulled))
    outcome = shapes(ctx)
    assert ctx.recipe == {"shape": "str_long"} and ctx.offloads
    assert ctx.verdict.offload == ("offloads shape_list_long, shape_str_long; the store scenarios push the "
                                   "str_long shape")
    assert ctx.reference.startswith("s3://aws_default@xcom/xcom/xcom_check_shapes/")
    assert [(d.item, d.status, d.evidence) for d in outcome.details] == [
        ("shape_dict", PASS, "in the row; came back equal"),
        ("shape_list_long", FAIL, "offloaded; came back as list 0: []"),
        ("shape_str_long", PASS, "offloaded; came back equal"),
        ("data", PASS, "in the row; came back equal"),
        ("df", FAIL, "in the row; push failed: TypeError: Object of type DataFrame is not JSON serializable"),
    ]
    assert outcome.status == FAIL and outcome.evidence.startswith(
        "2 of 5 shapes failed: shape_list_long: offloaded; came back as list 0: []; df: in the row; push failed")


def test_a_backend_offloading_by_key_name_gets_the_key_as_its_recipe():
    ctx, _, _ = context(shapes_dag({"data"}, {key: "ok" for key in SHAPES_PUSHED}))
    shapes(ctx)
    assert ctx.recipe == {"shape": "small", "key": "data"}
    assert ctx.verdict.offload == "offloads data; the store scenarios push a small dict under key 'data'"


def test_shapes_that_all_stay_in_the_row_pass_and_say_nothing_is_offloaded():
    ok = {key: "ok" for key in SHAPES_PUSHED}
    ctx, _, _ = context(shapes_dag(set(), ok, pushed=ok))
    outcome = shapes(ctx)
    assert (outcome.status, ctx.offloads, ctx.recipe) == (PASS, False, {"shape": "dict"})
    assert outcome.evidence == ctx.verdict.offload == ("offloads nothing: all 5 shapes and key names stayed in the "
                                                       "metadata DB row")
    assert all(d.evidence == "in the row; came back equal" for d in outcome.details)


TYPES_VALUES = {"str": "plain text", "int": 42, "big": {"values": ["plain text"] * 500}}


def types_dag(pulled: dict[str, str], *extra: str):
    def dag(probe, table):
        def run(run_id, conf):
            for key, value in TYPES_VALUES.items():
                backend(probe, table, "xcom_check_types", "push", key, value, key == "big")
            return logged("xcom-lab-types", {key: "ok" for key in TYPES_VALUES}, pulled, *extra)
        return run
    return {"xcom_check_types": dag}


def test_types_tells_each_types_outcome_and_why_a_string_was_not_found():
    missing = "pull failed: FileNotFoundError: [Errno 2] No such file or directory: 'plain text'"
    ctx, _, _ = context(types_dag({"str": missing, "int": "ok", "big": "ok"}))
    outcome = types(ctx)
    details = {d.item: d for d in outcome.details}
    assert [d.item for d in outcome.details] == ["str", "int", "big"]
    assert details["int"] == Detail("int", PASS, "came back equal")
    assert details["str"].status == FAIL and details["str"].evidence == (
        f"{missing} (the pulled values include strings kept inline in their rows, e.g. 'plain text': {INLINE_NOT_FOUND})")
    assert outcome.status == FAIL and outcome.evidence.startswith("1 of 3 types failed: str: pull failed: FileNotFoundError")
    assert "deserialize_value takes every string" in outcome.fix


def test_types_that_all_come_back_pass_and_say_where_the_big_value_went():
    own = "tuple: (1, 'two') (tuple) came back as [1, 'two'] (list)"
    baseline = "INFO xcom-lab-baseline " + json.dumps({"airflow_own_changes": [own], "count": 1})
    ctx, _, _ = context(types_dag({key: "ok" for key in TYPES_VALUES}, baseline))
    outcome = types(ctx)
    assert outcome.status == PASS and [d.status for d in outcome.details] == [PASS] * 3
    assert outcome.evidence == (
        f"3 types came back equal and type-exact, alone and inside one big value (s3://xcom/xcom/xcom_check_types/{DAG_RUN}"
        "/push/big.json (json)), as Airflow's own backend returns them (Airflow's own backend changes some itself: "
        "tuple: (1, 'two') (tuple) came back as [1, 'two'] (list))")


def test_pickle_with_no_payload_written_proves_nothing():
    blocked = Context(None, None, Verdict("my_xcom.X", "x", "3.3.1"), {}, {}, scenario="pickle")  # nothing landed
    assert pickle(blocked).status == NOT_EXERCISED and pickle(blocked).id == "pickle"
