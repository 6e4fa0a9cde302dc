"""One probe per store, each looking at it from outside Airflow with the store's own client library.

Every probe answers the same questions, so the observer needs to know no backend's layout:
- snapshot(): every object it holds, in every bucket/container/database, as {Item: Meta} (object stores add
  an entry with key BUCKET_KEY per bucket);
- read(item, limit): the object's first bytes (all of them when limit is None);
- delete(item): remove it (the missing-object scenario does so behind Airflow's back);
- put(item, data) / get(item): raw transfers, the physical limit the `big` scenario compares with.
Endpoints are the ports the compose project publishes on 127.0.0.1; each store's probe is built by its entry in
stack/stores.py (Probe.for_sandbox(settings, compose environment)).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Item:
    store: str  # s3://<bucket>, gs://<bucket>, abfs://<container>, redis://db<N>, file://localfs, container://<service>
    key: str  # object key, Redis key, or path

    def __str__(self) -> str:
        return f"{self.store}/{self.key}" if "://" in self.store else f"{self.store}:{self.key}"


BUCKET_KEY = ""  # the key of a bucket's own entry in a snapshot, so that a bucket a backend creates shows


@dataclass(frozen=True)
class Meta:
    size: int
    fingerprint: str = ""  # etag, md5 or mtime: tells a rewritten object from an untouched one


def all_probes(settings: dict[str, str], compose_env: dict[str, str], task_services: list[str]) -> list:
    """Every store of the sandbox (stack/stores.py), plus the containers that run tasks."""
    from xcomlab_harness.probes.containers import ContainerProbe
    from xcomlab_harness.stack.stores import STORES

    return [store.make_probe(settings, compose_env) for store in STORES] + \
        [ContainerProbe(compose_env, s) for s in task_services]
