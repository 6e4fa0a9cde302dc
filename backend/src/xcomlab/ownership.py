"""Who owns a store root: the metadata DB whose rows the root's objects answer to.

The lifecycle tools take an object no row references for an orphan, so they may only judge a root whose
every XCom is written by one deployment. Each root holds a marker, `<root>/.xcomlab-owner.json`
({"owner": <metadata.identity>, "claimed_at": ...}), written with the store's own write_object; it lies outside
every XCom layout, so the audit lists it as foreign and never deletes it.
- unowned (no marker): the first run that deletes (`doctor --fix`, the cleanup) claims the root; plain audits and
  dry runs only report it;
- ours: the marker names this metadata DB;
- other: it names another one: nothing under the root is deleted, and the report names both;
- unknown: the marker cannot be read (store error, not a marker): nothing under the root is deleted.
Two deployments that both find a root unowned and claim it at the same moment: each reads the marker back after
writing it, so at most the later one goes on (a store without conditional writes cannot do better).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone

from xcomlab.stores import Store, store_class

MARKER = ".xcomlab-owner.json"
UNOWNED, OURS, OTHER, UNKNOWN = "unowned", "ours", "other", "unknown"


@dataclass(frozen=True)
class Ownership:
    store: str
    marker: str  # the marker's URL
    state: str  # UNOWNED, OURS, OTHER or UNKNOWN
    ours: str  # this metadata DB's identity
    owner: str | None = None  # the identity the marker names
    error: str = ""  # why the marker could not be read

    def describe(self) -> str:
        if self.state == OURS:
            return "owned by this metadata DB"
        if self.state == UNOWNED:
            return "unowned (the first --fix or cleanup run claims it)"
        if self.state == OTHER:
            return f"owned by another metadata DB ({self.owner})"
        return f"owner unknown: {self.marker} cannot be read ({self.error})"

    def refusal(self) -> str:
        """Why nothing under this root is deleted, and what to do (OTHER and UNKNOWN only)."""
        if self.state == OTHER:
            return (f"{self.store}: nothing deleted: the root belongs to another metadata DB ({self.owner}), this "
                    f"one is {self.ours}. Two deployments sharing a root would delete each other's XComs: give each "
                    f"its own root or prefix. If {self.owner} is this same DB reached another way, or is gone for "
                    f"good, delete {self.marker} and run again.")
        return (f"{self.store}: nothing deleted: its ownership marker {self.marker} cannot be read ({self.error}). "
                f"Fix access to the store, or delete the marker if it is not xcomlab's, and run again.")


def marker_url(root: str) -> str:
    return root.rstrip("/") + "/" + MARKER


def read(store: Store, ours: str) -> Ownership:
    """What the root's marker says, without writing anything."""
    url = marker_url(store.root)
    try:
        data = store_class(store.root).read_object(url)
    except FileNotFoundError:
        return Ownership(str(store), url, UNOWNED, ours)
    except Exception as err:
        return Ownership(str(store), url, UNKNOWN, ours, error=f"{type(err).__name__}: {err}")
    try:
        owner = json.loads(data)["owner"]
        if not isinstance(owner, str):
            raise TypeError("owner is not a string")
    except (ValueError, KeyError, TypeError) as err:
        return Ownership(str(store), url, UNKNOWN, ours, error=f"not an ownership marker ({err})")
    return Ownership(str(store), url, OURS if owner == ours else OTHER, ours, owner)


def claim(store: Store, ours: str) -> Ownership:
    """The root's ownership, after claiming it for ours if it had no owner."""
    found = read(store, ours)
    if found.state != UNOWNED:
        return found
    url = marker_url(store.root)
    marker = {"owner": ours, "claimed_at": datetime.now(timezone.utc).isoformat()}
    try:
        store_class(store.root).write_object(url, json.dumps(marker).encode())
        if url.startswith("redis://"):  # [xcomlab] redis_ttl is for XComs: the marker must outlive them
            from xcomlab.redis import _split

            client, key = _split(url)
            client.persist(key)
    except Exception as err:
        return Ownership(str(store), url, UNKNOWN, ours, error=f"claiming it failed: {type(err).__name__}: {err}")
    return read(store, ours)  # a deployment claiming at the same moment: the marker read back decides
