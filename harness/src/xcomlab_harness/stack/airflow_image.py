"""The Airflow image every Airflow service shares, and the backend wheel it installs."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from xcomlab_harness.stack.compose import compose
from xcomlab_harness.stack.console import run
from xcomlab_harness.stack.paths import CACHE, ROOT
from xcomlab_harness.stack.standins import digest

BACKEND = ROOT / "backend"
BACKEND_WHEEL_DIR = CACHE / "backend-wheel"


def backend_sources() -> list[Path]:
    return sorted(p for p in BACKEND.rglob("*") if p.is_file() and p.relative_to(BACKEND).parts[0] != "build"
                  and not any(part == "__pycache__" or part.endswith(".egg-info") for part in p.parts))


def build_backend_wheel() -> None:
    """backend/ as a wheel, built on the host (where pip reaches PyPI for its build backend) and rebuilt when a
    source changes. Built in the image it would need setuptools >= 77 for its license field, and that needs
    packaging >= 24.2, newer than MWAA's 2.9 and 2.10 package sets pin."""
    stamp = BACKEND_WHEEL_DIR / f".{digest(*backend_sources())}.done"
    if stamp.exists():
        return
    shutil.rmtree(BACKEND_WHEEL_DIR, ignore_errors=True)
    run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", str(BACKEND), "-w", str(BACKEND_WHEEL_DIR)])
    stamp.touch()


def build_airflow_image(env: dict[str, str], quiet: bool = True) -> None:
    """The image of the settings' Airflow version and mode; a cached build takes about a second."""
    build_backend_wheel()
    compose(env, "build", *(["--quiet"] if quiet else []), "airflow-init")
