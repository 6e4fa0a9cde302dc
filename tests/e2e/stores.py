"""The `xcom` bucket of each store, Redis's XCom database and the localfs volume, as the e2e reads them:
which objects lie under a prefix (name -> size), what bytes one holds, and an object's name from the URL a
backend wrote. Built on the harness's probes (xcomlab_harness.probes), which reach every store from outside.
"""

from __future__ import annotations

import json
import re

from xcomlab_harness.probes import Item
from xcomlab_harness.probes.localfs import ROOT as LOCALFS_ROOT
from xcomlab_harness.probes.localfs import LocalFsProbe
from xcomlab_harness.probes.redis import RedisProbe
from xcomlab_harness.stack.compose import compose
from xcomlab_harness.stack.stores import STORES

BUCKET = "xcom"


def bucket_name(url: str) -> str:
    """Object name inside the bucket, from a full URL: scheme://[conn@]xcom/<name>."""
    return re.sub(r"^[a-z0-9]+://([^@/]+@)?xcom/", "", url)


class StoreView:
    """One store of a probe: names relative to it."""

    def __init__(self, probe, store: str, root: str = ""):
        self.probe, self.store, self.root = probe, store, root

    def list(self, prefix: str) -> dict[str, int]:
        return {item.key.removeprefix(self.root): meta.size for item, meta in self.probe.list(self.store, prefix).items()}

    def read(self, name: str) -> bytes:
        return self.probe.read(Item(self.store, self.root + name))

    name_of = staticmethod(bucket_name)


class RedisStore(StoreView):
    """The XCom database of the Redis service (the xcom_redis connection's db)."""

    def __init__(self, settings: dict[str, str], probe: RedisProbe):
        self.db = json.loads(settings["AIRFLOW_CONN_XCOM_REDIS"])["extra"]["db"]
        super().__init__(probe, f"redis://db{self.db}")
        self.client = self.probe.client(self.db)

    @staticmethod
    def name_of(url: str) -> str:
        return url.removeprefix("redis://").partition("/")[2]  # redis://<conn_id>/<key>


class LocalFsStore(StoreView):
    """The localfs-data volume as one service sees it (docker compose exec: find and cat, no Airflow)."""

    def __init__(self, probe: LocalFsProbe):
        super().__init__(probe, probe.store, root=LOCALFS_ROOT + "/")

    def name_of(self, url: str) -> str:
        return url.removeprefix("file://").partition("/")[2].removeprefix(LOCALFS_ROOT.lstrip("/") + "/")


def xcom_views(settings: dict[str, str], compose_env: dict[str, str]) -> dict[str, StoreView]:
    """Where the sandbox's XComs lie in each store of the registry (stack/stores.py): its `xcom` bucket, Redis's
    XCom database, the localfs volume."""
    views = {}
    for store in STORES:
        probe = store.make_probe(settings, compose_env)
        views[store.name] = (RedisStore(settings, probe) if isinstance(probe, RedisProbe)
                             else LocalFsStore(probe) if isinstance(probe, LocalFsProbe)
                             else StoreView(probe, probe.scheme + BUCKET))
    return views


def doctor(compose_env: dict[str, str], *args: str) -> dict:
    """`make doctor` (xcomlab.doctor --json, and args) in the scheduler's container: its report."""
    done = compose(compose_env, "exec", "-T", "airflow-scheduler", "python", "-m", "xcomlab.doctor",
                           "--json", *args, check=False, capture_output=True, text=True)
    assert done.returncode in (0, 1), f"make doctor failed ({done.returncode}): {done.stderr[-2000:]}"
    return json.loads(done.stdout)
