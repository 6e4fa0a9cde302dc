"""The errors a task sees when xcomlab refuses a value or cannot find one: each names the XCom and what to do."""

from __future__ import annotations

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


# (what happened, what to do), matched against the cause's type names and message, most specific first.
# Client libraries differ (botocore, aiohttp, azure-core, redis-py, OSError), their words do not.
STORE_FAULTS = (
    (("NoSuchBucket", "ContainerNotFound", "bucket does not exist", "container does not exist"),
     "the bucket or container does not exist",
     "Create it, or correct the path in the backend's settings; xcomlab never creates buckets."),
    (("InvalidAccessKeyId", "SignatureDoesNotMatch", "AuthenticationFailed", "NoCredentials", "WRONGPASS",
      "invalid username-password", "failed to authenticate", "Authentication", "AUTH ", "Unauthorized", "(401)", "InvalidClientTokenId", "ExpiredToken"),
     "the store refused the credentials",
     "Correct the connection's credentials."),
    (("AccessDenied", "AuthorizationPermissionMismatch", "AuthorizationFailure", "PermissionError",
      "Permission denied", "NOPERM", "Forbidden", "(403)", "Read-only file system"),
     "the store denied permission",
     "Grant the connection read, write and delete on this path."),
    (("SlowDown", "Throttl", "TooManyRequests", "(429)", "ServerBusy", "(503)", "RequestLimitExceeded"),
     "the store is throttling requests",
     "The task's retry pushes again; give it retries with a delay, or lower the request rate."),
    (("OOM command not allowed", "OutOfMemory", "maxmemory", "No space left", "ENOSPC", "Disk quota", "QuotaExceeded",
      "InsufficientStorage"),
     "the store is full",
     "Free space (or raise Redis's maxmemory, the volume's size); the task's retry pushes again."),
    (("ConnectionError", "ConnectError", "ConnectorError", "Could not connect", "Connection refused",
      "Name or service not known", "Temporary failure in name resolution", "TimeoutError", "timed out",
      "ConnectTimeout", "ReadTimeout", "ServiceRequestError", "ServerDisconnected", "Connection reset",
      "EndpointConnectionError", "unreachable"),
     "the store is unreachable",
     "Check that it runs and that the connection's endpoint is right; the task's retry pushes again."),
)


def _cause_words(cause: BaseException) -> str:
    """Every type name and message along the cause chain (libraries wrap each other's errors)."""
    words, seen = [], set()
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        words += [c.__name__ for c in type(cause).__mro__] + [str(cause)]
        cause = cause.__cause__ or cause.__context__
    return " ".join(words)


def store_fault(cause: BaseException, action: str = "read") -> tuple[str, str]:
    words = _cause_words(cause)
    if action == "write" and isinstance(cause, FileNotFoundError):  # an object write has no parent to miss
        words += " NoSuchBucket"
    for needles, what, todo in STORE_FAULTS:
        if any(needle in words for needle in needles):
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
