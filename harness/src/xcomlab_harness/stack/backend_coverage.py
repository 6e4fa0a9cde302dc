"""`make check` measures the user's backend as it runs: coverage.py in every Python process of the components
that run its code (the scheduler and its tasks: forked, spawned or Celery; Airflow 2's webserver), limited to the
backend's own module or package (compose/custom-backend.yml turns it off where the backend is only imported).

The harness's own coverage.py version is installed for the image's Python into a folder mounted into the
components, with a .pth file mounted into the image's site-packages that starts it (coverage's documented
subprocess hook, `coverage.process_startup()`): a .pth, not PYTHONPATH, which MWAA mode's entrypoint clears as
MWAA does. Each process writes its own data file into a shared folder; after each scenario the harness takes
the files written since the last one, so lines are told per scenario.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping
from importlib.metadata import version

from xcomlab_harness.stack.paths import CACHE

HOST_DIR = CACHE / "check-coverage"
CONTAINER_DIR = "/opt/xcom-lab/coverage"  # site/ (coverage, the .pth, rc) and data/ (one file per process)
RC_PATH = f"{CONTAINER_DIR}/site/coveragerc"
PTH = "xcom-lab-coverage.pth"  # compose/custom-backend.yml mounts it into the image's site-packages
# Python runs a .pth's `import` lines at start-up in every process, after adding its path lines to sys.path.
# coverage.py's hook starts on an empty COVERAGE_PROCESS_START too, measuring all code with default settings: the
# components that only import the backend set it empty, so the line asks first (and then imports nothing).
PTH_TEXT = f"""{CONTAINER_DIR}/site
import os; os.environ.get("COVERAGE_PROCESS_START") and __import__("coverage").process_startup()
"""
RC = """\
[run]
parallel = True
data_file = {container}/data/.coverage
source_pkgs = {module}
# tasks end with os._exit (forked task runners) and components with SIGTERM: save the data first
patch = _exit
sigterm = True
disable_warnings = module-not-imported, no-data-collected, module-not-measured, couldnt-parse
"""


def module_of(xcom_backend: str) -> str:
    """The top-level module or package to measure: `my_xcom.S3XComBackend` -> my_xcom."""
    return xcom_backend.split(".")[0]


def prepare(settings: Mapping[str, str], python: str = "3.11") -> dict[str, str]:
    """coverage.py for the image's Python in HOST_DIR/site, an empty HOST_DIR/data; the components'
    environment that turns it on."""
    site, data = HOST_DIR / "site", HOST_DIR / "data"
    wanted = f"coverage=={version('coverage')} python{python} compiled"
    marker = site / ".installed"
    if not marker.exists() or marker.read_text() != wanted:
        shutil.rmtree(site, ignore_errors=True)
        # compiled: the components cannot write __pycache__ into this mount, and where it is on, each process
        # started would compile coverage.py's modules again (~0.25 s; a .pyc of another Python is ignored)
        subprocess.run(["uv", "pip", "install", "--quiet", "--target", str(site), "--python-version", python,
                        "--python-platform", "x86_64-manylinux_2_36", "--no-deps", "--compile-bytecode",
                        wanted.split()[0]], check=True)
        marker.write_text(wanted)
    (site / PTH).write_text(PTH_TEXT)
    (site / "coveragerc").write_text(RC.format(container=CONTAINER_DIR, module=module_of(settings["XCOM_BACKEND"])))
    # Emptied, not removed: components still running may be writing their last files into it.
    data.mkdir(parents=True, exist_ok=True)
    for old in data.iterdir():
        shutil.rmtree(old, ignore_errors=True) if old.is_dir() else old.unlink(missing_ok=True)
    data.chmod(0o777)  # the components write as uid 50000
    for path in [HOST_DIR, site, *site.rglob("*")]:
        path.chmod(path.stat().st_mode | 0o555 if path.is_dir() else path.stat().st_mode | 0o444)
    return {"COVERAGE_PROCESS_START": RC_PATH}


def harvest(done: str) -> dict[str, set[int]]:
    """Lines per measured file (container paths) in the data files written since the last harvest; the files
    move to data/<done>/ so the next harvest starts afresh."""
    from coverage import CoverageData

    data, lines = HOST_DIR / "data", {}
    if not data.exists():
        return lines
    target = data / done
    target.mkdir(exist_ok=True)
    for path in sorted(p for p in data.glob(".coverage.*") if p.is_file()):
        moved = target / path.name
        try:  # a process that measured nothing erases its own file again: gone is fine
            path.rename(moved)
        except FileNotFoundError:
            continue
        try:
            found = CoverageData(basename=str(moved))
            found.read()
        except Exception:  # noqa: BLE001 - a file still being written by a process that is ending: skip it
            continue
        for measured in found.measured_files():
            lines.setdefault(measured, set()).update(found.lines(measured) or ())
    return lines
