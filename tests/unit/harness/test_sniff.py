"""sniff names a payload's format from a prefix of it, as the harness reads objects from the stores."""

import base64
import bz2
import gzip
import io
import json
import lzma
import pickle
import pickletools
import zipfile

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from xcomlab_harness.sniff import SNIFF_BYTES, is_pickle, sniff

BIG_JSON = json.dumps([{"id": i, "name": "ünïcode " * 3, "ok": i % 2 == 0, "x": 1.5e-3} for i in range(20_000)]).encode()


def zip_bytes():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("value.json", "{}")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "fmt"),
    [
        (b"", "empty"),
        (pickle.dumps({"a": 1}, protocol=2), "pickle"),
        (pickle.dumps({"a": 1}, protocol=4), "pickle"),
        (pickle.dumps({"a": 1}), "pickle"),
        (pickle.dumps({"a": 1}, protocol=0), "pickle"),
        (pickle.dumps([1, 2], protocol=0), "pickle"),
        (b"cpandas.core.frame\nDataFrame\np0\n", "pickle"),
        (pickle.dumps({"a": 1}, protocol=1), "pickle"),
        (b"I42\n.", "pickle"),  # protocol 0 scalars: no header, no memo
        (b"S'abc'\np0\n.", "pickle"),
        (b"F1.5\n.", "pickle"),
        (b"N.", "pickle"),
        (b"K*.", "pickle"),  # protocol 1
        (b"G?\xf8\x00\x00\x00\x00\x00\x00.", "pickle"),
        (b"(lp0\nI1\naI2\na", "pickle"),  # cut before its STOP, after its memo store
        (pickle.dumps(42, protocol=0) + pickle.dumps("x", protocol=0), "pickle"),  # pickle.dump twice on one file
        (base64.b64encode(pickle.dumps({"a": 1})), "base64+pickle"),
        (base64.b64encode(b"I42\n."), "base64+pickle"),
        (base64.urlsafe_b64encode(pickle.dumps([b"\xff" * 40, "\u20ac" * 9])), "base64+pickle"),
        (base64.encodebytes(pickle.dumps(list(range(100)), protocol=0)), "base64+pickle"),  # MIME lines
        (base64.b64encode(gzip.compress(pickle.dumps({"a": 1}))), "base64+gzip+pickle"),
        (json.dumps(base64.b64encode(pickle.dumps({"a": 1})).decode()).encode(), "json+base64+pickle"),
        (b"PAR1\x15\x04\x15\x10", "parquet"),
        (b"ARROW1\x00\x00\xff\xff\xff\xff", "arrow"),
        (zip_bytes(), "zip"),
        (b'{"a": 1, "b": [true, null]}', "json"),
        (b"  [1, 2]\n", "json"),
        (b'"a string"', "json"),
        (b"42", "json"),
        (b"-1.5", "json"),
        (b"true", "json"),
        (b"null", "json"),
        ('{"name": "Zürich"}'.encode(), "json"),
        (b'\xef\xbb\xbf{"bom": 1}', "json"),
        (b'{"a": 1, "b": 2}\n{"a": 3, "b": 4}\n', "json"),  # JSON Lines
        (b"a,b,c\n1,2,3\n4,5,6\n", "csv"),
        (b",a,b\r\n0,1,2\r\n1,3,4\r\n", "csv"),
        (b'name,note\nx,"has, a comma"\ny,plain\n', "csv"),
        (b"a\tb\n1\t2\n", "csv"),
        (b"a,b\n1,2", "csv"),
        (b"hello world", "text"),
        (b"one, line only", "text"),
        (b"a,b\n1,2,3\n", "text"),
        (b"[INFO] not json\n", "text"),
        (b"123 apples", "text"),
        (b"true story", "text"),
        (b"   \n", "text"),
        (b"BZh9 is a word here, not a stream", "text"),
        (b"N.B. a note", "text"),  # a STOP that does not end the data
        (b"C\n0, 00,  00.", "text"),  # a well-formed protocol-3 program with no PROTO header: no pickler writes it
        (b"I42\n", "text"),  # cut before STOP with no memo store: a line of text as much as a pickle
        (b"Indeed.", "text"),  # INT's argument is no number
        (b"Vienna\nParis\n", "text"),  # well-formed opcodes, but no STOP, header or memo store
        (b"a.", "text"),  # APPEND on an empty stack
        (b"gASP", "text"),  # base64 of a PROTO header and one opcode, but a word
        (b"SGVsbG8gd29ybGQ=", "text"),  # base64 of "Hello world": named only when it holds a pickle
        (b'"SGVsbG8gd29ybGQ="', "json"),
        (b"\x80\x04\xff\xff", "binary"),  # a PROTO header, then no opcode
        (bytes(range(256)), "binary"),
        (b"\x00\x01\x02\x03", "binary"),
        (b"\xff\xfe\x00h\x00i", "binary"),
    ],
)
def test_formats(data, fmt):
    assert sniff(data) == fmt


@pytest.mark.parametrize("cut", [1, 7, 100, 4096, 65_536])
def test_a_json_prefix_cut_anywhere_is_still_json(cut):
    # cuts land mid-string, mid-number, mid-keyword and mid-UTF-8 character
    assert sniff(BIG_JSON[:cut]) == "json"


@pytest.mark.parametrize("prefix", [b'{"a": "ab\\', b'{"a": "\\u12', b"[1.", b"[1e+", b"[-", b"[tru", b'{"a"', b'{"a":', b"{"])
def test_json_prefixes_cut_at_awkward_places(prefix):
    assert sniff(prefix) == "json"


def test_a_csv_prefix_cut_mid_line_is_still_csv():
    data = b"".join(b"%d,name %d,%d.5\n" % (i, i, i) for i in range(10_000))
    assert sniff(data[:SNIFF_BYTES]) == "csv"
    assert sniff(data[:25]) == "csv"


@pytest.mark.parametrize(
    ("compress", "name"),
    [(gzip.compress, "gzip"), (bz2.compress, "bz2"), (lzma.compress, "xz")],
)
@pytest.mark.parametrize(
    ("inner", "inner_fmt"),
    [(b'{"a": 1}', "json"), (pickle.dumps([1, 2, 3]), "pickle"), (b"a,b\n1,2\n", "csv"), (b"", "empty")],
)
def test_compressed_containers_name_what_they_hold(compress, name, inner, inner_fmt):
    assert sniff(compress(inner)) == f"{name}+{inner_fmt}"


def test_a_truncated_compressed_stream_is_sniffed_from_what_decompresses():
    assert sniff(gzip.compress(BIG_JSON)[:SNIFF_BYTES]) == "gzip+json"
    assert sniff(lzma.compress(BIG_JSON)[:4096]) == "xz+json"
    assert sniff(gzip.compress(pickle.dumps(list(range(200_000))))[:SNIFF_BYTES]) == "gzip+pickle"


def test_a_prefix_too_short_to_decompress_names_only_the_container():
    assert sniff(gzip.compress(BIG_JSON)[:12]) == "gzip"
    assert sniff(bz2.compress(BIG_JSON)[:100]) == "bz2"


def test_garbage_after_gzip_magic_is_still_gzip():
    assert sniff(b"\x1f\x8b" + b"\xff" * 50) == "gzip"


def test_nested_containers():
    assert sniff(gzip.compress(gzip.compress(pickle.dumps({"a": 1})))) == "gzip+gzip+pickle"


def test_a_decompression_bomb_is_read_only_as_far_as_needed():
    assert sniff(gzip.compress(b"1" * 20_000_000)) == "gzip+json"  # also longer than int() takes
    assert sniff(bz2.compress(b"a" * 20_000_000)) == "bz2+text"


def test_more_than_the_sniffed_prefix_is_ignored():
    assert sniff(b"[" + b"1," * SNIFF_BYTES + b"\x00\x00") == "json"


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [("pickle", True), ("gzip+pickle", True), ("xz+gzip+pickle", True), ("json", False), ("gzip+json", False),
     ("binary", False), ("", False)],
)
def test_is_pickle(fmt, expected):
    assert is_pickle(fmt) is expected


# --- pickles of every protocol, and what must never be taken for one ---------------------------------------------

SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text() | st.binary() | st.complex_numbers()
VALUES = st.recursive(
    SCALARS | st.frozensets(st.integers()) | st.sets(st.text(max_size=5)),
    lambda inner: st.lists(inner) | st.tuples(inner, inner) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=30,
)
PROTOCOLS = st.integers(0, 5)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
    max_leaves=30,
)
WORD = st.from_regex(r"[A-Za-z0-9'\-]{1,12}", fullmatch=True)
PROSE = st.lists(st.tuples(WORD, st.sampled_from(["", ",", ".", ":", "!", "?"]), st.sampled_from([" ", "\n", "  "])),
                 min_size=2, max_size=60).map(lambda words: "".join(w + p + s for w, p, s in words).strip())


@settings(max_examples=300, deadline=None)
@given(VALUES, PROTOCOLS)
def test_every_pickle_of_every_protocol_is_named(value, protocol):
    data = pickle.dumps(value, protocol=protocol)
    assert sniff(data) == "pickle"
    assert sniff(base64.b64encode(data)) == "base64+pickle"
    assert sniff(base64.urlsafe_b64encode(data).rstrip(b"=")) == "base64+pickle"  # unpadded, as in URLs
    assert sniff(json.dumps(base64.b64encode(data).decode()).encode()) == "json+base64+pickle"
    assert sniff(gzip.compress(data)) == "gzip+pickle"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers() | st.text() | st.floats() | st.binary(), min_size=20), PROTOCOLS, st.data())
def test_a_pickle_cut_after_its_first_opcodes_is_still_named(items, protocol, data):
    # a prefix (the sniffed 64 KiB of a bigger object) is judged by what it holds: the header, or the memo
    # store every pickler writes after a container's first opcode (protocol 0: "(lp0\n", 1: "]q\x00(")
    whole = pickle.dumps(items, protocol=protocol)
    cut = data.draw(st.integers(8, len(whole) - 1))
    assert sniff(whole[:cut]) == "pickle"
    encoded = base64.b64encode(whole)
    assert sniff(encoded[:max(cut, 64)]) == "base64+pickle"


@pytest.mark.parametrize("protocol", range(6))
def test_the_sniffed_prefix_of_a_big_pickle_is_named(protocol):
    data = pickle.dumps({"rows": [{"id": i, "name": f"n{i}"} for i in range(50_000)]}, protocol=protocol)
    assert sniff(data[:SNIFF_BYTES]) == "pickle"
    assert sniff(base64.b64encode(data)[:SNIFF_BYTES]) == "base64+pickle"


@settings(max_examples=500, deadline=None)
@given(JSON, st.sampled_from([None, 2]))
def test_json_is_never_a_pickle(value, indent):
    data = json.dumps(value, indent=indent).encode()
    for prefix in (data, data[:len(data) // 2], data[:SNIFF_BYTES]):
        assert not is_pickle(sniff(prefix))


@settings(max_examples=500, deadline=None)
@given(PROSE | st.from_regex(r"-?[0-9]{1,20}(\.[0-9]{1,5})?", fullmatch=True) | st.uuids().map(str)
       | st.binary(min_size=1).map(bytes.hex))  # base64's alphabet, but no base64 of a pickle
def test_text_and_numbers_are_never_pickles(text):
    rows = "\n".join(",".join(line.split()) for line in text.splitlines()).encode()  # as CSV
    # Text that is, byte for byte, one or more complete pickles is one (b"K*." is 42 at protocol 1, as above):
    # "J,,00." is a 4-byte int's. Every other text must never be called a pickle.
    assume(not whole_pickles(text.encode()) and not whole_pickles(rows))
    assert not is_pickle(sniff(text.encode()))
    assert not is_pickle(sniff(rows))


def whole_pickles(data: bytes) -> bool:
    """Whether data is one or more well-formed pickles end to end, by pickletools (decoded, never loaded)."""
    stream = io.BytesIO(data)
    while stream.tell() < len(data):
        try:
            pickletools.dis(stream, out=io.StringIO())
        except Exception:  # noqa: BLE001 - any malformed opcode, argument, stack or memo
            return False
    return bool(data)


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes_are_sniffed_without_error(data):
    assert sniff(data)
