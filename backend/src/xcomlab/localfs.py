"""xcomlab's local-filesystem XCom backend: big values are files under
`<[xcomlab] localfs_path>/<dag_id>/<run_id>/<task_id>/<map_index>/<key><suffix>`, referenced in the row as
`file://<host>/<absolute path>` (the host that wrote it).

Only for one machine, or workers that share the folder (NFS, EFS, one volume): a pull on a host that
lacks the file fails and says so. Writes are atomic (a temporary file `.<name>.<8 random>.tmp` in the same
folder, renamed into place), so a reader never sees half a file, even of a killed write; and durable (the
file, its folder and any folder the write created are fsynced before the push returns). A killed write's
temporary file is removed by a later write of the same XCom once nobody has written to it for
STALE_TEMP_SECONDS. Configuration: AIRFLOW__XCOMLAB__LOCALFS_PATH (an absolute folder), THRESHOLD,
COMPRESSION.
"""

from __future__ import annotations

import errno
import glob
import os
import re
import socket
import stat
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

from xcomlab import compat
from xcomlab.base import SECTION, OffloadingXComBackend
from xcomlab.stores import Option, StoredObject
from xcomlab.layout import XComIds

conf = compat.conf()

SCHEME = "file://"
# The random part tempfile.mkstemp puts in a name: 8 characters of its alphabet.
MKSTEMP_RANDOM = r"[a-z0-9_]{8}"
# A file's mtime moves with every write, so a temporary file untouched this long has no live writer left.
STALE_TEMP_SECONDS = 600
ALTERNATIVES = ("xcomlab.objectstorage.XComObjectStorageBackend (S3, GCS, Azure Blob) or "
                "xcomlab.redis.XComRedisBackend")


def _host_and_path(url: str) -> tuple[str, Path]:
    host, _, path = url.removeprefix(SCHEME).partition("/")
    return host, Path("/" + path)


def write_file(path: Path, data: bytes) -> None:
    """Write path atomically and durably: a temporary file in its folder, fsynced, renamed over path, then the
    folder fsynced so that the rename survives a crash. A reader sees the old file or the new one, never part."""
    _make_folders(path.parent)
    _remove_stale_temps(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o644)  # mkstemp makes it 0600; other users of a shared folder must read it
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)


def _make_folders(folder: Path) -> None:
    """Create folder and its missing parents, each parent fsynced once it holds the new folder."""
    missing = []
    while not folder.is_dir():
        missing.append(folder)
        folder = folder.parent
    for new in reversed(missing):
        new.mkdir(exist_ok=True)
        _fsync_folder(new.parent)


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    except OSError as err:
        # EINVAL: this filesystem cannot sync a folder; its renames are then as durable as it makes them.
        if err.errno != errno.EINVAL:
            raise
    finally:
        os.close(fd)


def _remove_stale_temps(path: Path) -> None:
    """Remove temporary files that killed writes of path left: only path's own (`.x.json.<random>.tmp` is key
    x's, never key x.json's) and only those no writer has touched for STALE_TEMP_SECONDS."""
    own = re.compile(re.escape(f".{path.name}.") + MKSTEMP_RANDOM + r"\.tmp")
    cutoff = time.time() - STALE_TEMP_SECONDS
    for temp in path.parent.glob(glob.escape(f".{path.name}.") + "*.tmp"):
        try:
            if own.fullmatch(temp.name) and temp.stat().st_mtime < cutoff:
                temp.unlink()
        except FileNotFoundError:  # renamed into place, or removed by another writer's cleanup
            pass


def _base() -> str:
    base = conf.get(SECTION, "localfs_path", fallback="")
    if not os.path.isabs(base):
        raise ValueError(f"[xcomlab] localfs_path must be an absolute folder, got {base!r}: set "
                         "AIRFLOW__XCOMLAB__LOCALFS_PATH (e.g. /opt/airflow/xcom)")
    return base


class XComLocalFsBackend(OffloadingXComBackend):
    SCHEMES = ("file",)
    FAMILY = "xcomlab-localfs"
    OPTIONS = (Option("localfs_path", "string", required="every XCom above the threshold fails to push"),)
    NAMES_WRITER = True

    @classmethod
    def configured_root(cls) -> str:
        path = conf.get(SECTION, "localfs_path", fallback="")
        return SCHEME + path.rstrip("/") if path else ""

    @classmethod
    def object_location(cls, ids: XComIds, suffix: str) -> str:
        return SCHEME + socket.gethostname() + ids.path(_base(), suffix)

    @classmethod
    def write_object(cls, url: str, data: bytes) -> None:
        write_file(_host_and_path(url)[1], data)

    @classmethod
    def read_object(cls, url: str) -> bytes:
        return _host_and_path(url)[1].read_bytes()

    @classmethod
    def delete_object(cls, url: str) -> None:
        _host_and_path(url)[1].unlink(missing_ok=True)

    @classmethod
    def object_size(cls, url: str) -> int:
        return _host_and_path(url)[1].stat().st_size

    @classmethod
    def stat_object(cls, url: str) -> StoredObject:
        info = _host_and_path(url)[1].stat()
        if not stat.S_ISREG(info.st_mode):
            raise FileNotFoundError(url)  # a folder is not an object
        return StoredObject(url, info.st_size, datetime.fromtimestamp(info.st_mtime, timezone.utc))

    @classmethod
    def list_objects(cls, root: str) -> Iterator[StoredObject]:
        """Files under root as this host sees them (temporary files of unfinished writes included)."""
        host, base = _host_and_path(root)
        for folder, _, names in os.walk(base):
            for name in names:
                path = Path(folder, name)
                try:
                    info = path.stat()
                except FileNotFoundError:  # deleted or renamed into place since os.walk listed it
                    continue
                yield StoredObject(f"{SCHEME}{host}{path}", info.st_size,
                                   datetime.fromtimestamp(info.st_mtime, timezone.utc))

    @classmethod
    def missing_hint(cls, url: str) -> str:
        written_on, here = _host_and_path(url)[0], socket.gethostname()
        if written_on == here:
            return ""
        return (f"It was written on host {written_on!r} and this task runs on {here!r}: the localfs backend "
                "needs a filesystem every worker shares (NFS, EFS, one volume). Without one, use "
                f"{ALTERNATIVES}.")
