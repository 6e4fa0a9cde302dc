"""What the lifecycle tools (xcomlab.cleanup, xcomlab.audit) know about the rows that point into stores
(xcomlab.stores: the stores themselves).

Safety: a plain string is taken for a provider reference only when it lies in a common-io store *and* has the
provider's layout, and an object is only ever an orphan when it has its store's layout: a user's string
"s3://bucket/report.csv" or a stranger's file under the root is never deleted.
"""

from __future__ import annotations

from xcomlab import reference
from xcomlab.stores import Store, families, store_class

# What the cleanup DAG's `backends` parameter selects: rows kept in the DB, and each kind of store.
BACKENDS = ("db", "common-io", *families())


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
    return store_class(url).FAMILY if reference.url_of(value) else "common-io"


def store_of(url: str, stores: list[Store]) -> str:
    """The name reports use for where url lives: its configured store, or scheme://bucket."""
    for store in stores:
        if store.relative(url) is not None:
            return str(store)
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.partition('/')[0]} (not in [xcomlab] stores)"
