"""sniff names a payload's format from a prefix of it, as the harness reads objects from the stores."""

import bz2
import gzip
import io
import json
import lzma
import pickle
import zipfile

import pytest

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
