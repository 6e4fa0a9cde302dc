"""Offloaded values as bytes: JSON with each codec, parquet for DataFrames and Arrow tables."""

import gzip
import json

import pandas as pd
import pyarrow as pa
import pytest

from xcomlab import codec


@pytest.mark.parametrize("compression", [None, *codec.COMPRESSION])
def test_json_round_trips_with_every_codec(compression):
    text = json.dumps({"city": "Zürich", "n": list(range(100))})
    encoded = codec.encode_json(text, compression)
    assert encoded.suffix == codec.json_suffix(compression) == codec.suffix_of("x/key" + encoded.suffix)
    assert codec.decode(encoded.data, encoded.suffix) == json.loads(text)


def test_gzip_objects_open_with_the_standard_tool():
    encoded = codec.encode_json('{"a": 1}', "gzip")
    assert encoded.suffix == ".json.gz"
    assert json.loads(gzip.decompress(encoded.data)) == {"a": 1}


def test_unknown_codec_is_refused_with_the_choices():
    with pytest.raises(ValueError, match=r"compression = 'gz' is not supported: use one of gzip, bz2, lzma"):
        codec.check_compression("gz")


def test_dataframes_are_parquet_with_dtypes_and_index():
    frame = pd.DataFrame({"city": pd.Categorical(["Oslo", "Lima"]), "at": pd.date_range("2026-01-01", periods=2, tz="UTC")},
                         index=pd.Index([7, 9], name="reading_id"))
    encoded = codec.encode_tabular(frame, codec.tabular_kind(frame))
    assert encoded.suffix == ".parquet" and encoded.data[:4] == b"PAR1"
    pd.testing.assert_frame_equal(codec.decode(encoded.data, ".parquet"), frame)


def test_arrow_tables_come_back_as_arrow_tables():
    table = pa.table({"n": [1, 2, 3]})
    encoded = codec.encode_tabular(table, codec.tabular_kind(table))
    assert codec.suffix_of("k" + encoded.suffix) == ".arrow.parquet"
    assert codec.decode(encoded.data, encoded.suffix).equals(table)


def test_other_types_are_not_tabular():
    assert codec.tabular_kind({"a": 1}) is None and codec.tabular_kind([1]) is None


def test_a_name_without_a_known_suffix_is_an_error():
    with pytest.raises(ValueError, match="does not end with a suffix xcomlab writes"):
        codec.suffix_of("s3://b/x/key.pickle")


class SpyDecoder(json.JSONDecoder):
    """Records the objects its hook sees, as Airflow's XComDecoder turns serde's dicts into objects."""

    seen: list = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, object_hook=self.hook, **kwargs)

    def hook(self, dct):
        SpyDecoder.seen.append(dct)
        return ("object", dct["__classname__"]) if "__classname__" in dct else dct


@pytest.mark.parametrize(("text", "hooked"), [
    ('[{"id": 1, "name": "a"}]', False),
    ('{"when": {"__classname__": "pendulum.datetime.DateTime", "__version__": 2, "__data__": 0}}', True),
    ('{"old": {"__type": "datetime", "__var": 0}}', True),
    ('{"\\u005f_classname__": "x"}', True),  # an escaped key may spell a marker
])
def test_the_decoder_sees_every_value_that_may_hold_an_airflow_object(text, hooked):
    SpyDecoder.seen = []
    back = codec.decode(codec.encode_json(text, None).data, codec.JSON, SpyDecoder)
    assert bool(SpyDecoder.seen) == hooked
    assert back == json.loads(text, cls=SpyDecoder)
