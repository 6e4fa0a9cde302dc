"""A user's own backend (`make check`): where BACKEND_SRC is mounted or installed, and what the components
get in BACKEND's place."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

from xcomlab_harness.stack import backend_coverage, requirements
from xcomlab_harness.stack.connections import custom_connections, default_connections, user_env
from xcomlab_harness.stack.console import run
from xcomlab_harness.stack.paths import CACHE, COMPOSE_DIR, ROOT
from xcomlab_harness.stack.private_files import env_file, write_private
from xcomlab_harness.stack.settings import Settings

PLUGINS = "/opt/airflow/plugins"  # on sys.path in every component of both majors, as MWAA's plugins/
MWAA_PLUGINS = "/usr/local/airflow/plugins"  # MWAA mode: where its entrypoint deploys the bucket's plugins/
CUSTOM_DIR = CACHE / "custom-backend"
CHECK_BUCKETS = CACHE / "check-mwaa"  # `make check MWAA=1`'s MWAA_DIR: bucket-<digest of its content>
DAGS = ROOT / "dags"
CONNECTIONS_FILE = CUSTOM_DIR / "connections.json"  # ids no variable can carry (compose/custom-backend.yml mounts it)


def custom_backend_source(settings: Mapping[str, str]) -> tuple[Path, str] | None:
    """(host path, container path) of BACKEND_SRC's mount, as MWAA's plugins/ holds code: a module file and
    a package folder go inside plugins/, any other folder becomes plugins/ itself. None: nothing to mount
    (no BACKEND_SRC, or a folder with a pyproject.toml, which is installed into the image instead)."""
    if not settings.get("BACKEND_SRC"):
        return None
    src = Path(settings["BACKEND_SRC"]).expanduser().resolve()
    if src.is_file():
        return src, f"{PLUGINS}/{src.name}"
    if (src / "pyproject.toml").exists() or (src / "setup.py").exists():
        return None
    return src, f"{PLUGINS}/{src.name}" if (src / "__init__.py").exists() else PLUGINS


def custom_backend_package(settings: Mapping[str, str]) -> Path | None:
    src = Path(settings.get("BACKEND_SRC") or ".").expanduser().resolve()
    if settings.get("BACKEND_SRC") and src.is_dir() and ((src / "pyproject.toml").exists() or (src / "setup.py").exists()):
        return src
    return None


def custom_backend_env(settings: Mapping[str, str]) -> dict[str, str]:
    """What the Airflow components get instead of BACKEND's file: defaults that point the connection ids
    and SDK clients tutorial code uses unchanged at the emulators (never at a real cloud), then the
    user's BACKEND_ENV over them."""
    settings = Settings(settings)
    azure = json.loads(settings["AIRFLOW_CONN_XCOM_AZURE"])["extra"]["connection_string"]
    values = {
        "AIRFLOW__CORE__XCOM_BACKEND": settings.xcom_backend,
        **{name: settings[store] for name, store in default_connections().items()},
        "AWS_ENDPOINT_URL": "http://s3:9000",
        "AWS_ACCESS_KEY_ID": settings["S3_ACCESS_KEY"],
        "AWS_SECRET_ACCESS_KEY": settings["S3_SECRET_KEY"],
        "AWS_DEFAULT_REGION": "us-east-1",
        "STORAGE_EMULATOR_HOST": "http://fake-gcs:4443",
        "AZURE_STORAGE_CONNECTION_STRING": azure,
        "AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_THRESHOLD": settings["XCOM_THRESHOLD"],
        "AIRFLOW__XCOMLAB__THRESHOLD": settings["XCOM_THRESHOLD"],
    }
    variables, _ = custom_connections(settings)
    values.update(variables)
    values.update(user_env(settings))
    values["AIRFLOW__CORE__XCOM_BACKEND"] = settings.xcom_backend  # XCOM_BACKEND names the class under test
    if settings.mwaa:  # the bucket's option names it, as on MWAA: in the environment, Airflow 2 would resolve it
        del values["AIRFLOW__CORE__XCOM_BACKEND"]  # when MWAA's entrypoint imports Airflow, before plugins/ is there
    return values


def write_custom_backend_env(settings: Mapping[str, str]) -> Path:
    """The env file compose gives the components; rewritten only when it changes (compose recreates on change).
    0600: compose reads it on the host, the components get its values as their environment."""
    CUSTOM_DIR.mkdir(parents=True, exist_ok=True)
    path = CUSTOM_DIR / "backend.env"
    values = {**custom_backend_env(settings), **backend_coverage.prepare(settings)}  # the check's own, not the user's
    write_private(path, env_file(values))
    write_connections_file(settings)
    return path


def write_connections_file(settings: Mapping[str, str]) -> Path:
    """The connections no variable can carry ({} when none: compose mounts the file either way)."""
    _, in_file = custom_connections(settings)
    # Emulator credentials, read by the components: 0640, group = the writer's gid, which compose adds to their
    # groups (group_add); as root that is gid 0, the containers' own group (uid 50000, gid 0).
    write_private(CONNECTIONS_FILE, json.dumps(in_file, indent=2) + "\n", group=True)
    return CONNECTIONS_FILE


def custom_image(settings: Mapping[str, str]) -> str:
    return f"xcom-lab/airflow-custom:{settings['AIRFLOW_VERSION']}{'-mwaa' if Settings(settings).mwaa else ''}"


def needs_custom_image(settings: Mapping[str, str]) -> bool:
    """A package BACKEND_SRC, or REQUIREMENTS outside MWAA mode (there they are the bucket's requirements.txt)."""
    return bool(custom_backend_package(settings) or (settings.get("REQUIREMENTS") and not Settings(settings).mwaa))


def build_custom_image(settings: Mapping[str, str], base_image: str) -> None:
    """REQUIREMENTS' packages and a BACKEND_SRC with a pyproject.toml, installed (no network) into an image FROM
    base_image (the stack's). A requirement that cannot be installed raises requirements.RequirementsFailed."""
    if not needs_custom_image(settings):
        return
    context = CUSTOM_DIR / "image"
    shutil.rmtree(context / "package", ignore_errors=True)
    context.mkdir(parents=True, exist_ok=True)
    for stale in ("requirements.txt", "requirements.in"):
        (context / stale).unlink(missing_ok=True)
    if settings.get("REQUIREMENTS") and not Settings(settings).mwaa:
        requirements.fetch(settings, context)
    if package := custom_backend_package(settings):
        shutil.copytree(package, context / "package", ignore=shutil.ignore_patterns(".git", ".venv", "__pycache__"))
    run(["docker", "build", "--quiet", "--tag", custom_image(settings), "--file",
         str(COMPOSE_DIR / "airflow" / "Dockerfile.custom-backend"),
         "--build-arg", f"BASE_IMAGE={base_image}", str(context)],
        stdout=subprocess.DEVNULL)


def prepare_custom_backend(settings: Mapping[str, str], env: Mapping[str, str]) -> None:
    """The env file and (for a package) the image; after the stack's image exists, before compose starts."""
    (CUSTOM_DIR / "no-source").mkdir(parents=True, exist_ok=True)
    write_custom_backend_env(settings)
    build_custom_image(settings, f"xcom-lab/airflow:{env['AIRFLOW_IMAGE_TAG']}")


def write_mwaa_bucket(settings: Mapping[str, str], bucket: Path, dags: list[Path], place: str = "plugins",
                      options: Mapping[str, str] | None = None) -> str:
    """An MWAA bucket holding the user's backend as they would deploy it: `dags` in dags/, BACKEND_SRC under place/
    (laid out as plugins/ holds it outside MWAA mode), REQUIREMENTS as requirements.txt, core.xcom_backend (under
    include/ as `include.<module>`) and `options` as its options. Returns the core.xcom_backend value. The settings
    files are 0640 (a requirements file may name a private index with its token), read through group_add."""
    shutil.rmtree(bucket, ignore_errors=True)
    (bucket / "dags").mkdir(parents=True)
    for dag in dags:
        shutil.copy(dag, bucket / "dags")
    if source := custom_backend_source(settings):
        src, target = source
        destination = bucket / place / target.removeprefix(PLUGINS).lstrip("/")
        if src.is_dir():
            shutil.copytree(src, destination, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(src, destination)
    for path in [bucket, *bucket.rglob("*")]:  # the code and the DAGs, for the containers' uid
        path.chmod(0o755 if path.is_dir() else 0o644)
    if settings.get("REQUIREMENTS"):
        write_private(bucket / "requirements.txt", Path(settings["REQUIREMENTS"]).expanduser().read_text(), group=True)
    value = settings["XCOM_BACKEND"] if place != "include" else f"include.{settings['XCOM_BACKEND']}"
    write_private(bucket / "airflow-configuration-options.json",
                  json.dumps({"core.xcom_backend": value, **(options or {})}, indent=2), group=True)
    return value


def write_check_bucket(settings: Mapping[str, str]) -> Path:
    """`make check MWAA=1`'s bucket: the check's DAGs, the backend in plugins/. BACKEND_ENV and the connections reach
    the components as their environment (compose/custom-backend.yml), as a startup.sh would export them. Named by
    its content: a changed backend is a new folder, so compose restarts the components and MWAA's entrypoint deploys
    it afresh; an unchanged one stays the folder the running components mount."""
    staging = CHECK_BUCKETS / "bucket-staging"
    write_mwaa_bucket(settings, staging, sorted(DAGS.glob("*.py")))
    content = hashlib.sha256()
    for path in sorted(p for p in staging.rglob("*") if p.is_file()):
        content.update(str(path.relative_to(staging)).encode() + b"\0" + path.read_bytes() + b"\0")
    bucket = CHECK_BUCKETS / f"bucket-{content.hexdigest()[:12]}"
    if bucket.exists():
        shutil.rmtree(staging)
    else:
        staging.rename(bucket)
    for old in CHECK_BUCKETS.glob("bucket-*"):
        if old != bucket:
            shutil.rmtree(old)
    return bucket
