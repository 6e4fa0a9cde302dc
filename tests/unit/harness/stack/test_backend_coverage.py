"""The backend's own lines, measured in the containers (xcomlab_harness.stack.backend_coverage): what `prepare`
mounts, and how `harvest` tells each scenario's lines from the data files the processes wrote."""

import os
import subprocess
import sys
from importlib.metadata import version

import pytest
from coverage import CoverageData

from xcomlab_harness.stack import backend_coverage

PLUGIN = "/opt/airflow/plugins/my_xcom.py"


@pytest.fixture
def host_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(backend_coverage, "HOST_DIR", tmp_path / "check-coverage")
    return tmp_path / "check-coverage"


def process_wrote(host_dir, name: str, lines: dict[str, list[int]]) -> None:
    """What coverage.py writes in one component's process (parallel = True: .coverage.<host>.<pid>.<random>)."""
    (host_dir / "data").mkdir(parents=True, exist_ok=True)
    data = CoverageData(basename=str(host_dir / "data" / f".coverage.{name}"))
    data.add_lines(lines)
    data.write()


def test_the_backends_top_module_is_measured():
    assert backend_coverage.module_of("my_xcom.S3XComBackend") == "my_xcom"
    assert backend_coverage.module_of("acme_xcom.backend.AcmeS3XComBackend") == "acme_xcom"


def test_lines_of_every_process_are_merged_per_file(host_dir):
    process_wrote(host_dir, "scheduler.11.a", {PLUGIN: [1, 2, 5]})
    process_wrote(host_dir, "task.12.b", {PLUGIN: [5, 9], "/opt/airflow/plugins/helpers.py": [3]})
    assert backend_coverage.harvest("toy") == {PLUGIN: {1, 2, 5, 9}, "/opt/airflow/plugins/helpers.py": {3}}


def test_each_scenario_gets_only_the_lines_run_since_the_last_one(host_dir):
    process_wrote(host_dir, "task.12.b", {PLUGIN: [1, 2]})
    assert backend_coverage.harvest("toy") == {PLUGIN: {1, 2}}
    process_wrote(host_dir, "task.13.c", {PLUGIN: [7]})
    assert backend_coverage.harvest("types") == {PLUGIN: {7}}
    assert backend_coverage.harvest("shapes") == {}
    assert [p.name for p in (host_dir / "data" / "toy").iterdir()] == [".coverage.task.12.b"]  # kept, per scenario


def test_a_data_file_still_being_written_is_skipped_not_fatal(host_dir):
    process_wrote(host_dir, "task.12.b", {PLUGIN: [1, 2]})
    (host_dir / "data" / ".coverage.task.13.c").write_bytes(b"SQLite format 3\x00 cut short")
    assert backend_coverage.harvest("toy") == {PLUGIN: {1, 2}}


def test_nothing_measured_yet_is_no_lines(host_dir):
    assert backend_coverage.harvest("loads") == {}


def test_prepare_limits_coverage_to_the_backend_and_starts_each_check_afresh(host_dir):
    site = host_dir / "site"
    site.mkdir(parents=True)
    (site / ".installed").write_text(f"coverage=={version('coverage')} python3.12 compiled")  # installed: no download
    process_wrote(host_dir, "task.12.b", {PLUGIN: [1]})  # a previous check's
    env = backend_coverage.prepare({"XCOM_BACKEND": "acme_xcom.backend.AcmeS3XComBackend"}, python="3.12")
    assert env == {"COVERAGE_PROCESS_START": "/opt/xcom-lab/coverage/site/coveragerc"}  # no PYTHONPATH: MWAA clears it
    assert (site / "xcom-lab-coverage.pth").read_text().splitlines()[0] == "/opt/xcom-lab/coverage/site"
    rc = (site / "coveragerc").read_text()
    assert "source_pkgs = acme_xcom\n" in rc and "data_file = /opt/xcom-lab/coverage/data/.coverage\n" in rc
    assert list((host_dir / "data").iterdir()) == []
    assert (host_dir / "data").stat().st_mode & 0o777 == 0o777  # the components write as uid 50000


def test_a_file_erased_by_its_own_process_before_the_harvest_takes_it_is_skipped(host_dir, monkeypatch):
    """coverage.py erases the data file of a process that measured nothing when it saves: between the
    listing and the move the file may be gone."""
    process_wrote(host_dir, "healthcheck.13.c", {PLUGIN: [1]})
    process_wrote(host_dir, "task.14.d", {PLUGIN: [7]})
    rename = type(host_dir).rename

    def erased_first(self, target):
        if "healthcheck" in self.name:
            self.unlink()
            raise FileNotFoundError(self)
        return rename(self, target)

    monkeypatch.setattr(type(host_dir), "rename", erased_first)
    assert backend_coverage.harvest("toy") == {PLUGIN: {7}}


@pytest.mark.parametrize("start, measured", [(None, False), ("", False), ("rc", True)],
                         ids=["unset", "empty (the components that only import the backend)", "the rc"])
def test_the_pth_measures_a_process_only_when_asked(tmp_path, start, measured):
    """Python runs the .pth at start-up: coverage.py traces the process only when COVERAGE_PROCESS_START names
    its rc. An empty value must not start it (coverage.py's own hook would: every line, at twice the CPU)."""
    site = tmp_path / "site"
    site.mkdir()
    (site / backend_coverage.PTH).write_text(backend_coverage.PTH_TEXT)
    (tmp_path / "rc").write_text(f"[run]\ndata_file = {tmp_path}/.coverage\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("COVERAGE_")}
    if start is not None:
        env["COVERAGE_PROCESS_START"] = str(tmp_path / start) if start else ""
    done = subprocess.run([sys.executable, "-c", f"import site, sys; site.addsitedir({str(site)!r}); "
                           "print(sys.gettrace() is not None, 'coverage' in sys.modules)"],
                          env=env, capture_output=True, text=True, check=True)
    assert done.stdout.split() == [str(measured), str(measured)]
