"""The compose project the settings describe: which files, and the environment every docker compose call
(Makefile, tests) runs with."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from xcomlab_harness.stack import backend_coverage
from xcomlab_harness.stack.custom_backend import (CONNECTIONS_FILE, CUSTOM_DIR, custom_backend_env,
                                                  custom_backend_source, custom_image, needs_custom_image)
from xcomlab_harness.stack.env_files import interpolate, read_dotenv
from xcomlab_harness.stack import mwaa_packages
from xcomlab_harness.stack.paths import COMPOSE_DIR, DOTENV, ROOT
from xcomlab_harness.stack.settings import Settings, airflow_lock, mwaa_dir
from xcomlab_harness.stack.standins import base_image_tag, standin_airflow_image


def compose_files(settings: Mapping[str, str], offline: bool) -> list[Path]:
    """Registry-less mode always runs MiniStack in MinIO's place: no MinIO server exists as a package."""
    settings = Settings(settings)
    files = [COMPOSE_DIR / "docker-compose.yml"]
    if settings.major == 2:
        files.append(COMPOSE_DIR / "airflow-2.yml")
    if settings.mwaa:
        files.append(COMPOSE_DIR / "mwaa.yml")
    if offline or settings.s3_emulator == "ministack":
        files.append(COMPOSE_DIR / "s3-ministack.yml")
    elif settings.s3_emulator == "moto":
        files.append(COMPOSE_DIR / "s3-moto.yml")
    if offline:
        files.append(COMPOSE_DIR / "offline.yml")
    if settings.xcom_backend:
        files.append(COMPOSE_DIR / "custom-backend.yml")
    return files


def image_python(settings: Mapping[str, str], offline: bool) -> str:
    """The Airflow image's Python: MWAA's in online MWAA mode (3.11 for 2.10.x, 3.12 for 2.11 and 3.x, as
    xcomlab_tools.mwaa.preflight notes), else 3.11, the only one the registry-less stand-ins have (Debian 12's)."""
    settings = Settings(settings)
    if settings.mwaa and not offline and not settings.version.startswith("2.10."):
        return "3.12"
    return "3.11"


def runs_celery(settings: Mapping[str, str]) -> bool:
    """PROFILE=celery, and MWAA mode: MWAA runs every task on Celery workers of their own."""
    return Settings(settings).celery


def compose_env(settings: Mapping[str, str], offline: bool) -> dict[str, str]:
    """The environment every docker compose call (Makefile, tests) runs with."""
    settings = Settings(settings)
    env = dict(os.environ)
    env.update(
        COMPOSE_FILE=os.pathsep.join(str(p) for p in compose_files(settings, offline)),
        COMPOSE_PATH_SEPARATOR=os.pathsep,
        COMPOSE_ENV_FILES=str(DOTENV),
        AIRFLOW_VERSION=settings.version,  # also names the e2e reports
        XCOM_LAB_BASE_IMAGE=base_image_tag(),
        MWAA_DIR=str(mwaa_dir(settings)),  # absolute: compose resolves relative mounts from compose/
        XCOM_LAB_FILES_GID=str(os.getegid()),  # the group that reads the harness's 0640 files (stack/private_files.py)
    )
    python = image_python(settings, offline)
    env.update(AIRFLOW_IMAGE_TAG=airflow_image_tag(settings, offline),
               XCOM_LAB_AIRFLOW_LOCK=str(airflow_lock(settings, python).relative_to(ROOT)))
    if python != "3.11":  # online MWAA mode: the official image on MWAA's Python
        env["AIRFLOW_IMAGE"] = f"apache/airflow:{settings.version}-python{python}"
    if settings.mwaa:
        env.update(XCOM_LAB_STANDIN_TAG=standin_airflow_image(settings).partition(":")[2],
                   XCOM_LAB_MWAA_CONSTRAINTS=mwaa_packages.forced_constraints_file(settings.version, python).name)
    if settings.celery:
        env.update(COMPOSE_PROFILES="celery", AIRFLOW_EXECUTOR="CeleryExecutor",
                   CELERY_EXTRA_WORKERS=str(settings.workers - 2))
    if offline:  # the Airflow image builds FROM the stand-in instead of apache/airflow
        env["AIRFLOW_IMAGE"] = standin_airflow_image(settings)
    if settings.xcom_backend:
        mount = custom_backend_source(settings)
        values = custom_backend_env(settings)  # the user's env file over the sandbox's defaults
        src, target = mount or (CUSTOM_DIR / "no-source", "/opt/xcom-lab/no-backend-source")
        env.update(XCOM_LAB_BACKEND_SRC=str(src), XCOM_LAB_BACKEND_TARGET=target,
                   XCOM_LAB_BACKEND_ENV=str(CUSTOM_DIR / "backend.env"),
                   XCOM_LAB_COVERAGE_DIR=str(backend_coverage.HOST_DIR), XCOM_LAB_IMAGE_PYTHON=python,
                   # only Airflow 2's webserver runs the backend (compose/custom-backend.yml)
                   XCOM_LAB_API_SERVER_COVERAGE=backend_coverage.RC_PATH if settings.major == 2 else "",
                   XCOM_LAB_COMMON_IO_THRESHOLD=values["AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_THRESHOLD"],
                   XCOM_LAB_XCOMLAB_THRESHOLD=values["AIRFLOW__XCOMLAB__THRESHOLD"],
                   XCOM_LAB_CONNECTIONS_FILE=str(CONNECTIONS_FILE),
                   XCOM_LAB_COMPONENT_IMAGE=custom_image(settings) if needs_custom_image(settings)
                   else f"xcom-lab/airflow:{env['AIRFLOW_IMAGE_TAG']}")
    return env


def airflow_image_tag(settings: Mapping[str, str], offline: bool) -> str:
    """xcom-lab/airflow's tag: the version; MWAA mode's image (MWAA's package set) and one on another Python apart."""
    settings = Settings(settings)
    python = image_python(settings, offline)
    return settings.version + ("-mwaa" if settings.mwaa else "") + (f"-python{python}" if python != "3.11" else "")


def backend_environment(settings: Mapping[str, str], backend: str) -> dict[str, str]:
    """What BACKEND=backend sets in the Airflow components (as the compose file layers its env files)."""
    files = [COMPOSE_DIR / "backends" / f"{backend}.env",
             COMPOSE_DIR / "backends" / settings["AIRFLOW_VERSION"] / f"{backend}.env"]
    return {k: interpolate(v, settings) for path in files if path.exists() for k, v in read_dotenv(path).items()}
