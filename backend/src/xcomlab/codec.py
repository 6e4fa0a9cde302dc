"""How an offloaded XCom value becomes the bytes of one object, and back. No pickle anywhere.

- pandas DataFrames and pyarrow Tables: a real parquet file (`.parquet`, `.arrow.parquet`) that
  pandas.read_parquet opens, and that comes back with its dtypes and index.
- Everything else: Airflow's JSON (the encoder is passed in, so this module needs no Airflow), `.json`,
  optionally compressed (`.json.gz`, `.json.bz2`, `.json.xz`).
The whole object is built in memory before anything is written, so a failure never leaves half an object.
"""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
from dataclasses import dataclass
from typing import Any, Callable

JSON = ".json"
PARQUET = ".parquet"
ARROW = ".arrow.parquet"
# codec name ([xcomlab] compression) -> (suffix, compress, decompress)
COMPRESSION: dict[str, tuple[str, Callable[[bytes], bytes], Callable[[bytes], bytes]]] = {
    "gzip": (".gz", lambda data: gzip.compress(data, mtime=0), gzip.decompress),
    "bz2": (".bz2", bz2.compress, bz2.decompress),
    "lzma": (".xz", lzma.compress, lzma.decompress),
}
# What Airflow's XComDecoder reacts to: serde's class key, its older "__type", or any escaped character
# (which could spell either). JSON without them decodes to the same plain values without the decoder's
# Python hook on every object, at C speed: half the time of a pull of records.
SERDE_MARKERS = (b"__classname__", b"__type", b"\\u")
SUFFIXES = (ARROW, PARQUET, JSON, *(JSON + suffix for suffix, _, _ in COMPRESSION.values()))


@dataclass(frozen=True)
class Encoded:
    suffix: str
    data: bytes


def tabular_kind(value: Any) -> str | None:
    """'pandas' or 'arrow' for the tabular types stored as parquet; found without importing either."""
    cls = type(value)
    if cls.__name__ == "DataFrame" and cls.__module__.startswith("pandas"):
        return "pandas"
    if cls.__name__ == "Table" and cls.__module__.startswith("pyarrow"):
        return "arrow"
    return None


def check_compression(codec: str | None) -> str | None:
    if codec and codec not in COMPRESSION:
        raise ValueError(f"[xcomlab] compression = {codec!r} is not supported: use one of {', '.join(COMPRESSION)}"
                         " or leave it empty")
    return codec or None


def json_suffix(compression: str | None) -> str:
    return JSON + (COMPRESSION[compression][0] if compression else "")


def encode_json(text: str, compression: str | None) -> Encoded:
    data = text.encode("utf-8")
    if compression:
        data = COMPRESSION[compression][1](data)
    return Encoded(json_suffix(compression), data)


def encode_tabular(value: Any, kind: str) -> Encoded:
    buffer = io.BytesIO()
    if kind == "pandas":
        value.to_parquet(buffer)
        return Encoded(PARQUET, buffer.getvalue())
    import pyarrow.parquet as pq

    pq.write_table(value, buffer)
    return Encoded(ARROW, buffer.getvalue())


def suffix_of(name: str) -> str:
    """The codec suffix a stored name ends with (the longest that matches)."""
    for suffix in sorted(SUFFIXES, key=len, reverse=True):
        if name.endswith(suffix):
            return suffix
    raise ValueError(f"{name} does not end with a suffix xcomlab writes ({', '.join(SUFFIXES)})")


def decode(data: bytes, suffix: str, decoder: type[json.JSONDecoder] | None = None) -> Any:
    if suffix == ARROW:
        import pyarrow.parquet as pq

        return pq.read_table(io.BytesIO(data))
    if suffix == PARQUET:
        import pandas

        return pandas.read_parquet(io.BytesIO(data))
    for compressed, _, decompress in COMPRESSION.values():
        if suffix == JSON + compressed:
            data = decompress(data)
    if decoder is not None and any(marker in data for marker in SERDE_MARKERS):
        return json.loads(data.decode("utf-8"), cls=decoder)
    return json.loads(data.decode("utf-8"))
