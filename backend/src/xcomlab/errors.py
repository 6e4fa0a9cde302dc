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
