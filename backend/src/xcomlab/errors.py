"""The errors a task sees when xcomlab refuses a value, cannot find one, or will not follow a row (a reference
outside its roots, a row that is not JSON): each names the XCom and what to do."""

from __future__ import annotations

import errno

from xcomlab.layout import XComIds

JSON_TYPES = ("JSON types (dict, list, str, int, float, bool, None), types Airflow serialises (datetime, "
              "dataclasses, ...), a pandas DataFrame or a pyarrow Table")


class XComRefusedError(ValueError):
    """The value cannot be stored; nothing was written."""


class XComMissingError(FileNotFoundError):
    """The DB row references an object/key that is gone."""


def unserializable(ids: XComIds, value: object, cause: Exception) -> XComRefusedError:
    return XComRefusedError(
        f"{ids} cannot be stored: a {type(value).__name__} is not serialisable ({cause}). Return {JSON_TYPES}; "
        "xcomlab never pickles. Nothing was written.")


def raw_bytes(ids: XComIds, value: bytes) -> XComRefusedError:
    return XComRefusedError(
        f"{ids} cannot be stored: raw bytes ({len(value)} bytes) are not an XCom value. Decode text with "
        ".decode(), base64-encode binary data, or write the bytes to storage yourself and push its path. "
        "Nothing was written.")


def evicting_policy(ids: XComIds, store: str, policy: str) -> XComRefusedError:
    evicts = "any key" if policy.startswith("allkeys-") else "keys with a TTL, and [xcomlab] redis_ttl gives one"
    return XComRefusedError(
        f"{ids} cannot be stored: Redis {store} has maxmemory-policy {policy!r}, which evicts {evicts} once Redis "
        "reaches maxmemory, so XComs would be lost without an error. Nothing was written. Set the policy to "
        "noeviction (a full Redis then fails the push instead), or keep a volatile-* policy with [xcomlab] "
        "redis_ttl = 0; or point [xcomlab] redis_conn_id at a Redis that keeps its keys.")


def too_big(ids: XComIds, size: int, limit: int, option: str, alternative: str) -> XComRefusedError:
    return XComRefusedError(
        f"{ids} is {size} bytes, over the {limit}-byte limit ({option}). Nothing was written. Push a "
        f"smaller value (e.g. the path of the data), or use {alternative} for values this big.")


def missing(ids: XComIds, url: str, hint: str = "") -> XComMissingError:
    return XComMissingError(
        f"{ids} references {url}, which does not exist (deleted outside Airflow, or by a cleanup). "
        f"{hint + ' ' if hint else ''}Clear task {ids.task_id!r} of this run to push it again.")


class XComStoreError(OSError):
    """The store failed or refused a write or read; nothing half-written is left behind."""


class XComCorruptError(ValueError):
    """The stored object exists but is not what xcomlab wrote (truncated, replaced)."""


# (codes, words, what happened, what to do), most specific first. A cause is classified by the codes its client
# gives (botocore's Error Code, azure-core's error_code, the clients' exception classes, errno names); when no
# entry knows any of them, by words in its messages (a client that wraps another's error as text, or gives no
# code); by what only maps a status last (Python's own exception classes, HTTP statuses: see _codes).
STORE_FAULTS = (
    ({"NoSuchBucket", "ContainerNotFound"},
     ("bucket does not exist", "container does not exist"),
     "the bucket or container does not exist",
     "Create it, or correct the path in the backend's settings; xcomlab never creates buckets."),
    ({"InvalidAccessKeyId", "SignatureDoesNotMatch", "AuthenticationFailed", "InvalidClientTokenId", "ExpiredToken",
      "NoCredentialsError", "ClientAuthenticationError", "AuthenticationError", "HTTP 401"},
     ("WRONGPASS", "invalid username-password", "failed to authenticate", "Authentication", "AUTH ", "Unauthorized",
      "(401)"),
     "the store refused the credentials",
     "Correct the connection's credentials."),
    # Azure's AuthorizationFailure is a word, not a code: Azurite answers a bad key with it (Azure: AuthenticationFailed)
    ({"AccessDenied", "AuthorizationPermissionMismatch", "PermissionError", "NoPermissionError", "EACCES", "EPERM",
      "EROFS", "HTTP 403"},
     ("Permission denied", "NOPERM", "Forbidden", "(403)", "Read-only file system", "AuthorizationFailure"),
     "the store denied permission",
     "Grant the connection read, write and delete on this path."),
    ({"SlowDown", "Throttling", "ThrottlingException", "TooManyRequests", "ServerBusy", "RequestLimitExceeded",
      "HTTP 429", "HTTP 503"},
     ("Throttl", "(429)", "(503)"),
     "the store is throttling requests",
     "The task's retry pushes again; give it retries with a delay, or lower the request rate."),
    ({"OutOfMemoryError", "ENOSPC", "EDQUOT", "QuotaExceeded", "InsufficientStorage"},
     ("OOM command not allowed", "OutOfMemory", "maxmemory", "No space left", "Disk quota"),
     "the store is full",
     "Free space (or raise Redis's maxmemory, the volume's size); the task's retry pushes again."),
    ({"TimeoutError", "ConnectTimeout", "ReadTimeout", "ConnectTimeoutError", "ReadTimeoutError", "ETIMEDOUT"},
     ("timed out",),
     "the store is unreachable: it did not answer in time",
     "Check that it runs and answers; the task's retry pushes again. How long each request waits: "
     "[xcomlab] store_timeout (seconds) for Redis, the connection's own timeouts for S3, GCS and Azure."),
    ({"ConnectionError", "EndpointConnectionError", "ServiceRequestError", "ClientConnectorError",
      "ServerDisconnectedError", "ECONNREFUSED", "ECONNRESET", "EHOSTUNREACH", "ENETUNREACH"},
     ("ConnectError", "ConnectorError", "Could not connect", "Connection refused", "Name or service not known",
      "Temporary failure in name resolution", "Connection reset", "unreachable"),
     "the store is unreachable",
     "Check that it runs and that the connection's endpoint is right; the task's retry pushes again."),
)


def _chain(cause: BaseException | None):
    """The cause and what it wraps (libraries wrap each other's errors), each once."""
    seen = set()
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        yield cause
        cause = cause.__cause__ or cause.__context__


def _codes(cause: BaseException) -> tuple[set[str], set[str]]:
    """(what the clients say in fields, along the chain: their exception classes, botocore's Error Code,
    azure-core's error_code, errno names; what only maps a status: Python's own exception classes and HTTP
    statuses, which fsspec and the clients give alike for different causes: Azure answers a bad key with 403,
    and adlfs raises PermissionError for it)."""
    codes, weak = set(), set()
    for error in _chain(cause):
        for kind in type(error).__mro__:
            (weak if kind.__module__ == "builtins" else codes).add(kind.__name__)
        response = getattr(error, "response", None)
        if isinstance(response, dict):  # botocore ClientError
            codes.add(str(response.get("Error", {}).get("Code", "")))
        if isinstance(getattr(error, "error_code", None), str):  # azure-core HttpResponseError
            codes.add(error.error_code)
        status = getattr(error, "status_code", None) or getattr(response, "status_code", None)
        if isinstance(status, int):
            weak.add(f"HTTP {status}")
        if isinstance(error, OSError) and error.errno in errno.errorcode:
            codes.add(errno.errorcode[error.errno])
    return codes - {""}, weak


def store_fault(cause: BaseException, action: str = "read") -> tuple[str, str]:
    codes, weak = _codes(cause)
    # An object store's write has no folder to miss, so its FileNotFoundError (gcsfs: just the URL) means the
    # bucket. A local filesystem's names the file (a temporary file or folder removed mid-write): not a bucket.
    if action == "write" and isinstance(cause, FileNotFoundError) and cause.filename is None:
        codes.add("NoSuchBucket")
    for known, _, what, todo in STORE_FAULTS:
        if codes & known:
            return what, todo
    words = " ".join(str(error) for error in _chain(cause))
    for known, needles, what, todo in STORE_FAULTS:  # a code quoted in a message counts as a word
        if any(needle in words for needle in (*needles, *known)):
            return what, todo
    for known, _, what, todo in STORE_FAULTS:
        if weak & known:
            return what, todo
    return "the store failed", "Check the store and the connection; the task's retry pushes again."


def store_failed(ids: XComIds, url: str, action: str, cause: BaseException) -> XComStoreError:
    what, todo = store_fault(cause, action)
    nothing = " Nothing was written." if action == "write" else ""
    return XComStoreError(
        f"{ids}: cannot {action} {url}: {what} ({type(cause).__name__}: {str(cause)[:300]}).{nothing} {todo}")


def corrupt(ids: XComIds, url: str, cause: BaseException) -> XComCorruptError:
    return XComCorruptError(
        f"{ids} references {url}, which is not what xcomlab wrote (truncated, or replaced outside Airflow): "
        f"{type(cause).__name__}: {str(cause)[:200]}. Clear task {ids.task_id!r} of this run to push it again.")


class XComOutsideRootError(ValueError):
    """A row references a URL outside every store root xcomlab may use; nothing was read or deleted."""


class XComRowError(ValueError):
    """A metadata DB row is not what xcomlab writes (not JSON); it was not decoded any further."""


def row_name(row: object) -> str:
    """The XCom a row is, from the row's own columns (never from the URL it holds: that is untrusted).
    Airflow 3 hands the backend only the key and the value, 2.x the whole row."""
    ids = {name: getattr(row, name, None) for name in ("dag_id", "run_id", "task_id", "map_index", "key")}
    if None not in ids.values():
        return str(XComIds(**ids))
    known = ", ".join(f"{name} {value!r}" for name, value in ids.items() if value is not None and name != "key")
    if ids["key"] is None:
        return "An XCom" + (f" ({known})" if known else "")
    return f"XCom {ids['key']!r}" + (f" ({known})" if known else "")


def _untrusted(text: str, limit: int = 500) -> str:
    """text from a row, as a message may show it: printable (no forged log lines), and not too long."""
    shown = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text[:limit])
    return shown + ("..." if len(text) > limit else "")


def outside_root(row: object, url: str, roots: list[str], action: str = "read") -> XComOutsideRootError:
    done = "read" if action == "read" else "deleted"
    return XComOutsideRootError(
        f"{row_name(row)} references {_untrusted(url)}: reference outside this backend's root (roots: {', '.join(roots)}). "
        f"Nothing was {done}. A row's reference is honoured only inside these roots, since anyone who may edit "
        "XComs (REST API, UI, SQL) can write one. If it lies in a store this deployment wrote to before, add that "
        "store to [xcomlab] stores (AIRFLOW__XCOMLAB__STORES, e.g. xcomlab=<root>); otherwise delete the row, "
        "or clear the task that pushed it.")


def not_json(row: object, cause: BaseException) -> XComRowError:
    return XComRowError(
        f"{row_name(row)}: the metadata DB row is not JSON ({type(cause).__name__}: {str(cause)[:200]}); xcomlab "
        "never unpickles a row. xcomlab's rows are always JSON: a pickled row was written with [core] "
        "enable_xcom_pickling = True by another XCom backend, or outside Airflow. Clear the task that pushed it "
        "so that it pushes again (and leave enable_xcom_pickling off).")
