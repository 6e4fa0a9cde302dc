"""The scenarios' pure parts (xcomlab_harness.scenarios): reading a task log, judging orphans."""

from xcomlab_harness.observer import Change
from xcomlab_harness.probes import Item, Meta
from xcomlab_harness.scenarios import SCENARIOS, error_line, orphans_verdict

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
    failed = orphans_verdict(change, "a retry")
    assert failed.status == "fail" and "1 orphaned object(s)" in failed.evidence and "purge()" in failed.fix
    change.linked[orphan] = [("d", "r", "t", -1, "k2")]
    assert orphans_verdict(change, "a retry").evidence == "a retry: 2 object(s), each named by a row; 0 orphans"


def test_scenarios_that_judge_what_others_wrote_come_after_them():
    order = list(SCENARIOS)
    assert order.index("toy") < order.index("reference-lookalike")
    assert order[-2:] == ["delete", "leftovers"] and order.index("pickle") > order.index("missing-object")
