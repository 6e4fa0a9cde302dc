"""What the lifecycle tools take for a reference, an XCom object and a store: strict, so that nothing a
user owns is ever deleted."""

import pytest

from xcomlab.inventory import backend_of_row, referenced_url, store_of
from xcomlab.stores import Store, configured_stores, location_key, parse_stores

PROVIDER = Store("common-io", "s3://aws_default@bucket/xcom")
XCOMLAB = Store("xcomlab", "s3://aws_default@bucket/xcomlab")
UUID = "0b5e2a7c-1f4e-4f51-9c1e-2a4a0c7e3b1d"


def test_a_provider_reference_needs_its_store_and_its_layout():
    url = f"s3://aws_default@bucket/xcom/etl/run_1/extract/{UUID}.gz"
    assert referenced_url(url, [PROVIDER]) == url
    assert backend_of_row(url, url) == "common-io"
    # A user's own string that merely looks like a URL is a value, never something to delete.
    assert referenced_url("s3://aws_default@bucket/xcom/report.csv", [PROVIDER]) is None
    assert referenced_url(f"s3://aws_default@bucket/xcom/etl/run_1/extract/{UUID}", []) is None


def test_an_xcomlab_reference_is_recognised_anywhere():
    url = "redis://redis_default/xcom/etl/run_1/extract/-1/return_value.json"
    assert referenced_url("xcomlab:ref:" + url, []) == url
    assert backend_of_row(url, "xcomlab:ref:" + url) == "xcomlab-redis"
    assert referenced_url("xcomlab:str:xcomlab:ref:s3://b/k", [XCOMLAB]) is None  # a user's escaped string
    assert backend_of_row(None, "small") == "db"


@pytest.mark.parametrize("relative, expected", [
    ("etl/run_1/extract/-1/return_value.json", True),
    ("etl/run_1/extract/3/.return_value.json.abc123.tmp", True),  # a write that never finished
    ("etl/run_1/extract/return_value.json", False),
    ("notes/readme.txt", False),
])
def test_only_objects_with_the_layout_count_as_xcoms(relative, expected):
    assert XCOMLAB.has_layout(f"s3://aws_default@bucket/xcomlab/{relative}") is expected


def test_locations_ignore_connection_ids_and_the_localfs_writer_host():
    assert location_key("s3://conn_a@bucket/xcom/k") == location_key("s3://conn_b@bucket/xcom/k")
    assert location_key("file://worker-7/opt/xcom/k") == location_key("file:///opt/xcom/k")
    localfs = Store("xcomlab", "file:///opt/xcom")
    assert localfs.relative("file://worker-7/opt/xcom/etl/r/t/-1/k.json") == "etl/r/t/-1/k.json"
    assert localfs.backend == "xcomlab-localfs"
    assert Store("xcomlab", "file:///opt/xcomlab").relative("file:///opt/xcom/k") is None


def test_reports_name_a_url_by_its_store_or_its_bucket():
    assert store_of(f"s3://aws_default@bucket/xcom/etl/r/t/{UUID}", [PROVIDER, XCOMLAB]) == str(PROVIDER)
    assert store_of("gs://other/xcom/k", [PROVIDER]) == "gs://other (not in [xcomlab] stores)"


def test_stores_come_from_the_setting_plus_the_current_backend(options, monkeypatch):
    options(stores="common-io=s3://aws_default@bucket/xcom, xcomlab=redis://r/xcom",
            objectstorage_path="s3://aws_default@bucket/xcomlab/", localfs_path="/data/xcom")
    monkeypatch.setenv("AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_PATH", "s3://other_conn@bucket/xcom")  # the same store
    assert [str(s) for s in configured_stores()] == [
        "common-io=s3://aws_default@bucket/xcom", "xcomlab=redis://r/xcom", "xcomlab=s3://aws_default@bucket/xcomlab",
        "xcomlab=file:///data/xcom"]


@pytest.mark.parametrize("spec, message", [
    ("s3://bucket/xcom", "has no kind: write <kind>=<root>"),
    ("xcom=s3://bucket/xcom", "unknown store kind 'xcom'"),
    ("xcomlab=/data/xcom", "is not a URL"),
])
def test_a_bad_stores_setting_says_how_to_write_it(spec, message):
    with pytest.raises(ValueError, match=message):
        parse_stores(spec)


@pytest.mark.parametrize("store", [PROVIDER, XCOMLAB])
def test_the_ownership_marker_is_never_an_xcom(store):
    from xcomlab.ownership import marker_url

    assert store.relative(marker_url(store.root)) == ".xcomlab-owner.json" and not store.has_layout(marker_url(store.root))
