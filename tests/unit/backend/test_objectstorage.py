"""The object-storage backend writes objects other tools open (parquet for pandas, gzip for zcat), and on a
file:// root never leaves a partial object at an XCom's name."""

import gzip
import json
import signal

import pandas as pd
import pytest

from conftest import pull, push
from test_localfs import killed_push
from xcomlab.objectstorage import XComObjectStorageBackend


@pytest.fixture
def bucket(options, tmp_path):
    options(objectstorage_path=f"file://{tmp_path}/xcom", threshold=10)
    return tmp_path / "xcom/etl/manual__2026-11-21T08:00:00+00:00/extract/-1"


def test_dataframe_is_a_parquet_file_pandas_opens(bucket):
    frame = pd.DataFrame({"temp": [1.5, 2.5]}, index=pd.Index(["oslo", "lima"], name="city"))
    stored = push(XComObjectStorageBackend, frame)
    assert stored == f"xcomlab:ref:file://{bucket}/return_value.parquet"
    pd.testing.assert_frame_equal(pd.read_parquet(bucket / "return_value.parquet"), frame)
    pd.testing.assert_frame_equal(pull(XComObjectStorageBackend, stored), frame)


def test_compressed_json_opens_with_gzip(bucket, options):
    options(compression="gzip")
    push(XComObjectStorageBackend, {"a": "x" * 50}, key="k")
    assert json.loads(gzip.decompress((bucket / "k.json.gz").read_bytes())) == {"a": "x" * 50}


def test_an_unknown_codec_fails_the_push_with_the_choices(bucket, options):
    options(compression="gz")
    with pytest.raises(ValueError, match="compression = 'gz' is not supported: use one of gzip, bz2, lzma"):
        push(XComObjectStorageBackend, "x" * 50)
    assert not bucket.exists()


def test_a_write_killed_midway_on_a_file_root_leaves_the_previous_object_whole(bucket):
    stored = push(XComObjectStorageBackend, "a" * 50, key="k")
    killed = killed_push("xcomlab.objectstorage.XComObjectStorageBackend", "k")
    assert killed.returncode == -signal.SIGXFSZ, killed.stderr  # killed while writing the 5002-byte value
    assert pull(XComObjectStorageBackend, stored) == "a" * 50
    assert (bucket / "k.json").read_text() == '"' + "a" * 50 + '"'
