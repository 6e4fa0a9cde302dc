"""The local-filesystem backend: atomic and durable files, the writing host in the reference, and a clear
error on a host that lacks the file."""

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from conftest import IDS, pull, push
from xcomlab import errors
from xcomlab.localfs import XComLocalFsBackend

RUN = "etl/manual__2026-11-21T08:00:00+00:00/extract/-1"

# A push in a process the kernel kills (SIGXFSZ) once the file it writes passes 1000 bytes: a worker killed
# mid-write, with no Python left to clean up. argv: the backend class, the XCom ids as JSON.
KILLED_PUSH = """
import importlib, json, resource, signal, sys
module, name = sys.argv[1].rsplit(".", 1)
backend = getattr(importlib.import_module(module), name)
resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
signal.signal(signal.SIGXFSZ, signal.SIG_DFL)  # Python ignores it; by default the kernel kills the writer
resource.setrlimit(resource.RLIMIT_FSIZE, (1000, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
backend.serialize_value("b" * 5000, **json.loads(sys.argv[2]))
"""


def killed_push(backend: str, key: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", KILLED_PUSH, backend, json.dumps(dict(IDS, key=key))],
                          capture_output=True, text=True, timeout=120)


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


def test_a_write_killed_midway_leaves_the_previous_file_whole(folder):
    stored = push(XComLocalFsBackend, "a" * 50, key="k")
    killed = killed_push("xcomlab.localfs.XComLocalFsBackend", "k")
    assert killed.returncode == -signal.SIGXFSZ, killed.stderr  # killed while writing the 5002-byte value
    assert pull(XComLocalFsBackend, stored) == "a" * 50
    [partial] = (folder / RUN).glob(".k.json.*.tmp")  # the killed write's bytes stayed in its temporary file
    assert partial.stat().st_size == 1000


def test_the_file_and_every_folder_it_needed_are_fsynced_before_the_push_returns(folder, monkeypatch):
    synced = []
    real_fsync = os.fsync

    def fsync(fd):
        real_fsync(fd)
        synced.append((os.readlink(f"/proc/self/fd/{fd}"), (folder / RUN / "k.json").exists()))

    monkeypatch.setattr(os, "fsync", fsync)
    push(XComLocalFsBackend, "x" * 50, key="k")
    renamed = [path for path, done in synced if done]
    assert renamed == [str(folder / RUN)], "the folder is synced after the rename, and last"
    new_entries = {str(folder / RUN).rsplit("/", n)[0] for n in range(1, 5)}  # each gained a new folder
    assert new_entries <= {path for path, _ in synced}
    assert any(".k.json." in path for path, _ in synced), "the file's own data is synced before the rename"


def test_cleanup_removes_only_this_xcoms_temporary_files_that_no_writer_touched_for_ten_minutes(folder):
    (folder / RUN).mkdir(parents=True)
    hour_ago = time.time() - 3600
    killed = folder / RUN / ".x.json.abcd_123.tmp"  # a killed write of key x
    writing = folder / RUN / ".x.json.efgh_456.tmp"  # another try of key x, writing now
    other_key = folder / RUN / ".x.json.json.ijkl_789.tmp"  # a killed write of key x.json: its own to clean
    for temp in (killed, writing, other_key):
        temp.write_bytes(b"partial")
    for temp in (killed, other_key):
        os.utime(temp, (hour_ago, hour_ago))
    push(XComLocalFsBackend, "x" * 50, key="x")
    assert not killed.exists()
    assert writing.exists() and other_key.exists()


def test_keys_x_and_x_json_written_at_once_in_one_folder_both_land(folder, monkeypatch):
    real_replace = os.replace
    x_done = threading.Event()

    def replace(src, dst):
        if str(dst).endswith("/x.json.json"):  # key x.json: its data is written; rename once key x is pushed
            assert x_done.wait(30)
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    stored, failures = {}, []

    def push_x_json():
        try:
            stored["x.json"] = push(XComLocalFsBackend, "j" * 50, key="x.json")
        except Exception as err:
            failures.append(err)

    writer = threading.Thread(target=push_x_json)
    writer.start()
    try:
        time.sleep(0.2)  # key x.json's temporary file exists
        stored["x"] = push(XComLocalFsBackend, "x" * 50, key="x")
    finally:
        x_done.set()
        writer.join()
    assert failures == []
    assert pull(XComLocalFsBackend, stored["x"]) == "x" * 50
    assert pull(XComLocalFsBackend, stored["x.json"]) == "j" * 50


def test_a_temporary_file_removed_midwrite_is_not_called_a_missing_bucket(folder, monkeypatch):
    real_replace = os.replace

    def replace(src, dst):
        os.unlink(src)  # e.g. an operator's cleanup of the folder
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(errors.XComStoreError, match=r"XCom 'k' of task 'extract'.*cannot write file://") as caught:
        push(XComLocalFsBackend, "x" * 50, key="k")
    assert "bucket" not in str(caught.value)
    assert "No such file or directory" in str(caught.value)


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
