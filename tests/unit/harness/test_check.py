"""make check's settings and judgement (xcomlab_harness.check): which scenarios run, under which name; a
scenario's exception as the backend's failure or the harness's error; the wall every push meets; the exit code."""

import dataclasses
from types import SimpleNamespace

import pytest
from xcomlab_harness import check, scenarios
from xcomlab_harness.airflow_api import DagRunFailed, TaskEnded
from xcomlab_harness.dag_runs import Context
from xcomlab_harness.fixes import fix_line
from xcomlab_harness.stack.console import SandboxError
from xcomlab_harness.stack.settings import load_settings
from xcomlab_harness.verdict import (
    ERROR,
    FAIL,
    NOT_APPLICABLE,
    NOT_EXERCISED,
    PASS,
    ScenarioResult,
    Verdict,
)


def test_all_scenarios_run_in_order_by_default_and_loads_always():
    assert check.selected({}) == list(scenarios.ids())
    assert check.selected({"SCENARIOS": "types, toy"}) == ["loads", "toy", "types"]


def test_an_unknown_scenario_is_named_with_the_choices():
    with pytest.raises(SandboxError, match=r"unknown tpyes; choose among loads, toy"):
        check.selected({"SCENARIOS": "tpyes"})


def test_a_built_in_backend_is_named_after_its_env_file():
    settings = load_settings(environ={"BACKEND": "xcomlab-s3"})
    assert check.backend_under_test(settings) == ("xcomlab.objectstorage.XComObjectStorageBackend", "xcomlab-s3")
    custom = load_settings(environ={"XCOM_BACKEND": "my_xcom.S3XComBackend"})
    assert check.backend_under_test(custom) == ("my_xcom.S3XComBackend", "S3XComBackend")


def test_without_a_backend_it_says_how_to_name_one(capsys, monkeypatch):
    monkeypatch.delenv("XCOM_BACKEND", raising=False)
    monkeypatch.delenv("BACKEND", raising=False)
    assert check.main() == 2
    assert "XCOM_BACKEND is not set" in capsys.readouterr().err


def test_a_store_scenario_brings_shapes_along_to_find_what_to_push():
    assert check.selected({"SCENARIOS": "big"}) == ["loads", "shapes", "big"]
    assert check.selected({"SCENARIOS": "delete,toy"}) == ["loads", "toy", "shapes", "delete"]


def test_scenarios_that_push_no_store_recipe_run_without_shapes():
    assert check.selected({"SCENARIOS": "types,pickle,mwaa-placement"}) == ["loads", "types", "pickle", "mwaa-placement"]


# --- one scenario's trouble: the backend's failure or the harness's error ------------------------------------------

def raises(err: BaseException):
    def scenario(*args):
        raise err
    return scenario


def running(monkeypatch, scenario: str, run) -> None:
    """The scenario's entry, with `run` in place of its code."""
    monkeypatch.setattr(scenarios, "SCENARIOS", tuple(dataclasses.replace(s, run=run) if s.id == scenario else s
                                                      for s in scenarios.SCENARIOS))


def test_an_exception_in_the_harness_is_an_error_with_its_traceback_not_the_backends_failure(monkeypatch):
    running(monkeypatch, "toy", raises(KeyError("s3://xcom/xcom/a.json")))
    ctx = SimpleNamespace(state="the stores before")
    result = check.run_scenario(ctx, "toy")
    assert (result.id, result.status) == ("toy", ERROR)
    assert result.evidence.startswith("harness error (xcom-lab's, not your backend's): KeyError: ")
    assert "s3://xcom/xcom/a.json" in result.evidence
    assert result.traceback.startswith("Traceback (most recent call last):")
    assert "KeyError" in result.traceback and "in scenario" in result.traceback
    assert ctx.state is None  # the next scenario snapshots the stores afresh


def test_a_run_that_never_finishes_is_the_backends_failure_told_by_its_first_line(monkeypatch):
    stuck = DagRunFailed("xcom_push_pull run manual__1 still 'running' after 300 s: (tasks: push_objects=running)\n"
                         "--- push_objects (try 1) ---\nINFO pushing")
    running(monkeypatch, "toy", raises(stuck))
    ctx = SimpleNamespace(state="the stores before")
    result = check.run_scenario(ctx, "toy")
    assert (result.id, result.status, result.traceback) == ("toy", FAIL, "")
    assert result.evidence == ("did not finish: xcom_push_pull run manual__1 still 'running' after 300 s: "
                               "(tasks: push_objects=running)")
    assert ctx.state is None


def test_a_task_that_ends_early_while_waited_on_is_a_failure_too(monkeypatch):
    running(monkeypatch, "missing-object", raises(TaskEnded("xcom_check_missing.push ended 'failed', not 'success'")))
    result = check.run_scenario(SimpleNamespace(state=None), "missing-object")
    assert (result.status, result.evidence) == (FAIL, "did not finish: xcom_check_missing.push ended 'failed', not 'success'")


def test_a_scenarios_result_is_born_with_its_id(monkeypatch):
    running(monkeypatch, "toy", lambda ctx: ctx.result(PASS, "both came back equal"))
    result = check.run_scenario(Context(None, None, None, {}, {}), "toy")
    assert (result.id, result.status, result.evidence) == ("toy", PASS, "both came back equal")


def test_a_new_scenario_is_one_entry(monkeypatch):
    """Registered in scenarios.SCENARIOS alone, a scenario is selectable by name, runs in its place, blocked like
    every pushing scenario once every push fails, and its result carries its id and its fix."""
    echo = scenarios.Scenario("echo", scenarios.PUSHES, lambda ctx: ctx.result(FAIL, "echo left 1 orphan", fix_line("purge")))
    listed = list(scenarios.SCENARIOS)
    monkeypatch.setattr(scenarios, "SCENARIOS", (*listed[:-2], echo, *listed[-2:]))
    assert check.selected({"SCENARIOS": "echo"}) == ["loads", "echo"]
    assert check.selected({})[-4:] == ["delete", "echo", "leftovers", "mwaa-placement"]
    recorded = []
    check.run_scenarios(Context(None, None, Verdict("x.X", "x", "3.3.1"), {}, {}), ["echo"],
                        lambda result, started: recorded.append(result))
    assert [(r.id, r.status, r.fix) for r in recorded] == [("echo", FAIL, fix_line("purge"))]
    walled = Context(None, None, Verdict("x.X", "x", "3.3.1"), {}, {})
    running(monkeypatch, "toy", lambda ctx: ctx.result(FAIL, f"push_objects failed: {KEYWORD_ERROR}"))
    running(monkeypatch, "threshold", lambda ctx: ctx.result(FAIL, f"push failed: {KEYWORD_ERROR}"))
    recorded.clear()
    check.run_scenarios(walled, ["toy", "threshold", "echo"], lambda result, started: (recorded.append(result),
                                                                                       walled.verdict.scenarios.append(result)))
    assert recorded[-1].id == "echo" and recorded[-1].evidence.endswith(KEYWORD_ERROR)  # blocked, not run


def test_mwaa_placement_runs_the_preflight_and_its_trouble_is_the_harnesss(monkeypatch):
    monkeypatch.setattr(check.loading, "mwaa_placement", raises(FileNotFoundError("dags/xcom_push_pull.py")))
    result = check.run_scenario(SimpleNamespace(state=None, settings={}, compose_env={}), "mwaa-placement")
    assert (result.id, result.status) == ("mwaa-placement", ERROR)
    assert "FileNotFoundError: dags/xcom_push_pull.py" in result.evidence


# --- the wall: a failure every push meets ------------------------------------------------------------------------

KEYWORD_ERROR = "TypeError: S3XComBackend.serialize_value() got an unexpected keyword argument 'key'"


def pushes(toy: ScenarioResult, threshold: ScenarioResult) -> Verdict:
    return Verdict("my_xcom.S3XComBackend", "S3XComBackend", "3.3.1",
                   scenarios=[ScenarioResult("loads", PASS, "loads"), toy, threshold])


def test_toy_and_threshold_failing_alike_at_their_push_block_every_later_push():
    toy = ScenarioResult("toy", FAIL, f"push_objects failed: {KEYWORD_ERROR}", "serialize_value(value, *, key, ...)")
    verdict = pushes(toy, ScenarioResult("threshold", FAIL, f"push failed: {KEYWORD_ERROR}"))
    assert check.every_push_fails(verdict, "threshold") is toy  # its evidence and fix stand for the blocked ones


def test_pushes_failing_differently_block_nothing():
    verdict = pushes(ScenarioResult("toy", FAIL, f"push_objects failed: {KEYWORD_ERROR}"),
                     ScenarioResult("threshold", FAIL, "push failed: botocore.exceptions.EntityTooLarge: 1 MB"))
    assert check.every_push_fails(verdict, "threshold") is None


def test_a_failure_after_the_push_blocks_nothing():
    verdict = pushes(ScenarioResult("toy", FAIL, f"pull_objects failed: {KEYWORD_ERROR}"),
                     ScenarioResult("threshold", FAIL, f"push failed: {KEYWORD_ERROR}"))
    assert check.every_push_fails(verdict, "threshold") is None


def test_the_wall_waits_for_both_push_probes():
    toy = ScenarioResult("toy", FAIL, f"push_objects failed: {KEYWORD_ERROR}")
    assert check.every_push_fails(pushes(toy, ScenarioResult("threshold", PASS, "inline up to 1,000 bytes")),
                                  "threshold") is None
    alone = Verdict("my_xcom.S3XComBackend", "S3XComBackend", "3.3.1", scenarios=[toy])
    assert check.every_push_fails(alone, "toy") is None  # threshold has not run yet
    assert check.every_push_fails(alone, "threshold") is None  # SCENARIOS=toy,...: threshold never ran


# --- exit code -----------------------------------------------------------------------------------------------

def verdict_of(*statuses: str, version: str = "3.3.1") -> Verdict:
    return Verdict("my_xcom.S3XComBackend", "S3XComBackend", version,
                   scenarios=[ScenarioResult(f"s{i}", status, "") for i, status in enumerate(statuses)])


def test_exit_0_when_everything_passes_or_does_not_apply():
    assert check.exit_code([verdict_of(PASS, NOT_APPLICABLE), verdict_of(PASS, version="2.11.2")], {}) == 0


def test_exit_1_on_a_failure_on_any_version():
    assert check.exit_code([verdict_of(PASS), verdict_of(PASS, FAIL, version="2.11.2")], {}) == 1
    assert check.exit_code([verdict_of(FAIL)], {"ALLOW_UNEXERCISED": "1"}) == 1


def test_not_exercised_fails_the_check_unless_allowed():
    assert check.exit_code([verdict_of(PASS, NOT_EXERCISED)], {}) == 1
    assert check.exit_code([verdict_of(PASS, NOT_EXERCISED)], {"ALLOW_UNEXERCISED": "1"}) == 0
    assert check.exit_code([verdict_of(PASS, NOT_EXERCISED)], {"ALLOW_UNEXERCISED": "yes"}) == 1


def test_exit_2_when_the_harness_broke_whatever_else_failed():
    assert check.exit_code([verdict_of(FAIL, NOT_EXERCISED), verdict_of(PASS, ERROR, version="2.11.2")], {}) == 2


@pytest.mark.parametrize("name", ["../../tmp/x", "a/b", "..", "-rf", "x" * 65, "my name", "a..b"])
def test_a_check_name_that_would_be_a_path_is_a_settings_error(name, capsys, monkeypatch, tmp_path):
    # it names the report files and the fix-forward folder, which is emptied first
    monkeypatch.setattr(check, "REPORTS", tmp_path / "reports")
    monkeypatch.setattr(check, "FIX_FORWARD", tmp_path / "fix-forward")
    monkeypatch.setenv("XCOM_BACKEND", "my_xcom.S3XComBackend")
    monkeypatch.setenv("CHECK_NAME", name)
    assert check.main() == 2
    err = capsys.readouterr().err
    assert f"CHECK_NAME={name!r} cannot name the report files: use 1-64 letters, digits" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["mine", "e2e-stacked_airflow2", "S3XComBackend", "v1.2", "x" * 64])
def test_a_check_name_of_letters_digits_dots_dashes_is_taken(name):
    assert check.check_name({"CHECK_NAME": name}) == name
    assert check.check_name({}) == ""
