"""The registry of the sandbox's stores (xcomlab_harness.stack.stores): what lists stores reads it, so a new store
is its entry, its probe and its compose service."""

from __future__ import annotations

import sys
import types
from dataclasses import dataclass

from xcomlab_harness.probes import Item, Meta, all_probes
from xcomlab_harness.stack import connections, stores
from xcomlab_harness.stack.settings import load_settings
from xcomlab_harness.stack.stores import STORES, Store

BACKEND = '''
from airflow.providers.ceph.hooks.rgw import RgwHook


class CephXComBackend(BaseXCom):
    @staticmethod
    def serialize_value(value, **kwargs):
        hook = RgwHook(rgw_conn_id="my_rgw")
        hook.put(f"rgw://other_rgw@bucket/{kwargs['key']}", value)
'''


@dataclass
class FakeRgwProbe:
    settings: dict
    name = "rgw"
    scheme = "rgw://"

    @classmethod
    def for_sandbox(cls, settings, compose_env):
        return cls(settings)

    def snapshot(self) -> dict[Item, Meta]:
        return {Item("rgw://xcom", "a.json"): Meta(2)}


def test_a_new_store_is_one_entry(monkeypatch, tmp_path):
    """A fake Ceph RGW emulator registered in STORES alone: the check observes it, its connection ids in a
    backend's code are found and pointed at its emulator, and its tutorial id joins the defaults."""
    module = types.ModuleType("fake_rgw_probe")
    module.FakeRgwProbe = FakeRgwProbe
    monkeypatch.setitem(sys.modules, module.__name__, module)
    rgw = Store("rgw", "ceph-rgw", "AIRFLOW_CONN_XCOM_RGW", "AIRFLOW_CONN_RGW_DEFAULT", "fake_rgw_probe:FakeRgwProbe",
                "xcomlab.objectstorage.XComObjectStorageBackend", schemes=("rgw",), arguments=("rgw_conn_id",),
                hooks=("RgwHook",), words=("ceph", "rgw"), aliases=("ceph",))
    monkeypatch.setattr(stores, "STORES", (*STORES, rgw))
    settings = dict(load_settings(environ={}),  # the probes are built, not connected: no stack needed
                    AIRFLOW_CONN_XCOM_RGW='{"conn_type": "aws", "extra": {"endpoint_url": "http://ceph-rgw:7480"}}')

    probes = all_probes(settings, {}, [])
    assert isinstance(probes[-1], FakeRgwProbe) and probes[-1].snapshot()
    (tmp_path / "backend.py").write_text(BACKEND)
    assert connections.discover(tmp_path, {}) == {"my_rgw": "rgw", "other_rgw": "rgw"}
    assert connections.parse("mine=ceph") == {"mine": "rgw"}
    variables, _ = connections.deliver({"my_rgw": "rgw"}, settings, {}, "/opt/xcom-lab/connections.json")
    assert variables["AIRFLOW_CONN_MY_RGW"] == settings["AIRFLOW_CONN_XCOM_RGW"]
    assert connections.default_connections()["AIRFLOW_CONN_RGW_DEFAULT"] == "AIRFLOW_CONN_XCOM_RGW"


def test_every_store_names_its_connection_in_env_and_its_service_in_compose():
    from xcomlab_harness.stack.env_files import read_dotenv
    from xcomlab_harness.stack.paths import COMPOSE_DIR, DOTENV

    env, compose = read_dotenv(DOTENV), (COMPOSE_DIR / "docker-compose.yml").read_text()
    for store in STORES:
        assert not store.connection or store.connection in env, store.name
        assert not store.service or f"\n  {store.service}:\n" in compose, store.name
