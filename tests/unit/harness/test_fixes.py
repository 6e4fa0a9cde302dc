"""The catalogue of known failure patterns: each realistic error line finds its fix, and only its fix."""

import re

import pytest

from xcomlab_harness.fixes import FIXES, Fix, fix_for, known_fix

EVIDENCE = [
    ("unreadable-source", "PermissionError: [Errno 13] Permission denied: '/opt/airflow/plugins/my_xcom.py'"),
    ("missing-bucket", "botocore.errorfactory.NoSuchBucket: An error occurred (NoSuchBucket) when calling the PutObject operation"),
    ("missing-connection", "airflow.sdk.exceptions.AirflowRuntimeError: CONNECTION_NOT_FOUND: {'conn_id': 'my_s3'}"),
    ("not-serialisable", "TypeError: Object of type datetime is not JSON serializable"),
    ("keyword-signature",
     "TypeError: AcmeS3XComBackend.serialize_value() got an unexpected keyword argument 'key'"),
    ("keyword-signature", "TypeError: serialize_value() got an unexpected keyword argument 'value'"),
    ("keyword-signature", "TypeError: AcmeXCom.serialize_value() missing 1 required positional argument: 'self'"),
    ("circular-import",
     "ImportError: cannot import name 'XCom' from partially initialized module 'airflow.models.xcom' "
     "(most likely due to a circular import) (/home/airflow/.local/lib/python3.11/site-packages/airflow/models/xcom.py)"),
    ("circular-import", "AttributeError: partially initialized module 'airflow.hooks' has no attribute 'base'"),
    ("not-a-subclass", "TypeError: Your custom XCom class `AcmeXCom` is not a subclass of `BaseXCom`."),
    ("cannot-load",
     'airflow.exceptions.AirflowConfigException: The object could not be loaded. Please check "xcom_backend" key in '
     '"core" section. Current value: "acme_xcom.backend.AcmeS3XComBackend".'),
    ("cannot-load", "ModuleNotFoundError: No module named 'acme_xcom'"),
    ("pickle", "payload format pickle"),
    ("pickle", "payload format gzip+pickle"),
    ("pickle", "_pickle.UnpicklingError: invalid load key, '{'."),
    ("temp-files", "the task left files in /tmp of airflow-worker: /tmp/tmpk2j3l4.parquet (1,204 bytes)"),
    ("purge", "2 orphan objects after clearing the task: s3://xcom/xcom/dag/run/task/return_value.json"),
    ("purge", "the retry left an orphaned object in gs://xcom"),
    ("reference-escape", "the pushed string 'xcom-s3://bucket/key' was taken for a reference"),
    ("dataframe-csv",
     'AssertionError: DataFrame.index are different\n\nDataFrame.index values are different (100.0 %)\n'
     "[left]:  Index(['r1', 'r2'], dtype='str')\n[right]: RangeIndex(start=0, stop=2, step=1)"),
    ("dataframe-csv",
     'Attributes of DataFrame.iloc[:, 0] (column name="a") are different\n\nAttribute "dtype" are different\n'
     "[left]:  CategoricalDtype(categories=['x', 'y'], ordered=False, categories_dtype=str)\n"
     "[right]: <StringDtype(na_value=nan)>"),
    ("dataframe-csv", "DataFrame.columns are different\n\nDataFrame.columns values are different (50.0 %)"),
    ("dataframe-csv", "DataFrame are different\n\nDataFrame shape mismatch\n[left]:  (2, 2)\n[right]: (2, 3)"),
    ("bucket-root", "objects written at the bucket root of s3://xcom: 3f9c2a.json"),
    ("missing-object", "after deleting the object, deserialize_value returned the reference 'xcom-s3://xcom/k'"),
    ("missing-object", "after deleting the object, xcom_pull returned None"),
    ("type-changed", "'123' (str) came back as 123 (int)"),
    ("big-value", "MemoryError"),
    ("big-value", "[2026-12-02, 10:14:03 UTC] {local_task_job_runner.py:266} INFO - Task exited with return code -9"),
    ("big-value", "Task exited with return code Negsignal.SIGKILL"),
    ("big-value", "airflow-worker-1 exited with code 137 (OOMKilled)"),
    ("big-value", "Killed"),
]


@pytest.mark.parametrize(("fix_id", "text"), EVIDENCE)
def test_each_error_finds_its_fix(fix_id, text):
    fix = known_fix(text)
    assert fix is not None and fix.id == fix_id
    assert fix_for(text) == fix.line


def test_every_fix_has_evidence_here():
    assert {fix.id for fix in FIXES} == {fix_id for fix_id, _ in EVIDENCE}


def test_ids_are_unique_and_lines_are_one_line():
    assert len({fix.id for fix in FIXES}) == len(FIXES)
    for fix in FIXES:
        assert isinstance(fix, Fix) and isinstance(fix.pattern, re.Pattern)
        assert fix.line and "\n" not in fix.line


@pytest.mark.parametrize(
    "text",
    ["", "all 16 scenarios passed", "the room is zoomed", "payload format json", "Task exited with return code 0",
     "ImportError: cannot import name 'foo' from 'bar'"],
)
def test_unrelated_text_finds_no_fix(text):
    assert fix_for(text) == ""
    assert known_fix(text) is None


def test_specific_patterns_win_over_broad_ones():
    # a reference taken for a string also "came back as" something else; the escape is the fix
    assert known_fix("'xcom-s3://b/k' was taken for a reference and came back as b'...' (bytes)").id == "reference-escape"
    assert known_fix("'a.pickle' left files in /tmp").id == "temp-files"
    assert known_fix("DataFrame came back as: DataFrame.index are different").id == "dataframe-csv"


@pytest.mark.parametrize(
    ("fix_id", "words"),
    [
        ("keyword-signature", "serialize_value(value, *, key, task_id, dag_id, run_id, map_index)"),
        ("circular-import", "import the hook inside the method"),
        ("not-a-subclass", "airflow.sdk.bases.xcom.BaseXCom"),
        ("cannot-load", "plugins/"),
        ("pickle", "never pickle"),
        ("temp-files", "finally block"),
        ("purge", "purge()"),
        ("reference-escape", "comes back as itself"),
        ("dataframe-csv", "df.to_parquet"),
        ("bucket-root", "xcom/<dag_id>/<run_id>/<task_id>/"),
        ("missing-object", "raise an error naming the XCom"),
        ("type-changed", "BaseXCom.serialize_value"),
        ("big-value", "upload_fileobj"),
    ],
)
def test_fix_lines_keep_the_words_other_code_matches(fix_id, words):
    assert words in next(fix.line for fix in FIXES if fix.id == fix_id)
