"""Where an XCom value lands: the common-io provider's size rule, in one place.

The provider measures a value as the length of its JSON (``json.dumps(value, cls=XComEncoder)``), which
escapes non-ASCII characters: one such character counts 6 bytes, not its UTF-8 length.
"""

from __future__ import annotations

import json
from typing import Any


def serialized_size(value: Any, encoder: type[json.JSONEncoder] | None = None) -> int:
    """Size of ``value`` as the backend measures it; pass Airflow's XComEncoder for non-JSON types."""
    return len(json.dumps(value, cls=encoder))


def stays_in_db(size: int, threshold: int) -> bool:
    """True when the value is stored inline: a negative threshold never offloads, else size < threshold."""
    return threshold < 0 or size < threshold


def string_of_size(size: int, char: str = "x") -> str:
    """A string whose JSON is exactly `size` bytes as measured above (for testing a threshold's boundary);
    padded with "x" when `char`'s width (e.g. 6 for a non-ASCII char) does not divide it."""
    width = serialized_size(char) - 2  # minus the quotes
    value = char * ((size - 2) // width) + "x" * ((size - 2) % width)
    if serialized_size(value) != size:
        raise ValueError(f"no string of {char!r} measures {size} bytes")
    return value
