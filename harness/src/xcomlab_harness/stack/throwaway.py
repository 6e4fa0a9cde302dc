"""Checks that need this version's image but no stack: each runs in a throwaway scheduler container of the image
lifecycle.prepare readied."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from xcomlab_harness.stack.compose import compose
from xcomlab_harness.stack.console import SandboxError

LINT_DIR = "/tmp/xcom-lab-lint"


def mwaa_validate(env: dict[str, str]) -> int:
    """The preflight, in a throwaway container of the MWAA-mode image: no stack, no database."""
    return compose(env, "run", "--rm", "--no-deps", "-T", "airflow-scheduler",
                   "python", "-m", "xcomlab_tools.mwaa.preflight", check=False).returncode


def mwaa_freeze(settings: Mapping[str, str], env: dict[str, str], python: str) -> int:
    """`pip freeze` in a throwaway container of MWAA mode's image against MWAA's pins for the version: 0 when they
    agree (but for the pins named as having no release for this Python), 1 naming each package that differs."""
    from xcomlab_harness.stack import mwaa_packages

    freeze = compose(env, "run", "--rm", "--no-deps", "-T", "airflow-scheduler", "python", "-m", "pip", "freeze",
                     capture_output=True, text=True).stdout
    version = settings["AIRFLOW_VERSION"]
    mismatches = mwaa_packages.freeze_mismatches(version, python, freeze)
    named = mwaa_packages.differences(version, python)
    print(f"MWAA {version} on Python {python}: " + (
        "pip freeze differs from MWAA's pins: " + "; ".join(mismatches) if mismatches
        else "pip freeze = MWAA's constraints for every package both list"
        + (f", but as named: {'; '.join(named)}" if named else "")))
    return 1 if mismatches else 0


def lint(env: dict[str, str], files: list[str]) -> int:
    """xcomlab_tools.lint on the files, in a throwaway container of this version's image (its schema, its
    providers): .json as MWAA options, .cfg as airflow.cfg, anything else as KEY=VALUE lines."""
    mounts, args = [], []
    for n, name in enumerate(files):
        path = Path(name).resolve()
        if not path.is_file():
            raise SandboxError(f"{name}: no such file to lint")
        target = f"{LINT_DIR}/{n}/{path.name}"  # findings name the file as the user does
        mounts += ["-v", f"{path}:{target}:ro"]
        args += [{".json": "--options", ".cfg": "--cfg"}.get(path.suffix, "--env"), target]
    return compose(env, "run", "--rm", "--no-deps", "-T", *mounts, "airflow-scheduler",
                   "python", "-m", "xcomlab_tools.lint", *args, check=False).returncode
