"""Store backends describe themselves (scheme, family, options); the lifecycle tools and the settings lint read
that, so a new store backend is its class plus its line in xcomlab.stores.STORE_BACKENDS."""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

import pytest

from xcomlab import inventory, stores
from xcomlab_tools import lint
from xcomlab.base import OffloadingXComBackend
from xcomlab.objectstorage import XComObjectStorageBackend
from xcomlab.redis import XComRedisBackend
from xcomlab.localfs import XComLocalFsBackend

XCOMLAB = Path(stores.__file__).parent


@pytest.mark.parametrize("url, cls", [
    ("redis://redis_default/xcom/d/r/t/-1/k.json", XComRedisBackend),
    ("file://host-a/opt/airflow/xcom/d/r/t/-1/k.json", XComLocalFsBackend),
    ("s3://aws_default@bucket/xcom/d/r/t/-1/k.json", XComObjectStorageBackend),
    ("gs://google_cloud_default@bucket/xcom", XComObjectStorageBackend),
    ("abfs://wasb_default@container/xcom", XComObjectStorageBackend),
])
def test_the_class_for_a_url_is_the_one_that_declares_its_scheme(url, cls):
    assert stores.store_class(url) is cls


def test_the_cleanup_dags_choices_are_the_declared_families():
    assert inventory.BACKENDS == ("db", "common-io", "xcomlab-objectstorage", "xcomlab-redis", "xcomlab-localfs")


def test_every_xcomlab_option_the_package_reads_is_declared_with_its_type():
    read = set()
    for path in XCOMLAB.rglob("*.py"):
        text = path.read_text()
        read |= set(re.findall(r"conf\.get\w*\(\s*(?:SECTION|\"xcomlab\")\s*,\s*[\"'](\w+)[\"']", text))
    declared = {o.name: o.type for o in stores.options()}
    assert read and read <= set(declared), f"read but not declared: {sorted(read - set(declared))}"
    assert declared["redis_ttl"] == "integer" and declared["store_timeout"] == "float"
    assert lint.schema()["xcomlab"]["redis_max_bytes"]["type"] == "integer"


def test_a_new_store_backend_is_its_class_and_one_line(monkeypatch, tmp_path):
    """A fake store joins through STORE_BACKENDS alone: its URLs, its family, its options and what the lint
    requires of it follow, with no other list to edit."""
    module = types.ModuleType("xcomlab_fake_store")

    class XComFakeBackend(OffloadingXComBackend):
        SCHEMES = ("fake",)
        FAMILY = "xcomlab-fake"
        OPTIONS = (stores.Option("fake_bucket", "string", required="every XCom above the threshold fails to push"),
                   stores.Option("fake_parts", "integer"))

        @classmethod
        def configured_root(cls) -> str:
            return "fake://bucket/xcom"

    XComFakeBackend.__module__, XComFakeBackend.__qualname__ = module.__name__, "XComFakeBackend"
    module.XComFakeBackend = XComFakeBackend
    monkeypatch.setitem(sys.modules, module.__name__, module)
    monkeypatch.setattr(stores, "STORE_BACKENDS", (*stores.STORE_BACKENDS, "xcomlab_fake_store.XComFakeBackend"))
    stores.store_backends.cache_clear()
    try:
        assert stores.store_class("fake://bucket/xcom/d/r/t/-1/k.json") is XComFakeBackend
        assert stores.families()[-1] == "xcomlab-fake"
        assert stores.Store("xcomlab", "fake://bucket/xcom").backend == "xcomlab-fake"
        assert stores.Store("xcomlab", "fake://bucket/xcom") in stores.configured_stores()
        assert {"fake_bucket": "string", "fake_parts": "integer"}.items() <= {o.name: o.type for o in stores.options()}.items()
        assert lint.required()["xcomlab_fake_store.XComFakeBackend"] == [
            ("xcomlab", "fake_bucket", "every XCom above the threshold fails to push")]
        env = write(tmp_path, "fake.env", "AIRFLOW__CORE__XCOM_BACKEND=xcomlab_fake_store.XComFakeBackend\n")
        findings = lint.lint(env_files=[env])
        assert any("AIRFLOW__XCOMLAB__FAKE_BUCKET, which is not set" in f.rule for f in findings), findings
    finally:
        stores.store_backends.cache_clear()


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path
