"""xcomlab's local-filesystem XCom backend: big values are files under
`<[xcomlab] localfs_path>/<dag_id>/<run_id>/<task_id>/<map_index>/<key><suffix>`, referenced in the row as
`file://<host>/<absolute path>` (the host that wrote it).

Only for one machine, or workers that share the folder (NFS, EFS, one volume): a pull on a host that
lacks the file fails and says so. Writes are atomic (a temporary file renamed into place), so a reader
never sees half a file. Configuration: AIRFLOW__XCOMLAB__LOCALFS_PATH (an absolute folder), THRESHOLD,
COMPRESSION.
"""

from __future__ import annotations

import glob
import os
import socket
import tempfile
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

from xcomlab import compat
from xcomlab.base import SECTION, OffloadingXComBackend
from xcomlab.inventory import StoredObject
from xcomlab.layout import XComIds

conf = compat.conf()

SCHEME = "file://"
ALTERNATIVES = ("xcomlab.objectstorage.XComObjectStorageBackend (S3, GCS, Azure Blob) or "
                "xcomlab.redis.XComRedisBackend")


def _host_and_path(url: str) -> tuple[str, Path]:
    host, _, path = url.removeprefix(SCHEME).partition("/")
    return host, Path("/" + path)


def _base() -> str:
    base = conf.get(SECTION, "localfs_path", fallback="")
    if not os.path.isabs(base):
        raise ValueError(f"[xcomlab] localfs_path must be an absolute folder, got {base!r}: set "
                         "AIRFLOW__XCOMLAB__LOCALFS_PATH (e.g. /opt/airflow/xcom)")
    return base


class XComLocalFsBackend(OffloadingXComBackend):
    @classmethod
    def object_location(cls, ids: XComIds, suffix: str) -> str:
        return SCHEME + socket.gethostname() + ids.path(_base(), suffix)

    @classmethod
    def write_object(cls, url: str, data: bytes) -> None:
        path = _host_and_path(url)[1]
        path.parent.mkdir(parents=True, exist_ok=True)
        for stale in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
            stale.unlink(missing_ok=True)  # a write of this XCom that was killed: its retry replaces it
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
