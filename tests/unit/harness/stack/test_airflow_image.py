"""The backend wheel the Airflow image installs is rebuilt when, and only when, a file it is built from changes."""

from __future__ import annotations

from xcomlab_harness.stack import airflow_image
from xcomlab_harness.stack.airflow_image import BACKEND, backend_sources


def test_the_wheels_sources_are_the_packages_files_and_not_build_leftovers(tmp_path, monkeypatch):
    sources = {p.relative_to(BACKEND).as_posix() for p in backend_sources()}
    assert {"pyproject.toml", "README.md"} <= sources
    assert {p.relative_to(BACKEND).as_posix() for p in (BACKEND / "src" / "xcomlab").rglob("*.py")} <= sources

    for leftover in ("build/lib/xcomlab/base.py", "src/xcom_lab_backends.egg-info/PKG-INFO",
                     "src/xcomlab/__pycache__/base.cpython-311.pyc"):
        (tmp_path / leftover).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / leftover).write_text("x")
    (tmp_path / "src" / "xcomlab" / "base.py").write_text("x")
    monkeypatch.setattr(airflow_image, "BACKEND", tmp_path)
    assert [p.relative_to(tmp_path).as_posix() for p in airflow_image.backend_sources()] == ["src/xcomlab/base.py"]
