"""The settings in force: .env overlaid with the environment (as compose does), validated in one place.

Settings stays a dict of the strings compose gets, so callers may copy it with overrides
(`dict(settings, KEY=value)`) and hand the copy back; every function taking settings accepts any mapping.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

from xcomlab_harness.stack.connections import custom_connections
from xcomlab_harness.stack.console import SandboxError
from xcomlab_harness.stack.env_files import interpolate, read_dotenv
from xcomlab_harness.stack.paths import COMPOSE_DIR, DOTENV, ROOT

# Keys the compose project cannot run without; each one is explained in .env.
REQUIRED_KEYS = (
    "AIRFLOW_VERSION", "BACKEND", "XCOM_THRESHOLD", "S3_EMULATOR", "OFFLINE",
    "AIRFLOW_ADMIN_USER", "AIRFLOW_ADMIN_PASSWORD", "AIRFLOW_JWT_SECRET", "AIRFLOW_FERNET_KEY",
    "POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB", "S3_ACCESS_KEY", "S3_SECRET_KEY",
    "AIRFLOW_CONN_XCOM_S3", "AIRFLOW_CONN_XCOM_GCS", "AIRFLOW_CONN_XCOM_AZURE", "AIRFLOW_CONN_XCOM_REDIS",
    "MWAA", "MWAA_DIR", "PROFILE", "WORKERS",
)
# A user's own backend (`make check`), given in the environment only: XCOM_BACKEND=module.Class, and
# optionally BACKEND_SRC (a .py file or a folder) and BACKEND_ENV (its settings and connections).
# CONNECTIONS=my_s3=s3,wasb-default=azure points the backend's own connection ids at the emulators.
CUSTOM_KEYS = ("XCOM_BACKEND", "BACKEND_SRC", "BACKEND_ENV", "REQUIREMENTS", "CONNECTIONS")
S3_EMULATORS = ("minio", "ministack", "moto")
OFFLINE_VALUES = ("auto", "0", "1")
PROFILES = ("local", "celery")
DEFAULT_PORT = "8080"  # AIRFLOW_PORT is optional: compose publishes the API server there by default


class Settings(dict[str, str]):
    """The raw KEY=VALUE strings, with typed views of the ones the driver decides on."""

    @property
    def version(self) -> str:
        return self["AIRFLOW_VERSION"]

    @property
    def major(self) -> int:
        return int(self.version.split(".")[0])

    @property
    def mwaa(self) -> bool:
        return self["MWAA"] == "1"

    @property
    def celery(self) -> bool:
        """Tasks run on Celery workers: PROFILE=celery, and MWAA mode (MWAA runs every task on workers of its own)."""
        return self["PROFILE"] == "celery" or self.mwaa

    @property
    def workers(self) -> int:
        return int(self["WORKERS"])

    @property
    def offline_choice(self) -> bool | None:
        """OFFLINE=1 or 0 as True or False; None for auto (probe the registry, or ask the last up)."""
        return None if self["OFFLINE"] == "auto" else self["OFFLINE"] == "1"

    @property
    def s3_emulator(self) -> str:
        return self["S3_EMULATOR"]

    @property
    def xcom_backend(self) -> str:
        """The user's class under test (`make check`); empty for the sandbox's own BACKEND."""
        return self.get("XCOM_BACKEND", "")

    @property
    def port(self) -> str:
        return self.get("AIRFLOW_PORT", DEFAULT_PORT)


def backends() -> list[str]:
    return sorted(p.stem for p in (COMPOSE_DIR / "backends").glob("*.env"))


def load_settings(environ: Mapping[str, str] | None = None, dotenv: Path = DOTENV) -> Settings:
    """.env overlaid with the environment (as compose does), validated."""
    environ = os.environ if environ is None else environ
    if not dotenv.exists():
        raise SandboxError(f"{dotenv} is missing: restore it with `git checkout -- .env`.")
    values = read_dotenv(dotenv)
    values.update({k: v for k, v in environ.items() if k in values or k in REQUIRED_KEYS or k in CUSTOM_KEYS})
    settings = Settings({k: interpolate(v, values) for k, v in values.items()})
    validate(settings, dotenv)
    return settings


def validate(settings: Settings, dotenv: Path = DOTENV) -> None:
    missing = [k for k in REQUIRED_KEYS if not settings.get(k)]
    if missing:
        raise SandboxError(
            f"{dotenv.name} lacks {', '.join(missing)}: add {'it' if len(missing) == 1 else 'them'} "
            f"(`git show HEAD:.env` has the defaults)."
        )
    if settings["BACKEND"] not in backends():
        raise SandboxError(
            f"BACKEND={settings['BACKEND']!r} is unknown: choose one of {', '.join(backends())} "
            f"(one file each in compose/backends/)."
        )
    if settings["S3_EMULATOR"] not in S3_EMULATORS:
        raise SandboxError(f"S3_EMULATOR={settings['S3_EMULATOR']!r} is unknown: choose minio, ministack or moto.")
    if settings["OFFLINE"] not in OFFLINE_VALUES:
        raise SandboxError(f"OFFLINE={settings['OFFLINE']!r} is unknown: use auto, 0 or 1.")
    if not re.fullmatch(r"-?\d+", settings["XCOM_THRESHOLD"]):
        raise SandboxError(f"XCOM_THRESHOLD={settings['XCOM_THRESHOLD']!r} is not a whole number of bytes.")
    if settings["PROFILE"] not in PROFILES:
        raise SandboxError(f"PROFILE={settings['PROFILE']!r} is unknown: use local (LocalExecutor) or celery.")
    if not settings["WORKERS"].isdigit() or settings.workers < 2:
        raise SandboxError(f"WORKERS={settings['WORKERS']!r}: give a whole number, at least 2 (workers A and B "
                           "have a queue each; more are added on the default queue).")
    if settings["MWAA"] not in ("0", "1"):
        raise SandboxError(f"MWAA={settings['MWAA']!r} is unknown: use 1 (MWAA mode) or 0.")
    if settings.mwaa:
        check_mwaa_version(settings.version)
        check_mwaa_dir(mwaa_dir(settings))
    if settings.xcom_backend:
        check_custom_backend(settings)
    elif settings.get("CONNECTIONS"):
        raise SandboxError("CONNECTIONS is for your own backend (`make check XCOM_BACKEND=... CONNECTIONS=...`): the "
                           "built-in BACKENDs have their connections already.")
    lock = airflow_lock(settings)
    if not lock.exists():
        make = "make mwaa-packages" if settings.mwaa else f"make lock AIRFLOW_VERSION={settings.version}"
        raise SandboxError(f"AIRFLOW_VERSION={settings.version} has no lock {lock.relative_to(ROOT)}: create it "
                           f"with `{make}`.")


def mwaa_dir(settings: Mapping[str, str]) -> Path:
    return (ROOT / settings["MWAA_DIR"]).resolve()


def check_mwaa_version(version: str) -> None:
    """MWAA mode reproduces only the Airflow versions MWAA runs (compose/mwaa-packages/)."""
    from xcomlab_harness.stack import mwaa_packages  # imported on use: the harness's settings load first

    if version not in mwaa_packages.mwaa_versions():
        nearest = mwaa_packages.nearest(version)
        raise SandboxError(
            f"MWAA does not run Airflow {version}: MWAA mode takes the versions MWAA runs "
            f"({', '.join(mwaa_packages.mwaa_versions())}); the nearest: {' and '.join(nearest)} "
            f"(e.g. `make mwaa-up AIRFLOW_VERSION={nearest[0]}`)."
        )


def check_mwaa_dir(path: Path) -> None:
    """MWAA_DIR mirrors an MWAA environment's S3 bucket: dags/ and the options JSON at least."""
    for required in ("dags", "airflow-configuration-options.json"):
        if not (path / required).exists():
            raise SandboxError(
                f"MWAA_DIR={path} has no {required}: it must look like an MWAA bucket "
                f"(dags/, airflow-configuration-options.json, optional plugins/ or plugins.zip, "
                f"requirements.txt, startup.sh); `mwaa/` is an example."
            )


def check_custom_backend(settings: Mapping[str, str]) -> None:
    settings = Settings(settings)
    backend = settings.xcom_backend
    if not re.fullmatch(r"[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)+", backend):
        raise SandboxError(f"XCOM_BACKEND={backend!r} is not a dotted class path: write module.Class, "
                           "e.g. XCOM_BACKEND=my_xcom.S3XComBackend for BACKEND_SRC=my_xcom.py.")
    for key in ("BACKEND_SRC", "BACKEND_ENV", "REQUIREMENTS"):
        if settings.get(key) and not Path(settings[key]).expanduser().exists():
            raise SandboxError(f"{key}={settings[key]} does not exist (relative paths start at {Path.cwd()}).")
    if settings.get("BACKEND_ENV"):
        read_dotenv(Path(settings["BACKEND_ENV"]).expanduser())  # a malformed line fails here, with its number
    custom_connections(settings)  # a bad CONNECTIONS, or one that needs the secrets backend BACKEND_ENV sets


def airflow_lock(settings: Mapping[str, str], python: str = "3.11") -> Path:
    """The lock the Airflow image installs: xcom-lab's own, or in MWAA mode MWAA's package set for the version."""
    if settings.get("MWAA") == "1":
        from xcomlab_harness.stack import mwaa_packages

        return mwaa_packages.lock_file(settings["AIRFLOW_VERSION"], python)
    return COMPOSE_DIR / "airflow" / f"requirements-{settings['AIRFLOW_VERSION']}.txt"


def airflow_major(settings: Mapping[str, str]) -> int:
    return Settings(settings).major


def version_folder(settings: Mapping[str, str]) -> str:
    """The folder (in each bucket, Redis, the localfs volume) under which this version's stores live."""
    return f"airflow-{settings['AIRFLOW_VERSION']}"
