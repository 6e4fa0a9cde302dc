"""The local-filesystem backend: atomic files, the writing host in the reference, and a clear error on a
host that lacks the file."""

import os
import socket

import pytest

from conftest import pull, push
from xcomlab import errors
from xcomlab.localfs import XComLocalFsBackend


@pytest.fixture
def folder(options, tmp_path):
    options(localfs_path=str(tmp_path), threshold=10)
    return tmp_path


def test_reference_records_the_host_and_the_file(folder):
    stored = push(XComLocalFsBackend, "x" * 50, key="k")
    path = folder / "etl/manual__2026-11-21T08:00:00+00:00/extract/-1/k.json"
    assert stored == f"xcomlab:ref:file://{socket.gethostname()}{path}"
    assert path.read_text() == '"' + "x" * 50 + '"'
    assert oct(path.stat().st_mode & 0o777) == oct(0o644)


def test_writes_leave_no_temporary_files(folder):
    push(XComLocalFsBackend, "a" * 50)
    push(XComLocalFsBackend, "b" * 50)  # a retry replaces the file in one rename
    assert [p.name for p in folder.rglob("*") if p.is_file()] == ["return_value.json"]


def test_a_failed_write_leaves_neither_file_nor_temporary(folder, monkeypatch):
    def fail(*args):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        push(XComLocalFsBackend, "x" * 50)
    assert [p for p in folder.rglob("*") if p.is_file()] == []


def test_pull_on_another_host_says_a_shared_filesystem_is_needed(folder):
    stored = push(XComLocalFsBackend, "x" * 50, key="k")
    elsewhere = stored.replace(f"file://{socket.gethostname()}/", "file://worker-a/")
    (folder / "etl/manual__2026-11-21T08:00:00+00:00/extract/-1/k.json").unlink()
    with pytest.raises(errors.XComMissingError, match=r"XCom 'k' of task 'extract'.*written on host 'worker-a'.*"
                                                      r"needs a filesystem every worker shares.*"
                                                      r"XComObjectStorageBackend.*XComRedisBackend"):
        pull(XComLocalFsBackend, elsewhere)


def test_a_relative_folder_is_refused(options):
    options(localfs_path="xcom", threshold=10)
    with pytest.raises(ValueError, match="localfs_path must be an absolute folder, got 'xcom'"):
        push(XComLocalFsBackend, "x" * 50)
