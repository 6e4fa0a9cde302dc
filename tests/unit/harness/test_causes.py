"""Root causes, not symptoms: one error that fails a dozen scenarios is told once, as one cause."""

from xcomlab_harness.causes import blocked_by, group, normalized, title_of
from xcomlab_harness.fixes import FIXES
from xcomlab_harness.verdict import ERROR, FAIL, NOT_APPLICABLE, NOT_EXERCISED, PASS, ScenarioResult, Verdict

LINE = {fix.id: fix.line for fix in FIXES}
SIGNATURE = "push failed: TypeError: AcmeXCom.serialize_value() got an unexpected keyword argument 'key'"
SCENARIOS = ["toy", "threshold", "types", "reference-lookalike", "dataframe", "big", "mapped", "retry", "clear",
             "missing-object", "celery"]


def verdict(*results: ScenarioResult) -> Verdict:
    return Verdict(backend="acme_xcom.AcmeXCom", name="acme", airflow_version="3.3.1", scenarios=list(results))


def failed(scenario: str, evidence: str, fix: str = "") -> ScenarioResult:
    return ScenarioResult(scenario, FAIL, evidence, fix)


def test_one_signature_error_in_eleven_scenarios_is_one_cause():
    v = verdict(*(failed(s, SIGNATURE.replace("push", task), LINE["keyword-signature"])
                  for s, task in zip(SCENARIOS, ["push", "push", "push_objects", "produce[0]"] * 3)))
    group(v)
    assert len(v.causes) == 1
    cause = v.causes[0]
    assert cause.id == "cause-1" and cause.scenarios == SCENARIOS
    assert cause.title == "keyword signature"
    assert cause.evidence == v.scenarios[0].evidence and cause.fix == LINE["keyword-signature"]
    assert all(result.cause == "cause-1" for result in v.scenarios)
    assert blocked_by(v, v.scenarios[0]) is None
    assert all(blocked_by(v, result) is cause for result in v.scenarios[1:])


def test_two_independent_causes_are_two_in_order_of_first_appearance():
    redis = ("push failed: redis.exceptions.DataError: Invalid input of type: 'dict'. "
             "Convert to a bytes, string, int or float first.")
    v = verdict(
        ScenarioResult("loads", PASS, "acme_xcom.AcmeXCom loads"),
        failed("toy", redis),
        ScenarioResult("mwaa-placement", NOT_APPLICABLE, "installed as a package"),
        failed("pickle", "payload format pickle in 3 of 9 payloads, e.g. redis://db0/xcom:1"),
        failed("types", redis),
        failed("retry", "a task that failed twice, then succeeded left 2 orphaned object(s) no row names, e.g. x"),
        failed("delete", "task-side delete (XCom.delete): 1 object(s) left; (`make doctor` finds such orphans)"),
    )
    group(v)
    assert [(c.id, c.title, c.scenarios) for c in v.causes] == [
        ("cause-1", "str only client", ["toy", "types"]),
        ("cause-2", "pickle", ["pickle"]),
        ("cause-3", "purge", ["retry", "delete"]),
    ]
    assert v.causes[0].fix == LINE["str-only-client"] and v.causes[2].fix == LINE["purge"]
    assert [r.cause for r in v.scenarios] == ["", "cause-1", "", "cause-2", "cause-1", "cause-3", "cause-3"]
    assert blocked_by(v, v.scenario("types")).id == "cause-1"
    assert blocked_by(v, v.scenario("pickle")) is None
    assert blocked_by(v, v.scenario("loads")) is None


def test_an_unmatched_error_is_one_cause_across_uuids_run_ids_and_numbers():
    evidence = [
        "pull failed: KeyError: 'xcom/xcom_check_types/manual__2026-12-05T10:14:03.123456+00:00/push/"
        "3f2a9c1e-1b2c-4d5e-8f90-123456789abc' (after 1.2 s)",
        "pull failed: KeyError: 'xcom/xcom_push_pull/manual__2026-12-05T10:16:41.004512+00:00/push_objects/"
        "0b7d4e55-aa21-4c0e-9e1b-5f6a7b8c9d0e' (after 14.9 s)",
        "produce[3] failed: KeyError: 'xcom/xcom_check_mapped/scheduled__2026-12-04T00:00:00+00:00/produce/"
        "c0ffee00-1234-4abc-8def-0123456789ab' (after 3 s)",
    ]
    v = verdict(*(failed(s, e) for s, e in zip(["types", "toy", "mapped"], evidence)))
    group(v)
    assert len(v.causes) == 1 and v.causes[0].scenarios == ["types", "toy", "mapped"]
    assert v.causes[0].title.startswith("KeyError: ")
    assert v.causes[0].evidence == evidence[0] and v.causes[0].fix == ""
    assert normalized(evidence[0]) == normalized(evidence[1]) == "KeyError: '<path>' (after <n> s)"


def test_different_unmatched_errors_stay_apart():
    v = verdict(failed("types", "pull failed: botocore.exceptions.ClientError: An error occurred (403) when calling "
                                "the GetObject operation: Forbidden"),
                failed("toy", "pull failed: botocore.exceptions.ClientError: An error occurred (500) when calling "
                              "the GetObject operation: Internal Error"),
                failed("mapped", "no single threshold: inline [10, 100], offloaded [1000] (JSON bytes)"))
    group(v)
    assert [c.scenarios for c in v.causes] == [["types"], ["toy"], ["mapped"]]
    assert v.causes[0].title == "ClientError: An error occurred (403) when calling ..."


def test_errors_and_unexercised_scenarios_are_never_causes():
    v = verdict(
        ScenarioResult("toy", ERROR, "KeyError: 'toy_run' in xcom-lab's scenarios.py", traceback="Traceback ..."),
        ScenarioResult("big", NOT_EXERCISED, "the backend never reached its store"),
        ScenarioResult("types", ERROR, "KeyError: 'toy_run' in xcom-lab's scenarios.py", cause="cause-9"),
        failed("dataframe", SIGNATURE),
    )
    group(v)
    assert [(c.id, c.scenarios) for c in v.causes] == [("cause-1", ["dataframe"])]
    assert [r.cause for r in v.scenarios] == ["", "", "", "cause-1"]
    assert all(blocked_by(v, r) is None for r in v.scenarios)


def test_no_failures_no_causes_and_grouping_twice_changes_nothing():
    v = verdict(ScenarioResult("toy", PASS, "both came back equal"))
    group(v)
    assert v.causes == []
    v = verdict(failed("toy", SIGNATURE), failed("types", SIGNATURE))
    group(v)
    first = [(c.id, list(c.scenarios)) for c in v.causes]
    group(v)
    assert [(c.id, c.scenarios) for c in v.causes] == first == [("cause-1", ["toy", "types"])]


def test_written_keys_decide_the_cause_and_its_fix():
    text = ("pull failed: google.api_core.exceptions.NotFound: 404 GET http://fake-gcs:4443/download/storage/v1/b/"
            "xcom-obj-1/o/xcom?alt=media: Not Found")
    v = verdict(failed("toy", text, LINE["missing-bucket"]), failed("types", text))
    group(v, written=["xcom-obj-1"])
    assert [(c.title, c.fix, c.scenarios) for c in v.causes] == [
        ("swapped arguments", LINE["swapped-arguments"], ["toy", "types"])]
    group(v)  # nothing written: today's reading
    assert v.causes[0].title == "missing bucket"


def test_a_scenario_s_own_fix_line_is_kept_and_a_catalogue_fix_groups():
    own = ("the image has no module 'boto3', which the backend imports: "
           "add the package to compose/airflow/requirements.in")
    v = verdict(failed("loads", "airflow-scheduler cannot load it: ModuleNotFoundError: No module named 'boto3'", own),
                failed("mwaa-placement", "no place in the bucket works: plugins/: UNAVAILABLE",
                       LINE["keyword-signature"]),
                failed("toy", SIGNATURE))
    group(v)
    assert [(c.title, c.fix, c.scenarios) for c in v.causes] == [
        ("cannot load", own, ["loads"]),
        ("keyword signature", LINE["keyword-signature"], ["mwaa-placement", "toy"]),
    ]


def test_titles_are_short():
    assert title_of("x", "missing-bucket") == "missing bucket"
    assert title_of("pull failed: botocore.errorfactory.NoSuchKey: An error occurred (NoSuchKey) when calling the "
                    "GetObject operation") == "NoSuchKey: An error occurred (NoSuchKey) when calling ..."
    assert title_of("no single threshold: inline [10]") == "no single threshold: inline [10]"
    assert len(title_of("ValueError: " + "x" * 300)) <= 80
    assert title_of("") == "no evidence"
