"""What the lifecycle tools (xcomlab.cleanup, xcomlab.audit) know about stores and the rows that point into them.

A store is a root URL that holds one XCom backend's objects and nothing else:
- common-io: the provider's `[common.io] xcom_objectstorage_path`; objects `<dag>/<run>/<task>/<uuid4>[.gz…]`,
  the row holds the object's URL as a plain string;
- xcomlab: `[xcomlab] objectstorage_path`, `redis://<redis_conn_id>/<redis_prefix>` or `file://<localfs_path>`;
  objects `<dag>/<run>/<task>/<map_index>/<key><suffix>`, the row holds `xcomlab:ref:<url>`.
`[xcomlab] stores` lists every store a deployment ever wrote to, as comma-separated `<kind>=<root>` pairs
(e.g. `common-io=s3://aws_default@bucket/xcom, xcomlab=redis://redis_default/xcom`); the stores the
current backend's settings name are added to it.

Safety: a plain string is taken for a provider reference only when it lies in a common-io store *and* has the
provider's layout, and an object is only ever an orphan when it has its store's layout: a user's string
"s3://bucket/report.csv" or a stranger's file under the root is never deleted.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from xcomlab import compat, reference

conf = compat.conf()

KINDS = ("common-io", "xcomlab")
# What the cleanup DAG's `backends` parameter selects: rows kept in the DB, and each kind of store.
BACKENDS = ("db", "common-io", "xcomlab-objectstorage", "xcomlab-redis", "xcomlab-localfs")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(\.[a-z0-9]+)?$")


@dataclass(frozen=True)
class StoredObject:
    url: str
    size: int
    modified: datetime | None  # None when the store cannot tell: treated as brand new, so never deleted


def location_key(url: str) -> str:
    """A URL without what does not change where the object is: the connection id, and file:// hosts (the
    localfs backend records the writing host; the folder is what matters)."""
    scheme, _, rest = url.partition("://")
    host, _, path = rest.partition("/")
    host = "" if scheme == "file" else host.rpartition("@")[2]
    return f"{scheme}://{host}/{path}".rstrip("/")


def backend_of_url(url: str) -> str:
    """Which xcomlab backend writes references like this one."""
    scheme = url.partition("://")[0]
    return {"redis": "xcomlab-redis", "file": "xcomlab-localfs"}.get(scheme, "xcomlab-objectstorage")


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
        return "common-io" if self.kind == "common-io" else backend_of_url(self.root)

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
        return backend_class(self.root).list_objects(self.root)


def backend_class(url: str):
    """The xcomlab backend class whose store methods handle this URL (listing, sizing, deleting)."""
    backend = backend_of_url(url)
    if backend == "xcomlab-redis":
        from xcomlab.redis import XComRedisBackend as cls
    elif backend == "xcomlab-localfs":
        from xcomlab.localfs import XComLocalFsBackend as cls
    else:
        from xcomlab.objectstorage import XComObjectStorageBackend as cls
    return cls


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
    stores = parse_stores(conf.get("xcomlab", "stores", fallback=""))
    named = {
        "common-io": conf.get("common.io", "xcom_objectstorage_path", fallback=""),
        "xcomlab": conf.get("xcomlab", "objectstorage_path", fallback=""),
    }
    for kind, root in named.items():
        if root:
            stores.append(Store(kind, root.rstrip("/")))
    if conf.get("xcomlab", "redis_conn_id", fallback=""):
        stores.append(Store("xcomlab", "redis://{}/{}".format(conf.get("xcomlab", "redis_conn_id"),
                                                              conf.get("xcomlab", "redis_prefix", fallback="xcom"))))
    if conf.get("xcomlab", "localfs_path", fallback=""):
        stores.append(Store("xcomlab", "file://" + conf.get("xcomlab", "localfs_path").rstrip("/")))
    unique = {}
    for store in stores:
        unique.setdefault((store.kind, location_key(store.root)), store)
    return list(unique.values())


def referenced_url(value, stores: list[Store]) -> str | None:
    """The object a row's (decoded) value references, or None for a value kept in the row."""
    url = reference.url_of(value)
    if url is not None:
        return url
    if isinstance(value, str) and any(s.kind == "common-io" and s.has_layout(value) for s in stores):
        return value
    return None


def backend_of_row(url: str | None, value) -> str:
    if url is None:
        return "db"
    return backend_of_url(url) if reference.url_of(value) else "common-io"


def store_of(url: str, stores: list[Store]) -> str:
    """The name reports use for where url lives: its configured store, or scheme://bucket."""
    for store in stores:
        if store.relative(url) is not None:
            return str(store)
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.partition('/')[0]} (not in [xcomlab] stores)"
