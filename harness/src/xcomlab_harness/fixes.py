"""Known ways XCom backends fail, as data: what the evidence says (a regex) and the one-line fix a user reads.

Matched against evidence and error text: task log lines, exceptions, the harness's own findings
("payload format pickle", "left files in /tmp ..."). The first match wins, so specific patterns come before
broad ones (a reference taken for a string also "came back as" something else; "pickle" is everywhere).
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Fix:
    id: str
    pattern: re.Pattern[str]
    line: str  # the fix, one line


def _fix(id: str, pattern: str, line: str, flags: int = re.IGNORECASE) -> Fix:
    return Fix(id, re.compile(pattern, flags), line)


FIXES: tuple[Fix, ...] = (
    _fix(
        "keyword-signature",
        # Airflow 3 calls XCom.serialize_value(value=..., key=..., ...) on the class
        r"unexpected keyword argument '(?:key|task_id|dag_id|run_id|map_index)'"
        r"|serialize_value\(\) got an unexpected keyword"
        r"|serialize_value\(\) missing \d+ required positional argument",
        "Airflow 3 calls serialize_value(value, *, key, task_id, dag_id, run_id, map_index): "
        "declare those keyword arguments (or **kwargs) as a @staticmethod/@classmethod",
    ),
    _fix(
        "circular-import",
        r"partially initialized module|most likely due to a circular import|cannot import name .* from partially",
        "import the hook inside the method that uses it, not at module level: "
        "Airflow 2.10 resolves the XCom backend while airflow.models is still importing",
    ),
    _fix(
        "not-a-subclass",
        r"is not a subclass of `?BaseXCom",  # Airflow writes the names in backticks
        "subclass airflow.sdk.bases.xcom.BaseXCom on Airflow 3 (airflow.models.xcom.BaseXCom on 2.x)",
    ),
    _fix(
        "missing-bucket",
        r"NoSuchBucket|specified bucket does not exist|ContainerNotFound|container does not exist|"
        r"404 .*(?:bucket|b/[\w.-]+)",
        "create the bucket your backend writes to: name it in BACKEND_ENV as XCOM_LAB_BUCKETS=s3://<bucket> "
        "(or gs://, abfs://); the sandbox only has `xcom`",
    ),
    _fix(
        "missing-connection",
        r"conn_id `?[\w.-]+`? isn't defined|The conn_id .* isn't defined|Connection [\w.-]+ not found|"
        r"CONNECTION_NOT_FOUND",
        "define the connection in BACKEND_ENV as AIRFLOW_CONN_<ID>='{\"conn_type\": ...}' (aws_default, "
        "google_cloud_default, wasb_default and redis_default already point at the emulators)",
    ),
    _fix(
        "unreadable-source",
        r"PermissionError: \[Errno 13\] Permission denied: '/opt/airflow/plugins",
        "make BACKEND_SRC readable by the containers' airflow user (uid 50000): chmod -R a+rX <folder>",
    ),
    _fix(
        "cannot-load",
        r"The object could not be loaded|No module named|does not define a \"[^\"]*\" attribute",
        "Airflow cannot import the class: put the module in plugins/ or install it as a package "
        "(dags/ is not on sys.path when Airflow 3 loads the backend)",
    ),
    _fix(
        "reference-escape",
        r"taken for a reference",
        "make references unambiguous: escape user strings that look like your prefix, or store a dict marker, "
        "so a pushed string comes back as itself",
    ),
    _fix(
        "missing-object",
        r"returned the reference|returned None",
        "raise an error naming the XCom and the object when the object is missing: "
        "returning the reference or None hands downstream tasks a wrong value silently",
    ),
    _fix(
        "dataframe-csv",
        # pandas.testing.assert_frame_equal's messages
        r"(?:DataFrame|Series)\.(?:index|columns) are different|Attribute \"(?:dtype|inferred_type)\" are different"
        r"|DataFrame shape mismatch",  # the index came back as a column
        "store DataFrames as parquet (df.to_parquet / pd.read_parquet): "
        "CSV loses the index and dtypes (categorical, tz-aware datetimes)",
    ),
    _fix(
        "not-serialisable",
        r"is not JSON serializable",
        "let Airflow encode the value: BaseXCom.serialize_value(value) (Airflow's serde) handles datetimes, tuples, "
        "sets and DataFrames that a plain json.dumps refuses",
    ),
    _fix(
        "type-changed",
        r"came back as",
        "keep Airflow's own encoding: store what BaseXCom.serialize_value(value) returns and read it back with "
        "BaseXCom.deserialize_value, once (don't json.loads a value Airflow already decoded)",
    ),
    _fix(
        "temp-files",
        r"left files in",
        "write to memory (io.BytesIO / load_bytes / upload_fileobj) or delete temp files in a finally block: "
        "every task leaves them on the worker",
    ),
    _fix(
        "purge",
        r"\borphan",
        "implement purge() to delete the object a row references (Airflow calls it on retries, clears and deletes), "
        "or write to a deterministic key so a retry overwrites",
    ),
    _fix(
        "bucket-root",
        r"at the bucket root",
        "write under a prefix (e.g. xcom/<dag_id>/<run_id>/<task_id>/...) "
        "so lifecycle rules, audits and other data can tell XComs apart",
    ),
    _fix(
        "big-value",
        # case-sensitive and whole words: "oom" is in "room", "killed" in many a log line
        r"\bMemoryError\b|\bKilled\b|\bOOM(?:Killed)?\b|(?:exit|return) code -9\b|Negsignal\.SIGKILL",
        "stream big values (upload_fileobj, multipart) instead of building several copies in memory",
        flags=0,
    ),
    _fix(
        "pickle",
        r"pickl",  # pickle, pickled, UnpicklingError
        "never pickle: store what BaseXCom.serialize_value returns (JSON), or parquet for DataFrames; "
        "unpickling an XCom runs arbitrary code and breaks across Python/library versions",
    ),
)


def known_fix(text: str) -> Fix | None:
    """The first known failure pattern the text shows, if any."""
    return next((fix for fix in FIXES if fix.pattern.search(text)), None)


def fix_for(text: str) -> str:
    """The one-line fix for the first known failure pattern in text, or "" when none matches."""
    fix = known_fix(text)
    return fix.line if fix else ""
