"""REQUIREMENTS=: the backend's own dependencies, installed into every component as MWAA installs requirements.txt:
with the Airflow version's constraints forced, unless the file names its own (a `-c`/`--constraint` line, even
commented out, as MWAA reads it). Containers here reach no index: uv resolves and pip fetches the wheels on the
host, the image build installs them with `--no-index`.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from xcomlab_harness.stack.console import SandboxError
from xcomlab_harness.stack.paths import CACHE
from xcomlab_harness.stack.private_files import write_private
from xcomlab_harness.stack.settings import airflow_lock

# a constraint pip would have to fetch: this machine reaches PyPI only, so the version's lock stands in for it
URL_CONSTRAINT = re.compile(r"^\s*(?:-c|--constraint)[\s=]+[a-z][\w+.-]*://\S+\s*$", re.MULTILINE)
# the resolvers' words for a requirement they cannot satisfy (uv's first, then pip's)
UNSATISFIABLE = re.compile(r"Because (?:there is no version of |only )?(\S+?)(?:==\S+)? (?:was not found|is available|"
                           r"cannot be used|depends)|you require (\S+)|No matching distribution found for (\S+)")

PREFIX = re.compile(r"^(?:cause|error|hint):\s*", re.IGNORECASE)  # the resolvers' own labels, not the reason


class RequirementsFailed(SandboxError):
    """REQUIREMENTS cannot be installed with this version's constraints: the backend cannot load (`loads` fails)."""

    FIX = ("name a requirement that exists at a version the constraints allow (MWAA installs requirements.txt under "
           "the same constraints), or give the file its own -c line to lift them")

    def __init__(self, message: str, requirement: str):
        super().__init__(message)
        self.requirement = requirement


def requirements_file(settings: Mapping[str, str]) -> Path | None:
    return Path(settings["REQUIREMENTS"]).expanduser().resolve() if settings.get("REQUIREMENTS") else None


def fetch(settings: Mapping[str, str], context: Path) -> None:
    """Resolve the file as the image's Python would (uv, beside the version's lock when forced), and fetch the
    packages the image lacks, or has at another version, into context/wheels; context/requirements.txt lists them
    for the image build (compose/airflow/Dockerfile.custom-backend), which installs them with no index."""
    from xcomlab_tools.mwaa.requirements import has_own_constraints, pins  # MWAA's rules; not standard library

    source = requirements_file(settings)
    text = source.read_text()
    kept = URL_CONSTRAINT.sub("", text)
    forced = not has_own_constraints(kept)
    given = source if kept == text else context / "requirements.in"
    if given != source:
        write_private(given, kept)  # its index URLs may carry a token
    lock = airflow_lock(settings)
    resolved = context / "resolved.txt"
    resolved.write_text(_run(["uv", "pip", "compile", "--quiet", "--no-header", "--no-annotate", "--python-version",
                              "3.11.2", "--python-platform", "x86_64-manylinux_2_36", str(given),
                              *(["-c", str(lock)] if forced else [])], source, settings, forced))
    image = pins(lock)
    wanted = [f"{name}=={version}" for name, version in pins(resolved).items() if image.get(name) != version]
    (context / "requirements.txt").write_text("".join(f"{line}\n" for line in wanted))
    wheels = context / "wheels"
    shutil.rmtree(wheels, ignore_errors=True)
    wheels.mkdir(parents=True)
    if wanted:
        _run([sys.executable, "-m", "pip", "wheel", "--quiet", "--disable-pip-version-check", "--no-deps",
              "--find-links", str(CACHE / "wheelhouse"), "-w", str(wheels), *wanted], source, settings, forced)


def _run(cmd: list[str], source: Path, settings: Mapping[str, str], forced: bool) -> str:
    done = subprocess.run(cmd, cwd=source.parent, capture_output=True, text=True)  # the file's relative paths hold
    if done.returncode != 0:
        raise failure(source, settings["AIRFLOW_VERSION"], done.stderr, forced)
    return done.stdout


def failure(source: Path, version: str, stderr: str, forced: bool) -> RequirementsFailed:
    """The resolver's error, naming the requirement it could not install."""
    lines = [PREFIX.sub("", line.strip(" ×╰─▶│")) for line in stderr.splitlines() if line.strip(" ×╰─▶│")]
    named = UNSATISFIABLE.search(stderr)
    requirement = next(g for g in named.groups() if g).rstrip(".,") if named else ""
    under = f"Airflow {version}'s constraints" if forced else "its own constraints"
    what = f"{requirement} cannot be installed" if requirement else "it cannot be installed"
    reason = next((line for line in lines if requirement and requirement in line), lines[-1] if lines else "")
    return RequirementsFailed(f"REQUIREMENTS={source.name}: {what} under {under}: {reason[:300]}", requirement)
