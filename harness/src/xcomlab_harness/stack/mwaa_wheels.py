"""MWAA mode's requirements.txt, as wheels fetched on the host: containers here reach no index."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping

from xcomlab_harness.stack import mwaa_packages
from xcomlab_harness.stack.console import say
from xcomlab_harness.stack.paths import CACHE
from xcomlab_harness.stack.project import image_python
from xcomlab_harness.stack.settings import airflow_lock, mwaa_dir

MWAA_WHEELS = CACHE / "mwaa-wheels"
# Every manylinux tag the images' glibc (Debian 12's 2.36) runs: pip takes --platform literally, so a wheel tagged
# only manylinux2014 (pycryptodome, cffi...) needs its own.
PLATFORMS = [arg for n in range(36, 4, -1) for arg in ("--platform", f"manylinux_2_{n}_x86_64")] + \
    [arg for tag in ("manylinux2014", "manylinux2010", "manylinux1") for arg in ("--platform", f"{tag}_x86_64")]


def fetch_mwaa_requirements(settings: Mapping[str, str], offline: bool) -> None:
    """The wheels MWAA_DIR/requirements.txt needs under the forced constraints, fetched on the host:
    containers here reach no index. The components pip-install them from this folder at start."""
    MWAA_WHEELS.mkdir(parents=True, exist_ok=True)
    python = image_python(settings, offline)
    requirements = mwaa_dir(settings) / "requirements.txt"
    if not requirements.exists():
        return
    result = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "-r", str(requirements),
         "-c", str(airflow_lock(settings, python)),
         "-c", str(mwaa_packages.forced_constraints_file(settings["AIRFLOW_VERSION"], python)),
         "--only-binary=:all:", "--python-version", python, *PLATFORMS,
         "--find-links", str(CACHE / "wheelhouse"), "-d", str(MWAA_WHEELS)],
        capture_output=True, text=True,
    )
    if result.returncode != 0:  # MWAA starts anyway; so does the stack
        say("requirements.txt cannot be installed with the forced constraints; MWAA would start without it "
            f"(`make mwaa-validate` explains):\n{result.stderr.strip()[-800:]}")
