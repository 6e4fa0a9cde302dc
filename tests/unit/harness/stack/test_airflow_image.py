"""The wheels the Airflow image installs are rebuilt when, and only when, a file they are built from changes."""

from __future__ import annotations

from xcomlab_harness.stack.airflow_image import PACKAGES, package_sources


def test_the_wheels_sources_are_the_packages_files_and_not_build_leftovers(tmp_path):
    for package, name in zip(PACKAGES, ("xcomlab", "xcomlab_tools")):
        sources = {p.relative_to(package).as_posix() for p in package_sources(package)}
        assert "pyproject.toml" in sources
        assert {p.relative_to(package).as_posix() for p in (package / "src" / name).rglob("*.py")} <= sources

    for leftover in ("build/lib/xcomlab/base.py", "src/xcom_lab_backends.egg-info/PKG-INFO",
                     "src/xcomlab/__pycache__/base.cpython-311.pyc"):
        (tmp_path / leftover).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / leftover).write_text("x")
    (tmp_path / "src" / "xcomlab" / "base.py").write_text("x")
    assert [p.relative_to(tmp_path).as_posix() for p in package_sources(tmp_path)] == ["src/xcomlab/base.py"]
