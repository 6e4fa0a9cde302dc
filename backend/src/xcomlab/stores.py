"""The stores xcomlab knows, below the backends that write them and the lifecycle tools that clean them.

Each of xcomlab's store backends declares itself (xcomlab.base.OffloadingXComBackend): the URL schemes it
handles (SCHEMES, ANY for every scheme no other class claims), its family (the name the cleanup DAG's `backends`
parameter selects it by), its `[xcomlab]` options and the store its current settings name (configured_root).
STORE_BACKENDS lists those classes by import path, so a new store backend is its class plus one line here.

A store is a root URL that holds one XCom backend's objects and nothing else:
- common-io: the provider's `[common.io] xcom_objectstorage_path`; objects `<dag>/<run>/<task>/<uuid4>[.gz…]`,
  the row holds the object's URL as a plain string;
- xcomlab: `[xcomlab] objectstorage_path`, `redis://<redis_conn_id>/<redis_prefix>` or `file://<localfs_path>`;
  objects `<dag>/<run>/<task>/<map_index>/<key><suffix>`, the row holds `xcomlab:ref:<url>`.
`[xcomlab] stores` lists every store a deployment ever wrote to, as comma-separated `<kind>=<root>` pairs
(e.g. `common-io=s3://aws_default@bucket/xcom, xcomlab=redis://redis_default/xcom`); the stores the
current backend's settings name are added to it.

Safety: an object is only ever an XCom's when it has its store's layout (has_layout): a stranger's file under
the root is never deleted.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from xcomlab import compat

conf = compat.conf()

SECTION = "xcomlab"
# xcomlab's store backends, imported on first use: each imports xcomlab.base, which imports this module.
STORE_BACKENDS = ("xcomlab.objectstorage.XComObjectStorageBackend", "xcomlab.redis.XComRedisBackend",
                  "xcomlab.localfs.XComLocalFsBackend")
ANY = "*"  # SCHEMES of the class that takes every scheme no other claims (fsspec's: s3, gs, abfs, file, ...)
KINDS = ("common-io", "xcomlab")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(\.[a-z0-9]+)?$")


@dataclass(frozen=True)
class Option:
    """An `[xcomlab]` option, as Airflow's config schema types it; `required` says what fails without it."""

    name: str
    type: str  # string, integer, float, boolean
    required: str = ""


# Options the lifecycle tools read, besides the backends' own.
LIFECYCLE_OPTIONS = (Option("stores", "string"), Option("metadata_conn_id", "string"),
                     Option("cleanup_schedule", "string"))


@dataclass(frozen=True)
class StoredObject:
    url: str
    size: int
    modified: datetime | None  # None when the store cannot tell: treated as brand new, so never deleted


@cache
def store_backends() -> tuple[type, ...]:
    classes = []
    for path in STORE_BACKENDS:
        module, _, name = path.rpartition(".")
        classes.append(getattr(importlib.import_module(module), name))
    return tuple(classes)


def families() -> tuple[str, ...]:
    return tuple(cls.FAMILY for cls in store_backends())


def options() -> tuple[Option, ...]:
    """Every `[xcomlab]` option: the backends' (base class first) and the lifecycle tools'."""
    found = {}
    for cls in store_backends():
        for klass in reversed(cls.__mro__):
            for option in vars(klass).get("OPTIONS", ()):
                found.setdefault(option.name, option)
    return (*found.values(), *LIFECYCLE_OPTIONS)


def store_class(url: str) -> type:
    """The xcomlab backend class whose store methods handle this URL (listing, sizing, deleting)."""
    scheme = url.partition("://")[0]
    classes = store_backends()
    return next((c for c in classes if scheme in c.SCHEMES), None) or next(c for c in classes if ANY in c.SCHEMES)


def location_key(url: str) -> str:
    """A URL without what does not change where the object is: the connection id, and file:// hosts (the
    localfs backend records the writing host; the folder is what matters)."""
    scheme, _, rest = url.partition("://")
    host, _, path = rest.partition("/")
    host = "" if scheme == "file" else host.rpartition("@")[2]
    return f"{scheme}://{host}/{path}".rstrip("/")


@dataclass(frozen=True)
class Store:
    kind: str  # common-io or xcomlab
    root: str  # e.g. s3://aws_default@bucket/xcom

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"unknown store kind {self.kind!r} in {self}: use one of {', '.join(KINDS)}")
        if "://" not in self.root:
            raise ValueError(f"store root {self.root!r} is not a URL: write e.g. s3://aws_default@bucket/xcom")

    def __str__(self) -> str:
        return f"{self.kind}={self.root}"

    @property
    def backend(self) -> str:
        return "common-io" if self.kind == "common-io" else store_class(self.root).FAMILY

    def relative(self, url: str) -> str | None:
        """The object's path under this store, or None when it lies elsewhere."""
        root, key = location_key(self.root) + "/", location_key(url)
        return key[len(root):] if key.startswith(root) else None

    def has_layout(self, url: str) -> bool:
        """True when url is where this kind of backend puts an XCom (so it may be deleted as one)."""
        parts = (self.relative(url) or "").split("/")
        if self.kind == "common-io":
            return len(parts) == 4 and bool(UUID.match(parts[3]))
        return len(parts) == 5 and parts[3].lstrip("-").isdigit()

    def list(self) -> Iterator[StoredObject]:
        return store_class(self.root).list_objects(self.root)


def parse_stores(spec: str) -> list[Store]:
    stores = []
    for item in filter(None, (part.strip() for part in spec.split(","))):
        kind, sep, root = item.partition("=")
        if not sep:
            raise ValueError(f"store {item!r} has no kind: write <kind>=<root>, kind one of {', '.join(KINDS)}")
        stores.append(Store(kind.strip(), root.strip().rstrip("/")))
    return stores


def configured_stores() -> list[Store]:
    """`[xcomlab] stores`, plus the stores the current backend's settings name; each once."""
    stores = parse_stores(conf.get(SECTION, "stores", fallback=""))
    provider = conf.get("common.io", "xcom_objectstorage_path", fallback="")
    if provider:
        stores.append(Store("common-io", provider.rstrip("/")))
    stores += [Store("xcomlab", root) for root in (cls.configured_root() for cls in store_backends()) if root]
    unique = {}
    for store in stores:
        unique.setdefault((store.kind, location_key(store.root)), store)
    return list(unique.values())
