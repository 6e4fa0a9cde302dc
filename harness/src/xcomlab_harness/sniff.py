"""Name a stored XCom payload's format from its first bytes, as a user opening the object would see it.

The caller passes a prefix (at most SNIFF_BYTES) of an object that may be much larger, so every check here
tolerates a cut anywhere: mid-JSON, mid-line, mid-UTF-8 character, mid-compressed-stream.
Compressed containers name what they hold: "gzip+json", "xz+pickle", or just "bz2" when the prefix is too short
to decompress anything (a bz2 block is up to 900 kB).

Pickles are told by their opcodes (pickletools.genops: decoded, never loaded), every protocol 0-5: a complete one
must be well-formed (its stack and memo) up to a STOP that ends the data; a prefix cut before its STOP must be
well-formed so far and show the PROTO header (protocols 2-5) or a memo store (pickle.dumps memoizes the first
container, string or class it writes), which no text does. So a protocol 0/1 pickle of one big string, cut before
its end, stays "text" or "binary". Base64 text (standard or URL-safe, line-wrapped or not), alone or as a JSON
string (how Airflow 3 stores a str XCom in its row), is named only when it decodes to a pickle, or to a compressed
container holding one: "base64+pickle", "base64+gzip+pickle", "json+base64+pickle".
"""

from __future__ import annotations

import base64
import binascii
import bz2
import codecs
import csv
import io
import json
import lzma
import pickletools
import re
import zlib

SNIFF_BYTES = 64 * 1024  # enough for every check below; the rest of a big object changes nothing
_MAX_NESTING = 4  # gzip of gzip of ... stops being sniffed here

# How pickle.dumps starts since protocol 2: PROTO (0x80) and the protocol number.
_PICKLE_PROTO = tuple(bytes([0x80, protocol]) for protocol in (2, 3, 4, 5))
_HIGHEST_PROTOCOL = max(op.proto for op in pickletools.opcodes)
_MEMO_STORES = frozenset({"PUT", "BINPUT", "LONG_BINPUT", "MEMOIZE"})
_MEMO_LOADS = frozenset({"GET", "BINGET", "LONG_BINGET"})
_MAX_OPCODES = 20_000  # well-formed this far: the rest of a big pickle changes nothing
# Base64 shorter than this never came from a cut (only a prefix of a big object is cut); a short word such as
# "gASP" decodes to a PROTO header and one opcode, so a short text must decode to a complete pickle.
_MIN_CUT_BASE64 = 64
_BASE64 = re.compile(r"[A-Za-z0-9+/]+={0,2}")
_BASE64_URLSAFE = re.compile(r"[A-Za-z0-9_-]+={0,2}")
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
    if _pickle_kind(data):
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
    if depth < _MAX_NESTING and (encoded := _base64_pickle(text, depth)):
        return encoded
    if _looks_like_json(text):
        return "json"
    if _looks_like_csv(text):
        return "csv"
    return "text"


class _Prefix(io.BytesIO):
    """The bytes genops reads, noting whether a read ran past their end: the pickle goes on beyond the prefix
    (a cut), where a read that got its bytes and still failed means a malformed argument."""

    ran_out = False

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.ran_out |= size is not None and len(chunk) < size
        return chunk

    def readline(self, size: int | None = -1) -> bytes:
        line = super().readline(size)
        self.ran_out |= not line.endswith(b"\n")
        return line


def _pickle_kind(data: bytes) -> str | None:
    """"complete": one or more well-formed pickles (pickle.dump twice on one file), the last ending the data;
    "cut": the well-formed start of one showing the PROTO header or a memo store; None: no pickle."""
    stream = _Prefix(data)
    while True:
        start = stream.tell()
        ended, memoized = _walk(stream)
        if ended is None:
            return None
        if not ended:
            return "cut" if memoized or data.startswith(_PICKLE_PROTO, start) else None
        if stream.tell() == len(data):
            return "complete"


def _walk(stream: _Prefix) -> tuple[bool | None, bool]:
    """(True: well-formed up to its STOP, False: well-formed until the data ran out or for _MAX_OPCODES opcodes,
    None: malformed; whether a memo store was seen). The stack and memo are checked as pickletools.dis checks them."""
    mark = pickletools.markobject
    stack: list[bool] = []  # True: a MARK, False: any other object
    memo: set[int] = set()
    header = False  # a PROTO opcode began this pickle
    try:
        for count, (opcode, arg, _) in enumerate(pickletools.genops(stream)):
            if count >= _MAX_OPCODES:
                return False, bool(memo)
            header |= opcode.name == "PROTO"
            if opcode.proto >= 2 and not header:  # picklers write protocol 2+ opcodes only after their PROTO
                return None, bool(memo)
            before = opcode.stack_before
            if mark in before or (opcode.name == "POP" and stack[-1:] == [True]):
                if True not in stack:
                    return None, bool(memo)  # no MARK to pop to
                del stack[len(stack) - 1 - stack[::-1].index(True):]
                before = before[:before.index(mark)] if mark in before else []
            if opcode.name in _MEMO_STORES:  # stores the top of the stack, which must be an object
                key = len(memo) if opcode.name == "MEMOIZE" else arg
                # Picklers number memo entries 0, 1, 2, ... in order; text that parses as a store rarely does.
                if key != len(memo) or stack[-1:] != [False]:
                    return None, bool(memo)
                memo.add(key)
            elif opcode.name in _MEMO_LOADS and arg not in memo:
                return None, bool(memo)
            elif opcode.name == "PROTO" and not 2 <= arg <= _HIGHEST_PROTOCOL:
                return None, bool(memo)
            if len(before) > len(stack) or True in stack[len(stack) - len(before):]:
                return None, bool(memo)  # pops more than there is, or a MARK as an object
            del stack[len(stack) - len(before):]
            stack += [item is mark for item in opcode.stack_after]
            if opcode.name == "STOP":
                return (None if stack else True), bool(memo)
    except ValueError:  # an unknown opcode or a malformed argument, unless the bytes ran out: a cut
        return (False if stream.ran_out else None), bool(memo)
    return None, bool(memo)  # not reached: genops ends at a STOP or raises


def _base64_pickle(text: str, depth: int) -> str | None:
    """"base64+pickle", "base64+gzip+pickle", ... ("json+base64+..." for a JSON string holding it) when the text is
    base64 of a pickle; None otherwise, so base64 of anything else is sniffed as the text it is."""
    doc, outer = text.strip(), ""
    if doc.startswith('"'):
        doc, outer = doc[1:].removesuffix('"'), "json+"
    doc = doc.replace("\r", "").replace("\n", "")  # MIME wraps base64 at 76 characters
    decoded = _base64_decoded(doc)
    if decoded is None:
        return None
    kind = _pickle_kind(decoded)
    if kind == "cut" and len(doc) < _MIN_CUT_BASE64:
        return None
    inner = "pickle" if kind else _sniff(decoded, depth + 1)
    return f"{outer}base64+{inner}" if is_pickle(inner) else None


def _base64_decoded(doc: str) -> bytes | None:
    """What base64 text decodes to; a cut last group decodes to the whole bytes it holds."""
    if _BASE64.fullmatch(doc):
        altchars = None
    elif _BASE64_URLSAFE.fullmatch(doc):
        altchars = b"-_"
    else:
        return None
    body = doc.rstrip("=")
    if len(body) % 4 == 1:
        body = body[:-1]  # 6 bits: no whole byte
    try:
        return base64.b64decode(body + "=" * (-len(body) % 4), altchars=altchars, validate=True)
    except binascii.Error:
        return None


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
