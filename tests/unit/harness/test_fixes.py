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
    ("str-only-client",
     "redis.exceptions.DataError: Invalid input of type: 'dict'. Convert to a bytes, string, int or float first."),
    ("str-only-client", "DataError: Invalid input of type: 'NoneType'. Convert to a bytes, string, int or float first."),
    ("str-only-client", "DataError: Invalid input of type: 'list'. Convert to a bytes, string, int or float first."),
    ("str-only-client", "DataError: Invalid input of type: 'bool'. Convert to a bytes, string, int or float first."),
    ("str-only-client",
     "botocore.exceptions.ParamValidationError: Parameter validation failed:\nInvalid type for parameter Body, "
     "value: {'a': 1}, type: <class 'dict'>, valid types: <class 'bytes'>, <class 'bytearray'>, file-like object"),
    ("str-only-client", "TypeError: a bytes-like object is required, not 'dict'"),
    ("str-only-client", "TypeError: expected str, bytes or os.PathLike object, not dict"),
    ("str-only-client", "AttributeError: 'dict' object has no attribute 'decode'"),
    ("removed-option",
     "airflow.exceptions.AirflowConfigException: section/key [core/enable_xcom_pickling] not found in config"),
    ("removed-option", "AirflowConfigException: section/key [core/xcom_pickle_protocol] not found in config"),
    ("pandas-read-json",  # pandas 3 hands the string to open()
     """FileNotFoundError: [Errno 2] No such file or directory: '{"a":{"r1":1,"r2":2},"b":{"r1":"x","r2":"y"}}'"""),
    ("pandas-read-json", """OSError: [Errno 36] File name too long: '{"columns":["a","b"],"index":[0,1],"data":[[1,"x"]"""),
    ("pandas-read-json", """FileNotFoundError: File {"a":{"0":1,"1":2}} does not exist"""),  # pandas 2
    ("swapped-arguments",
     "google.api_core.exceptions.NotFound: 404 GET http://fake-gcs:4443/download/storage/v1/b/"
     "XCOM_3f2a9c1e-1b2c-4d5e-8f90-123456789abc/o/xcom?alt=media: Not Found"),
    ("swapped-arguments",
     "google.api_core.exceptions.NotFound: 404 GET http://fake-gcs:4443/download/storage/v1/b/"
     "xcom/xcom_push_pull/manual__2026-12-05/push_objects/return_value.json/o/xcom?alt=media: "
     "The specified bucket does not exist."),
    ("swapped-arguments",
     'botocore.exceptions.ParamValidationError: Parameter validation failed: Invalid bucket name '
     '"xcom/dag/run/task/big_obj.json": Bucket name must match the regex "^[a-zA-Z0-9.\\-_]{1,255}$"'),
    ("string-as-reference",
     "google.api_core.exceptions.NotFound: 404 GET http://fake-gcs:4443/download/storage/v1/b/xcom/o/"
     "plain%20text?alt=media: No such object: xcom/plain text"),
    ("string-as-reference", "pull failed: FileNotFoundError: [Errno 2] No such file or directory: 'xxxxxxxx'"),
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
        ("str-only-client", "json.dumps it"),
        ("removed-option", "enable_xcom_pickling"),
        ("pandas-read-json", "io.StringIO"),
        ("swapped-arguments", "GCSHook.download(bucket_name, object_name)"),
        ("string-as-reference", "deserialize_value takes every string"),
    ],
)
def test_fix_lines_keep_the_words_other_code_matches(fix_id, words):
    assert words in next(fix.line for fix in FIXES if fix.id == fix_id)


# --- evidence against a fix: what a fix line claims must be what the evidence shows -------------------

WRITTEN = frozenset({
    "xcom/xcom_push_pull/manual__2026-12-05T10:14:03+00:00/push_objects/3f2a9c1e-1b2c-4d5e-8f90-123456789abc.json",
    "XCOM_7d1e0b2a-9c3f-4e5d-a6b7-c8d9e0f1a2b3",
})
LINE = {fix.id: fix.line for fix in FIXES}


@pytest.mark.parametrize(("fix_id", "text"), EVIDENCE)
def test_written_keys_that_the_evidence_does_not_name_change_nothing(fix_id, text):
    assert known_fix(text, WRITTEN).id == fix_id


def test_the_old_api_still_works():
    assert known_fix("NoSuchBucket").id == known_fix("NoSuchBucket", ()).id == "missing-bucket"
    assert fix_for("NoSuchBucket") == fix_for("NoSuchBucket", []) == LINE["missing-bucket"]
    assert fix_for("NoSuchBucket", iter(WRITTEN)) == LINE["missing-bucket"]  # any iterable of keys


def test_written_may_be_the_observer_s_items():
    from xcomlab_harness.probes import Item

    text = "NotFound: 404 GET http://fake-gcs:4443/download/storage/v1/b/xcom-obj-1/o/xcom?alt=media: Not Found"
    assert known_fix(text, [Item("gs://xcom", "xcom-obj-1")]).id == "swapped-arguments"


def test_a_bucket_named_like_a_written_key_is_swapped_arguments_not_a_missing_bucket():
    text = ("google.api_core.exceptions.NotFound: 404 GET http://fake-gcs:4443/download/storage/v1/b/"
            "XCOM_7d1e0b2a-9c3f-4e5d-a6b7-c8d9e0f1a2b3/o/xcom?alt=media: The specified bucket does not exist.")
    assert known_fix(text, WRITTEN).id == "swapped-arguments"
    assert fix_for(text, WRITTEN) != LINE["missing-bucket"]
    assert "create the bucket" not in fix_for(text, WRITTEN) and "create the bucket" not in fix_for(text)


@pytest.mark.parametrize("bucket", ["xcom_backend_obj", "my-xcom-obj"])
def test_a_bucket_that_is_a_written_key_is_swapped_even_when_it_looks_like_a_bucket(bucket):
    text = f"NotFound: 404 GET http://fake-gcs:4443/download/storage/v1/b/{bucket}/o/xcom?alt=media: Not Found"
    assert known_fix(text, {f"xcom/dag/run/{bucket}", bucket}).id == "swapped-arguments"
    assert known_fix(text).id == "missing-bucket"  # nothing written to say otherwise: today's reading


def test_a_quoted_key_with_slashes_in_the_bucket_part_of_the_url_is_swapped():
    text = ("404 GET http://fake-gcs:4443/download/storage/v1/b/xcom%2Fdag%2Frun%2Fx.json/o/xcom?alt=media: "
            "Not Found")
    assert known_fix(text).id == "swapped-arguments"


def test_a_botocore_missing_bucket_naming_a_written_key_is_swapped():
    key = next(iter(sorted(WRITTEN)))
    text = f"NoSuchBucket: An error occurred (NoSuchBucket) when calling the GetObject operation ({key})"
    assert known_fix(text, WRITTEN).id == "swapped-arguments"


@pytest.mark.parametrize(
    "text",
    [
        "botocore.errorfactory.NoSuchBucket: An error occurred (NoSuchBucket) when calling the PutObject operation: "
        "The specified bucket does not exist",
        "google.api_core.exceptions.NotFound: 404 POST http://fake-gcs:4443/upload/storage/v1/b/xcom-typo/o"
        "?uploadType=multipart: The specified bucket does not exist.",
        "google.api_core.exceptions.NotFound: 404 GET http://fake-gcs:4443/download/storage/v1/b/xcom-typo/o/"
        "xcom%2Fdag%2Frun%2F3f2a9c1e-1b2c-4d5e-8f90-123456789abc.json?alt=media: The specified bucket does not exist.",
        "azure.core.exceptions.ResourceNotFoundError: The specified container does not exist.",
        "FileNotFoundError: [Errno 2] The specified bucket does not exist",  # s3fs
    ],
)
def test_a_genuinely_missing_bucket_still_gets_missing_bucket(text):
    assert known_fix(text, WRITTEN).id == "missing-bucket"
    assert known_fix(text).id == "missing-bucket"


PULL_404 = ("pull failed: google.api_core.exceptions.NotFound: 404 GET http://fake-gcs:4443/download/storage/v1/b/"
            "xcom/o/{}?alt=media: Not Found")


def test_a_pull_404_for_a_key_the_backend_never_wrote_is_a_string_taken_for_a_reference():
    assert known_fix(PULL_404.format("plain%20text"), WRITTEN).id == "string-as-reference"
    assert known_fix("pull failed: FileNotFoundError: [Errno 2] No such file or directory: "
                     "'/opt/airflow/xcom_data/xxxxxxxx'", WRITTEN).id == "string-as-reference"
    assert known_fix("pull failed: AirflowNotFoundException: The source file in Bucket xcom with path hello world "
                     "does not exist", WRITTEN).id == "string-as-reference"
    assert known_fix("consume failed: FileNotFoundError: xcom/plain text", WRITTEN).id == "string-as-reference"  # s3fs


@pytest.mark.parametrize(
    "text",
    [
        "FileNotFoundError: [Errno 2] No such file or directory: 'gcloud'",  # not known to be a pull
        "FileNotFoundError: xcom/plain text",
        "push failed: FileNotFoundError: [Errno 2] No such file or directory: '/opt/airflow/xcom_data/xxxxxxxx'",
        "produce[2] failed: FileNotFoundError: [Errno 2] No such file or directory: 'plain text'",
    ],
)
def test_a_not_found_outside_a_pull_is_no_string_taken_for_a_reference(text):
    assert known_fix(text, WRITTEN) is None


def test_a_pull_404_for_a_key_the_backend_did_write_gets_no_string_or_bucket_fix():
    key = sorted(WRITTEN)[1]  # xcom/... .json
    for text in (PULL_404.format(key.replace("/", "%2F").replace(":", "%3A").replace("+", "%2B")),
                 f"pull failed: FileNotFoundError: [Errno 2] No such file or directory: '/data/{key}'",
                 f"FileNotFoundError: xcom/{key}",  # fsspec's bucket/key
                 f"pull failed: FileNotFoundError: [Errno 2] No such file or directory: '{key.rsplit('/', 1)[1]}'"):
        fix = known_fix(text, WRITTEN)
        assert fix is None, (text, fix)


@pytest.mark.parametrize(
    "text",
    [
        # no name to weigh: prefer no line to a wrong one
        "botocore.errorfactory.NoSuchKey: An error occurred (NoSuchKey) when calling the GetObject operation: "
        "The specified key does not exist.",
        "botocore.exceptions.ClientError: An error occurred (404) when calling the HeadObject operation: Not Found",
        "azure.core.exceptions.ResourceNotFoundError: The specified blob does not exist.",
        # a name any backend might write, and nothing written to compare it with
        "FileNotFoundError: [Errno 2] No such file or directory: '/data/xcom/3f2a9c1e-1b2c-4d5e-8f90-123456789abc.json'",
        # a push: it looked nothing up
        "push failed: FileNotFoundError: [Errno 2] No such file or directory: 'plain text'",
        # not a store at all
        "ModuleNotFoundError: No module named 'acme'",
    ],
)
def test_not_found_errors_that_cannot_tell_get_no_string_or_swapped_fix(text):
    fix = known_fix(text)
    assert fix is None or fix.id not in {"string-as-reference", "swapped-arguments", "missing-bucket"}, fix


def test_a_string_taken_for_a_reference_needs_no_written_keys_when_no_backend_would_write_its_name():
    assert known_fix("NotFound: 404 GET http://x/storage/v1/b/xcom/o/plain%20text?alt=media: No such object: "
                     "xcom/plain text").id == "string-as-reference"
    # today's reading of a bare GCS 404 stands when nothing says otherwise
    assert known_fix(PULL_404.format("plain%20text")).id == "missing-bucket"
    # a message that says the object is missing never says the bucket is
    assert known_fix("NotFound: 404 GET http://x/download/storage/v1/b/xcom/o/xcom%2Fd%2F3f2a9c1e.json?alt=media: "
                     "No such object: xcom/xcom/d/3f2a9c1e.json") is None


def test_missing_connection_and_missing_object_are_not_taken_for_not_found_objects():
    assert known_fix("AirflowNotFoundException: The conn_id `my_s3` isn't defined", WRITTEN).id == "missing-connection"
    assert known_fix("after deleting the object, xcom_pull returned None", WRITTEN).id == "missing-object"


def test_a_missing_connection_is_fixed_with_connections_not_hand_written_json():
    line = fix_for("airflow.sdk.exceptions.AirflowRuntimeError: CONNECTION_NOT_FOUND: {'conn_id': 'my_s3'}")
    assert "CONNECTIONS=<id>=s3|gcs|azure|redis" in line and "AIRFLOW_CONN_" not in line


@pytest.mark.parametrize(
    ("text", "not_id"),
    [
        ("FileNotFoundError: File /tmp/xcom/3f2a9c1e.json does not exist", "pandas-read-json"),  # a path, not JSON
        ("FileNotFoundError: [Errno 2] No such file or directory: '/tmp/df.json'", "pandas-read-json"),
        ("AirflowConfigException: section/key [common.io/xcom_objectstorage_path] not found in config",
         "removed-option"),
        ("TypeError: a bytes-like object is required, not 'str'", "str-only-client"),
        ("DataError: Invalid input of type: 'DataFrame'. Convert to a bytes, string, int or float first.",
         "str-only-client"),
        ("botocore.exceptions.ParamValidationError: Parameter validation failed: Invalid bucket name "
         '"xcom/dag/x.json"', "str-only-client"),
        ("AirflowConfigException: section/key [core/enable_xcom_pickling] not found in config", "pickle"),
    ],
)
def test_look_alikes_do_not_get_the_fix(text, not_id):
    fix = known_fix(text)
    assert fix is None or fix.id != not_id, fix


def test_fixes_carry_a_predicate_only_where_the_pattern_is_not_enough():
    guarded = {fix.id for fix in FIXES if fix.supports is not None}
    assert guarded == {"swapped-arguments", "missing-bucket", "string-as-reference"}
    order = [fix.id for fix in FIXES]
    assert order.index("swapped-arguments") < order.index("missing-bucket")
    assert order.index("pandas-read-json") < order.index("string-as-reference")
    assert order.index("removed-option") < order.index("pickle")


@pytest.mark.parametrize(
    ("text", "not_id"),
    [
        ("TypeError: build() got an unexpected keyword argument 'keys'", "keyword-signature"),
        ("ImportError: cannot import name 'S3Hook' from 'airflow.providers.amazon.aws.hooks.s3'", "circular-import"),
        ("TypeError: issubclass() arg 1 must be a class", "not-a-subclass"),
        ("ConnectionResetError: [Errno 104] Connection reset by peer", "missing-connection"),
        ("PermissionError: [Errno 13] Permission denied: '/tmp/xcom_files/a.json'", "unreadable-source"),
        ("ValueError: the object could not be serialized as parquet", "cannot-load"),
        ("ValueError: the retry's return value came back different", "type-changed"),
        ("ValueError: DataFrame constructor not properly called!", "dataframe-csv"),
        ("RuntimeError: the bucket root is not writable for user 50000", "bucket-root"),
        ("INFO - Killed 0 zombie task instances", "big-value"),  # a scheduler line, not an OOM kill
    ],
)
def test_look_alikes_of_the_older_patterns_do_not_get_their_fix(text, not_id):
    fix = known_fix(text)
    assert fix is None or fix.id != not_id, fix
