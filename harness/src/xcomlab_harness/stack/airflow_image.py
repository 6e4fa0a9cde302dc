"""The Airflow image every Airflow service shares, and the project's wheels it installs: the backends users ship
(backend/, `xcomlab`) and the tooling that runs in the components (tooling/, `xcomlab_tools`: lint, MWAA mode)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from xcomlab_harness.stack.compose import compose
from xcomlab_harness.stack.console import run
from xcomlab_harness.stack.paths import CACHE, ROOT
from xcomlab_harness.stack.standins import digest

PACKAGES = (ROOT / "backend", ROOT / "tooling")
WHEEL_DIR = CACHE / "project-wheels"


def package_sources(package: Path) -> list[Path]:
    return sorted(p for p in package.rglob("*") if p.is_file() and p.relative_to(package).parts[0] != "build"
                  and not any(part == "__pycache__" or part.endswith(".egg-info") for part in p.parts))


def build_project_wheels() -> None:
    """Both packages as wheels, built on the host (where pip reaches PyPI for their build backend) and rebuilt
    when a source changes. Built in the image they would need setuptools >= 77 for their license field, and
    that needs packaging >= 24.2, newer than MWAA's 2.9 and 2.10 package sets pin."""
    stamp = WHEEL_DIR / f".{digest(*(p for package in PACKAGES for p in package_sources(package)))}.done"
    if stamp.exists():
        return
    shutil.rmtree(WHEEL_DIR, ignore_errors=True)
    run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", *map(str, PACKAGES), "-w", str(WHEEL_DIR)])
    stamp.touch()


def build_airflow_image(env: dict[str, str], quiet: bool = True) -> None:
    """The image of the settings' Airflow version and mode; a cached build takes about a second."""
    build_project_wheels()
    compose(env, "build", *(["--quiet"] if quiet else []), "airflow-init")
