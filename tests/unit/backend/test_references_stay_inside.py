"""A row's reference is untrusted (Airflow 3's REST API and UI, or SQL, write rows without the backend): for
each backend on a real store, hundreds of generated references (other buckets and folders beside the root,
other connection ids and schemes, `..`, `%2e`, `%2E`, `%252e`, doubled slashes, missing and extra parts,
absolute and relative paths, links planted inside the root) are pulled and purged, and no object outside the
backend's roots is ever read or deleted. A reference is followed only when it is an XCom's own path inside
the backend's root, or inside a root listed in [xcomlab] stores (rows from before a backend switch).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import IDS, push
from xcomlab import errors
from xcomlab.layout import object_path

RUN = IDS["run_id"]
TAIL = ["etl", RUN, "extract", "-1", "return_value.json"]  # the legitimate XCom's path under its root
SENTINEL = "sentinel"
# Path parts a row's writer may use: the layout's own, ways up and around, and names of planted objects.
UPS = ["..", "%2e%2e", "%2E%2E", "%252e%252e", ".%2e", "%2E.", "%2e%2E"]
PARTS = [*UPS, ".", "", "%2e", "%2E", "xcom", "xcom2", "old", "other", "outside", "linked", "escape", *TAIL, "0",
         "+1", "%2F", "a%2Fb", "secret.json", "linked.json", "x.arrow.parquet", "return_value.json.gz"]
NAMES = ["return_value.json", "secret.json", "linked.json", "return_value.parquet", "%2E%2E.json", "..json"]
IDS_PARTS = ["etl", RUN, "extract", "linked", "escape", "..", ".", "a/b", "%2e", "xcom2"]


def reference_strategy(where):
    """References as a row's writer may spell them, each kind about as often: composed from parts; the
    legitimate one with parts changed; canonical paths of generated ids; a planted object named directly,
    respelt; climbing out of the root with `..` spelt every way; canonical paths through planted links, and
    the legitimate one, respelt; the legitimate path under another scheme, connection or host."""
    schemes, hosts, bases = (st.sampled_from(where.schemes), st.sampled_from(where.hosts), st.sampled_from(where.bases))
    composed = st.builds(
        lambda scheme, host, base, parts, name: f"{scheme}://{host}{base}" + "".join(f"/{p}" for p in parts + [name]),
        schemes, hosts, bases, st.lists(st.sampled_from(PARTS) | st.text(alphabet="./%2eE-1x", max_size=6), max_size=8),
        st.sampled_from(NAMES))

    @st.composite
    def mutated(draw):
        parts = f"{where.root_url}/{'/'.join(TAIL)}".split("/")
        for _ in range(draw(st.integers(1, 3))):
            at = draw(st.integers(0, len(parts) - 1))
            part = draw(st.sampled_from(PARTS + where.hosts + [s + ":" for s in where.schemes]))
            how = draw(st.sampled_from(["replace", "insert", "delete", "double"]))
            if how == "replace":
                parts[at] = part
            elif how == "insert":
                parts.insert(at, part)
            elif how == "delete" and len(parts) > 1:
                del parts[at]
            else:
                parts.insert(at, "")
        return "/".join(parts)

    ids = st.sampled_from(IDS_PARTS)
    canonical = st.builds(
        lambda base, dag, run, task, key, suffix: object_path(base, dag_id=dag, run_id=run, task_id=task,
                                                              map_index=-1, key=key, suffix=suffix),
        st.just(where.root_url) | st.builds("{}://{}{}".format, schemes, hosts, bases), ids, ids, ids,
        st.sampled_from(["return_value", "secret", "linked", "..", "x.arrow"]),
        st.sampled_from([".json", ".parquet", ".arrow.parquet", ".json.gz"]))

    @st.composite
    def respelt(draw, urls):
        """One of urls, perhaps with another host, and a `//` or `/./` at one of its slashes."""
        url = draw(st.sampled_from(urls))
        scheme, _, rest = url.partition("://")
        host, _, path = rest.partition("/")
        host = draw(st.just(host) | hosts)
        slashes = [i for i, c in enumerate(path) if c == "/"]
        if slashes and draw(st.booleans()):
            at = draw(st.sampled_from(slashes))
            path = path[:at] + draw(st.sampled_from(["//", "/./", "/%2e/"])) + path[at:]
        return f"{scheme}://{host}/{path}"

    climbing = st.builds(
        lambda depth, up, target: "/".join([where.root_url, *TAIL[:depth], *[up] * (depth + 1), target]),
        st.integers(0, 4), st.sampled_from(UPS), st.sampled_from(where.beside_root))
    legit = f"{where.root_url}/{'/'.join(TAIL)}"
    elsewhere = st.builds("{}://{}/{}".format, schemes, hosts, st.just(legit.partition("://")[2].partition("/")[2]))
    return st.one_of(composed, mutated(), canonical, respelt(where.planted), climbing, respelt([*where.links, legit]),
                     elsewhere)


class Planted:
    """A backend on its store, with sentinel objects around its root and one legitimate XCom inside."""

    def __init__(self, backend, legit_row, references, sentinels: dict, read_sentinels, outside_of_roots):
        self.backend, self.legit_row, self.references = backend, legit_row, references
        self.sentinels, self.read_sentinels, self.outside_of_roots = sentinels, read_sentinels, outside_of_roots

    def check(self, url: str) -> None:
        row = SimpleNamespace(value="xcomlab:ref:" + url, **dict(IDS, key="planted"))
        try:
            value = self.backend.deserialize_value(row)
        except errors.XComOutsideRootError:
            pass
        except Exception as err:  # followed (missing, corrupt, a store error): it must be inside a root
            assert not self.outside_of_roots(url), f"{url} was followed ({type(err).__name__}: {err})"
        else:
            assert not self.outside_of_roots(url), f"{url} was read: {value!r:.100}"
            assert not (isinstance(value, dict) and SENTINEL in value), f"{url} read a sentinel: {value}"
        self.backend.purge(row)
        assert self.read_sentinels() == self.sentinels, f"a purge of {url} deleted or changed a sentinel"
        try:
            self.backend.deserialize_value(SimpleNamespace(value=self.legit_row))
        except errors.XComMissingError:  # a canonical reference to it was purged: the task pushes again
            self.legit_row = push(self.backend, {"legit": "x" * 200})


def sentinel(name: str) -> bytes:
    return json.dumps({SENTINEL: name}).encode()


def files_of(tmp_path: Path, paths: list[Path]):
    def read():
        return {str(p.relative_to(tmp_path)): p.read_bytes() if p.is_file() else None for p in paths}
    return read


def inside(path: str, roots: list[Path]) -> bool:
    real = os.path.realpath(path)
    return any(real.startswith(os.path.realpath(root) + "/") for root in roots)


@pytest.fixture
def file_store(options, tmp_path, monkeypatch):
    """A file:// layout: root tmp/xcom, an older root tmp/old listed in [xcomlab] stores, sentinels beside
    both (tmp/xcom2 shares the root's string prefix), in the working folder (where ObjectStoragePath puts
    file://<host>/<path>), and links planted inside the roots that lead out."""
    monkeypatch.chdir(tmp_path)
    root, old, outside = tmp_path / "xcom", tmp_path / "old", tmp_path / "outside"
    tail = Path(*TAIL)
    paths = [tmp_path / "xcom2" / tail, tmp_path / "other" / tail, tmp_path / "old2" / tail, outside / "secret.json",
             outside / "-1" / "return_value.json", tmp_path / "return_value.json", tmp_path / "secret.json",
             tmp_path / "extract" / "-1" / "return_value.json"]
    paths += [tmp_path / host / str(root).lstrip("/") / tail for host in ("localhost", "host", "x")]
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(sentinel(str(path)))
    links = {root / "etl" / RUN / "extract" / "-1" / "linked.json": outside / "secret.json",
             root / "etl" / RUN / "linked": outside,
             root / "etl" / RUN / "sibling": tmp_path / "xcom2" / "etl" / RUN / "extract",  # /x/xcom2 starts with /x/xcom
             root / "etl" / "escape": tmp_path,
             old / "etl" / RUN / "linked": outside}
    for link, target in links.items():
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(target, target_is_directory=target.is_dir())
    # Canonical paths whose file or folder is one of those links.
    through_links = [f"file://{root}/etl/{RUN}/extract/-1/linked.json", f"file://{root}/etl/{RUN}/linked/-1/return_value.json",
                     f"file://{root}/etl/{RUN}/sibling/-1/return_value.json",
                     f"file://{root}/etl/escape/extract/-1/return_value.json", f"file://{old}/etl/{RUN}/linked/-1/return_value.json"]
    options(threshold=100, stores=f"xcomlab=file://{old}")

    def outside_of_roots(url: str) -> bool:
        # Followed only as the path under a root, whatever the host: localfs reads the path alone, and object
        # storage's own root has none (file://<host>/<path> would be relative to the working folder, where
        # sentinels wait).
        scheme, _, rest = url.partition("://")
        return scheme != "file" or not inside("/" + rest.partition("/")[2], [root, old])

    return SimpleNamespace(
        root=root, read=files_of(tmp_path, paths + list(links)), outside_of_roots=outside_of_roots,
        where=SimpleNamespace(
            root_url=f"file://{root}", schemes=["file", "FILE", "s3", "redis", "memory", "file:"],
            hosts=["", "localhost", "host", "conn@", "x", "user@host"],
            bases=[str(root), str(old), f"{root}2", f"{old}2", str(tmp_path / "other"), str(outside), str(tmp_path),
                   str(root).lstrip("/"), str(root).replace("/xcom", "//xcom"), "/etc", ""],
            planted=[f"file://{p}" for p in paths], beside_root=[str(p.relative_to(tmp_path)) for p in paths],
            links=through_links))


def file_planted(backend, store) -> Planted:
    legit = push(backend, {"legit": "x" * 200})
    return Planted(backend, legit, reference_strategy(store.where), store.read(), store.read, store.outside_of_roots)


# Each test's stores are made once, and its 500 references run against them.
SETTINGS = settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture
def objectstorage_planted(file_store, options):
    from xcomlab.objectstorage import XComObjectStorageBackend

    options(objectstorage_path=f"file://{file_store.root}")
    return file_planted(XComObjectStorageBackend, file_store)


@pytest.fixture
def localfs_planted(file_store, options):
    from xcomlab.localfs import XComLocalFsBackend

    options(localfs_path=str(file_store.root))
    return file_planted(XComLocalFsBackend, file_store)


@SETTINGS
@given(data=st.data())
def test_object_storage_on_file_follows_no_reference_out_of_its_roots(objectstorage_planted, data):
    objectstorage_planted.check(data.draw(objectstorage_planted.references))


@SETTINGS
@given(data=st.data())
def test_localfs_follows_no_reference_out_of_its_roots(localfs_planted, data):
    localfs_planted.check(data.draw(localfs_planted.references))


@pytest.fixture
def redis_planted(redis_xcom, redis_server, options, monkeypatch):
    """Keys under prefix xcom (connection xcom_redis, database 0), an older prefix `old` listed in [xcomlab]
    stores, and sentinels: beside the prefixes, spelt like them but not canonical, and under the very same
    keys in database 1 (connection other_redis)."""
    from xcomlab.redis import XComRedisBackend

    monkeypatch.setenv("AIRFLOW_CONN_OTHER_REDIS", json.dumps({"conn_type": "redis", "host": "127.0.0.1",
                                                               "port": redis_server.port, "extra": {"db": 1}}))
    other = redis_server.client.__class__(port=redis_server.port, db=1)
    tail = "/".join(TAIL)
    keys = {0: [f"xcom2/{tail}", f"old2/{tail}", f"other/{tail}", "secret.json", f"/xcom/{tail}", f"xcom//{tail}",
                f"xcom/../xcom2/{tail}", f"xcom/%2e%2e/xcom2/{tail}", f"xcom/{tail}/", f"XCOM/{tail}", f"xcom/./{tail}"],
            1: [f"xcom/{tail}", f"old/{tail}"]}
    clients = {0: redis_xcom, 1: other}
    for db, names in keys.items():
        for key in names:
            clients[db].set(key, sentinel(f"{db}:{key}"))

    def read():
        return {(db, key): clients[db].get(key) for db, names in keys.items() for key in names}

    def outside_of_roots(url: str) -> bool:
        scheme, _, rest = url.partition("://")
        conn_id, _, key = rest.partition("/")
        return scheme != "redis" or conn_id != "xcom_redis" or not key.startswith(("xcom/", "old/"))

    options(threshold=100, stores="xcomlab=redis://xcom_redis/old")
    where = SimpleNamespace(
        root_url="redis://xcom_redis/xcom", schemes=["redis", "rediss", "file", "s3"],
        hosts=["xcom_redis", "other_redis", "xcom_redis@", "user@xcom_redis", "", "XCOM_REDIS"],
        bases=["/xcom", "/old", "/xcom2", "/old2", "/other", "", "//xcom", "/xcom/"],
        planted=[f"redis://{'xcom_redis' if db == 0 else 'other_redis'}/{key}" for db, names in keys.items() for key in names],
        beside_root=keys[0], links=[f"redis://other_redis/xcom/{tail}"])
    legit = push(XComRedisBackend, {"legit": "x" * 200})
    yield Planted(XComRedisBackend, legit, reference_strategy(where), read(), read, outside_of_roots)
    other.flushdb()


@SETTINGS
@given(data=st.data())
def test_redis_follows_no_reference_out_of_its_roots(redis_planted, data):
    redis_planted.check(data.draw(redis_planted.references))


# --- what must keep working ------------------------------------------------------------------------------

def test_push_pull_and_purge_inside_the_root_still_work(store, options):
    options(threshold=100)
    stored = push(store.backend, {"rows": ["x" * 200]})
    assert stored.startswith("xcomlab:ref:")
    assert store.backend.deserialize_value(SimpleNamespace(value=stored)) == {"rows": ["x" * 200]}
    store.backend.purge(SimpleNamespace(value=stored))
    assert store.contents() == {}


def test_references_written_under_a_listed_root_are_followed(store, options):
    """Rows from before a root changed (a backend switch, a new prefix) stay readable and purgeable once the
    old root is listed in [xcomlab] stores; never before."""
    options(threshold=100)
    old = push(store.backend, "x" * 500)
    if store.root.startswith("redis://"):
        options(redis_prefix="new")
    elif store.backend.__name__ == "XComLocalFsBackend":
        options(localfs_path=store.root.removeprefix("file://") + "-new")
    else:
        options(objectstorage_path=store.root + "-new")
    with pytest.raises(errors.XComOutsideRootError):
        store.backend.deserialize_value(SimpleNamespace(value=old))
    options(stores=f"xcomlab={store.root}")
    assert store.backend.deserialize_value(SimpleNamespace(value=old)) == "x" * 500
    store.backend.purge(SimpleNamespace(value=old))
    assert store.contents() == {}
