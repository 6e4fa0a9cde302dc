"""Two `make check` verdicts of Airflow 3.3.1, for the report pages test_ui opens in the browser: the evidence
worded as make check's scenarios word it (from its runs on these backends), the rest from the harness's own
parts run on the real backends of tests/check_backends/: fix lines (xcomlab_harness.fixes), root causes
(causes.group), statements as coverage counts them (own_code) and the fix-forward patches (patches).
"""

from __future__ import annotations

from pathlib import Path

from xcomlab_harness import causes, patches
from xcomlab_harness.fixes import fix_line
from xcomlab_harness.own_code import statements
from xcomlab_harness.stack.paths import ROOT
from xcomlab_harness.verdict import (
    FAIL,
    NOT_APPLICABLE,
    PASS,
    Detail,
    Layer,
    ScenarioResult,
    SourceFile,
    Verdict,
)

VERSION = "3.3.1"
BACKENDS = ROOT / "tests" / "check_backends"
TYPES = ("str", "str_123", "str_null", "str_true", "str_json", "int", "float", "bool", "none", "dict", "list", "tuple",
         "nested", "datetime", "emoji", "big")
LOADED = "{} from /opt/airflow/plugins/{} loads; healthy with it: apiserver, scheduler, triggerer, dag-processor"
NO_LEFTOVERS = "no files left in the task containers' working directory, /tmp or home; no stray objects"


def source_file(path: Path) -> SourceFile:
    lines = path.read_text().splitlines()
    found = sorted(statements(path))
    # Airflow 3 never runs the Airflow 2 import fallback
    return SourceFile(path.name, lines, found, [n for n in found if "airflow.models.xcom" not in lines[n - 1]])


def judged(scenarios: list[ScenarioResult], backend: str, name: str, **verdict) -> Verdict:
    found = Verdict(backend, name, VERSION, scenarios=scenarios, **verdict)
    causes.group(found)
    return found


def two_flaws() -> Verdict:
    """long_list_files: no purge (retry, clear and delete leave files) and [] for a missing file."""
    path = BACKENDS / "long_list_files" / "list_file_backend.py"
    source, files = source_file(path), "container://airflow-scheduler//tmp/xcom_files"
    run = "manual__2026-12-06T03:49:58.252959+00:00"
    ran = {source.path: source.run}

    def result(id: str, status: str, evidence: str, fix: str = "", **more) -> ScenarioResult:
        return ScenarioResult(id, status, evidence, fix=fix_line(fix) if fix else "",
                              lines_run={} if status == NOT_APPLICABLE else ran, **more)

    return judged([
        result("loads", PASS, LOADED.format("list_file_backend.ListFileXComBackend", path.name)),
        result("toy", PASS, "both came back equal; big_obj → the metadata DB row; small_obj → the metadata DB row"),
        result("types", PASS, "16 types came back equal and type-exact, alone and inside one big value, as Airflow's "
               "own backend returns them", details=[Detail(item, PASS) for item in TYPES]),
        result("retry", FAIL, "a task that failed twice, then succeeded left 2 orphaned object(s) no row names, e.g. "
               f"{files}/xcom_retry/{run}/flaky/bb01e462-fa55-48b7-a3aa-4102d8431e33.json", "purge"),
        result("clear", FAIL, "a cleared and re-run push task left 1 orphaned object(s) no row names, e.g. "
               f"{files}/xcom_check_roundtrip/{run}/push/a8ead1df-2c1c-4189-98ca-d30df6eb612d.json", "purge"),
        result("missing-object", FAIL, f"after {files}/xcom_check_missing/{run}/push/d332db74-3b15-46f9-a560-"
               "109786369c27.json was deleted the pull returned a list of 0 items ([]) instead of failing",
               "missing-object"),
        result("celery", NOT_APPLICABLE, "run with PROFILE=celery to push on worker A and pull on worker B"),
        result("delete", FAIL, "task-side delete (XCom.delete): 1 object(s) left; REST/UI delete: 1 of 1 object(s) "
               "left; DAG-run delete: 2 of 2 object(s) left; airflow db clean: 2 of 2 object(s) left (Airflow never "
               "calls purge for the last ones: `make doctor` finds such orphans)", "purge"),
    ], "list_file_backend.ListFileXComBackend", "long_list_files", sources=[source])


def behind_a_wall(work: Path) -> Verdict:
    """stacked_airflow2: its one-argument serialize_value hides a removed option, which hides a changed type and
    temp files; each layer re-runs on a copy with the fixes so far (in work/), as check.see_past_walls does."""
    path = BACKENDS / "stacked_airflow2" / "legacy_s3_backend.py"
    backend = "legacy_s3_backend.LegacyS3XComBackend"
    signature = "TypeError: LegacyS3XComBackend.serialize_value() got an unexpected keyword argument 'key'"
    option = "AirflowConfigException: section/key [core/enable_xcom_pickling] not found in config"
    tuple_, datetime = ("tuple: (1, 'two') (tuple) came back as [1, 'two'] (list)",
                        "datetime: datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=Timezone('UTC')) (datetime) came back "
                        "as '2026-01-02 03:04:05+00:00' (str)")

    def types(failed: dict[str, str], fix: str) -> ScenarioResult:
        shown = "; ".join(f"{item}: {why}" for item, why in list(failed.items())[:3])
        return ScenarioResult("types", FAIL, f"{len(failed)} of {len(TYPES)} types failed: {shown}", fix=fix_line(fix),
                              details=[Detail(item, FAIL, failed[item]) if item in failed else Detail(item, PASS)
                                       for item in TYPES])

    verdict = judged([
        ScenarioResult("loads", FAIL, f"{backend} from /opt/airflow/plugins/{path.name} loads, but serialize_value"
                       "(value) cannot take Airflow 3's keywords: got an unexpected keyword argument 'key'",
                       fix=fix_line("keyword-signature")),
        ScenarioResult("toy", FAIL, f"push_objects failed: {signature}", fix=fix_line("keyword-signature")),
        types(dict.fromkeys(TYPES, f"push failed: {signature}"), "keyword-signature"),
        ScenarioResult("leftovers", PASS, NO_LEFTOVERS),
    ], backend, "stacked_airflow2", sources=[source_file(path)])
    layers = [  # what the scenarios found after each layer's fixes
        [ScenarioResult("loads", PASS, LOADED.format(backend, path.name)),
         ScenarioResult("toy", FAIL, f"push_objects failed: {option}", fix=fix_line("removed-option")),
         types(dict.fromkeys(TYPES, f"push failed: {option}"), "removed-option"),
         ScenarioResult("leftovers", PASS, NO_LEFTOVERS)],
        [ScenarioResult("loads", PASS, LOADED.format(backend, path.name)),
         ScenarioResult("toy", PASS, "both came back equal; big_obj → s3://xcom/xcom/e3f2cb28-3fd3-48a1-beb4-"
                        "6865e38f4f28.json (json); small_obj → the metadata DB row"),
         types({"tuple": tuple_, "datetime": datetime, "big": f"big.values[0].{tuple_}; big.values[0].{datetime}"},
               "type-changed"),
         ScenarioResult("leftovers", FAIL, "left files in /tmp (2): /tmp/tmp_7h24__5.json, /tmp/tmpnla7h756.json",
                        fix=fix_line("temp-files"))],
    ]
    copy, before = path, verdict
    for number, scenarios in enumerate(layers, start=1):
        fixable = [c for c in before.causes if c.fix_id in patches.PATCHABLE]
        copy = patches.copy_source(copy, work / f"layer-{number}")
        assert patches.apply(copy, [(c.fix_id, c.evidence) for c in fixable]), f"layer {number}: nothing to patch"
        before = judged(scenarios, backend, verdict.name)
        verdict.layers.append(Layer([c.title for c in fixable], patches.unified_diff(path, copy), before.scenarios,
                                    before.causes))
    verdict.patch = verdict.layers[-1].patch
    return verdict
