"""What the metadata DB row holds for an offloaded XCom: ``xcomlab:ref:<url>``, readable in the UI.

The prefix is explicit so that a user's own string is never taken for a reference: a pushed string that
happens to start with a reserved prefix is stored escaped (``xcomlab:str:<value>``) and comes back as is.
A reference read from a row is untrusted (anyone who may edit XComs can write one): xcomlab.base follows it
only when it is an XCom's own path inside one of its roots.
"""

from __future__ import annotations

from typing import Any

REFERENCE = "xcomlab:ref:"
ESCAPED = "xcomlab:str:"


def make(url: str) -> str:
    return REFERENCE + url


def url_of(stored: Any) -> str | None:
    """The referenced URL, or None when the stored value is an inline value."""
    if isinstance(stored, str) and stored.startswith(REFERENCE):
        return stored[len(REFERENCE):]
    return None


def escape(value: Any) -> Any:
    """An inline value as stored: strings that look like ours are escaped, everything else unchanged."""
    if isinstance(value, str) and value.startswith((REFERENCE, ESCAPED)):
        return ESCAPED + value
    return value


def unescape(stored: Any) -> Any:
    if isinstance(stored, str) and stored.startswith(ESCAPED):
        return stored[len(ESCAPED):]
    return stored
