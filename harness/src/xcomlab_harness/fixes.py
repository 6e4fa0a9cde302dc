"""Known ways XCom backends fail, as data: what the evidence says (a regex) and the one-line fix a user reads.

Matched against evidence and error text: task log lines, exceptions, the harness's own findings
("payload format pickle", "left files in /tmp ..."). The first match wins, so specific patterns come before
broad ones (a reference taken for a string also "came back as" something else; "pickle" is everywhere).

A fix line is shown only when the evidence supports it. Some patterns (a 404, a missing bucket) look the same
for different causes, so a Fix may carry a `supports` predicate that reads the names in the message and
weighs them against `written`: the object keys the backend wrote during this check (the keys of every object
the harness saw linked to a row). A store asked for a bucket named like one of those keys has swapped
arguments, not a missing bucket; a pull that cannot find an object the backend never wrote took a plain
string for a reference. When the names cannot tell, no fix line is better than a wrong one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import unquote

# supports(match, text, written): does the evidence, beyond the pattern, back this fix?
Supports = Callable[[re.Match[str], str, frozenset[str]], bool]


@dataclass(frozen=True)
class Fix:
    id: str
    pattern: re.Pattern[str]
    line: str  # the fix, one line
    supports: Supports | None = field(default=None, compare=False, repr=False)

    def applies(self, text: str, written: frozenset[str] = frozenset()) -> bool:
        match = self.pattern.search(text)
        return match is not None and (self.supports is None or self.supports(match, text, written))


def _fix(id: str, pattern: str, line: str, flags: int = re.IGNORECASE, supports: Supports | None = None) -> Fix:
    return Fix(id, re.compile(pattern, flags), line, supports)


# --- what a not-found error names --------------------------------------------------------------------

# google-cloud-storage: "404 GET http://fake-gcs:4443/download/storage/v1/b/<bucket>/o/<object>?alt=media: ...".
# The bucket goes into the URL as it is (a swapped object key keeps its slashes), the object quoted.
_GCS_URL = re.compile(r"storage/v1/b/(?P<bucket>[^\s?#]+?)(?:/o(?:/(?P<key>[^/\s?#]+))?)?(?=[?#:\s]|$)")
_GCS_NO_OBJECT = re.compile(r"No such object: (?P<bucket>[^/\s]+)/(?P<key>[^\n]+)")
# botocore's client-side check: Invalid bucket name "xcom/dag/run/x.json": Bucket name must match the regex ...
_INVALID_BUCKET = re.compile(r"Invalid bucket name \"(?P<bucket>[^\"]*)\"")
# S3Hook.download_file: "The source file in Bucket <bucket> with path <key> does not exist"
_S3HOOK = re.compile(r"in Bucket (?P<bucket>\S+) with path (?P<key>.+?) does not exist")
_NO_FILE = re.compile(r"No such file or directory: (?P<q>['\"])(?P<key>.+?)(?P=q)")
# fsspec (s3fs, gcsfs, ObjectStoragePath): FileNotFoundError(path), path = "<bucket>/<key>"
_FSSPEC = re.compile(r"FileNotFoundError: (?!\[Errno|File )(?P<key>[^\s/]+/[^\n]+|\S+)\s*$", re.MULTILINE)

_BUCKET_GONE = re.compile(r"NoSuchBucket|bucket does not exist|ContainerNotFound|container does not exist",
                          re.IGNORECASE)
_OBJECT_GONE = re.compile(r"NoSuchKey|key does not exist|No such object|BlobNotFound|blob does not exist|"
                          r"No such file or directory|FileNotFoundError", re.IGNORECASE)
# the failing call wrote (a push), so whatever it names is not something a pull looked up
_WRITING = re.compile(r"PutObject|UploadPart|MultipartUpload|uploadType=|upload_blob|"
                      r"^\s*(?:push|produce|extract)\w*(?:\[\d+\])? failed:", re.IGNORECASE)
# ... it read: a download, a read call, or a failed task that is not a pushing one (scenarios.failure's prefix)
_READING = re.compile(r"GetObject|HeadObject|/download/|download_blob|No such object|source file in Bucket|"
                      r"read_key|get_key|deserialize_value|xcom_pull|"
                      r"^\s*(?!push|produce|extract)[\w.-]+(?:\[\d+\])? failed:", re.IGNORECASE)

_UUID = re.compile(r"[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}", re.IGNORECASE)
_PAYLOAD_SUFFIX = re.compile(r"\.(?:json|parquet|pkl|pickle|csv|gz|bz2|xz|lzma|zip|npy|feather|arrow|bin)$",
                             re.IGNORECASE)


@dataclass(frozen=True)
class Missing:
    """What a not-found error says was missing, as far as its message names it."""
    bucket: str | None = None  # the bucket (or container) the store was asked for
    key: str | None = None  # the object (or file) it was asked for
    bucket_gone: bool = False  # the message says the bucket/container does not exist
    object_gone: bool = False  # ... that the object does not exist
    writing: bool = False  # the failing call was a write
    reading: bool = False  # ... a read (a pull)


def missing(text: str) -> Missing:
    """The names a not-found error gives, for the usual message shapes (GCS, botocore, S3Hook, fsspec, files)."""
    bucket = key = None
    if m := _GCS_URL.search(text):
        bucket, key = unquote(m["bucket"]), unquote(m["key"]) if m["key"] else None
    elif m := _GCS_NO_OBJECT.search(text) or _S3HOOK.search(text):
        bucket, key = m["bucket"], m["key"]
    elif m := _INVALID_BUCKET.search(text):
        bucket = m["bucket"]
    elif m := _NO_FILE.search(text) or _FSSPEC.search(text):
        key = m["key"]
    if key is not None:
        key = key.strip().rstrip(".").strip("'\"") or None
    return Missing(bucket, key, bool(_BUCKET_GONE.search(text)), bool(_OBJECT_GONE.search(text)),
                   bool(_WRITING.search(text)), bool(_READING.search(text)))


def written_keys(written: Iterable[object]) -> frozenset[str]:
    """The keys as strings: str keys as they are, an observer Item (or anything with .key) by its key."""
    return frozenset(str(getattr(w, "key", w)) for w in written if w and getattr(w, "key", w))


def _key_like(name: str) -> bool:
    """Named like an object key: slashes, a uuid, a payload's suffix (no bucket or container is)."""
    return "/" in name or bool(_UUID.search(name)) or bool(_PAYLOAD_SUFFIX.search(name))


def _is_written(bucket: str, written: frozenset[str]) -> bool:
    """A bucket name that is one of the written keys (or the last part of one)."""
    return any(bucket == w or w.endswith("/" + bucket) for w in written)


def _implicated(key: str, written: frozenset[str]) -> bool:
    """An object name that is, contains or is part of a written key."""
    return any(key == w or key in w or (len(w) >= 6 and w in key) for w in written)


def _written_in(text: str, written: frozenset[str]) -> bool:
    plain = unquote(text)
    return any(len(w) >= 6 and (w in text or w in plain) for w in written)


SWAPPED, MISSING_BUCKET, STRING_AS_REFERENCE, NO_FIX = (
    "swapped-arguments", "missing-bucket", "string-as-reference", "no fix")


def diagnose(text: str, written: Iterable[str] = ()) -> str:
    """Which not-found cause the names in text support: SWAPPED, MISSING_BUCKET, STRING_AS_REFERENCE, NO_FIX
    (the names argue against each), or "" (nothing to say: a pattern on its own decides)."""
    written = written_keys(written)
    found = missing(text)
    if found.bucket is not None:
        if _is_written(found.bucket, written) or _key_like(found.bucket):
            return SWAPPED
    elif found.bucket_gone and _written_in(text, written):
        return SWAPPED  # the message names no bucket, but a key the backend wrote is in it
    if found.bucket_gone:
        return MISSING_BUCKET
    if found.key is None or found.writing or found.key.startswith(("{", "[")):
        return ""
    if not found.reading:  # not known to be a pull: whatever was missing, no string was taken for a reference
        return NO_FIX if _implicated(found.key, written) or _written_in(text, written) else ""
    if _implicated(found.key, written) or _written_in(text, written):
        return NO_FIX  # the backend wrote that object: not a string taken for a reference, not a bucket
    if written:
        return STRING_AS_REFERENCE
    if not found.object_gone:
        return ""  # a bare 404: nothing to weigh it against
    # no keys to weigh against: only a name no backend would write (no slash, uuid or suffix) says it; the
    # message says the object is missing, so never the bucket
    return NO_FIX if _key_like(found.key) else STRING_AS_REFERENCE


# Any store's "no such object" (BlobNotFound and google's NotFound included).
NOT_FOUND = re.compile(r"NoSuchKey|\b404\b|NotFound|Not Found|No such object|No such file|does not exist|"
                       r"FileNotFoundError", re.IGNORECASE)
# What the harness adds to a pull's not-found error when the values pulled never left their rows.
INLINE_NOT_FOUND = "no object was ever written for them"


def _diagnosed(*causes: str) -> Supports:
    return lambda match, text, written: diagnose(text, written) in causes


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
        "removed-option",
        # Airflow's conf: AirflowConfigException: section/key [core/enable_xcom_pickling] not found in config
        # (before "pickle": the option's name says pickling)
        r"\[core/[\w.-]+\] not found",
        "Airflow 3 removed [core] enable_xcom_pickling (XCom pickling is gone): read options with "
        "conf.get*(..., fallback=...) and don't branch on removed ones",
    ),
    _fix(
        "str-only-client",
        r"Invalid input of type: '(?:dict|list|tuple|NoneType|bool)'"  # redis-py's DataError
        r"|Invalid type for parameter Body"  # botocore's ParamValidationError
        r"|a bytes-like object is required, not '(?:dict|list|tuple|NoneType|bool|int|float)'"
        r"|expected str, bytes or os\.PathLike object, not (?:dict|list|tuple|NoneType|bool|int|float)\b"
        r"|'(?:dict|list|NoneType|bool|int|float)' object has no attribute '(?:encode|decode)'",
        "Airflow 3's BaseXCom.serialize_value returns a JSON-able object (dict, list, str...), not the str/bytes "
        "it returned on 2.x: json.dumps it before handing it to a str/bytes-only client, and json.loads it back "
        "before BaseXCom.deserialize_value",
    ),
    _fix(
        "pandas-read-json",
        # pandas 3 hands the string to open(): a file named like the JSON text (too long a name, or none such);
        # pandas 2: "File <json> does not exist". Before string-as-reference: both are FileNotFoundErrors.
        r"(?:No such file or directory|File name too long): ['\"]\s*[\[{]"
        r"|FileNotFoundError\W+File \s*[\[{]|\bFile [\[{].*does not exist",
        "pandas 3 (and 2.1's deprecation) treats a string given to read_json as a path: wrap literal JSON in "
        "io.StringIO(...), or store DataFrames as parquet",
    ),
    _fix(
        "swapped-arguments",
        # a bucket named like an object key: see diagnose()
        r"NoSuchBucket|bucket does not exist|ContainerNotFound|container does not exist|Invalid bucket name|"
        r"\b404\b|NotFound|Not Found|No such object|in Bucket \S+ with path",
        "the store was asked for a bucket named like one of your object keys: the hook's bucket and object "
        "arguments are swapped (check the positional order, e.g. GCSHook.download(bucket_name, object_name), "
        "S3Hook.read_key(key, bucket_name); pass them by keyword)",
        supports=_diagnosed(SWAPPED),
    ),
    _fix(
        "missing-bucket",
        r"NoSuchBucket|specified bucket does not exist|ContainerNotFound|container does not exist|"
        r"404 .*(?:bucket|b/[\w.-]+)",
        "create the bucket your backend writes to: name it in BACKEND_ENV as XCOM_LAB_BUCKETS=s3://<bucket> "
        "(or gs://, abfs://); the sandbox only has `xcom`",
        supports=_diagnosed(MISSING_BUCKET, ""),
    ),
    _fix(
        "missing-connection",
        r"conn_id `?[\w.-]+`? isn't defined|The conn_id .* isn't defined|Connection [\w.-]+ not found|"
        r"CONNECTION_NOT_FOUND",
        "point the connection id at an emulator with CONNECTIONS=<id>=s3|gcs|azure|redis (e.g. "
        "CONNECTIONS=my_s3=s3): no JSON to write (aws_default, google_cloud_default, wasb_default and redis_default "
        "already point at the emulators)",
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
        "string-as-reference",
        # a pull that cannot find an object the backend never wrote: see diagnose()
        # (after missing-connection and cannot-load: AirflowNotFoundException, ModuleNotFoundError)
        NOT_FOUND.pattern,
        "deserialize_value takes every string in a row for an object name: mark references (a marker prefix like "
        "\"my-xcom://\" or a dict {\"__xcom_ref__\": ...}) and return any other value as it is",
        supports=lambda match, text, written: INLINE_NOT_FOUND in text
        or diagnose(text, written) == STRING_AS_REFERENCE,
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
        # case-sensitive and whole words: "oom" is in "room"; "Killed" alone on its line (the kernel's OOM kill
        # as a shell reports it), not "Killed 0 zombie task instances"
        r"\bMemoryError\b|(?m:^\s*Killed\s*$)|\bOOM(?:Killed)?\b|(?:exit|return) code -9\b|Negsignal\.SIGKILL",
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


def known_fix(text: str, written: Iterable[str] = ()) -> Fix | None:
    """The first known failure pattern the text shows and the evidence supports, if any. written: the object
    keys the backend wrote during this check (without them, swapped arguments and strings taken for references
    are told only by names no backend would write)."""
    written = written_keys(written)
    return next((fix for fix in FIXES if fix.applies(text, written)), None)


def fix_for(text: str, written: Iterable[str] = ()) -> str:
    """The one-line fix for the first known failure pattern in text, or "" when none matches."""
    fix = known_fix(text, written)
    return fix.line if fix else ""


def fix_line(fix_id: str) -> str:
    """The fix line of a failure the harness itself established (an orphan it counted, a pickle it sniffed), by
    its id in FIXES (KeyError for one it lacks)."""
    return {fix.id: fix.line for fix in FIXES}[fix_id]
