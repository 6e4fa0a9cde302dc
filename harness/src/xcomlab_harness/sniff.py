"""Name a stored XCom payload's format from its first bytes, as a user opening the object would see it.

The caller passes a prefix (at most SNIFF_BYTES) of an object that may be much larger, so every check here
tolerates a cut anywhere: mid-JSON, mid-line, mid-UTF-8 character, mid-compressed-stream.
Compressed containers name what they hold: "gzip+json", "xz+pickle", or just "bz2" when the prefix is too short
to decompress anything (a bz2 block is up to 900 kB).
"""

from __future__ import annotations

import bz2
import codecs
import csv
import io
import json
import lzma
import re
import zlib

SNIFF_BYTES = 64 * 1024  # enough for every check below; the rest of a big object changes nothing
_MAX_NESTING = 4  # gzip of gzip of ... stops being sniffed here

# Protocol 2-5 pickles start with PROTO (0x80) and the protocol number: reliable.
_PICKLE_PROTO = tuple(bytes([0x80, protocol]) for protocol in (2, 3, 4, 5))
# Protocol 0/1 have no header; these starts are the common ones and no text or format starts so:
# protocol 0 dict/list "(dp0\n" "(lp0\n", a GLOBAL of a library class "cpandas.core.frame\nDataFrame\n",
# protocol 1 EMPTY_DICT/EMPTY_LIST + BINPUT 0 "}q\x00" "]q\x00".
_PICKLE_OLD = re.compile(
    rb"\((?:dp|lp)0\n"
    rb"|c(?:pandas|numpy|copy_reg|copyreg|builtins|__builtin__|collections|datetime|decimal)[\w.]*\n\w+\n"
    rb"|[}\]]q\x00"
)
_ZIP = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")  # local file header, empty archive, spanned archive
_BZ2 = re.compile(rb"BZh[1-9]")
_XZ = b"\xfd7zXZ\x00"

# Control characters that do not occur in text (NUL and the like); tabs, newlines, form feeds and ESC do.
_NOT_TEXT = re.compile(r"[\x00-\x08\x0e-\x1a\x1c-\x1f]")


def sniff(data: bytes) -> str:
    """The format of a payload given its first bytes: pickle, parquet, arrow, zip, json, csv, text, binary, empty,
    or a compressed container joined to what it holds ("gzip+json")."""
    return _sniff(bytes(data[:SNIFF_BYTES]), depth=0)


def is_pickle(fmt: str) -> bool:
    """Whether a sniffed format is, or holds, a pickle ("pickle", "gzip+pickle")."""
    return "pickle" in fmt.split("+")


def _sniff(data: bytes, depth: int) -> str:
    if not data:
        return "empty"
    if data.startswith(_PICKLE_PROTO) or _PICKLE_OLD.match(data):
        return "pickle"
    if data.startswith(b"PAR1"):
        return "parquet"
    if data.startswith(b"ARROW1"):
        return "arrow"  # Arrow IPC file (Feather v2)
    if data.startswith(_ZIP):
        return "zip"
    container = _decompress(data)
    if container is not None:
        name, inner = container
        return name if inner is None or depth >= _MAX_NESTING else f"{name}+{_sniff(inner, depth + 1)}"
    text = _utf8_prefix(data)
    if text is None:
        return "binary"
    if _looks_like_json(text):
        return "json"
    if _looks_like_csv(text):
        return "csv"
    return "text"


def _decompress(data: bytes) -> tuple[str, bytes | None] | None:
    """(container name, what its start decompresses to); the inner part is None when nothing could be decompressed
    from this prefix. None when data is no compressed stream we know, or starts "BZh<digit>" but is no bz2 stream."""
    if data.startswith(b"\x1f\x8b"):
        name, decompressor = "gzip", zlib.decompressobj(16 + zlib.MAX_WBITS)
    elif _BZ2.match(data):
        name, decompressor = "bz2", bz2.BZ2Decompressor()
    elif data.startswith(_XZ):
        name, decompressor = "xz", lzma.LZMADecompressor(format=lzma.FORMAT_XZ)
    else:
        return None
    out, complete, failed = _decompress_prefix(decompressor, data)
    if failed and not out:
        return None if name == "bz2" else (name, None)  # "BZh1..." may just be text; gzip/xz magic is not
    if not out and not complete:
        return name, None  # the prefix holds no complete block yet
    return name, out


def _decompress_prefix(decompressor, data: bytes, chunk: int = 1024) -> tuple[bytes, bool, bool]:
    """Feed data in small chunks so a cut or corrupt stream still yields what came before it.
    Returns (up to SNIFF_BYTES of output, whether the stream ended, whether it failed)."""
    out = bytearray()
    for start in range(0, len(data), chunk):
        try:
            # max_length bounds a decompression bomb; it stays > 0 (0 means "no limit" to zlib)
            out += decompressor.decompress(data[start:start + chunk], SNIFF_BYTES - len(out))
        except (zlib.error, OSError, EOFError, lzma.LZMAError):
            return bytes(out), False, True
        if decompressor.eof or len(out) >= SNIFF_BYTES:
            break
    return bytes(out), decompressor.eof, False


def _utf8_prefix(data: bytes) -> str | None:
    """The text, if data is a UTF-8 prefix: an incomplete character at the very end is a cut, not an error."""
    try:
        text = codecs.getincrementaldecoder("utf-8")().decode(data, final=False)
    except UnicodeDecodeError:
        return None
    text = text.removeprefix("\ufeff")
    if not text or _NOT_TEXT.search(text):
        return None
    return text


# What may follow a JSON error position when the document was merely cut there:
# a cut number ("1." "1e+"), a cut literal ("tru"), a cut \u escape ("\u12", "\ud83d\").
_CUT_NUMBER = re.compile(r"\.|[eE][+-]?")
_CUT_VALUE = re.compile(r"-|t(?:r(?:u)?)?|f(?:a(?:l(?:s)?)?)?|n(?:u(?:l)?)?")
_CUT_ESCAPE = re.compile(r"u[0-9a-fA-F]{0,4}(?:\\(?:u[0-9a-fA-F]{0,3})?)?")


def _looks_like_json(text: str) -> bool:
    doc = text.strip()
    # The first character decides whether this can be JSON at all; "[INFO] ..." and "123 apples" fail below.
    if not (doc[:1] in tuple('{["-0123456789') or doc.startswith(("true", "false", "null"))):
        return False
    try:
        json.loads(doc)
        return True
    except RecursionError:
        return True  # nesting deeper than Python's stack: only JSON brackets get there
    except json.JSONDecodeError as err:
        return _cut_short(doc, err) or _json_lines(doc)
    except ValueError:
        return True  # an integer longer than int() takes (4300 digits): the scanner got that far


def _cut_short(doc: str, err: json.JSONDecodeError) -> bool:
    """Whether json failed only because the document ends early (a prefix of a bigger object)."""
    rest = doc[err.pos:]
    if err.msg.startswith("Unterminated string"):
        return True
    if err.msg.startswith("Invalid \\uXXXX escape"):
        return bool(_CUT_ESCAPE.fullmatch(rest))
    if err.msg.startswith("Expecting value"):
        return rest == "" or bool(_CUT_VALUE.fullmatch(rest))
    if err.msg.startswith(("Expecting ',' delimiter", "Extra data")):
        return rest == "" or bool(_CUT_NUMBER.fullmatch(rest))
    return rest == ""  # "Expecting property name ...", "Expecting ':' delimiter"


def _json_lines(doc: str) -> bool:
    """JSON Lines (one object or array per line) counts as json; the last line may be cut."""
    *complete, last = doc.split("\n")
    if not complete:
        return False
    for line in complete[:20]:
        try:
            if not isinstance(json.loads(line), (dict, list)):
                return False
        except (ValueError, RecursionError):
            return False
    try:
        json.loads(last)
        return True
    except json.JSONDecodeError as err:
        return _cut_short(last, err)
    except (ValueError, RecursionError):
        return True  # cut inside a huge number or a deep nesting


def _looks_like_csv(text: str) -> bool:
    return _same_field_counts(text, ",") or _same_field_counts(text, "\t")


def _same_field_counts(text: str, delimiter: str, max_rows: int = 20) -> bool:
    """At least two rows, each with the same number (>= 2) of fields; quotes are honoured, so a quoted comma
    counts as text. The last row of a prefix may be cut: it may have fewer fields, never more."""
    try:
        rows = [row for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter) if row]
    except csv.Error:
        return False
    cut = rows.pop() if rows and not text.endswith(("\n", "\r")) else None
    rows = rows[:max_rows]
    counts = {len(row) for row in rows}
    if not rows or len(counts) != 1:
        return False
    (fields,) = counts
    if fields < 2 or (cut is not None and len(cut) > fields):
        return False
    return len(rows) + (cut is not None and len(cut) == fields) >= 2
