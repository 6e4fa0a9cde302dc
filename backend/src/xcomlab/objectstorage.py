"""xcomlab's object-storage XCom backend, for any ObjectStoragePath (s3, gs, abfs, file).

Big values go to `<[xcomlab] objectstorage_path>/<dag_id>/<run_id>/<task_id>/<map_index>/<key><suffix>`:
`.json[.gz|.bz2|.xz]`, or `.parquet` for DataFrames (see xcomlab.base and xcomlab.codec).
Configuration: AIRFLOW__XCOMLAB__OBJECTSTORAGE_PATH (e.g. s3://aws_default@bucket/xcom), THRESHOLD,
COMPRESSION.

Writes are atomic: one PUT on s3, gs and abfs (an object appears whole or not at all); on a file:// root a
temporary file renamed into place and fsynced, as the localfs backend writes (xcomlab.localfs.write_file).
How long a request to S3, GCS or Azure may take is the connection's setting (e.g. an aws connection's extra
`config_kwargs`: `connect_timeout`, `read_timeout`), not `[xcomlab] store_timeout`.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

from xcomlab import compat
from xcomlab.base import SECTION, OffloadingXComBackend
from xcomlab.stores import ANY, Option, StoredObject
from xcomlab.layout import XComIds
from xcomlab.localfs import write_file

conf = compat.conf()

# Where each fsspec filesystem reports an object's last change: s3fs, adlfs, gcsfs, local.
MODIFIED_FIELDS = ("LastModified", "last_modified", "updated", "mtime")


def _modified(info: dict) -> datetime | None:
    for field in MODIFIED_FIELDS:
        value = info.get(field)
        if isinstance(value, (int, float)):
            return datetime.fromtimestamp(value, timezone.utc)
        if isinstance(value, str):
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if isinstance(value, datetime):
            return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    return None


def _is_local(path) -> bool:
    return "file" in (path.fs.protocol if isinstance(path.fs.protocol, tuple) else (path.fs.protocol,))


class XComObjectStorageBackend(OffloadingXComBackend):
    SCHEMES = (ANY,)
    FAMILY = "xcomlab-objectstorage"
    OPTIONS = (Option("objectstorage_path", "string", required="every XCom above the threshold fails to push"),)

    @classmethod
    def configured_root(cls) -> str:
        return conf.get(SECTION, "objectstorage_path", fallback="").rstrip("/")

    @classmethod
    def object_location(cls, ids: XComIds, suffix: str) -> str:
        return ids.path(conf.get(SECTION, "objectstorage_path"), suffix)

    @classmethod
    def write_object(cls, url: str, data: bytes) -> None:
        path = compat.object_storage_path(url)
        # file:// is written through a temporary file: pipe_file writes a local file in place, so a killed write
        # would leave a truncated object at its name. (No mkdir elsewhere: s3fs, gcsfs and adlfs create a
        # missing bucket on mkdir, and a misspelt bucket must fail the write instead.)
        if _is_local(path):
            write_file(Path(path.path), data)
            return
        # One put (a multipart upload past fsspec's chunk size), so readers never see a partial object; unlike
        # write_bytes, no copy into a write buffer and no 5 MB multipart parts.
        path.fs.pipe_file(path.path, data)

    @classmethod
    def read_object(cls, url: str) -> bytes:
        path = compat.object_storage_path(url)
        return path.fs.cat_file(path.path)  # one GET, without read_bytes' buffered file

    @classmethod
    def delete_object(cls, url: str) -> None:
        compat.object_storage_path(url).unlink(missing_ok=True)

    @classmethod
    def object_size(cls, url: str) -> int:
        return compat.object_storage_path(url).stat().st_size

    @classmethod
    def stat_object(cls, url: str) -> StoredObject:
        path = compat.object_storage_path(url)
        path.fs.invalidate_cache(path.path)  # s3fs and others answer info() from the last listing otherwise
        info = path.fs.info(path.path)
        if info.get("type") == "directory":
            raise FileNotFoundError(url)  # a folder (or prefix) is not an object
        return StoredObject(url, info["size"], _modified(info))

    @classmethod
    def list_objects(cls, root: str) -> Iterator[StoredObject]:
        base = compat.object_storage_path(root)
        folder = base.path.rstrip("/")
        # One paginated listing with sizes and dates, instead of a request per object.
        for path, info in base.fs.find(folder, detail=True).items():
            yield StoredObject(root.rstrip("/") + path[len(folder):], info["size"], _modified(info))
